"""A private event loop on a background thread, and blocking calls into it from any other thread."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ._exceptions import ClientClosedError, InvalidInputError

T = TypeVar("T")

# A blocked call wakes up this often to let a pending Ctrl-C in: one that lands on another thread, or just before
# the wait begins, is otherwise only acted on when the wait ends (and Windows cannot interrupt a lock wait at all).
_WAKE_EVERY = 0.1


class LoopThread:
    """An event loop running for ever on its own daemon thread, until `stop`.

    Daemon, so that a client never closed cannot keep the program from exiting; the owner closes it at exit.
    Safe to use from any number of threads at once.
    """

    def __init__(self, name: str) -> None:
        self._loop = asyncio.new_event_loop()
        # Named like the loop's thread, so every thread the client starts can be told apart (and checked for).
        self._loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(thread_name_prefix=name))
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
        # The future exists before anything is scheduled: an interruption at any point after this line can
        # cancel it, and the coroutine with it, even one arriving while the coroutine is being handed over.
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        try:
            self._submit(coro, future)
            while not concurrent.futures.wait((future,), timeout=_WAKE_EVERY).done:
                pass
            return future.result()
        except concurrent.futures.CancelledError:
            raise ClientClosedError("the client was closed while this call was running") from None
        except BaseException:
            future.cancel()
            raise

    def _submit(self, coro: Coroutine[Any, Any, T], future: concurrent.futures.Future[T]) -> None:
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
            self._loop.call_soon_threadsafe(self._start, coro, future)

    def _start(self, coro: Coroutine[Any, Any, T], future: concurrent.futures.Future[T]) -> None:
        """On the loop: run the coroutine as a task tied to ``future`` both ways, unless it was cancelled already."""
        if future.cancelled():
            coro.close()
            return
        task = self._loop.create_task(coro)
        task.add_done_callback(functools.partial(_settle, future))
        future.add_done_callback(functools.partial(_cancel_on_cancel, self._loop, task))

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


def _cancel_on_cancel(
    loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any], future: concurrent.futures.Future[Any]
) -> None:
    """Called in the interrupted thread: cancel the task on its loop when the waiting thread gave up."""
    if future.cancelled():
        loop.call_soon_threadsafe(task.cancel)


def _settle(future: concurrent.futures.Future[T], task: asyncio.Task[T]) -> None:
    """Pass a finished task's outcome to the waiting thread's future (whose cancellation wins a race)."""
    if task.cancelled():
        future.cancel()
        future.set_running_or_notify_cancel()  # wakes a thread in concurrent.futures.wait, which cancel() does not
        return
    error = task.exception()  # read even when no one waits any more, so it is not reported as never retrieved
    if not future.set_running_or_notify_cancel():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(task.result())
