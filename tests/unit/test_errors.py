"""Every error class: when it is raised, what it carries, and what its message tells the user to do."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from support import refused
from unit_support import CREATE, STATUS, TASK_ID, UPLOAD, ClientFactory, FakeAPI, status_json

from nanobanana import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CloudflareError,
    DownloadError,
    GenerationFailedError,
    InsufficientCreditsError,
    InvalidInputError,
    InvalidResponseError,
    NanoBanana,
    NanoBananaError,
    NotFoundError,
    RateLimitError,
    ServerError,
    TaskStatus,
    WaitTimeoutError,
)

CLOUDFLARE_PAGE = (
    "<!DOCTYPE html><html><head><title>Just a moment...</title></head>"
    "<body>Checking your browser before accessing nanabanana.ai." + "x" * 2000 + "</body></html>"
)


@pytest.fixture
async def once(make_client: ClientFactory) -> NanoBanana:
    """A client that never retries, so each error surfaces from the first answer."""
    return await make_client(max_retries=0)


# --- the tree -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "parent"),
    [
        (InvalidInputError, NanoBananaError),
        (InvalidInputError, ValueError),
        (APIError, NanoBananaError),
        (APIConnectionError, APIError),
        (APITimeoutError, APIConnectionError),
        (APIStatusError, APIError),
        (BadRequestError, APIStatusError),
        (AuthenticationError, APIStatusError),
        (InsufficientCreditsError, APIStatusError),
        (NotFoundError, APIStatusError),
        (RateLimitError, APIStatusError),
        (ServerError, APIStatusError),
        (InvalidResponseError, APIError),
        (GenerationFailedError, NanoBananaError),
        (WaitTimeoutError, NanoBananaError),
        (WaitTimeoutError, TimeoutError),
        (DownloadError, NanoBananaError),
    ],
)
def test_error_tree(error: type[Exception], parent: type[Exception]) -> None:
    assert issubclass(error, parent)


# --- status errors ------------------------------------------------------------------------------------------


async def test_400_is_a_bad_request_error_quoting_the_server(api: FakeAPI, once: NanoBanana) -> None:
    api.post(CREATE, status=400, payload={"error": "prompt is too long"})

    with pytest.raises(BadRequestError) as caught:
        await once.create("make it night")

    err = caught.value
    assert err.status_code == 400
    assert err.body == {"error": "prompt is too long"}
    assert err.method == "POST"
    assert err.url == CREATE
    assert "400" in str(err)
    assert "prompt is too long" in str(err)


async def test_422_is_a_bad_request_error(api: FakeAPI, once: NanoBanana) -> None:
    api.post(CREATE, status=422, payload={"message": "width must be a multiple of 8"})

    with pytest.raises(BadRequestError, match="width must be a multiple of 8"):
        await once.create("make it night")


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_errors_say_how_to_sign_in(api: FakeAPI, once: NanoBanana, status: int) -> None:
    api.post(STATUS, status=status, payload={"error": "Unauthorized"})

    with pytest.raises(AuthenticationError) as caught:
        await once.status(TASK_ID)

    assert caught.value.status_code == status
    assert "nanobanana login" in str(caught.value)
    assert "NANOBANANA_SESSION_TOKEN" in str(caught.value)


async def test_a_cloudflare_403_page_says_the_request_was_blocked(api: FakeAPI, once: NanoBanana) -> None:
    api.post(STATUS, status=403, body=CLOUDFLARE_PAGE, content_type="text/html")

    with pytest.raises(CloudflareError) as caught:
        await once.status(TASK_ID)

    message = str(caught.value)
    assert "Cloudflare" in message
    assert "<html" not in message


async def test_402_is_an_insufficient_credits_error(api: FakeAPI, once: NanoBanana) -> None:
    api.post(CREATE, status=402, payload={"error": "Insufficient credits"})

    with pytest.raises(InsufficientCreditsError) as caught:
        await once.create("make it night")

    assert caught.value.status_code == 402
    assert "top up" in str(caught.value)


async def test_404_is_a_not_found_error(api: FakeAPI, once: NanoBanana) -> None:
    api.post(STATUS, status=404, payload={"error": "Task not found"})

    with pytest.raises(NotFoundError) as caught:
        await once.status("no-such-task")

    assert caught.value.status_code == 404
    assert "Task not found" in str(caught.value)
    assert "task id" in str(caught.value)


async def test_429_is_a_rate_limit_error_with_retry_after(api: FakeAPI, once: NanoBanana) -> None:
    api.post(STATUS, status=429, payload={"error": "Too many requests"}, headers={"Retry-After": "7"})

    with pytest.raises(RateLimitError) as caught:
        await once.status(TASK_ID)

    assert caught.value.status_code == 429
    assert caught.value.retry_after == 7.0
    assert caught.value.headers["Retry-After"] == "7"


async def test_429_without_retry_after_has_none(api: FakeAPI, once: NanoBanana) -> None:
    api.post(STATUS, status=429, payload={})

    with pytest.raises(RateLimitError) as caught:
        await once.status(TASK_ID)

    assert caught.value.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504, 520, 599])
async def test_5xx_is_a_server_error(api: FakeAPI, once: NanoBanana, status: int) -> None:
    api.post(STATUS, status=status, body="upstream failed", content_type="text/plain")

    with pytest.raises(ServerError) as caught:
        await once.status(TASK_ID)

    assert caught.value.status_code == status
    assert caught.value.body == "upstream failed"
    assert "transient" in str(caught.value)


async def test_an_unmapped_4xx_is_a_plain_status_error(api: FakeAPI, once: NanoBanana) -> None:
    api.post(STATUS, status=418, payload={"error": "I'm a teapot"})

    with pytest.raises(APIStatusError) as caught:
        await once.status(TASK_ID)

    assert type(caught.value) is APIStatusError
    assert caught.value.status_code == 418


# --- bodies that are not what we expect ---------------------------------------------------------------------


async def test_an_html_page_with_status_200_is_an_invalid_response(api: FakeAPI, once: NanoBanana) -> None:
    api.post(CREATE, status=200, body=CLOUDFLARE_PAGE, content_type="text/html")

    with pytest.raises(InvalidResponseError) as caught:
        await once.create("make it night")

    err = caught.value
    assert err.status_code == 200
    assert err.body.startswith("<!DOCTYPE html>")
    assert len(err.body) <= 300
    assert "HTML page" in str(err)
    assert "<html" not in str(err)


async def test_malformed_json_is_an_invalid_response(api: FakeAPI, once: NanoBanana) -> None:
    api.post(STATUS, status=200, body='{"taskId": "3b92", "generations": [', content_type="application/json")

    with pytest.raises(InvalidResponseError) as caught:
        await once.status(TASK_ID)

    assert caught.value.status_code == 200
    assert caught.value.body == '{"taskId": "3b92", "generations": ['


async def test_json_of_the_wrong_shape_is_an_invalid_response(api: FakeAPI, once: NanoBanana) -> None:
    api.post(CREATE, payload={"ok": True})

    with pytest.raises(InvalidResponseError, match="no task_id"):
        await once.create("make it night")


async def test_a_status_that_is_not_an_object_is_an_invalid_response(api: FakeAPI, once: NanoBanana) -> None:
    api.post(STATUS, payload=None, body="[1, 2, 3]")

    with pytest.raises(InvalidResponseError, match="not an object"):
        await once.status(TASK_ID)


async def test_an_upload_answer_without_url_is_an_invalid_response(api: FakeAPI, once: NanoBanana) -> None:
    api.post(UPLOAD, payload={"url": None})

    with pytest.raises(InvalidResponseError, match="no url"):
        await once.upload(b"\x89PNG\r\n\x1a\n....")


async def test_an_api_redirect_is_not_followed(api: FakeAPI, once: NanoBanana) -> None:
    api.post(CREATE, status=302, headers={"Location": "https://elsewhere.example/login"})

    with pytest.raises(InvalidResponseError):
        await once.create("make it night")

    assert [url.host for _, url, _ in api.all_calls()] == ["nanabanana.ai"]


# --- no answer ----------------------------------------------------------------------------------------------


async def test_a_refused_connection_is_a_connection_error_not_sent(api: FakeAPI, once: NanoBanana) -> None:
    api.post(STATUS, exception=refused())

    with pytest.raises(APIConnectionError) as caught:
        await once.status(TASK_ID)

    err = caught.value
    assert type(err) is APIConnectionError
    assert err.request_sent is False
    assert "could not connect" in str(err)
    assert err.url == STATUS


async def test_a_dropped_connection_is_a_connection_error_maybe_sent(api: FakeAPI, once: NanoBanana) -> None:
    api.post(STATUS, exception=aiohttp.ServerDisconnectedError())

    with pytest.raises(APIConnectionError) as caught:
        await once.status(TASK_ID)

    assert caught.value.request_sent is True


@pytest.mark.parametrize("timeout", [asyncio.TimeoutError(), aiohttp.ServerTimeoutError("read timed out")])
async def test_a_read_timeout_is_a_timeout_error(api: FakeAPI, once: NanoBanana, timeout: Exception) -> None:
    api.post(STATUS, exception=timeout)

    with pytest.raises(APITimeoutError) as caught:
        await once.status(TASK_ID)

    assert caught.value.request_sent is True
    assert "timed out" in str(caught.value)


async def test_a_connect_timeout_is_a_timeout_error_not_sent(api: FakeAPI, once: NanoBanana) -> None:
    api.post(STATUS, exception=aiohttp.ConnectionTimeoutError("connect timed out"))

    with pytest.raises(APITimeoutError) as caught:
        await once.status(TASK_ID)

    assert caught.value.request_sent is False


async def test_no_aiohttp_exception_reaches_the_caller(api: FakeAPI, once: NanoBanana) -> None:
    api.post(STATUS, exception=aiohttp.ClientPayloadError("Response payload is not completed"))

    with pytest.raises(NanoBananaError) as caught:
        await once.status(TASK_ID)

    assert not isinstance(caught.value, aiohttp.ClientError)
    # aiohttp's exception holds the request's headers (the Cookie): it is described, never chained.
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert "not completed" in str(caught.value)


# --- errors of the task -------------------------------------------------------------------------------------


def test_generation_failed_error_carries_the_task_and_the_reason() -> None:
    status = TaskStatus.model_validate(status_json("failed", fail_msg="NSFW content detected"))

    err = GenerationFailedError(TASK_ID, status.fail_msg, status)

    assert err.task_id == TASK_ID
    assert err.fail_msg == "NSFW content detected"
    assert err.status is status
    assert str(err) == f"Generation {TASK_ID} failed (failed): NSFW content detected"


def test_generation_failed_error_without_reason_says_so() -> None:
    status = TaskStatus.model_validate(status_json("error"))

    assert "the server gave no reason" in str(GenerationFailedError(TASK_ID, "", status))


def test_wait_timeout_error_says_how_to_resume() -> None:
    status = TaskStatus.model_validate(status_json("waiting"))

    err = WaitTimeoutError(TASK_ID, status, 2.5)

    assert err.task_id == TASK_ID
    assert err.last_status is status
    assert err.timeout == 2.5
    assert "'waiting' after 2.5s" in str(err)
    assert f"client.wait('{TASK_ID}')" in str(err)
    assert f"nanobanana wait {TASK_ID}" in str(err)


def test_an_error_names_its_task_once() -> None:
    err = DownloadError("Downloading x failed", url="https://file.v03ai.com/x.png")
    err.task_id = TASK_ID

    assert str(err) == f"Downloading x failed (task {TASK_ID})"
    assert err.url == "https://file.v03ai.com/x.png"
    assert err.status_code is None
