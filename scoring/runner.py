"""Compute per-text values in chunks, on threads, through the cache, with progress and cancellation.

Every chunk's values are stored in the cache as the work goes on, at most every `$SCORING_CHECKPOINT_SECONDS`
(default 5), and whatever finished is stored when the work is cancelled or fails, so a rerun resumes where the
last one stopped.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

import numpy as np

from scoring.cache import CacheTable
from scoring.errors import Cancelled, OptionError
from scoring.spill import release

CHECKPOINT_ENV = "SCORING_CHECKPOINT_SECONDS"
FLUSH_BYTES = 4 << 20
"""Finished values are written to the cache once this many bytes wait, so the buffer stays small."""
COPY_BYTES = 16 << 20
"""Values of duplicate texts are copied this many bytes at a time."""

GOLDEN_RATIO = (1 + 5**0.5) / 2

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
    cost: np.ndarray | None = None,
    advance: Callable[[int], None] | None = None,
    cancel: threading.Event | None = None,
    flush_seconds: float | None = None,
    out: np.ndarray | None = None,
    found: np.ndarray | None = None,
) -> np.ndarray:
    """Values for all `keys` (N,): cached ones read, the rest computed once per distinct key.

    `order` (N,) sorts the texts before they are cut into chunks (e.g. by length, so a batch pads little);
    with `cost` (N,) (e.g. length), the chunks then run in `mixed_order` of their cost, so the rate and ETA are
    steady from the start and memory peaks at once (else: in `order`). `advance(n)` reports n more texts done
    (first, at once, the cached ones, even none); `cancel` stops the work between chunks with `Cancelled`.
    `out` (N, ...) receives the values (e.g. a disk-backed scratch array; memory then stays O(N) for the keys);
    with `found` (N,) bool, `out` already holds the cached values where found and the cache is not read again.
    """
    if found is None:
        values, found = table.get(keys, out=out)
    elif out is None:
        raise ValueError("`found` describes what `out` holds: give both")
    else:
        values = out
    missing = np.flatnonzero(~found)
    if advance is not None:  # at the start, even 0: a rate of work counts from here, cached work excluded
        advance(len(keys) - len(missing))
    if len(missing) == 0:
        return values
    _, first, inverse, counts = np.unique(keys[missing], return_index=True, return_inverse=True, return_counts=True)
    todo = missing[first]  # one index per distinct missing key
    weight = counts  # how many texts share each todo key
    chunks = mixed_chunks(todo if order is None else order[todo], chunk_size, None if cost is None else cost[todo])

    with Checkpoints(table, flush_seconds) as store:
        for chunk, chunk_values in _map_chunks(chunks, lambda c: compute(todo[c]), workers, cancel):
            values[todo[chunk]] = chunk_values
            if store.add(keys[todo[chunk]], chunk_values):
                release(values)
            if advance is not None:
                advance(int(weight[chunk].sum()))
    _copy_rows(values, missing, todo[inverse])
    return values


def mixed_chunks(order: np.ndarray, size: int, cost: np.ndarray | None = None) -> list[np.ndarray]:
    """Positions 0..n-1 sorted by `order` (n,) and cut into chunks of `size`; with `cost` (n,), the chunks are
    listed in `mixed_order` of their summed cost (else in `order`).

    >>> [chunk.tolist() for chunk in mixed_chunks(np.array([-5, -1, -9, -3]), 2, np.array([5, 1, 9, 3]))]
    [[2, 0], [3, 1]]
    """
    sequence = np.argsort(order, kind="stable")
    chunks = [sequence[i : i + size] for i in range(0, len(sequence), size)]
    if cost is None:
        return chunks
    chunk_costs = np.array([cost[chunk].sum() for chunk in chunks], dtype=np.float64)
    return [chunks[i] for i in np.argsort(mixed_order(chunk_costs), kind="stable")]


def mixed_order(cost: np.ndarray, tail: float = 0.1) -> np.ndarray:
    """Sort keys (N,) float64 for items of these costs: the costliest first, then items of every cost evenly
    mixed, and last the cheapest `tail` share (the costliest of them first).

    Every stretch of the work then costs about the average, so the rate, and the ETA drawn from it, is right
    from the start (longest first made an early ETA about twice too long); the cheap tail lets the threads
    end together. The mix spreads the cost ranks by the golden ratio: deterministic, no randomness.

    >>> cost = np.array([10, 90, 50, 30, 70, 20, 80, 40, 60, 5])
    >>> cost[np.argsort(mixed_order(cost))].tolist()
    [90, 40, 70, 20, 50, 80, 30, 60, 10, 5]
    """
    n = len(cost)
    rank = np.empty(n, dtype=np.int64)
    rank[np.argsort(-np.asarray(cost), kind="stable")] = np.arange(n)  # 0 = costliest
    mixed = n - int(tail * n)
    return np.where(rank < mixed, (rank * GOLDEN_RATIO) % 1.0, 1.0 + rank)


def checkpoint_seconds() -> float:
    """Seconds between cache writes while work goes on: `$SCORING_CHECKPOINT_SECONDS` (e.g. 0.5), else 5."""
    setting = os.environ.get(CHECKPOINT_ENV, "").strip()
    if not setting:
        return 5.0
    try:
        seconds = float(setting)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds < math.inf:
        raise OptionError(CHECKPOINT_ENV, f"{setting!r} is not a number of seconds such as 5 or 0.5; fix or unset it")
    return seconds


def _copy_rows(values: np.ndarray, to: np.ndarray, source: np.ndarray) -> None:
    """values[to] = values[source] where they differ (duplicate texts), COPY_BYTES at a time."""
    differ = to != source
    to, source = to[differ], source[differ]
    rows = max(1, COPY_BYTES // max(1, values[:1].nbytes))
    for start in range(0, len(to), rows):
        values[to[start : start + rows]] = values[source[start : start + rows]]
    release(values)


def _map_chunks(
    chunks: list[np.ndarray], fn: ChunkFn, workers: int, cancel: threading.Event | None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(chunk, fn(chunk)) for every chunk: in order on one worker; on `workers` threads as they finish, with at
    most 2×workers in flight (taking them in order made a free thread wait for a slower, older chunk: ~3% of
    exact ZIP-FIT's time on 2 cores)."""
    if workers <= 1:
        for chunk in chunks:
            check_cancel(cancel)
            yield chunk, fn(chunk)
        return
    pool = ThreadPoolExecutor(workers, thread_name_prefix="scoring")
    pending: dict[Future[np.ndarray], np.ndarray] = {}
    upcoming = iter(chunks)
    try:
        while True:
            while len(pending) < 2 * workers and (chunk := next(upcoming, None)) is not None:
                pending[pool.submit(fn, chunk)] = chunk
            if not pending:
                return
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                yield pending.pop(future), future.result()
            check_cancel(cancel)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def check_cancel(cancel: threading.Event | None) -> None:
    """Raise `Cancelled` if `cancel` is set."""
    if cancel is not None and cancel.is_set():
        raise Cancelled()


class Checkpoints:
    """Buffers finished values and writes them to the cache every `seconds` (default `checkpoint_seconds()`), or
    sooner past FLUSH_BYTES. In a `with` block, what is buffered is written at the end, also on error or cancel.

    Example: `with Checkpoints(table) as stored: stored.add(keys, values)`.
    """

    def __init__(self, table: CacheTable, seconds: float | None = None) -> None:
        self.table = table
        self.seconds = checkpoint_seconds() if seconds is None else seconds
        self.keys: list[np.ndarray] = []
        self.values: list[np.ndarray] = []
        self.bytes = 0
        self.last = time.monotonic()

    def __enter__(self) -> Checkpoints:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    def add(self, keys: np.ndarray, values: np.ndarray) -> bool:
        """Buffer values; True if they were all written now."""
        self.keys.append(keys)
        self.values.append(values)
        self.bytes += values.nbytes
        if self.bytes >= FLUSH_BYTES or time.monotonic() - self.last >= self.seconds:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        if self.keys:
            self.table.put(np.concatenate(self.keys), np.concatenate(self.values))
            self.keys, self.values, self.bytes = [], [], 0
        self.last = time.monotonic()
