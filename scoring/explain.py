"""Why one text was picked: its distance or similarity to every target, under each method.

>>> zipfit_distances("def f(): pass", ["def g(): pass", "Bonjour"], ZipfitParams()).argmin().item()
0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scoring.cache import Cache
from scoring.compression import sizer
from scoring.pipeline import RdsParams, ZipfitParams, embed_texts
from scoring.zipfit import ncd, sizes


def zipfit_distances(text: str, targets: Sequence[str], params: ZipfitParams) -> np.ndarray:
    """(M,) NCD of `text` to each target (lower = closer); ZIP-FIT's alignment is 1 - their mean."""
    size = sizer(params.compressor, params.level)
    x = text.encode()
    target_bytes = [t.encode() for t in targets]
    joint = sizes([x + t for t in target_bytes], size)
    return ncd(size(x), sizes(target_bytes, size), joint)


def rds_similarities(text: str, targets: Sequence[str], params: RdsParams, cache: Cache | None = None) -> np.ndarray:
    """(M,) cosine similarity of `text` to each target under RDS+ (higher = closer); cached embeddings."""
    vectors = embed_texts([text, *targets], params, cache=cache)
    return vectors[1:] @ vectors[0]


def nearest(values: np.ndarray, count: int, highest: bool) -> np.ndarray:
    """Indices of the `count` best values (ties to the lower index): highest first, or lowest first."""
    order = np.argsort(-values if highest else values, kind="stable")
    return order[:count]
