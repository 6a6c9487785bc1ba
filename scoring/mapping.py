"""2-D maps of embeddings with UMAP, bounded in time for large pools and cached by content.

Vectors are reduced with PCA first; UMAP is fitted on at most `fit_sample` points and the rest are placed
with `transform` in batches (with progress and cancellation), so 100k points take minutes, not hours.

>>> xy = umap_2d(np.random.default_rng(0).normal(size=(300, 64)))
>>> xy.shape
(300, 2)
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import asdict, dataclass

import numpy as np

from scoring.cache import Cache
from scoring.errors import Cancelled
from scoring.hashing import list_digest, text_keys
from scoring.progress import ProgressFn


@dataclass(frozen=True)
class MapParams:
    """UMAP settings; `seed` makes the map reproducible."""

    n_neighbors: int = 15
    min_dist: float = 0.1
    pca_dims: int = 50
    fit_sample: int = 20_000
    transform_batch: int = 10_000
    seed: int = 42


def umap_2d(
    vectors: np.ndarray,
    params: MapParams = MapParams(),
    *,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """(N, 2) float32 coordinates of (N, d) vectors. Fewer than 4 points are laid out by PCA alone."""
    n = len(vectors)
    reduced = _pca(np.asarray(vectors, dtype=np.float32), params.pca_dims, params.seed)
    if n < 4:
        return _pad_columns(reduced[:, :2], 2)
    import umap  # slow to import (numba): only when a map is really made

    rng = np.random.default_rng(params.seed)
    fit_rows = np.sort(rng.choice(n, size=min(n, params.fit_sample), replace=False))
    model = umap.UMAP(
        n_components=2,
        n_neighbors=min(params.n_neighbors, len(fit_rows) - 1),
        min_dist=params.min_dist,
        random_state=params.seed,
    )
    coordinates = np.empty((n, 2), dtype=np.float32)
    _report(on_progress, 0, n)  # the start: what a job reports first is what was already done (the cache)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # umap warns that a seed disables parallelism; intended here
        coordinates[fit_rows] = model.fit_transform(reduced[fit_rows])
        done = len(fit_rows)
        _report(on_progress, done, n)
        rest = np.setdiff1d(np.arange(n), fit_rows)
        for start in range(0, len(rest), params.transform_batch):
            if cancel is not None and cancel.is_set():
                raise Cancelled("map cancelled")
            batch = rest[start : start + params.transform_batch]
            coordinates[batch] = model.transform(reduced[batch])
            done += len(batch)
            _report(on_progress, done, n)
    return coordinates


def cached_umap_2d(
    keys: np.ndarray,
    vectors: np.ndarray,
    embedding_id: str,
    params: MapParams = MapParams(),
    *,
    cache: Cache | None = None,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """umap_2d, cached for this exact list of texts (`keys`, in order) and embedding (`embedding_id`).

    A map lays out one list, so its rows are stored by position: a text listed twice keeps its two points.
    """
    cache = cache or Cache(None)
    settings = {**asdict(params), "embedding": embedding_id, "texts": list_digest(keys), "rows": "by position"}
    table = cache.table("umap", settings, np.float32, (2,))
    rows = row_keys(len(keys))
    coordinates, found = table.get(rows)
    if found.all():
        _report(on_progress, len(keys), len(keys))  # all of it was in the cache
        return coordinates
    coordinates = umap_2d(vectors, params, on_progress=on_progress, cancel=cancel)
    table.put(rows, coordinates)
    return coordinates


def row_keys(n: int) -> np.ndarray:
    """(n,) cache keys naming the positions 0..n-1 of a list (dtype S32): the keys of the texts "0", "1", …"""
    return text_keys(str(i) for i in range(n))


def _pca(vectors: np.ndarray, dims: int, seed: int) -> np.ndarray:
    """Project centred vectors (N, d) on their top `dims` principal axes (fitted on at most 20k rows): (N, dims).

    The axes are the top eigenvectors of the (d, d) covariance, in float64: a second for 20k × 576 where an
    SVD of the rows took 2-12 s on 2 busy cores. Each axis's largest component is made positive (stable signs).
    """
    centred = vectors - vectors.mean(axis=0)
    if centred.shape[1] <= dims:
        return centred
    rows = np.random.default_rng(seed).choice(len(centred), size=min(len(centred), 20_000), replace=False)
    sample = centred[rows].astype(np.float64)
    _, eigenvectors = np.linalg.eigh(sample.T @ sample)  # ascending eigenvalues
    axes = eigenvectors[:, ::-1][:, :dims]
    axes *= np.sign(axes[np.abs(axes).argmax(axis=0), np.arange(dims)])
    return (centred @ axes.astype(np.float32)).astype(np.float32)


def _pad_columns(values: np.ndarray, width: int) -> np.ndarray:
    out = np.zeros((len(values), width), dtype=np.float32)
    out[:, : values.shape[1]] = values
    return out


def _report(on_progress: ProgressFn | None, done: int, total: int) -> None:
    if on_progress is not None:
        on_progress(done, total)
