"""Every argument of every public method is checked before anything is sent, with an error that says what to do."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from unit_support import BASE, CREATE, PNG, RESULT_URL, TASK_ID, TOKEN, FakeAPI, task_json

from nanobanana import MAX_INPUT_IMAGES, InvalidInputError, NanoBanana

BAD_SECONDS = ["x", -1, 0, math.nan, math.inf, True]
BAD_TASK_IDS: list[Any] = [5, None, "", "  ", "has space", "line\nbreak", "x" * 300]
BAD_TOKENS = ["abc\r\nX-Evil: 1", "abc; other=1", "abc\n", " abc"]


def new_client(**options: Any) -> NanoBanana:
    return NanoBanana(**{"session_token": TOKEN, "base_url": BASE, **options})


# --- the client's settings ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"base_url": 5},
        {"session_file": 5},
        {"timeout": "x"},
        {"timeout": math.nan},
        {"max_retries": "3"},
        {"max_retries": 1.5},
        {"max_concurrency": "8"},
        {"download_timeout": "x"},
        {"allow_insecure_http": "yes"},
        {"requests_per_second": math.nan},
        {"wait_timeout": -1},
        {"wait_timeout": "600"},
        {"max_download_bytes": 0},
        {"poll": {"initial": 1}},
        {"session": "a session"},
        {"cookies": ["a=b"]},
        {"cookies": {"cf_clearance": 5}},
        {"headers": {"X-Name": "a\r\nX-Evil: 1"}},
        {"headers": {"X-Name": 5}},
    ],
)
def test_the_client_refuses_a_bad_setting_with_its_name(options: dict[str, Any]) -> None:
    # (A cookie value that would break the header is refused by the session: see tests/security.)
    [name] = options

    with pytest.raises(InvalidInputError, match=name):
        new_client(**options)


# --- the session token, wherever it comes from --------------------------------------------------------------


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_a_token_argument_that_would_break_the_cookie_header_is_refused(token: str) -> None:
    with pytest.raises(InvalidInputError, match="session_token=") as caught:
        new_client(session_token=token)

    assert token.strip() not in str(caught.value)


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_a_token_from_the_environment_that_would_break_the_cookie_header_is_refused(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("NANOBANANA_SESSION_TOKEN", token)

    with pytest.raises(InvalidInputError, match="NANOBANANA_SESSION_TOKEN"):
        NanoBanana(base_url=BASE)


@pytest.mark.parametrize("token", BAD_TOKENS)
def test_a_saved_token_that_would_break_the_cookie_header_is_refused(tmp_path: Path, token: str) -> None:
    session_file = tmp_path / "session.json"
    session_file.write_text(json.dumps({"base_url": BASE, "session_token": token}), encoding="utf-8")

    with pytest.raises(InvalidInputError, match="session file"):
        NanoBanana(base_url=BASE, session_file=session_file)


# --- create and generate ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"image_urls": None}, "image_urls"),
        ({"image_urls": 5}, "image_urls"),
        ({"images": 5}, "images"),
        ({"images": None}, "images"),
        ({"images": PNG}, "images"),
        ({"images": [5]}, "an image must be"),
        ({"output": 5}, "output"),
        ({"timeout": "x"}, "timeout"),
        ({"timeout": -1}, "timeout"),
        ({"timeout": math.nan}, "timeout"),
        ({"on_update": "print"}, "on_update"),
    ],
)
async def test_generate_refuses_a_bad_argument_before_sending_anything(
    api: FakeAPI, client: NanoBanana, arguments: dict[str, Any], name: str
) -> None:
    with pytest.raises(InvalidInputError, match=name):
        await client.generate("make it night", **arguments)

    assert api.requests == {}


@pytest.mark.parametrize("arguments", [{"image_urls": None}, {"images": 5}])
async def test_create_refuses_inputs_that_are_not_lists_before_sending(
    api: FakeAPI, client: NanoBanana, arguments: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError, match="must be a list"):
        await client.create("make it night", **arguments)

    assert api.requests == {}


async def test_more_input_images_than_the_cap_are_refused_before_any_upload(api: FakeAPI, client: NanoBanana) -> None:
    urls = [f"https://file.v03ai.com/in/{i}.png" for i in range(MAX_INPUT_IMAGES)]

    with pytest.raises(InvalidInputError, match=f"at most {MAX_INPUT_IMAGES} input images"):
        await client.generate("make it night", image_urls=urls, images=[PNG])

    assert api.requests == {}


async def test_as_many_input_images_as_the_cap_are_sent(api: FakeAPI, client: NanoBanana) -> None:
    urls = [f"https://file.v03ai.com/in/{i}.png" for i in range(MAX_INPUT_IMAGES)]
    api.post(CREATE, payload=task_json())

    task = await client.create("make it night", image_urls=urls)

    assert task.task_id == TASK_ID


# --- the other steps ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_id", BAD_TASK_IDS)
async def test_status_refuses_a_bad_task_id(api: FakeAPI, client: NanoBanana, task_id: Any) -> None:
    with pytest.raises(InvalidInputError, match="task_id"):
        await client.status(task_id)

    assert api.requests == {}


@pytest.mark.parametrize("task_id", BAD_TASK_IDS)
async def test_wait_refuses_a_bad_task_id(api: FakeAPI, client: NanoBanana, task_id: Any) -> None:
    with pytest.raises(InvalidInputError, match="task_id"):
        await client.wait(task_id)

    assert api.requests == {}


@pytest.mark.parametrize(
    ("arguments", "name"),
    [*[({"timeout": bad}, "timeout") for bad in BAD_SECONDS], ({"on_update": 5}, "on_update"), ({"poll": 1}, "poll")],
)
async def test_wait_refuses_a_bad_argument_before_polling(
    api: FakeAPI, client: NanoBanana, arguments: dict[str, Any], name: str
) -> None:
    with pytest.raises(InvalidInputError, match=name):
        await client.wait(TASK_ID, **arguments)

    assert api.requests == {}


@pytest.mark.parametrize(("url", "path"), [(5, None), (None, None), (RESULT_URL, 5)])
async def test_download_refuses_a_bad_argument(api: FakeAPI, client: NanoBanana, url: Any, path: Any) -> None:
    with pytest.raises(InvalidInputError, match="url" if path is None else "path"):
        await client.download(url, path)

    assert api.requests == {}


async def test_upload_refuses_a_file_name_that_is_not_text(api: FakeAPI, client: NanoBanana) -> None:
    with pytest.raises(InvalidInputError, match="filename"):
        await client.upload(PNG, filename=5)  # type: ignore[arg-type]

    assert api.requests == {}


@pytest.mark.parametrize(("email", "code"), [(5, "123456"), ("me@example.com", 123456)])
async def test_login_refuses_values_that_are_not_text(api: FakeAPI, client: NanoBanana, email: Any, code: Any) -> None:
    with pytest.raises(InvalidInputError, match="email" if email == 5 else "code"):
        await client.login(email, code)

    assert api.requests == {}


async def test_send_login_code_refuses_an_address_that_is_not_text(api: FakeAPI, client: NanoBanana) -> None:
    with pytest.raises(InvalidInputError, match="email"):
        await client.send_login_code(5)  # type: ignore[arg-type]

    assert api.requests == {}


# --- the session file ---------------------------------------------------------------------------------------


async def test_login_to_a_session_file_that_is_a_folder_is_refused_before_signing_in(
    api: FakeAPI, tmp_path: Path
) -> None:
    async with new_client(session_file=tmp_path) as nb:
        with pytest.raises(InvalidInputError, match="is a folder"):
            await nb.login("me@example.com", "123456", save=True)

    assert api.requests == {}


async def test_login_to_a_session_file_under_a_file_is_refused_before_signing_in(api: FakeAPI, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_bytes(b"")

    async with new_client(session_file=tmp_path / "a-file" / "session.json") as nb:
        with pytest.raises(InvalidInputError, match="not a folder"):
            await nb.login("me@example.com", "123456", save=True)

    assert api.requests == {}


async def test_saving_the_session_to_a_folder_is_a_typed_error(client: NanoBanana, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="is a folder"):
        client.save_session(tmp_path)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "arguments",
    [
        {"concurrency": "4"},
        {"output_dir": 5},
        {"journal": 5},
        {"on_progress": "print"},
        {"timeout": math.nan},
        {"retry_failed": "yes"},
        {"retry_uncertain": 1},
    ],
)
async def test_generate_batch_refuses_a_bad_argument_at_once(
    api: FakeAPI, client: NanoBanana, arguments: dict[str, Any]
) -> None:
    [name] = arguments

    with pytest.raises(InvalidInputError, match=name):
        client.generate_batch(["make it night"], **arguments)

    assert api.requests == {}
