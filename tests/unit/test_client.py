"""The client's steps, one behaviour per test: create, status, wait, upload, download, generate, batches."""

from __future__ import annotations

import asyncio
import gc
import io
import time
import warnings
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult
from unit_support import (
    BASE,
    CREATE,
    FILES,
    JPEG,
    PNG,
    RESULT_URL,
    STATUS,
    TASK_ID,
    TOKEN,
    UPLOAD,
    FakeAPI,
    sent_headers,
    sent_json,
    sent_multipart,
    status_json,
    task_json,
)
from wire_samples import create_body

from nanobanana import (
    BatchProgress,
    GenerationFailedError,
    GenerationRequest,
    InvalidInputError,
    NanoBanana,
    Task,
    TaskState,
    TaskStatus,
    __version__,
)

SPACED_URLS = [
    f"{FILES}/image2video/image2video_1767659261000_Screenshot 2026-01-06 000423.png",
    f"{FILES}/image2video/image2video_1767659262000_Screenshot 2026-01-06 000512.png",
]


# --- create -------------------------------------------------------------------------------------------------


async def test_create_posts_the_website_defaults_and_returns_the_task(api: FakeAPI, client: NanoBanana) -> None:
    api.post(CREATE, payload=task_json())

    task = await client.create("change the clothes from image 1 to image 2", image_urls=SPACED_URLS)

    assert isinstance(task, Task)
    assert task.task_id == TASK_ID
    assert task.state is TaskState.WAITING
    assert task.created_at is not None
    assert task.created_at.year == 2026
    assert sent_json(api.calls("POST", CREATE)[0]) == create_body(
        "change the clothes from image 1 to image 2", SPACED_URLS
    )


async def test_create_sends_image_urls_with_spaces_verbatim(api: FakeAPI, client: NanoBanana) -> None:
    api.post(CREATE, payload=task_json())

    await client.create("make it night", image_urls=SPACED_URLS)

    sent = sent_json(api.calls("POST", CREATE)[0])["image_urls"]
    assert sent == SPACED_URLS
    assert all(" " in url and "%20" not in url for url in sent)


async def test_create_passes_options_through(api: FakeAPI, client: NanoBanana) -> None:
    api.post(CREATE, payload=task_json())

    await client.create("make it night", resolution="2K", output_format="webp", width=2048, is_public=True)

    body = sent_json(api.calls("POST", CREATE)[0])
    assert (body["resolution"], body["output_format"], body["width"], body["is_public"]) == ("2K", "webp", 2048, True)


async def test_create_accepts_a_complete_generation_request(api: FakeAPI, client: NanoBanana) -> None:
    api.post(CREATE, payload=task_json())
    request = GenerationRequest(prompt="make it night", image_urls=SPACED_URLS[:1], steps=30)

    await client.create(request)

    assert sent_json(api.calls("POST", CREATE)[0]) == request.to_wire()


async def test_create_sends_the_session_cookie_and_a_json_accept(api: FakeAPI, client: NanoBanana) -> None:
    api.post(CREATE, payload=task_json())

    await client.create("make it night")

    headers = sent_headers(api.calls("POST", CREATE)[0])
    assert headers["cookie"] == f"__Secure-authjs.session-token={TOKEN}"
    assert headers["accept"] == "application/json"


async def test_create_keeps_unknown_answer_fields(api: FakeAPI, client: NanoBanana) -> None:
    api.post(CREATE, payload=task_json(credits_left=41, queue={"position": 3}))

    task = await client.create("make it night")

    assert task.model_extra == {"credits_left": 41, "queue": {"position": 3}}


async def test_every_request_names_the_sdk_and_its_version(api: FakeAPI, client: NanoBanana) -> None:
    api.post(CREATE, payload=task_json())
    api.post(STATUS, payload=status_json())

    await client.create("make it night")
    await client.status(TASK_ID)

    for _, _, call in api.all_calls():
        assert sent_headers(call)["user-agent"].startswith(f"nanobanana-python/{__version__} ")


