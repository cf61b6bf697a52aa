"""Bad input is refused with InvalidInputError before anything is sent (and before anything is charged)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from unit_support import BASE, PNG, TOKEN, FakeAPI

from nanobanana import InvalidInputError, NanoBanana

URL = "https://file.v03ai.com/image2video/a.png"


@pytest.mark.parametrize(
    ("prompt", "options"),
    [
        ("", {}),
        ("   \n", {}),
        ("x" * 10_001, {}),
        ("ok", {"width": 10}),
        ("ok", {"height": 100_000}),
        ("ok", {"steps": 0}),
        ("ok", {"steps": 201}),
        ("ok", {"guidance_scale": -1}),
        ("ok", {"guidance_scale": float("nan")}),
        ("ok", {"resolution": "8K"}),
        ("ok", {"output_format": "tiff"}),
        ("ok", {"image_size": ""}),
        ("ok", {"enable_pro": "maybe"}),
        ("ok", {"unknown_option": 1}),
    ],
    ids=[
        "empty-prompt",
        "blank-prompt",
        "long-prompt",
        "narrow",
        "tall",
        "no-steps",
        "many-steps",
        "negative-guidance",
        "nan-guidance",
        "resolution",
        "format",
        "empty-size",
        "not-a-bool",
        "unknown-option",
    ],
)
async def test_create_refuses_bad_options_before_sending(
    api: FakeAPI, client: NanoBanana, prompt: str, options: dict[str, Any]
) -> None:
    with pytest.raises(InvalidInputError, match="invalid generation request"):
        await client.create(prompt, image_urls=[URL], **options)

    assert api.requests == {}


@pytest.mark.parametrize(
    "url",
    ["ftp://file.v03ai.com/a.png", "file:///tmp/a.png", "/tmp/a.png", "a.png", "https://", "javascript:alert(1)"],
)
async def test_create_refuses_image_urls_that_are_not_http(api: FakeAPI, client: NanoBanana, url: str) -> None:
    with pytest.raises(InvalidInputError, match="absolute http"):
        await client.create("make it night", image_urls=[URL, url])

    assert api.requests == {}


async def test_create_refuses_image_urls_given_as_one_string(api: FakeAPI, client: NanoBanana) -> None:
    with pytest.raises(InvalidInputError, match="not a single string"):
        await client.create("make it night", image_urls=URL)  # type: ignore[arg-type]

    assert api.requests == {}


async def test_generate_refuses_image_urls_given_as_one_string(api: FakeAPI, client: NanoBanana) -> None:
    with pytest.raises(InvalidInputError, match="not a single string"):
        await client.generate("make it night", image_urls=URL)  # type: ignore[arg-type]

    assert api.requests == {}


async def test_generate_refuses_images_given_as_one_string(api: FakeAPI, client: NanoBanana) -> None:
    with pytest.raises(InvalidInputError, match=r"wrap a single image in \[\.\.\.\]"):
        await client.generate("make it night", images="me.png")  # type: ignore[arg-type]

    assert api.requests == {}


async def test_create_refuses_a_request_and_options_together(api: FakeAPI, client: NanoBanana) -> None:
    from nanobanana import GenerationRequest

    with pytest.raises(InvalidInputError, match="not both"):
        await client.create(GenerationRequest(prompt="x"), resolution="2K")

    assert api.requests == {}


async def test_a_missing_local_image_is_refused_before_any_upload(
    api: FakeAPI, client: NanoBanana, tmp_path: Path
) -> None:
    (tmp_path / "me.png").write_bytes(PNG)

    with pytest.raises(InvalidInputError, match="not found"):
        await client.generate("make it night", images=[tmp_path / "me.png", URL, tmp_path / "missing.png"])

    assert api.requests == {}


async def test_a_file_that_is_not_an_image_is_refused_before_any_upload(
    api: FakeAPI, client: NanoBanana, tmp_path: Path
) -> None:
    (tmp_path / "me.png").write_bytes(PNG)
    (tmp_path / "notes.txt").write_text("hello")

    with pytest.raises(InvalidInputError, match="is not an image"):
        await client.generate("make it night", images=[tmp_path / "me.png", tmp_path / "notes.txt"])

    assert api.requests == {}


async def test_a_folder_is_not_an_image(api: FakeAPI, client: NanoBanana, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="folder"):
        await client.upload(tmp_path)

    assert api.requests == {}


@pytest.mark.parametrize(
    "value",
    [b"", b"just some text", io.StringIO("text mode"), 42],
    ids=["empty", "not-an-image", "text-file", "a-number"],
)
async def test_upload_refuses_what_is_not_an_image(api: FakeAPI, client: NanoBanana, value: Any) -> None:
    with pytest.raises(InvalidInputError):
        await client.upload(value)

    assert api.requests == {}


@pytest.mark.parametrize("task_id", ["", "   "])
async def test_status_needs_a_task_id(api: FakeAPI, client: NanoBanana, task_id: str) -> None:
    with pytest.raises(InvalidInputError, match="task_id"):
        await client.status(task_id)

    assert api.requests == {}


@pytest.mark.parametrize(
    "options",
    [
        {"base_url": "ftp://nanabanana.ai"},
        {"base_url": "nanabanana.ai"},
        {"max_retries": -1},
        {"max_concurrency": 0},
        {"timeout": 0},
        {"timeout": -5.0},
        {"requests_per_second": 0},
        {"requests_per_second": -1.0},
    ],
)
def test_the_client_refuses_bad_settings(options: dict[str, Any]) -> None:
    with pytest.raises(InvalidInputError):
        NanoBanana(session_token=TOKEN, **{"base_url": BASE, **options})


async def test_generate_batch_refuses_a_concurrency_below_one(client: NanoBanana) -> None:
    with pytest.raises(InvalidInputError, match="concurrency"):
        client.generate_batch(["x"], concurrency=0)


@pytest.mark.parametrize("url", ["https://", "https:///no-host.png"])
async def test_a_malformed_url_among_images_is_refused_before_any_upload(
    api: FakeAPI, client: NanoBanana, url: str
) -> None:
    with pytest.raises(InvalidInputError, match="absolute http"):
        await client.generate("make it night", images=[PNG, url])

    assert api.requests == {}


async def test_a_batch_item_with_a_malformed_image_url_fails_alone(api: FakeAPI, client: NanoBanana) -> None:
    [outcome] = await client.generate_batch([{"prompt": "make it night", "images": ["https://"]}])

    assert isinstance(outcome.error, InvalidInputError)
    assert api.requests == {}


# A host name with an empty label cannot be encoded (IDNA), so nothing is ever looked up or sent for it.
_EMPTY_LABEL_HOST = "http://a..localhost:9"


@pytest.mark.xfail(strict=True, raises=UnicodeError, reason="known bug: escapes as a bare UnicodeError")
async def test_a_download_from_a_host_with_an_empty_label_is_invalid_input() -> None:
    async with NanoBanana(session_token=TOKEN, max_retries=0) as client:
        with pytest.raises(InvalidInputError):
            await client.download(f"{_EMPTY_LABEL_HOST}/a.png")


@pytest.mark.xfail(strict=True, raises=UnicodeError, reason="known bug: escapes as a bare UnicodeError")
async def test_a_base_url_with_an_empty_label_is_invalid_input() -> None:
    with pytest.raises(InvalidInputError):
        async with NanoBanana(base_url=_EMPTY_LABEL_HOST, session_token=TOKEN, max_retries=0) as client:
            await client.status("t")
