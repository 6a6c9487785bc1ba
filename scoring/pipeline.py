"""Score a pool against targets with each method: the pure methods run through the cache and runner.

>>> result = run_zipfit(["def f(): pass", "Bonjour"], ["def g(): return 1"], ZipfitParams(level=9))
>>> result.score.shape, result.nearest_target.tolist()
((2,), [0, 0])
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from scoring import zipfit
from scoring.cache import Cache
from scoring.compression import Sizer, check_level, sizer
from scoring.hashing import list_digest, text_keys
from scoring.progress import ProgressCounter, ProgressFn, default_workers
from scoring.runner import compute_cached

PAIRS_PER_CHUNK = 4096
"""About this many x⊕t compressions per chunk: ~0.1 s of work, so cancelling is quick."""


@dataclass(frozen=True)
class ZipfitParams:
    """ZIP-FIT parameters; the constructor refuses invalid ones (e.g. gzip level 0)."""

    compressor: str = "gzip"
    level: int = 9

    def __post_init__(self) -> None:
        check_level(self.compressor, self.level)


@dataclass(frozen=True)
class ZipfitResult:
    """score (N,) float64 alignment in [0, 1]-ish (higher = closer); nearest_target (N,) int64."""

    score: np.ndarray
    nearest_target: np.ndarray


def run_zipfit(
    pool: Sequence[str],
    targets: Sequence[str],
    params: ZipfitParams = ZipfitParams(),
    *,
    cache: Cache | None = None,
    workers: int | None = None,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> ZipfitResult:
    """Exact ZIP-FIT alignment of every pool text to the targets, on `workers` threads (default: all cores).

    Memory is O(N + M): pool texts are encoded chunk by chunk and no N×M array is built. C(x) is computed
    once per distinct text and cached per (compressor, level); alignments are cached per target set.
    Progress is reported in x⊕t pairs.
    """
    if not targets:
        raise ValueError("ZIP-FIT needs at least one target text")
    cache = cache or Cache(None)
    workers = workers or default_workers()
    thread_sizer = _per_thread_sizer(params)
    settings = asdict(params)
    size_table = cache.table("zipfit-size", settings, np.int64)
    target_keys, pool_keys = text_keys(targets), text_keys(pool)
    align_table = cache.table("zipfit-alignment", {**settings, "targets": list_digest(target_keys)}, np.float64, (2,))
    counter = ProgressCounter(len(pool) * len(targets), on_progress)

    def size_chunk(texts: Sequence[str]):
        return lambda idx: zipfit.sizes([texts[i].encode() for i in idx], thread_sizer())

    target_sizes = compute_cached(target_keys, size_chunk(targets), size_table, chunk_size=1024, workers=workers)
    target_bytes = [text.encode() for text in targets]
    _, aligned = align_table.get(pool_keys)
    pool_sizes = np.zeros(len(pool), dtype=np.int64)
    if not aligned.all():
        pending = np.flatnonzero(~aligned)
        pending_texts = [pool[i] for i in pending]
        pool_sizes[pending] = compute_cached(
            pool_keys[pending], size_chunk(pending_texts), size_table, chunk_size=1024, workers=workers, cancel=cancel
        )

    def align_chunk(idx: np.ndarray) -> np.ndarray:
        xs = [pool[i].encode() for i in idx]
        score, nearest = zipfit.alignments(xs, pool_sizes[idx], target_bytes, target_sizes, thread_sizer())
        return np.stack([score, nearest], axis=1)

    values = compute_cached(
        pool_keys,
        align_chunk,
        align_table,
        chunk_size=max(1, PAIRS_PER_CHUNK // len(targets)),
        workers=workers,
        advance=lambda n: counter.advance(n * len(targets)),
        cancel=cancel,
    )
    return ZipfitResult(score=values[:, 0].copy(), nearest_target=values[:, 1].astype(np.int64))


def _per_thread_sizer(params: ZipfitParams):
    """A function returning this thread's own sizer (zstd contexts must not be shared across threads)."""
    local = threading.local()

    def get() -> Sizer:
        if not hasattr(local, "sizer"):
            local.sizer = sizer(params.compressor, params.level)
        return local.sizer

    return get
