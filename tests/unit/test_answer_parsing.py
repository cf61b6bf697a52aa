"""Answers are read strictly only where the SDK needs them: any JSON gives a model or a NanoBananaError."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit_support import (
    BASE,
    CREATE,
    FAST_POLL,
    FILES,
    RESULT_URL,
    SESSION,
    STATUS,
    TASK_ID,
    TOKEN,
    UPLOAD,
    FakeAPI,
    task_json,
)

from nanobanana import (
    Generation,
    GenerationResult,
    InvalidResponseError,
    NanoBanana,
    NanoBananaError,
    SessionInfo,
    Task,
    TaskState,
    TaskStatus,
)

PNG_BYTES = b"\x89PNG\r\n\x1a\n" + bytes(16)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
"""Any JSON value."""

ODD = st.none() | st.just("") | st.just("not a date") | st.integers() | st.lists(st.integers(), max_size=2) | JSON
"""Odd values for a field the SDK does not need."""


def shaped(keys: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Objects with some of ``keys`` (each any JSON or a plausible value) and maybe more, or any JSON at all."""
    fields = st.fixed_dictionaries({}, optional={key: values | JSON for key, values in keys.items()})
    extras = st.dictionaries(st.text(max_size=6), JSON, max_size=2)
    return st.builds(lambda known, more: {**more, **known}, fields, extras) | JSON


GENERATION = shaped(
    {
        "id": st.text(max_size=8),
        "status": st.sampled_from(["waiting", "succeed", "failed"]),
        "url": st.just(RESULT_URL),
        "failMsg": st.text(max_size=8),
        "mediaType": st.just("image"),
        "createdDate": st.just("2026-01-06T00:27:41.598Z"),
        "updatedDate": st.just("2026-01-06T00:28:16.969Z"),
    }
)
TASK = shaped({"task_id": st.just(TASK_ID), "status": st.just("waiting"), "created_at": ODD, "updated_at": ODD})
STATUS_ANSWER = shaped({"taskId": st.just(TASK_ID), "generations": st.lists(GENERATION, max_size=2)})
UPLOAD_ANSWER = shaped({"url": st.just(f"{FILES}/image2video/x.png") | st.text(max_size=12)})
SESSION_ANSWER = shaped(
    {"user": shaped({"name": st.text(max_size=5), "email": st.just("me@example.com")}), "expires": ODD}
)

# One client per example: the autouse environment fixture is the same for all of them, which is what is meant.
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def answered_with(url: str, method: str, payload: Any, call: Any) -> Any:
    """What ``call(client)`` returns when ``method url`` answers ``payload`` (200, JSON), or the error it raised."""

    async def run() -> Any:
        with FakeAPI() as api:
            api.add(url, method, payload=payload)
            async with NanoBanana(session_token=TOKEN, base_url=BASE, session_file=Path("/nonexistent/s")) as nb:
                try:
                    return await call(nb)
                except NanoBananaError as exc:
                    return exc

    return asyncio.run(run())


# --- any JSON: a model or a NanoBananaError ----------------------------------------------------------------


@PROPERTY
@given(TASK)
def test_any_create_answer_gives_a_task_or_a_nanobanana_error(payload: Any) -> None:
    outcome = answered_with(CREATE, "POST", payload, lambda nb: nb.create("a prompt"))

    assert isinstance(outcome, (Task, InvalidResponseError))


@PROPERTY
@given(TASK.filter(lambda p: isinstance(p, dict)), st.text(min_size=1, max_size=12))
def test_a_create_answer_with_a_task_id_always_gives_the_task(payload: dict[str, Any], task_id: str) -> None:
    outcome = answered_with(CREATE, "POST", {**payload, "task_id": task_id}, lambda nb: nb.create("a prompt"))

    assert isinstance(outcome, Task)
    assert outcome.task_id == task_id


@PROPERTY
@given(STATUS_ANSWER)
def test_any_status_answer_gives_a_status_or_a_nanobanana_error(payload: Any) -> None:
    outcome = answered_with(STATUS, "POST", payload, lambda nb: nb.status(TASK_ID))

    assert isinstance(outcome, (TaskStatus, InvalidResponseError))


@PROPERTY
@given(UPLOAD_ANSWER)
def test_any_upload_answer_gives_a_url_or_a_nanobanana_error(payload: Any) -> None:
    outcome = answered_with(UPLOAD, "POST", payload, lambda nb: nb.upload(PNG_BYTES))

    assert isinstance(outcome, (str, InvalidResponseError))


@PROPERTY
@given(SESSION_ANSWER)
def test_any_session_answer_gives_a_session_none_or_a_nanobanana_error(payload: Any) -> None:
    outcome = answered_with(SESSION, "GET", payload, lambda nb: nb.whoami())

    assert outcome is None or isinstance(outcome, (SessionInfo, NanoBananaError))


