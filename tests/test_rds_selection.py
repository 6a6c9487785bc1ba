"""RDS+ selection against hand-worked matrices and a literal round-robin simulation (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from scoring.errors import OptionError
from scoring.ranking import ranks_descending
from scoring.rds import round_robin_ranks, select, task_numbers
from tests.fakes import simulate_round_robin


def ranks_from_order(order: list[int]) -> list[int]:
    ranks = [0] * len(order)
    for position, index in enumerate(order):
        ranks[index] = position
    return ranks


def exact_vectors(rng: np.random.Generator, rows: int, dim: int = 3, values: int = 3) -> np.ndarray:
    """Small-integer float32 vectors: their dot products are exact, so ties are real ties in any BLAS order."""
    return rng.integers(-values, values + 1, size=(rows, dim)).astype(np.float32)


# --- round-robin by hand ---------------------------------------------------------------------------------------


def test_round_robin_by_hand_with_ties_and_collisions():
    cos = np.array(
        [  # pool item: 0    1    2    3    4
            [0.9, 0.9, 0.1, 0.5, 0.2],  # target 0 prefers 0, 1 (tie: lower index first), 3, 4, 2
            [0.9, 0.1, 0.8, 0.3, 0.2],  # target 1 prefers 0, 2, 3, 4, 1
            [0.1, 0.2, 0.8, 0.9, 0.0],  # target 2 prefers 3, 2, 1, 0, 4
        ]
    )
    # round 0: t0 takes 0; t1's best (0) is taken: it loses its turn; t2 takes 3.
    # round 1: t0 takes 1; t1 takes 2; t2's 2nd (2) is taken.  round 2: t0's 3rd (3) taken; t1's (3) taken;
    # t2's (1) taken.  round 3: t0 takes 4.
    assert round_robin_ranks(cos).tolist() == [0, 2, 3, 1, 4]
    assert simulate_round_robin(cos) == [0, 3, 1, 2, 4]


def test_round_robin_differs_from_ranking_by_max():
    cos = np.array([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.6]])
    assert round_robin_ranks(cos).tolist() == [0, 2, 3, 1]  # target 1 gets its best item in round 0
    assert ranks_descending(cos.max(axis=0)).tolist() == [0, 1, 2, 3]


def test_all_scores_tied_gives_pool_order():
    assert round_robin_ranks(np.zeros((3, 5))).tolist() == [0, 1, 2, 3, 4]


def test_one_target_ranks_by_its_scores():
    scores = np.array([[0.2, 0.9, 0.2, 0.5]])
    assert round_robin_ranks(scores).tolist() == ranks_descending(scores[0]).tolist() == [2, 0, 3, 1]


@settings(max_examples=300, deadline=None)
@given(arrays(np.int8, st.tuples(st.integers(1, 6), st.integers(1, 12)), elements=st.integers(0, 3)))
def test_round_robin_shortcut_equals_literal_simulation(scores):
    """Few distinct values, so ties and collisions are everywhere."""
    assert round_robin_ranks(scores.astype(np.float32)).tolist() == ranks_from_order(simulate_round_robin(scores))


# --- select(): scores, nearest targets, tasks ----------------------------------------------------------------


@pytest.mark.parametrize("block_values", [1, 7, 1 << 24])
def test_select_matches_dense_computation(block_values):
    rng = np.random.default_rng(1)
    pool, targets = exact_vectors(rng, 40), exact_vectors(rng, 9)
    pool[5] = pool[2]  # a duplicate: tied in every row
    targets[6] = targets[1]  # a duplicate target: nearest must be the lower index
    cos = targets @ pool.T
    result = select(pool, targets, "round-robin", block_values=block_values)
    np.testing.assert_array_equal(result.score, cos.max(axis=0))
    np.testing.assert_array_equal(result.nearest_target, cos.argmax(axis=0))
    assert result.rank.tolist() == ranks_from_order(simulate_round_robin(cos))
    assert result.rank[2] < result.rank[5]
    assert result.score.dtype == np.float64
    assert result.rank.dtype == result.nearest_target.dtype == np.int64


def test_max_and_mean_selection():
    rng = np.random.default_rng(2)
    pool, targets = exact_vectors(rng, 30), exact_vectors(rng, 4)
    cos = targets @ pool.T
    assert select(pool, targets, "max").rank.tolist() == ranks_descending(cos.max(axis=0)).tolist()
    assert select(pool, targets, "mean").rank.tolist() == ranks_descending(cos.mean(axis=0)).tolist()


@pytest.mark.parametrize("block_values", [1, 50, 1 << 24])
def test_multi_task_round_robin_runs_across_tasks_on_task_maxima(block_values):
    rng = np.random.default_rng(3)
    pool, targets = exact_vectors(rng, 25), exact_vectors(rng, 7)
    task_ids = ["fr", "de", "fr", "ja", "de", "fr", "ja"]  # interleaved: tasks in first-seen order fr, de, ja
    tasks = task_numbers(task_ids)
    cos = targets @ pool.T
    task_scores = np.stack([cos[tasks == t].max(axis=0) for t in range(3)])
    result = select(pool, targets, "round-robin", tasks, block_values=block_values)
    assert result.rank.tolist() == ranks_from_order(simulate_round_robin(task_scores))
    np.testing.assert_array_equal(result.score, cos.max(axis=0))
    np.testing.assert_array_equal(result.nearest_target, cos.argmax(axis=0))
    mean = select(pool, targets, "mean", tasks, block_values=block_values)
    assert mean.rank.tolist() == ranks_descending(task_scores.mean(axis=0)).tolist()


def test_multi_task_by_hand():
    # Task A has targets 0 and 2, task B has target 1. Item 2 is A's best only through target 2.
    cos = np.array([[0.9, 0.1, 0.2, 0.3], [0.8, 0.7, 0.1, 0.6], [0.1, 0.1, 0.95, 0.1]])
    pool = np.eye(4, dtype=np.float32)
    targets = cos.astype(np.float32)  # targets @ eye = cos
    result = select(pool, targets, "round-robin", task_numbers(["A", "B", "A"]))
    # A's task scores: [0.9, 0.1, 0.95, 0.3] -> prefers 2, 0, 3, 1; B prefers 0, 1, 3, 2.
    # round 0: A takes 2, B takes 0.  round 1: A's 2nd (0) taken; B takes 1.  round 2: A takes 3.
    assert result.rank.tolist() == [1, 2, 0, 3]
    per_target = select(pool, targets, "round-robin")  # without tasks: targets 0, 1, 2 take turns
    assert per_target.rank.tolist() == ranks_from_order(simulate_round_robin(cos))


def test_zero_vectors_score_zero_without_nan():
    pool = np.array([[0, 0], [1, 0]], dtype=np.float32)  # item 0: an empty text
    targets = np.array([[1, 0], [0, 0]], dtype=np.float32)
    result = select(pool, targets)
    assert result.score.tolist() == [0.0, 1.0]
    assert not np.isnan(result.score).any()
    assert result.rank.tolist() == [1, 0]


def test_task_numbers_follow_first_appearance():
    assert task_numbers(["de", "fr", "de", 3]).tolist() == [0, 1, 0, 2]


def test_unknown_selection_is_refused():
    with pytest.raises(OptionError, match="--selection: 'best' is not one of round-robin, max, mean"):
        select(np.eye(2, dtype=np.float32), np.eye(2, dtype=np.float32), "best")