# --- status -------------------------------------------------------------------------------------------------


async def test_status_posts_the_camel_case_task_id(api: FakeAPI, client: NanoBanana) -> None:
    api.post(STATUS, payload=status_json("waiting"))

    status = await client.status(TASK_ID)

    assert sent_json(api.calls("POST", STATUS)[0]) == {"taskId": TASK_ID}
    assert isinstance(status, TaskStatus)
    assert status.task_id == TASK_ID
    assert status.state is TaskState.WAITING
    assert not status.is_done
    assert status.url is None


async def test_status_of_a_finished_task_has_its_url(api: FakeAPI, client: NanoBanana) -> None:
    api.post(STATUS, payload=status_json("succeed"))

    status = await client.status(TASK_ID)

    assert status.state is TaskState.SUCCEED
    assert status.is_done
    assert status.url == RESULT_URL
    assert status.urls == [RESULT_URL]


async def test_status_keeps_unknown_fields_of_the_task_and_its_generations(api: FakeAPI, client: NanoBanana) -> None:
    body = status_json("succeed")
    body["progress"] = 100
    body["generations"][0]["seed"] = 1234
    api.post(STATUS, payload=body)

    status = await client.status(TASK_ID)

    assert status.model_extra == {"progress": 100}
    assert status.generations[0].model_extra == {"seed": 1234}


async def test_status_reads_the_result_from_image_url_too(api: FakeAPI, client: NanoBanana) -> None:
    body = status_json("succeed")
    generation = body["generations"][0]
    generation["image_url"] = generation.pop("url")
    api.post(STATUS, payload=body)

    status = await client.status(TASK_ID)

    assert status.url == RESULT_URL


async def test_status_keeps_an_unknown_state_word_raw(api: FakeAPI, client: NanoBanana) -> None:
    api.post(STATUS, payload=status_json("Thinking-Hard"))

    status = await client.status(TASK_ID)

    assert status.state is TaskState.UNKNOWN
    assert status.state_word == "Thinking-Hard"
    assert status.generations[0].status == "Thinking-Hard"
    assert not status.is_done


async def test_status_without_generations_is_waiting(api: FakeAPI, client: NanoBanana) -> None:
    api.post(STATUS, payload={"taskId": TASK_ID, "generations": []})

    status = await client.status(TASK_ID)

    assert status.state is TaskState.WAITING
    assert status.url is None
    assert status.fail_msg == ""


async def test_status_fills_in_a_missing_task_id(api: FakeAPI, client: NanoBanana) -> None:
    api.post(STATUS, payload={"generations": status_json("waiting")["generations"]})

    status = await client.status(TASK_ID)

    assert status.task_id == TASK_ID


# --- wait ---------------------------------------------------------------------------------------------------


async def test_wait_polls_until_the_task_succeeds(api: FakeAPI, client: NanoBanana) -> None:
    api.post(STATUS, payload=status_json("waiting"))
    api.post(STATUS, payload=status_json("waiting"))
    api.post(STATUS, payload=status_json("succeed"))

    final = await client.wait(TASK_ID)

    assert final.url == RESULT_URL
    assert api.count("POST", STATUS) == 3


# --- upload -------------------------------------------------------------------------------------------------


async def test_upload_of_a_path_sends_a_multipart_field_named_file(
    api: FakeAPI, client: NanoBanana, tmp_path: Path
) -> None:
    image = tmp_path / "me.png"
    image.write_bytes(PNG)
    api.post(UPLOAD, payload={"url": f"{FILES}/image2video/me.png"})

    url = await client.upload(image)

    assert url == f"{FILES}/image2video/me.png"
    body = await sent_multipart(api.calls("POST", UPLOAD)[0])
    assert b'name="file"; filename="me.png"' in body
    assert b"Content-Type: image/png" in body
    assert PNG in body


