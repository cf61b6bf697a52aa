"""The wire models: tolerant answers that keep what they do not know, strict requests, state words."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from unit_support import PNG, RESULT_URL, TASK_ID, status_json, task_json

from nanobanana import (
    Generation,
    GenerationRequest,
    GenerationResult,
    PollPolicy,
    SessionInfo,
    Task,
    TaskState,
    TaskStatus,
)


@pytest.mark.parametrize(
    ("word", "state"),
    [
        ("waiting", TaskState.WAITING),
        ("succeed", TaskState.SUCCEED),
        ("failed", TaskState.FAILED),
        ("error", TaskState.ERROR),
        ("SUCCEED", TaskState.SUCCEED),
        (" pending ", TaskState.WAITING),
        ("running", TaskState.PROCESSING),
        ("completed", TaskState.SUCCEED),
        ("fail", TaskState.FAILED),
        ("cancelled", TaskState.FAILED),
        ("brand-new-word", TaskState.UNKNOWN),
        ("", TaskState.UNKNOWN),
    ],
)
def test_state_words_are_parsed_never_rejected(word: str, state: TaskState) -> None:
    assert TaskState(word) is state


@pytest.mark.parametrize(
    ("state", "terminal", "success", "failure"),
    [
        (TaskState.WAITING, False, False, False),
        (TaskState.PROCESSING, False, False, False),
        (TaskState.UNKNOWN, False, False, False),
        (TaskState.SUCCEED, True, True, False),
        (TaskState.FAILED, True, False, True),
        (TaskState.ERROR, True, False, True),
    ],
)
def test_which_states_are_final(state: TaskState, terminal: bool, success: bool, failure: bool) -> None:
    assert (state.is_terminal, state.is_success, state.is_failure) == (terminal, success, failure)


def test_a_task_keeps_unknown_fields() -> None:
    task = Task.model_validate(task_json(credits_left=3))

    assert task.model_extra == {"credits_left": 3}
    assert task.model_dump()["credits_left"] == 3


def test_a_task_tolerates_missing_optional_fields() -> None:
    task = Task.model_validate({"task_id": TASK_ID})

    assert task.status == "waiting"
    assert task.created_at is None


def test_a_status_reads_the_wire_names() -> None:
    status = TaskStatus.model_validate(status_json("succeed"))
    generation = status.generations[0]

    assert status.task_id == TASK_ID
    assert generation.url == RESULT_URL
    assert generation.media_type == "image"
    assert generation.created_date is not None


def test_a_status_fail_msg_of_null_is_empty() -> None:
    body = status_json("failed")
    body["generations"][0]["failMsg"] = None
    body["generations"][0]["url"] = None

    status = TaskStatus.model_validate(body)

    assert status.fail_msg == ""
    assert status.url is None


def test_a_status_lists_every_result_url() -> None:
    body = status_json("succeed")
    body["generations"].append({**body["generations"][0], "url": f"{RESULT_URL}?2"})
    body["generations"].append({**body["generations"][0], "status": "failed", "url": ""})

    assert TaskStatus.model_validate(body).urls == [RESULT_URL, f"{RESULT_URL}?2"]


def test_a_generation_keeps_an_unknown_state_word() -> None:
    generation = Generation.model_validate({"status": "upscaling", "nsfw": False})

    assert generation.status == "upscaling"
    assert generation.state is TaskState.UNKNOWN
    assert generation.model_extra == {"nsfw": False}


def test_a_session_keeps_unknown_user_fields() -> None:
    info = SessionInfo.model_validate({"user": {"email": "me@example.com", "credits": 12}, "expires": None})

    assert info.user.email == "me@example.com"
    assert info.user.model_extra == {"credits": 12}


def test_a_request_is_frozen_and_strict() -> None:
    request = GenerationRequest(prompt="make it night")

    with pytest.raises(ValidationError):
        GenerationRequest(prompt="make it night", colour="blue")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        request.prompt = "other"  # type: ignore[misc]


def test_a_request_sends_urls_byte_for_byte() -> None:
    url = "https://file.v03ai.com/image2video/image2video_1767659261000_Screenshot 2026-01-06 000423.png"

    assert GenerationRequest(prompt="p", image_urls=[url]).to_wire()["image_urls"] == [url]


def test_a_result_repr_summarises_the_content() -> None:
    status = TaskStatus.model_validate(status_json("succeed"))

    text = repr(GenerationResult(task_id=TASK_ID, url=RESULT_URL, content=PNG, status=status))

    assert f"<{len(PNG)} bytes>" in text
    assert "\\x89PNG" not in text


@pytest.mark.parametrize("options", [{"initial": 0}, {"multiplier": 0.5}, {"maximum": -1}, {"jitter": 2}, {"x": 1}])
def test_a_poll_policy_refuses_bad_numbers(options: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        PollPolicy(**options)


def test_a_status_with_null_generations_is_waiting() -> None:
    status = TaskStatus.model_validate({"taskId": TASK_ID, "generations": None})

    assert status.generations == ()
    assert status.state is TaskState.WAITING


def test_a_generation_with_null_fields_is_read_as_empty() -> None:
    generation = Generation.model_validate({"id": None, "status": None, "url": None, "failMsg": None})

    assert (generation.id, generation.status, generation.url, generation.fail_msg) == ("", "", "", "")
    assert generation.state is TaskState.UNKNOWN
