"""Compute per-text values in chunks, on threads, through the cache, with progress and cancellation.

Every chunk's values are stored in the cache as the work goes on, at most every `$SCORING_CHECKPOINT_SECONDS`
(default 5), and whatever finished is stored when the work is cancelled or fails, so a rerun resumes where the
last one stopped.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from scoring.cache import CacheTable
from scoring.errors import Cancelled

CHECKPOINT_ENV = "SCORING_CHECKPOINT_SECONDS"

ChunkFn = Callable[[np.ndarray], np.ndarray]
"""Values for the texts at some indices: (n,) int64 -> (n, ...) array."""


def compute_cached(
    keys: np.ndarray,
    compute: ChunkFn,
    table: CacheTable,
    *,
    chunk_size: int,
    workers: int = 1,
    order: np.ndarray | None = None,
    advance: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    flush_seconds: float | None = None,
) -> np.ndarray:
    """Values for all `keys` (N,): cached ones read, the rest computed once per distinct key.

    `order` (N,) sorts the work (e.g. by text length); `advance(n)` reports n more texts done; `cancel`
    stops the work between chunks with `Cancelled`.
    """
    values, found = table.get(keys)
    missing = np.flatnonzero(~found)
    if advance is not None and len(keys) > len(missing):
        advance(len(keys) - len(missing))
    if len(missing) == 0:
        return values
    _, first, inverse, counts = np.unique(keys[missing], return_index=True, return_inverse=True, return_counts=True)
    todo = missing[first]  # one index per distinct missing key
    weight = counts  # how many texts share each todo key
    sequence = np.argsort(order[todo], kind="stable") if order is not None else np.argsort(todo)
    chunks = [sequence[i : i + chunk_size] for i in range(0, len(sequence), chunk_size)]

    store = _Store(table, float(os.environ.get(CHECKPOINT_ENV, 5)) if flush_seconds is None else flush_seconds)
    try:
        for chunk, chunk_values in _map_chunks(chunks, lambda c: compute(todo[c]), workers, cancel):
            values[todo[chunk]] = chunk_values
            store.add(keys[todo[chunk]], chunk_values)
            if advance is not None:
                advance(int(weight[chunk].sum()))
    finally:
        store.flush()
    values[missing] = values[todo[inverse]]
    return values


def _map_chunks(
    chunks: list[np.ndarray], fn: ChunkFn, workers: int, cancel: threading.Event | None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(chunk, fn(chunk)) in order; on `workers` threads when more than one, at most 2×workers in flight."""
    if workers <= 1:
        for chunk in chunks:
            _check(cancel)
            yield chunk, fn(chunk)
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix="scoring")
    pending: deque[tuple[np.ndarray, Future[np.ndarray]]] = deque()
    upcoming = iter(chunks)
    try:
        while True:
            while len(pending) < 2 * workers and (chunk := next(upcoming, None)) is not None:
                pending.append((chunk, pool.submit(fn, chunk)))
            if not pending:
                return
            chunk, future = pending.popleft()
            yield chunk, future.result()
            _check(cancel)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("cancelled; the work finished so far is saved in the cache")


class _Store:
    """Buffers finished values and writes them to the cache at most every `seconds`."""

    def __init__(self, table: CacheTable, seconds: float) -> None:
        self.table = table
        self.seconds = seconds
        self.keys: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.last = time.monotonic()

    def add(self, keys: np.ndarray, values: np.ndarray) -> None:
        self.keys.append(keys)
        self.values.append(values)
        if time.monotonic() - self.last >= self.seconds:
            self.flush()

    def flush(self) -> None:
        if self.keys:
            self.table.put(np.concatenate(self.keys), np.concatenate(self.values))
            self.keys, self.values = [], []
        self.last = time.monotonic()
