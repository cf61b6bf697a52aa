"""The emulator speaks the captured wire format, over raw aiohttp (no SDK in the way)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from wire_samples import CAPTURED_CREATE

from nanobanana.emulator import Emulator

CREATE = "/api/image-generation-nano-banana/create"
STATUS = "/api/image-generation-nano-banana/status"
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
async def emu() -> AsyncIterator[Emulator]:
    """An emulator whose tasks run until the test ends them with `Emulator.finish` (or changes the knob)."""
    async with Emulator(finish_after=3600.0, states=("waiting", "processing"), seed=7) as emulator:
        yield emulator


async def test_create_answers_the_captured_shape(http: aiohttp.ClientSession) -> None:
    async with http.post(CREATE, json=CAPTURED_CREATE) as response:
        assert response.status == 200
        body = await response.json()
    assert set(body) == {"task_id", "status", "created_at", "updated_at"}
    assert re.fullmatch(r"[0-9a-f]{32}", body["task_id"])
    assert body["status"] == "waiting"
    assert ISO.match(body["created_at"])
    assert body["created_at"] == body["updated_at"]


async def test_status_answers_the_captured_shape_then_succeeds(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.post(CREATE, json=CAPTURED_CREATE) as response:
        task_id = (await response.json())["task_id"]
    async with http.post(STATUS, json={"taskId": task_id}) as response:
        body = await response.json()
    assert set(body) == {"taskId", "generations"}
    (generation,) = body["generations"]
    assert set(generation) == {"id", "createdDate", "updatedDate", "status", "failMsg", "url", "mediaType"}
    assert generation["status"] == "waiting"
    assert generation["url"] == ""
    assert generation["failMsg"] == ""
    assert generation["mediaType"] == "image"
    assert ISO.match(generation["createdDate"])
    emu.finish(task_id)
    async with http.post(STATUS, json={"taskId": task_id}) as response:
        (generation,) = (await response.json())["generations"]
    assert generation["status"] == "succeed"
    assert generation["url"].startswith(f"{emu.file_url}/nano-banana/{task_id}-")


async def test_running_states_follow_the_configured_words(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.configure(finish_after=10.0, states=("queued", "rendering"))
    async with http.post(CREATE, json={"prompt": "p"}) as response:
        task_id = (await response.json())["task_id"]
    async with http.post(STATUS, json={"taskId": task_id}) as response:
        (generation,) = (await response.json())["generations"]
    assert generation["status"] == "queued"
    # The rest of the plan, read at chosen moments instead of slept through.
    task = emu.tasks[task_id]
    assert task.state_at(task.started + 6) == ("rendering", False, 6)
    assert task.state_at(task.started + 10) == ("succeed", True, 10.0)


async def test_failed_task_reports_its_word_and_message(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.configure(finish_after=0.0, failure_rate=1.0, failure_state="error", failure_message="NSFW content")
    async with http.post(CREATE, json={"prompt": "x", "image_urls": []}) as response:
        task_id = (await response.json())["task_id"]
    async with http.post(STATUS, json={"taskId": task_id}) as response:
        (generation,) = (await response.json())["generations"]
    assert (generation["status"], generation["failMsg"], generation["url"]) == ("error", "NSFW content", "")


async def test_api_calls_need_a_session(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.url) as anonymous:
        for path, body in ((CREATE, {"prompt": "x"}), (STATUS, {"taskId": "x"})):
            async with anonymous.post(path, json=body) as response:
                assert response.status == 401
                assert "error" in await response.json()


async def test_sign_in_can_be_turned_off(emu: Emulator) -> None:
    emu.configure(require_auth=False)
    async with aiohttp.ClientSession(base_url=emu.url) as anonymous, anonymous.post(CREATE, json={"prompt": "x"}) as r:
        assert r.status == 200


@pytest.mark.parametrize(
    ("body", "status"),
    [({"prompt": ""}, 400), ({"prompt": "x", "image_urls": "u"}, 400), ({"taskId": "nope"}, 404)],
)
async def test_bad_requests_get_json_errors(http: aiohttp.ClientSession, body: dict[str, object], status: int) -> None:
    path = STATUS if "taskId" in body else CREATE
    async with http.post(path, json=body) as response:
        assert response.status == status
        assert "error" in await response.json()


async def test_a_task_is_visible_to_its_owner_only(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.post(CREATE, json={"prompt": "mine"}) as response:
        task_id = (await response.json())["task_id"]
    other = emu.issue_token("other@example.com")
    async with (
        aiohttp.ClientSession(
            base_url=emu.url, headers={"Cookie": f"__Secure-authjs.session-token={other}"}
        ) as session,
        session.post(STATUS, json={"taskId": task_id}) as response,
    ):
        assert response.status == 404


async def test_no_credits_answers_402(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.configure(credits=1)
    async with http.post(CREATE, json={"prompt": "one"}) as response:
        assert response.status == 200
    async with http.post(CREATE, json={"prompt": "two"}) as response:
        assert response.status == 402
    assert emu.created_count == 1


async def test_upload_keeps_the_file_name_with_spaces_and_serves_it(emu: Emulator, http: aiohttp.ClientSession) -> None:
    form = aiohttp.FormData()
    form.add_field("file", b"\x89PNG fake", filename="Screenshot 2026-01-06 000423.png", content_type="image/png")
    async with http.post("/api/upload", data=form) as response:
        url = (await response.json())["url"]
    assert url.startswith(f"{emu.file_url}/image2video/image2video_")
    assert url.endswith("_Screenshot 2026-01-06 000423.png")
    async with aiohttp.ClientSession() as files, files.get(url) as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        assert await response.read() == b"\x89PNG fake"
    recorded = [r for r in emu.requests if r.endpoint == "upload"][-1]
    assert recorded.body["file"]["filename"] == "Screenshot 2026-01-06 000423.png"


async def test_upload_without_a_file_field_is_400(http: aiohttp.ClientSession) -> None:
    form = aiohttp.FormData()
    form.add_field("image", b"data", filename="a.png")
    async with http.post("/api/upload", data=form) as response:
        assert response.status == 400


async def test_results_are_real_images_and_deterministic_per_request(
    emu: Emulator, http: aiohttp.ClientSession
) -> None:
    emu.configure(finish_after=0.0)
    request = {**CAPTURED_CREATE, "image_urls": emu.sample_urls[:2]}
    images = []
    async with aiohttp.ClientSession() as files:
        for _ in range(2):
            async with http.post(CREATE, json=request) as response:
                task_id = (await response.json())["task_id"]
            async with http.post(STATUS, json={"taskId": task_id}) as response:
                url = (await response.json())["generations"][0]["url"]
            async with files.get(url) as response:
                assert response.content_type == "image/png"
                images.append(await response.read())
    assert images[0].startswith(b"\x89PNG\r\n\x1a\n")
    assert images[0] == images[1]


async def test_result_format_follows_output_format(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.configure(finish_after=0.0)
    async with http.post(CREATE, json={"prompt": "x", "output_format": "jpeg"}) as response:
        task_id = (await response.json())["task_id"]
    async with http.post(STATUS, json={"taskId": task_id}) as response:
        url = (await response.json())["generations"][0]["url"]
    async with aiohttp.ClientSession() as files, files.get(url) as response:
        assert response.content_type == "image/jpeg"
        assert (await response.read()).startswith(b"\xff\xd8")


async def test_an_unfinished_result_is_not_served(emu: Emulator, http: aiohttp.ClientSession) -> None:
    emu.configure(finish_after=60.0)
    async with http.post(CREATE, json={"prompt": "x"}) as response:
        task_id = (await response.json())["task_id"]
    path = emu.tasks[task_id].result_path
    async with aiohttp.ClientSession() as files, files.get(emu.file_url + path) as response:
        assert response.status == 404


async def test_the_file_host_is_another_origin(emu: Emulator) -> None:
    assert emu.url != emu.file_url
    async with aiohttp.ClientSession() as session, session.post(emu.file_url + CREATE, json={}) as response:
        assert response.status == 405


async def test_email_code_sign_in_sets_the_session_cookie_auth_js_names_over_http(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get("/api/auth/csrf") as response:
            csrf = (await response.json())["csrfToken"]
        async with session.post("/api/auth/email-verification", json={"email": "me@example.com"}) as response:
            assert (await response.json())["code"] == 0
        code = emu.login_codes["me@example.com"]
        assert re.fullmatch(r"\d{6}", code)
        form = {"csrfToken": csrf, "email": "me@example.com", "code": code, "json": "true"}
        async with session.post("/api/auth/callback/email-verification", data=form, allow_redirects=False) as response:
            assert response.status == 302
            assert "error=" not in response.headers["Location"]
            token = response.cookies["authjs.session-token"].value
        assert "me@example.com" not in emu.login_codes  # a code works once
    async with (
        aiohttp.ClientSession(
            base_url=emu.url, headers={"Cookie": f"__Secure-authjs.session-token={token}"}
        ) as session,
        session.get("/api/auth/session") as response,
    ):
        assert (await response.json())["user"]["email"] == "me@example.com"


async def test_a_wrong_code_redirects_to_the_error_page(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get("/api/auth/csrf") as response:
            csrf = (await response.json())["csrfToken"]
        await (await session.post("/api/auth/email-verification", json={"email": "me@example.com"})).release()
        form = {"csrfToken": csrf, "email": "me@example.com", "code": "000000x", "json": "true"}
        async with session.post("/api/auth/callback/email-verification", data=form, allow_redirects=False) as response:
            assert "error=Verification" in response.headers["Location"]
            assert not {"authjs.session-token", "__Secure-authjs.session-token"} & set(response.cookies)


async def test_the_callback_checks_the_csrf_cookie(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.url) as session:  # no cookie jar: the csrf cookie is lost
        async with session.get("/api/auth/csrf") as response:
            csrf = (await response.json())["csrfToken"]
        form = {"csrfToken": csrf, "email": "me@example.com", "code": "123456", "json": "true"}
        async with session.post("/api/auth/callback/email-verification", data=form, allow_redirects=False) as response:
            assert "error=MissingCSRF" in response.headers["Location"]


async def test_session_is_empty_when_signed_out(emu: Emulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.url) as session, session.get("/api/auth/session") as response:
        assert await response.json() == {}


async def test_requests_are_recorded_and_counted(emu: Emulator, http: aiohttp.ClientSession) -> None:
    async with http.post(CREATE, json=CAPTURED_CREATE) as response:
        assert response.status == 200
    (recorded,) = [r for r in emu.requests if r.endpoint == "create"]
    assert recorded.body == CAPTURED_CREATE
    assert recorded.host == "api"
    assert recorded.method == "POST"
    assert recorded.path == CREATE
    assert "__Secure-authjs.session-token" in recorded.cookies
    assert emu.count("create") == 1
    assert emu.count("status") == 0
