"""Progress reporting and the worker count shared by every long computation."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

ProgressFn = Callable[[int, int], None]
"""Called as `fn(done, total)` while work advances, from whichever thread did the work. The first call comes
at the start and says what was already done (e.g. found in the cache: not this run's speed), even 0."""


class ProgressCounter:
    """Adds up work done by several threads and reports `(done, total)` to `fn` (if any).

    Example: `c = ProgressCounter(10, print); c.advance(3)` prints `3 10`.
    """

    def __init__(self, total: int, fn: ProgressFn | None = None) -> None:
        self.total = total
        self.done = 0
        self._fn = fn
        self._lock = threading.Lock()

    def advance(self, amount: int) -> None:
        with self._lock:
            self.done += amount
            done = self.done
        if self._fn is not None:
            self._fn(done, self.total)


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1
