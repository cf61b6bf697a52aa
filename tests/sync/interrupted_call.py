"""Run by test_sync_interrupt in a child process: a blocking wait or generate, until SIGINT interrupts it.

Usage: ``interrupted_call.py API_URL TOKEN IMAGE_URL wait|generate``. Prints ``waiting <task id>`` once the task
exists and the call is polling, then, after Ctrl-C, ``interrupted``, the state of the task read with the same
client (which stays usable), and ``closed``.
"""

from __future__ import annotations

import logging
import sys

from nanobanana import PollPolicy, SyncNanoBanana, TaskStatus


def main(url: str, token: str, image_url: str, mode: str) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    client = SyncNanoBanana(base_url=url, session_token=token, poll=PollPolicy(initial=0.05, maximum=0.2))

    seen: list[str] = []

    def announce(status: TaskStatus) -> None:
        if not seen:
            seen.append(status.task_id)
            print("waiting", status.task_id, flush=True)

    try:
        if mode == "wait":
            task = client.create("a long one", image_urls=[image_url])
            client.wait(task.task_id, timeout=3600, on_update=announce)
        else:
            client.generate("a long one", image_urls=[image_url], timeout=3600, on_update=announce)
    except KeyboardInterrupt as interruption:
        print("interrupted", *getattr(interruption, "__notes__", []), flush=True)
    print("state", client.status(seen[0]).state_word, flush=True)
    client.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
