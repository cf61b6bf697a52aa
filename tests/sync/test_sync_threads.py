"""The blocking client from other threads and from inside running event loops, and shared by many threads."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from sync_support import FAST_POLL, counting_relay

from nanobanana import GenerationResult, NanoBanana, SyncNanoBanana
from nanobanana.emulator import Emulator


def test_works_from_a_thread_while_another_thread_runs_a_loop(
    nanobanana_emulator: Emulator, client: SyncNanoBanana
) -> None:
    urls = nanobanana_emulator.sample_urls[:1]

    async def async_side() -> GenerationResult:
        async with NanoBanana(
            base_url=nanobanana_emulator.url, session_token=nanobanana_emulator.issue_token(), poll=FAST_POLL
        ) as async_client:
            return await async_client.generate("async side", image_urls=urls)

    with ThreadPoolExecutor(max_workers=1) as other_thread:
        async_result = other_thread.submit(asyncio.run, async_side())
        blocking_result = client.generate("blocking side", image_urls=urls)
        assert async_result.result().task_id != blocking_result.task_id
    assert blocking_result.content is not None


async def test_works_inside_a_running_loops_thread(nanobanana_emulator: Emulator, client: SyncNanoBanana) -> None:
    asyncio.get_running_loop()  # this test body runs on pytest-asyncio's loop
    result = client.generate("from async code", image_urls=nanobanana_emulator.sample_urls[:1])
    assert result.content is not None


async def test_works_from_a_worker_thread_of_a_running_loop(
    nanobanana_emulator: Emulator, client: SyncNanoBanana
) -> None:
    # How async frameworks run sync views: on a worker thread, while their loop keeps serving.
    result = await asyncio.to_thread(client.generate, "from a worker", image_urls=nanobanana_emulator.sample_urls[:1])
    assert result.content is not None


def test_fifty_threads_generate_at_once_over_one_pool_and_its_limit(nanobanana_emulator: Emulator) -> None:
    api = urlsplit(nanobanana_emulator.url)
    assert api.hostname is not None
    assert api.port is not None
    start = threading.Barrier(50)

    def one(client: SyncNanoBanana, n: int) -> str:
        start.wait()
        return client.generate(f"picture {n}", image_urls=nanobanana_emulator.sample_urls[:1]).task_id

    with counting_relay(api.hostname, api.port) as relay:
        token = nanobanana_emulator.issue_token()
        client = SyncNanoBanana(base_url=relay.url, session_token=token, poll=FAST_POLL, max_concurrency=4)
        with client, ThreadPoolExecutor(max_workers=50) as threads:
            task_ids = list(threads.map(one, [client] * 50, range(50)))
    assert len(set(task_ids)) == 50
    assert nanobanana_emulator.created_count == 50
    assert relay.most_open <= 4  # the client's max_concurrency, shared by every thread
