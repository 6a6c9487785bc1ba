"""Ranks from scores: 0 is the best, ties go to the lower pool index."""

from __future__ import annotations

import numpy as np

from scoring.errors import OptionError


def ranks_descending(scores: np.ndarray) -> np.ndarray:
    """(N,) int64 ranks, 0 for the highest score; equal scores rank by pool index.

    Example: `ranks_descending(np.array([0.5, 0.9, 0.5]))` -> `[1, 0, 2]`.
    """
    scores = np.asarray(scores, dtype=np.float64)
    order = np.lexsort((np.arange(len(scores)), -scores))
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order] = np.arange(len(scores))
    return ranks


def check_k(k: int, pool_size: int) -> None:
    """Raise OptionError unless 1 <= k <= pool_size."""
    if k < 1:
        raise OptionError("--k", f"{k} is not a positive number of records; use 1 to {pool_size}")
    if k > pool_size:
        raise OptionError("--k", f"{k} is larger than the pool ({pool_size} records); use at most {pool_size}")