async def test_upload_of_bytes_names_the_file_after_its_type(api: FakeAPI, client: NanoBanana) -> None:
    api.post(UPLOAD, payload={"url": f"{FILES}/image2video/x.jpg"})

    await client.upload(JPEG)

    body = await sent_multipart(api.calls("POST", UPLOAD)[0])
    assert b'name="file"; filename="image-1.jpg"' in body
    assert b"Content-Type: image/jpeg" in body
    assert JPEG in body


async def test_upload_of_a_file_object_uses_its_name(api: FakeAPI, client: NanoBanana, tmp_path: Path) -> None:
    image = tmp_path / "outfit.png"
    image.write_bytes(PNG)
    api.post(UPLOAD, payload={"url": f"{FILES}/image2video/outfit.png"})

    with image.open("rb") as file:
        await client.upload(file)

    body = await sent_multipart(api.calls("POST", UPLOAD)[0])
    assert b'name="file"; filename="outfit.png"' in body
    assert PNG in body


async def test_upload_under_a_chosen_filename(api: FakeAPI, client: NanoBanana) -> None:
    api.post(UPLOAD, payload={"url": f"{FILES}/image2video/custom.png"})

    await client.upload(io.BytesIO(PNG), filename="custom.png")

    assert b'filename="custom.png"' in await sent_multipart(api.calls("POST", UPLOAD)[0])


# --- download -----------------------------------------------------------------------------------------------


async def test_download_returns_the_bytes(api: FakeAPI, client: NanoBanana) -> None:
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    assert await client.download(RESULT_URL) == PNG


async def test_download_to_a_path_writes_the_file(api: FakeAPI, client: NanoBanana, tmp_path: Path) -> None:
    api.get(RESULT_URL, body=PNG, content_type="image/png", headers={"Content-Length": str(len(PNG))})
    target = tmp_path / "out" / "night.png"

    written = await client.download(RESULT_URL, target)

    assert written == target
    assert target.read_bytes() == PNG
    assert sorted(p.name for p in target.parent.iterdir()) == ["night.png"]


async def test_download_into_a_folder_uses_the_url_file_name(api: FakeAPI, client: NanoBanana, tmp_path: Path) -> None:
    url = f"{FILES}/nano-banana/Screenshot 2026-01-06 000423.png"
    api.get(f"{FILES}/nano-banana/Screenshot%202026-01-06%20000423.png", body=PNG, content_type="image/png")

    written = await client.download(url, tmp_path)

    assert written == tmp_path / "Screenshot 2026-01-06 000423.png"
    assert written.read_bytes() == PNG


# --- generate -----------------------------------------------------------------------------------------------


async def test_generate_with_image_urls_creates_waits_and_downloads(api: FakeAPI, client: NanoBanana) -> None:
    api.post(CREATE, payload=task_json())
    api.post(STATUS, payload=status_json("waiting"))
    api.post(STATUS, payload=status_json("succeed"))
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    result = await client.generate("make it night", image_urls=SPACED_URLS)

    assert result.task_id == TASK_ID
    assert result.url == RESULT_URL
    assert result.content == PNG
    assert result.path is None
    assert result.status.state is TaskState.SUCCEED
    assert sent_json(api.calls("POST", CREATE)[0])["image_urls"] == SPACED_URLS
    assert api.count("GET", RESULT_URL) == 1


async def test_generate_returns_the_final_status_as_received(api: FakeAPI, client: NanoBanana) -> None:
    """The status is kept as JSON while the download waits; the result's must be the same status, field for field."""
    final = status_json("succeed")
    final["generations"][0]["seed"] = {"value": 42, "tags": ["a", "b"]}
    final["credits"] = 3
    api.post(CREATE, payload=task_json())
    api.post(STATUS, payload=final)
    api.get(RESULT_URL, body=PNG, content_type="image/png")
    seen: list[TaskStatus] = []

    result = await client.generate("make it night", image_urls=SPACED_URLS, on_update=seen.append)

    received = seen[-1]
    assert result.status == received == TaskStatus.model_validate(final)
    assert result.status.model_fields_set == received.model_fields_set
    assert result.status.generations[0].model_extra == {"seed": {"value": 42, "tags": ["a", "b"]}}
    assert result.status.generations[0].created_date == received.generations[0].created_date
    assert result.status.model_extra == {"credits": 3}


