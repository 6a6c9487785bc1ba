"""Compare two methods' selections: agreement at k, overlap and Jaccard for every k, rank correlation.

>>> agreement(np.array([0, 1, 2]), np.array([1, 0, 5]), k=2).tolist()
['both', 'both', 'neither']
"""

from __future__ import annotations

import numpy as np

BOTH, ZIPFIT_ONLY, RDS_ONLY, NEITHER = "both", "ZIP-FIT only", "RDS+ only", "neither"
AGREEMENT_ORDER = (BOTH, ZIPFIT_ONLY, RDS_ONLY, NEITHER)


def agreement(zipfit_rank: np.ndarray, rds_rank: np.ndarray, k: int) -> np.ndarray:
    """(N,) labels: which methods put each item in their top k (`both`, `ZIP-FIT only`, …)."""
    in_z, in_r = np.asarray(zipfit_rank) < k, np.asarray(rds_rank) < k
    labels = np.full(len(in_z), NEITHER, dtype=object)
    labels[in_z & in_r] = BOTH
    labels[in_z & ~in_r] = ZIPFIT_ONLY
    labels[~in_z & in_r] = RDS_ONLY
    return labels


def agreement_counts(zipfit_rank: np.ndarray, rds_rank: np.ndarray, k: int) -> dict[str, int]:
    """How many items fall in each agreement group at k, in AGREEMENT_ORDER."""
    labels = agreement(zipfit_rank, rds_rank, k)
    return {name: int((labels == name).sum()) for name in AGREEMENT_ORDER}


def overlap_curve(rank_a: np.ndarray, rank_b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(k, overlap, jaccard) for k = 1..N: |A_k ∩ B_k| and |A_k ∩ B_k| / |A_k ∪ B_k| of the two top-k sets.

    An item is in both top-k sets exactly when the larger of its two ranks is below k, so the overlap is a
    cumulative count of those larger ranks: O(N) for every k at once.
    Example: ranks a=[0, 1, 2], b=[1, 2, 0] give overlap [0, 1, 3] for k = 1, 2, 3.
    """
    n = len(rank_a)
    later = np.maximum(rank_a, rank_b)
    overlap = np.cumsum(np.bincount(later, minlength=n)[:n])
    k = np.arange(1, n + 1)
    return k, overlap, overlap / (2 * k - overlap)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (average ranks for ties); NaN when either input is constant."""
    ra, rb = _average_ranks(np.asarray(a, dtype=float)), _average_ranks(np.asarray(b, dtype=float))
    if ra.std() == 0 or rb.std() == 0:
        return float("nan")
    return float(np.corrcoef(ra, rb)[0, 1])


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    sorted_values = values[order]
    starts = np.r_[True, sorted_values[1:] != sorted_values[:-1]]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    last = np.r_[first[1:], len(values)] - 1
    ranks = np.empty(len(values))
    ranks[order] = ((first + last) / 2)[group]
    return ranks
