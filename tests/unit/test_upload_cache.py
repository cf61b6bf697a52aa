"""Each image is uploaded once per client: remembered by the sha256 of its bytes, shared while in flight."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import pytest
from aioresponses import CallbackResult
from unit_support import BASE, CREATE, JPEG, PNG, TOKEN, UPLOAD, FakeAPI, sent_json, task_json

from nanobanana import BadRequestError, NanoBanana
from nanobanana._upload_cache import UploadCache, digest_of

HOSTED = "https://file.v03ai.com/image2video/image2video_1_photo.png"
AGAIN = "https://file.v03ai.com/image2video/image2video_2_photo.png"


def hosted(n: int) -> str:
    return f"https://file.v03ai.com/image2video/image2video_{n}_photo.png"


def serve_uploads(api: FakeAPI, urls: list[str]) -> None:
    for url in urls:
        api.post(UPLOAD, payload={"url": url})


# --- the cache itself ---------------------------------------------------------------------------------------


def test_the_least_recently_used_entry_leaves_first() -> None:
    cache = UploadCache(max_entries=2)
    cache.put("a", hosted(1))
    cache.put("b", hosted(2))
    cache.get("a")

    cache.put("c", hosted(3))

    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (hosted(1), None, hosted(3))


def test_forget_with_a_url_keeps_an_entry_already_replaced() -> None:
    cache = UploadCache()
    cache.put("a", AGAIN)

    cache.forget("a", HOSTED)

    assert cache.get("a") == AGAIN


def test_the_key_is_the_sha256_of_the_bytes() -> None:
    assert digest_of(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


async def test_a_watcher_hears_of_every_new_upload_once(api: FakeAPI, client: NanoBanana) -> None:
    heard: list[tuple[str, str]] = []
    assert client._upload_cache is not None
    stop = client._upload_cache.watch(lambda digest, url: heard.append((digest, url)))
    serve_uploads(api, [HOSTED])

    await client.upload(PNG)
    await client.upload(PNG)
    stop()

    assert heard == [(digest_of(PNG), HOSTED)]


async def test_a_seeded_entry_is_used_without_uploading(api: FakeAPI, client: NanoBanana) -> None:
    assert client._upload_cache is not None
    client._upload_cache.put(digest_of(PNG), HOSTED)

    assert await client.upload(PNG) == HOSTED
    assert api.count("POST", UPLOAD) == 0


# --- through the client -------------------------------------------------------------------------------------


async def test_the_same_bytes_are_uploaded_once_across_creates(api: FakeAPI, client: NanoBanana) -> None:
    serve_uploads(api, [HOSTED])
    for _ in range(3):
        api.post(CREATE, payload=task_json())

    for _ in range(3):
        await client.create("make it night", images=[PNG])

    assert api.count("POST", UPLOAD) == 1
    assert {tuple(sent_json(call)["image_urls"]) for call in api.calls("POST", CREATE)} == {(HOSTED,)}


async def test_the_same_bytes_given_as_a_path_bytes_and_a_file_are_uploaded_once(
    api: FakeAPI, client: NanoBanana, tmp_path: Path
) -> None:
    (tmp_path / "one.png").write_bytes(PNG)
    (tmp_path / "copy.png").write_bytes(PNG)
    serve_uploads(api, [HOSTED])

    urls = {
        await client.upload(tmp_path / "one.png"),
        await client.upload(str(tmp_path / "copy.png")),
        await client.upload(bytearray(PNG)),
        await client.upload(io.BytesIO(PNG)),
    }

    assert urls == {HOSTED}
    assert api.count("POST", UPLOAD) == 1


async def test_different_images_are_each_uploaded(api: FakeAPI, client: NanoBanana) -> None:
    serve_uploads(api, [hosted(1), hosted(2)])

    urls = [await client.upload(PNG), await client.upload(JPEG)]

    assert urls == [hosted(1), hosted(2)]


def held_uploads(api: FakeAPI, *, times: int) -> tuple[asyncio.Event, asyncio.Event]:
    """Upload answers (``times`` of them) that wait for ``release``; ``started`` is set when one arrives."""
    started, release = asyncio.Event(), asyncio.Event()

    async def slow_upload(url: Any, **kwargs: Any) -> CallbackResult:
        started.set()
        await release.wait()
        return CallbackResult(payload={"url": HOSTED})

    for _ in range(times):
        api.post(UPLOAD, callback=slow_upload)
    return started, release


async def test_concurrent_uploads_of_the_same_bytes_share_one_request(api: FakeAPI, client: NanoBanana) -> None:
    started, release = held_uploads(api, times=2)
    uploads = [asyncio.ensure_future(client.upload(PNG)) for _ in range(5)]
    await started.wait()
    release.set()

    assert await asyncio.gather(*uploads) == [HOSTED] * 5
    assert api.count("POST", UPLOAD) == 1


async def test_one_cancelled_caller_does_not_cancel_the_shared_upload(api: FakeAPI, client: NanoBanana) -> None:
    started, release = held_uploads(api, times=1)
    first, second = (asyncio.ensure_future(client.upload(PNG)) for _ in range(2))
    await started.wait()
    first.cancel()
    release.set()

    assert await second == HOSTED
    assert first.cancelled()


async def test_a_failed_upload_is_not_remembered(api: FakeAPI, client: NanoBanana) -> None:
    api.post(UPLOAD, status=400, payload={"message": "bad file"})
    serve_uploads(api, [HOSTED])

    with pytest.raises(BadRequestError):
        await client.upload(PNG)

    assert await client.upload(PNG) == HOSTED


async def test_a_client_can_opt_out_of_the_cache(api: FakeAPI, tmp_path: Path) -> None:
    serve_uploads(api, [hosted(1), hosted(2)])

    async with NanoBanana(session_token=TOKEN, base_url=BASE, upload_cache=False) as nb:
        urls = [await nb.upload(PNG), await nb.upload(PNG)]

    assert urls == [hosted(1), hosted(2)]


# --- an upload the service no longer has --------------------------------------------------------------------


@pytest.mark.parametrize(
    "refusal",
    [
        {"message": f"Could not fetch {HOSTED}"},
        {"message": "Input image URL has expired."},
        {"error": "image not found"},
    ],
)
async def test_a_create_refused_for_a_gone_upload_uploads_it_again_and_retries_once(
    api: FakeAPI, client: NanoBanana, refusal: dict[str, str]
) -> None:
    serve_uploads(api, [HOSTED, AGAIN])
    api.post(CREATE, status=400, payload=refusal)
    api.post(CREATE, payload=task_json())

    task = await client.create("make it night", images=[PNG])

    assert task.task_id
    assert [sent_json(call)["image_urls"] for call in api.calls("POST", CREATE)] == [[HOSTED], [AGAIN]]
    assert await client.upload(PNG) == AGAIN


async def test_a_create_refused_for_another_reason_is_not_retried(api: FakeAPI, client: NanoBanana) -> None:
    serve_uploads(api, [HOSTED])
    api.post(CREATE, status=400, payload={"message": "The prompt is too long."})

    with pytest.raises(BadRequestError):
        await client.create("make it night", images=[PNG])

    assert (api.count("POST", CREATE), api.count("POST", UPLOAD)) == (1, 1)


async def test_a_create_refused_twice_for_a_gone_upload_raises_the_second_refusal(
    api: FakeAPI, client: NanoBanana
) -> None:
    serve_uploads(api, [HOSTED, AGAIN])
    api.post(CREATE, status=400, payload={"message": "Input image URL has expired."})
    api.post(CREATE, status=400, payload={"message": "Input image URL has expired, again."})

    with pytest.raises(BadRequestError, match="again"):
        await client.create("make it night", images=[PNG])

    assert (api.count("POST", CREATE), api.count("POST", UPLOAD)) == (2, 2)


async def test_a_refusal_naming_a_hosted_input_of_the_caller_is_not_retried(api: FakeAPI, client: NanoBanana) -> None:
    api.post(CREATE, status=400, payload={"message": f"Could not fetch {HOSTED}"})

    with pytest.raises(BadRequestError):
        await client.create("make it night", image_urls=[HOSTED])

    assert api.count("POST", CREATE) == 1


async def test_an_upload_again_that_fails_raises_the_refusal_with_the_failure_as_its_cause(
    api: FakeAPI, client: NanoBanana
) -> None:
    serve_uploads(api, [HOSTED])
    api.post(UPLOAD, status=400, payload={"message": "The file is too large."})
    api.post(CREATE, status=400, payload={"message": "Input image URL has expired."})

    with pytest.raises(BadRequestError, match="expired") as raised:
        await client.create("make it night", images=[PNG])

    assert isinstance(raised.value.__cause__, BadRequestError)
    assert "too large" in str(raised.value.__cause__)
    assert api.count("POST", CREATE) == 1
