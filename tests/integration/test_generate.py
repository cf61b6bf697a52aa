"""The real client against the emulator over loopback: the whole flow, and what crosses the wire."""

from __future__ import annotations

import asyncio
from pathlib import Path

from support import FAST_POLL, write_samples
from wire_samples import create_body

from nanobanana import GenerationRequest, NanoBanana, TaskState, TaskStatus
from nanobanana.emulator import Emulator, sample_images

PROMPT = "change the clothes from image 1 to image 2"


async def test_generate_uploads_local_images_and_saves_the_result(
    emu: Emulator, client: NanoBanana, tmp_path: Path
) -> None:
    person, outfit = write_samples(tmp_path)
    result = await client.generate(PROMPT, images=[person, outfit], output=tmp_path / "out.png")
    assert result.path == tmp_path / "out.png"
    assert result.path.read_bytes().startswith(b"\x89PNG")
    assert result.url.startswith(emu.file_url)
    assert emu.count("upload") == 2
    assert emu.count("create") == 1
    (create,) = [r for r in emu.requests if r.endpoint == "create"]
    assert [url.rsplit("_", 1)[-1] for url in create.body["image_urls"]] == ["person.png", "outfit.png"]
    assert sorted(tmp_path.iterdir()) == sorted([person, outfit, tmp_path / "out.png"])  # no temp file left


async def test_generate_returns_bytes_without_an_output(emu: Emulator, client: NanoBanana) -> None:
    result = await client.generate(PROMPT, image_urls=emu.sample_urls[:2])
    assert result.content is not None
    assert result.content.startswith(b"\x89PNG")
    assert result.path is None
    assert result.status.state is TaskState.SUCCEED


async def test_the_create_body_matches_the_capture(emu: Emulator, client: NanoBanana) -> None:
    urls = [
        "https://file.v03ai.com/image2video/image2video_1767659183726_Screenshot 2026-01-06 000423.png",
        "https://file.v03ai.com/image2video/image2video_1767659189363_Screenshot 2026-01-06 000601.png",
    ]
    await client.create("change the clotes from image 1 to image 2", image_urls=urls)
    (create,) = [r for r in emu.requests if r.endpoint == "create"]
    assert create.body == create_body("change the clotes from image 1 to image 2", urls)


async def test_the_steps_one_by_one(emu: Emulator, client: NanoBanana, tmp_path: Path) -> None:
    emu.configure(finish_after=3600.0)  # until the test ends it
    url = await client.upload(sample_images()[2][1], filename="banana.png")
    task = await client.create(GenerationRequest(prompt="make it night", image_urls=(url,), resolution="2K"))
    first = await client.status(task.task_id)
    assert first.task_id == task.task_id
    assert not first.is_done
    emu.finish(task.task_id)
    final = await client.wait(task.task_id, timeout=10)
    assert final.is_done
    assert final.url is not None
    saved = await client.download(final.url, tmp_path)
    assert saved.parent == tmp_path
    assert saved.read_bytes().startswith(b"\x89PNG")


async def test_on_update_sees_each_state_change(emu: Emulator, client: NanoBanana) -> None:
    emu.configure(finish_after=0.6)
    seen: list[str] = []
    await client.generate(PROMPT, image_urls=emu.sample_urls[:1], on_update=lambda s: seen.append(s.state_word))
    assert seen[-1] == "succeed"
    assert len(seen) == len(set(seen))
    assert set(seen) <= {"waiting", "processing", "succeed"}


async def test_the_file_host_never_sees_credentials(emu: Emulator, tmp_path: Path) -> None:
    async with NanoBanana(
        base_url=emu.url,
        session_token=emu.issue_token(),
        cookies={"cf_clearance": "cf-secret"},
        headers={"Authorization": "Bearer header-secret", "X-Custom": "custom-secret"},
        session_file=tmp_path / "s.json",
        poll=FAST_POLL,
    ) as client:
        await client.generate(PROMPT, image_urls=emu.sample_urls[:1], output=tmp_path / "out.png")
    api = [r for r in emu.requests if r.host == "api"]
    files = [r for r in emu.requests if r.host == "files"]
    assert api
    assert files
    assert all("__Secure-authjs.session-token" in r.cookies and r.cookies["cf_clearance"] == "cf-secret" for r in api)
    for request in files:
        assert "Cookie" not in request.headers
        assert "Authorization" not in request.headers
        assert "X-Custom" not in request.headers
        assert request.headers["User-Agent"].startswith("nanobanana-python/")


async def test_many_clients_share_one_emulator(emu: Emulator, client: NanoBanana) -> None:
    async with NanoBanana(base_url=emu.url, session_token=emu.issue_token("b@example.com")) as other:
        task = await other.create("theirs")
    mine = await client.create("mine")
    assert (await client.status(mine.task_id)).task_id == mine.task_id
    assert task.task_id != mine.task_id


async def test_500_concurrent_generations(emu: Emulator, client: NanoBanana) -> None:
    emu.configure(finish_after=(0.0, 0.3), record_requests=False, result_size=(16, 16))
    results = await asyncio.gather(*(client.generate(f"banana {i}") for i in range(500)))
    assert len({r.task_id for r in results}) == 500
    assert emu.created_count == 500
    assert emu.count("create") == 500
    assert all(r.content is not None and r.content.startswith(b"\x89PNG") for r in results)
    assert sorted(task.prompt for task in emu.tasks.values()) == sorted(f"banana {i}" for i in range(500))


async def test_wait_accepts_a_task_created_elsewhere(emu: Emulator, client: NanoBanana) -> None:
    task = await client.create("made in another process")
    await client.close()
    async with NanoBanana(base_url=emu.url, session_token=client.session_token) as later:
        final: TaskStatus = await later.wait(task.task_id, timeout=10, poll=client.poll)
    assert final.state is TaskState.SUCCEED


async def test_on_update_hears_of_the_task_before_the_first_poll(emu: Emulator, client: NanoBanana) -> None:
    emu.configure(finish_after=0.3)
    first: list[tuple[str, int]] = []

    def record(status: TaskStatus) -> None:
        if not first:
            first.append((status.task_id, emu.count("status")))

    result = await client.generate(PROMPT, on_update=record)
    assert first == [(result.task_id, 0)]