async def test_generate_saves_to_output(api: FakeAPI, client: NanoBanana, tmp_path: Path) -> None:
    api.post(CREATE, payload=task_json())
    api.post(STATUS, payload=status_json("succeed"))
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    result = await client.generate("make it night", image_urls=SPACED_URLS, output=tmp_path / "out.png")

    assert result.path == tmp_path / "out.png"
    assert result.content is None
    assert (tmp_path / "out.png").read_bytes() == PNG


async def test_generate_uploads_local_images_first_and_keeps_the_input_order(
    api: FakeAPI, client: NanoBanana, tmp_path: Path
) -> None:
    (tmp_path / "me.png").write_bytes(PNG)
    (tmp_path / "outfit.jpg").write_bytes(JPEG)

    async def hosted(url: Any, **kwargs: Any) -> CallbackResult:
        body = await kwargs["data"]().as_bytes()
        name = "me.png" if b'filename="me.png"' in body else "outfit.jpg"
        return CallbackResult(payload={"url": f"{FILES}/image2video/{name}"})

    api.post(UPLOAD, callback=hosted, repeat=True)
    api.post(CREATE, payload=task_json())
    api.post(STATUS, payload=status_json("succeed"))
    api.get(RESULT_URL, body=PNG, content_type="image/png")

    result = await client.generate(
        "change the clothes from image 1 to image 2",
        image_urls=[SPACED_URLS[0]],
        images=[tmp_path / "me.png", SPACED_URLS[1], str(tmp_path / "outfit.jpg")],
    )

    assert result.content == PNG
    assert api.count("POST", UPLOAD) == 2
    assert sent_json(api.calls("POST", CREATE)[0])["image_urls"] == [
        SPACED_URLS[0],
        f"{FILES}/image2video/me.png",
        SPACED_URLS[1],
        f"{FILES}/image2video/outfit.jpg",
    ]


async def test_generate_failure_names_the_task(api: FakeAPI, client: NanoBanana) -> None:
    api.post(CREATE, payload=task_json())
    api.post(STATUS, payload=status_json("failed", fail_msg="content policy"))

    with pytest.raises(GenerationFailedError) as caught:
        await client.generate("make it night", image_urls=SPACED_URLS)

    assert caught.value.task_id == TASK_ID
    assert caught.value.fail_msg == "content policy"


# --- generate_batch -----------------------------------------------------------------------------------------


def _serve_tasks(api: FakeAPI, states: dict[str, str]) -> None:
    """A fake API whose create answers a task per prompt and whose status reports ``states[prompt]``."""
    prompts: dict[str, str] = {}

    def create(url: Any, **kwargs: Any) -> CallbackResult:
        prompt = kwargs["json"]["prompt"]
        task_id = f"task-{len(prompts)}"
        prompts[task_id] = prompt
        return CallbackResult(payload=task_json(task_id))

    def status(url: Any, **kwargs: Any) -> CallbackResult:
        task_id = kwargs["json"]["taskId"]
        state = states[prompts[task_id]]
        url_out = f"{FILES}/nano-banana/{task_id}.png" if state == "succeed" else ""
        return CallbackResult(payload=status_json(state, task_id=task_id, url=url_out, fail_msg="nope"))

    api.post(CREATE, callback=create, repeat=True)
    api.post(STATUS, callback=status, repeat=True)
    for n in range(len(states)):
        api.get(f"{FILES}/nano-banana/task-{n}.png", body=PNG, content_type="image/png", repeat=True)


