"""The learned wait against the emulator: it learns run times, spends fewer calls, and remembers when asked."""

from __future__ import annotations

import asyncio
from pathlib import Path

from nanobanana import NanoBanana, PollPolicy
from nanobanana._timing import kind_of
from nanobanana._timings_file import load, path_beside
from nanobanana.emulator import Durations, Emulator

PROMPT = "a banana in space"


async def _generate_all(client: NanoBanana, n: int) -> None:
    await asyncio.gather(*(client.generate(f"{PROMPT} #{i}") for i in range(n)))


async def test_a_warm_client_makes_fewer_status_calls_than_the_fixed_default(tmp_path: Path) -> None:
    async with Emulator(finish_after=Durations.normal(3.5, 0.05), seed=3) as emu:
        token = emu.issue_token()
        session_file = tmp_path / "session.json"
        async with NanoBanana(base_url=emu.url, session_token=token, session_file=session_file) as learned:
            await _generate_all(learned, 8)  # what it learns from
            before = emu.count("status")
            await _generate_all(learned, 6)
            learned_calls = emu.count("status") - before
        async with NanoBanana(
            base_url=emu.url, session_token=token, session_file=session_file, poll=PollPolicy()
        ) as fixed:
            before = emu.count("status")
            await _generate_all(fixed, 6)
            fixed_calls = emu.count("status") - before
    assert learned_calls < fixed_calls


async def test_a_wait_on_a_task_of_unknown_age_looks_at_once_and_learns_nothing(tmp_path: Path) -> None:
    async with (
        Emulator(finish_after=0.0, seed=3) as emu,
        NanoBanana(
            base_url=emu.url, session_token=emu.issue_token(), session_file=tmp_path / "s.json", remember_timings=True
        ) as client,
    ):
        task = await client.create(PROMPT)
        await client.wait(task.task_id)
        assert emu.count("status") == 1
    assert not path_beside(tmp_path / "s.json").exists()


async def test_a_client_remembering_timings_saves_what_its_waits_saw(tmp_path: Path) -> None:
    session_file = tmp_path / "session.json"
    async with Emulator(finish_after=0.2, seed=3) as emu:
        token, url = emu.issue_token(), emu.url
        for _ in range(2):
            async with NanoBanana(
                base_url=emu.url, session_token=token, session_file=session_file, remember_timings=True
            ) as client:
                await client.generate(PROMPT, image_urls=emu.sample_urls[:2], resolution="2K")
    spans = load(path_beside(session_file), url)[kind_of("2K", 2)]
    assert len(spans) == 2
    assert all(low == high and 0.15 <= low <= 0.25 for low, high in spans)
