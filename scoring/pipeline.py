"""Score a pool against targets with each method: the pure methods run through the cache and runner.

>>> result = run_zipfit(["def f(): pass", "Bonjour"], ["def g(): return 1"], ZipfitParams(level=9))
>>> result.score.shape, result.nearest_target.tolist()
((2,), [0, 0])
>>> result = run_rds(["def f(): pass", "Bonjour"], ["def g(): return 1"], RdsParams(model="minilm"))
>>> result.rank.tolist()
[0, 1]
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np

from scoring import rds, zipfit, zipfit_fast
from scoring.cache import Cache, CacheTable
from scoring.compression import check_level, encoded_lengths
from scoring.errors import Cancelled, OptionError
from scoring.hashing import list_digest, params_digest, text_keys
from scoring.models import DEFAULT_MODEL, Device, ModelSpec, default_device, load_encoder, resolve_model
from scoring.native import size_functions
from scoring.progress import ProgressCounter, ProgressFn, default_workers
from scoring.ranking import ranks_descending
from scoring.rds import RdsResult
from scoring.runner import compute_cached
from scoring.spill import memory_budget, scratch_array, spill_folder

PAIRS_PER_CHUNK = 4096
"""About this many x⊕t compressions per chunk: ~0.1 s of work, so cancelling is quick."""


class EmbedFn(Protocol):
    """Computes embeddings like `embed_texts` (this machine) or `RayEngine.embed_texts` (a cluster)."""

    def __call__(
        self,
        texts: Sequence[str],
        params: RdsParams,
        *,
        cache: Cache | None = None,
        on_progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray: ...


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

    @property
    def rank(self) -> np.ndarray:
        """(N,) int64 selection order by score, 0 = chosen first; ties go to the lower index."""
        return ranks_descending(self.score)


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
    target_keys, pool_keys = text_keys(targets), text_keys(pool)
    size_table, align_table = zipfit_tables(cache, params, target_keys)
    counter = ProgressCounter(len(pool) * len(targets), on_progress)

    sizes, joint_sizes = size_functions(params.compressor, params.level)

    def size_chunk(texts: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
        return lambda idx: sizes([texts[i].encode() for i in idx])

    target_sizes = compute_cached(target_keys, size_chunk(targets), size_table, chunk_size=1024, workers=workers)
    target_bytes = [text.encode() for text in targets]
    values, aligned = align_table.get(pool_keys)  # read once: C(x) below is computed only where this missed
    pool_sizes = np.zeros(len(pool), dtype=np.int64)
    if not aligned.all():
        pending = np.flatnonzero(~aligned)
        pending_texts = [pool[i] for i in pending]
        pool_sizes[pending] = compute_cached(
            pool_keys[pending], size_chunk(pending_texts), size_table, chunk_size=256, workers=workers, cancel=cancel
        )

    lengths = np.array(encoded_lengths(pool), dtype=np.int64)

    def align_chunk(idx: np.ndarray) -> np.ndarray:
        joint = joint_sizes([pool[i].encode() for i in idx], target_bytes)
        score, nearest = zipfit.alignments_from_sizes(pool_sizes[idx], target_sizes, joint)
        return np.stack([score, nearest], axis=1)

    values = compute_cached(
        pool_keys,
        align_chunk,
        align_table,
        chunk_size=max(1, PAIRS_PER_CHUNK // len(targets)),
        workers=workers,
        order=-lengths,
        cost=lengths,  # bytes: a pair's work grows with them
        advance=lambda n: counter.advance(n * len(targets)),
        cancel=cancel,
        out=values,
        found=aligned,
    )
    return ZipfitResult(score=values[:, 0].copy(), nearest_target=values[:, 1].astype(np.int64))


def run_zipfit_fast(
    pool: Sequence[str],
    targets: Sequence[str],
    params: ZipfitParams = ZipfitParams(),
    *,
    cache: Cache | None = None,
    workers: int | None = None,
    cancel: threading.Event | None = None,
) -> ZipfitResult:
    """Approximate ZIP-FIT (scoring.zipfit_fast): 3.4-5% of the x⊕t pairs on the sample data, gzip only.

    C(x) and C(t) go through the same size cache as exact ZIP-FIT. The scores themselves are not cached: each
    one depends on the whole pool (calibration and focus rows), not on its own text alone.
    """
    if params.compressor != "gzip":
        raise OptionError("--zipfit-mode", f"fast works with gzip only, not {params.compressor}; use exact")
    if not targets:
        raise ValueError("ZIP-FIT needs at least one target text")
    cache = cache or Cache(None)
    workers = workers or default_workers()
    size_table = zipfit_size_table(cache, params)
    sizes, joint_sizes = size_functions(params.compressor, params.level)

    def sizes_of(texts: Sequence[str]) -> np.ndarray:
        chunk = lambda idx: sizes([texts[i].encode() for i in idx])  # noqa: E731
        return compute_cached(text_keys(texts), chunk, size_table, chunk_size=256, workers=workers, cancel=cancel)

    pool_bytes, target_bytes = [t.encode() for t in pool], [t.encode() for t in targets]

    def joint(xs: Sequence[bytes], ts: Sequence[bytes]) -> np.ndarray:
        if cancel is not None and cancel.is_set():
            raise Cancelled("cancelled")
        return joint_sizes(xs, ts)

    score, nearest = zipfit_fast.fast_alignments(
        pool_bytes,
        target_bytes,
        params.level,
        pool_sizes=sizes_of(pool),
        target_sizes=sizes_of(targets),
        joint_sizes=joint,
        workers=workers,
    )
    return ZipfitResult(score=score, nearest_target=nearest)


def zipfit_metadata(params: ZipfitParams, mode: str, *, estimated: bool = True) -> dict[str, Any]:
    """What the output metadata says about ZIP-FIT; fast mode says it is an approximation, and how, unless it
    computed every pair (`estimated` False: see `zipfit_fast.estimates`)."""
    meta: dict[str, Any] = {"compressor": params.compressor, "level": params.level, "mode": mode}
    if mode == "fast" and not estimated:
        meta["approximation"] = (
            "none: fast mode compressed every pair here (estimating would not have saved half of the work), "
            "so the scores and nearest targets are exact"
        )
    elif mode == "fast":
        meta["approximation"] = (
            "fast mode: scores and nearest targets are estimates (calibrated target sketch, scoring.zipfit_fast); "
            "against exact, on the sample target sets: top-10% overlap >= 0.92, Spearman >= 0.98; on 11 target "
            "sets cut from the sample pool: top-10% overlap 0.83-0.98, Spearman >= 0.95 (lowest where many "
            "candidates score alike): use exact mode for the final selection"
        )
        meta["fast_params"] = asdict(zipfit_fast.FastParams())
    return meta


def rds_metadata(params: RdsParams, spec: ModelSpec, device: Device, task_field: str | None) -> dict[str, Any]:
    """What the output metadata says about RDS+: the model's name, label and identity (which weights), the
    embedding settings, the device, the selection rule and the task field (None: one task)."""
    return {
        "model_name": params.model,
        "model_label": spec.label,
        **embedding_settings(spec, params, device.dtype),
        "device": device.name,
        "selection": params.selection,
        "task_field": task_field,
    }


# --- RDS+ -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RdsParams:
    """RDS+ parameters; the constructor refuses invalid ones (e.g. batch size 0). `model`: see `models`."""

    model: str = DEFAULT_MODEL
    max_length: int = 512
    batch_size: int = 8
    selection: str = "round-robin"

    def __post_init__(self) -> None:
        if self.max_length < 1:
            raise OptionError(
                "--max-length", f"{self.max_length} is not a positive number of tokens; use 1 or more (default 512)"
            )
        if self.batch_size < 1:
            raise OptionError(
                "--batch-size", f"{self.batch_size} is not a positive number of texts; use 1 or more (default 8)"
            )
        rds.check_selection(self.selection)


def run_rds(
    pool: Sequence[str],
    targets: Sequence[str],
    params: RdsParams = RdsParams(),
    *,
    task_ids: Sequence[Hashable] | None = None,
    cache: Cache | None = None,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    memory_budget_bytes: int | None = None,
    embed: EmbedFn | None = None,
) -> RdsResult:
    """RDS+ scores (N,), ranks (N,) and nearest targets (N,) of the pool against the targets.

    `task_ids` (M,) groups the targets into tasks for the round-robin (None: each target is its own task).
    Embeddings are cached per text, so a new target set, k or selection rule embeds only what is new; the
    model is not loaded when everything is cached. Progress is reported in texts embedded (targets + pool).
    A pool larger than memory is scored out of core: see `embedding_matrix` and `rds.select` for how
    `memory_budget_bytes` (default `spill.memory_budget()`) is spent and where scratch files go. `embed`
    computes the embeddings (default `embed_texts`, this machine; the Ray engine passes its own).
    """
    if not targets:
        raise ValueError("RDS+ needs at least one target text")
    if task_ids is not None and len(task_ids) != len(targets):
        raise ValueError(f"task_ids has {len(task_ids)} entries for {len(targets)} targets")
    cache = cache or Cache(None)
    budget = memory_budget(memory_budget_bytes)
    tasks = None if task_ids is None else rds.task_numbers(task_ids)
    texts = [*targets, *pool]
    with embedding_matrix(
        texts, params, cache=cache, on_progress=on_progress, cancel=cancel, memory_budget_bytes=budget, embed=embed
    ) as vectors:
        target_vectors = np.array(vectors[: len(targets)])
        return rds.select(
            vectors[len(targets) :],
            target_vectors,
            params.selection,
            tasks,
            memory_budget_bytes=budget,
            spill_dir=spill_folder(cache.root),
        )


@contextlib.contextmanager
def embedding_matrix(
    texts: Sequence[str],
    params: RdsParams = RdsParams(),
    *,
    cache: Cache | None = None,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    memory_budget_bytes: int | None = None,
    embed: EmbedFn | None = None,
) -> Iterator[np.ndarray]:
    """(N, d) float32 embeddings of `texts`: in RAM if they take at most half the memory budget, else on disk.

    On disk, they are assembled (from the cache, and as they are computed) into a scratch `.npy` memmap in
    `spill_folder(cache.root)` (`<cache>/v1/tmp/`, or `$TMPDIR` without a cache), deleted when the block ends;
    memory stays O(N) for the keys. `embed` computes them (default `embed_texts`).
    Example: `with embedding_matrix(texts, params) as vectors: vectors[:10]`.
    """
    cache, embed = cache or Cache(None), embed or embed_texts
    dim = model_spec(params, cache).dim
    if 4 * len(texts) * dim <= memory_budget(memory_budget_bytes) // 2:
        yield embed(texts, params, cache=cache, on_progress=on_progress, cancel=cancel)
        return
    with scratch_array((len(texts), dim), np.float32, spill_folder(cache.root)) as out:
        yield embed(texts, params, cache=cache, on_progress=on_progress, cancel=cancel, out=out)


def embed_texts(
    texts: Sequence[str],
    params: RdsParams = RdsParams(),
    *,
    cache: Cache | None = None,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """(N, d) float32 RDS+ embeddings (unit rows; zero for empty texts), through the cache.

    Cached per (model identity, pooling, max length, precision, text sha256); when every text is cached the
    model is not loaded. The texts to embed are sorted by token count and cut into batches of `batch_size`, so a
    batch wastes little on padding; the longest batch runs first, so memory peaks at once, then batches of
    every length mixed, so the ETA holds from the start.
    `out` (N, d), zero-filled (e.g. `spill.scratch_array`), receives the embeddings and is returned.
    """
    cache = cache or Cache(None)
    spec = model_spec(params, cache)
    device = default_device()
    table = embedding_table(cache, spec, params, device)
    counter = ProgressCounter(len(texts), on_progress)
    keys = text_keys(texts)
    values, found = table.get(keys, out=out)
    if found.all():
        counter.advance(len(texts))
        return values

    from scoring.embedding import embed, token_counts  # torch: imported for RDS+ only, never for ZIP-FIT

    encoder = load_encoder(spec, cache, device)
    if encoder.dim != spec.dim:
        raise OptionError("--model", f"{spec.name} gives {encoder.dim}-dimensional states, not {spec.dim}")
    tokens = np.zeros(len(texts), dtype=np.int64)
    missing = np.flatnonzero(~found)
    tokens[missing] = token_counts(encoder, [texts[i] for i in missing], params.max_length)

    def embed_chunk(idx: np.ndarray) -> np.ndarray:
        return embed(encoder, [texts[i] for i in idx], params.max_length, params.batch_size, cancel)

    return compute_cached(
        keys,
        embed_chunk,
        table,
        chunk_size=params.batch_size,
        order=-tokens,
        cost=tokens,
        advance=counter.advance,
        cancel=cancel,
        out=values,
        found=found,
    )


def cached_embeddings(
    texts: Sequence[str], params: RdsParams = RdsParams(), *, cache: Cache | None = None
) -> np.ndarray | None:
    """(N, d) float32 embeddings of `texts` as `embed_texts` gives them if the cache holds every one, else None.

    Never loads the model: a quick look for views that must not wait, e.g. `cached_embeddings(["hi"], params)`
    is None without a cache.
    """
    cache = cache or Cache(None)
    values, found = embedding_table(cache, model_spec(params, cache), params, default_device()).get(text_keys(texts))
    return values if found.all() else None


def model_spec(params: RdsParams, cache: Cache | None = None) -> ModelSpec:
    """The spec of `params.model`, or OptionError if it is unknown or reads fewer tokens than max_length."""
    spec = resolve_model(params.model, cache)
    if spec.max_tokens is not None and params.max_length > spec.max_tokens:
        raise OptionError(
            "--max-length", f"{params.max_length} is more than {spec.name} reads; use at most {spec.max_tokens}"
        )
    return spec


def embedding_id(params: RdsParams, cache: Cache | None = None) -> str:
    """A short hex id of the embedding space of `params` (model identity, pooling, max length, precision)."""
    spec = model_spec(params, cache)
    return params_digest(embedding_settings(spec, params, default_device().dtype))[:24]


def zipfit_tables(cache: Cache, params: ZipfitParams, target_keys: np.ndarray) -> tuple[CacheTable, CacheTable]:
    """ZIP-FIT's cache tables (both engines'): C(s) (int64) per (compressor, level); alignments (score, nearest
    target: (2,) float64) per target set too, `target_keys` (M,) naming it."""
    targets = {**asdict(params), "targets": list_digest(target_keys)}
    return zipfit_size_table(cache, params), cache.table("zipfit-alignment", targets, np.float64, (2,))


def zipfit_size_table(cache: Cache, params: ZipfitParams) -> CacheTable:
    """The cache table of C(s), int64 per text, for the compressor and level (exact and fast mode share it)."""
    return cache.table("zipfit-size", asdict(params), np.int64)


def embedding_table(cache: Cache, spec: ModelSpec, params: RdsParams, device: Device) -> CacheTable:
    """RDS+'s cache table (both engines'): (d,) float32 embeddings per text, for the model and settings."""
    return cache.table("rds-embedding", embedding_settings(spec, params, device.dtype), np.float32, (spec.dim,))


def embedding_settings(spec: ModelSpec, params: RdsParams, dtype: str) -> dict[str, Any]:
    """What an embedding depends on besides its text: the cache key and the output metadata."""
    from scoring.embedding import POOLING

    return {"model": dict(spec.identity), "pooling": POOLING, "max_length": params.max_length, "dtype": dtype}
