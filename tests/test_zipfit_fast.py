"""Fast ZIP-FIT against exact ZIP-FIT: quality on sample data, exactness where it falls back, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.compression import sizer
from scoring.loading import load_dataset
from scoring.pipeline import ZipfitParams, run_zipfit
from scoring.zipfit import ncd
from scoring.zipfit_fast import FastParams, fast_alignments, sketch_order, threaded_pair_sizes

POOL_SUBSET = 700  # the first 700 sample pool texts: ~1 s of exact work per target set on 2 cores


def top_overlap(approx: np.ndarray, exact: np.ndarray, fraction: float = 0.1) -> float:
    k = round(fraction * len(exact))
    top = lambda s: set(np.lexsort((np.arange(len(s)), -s))[:k].tolist())  # noqa: E731
    return len(top(approx) & top(exact)) / k


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    rank = lambda s: np.argsort(np.argsort(s, kind="stable"), kind="stable")  # noqa: E731 (no ties here)
    return float(np.corrcoef(rank(a), rank(b))[0, 1])


@pytest.fixture(scope="module")
def pool() -> list[str]:
    return load_dataset("sample_data/pool.jsonl").texts[:POOL_SUBSET]


def encoded(texts: list[str]) -> list[bytes]:
    return [t.encode() for t in texts]


# --- quality on sample data ------------------------------------------------------------------------------------


@pytest.mark.parametrize("target_set", ["humaneval", "translation"])
def test_quality_against_exact_on_sample_data(pool, target_set):
    targets = load_dataset(f"sample_data/targets_{target_set}.jsonl").texts
    exact = run_zipfit(pool, targets, workers=2)
    pair_sizes = threaded_pair_sizes(encoded(pool), encoded(targets), 9, workers=2)
    calls = []

    def counting(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        calls.append(len(rows) * len(cols))
        return pair_sizes(rows, cols)

    score, nearest = fast_alignments(encoded(pool), encoded(targets), 9, pair_sizes=counting)
    assert top_overlap(score, exact.score) >= 0.9
    assert spearman(score, exact.score) >= 0.95
    assert sum(calls) == FastParams().pairs(len(pool), len(targets)) < 0.2 * len(pool) * len(targets)
    assert ((nearest >= 0) & (nearest < len(targets))).all()
    # a sensible nearest target: much closer than a typical one (exact NCD rank among all targets)
    size = sizer("gzip", 9)
    ranks = []
    for i in range(0, len(pool), 35):
        x = pool[i].encode()
        d = [ncd(size(x), size(t.encode()), size(x + t.encode())) for t in targets]
        ranks.append(int(np.sum(np.array(d) < d[nearest[i]])))
    assert np.median(ranks) <= 0.1 * len(targets)


def test_calibration_rows_are_exact(pool):
    targets = load_dataset("sample_data/targets_translation.jsonl").texts
    exact = run_zipfit(pool[:300], targets, workers=2)
    score, nearest = fast_alignments(encoded(pool[:300]), encoded(targets), 9, workers=2)
    same = np.isclose(score, exact.score, rtol=0, atol=1e-12)
    assert same.sum() >= FastParams().n_calibration  # the calibration rows at least
    assert (nearest[same] == exact.nearest_target[same]).all()
    assert not same.all()  # and the rest really is estimated


# --- exact fallback, determinism ---------------------------------------------------------------------------------


def test_falls_back_to_exact_when_there_is_little_to_save(pool):
    targets = load_dataset("sample_data/targets_humaneval.jsonl").texts[:12]  # 12 targets: sketch of 16 > M
    exact = run_zipfit(pool[:80], targets, workers=2)
    score, nearest = fast_alignments(encoded(pool[:80]), encoded(targets), 9, workers=2)
    np.testing.assert_allclose(score, exact.score, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(nearest, exact.nearest_target)


def test_single_target_is_exact(pool):
    target = ["def add(a, b):\n    return a + b\n"]
    exact = run_zipfit(pool[:50], target, ZipfitParams(level=6))
    score, nearest = fast_alignments(encoded(pool[:50]), encoded(target), 6)
    np.testing.assert_allclose(score, exact.score, rtol=0, atol=1e-12)
    assert nearest.tolist() == [0] * 50


def test_deterministic_and_independent_of_threads(pool):
    targets = encoded(load_dataset("sample_data/targets_translation.jsonl").texts)
    one = fast_alignments(encoded(pool[:250]), targets, 9, workers=1)
    again = fast_alignments(encoded(pool[:250]), targets, 9, workers=1)
    two = fast_alignments(encoded(pool[:250]), targets, 9, workers=2)
    for a, b in [(one, again), (one, two)]:
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


# --- edge cases ------------------------------------------------------------------------------------------------


def test_empty_texts_long_texts_and_an_empty_pool(pool):
    long_text = ("".join(pool[:40]) * 3).encode()  # ~80 KB: longer than gzip's 32 KB window
    texts = [b"", long_text, *encoded(pool[:198])]
    targets = [b"", long_text[:5000], *encoded(load_dataset("sample_data/targets_humaneval.jsonl").texts[:60])]
    score, nearest = fast_alignments(texts, targets, 9, workers=2)
    assert score.shape == (200,)
    assert nearest.shape == (200,)
    assert np.isfinite(score).all()
    exact = run_zipfit([t.decode() for t in texts[:2]], [t.decode() for t in targets])
    assert score[1] == pytest.approx(exact.score[1], abs=0.05)  # the longest text: close even if estimated
    empty = fast_alignments([], targets, 9)
    assert empty[0].shape == (0,)
    assert empty[1].shape == (0,)
    with pytest.raises(ValueError, match="at least one target"):
        fast_alignments(texts, [], 9)


def test_sketch_order_prefers_a_representative_and_skips_copies():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=20), rng.normal(size=20)
    savings = np.column_stack([a, a, b]) + 50
    order = sketch_order(savings, 3).tolist()
    assert order[0] in (0, 1)
    assert order[1] == 2
    assert sorted(order) == [0, 1, 2]
    assert sketch_order(np.full((5, 4), 30.0), 2).tolist() == [0, 1]  # constant columns: index order


def test_invalid_parameters_are_refused():
    with pytest.raises(ValueError, match="invalid"):
        FastParams(k_first=8, k_focus=4)
    with pytest.raises(ValueError, match="invalid"):
        FastParams(focus=1.5)


def test_duplicate_pool_texts_get_equal_results(pool):
    targets = encoded(load_dataset("sample_data/targets_translation.jsonl").texts)
    texts = encoded(pool[:150])
    doubled = texts + texts[::-1]
    score, nearest = fast_alignments(doubled, targets, 9, workers=2)
    np.testing.assert_array_equal(score[:150], score[150:][::-1])
    np.testing.assert_array_equal(nearest[:150], nearest[150:][::-1])
    alone = fast_alignments(texts, targets, 9, workers=2)
    np.testing.assert_array_equal(score[:150], alone[0])  # duplicates change nothing
