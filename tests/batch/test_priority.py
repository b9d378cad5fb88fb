"""Batch work runs at a lower CPU priority than the web app on the same machine."""

from __future__ import annotations

import os
import threading

from gridmap.batch.runner import _lower_priority


def _niceness_after(nice: int, start: int = 0) -> int:
    seen: list[int] = []

    def work() -> None:
        _lower_priority(start)
        _lower_priority(nice)
        seen.append(os.getpriority(os.PRIO_PROCESS, 0))

    t = threading.Thread(target=work)
    t.start()
    t.join()
    return seen[0]


def test_task_threads_are_niced_and_never_raised_in_priority() -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert _niceness_after(10) == max(10, base)
    assert _niceness_after(5, start=12) == max(12, base)  # never lowered again
    assert os.getpriority(os.PRIO_PROCESS, 0) == base  # only the task's thread
