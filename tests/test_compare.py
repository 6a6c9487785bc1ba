"""Agreement, overlap/Jaccard curves and rank correlation against brute force and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from scoring.compare import agreement_counts, overlap_curve, spearman


def random_ranks(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.permutation(n)


def test_agreement_counts_by_hand():
    z = np.array([0, 1, 2, 3])
    r = np.array([3, 0, 1, 2])
    assert agreement_counts(z, r, k=2) == {"both": 1, "ZIP-FIT only": 1, "RDS+ only": 1, "neither": 1}


def test_overlap_curve_matches_set_arithmetic():
    rng = np.random.default_rng(0)
    a, b = random_ranks(rng, 200), random_ranks(rng, 200)
    k, overlap, jaccard = overlap_curve(a, b)
    for kk in [1, 2, 17, 100, 199, 200]:
        top_a, top_b = set(np.flatnonzero(a < kk)), set(np.flatnonzero(b < kk))
        assert overlap[kk - 1] == len(top_a & top_b)
        assert jaccard[kk - 1] == pytest.approx(len(top_a & top_b) / len(top_a | top_b))
    assert k[-1] == 200
    assert overlap[-1] == 200


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 20, 300).astype(float)
    b = a + rng.normal(0, 5, 300)
    assert spearman(a, b) == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)
    assert np.isnan(spearman(np.ones(5), np.arange(5)))
