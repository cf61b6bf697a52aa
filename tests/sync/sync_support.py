"""Test helpers for the blocking client: a fast poll, and a loopback TCP relay that counts its connections."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from nanobanana import PollPolicy

FAST_POLL = PollPolicy(initial=0.01, multiplier=1.5, maximum=0.05, jitter=0.2)


@dataclass
class Relay:
    """Counts of the connections a relay carried; ``url`` is where clients connect instead of the target."""

    url: str = ""
    opened: int = 0
    open_now: int = 0
    most_open: int = 0

    def connected(self) -> None:
        self.opened += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@contextlib.contextmanager
def counting_relay(target_host: str, target_port: int) -> Iterator[Relay]:
    """Relay TCP from a loopback port to the target, counting connections, on its own thread's loop."""
    relay = Relay()
    loop = asyncio.new_event_loop()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        relay.connected()
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(target_host, target_port)
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            relay.open_now -= 1

    server = loop.run_until_complete(asyncio.start_server(serve, "127.0.0.1", 0))
    relay.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    thread = threading.Thread(target=loop.run_forever, name="relay", daemon=True)
    thread.start()
    try:
        yield relay
    finally:

        async def stop() -> None:
            server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()
