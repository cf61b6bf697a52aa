"""A private event loop on a background thread, and blocking calls into it from any other thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ._exceptions import ClientClosedError, InvalidInputError

T = TypeVar("T")

# Windows cannot interrupt a lock wait with Ctrl-C, so there a blocked call wakes up now and then to let it in.
_WAKE_EVERY = 0.25 if os.name == "nt" else None


class LoopThread:
    """An event loop running for ever on its own daemon thread, until `stop`.

    Daemon, so that a client never closed cannot keep the program from exiting; the owner closes it at exit.
    Safe to use from any number of threads at once.
    """

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        self._lock = threading.Lock()
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
                # Threads of asyncio.to_thread (file work) are joined here, so none outlives the client.
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    @property
    def on_loop_thread(self) -> bool:
        """Whether the caller runs on the loop's own thread (in a callback), where blocking would hang."""
        return threading.get_ident() == self._thread.ident

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and block until it is done; return its result or raise its error.

        If the wait is interrupted (Ctrl-C raises KeyboardInterrupt here), the coroutine is cancelled and the
        interruption goes on at once, without waiting for the cancellation to finish.

        Raises:
            ClientClosedError: `stop` was called before or while the coroutine ran.
            InvalidInputError: Called from the loop's own thread.
        """
        future = self._submit(coro)
        try:
            while not concurrent.futures.wait((future,), timeout=_WAKE_EVERY).done:
                pass
            return future.result()
        except concurrent.futures.CancelledError:
            raise ClientClosedError("the client was closed while this call was running") from None
        except BaseException:
            future.cancel()
            raise

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        if self.on_loop_thread:
            coro.close()
            raise InvalidInputError(
                "a blocking client was called from one of its own callbacks (on_update, on_progress), which run on "
                "the client's thread and would wait for ever; act on the value the callback receives, or hand the "
                "work to another thread"
            )
        # The lock orders submissions before `stop`: whatever is submitted is cancelled by it, never lost.
        with self._lock:
            if self._stopping:
                coro.close()
                raise ClientClosedError("the client is closed; make a new one")
            return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def stop(self, last: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Cancel everything running, await ``last()``, then stop the loop and join its thread. Idempotent.

        From the loop's own thread (the owner collected by the garbage collector there) the same happens
        without waiting for it.
        """
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        if self.on_loop_thread:
            self._loop.create_task(self._finish(last)).add_done_callback(lambda _: self._loop.stop())
            return
        try:
            asyncio.run_coroutine_threadsafe(self._finish(last), self._loop).result()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()

    @staticmethod
    async def _finish(last: Callable[[], Coroutine[Any, Any, None]]) -> None:
        current = asyncio.current_task()
        running = [task for task in asyncio.all_tasks() if task is not current]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        await last()
