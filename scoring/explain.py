"""Why one text was picked: its distance or similarity to every target, under each method.

>>> zipfit_distances("def f(): pass", ["def g(): pass", "Bonjour"], ZipfitParams()).argmin().item()
0
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from scoring.cache import Cache
from scoring.compression import sizer
from scoring.pipeline import RdsParams, ZipfitParams, cached_embeddings, embed_texts
from scoring.progress import ProgressFn
from scoring.rds import cosines
from scoring.zipfit import joint_sizes, ncd, sizes


def zipfit_distances(text: str, targets: Sequence[str], params: ZipfitParams) -> np.ndarray:
    """(M,) NCD of `text` to each target (lower = closer); ZIP-FIT's alignment is 1 - their mean."""
    size = sizer(params.compressor, params.level)
    x, target_bytes = text.encode(), [t.encode() for t in targets]
    return ncd(size(x), sizes(target_bytes, size), joint_sizes([x], target_bytes, size)[0])


def rds_similarities(
    text: str,
    targets: Sequence[str],
    params: RdsParams,
    cache: Cache | None = None,
    *,
    cached_only: bool = False,
    on_progress: ProgressFn | None = None,
    cancel: threading.Event | None = None,
) -> np.ndarray | None:
    """(M,) float32 cosine similarity of `text` to each target under RDS+ (higher = closer).

    Summed as `rds.select` sums them, so the largest is the text's RDS+ score to the last bit. Embeddings come
    from the cache; those missing are computed, or with `cached_only` the answer is None (the model is not
    loaded).
    """
    texts = [text, *targets]
    if cached_only:
        vectors = cached_embeddings(texts, params, cache=cache)
        if vectors is None:
            return None
    else:
        vectors = embed_texts(texts, params, cache=cache, on_progress=on_progress, cancel=cancel)
    return cosines(vectors[1:], vectors[:1])[:, 0]


def nearest(values: np.ndarray, count: int, highest: bool) -> np.ndarray:
    """Indices of the `count` best values (ties to the lower index): highest first, or lowest first."""
    order = np.argsort(-values if highest else values, kind="stable")
    return order[:count]