# --- what the SDK does not need never fails an answer -------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(ODD, ODD, ODD, ODD, ODD)
def test_a_succeeded_generation_is_read_whatever_its_other_fields(
    generation_id: Any, fail_msg: Any, media_type: Any, created: Any, updated: Any
) -> None:
    wire = {
        "id": generation_id,
        "status": "succeed",
        "url": RESULT_URL,
        "failMsg": fail_msg,
        "mediaType": media_type,
        "createdDate": created,
        "updatedDate": updated,
    }

    status = TaskStatus.model_validate({"taskId": TASK_ID, "generations": [wire]})

    assert (status.state, status.url) == (TaskState.SUCCEED, RESULT_URL)


@settings(max_examples=200, deadline=None)
@given(ODD, ODD, ODD)
def test_a_task_is_read_whatever_its_other_fields(state: Any, created: Any, updated: Any) -> None:
    task = Task.model_validate({"task_id": TASK_ID, "status": state, "created_at": created, "updated_at": updated})

    assert task.task_id == TASK_ID


@settings(max_examples=200, deadline=None)
@given(ODD, ODD, ODD, ODD)
def test_a_session_is_read_whatever_its_fields(user: Any, name: Any, email: Any, expires: Any) -> None:
    session = SessionInfo.model_validate({"user": {"name": name, "email": email}, "expires": expires})
    odd_user = SessionInfo.model_validate({"user": user})

    assert isinstance(session, SessionInfo)
    assert isinstance(odd_user, SessionInfo)


# --- the raw value is kept ----------------------------------------------------------------------------------


def test_an_unreadable_field_keeps_its_raw_value_in_unparsed() -> None:
    task = Task.model_validate(task_json(status=None, created_at="soon"))

    assert task.unparsed == {"status": None, "created_at": "soon"}
    assert (task.status, task.created_at) == ("waiting", None)


def test_a_readable_answer_has_nothing_unparsed() -> None:
    assert Task.model_validate(task_json()).unparsed is None


def test_a_null_media_type_keeps_the_default_and_its_raw_value() -> None:
    generation = Generation.model_validate({"status": "succeed", "url": RESULT_URL, "mediaType": None})

    assert generation.media_type == "image"
    assert generation.unparsed == {"mediaType": None}


def test_a_server_field_named_unparsed_is_set_aside_too() -> None:
    task = Task.model_validate(task_json(unparsed=5))

    assert task.unparsed == {"unparsed": 5}


def test_a_numeric_task_id_is_kept_as_text() -> None:
    assert Task.model_validate({"task_id": 12345}).task_id == "12345"


@pytest.mark.parametrize("url", [5, ["x"], {}])
def test_a_result_url_that_is_not_text_is_refused(url: Any) -> None:
    with pytest.raises(ValueError, match="url"):
        Generation.model_validate({"status": "succeed", "url": url})


# --- through the client -------------------------------------------------------------------------------------


async def test_a_create_answer_with_a_null_status_and_an_odd_date_gives_the_task(
    api: FakeAPI, client: NanoBanana
) -> None:
    api.post(CREATE, payload=task_json(status=None, created_at="yesterday"))

    task = await client.create("a prompt")

    assert task.task_id == TASK_ID


async def test_a_create_answer_without_a_task_id_is_an_invalid_response(api: FakeAPI, client: NanoBanana) -> None:
    api.post(CREATE, payload={"status": "waiting"})

    with pytest.raises(InvalidResponseError, match="no task_id"):
        await client.create("a prompt")


async def test_a_succeeded_status_with_odd_harmless_fields_returns_its_result(api: FakeAPI, client: NanoBanana) -> None:
    odd = {"id": None, "status": "succeed", "url": RESULT_URL, "mediaType": None, "createdDate": "", "updatedDate": ""}
    api.post(CREATE, payload=task_json())
    api.post(STATUS, payload={"taskId": TASK_ID, "generations": [odd]})
    api.get(RESULT_URL, body=PNG_BYTES, content_type="image/png")

    result = await client.generate("a prompt")

    assert result.content == PNG_BYTES
    assert result.status.generations[0].unparsed == {"mediaType": None, "createdDate": "", "updatedDate": ""}


@PROPERTY
@given(STATUS_ANSWER)
def test_every_error_after_a_create_was_accepted_names_the_task(payload: Any) -> None:
    async def run() -> Any:
        with FakeAPI() as api:
            api.post(CREATE, payload=task_json(), repeat=True)
            api.post(STATUS, payload=payload, repeat=True)
            api.get(RESULT_URL, body=PNG_BYTES, content_type="image/png", repeat=True)
            async with NanoBanana(
                session_token=TOKEN, base_url=BASE, poll=FAST_POLL, wait_timeout=0.05, max_retries=0
            ) as nb:
                try:
                    return await nb.generate("a prompt")
                except NanoBananaError as exc:
                    return exc

    outcome = asyncio.run(run())

    assert isinstance(outcome, GenerationResult) or outcome.task_id == TASK_ID
