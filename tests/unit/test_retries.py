"""The retry rule: what is sent again, how often, and how long the client waits in between.

The rule's pieces (`parse_retry_after`, `should_retry`, `retry_wait`) are tested directly, then the rule as a
whole through the client. The ``sleeps`` fixture makes waiting instant and records each wait asked for.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from datetime import datetime, timezone
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult
from support import refused
from tenacity import AsyncRetrying, RetryCallState
from unit_support import (
    BASE,
    CREATE,
    PNG,
    RESULT_URL,
    STATUS,
    TASK_ID,
    TOKEN,
    UPLOAD,
    ClientFactory,
    FakeAPI,
    status_json,
    task_json,
)

from nanobanana import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InsufficientCreditsError,
    InvalidResponseError,
    NanoBanana,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from nanobanana._error_map import parse_retry_after
from nanobanana._retry import retry_wait, should_retry

MAX_RETRIES = 2


def status_error(status: int, *, retry_after: str | None = None) -> APIStatusError:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    common = {"method": "POST", "url": STATUS, "status_code": status, "body": {}, "headers": headers}
    if status == 429:
        return RateLimitError("429", retry_after=parse_retry_after(retry_after), **common)  # type: ignore[arg-type]
    if status >= 500:
        return ServerError(str(status), **common)  # type: ignore[arg-type]
    return APIStatusError(str(status), **common)  # type: ignore[arg-type]


def connection_error(*, request_sent: bool) -> APIConnectionError:
    return APIConnectionError("down", method="POST", url=STATUS, request_sent=request_sent)


def failed_attempt(exc: BaseException, attempt_number: int = 1) -> RetryCallState:
    state = RetryCallState(retry_object=AsyncRetrying(), fn=None, args=(), kwargs={})
    state.attempt_number = attempt_number
    state.set_exception((type(exc), exc, None))
    return state


@pytest.fixture
async def nb(make_client: ClientFactory) -> NanoBanana:
    return await make_client(max_retries=MAX_RETRIES)


# --- parse_retry_after --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "seconds"), [("3", 3.0), (" 7 ", 7.0), ("1.5", 1.5), ("0", 0.0), ("-4", 0.0)])
def test_parse_retry_after_reads_seconds(header: str, seconds: float) -> None:
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_reads_an_http_date() -> None:
    now = 1_767_659_261.0
    header = email.utils.format_datetime(datetime.fromtimestamp(now + 30, tz=timezone.utc), usegmt=True)

    assert parse_retry_after(header, now=now) == 30.0


def test_parse_retry_after_of_a_past_date_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize("header", [None, "", "soon", "Blursday, 99 Foo 2026"])
def test_parse_retry_after_of_nothing_usable_is_none(header: str | None) -> None:
    assert parse_retry_after(header) is None


# --- should_retry -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504, 520, 524])
def test_should_retry_transient_statuses_of_idempotent_requests(status: int) -> None:
    assert should_retry(status_error(status), idempotent=True)


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 422])
@pytest.mark.parametrize("idempotent", [True, False])
def test_should_retry_never_client_errors(status: int, idempotent: bool) -> None:
    assert not should_retry(status_error(status), idempotent=idempotent)


@pytest.mark.parametrize(("status", "retried"), [(408, True), (429, True), (503, True), (500, False), (502, False)])
def test_should_retry_a_create_only_when_the_server_refused_it(status: int, retried: bool) -> None:
    assert should_retry(status_error(status), idempotent=False) is retried


def test_should_retry_connection_errors_of_idempotent_requests() -> None:
    assert should_retry(connection_error(request_sent=True), idempotent=True)
    assert should_retry(APITimeoutError("t", method="POST", url=STATUS), idempotent=True)


def test_should_retry_a_create_whose_connection_never_opened() -> None:
    assert should_retry(connection_error(request_sent=False), idempotent=False)


def test_should_not_retry_a_create_that_may_have_arrived() -> None:
    assert not should_retry(connection_error(request_sent=True), idempotent=False)
    assert not should_retry(APITimeoutError("t", method="POST", url=CREATE), idempotent=False)


def test_should_not_retry_when_retry_after_is_over_a_minute() -> None:
    assert not should_retry(status_error(429, retry_after="120"), idempotent=True)
    assert not should_retry(status_error(503, retry_after="3600"), idempotent=True)


@pytest.mark.parametrize(
    "exc", [ValueError("bug"), InvalidResponseError("html", method="GET", url=STATUS, status_code=200, body="")]
)
def test_should_not_retry_other_errors(exc: Exception) -> None:
    assert not should_retry(exc, idempotent=True)


# --- retry_wait ---------------------------------------------------------------------------------------------


def test_retry_wait_honours_a_rate_limit_retry_after() -> None:
    assert retry_wait(failed_attempt(status_error(429, retry_after="2.5"))) == 2.5


def test_retry_wait_honours_retry_after_on_other_statuses() -> None:
    assert retry_wait(failed_attempt(status_error(503, retry_after="4"))) == 4.0


def test_retry_wait_backs_off_with_jitter_from_half_a_second() -> None:
    waits = [retry_wait(failed_attempt(connection_error(request_sent=False))) for _ in range(50)]

    assert all(0.0 <= wait <= 0.5 for wait in waits)
    assert len(set(waits)) > 1


def test_retry_wait_never_backs_off_more_than_eight_seconds() -> None:
    waits = [retry_wait(failed_attempt(status_error(502), attempt_number=30)) for _ in range(50)]

    assert all(0.0 <= wait <= 8.0 for wait in waits)


# --- the rule, through the client ---------------------------------------------------------------------------


@pytest.mark.usefixtures("sleeps")
async def test_401_is_tried_exactly_once(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(STATUS, status=401, payload={"error": "Unauthorized"}, repeat=True)

    with pytest.raises(AuthenticationError):
        await nb.status(TASK_ID)

    assert api.count("POST", STATUS) == 1


@pytest.mark.usefixtures("sleeps")
@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequestError), (402, InsufficientCreditsError), (403, AuthenticationError), (404, NotFoundError)],
)
async def test_client_errors_are_never_retried(
    api: FakeAPI, nb: NanoBanana, status: int, error: type[APIStatusError]
) -> None:
    api.post(STATUS, status=status, payload={"error": "no"}, repeat=True)

    with pytest.raises(error):
        await nb.status(TASK_ID)

    assert api.count("POST", STATUS) == 1


@pytest.mark.usefixtures("sleeps")
@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_transient_statuses_are_retried_up_to_max_retries(api: FakeAPI, nb: NanoBanana, status: int) -> None:
    api.post(STATUS, status=status, payload={"error": "busy"}, repeat=True)

    with pytest.raises(APIStatusError) as caught:
        await nb.status(TASK_ID)

    assert caught.value.status_code == status
    assert api.count("POST", STATUS) == MAX_RETRIES + 1


@pytest.mark.usefixtures("sleeps")
async def test_a_transient_error_then_success_returns_the_answer(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(STATUS, status=502, body="Bad gateway", content_type="text/plain")
    api.post(STATUS, payload=status_json("succeed"))

    status = await nb.status(TASK_ID)

    assert status.is_done
    assert api.count("POST", STATUS) == 2


@pytest.mark.usefixtures("sleeps")
@pytest.mark.parametrize(
    "exc", [refused(), aiohttp.ServerDisconnectedError(), aiohttp.ClientOSError(104, "reset"), asyncio.TimeoutError()]
)
async def test_connection_errors_are_retried_up_to_max_retries(api: FakeAPI, nb: NanoBanana, exc: Exception) -> None:
    api.post(STATUS, exception=exc, repeat=True)

    with pytest.raises(APIConnectionError):
        await nb.status(TASK_ID)

    assert api.count("POST", STATUS) == MAX_RETRIES + 1


@pytest.mark.usefixtures("sleeps")
async def test_max_retries_zero_sends_once(api: FakeAPI) -> None:
    api.post(STATUS, status=503, repeat=True)

    async with NanoBanana(session_token=TOKEN, base_url=BASE, max_retries=0) as nb:
        with pytest.raises(ServerError):
            await nb.status(TASK_ID)

    assert api.count("POST", STATUS) == 1


async def test_429_waits_for_retry_after(api: FakeAPI, nb: NanoBanana, sleeps: list[float]) -> None:
    api.post(STATUS, status=429, headers={"Retry-After": "2"})
    api.post(STATUS, payload=status_json())

    status = await nb.status(TASK_ID)

    assert sleeps == [2.0]
    assert status.task_id == TASK_ID


async def test_a_lowercase_retry_after_is_honoured(api: FakeAPI, nb: NanoBanana, sleeps: list[float]) -> None:
    api.post(STATUS, status=429, headers={"retry-after": "3"})
    api.post(STATUS, payload=status_json())

    status = await nb.status(TASK_ID)

    assert sleeps == [3.0]
    assert status.task_id == TASK_ID


async def test_errors_read_headers_case_insensitively_and_drop_set_cookie(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(
        STATUS, status=404, payload={"error": "Task not found."}, headers={"x-request-id": "abc", "Set-Cookie": "a=b"}
    )

    with pytest.raises(NotFoundError) as caught:
        await nb.status(TASK_ID)

    assert caught.value.headers["X-Request-Id"] == "abc"
    assert "set-cookie" not in caught.value.headers


async def test_429_waits_for_a_retry_after_date(api: FakeAPI, nb: NanoBanana, sleeps: list[float]) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    api.post(STATUS, status=429, headers={"Retry-After": when})
    api.post(STATUS, payload=status_json())

    status = await nb.status(TASK_ID)

    assert status.task_id == TASK_ID
    [slept] = sleeps
    assert 28.0 <= slept <= 30.0


async def test_429_with_a_long_retry_after_is_raised_at_once(api: FakeAPI, nb: NanoBanana, sleeps: list[float]) -> None:
    api.post(STATUS, status=429, headers={"Retry-After": "600"}, repeat=True)

    with pytest.raises(RateLimitError) as caught:
        await nb.status(TASK_ID)

    assert caught.value.retry_after == 600.0
    assert api.count("POST", STATUS) == 1
    assert sleeps == []


async def test_backoff_without_retry_after_is_short(api: FakeAPI, nb: NanoBanana, sleeps: list[float]) -> None:
    api.post(STATUS, status=500, repeat=True)

    with pytest.raises(ServerError):
        await nb.status(TASK_ID)

    assert len(sleeps) == MAX_RETRIES
    assert all(0.0 <= slept <= 8.0 for slept in sleeps)


# --- creates are never sent twice when they may have arrived -------------------------------------------------


@pytest.mark.usefixtures("sleeps")
@pytest.mark.parametrize("exc", [asyncio.TimeoutError(), aiohttp.SocketTimeoutError("read timed out")])
async def test_create_is_not_retried_after_a_read_timeout(api: FakeAPI, nb: NanoBanana, exc: Exception) -> None:
    api.post(CREATE, exception=exc, repeat=True)

    with pytest.raises(APITimeoutError) as caught:
        await nb.create("make it night")

    assert caught.value.request_sent is True
    assert api.count("POST", CREATE) == 1


@pytest.mark.usefixtures("sleeps")
async def test_create_is_not_retried_after_the_connection_dropped(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(CREATE, exception=aiohttp.ServerDisconnectedError(), repeat=True)

    with pytest.raises(APIConnectionError) as caught:
        await nb.create("make it night")

    assert caught.value.request_sent is True
    assert api.count("POST", CREATE) == 1


@pytest.mark.usefixtures("sleeps")
@pytest.mark.parametrize("status", [500, 502, 504])
async def test_create_is_not_retried_after_a_server_error(api: FakeAPI, nb: NanoBanana, status: int) -> None:
    api.post(CREATE, status=status, repeat=True)

    with pytest.raises(ServerError):
        await nb.create("make it night")

    assert api.count("POST", CREATE) == 1


@pytest.mark.usefixtures("sleeps")
@pytest.mark.parametrize("status", [408, 429, 503])
async def test_create_is_retried_when_the_server_refused_it(api: FakeAPI, nb: NanoBanana, status: int) -> None:
    api.post(CREATE, status=status)
    api.post(CREATE, payload=task_json())

    task = await nb.create("make it night")

    assert task.task_id
    assert api.count("POST", CREATE) == 2


@pytest.mark.usefixtures("sleeps")
async def test_create_is_retried_when_the_connection_was_refused(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(CREATE, exception=refused())
    api.post(CREATE, payload=task_json())

    task = await nb.create("make it night")

    assert task.task_id
    assert api.count("POST", CREATE) == 2


@pytest.mark.usefixtures("sleeps")
async def test_create_refused_every_time_gives_up_after_max_retries(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(CREATE, exception=refused(), repeat=True)

    with pytest.raises(APIConnectionError) as caught:
        await nb.create("make it night")

    assert caught.value.request_sent is False
    assert api.count("POST", CREATE) == MAX_RETRIES + 1


@pytest.mark.usefixtures("sleeps")
async def test_upload_is_not_retried_after_a_read_timeout(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(UPLOAD, exception=asyncio.TimeoutError(), repeat=True)

    with pytest.raises(APITimeoutError):
        await nb.upload(PNG)

    assert api.count("POST", UPLOAD) == 1


@pytest.mark.usefixtures("sleeps")
async def test_upload_retried_after_429_sends_the_whole_file_again(api: FakeAPI, nb: NanoBanana) -> None:
    api.post(UPLOAD, status=429)
    api.post(UPLOAD, payload={"url": "https://file.v03ai.com/image2video/x.png"})

    url = await nb.upload(PNG)

    assert url == "https://file.v03ai.com/image2video/x.png"
    first, second = api.calls("POST", UPLOAD)
    assert first.kwargs["data"] is not second.kwargs["data"]
    assert PNG in await second.kwargs["data"]().as_bytes()


async def test_a_429_slows_the_client_down_also_when_it_is_not_retried(api: FakeAPI) -> None:
    api.post(STATUS, status=429, headers={"Retry-After": "1"})

    async with NanoBanana(session_token=TOKEN, base_url=BASE, max_retries=0) as nb:
        with pytest.raises(RateLimitError):
            await nb.status(TASK_ID)
        throttled = nb._transport.pacer.throttle_count

    assert throttled == 1


async def test_a_429_from_the_file_host_does_not_slow_the_api_calls(
    api: FakeAPI, nb: NanoBanana, sleeps: list[float]
) -> None:
    api.get(RESULT_URL, status=429, headers={"Retry-After": "1"})
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    content = await nb.download(RESULT_URL)

    assert content == PNG
    assert sleeps == [1.0]
    assert nb._transport.pacer.throttle_count == 0


async def test_a_request_keeps_its_in_flight_place_while_it_waits_to_be_sent_again(
    api: FakeAPI, make_client: ClientFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent: list[str] = []

    def answer(url: object, **kwargs: Any) -> CallbackResult:
        task_id = kwargs["json"]["taskId"]
        sent.append(task_id)
        if sent == ["first"]:
            return CallbackResult(status=503)
        return CallbackResult(payload=status_json(task_id=task_id))

    backing_off, resume = asyncio.Event(), asyncio.Event()
    real_sleep = asyncio.sleep

    async def held_backoff(delay: float, result: Any = None) -> Any:
        if delay > 0:
            backing_off.set()
            await resume.wait()
        return await real_sleep(0, result)

    monkeypatch.setattr(asyncio, "sleep", held_backoff)
    api.post(STATUS, callback=answer, repeat=True)
    nb = await make_client(max_retries=MAX_RETRIES, max_concurrency=1)

    first = asyncio.ensure_future(nb.status("first"))
    await backing_off.wait()
    second = asyncio.ensure_future(nb.status("second"))
    for _ in range(20):  # every chance for the second call to be sent while the first backs off
        await real_sleep(0)

    # The first call holds the only place through its backoff: retries never add to max_concurrency.
    assert sent == ["first"]
    resume.set()
    await asyncio.gather(first, second)
    assert sent == ["first", "first", "second"]