async def test_generate_batch_returns_one_outcome_per_item_in_input_order(api: FakeAPI, client: NanoBanana) -> None:
    _serve_tasks(api, {"one": "succeed", "two": "succeed", "three": "succeed"})

    outcomes = await client.generate_batch(
        ["one", {"prompt": "two", "image_urls": SPACED_URLS}, GenerationRequest(prompt="three")], concurrency=2
    )

    assert [o.index for o in outcomes] == [0, 1, 2]
    assert all(o.ok and o.result is not None and o.result.content == PNG for o in outcomes)
    assert sorted(sent_json(c)["prompt"] for c in api.calls("POST", CREATE)) == ["one", "three", "two"]


async def test_generate_batch_keeps_going_after_a_failed_item(api: FakeAPI, client: NanoBanana) -> None:
    _serve_tasks(api, {"good": "succeed", "bad": "failed"})

    outcomes = await client.generate_batch(["good", "bad"])

    good, bad = outcomes
    assert good.ok
    assert not bad.ok
    assert isinstance(bad.error, GenerationFailedError)
    assert bad.task_id is not None
    assert bad.error.task_id == bad.task_id


async def test_generate_batch_reports_an_invalid_item_without_sending_it(api: FakeAPI, client: NanoBanana) -> None:
    _serve_tasks(api, {"fine": "succeed"})

    outcomes = await client.generate_batch(["fine", {"prompt": ""}])

    assert outcomes[0].ok
    assert isinstance(outcomes[1].error, InvalidInputError)
    assert api.count("POST", CREATE) == 1


async def test_generate_batch_saves_into_output_dir(api: FakeAPI, client: NanoBanana, tmp_path: Path) -> None:
    _serve_tasks(api, {"one": "succeed"})

    [outcome] = await client.generate_batch([{"id": "look-1", "prompt": "one"}], output_dir=tmp_path / "results")

    assert outcome.result is not None
    assert outcome.result.path == tmp_path / "results" / "look-1.png"
    assert (tmp_path / "results" / "look-1.png").read_bytes() == PNG


async def test_generate_batch_reports_progress_until_every_item_is_done(api: FakeAPI, client: NanoBanana) -> None:
    _serve_tasks(api, {"one": "succeed", "two": "failed"})
    seen: list[BatchProgress] = []

    async def record(progress: BatchProgress) -> None:
        seen.append(progress)

    await client.generate_batch(["one", "two"], on_progress=record)

    assert seen[-1].total == 2
    assert (seen[-1].done, seen[-1].failed, seen[-1].finished) == (1, 1, 2)
    assert any(p.waiting for p in seen)


async def test_generate_batch_can_be_iterated_as_items_finish(api: FakeAPI, client: NanoBanana) -> None:
    _serve_tasks(api, {"one": "succeed", "two": "succeed"})

    keys = [outcome.index async for outcome in client.generate_batch(["one", "two"])]

    assert sorted(keys) == [0, 1]


async def test_generate_batch_raises_an_error_of_its_progress_callback(api: FakeAPI, client: NanoBanana) -> None:
    _serve_tasks(api, {"one": "succeed", "two": "succeed"})

    def broken(progress: BatchProgress) -> None:
        raise RuntimeError("bug in the callback")

    with pytest.raises(RuntimeError, match="bug in the callback"):
        await asyncio.wait_for(client.generate_batch(["one", "two"], on_progress=broken), timeout=5)


# --- the client itself --------------------------------------------------------------------------------------


async def test_max_concurrency_caps_requests_in_flight(api: FakeAPI) -> None:
    in_flight = peak = 0

    async def slow(url: Any, **kwargs: Any) -> CallbackResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return CallbackResult(payload=status_json("waiting"))

    api.post(STATUS, callback=slow, repeat=True)
    async with NanoBanana(session_token=TOKEN, base_url=BASE, max_concurrency=2) as nb:
        await asyncio.gather(*(nb.status(f"task-{n}") for n in range(8)))

    assert api.count("POST", STATUS) == 8
    assert peak == 2


async def test_requests_per_second_spaces_requests_out(api: FakeAPI) -> None:
    sent: list[float] = []

    def record(url: Any, **kwargs: Any) -> CallbackResult:
        sent.append(time.monotonic())
        return CallbackResult(payload=status_json("waiting"))

    api.post(STATUS, callback=record, repeat=True)
    async with NanoBanana(session_token=TOKEN, base_url=BASE, requests_per_second=20) as nb:
        before = time.monotonic()
        await asyncio.gather(*(nb.status(f"task-{n}") for n in range(5)))

    # The k-th request may not start before 1/20 s times k after the first could: a lower bound, which a busy
    # machine only makes easier to meet (how fast they go is a benchmark's question, not this test's).
    assert len(sent) == 5
    for k, at in enumerate(sorted(sent)):
        assert at - before >= k / 20 - 0.001, (k, at - before)  # the loop may wake a timer a hair early


async def test_a_closed_client_refuses_to_send(api: FakeAPI) -> None:
    nb = NanoBanana(session_token=TOKEN, base_url=BASE)
    await nb.close()

    with pytest.raises(RuntimeError, match="closed"):
        await nb.status(TASK_ID)

    assert api.requests == {}


async def test_a_session_of_the_caller_is_never_closed(api: FakeAPI) -> None:
    api.post(STATUS, payload=status_json("waiting"))
    async with aiohttp.ClientSession() as session:
        async with NanoBanana(session_token=TOKEN, base_url=BASE, session=session) as nb:
            await nb.status(TASK_ID)
        assert not session.closed


async def test_a_closed_client_leaves_no_unclosed_session_warning(api: FakeAPI) -> None:
    api.post(STATUS, payload=status_json("waiting"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nb = NanoBanana(session_token=TOKEN, base_url=BASE)
        await nb.status(TASK_ID)
        await nb.close()
        await nb.close()  # closing twice is harmless
        del nb
        gc.collect()

    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_the_client_can_be_closed_without_ever_sending(api: FakeAPI) -> None:
    async with NanoBanana(session_token=TOKEN, base_url=BASE):
        pass
    assert api.requests == {}


async def test_repr_names_the_host_but_never_the_token(client: NanoBanana) -> None:
    text = repr(client)

    assert TOKEN not in text
    assert "https://nanabanana.ai" in text
    assert "signed_in=True" in text


async def test_base_url_comes_from_the_environment(api: FakeAPI, monkeypatch: Any) -> None:
    monkeypatch.setenv("NANOBANANA_BASE_URL", "http://127.0.0.1:8000/")
    api.post("http://127.0.0.1:8000/api/image-generation-nano-banana/status", payload=status_json())

    async with NanoBanana(session_token=TOKEN) as nb:
        assert nb.base_url == "http://127.0.0.1:8000"
        await nb.status(TASK_ID)


async def test_session_token_comes_from_the_environment(api: FakeAPI, monkeypatch: Any) -> None:
    monkeypatch.setenv("NANOBANANA_SESSION_TOKEN", "from-the-environment-123")
    api.post(STATUS, payload=status_json())

    async with NanoBanana(base_url=BASE) as nb:
        await nb.status(TASK_ID)

    assert "from-the-environment-123" in sent_headers(api.calls("POST", STATUS)[0])["cookie"]


async def test_an_explicit_token_wins_over_the_environment(api: FakeAPI, monkeypatch: Any) -> None:
    monkeypatch.setenv("NANOBANANA_SESSION_TOKEN", "from-the-environment-123")

    async with NanoBanana(base_url=BASE, session_token=TOKEN) as nb:
        assert nb.session_token == TOKEN


async def test_extra_cookies_and_headers_go_to_the_api_host(api: FakeAPI) -> None:
    api.post(STATUS, payload=status_json())

    async with NanoBanana(
        base_url=BASE, session_token=TOKEN, cookies={"cf_clearance": "cf-value-123"}, headers={"X-Team": "blue"}
    ) as nb:
        await nb.status(TASK_ID)

    headers = sent_headers(api.calls("POST", STATUS)[0])
    assert "cf_clearance=cf-value-123" in headers["cookie"]
    assert f"__Secure-authjs.session-token={TOKEN}" in headers["cookie"]
    assert headers["x-team"] == "blue"
