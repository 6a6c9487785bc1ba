"""RDS+ scores and selection from unit embeddings: pure NumPy, memory O(N) beyond the embeddings.

S[j, i] = cos(target j, pool item i). `score` = max_j S[j, i], `nearest_target` = argmax_j (lowest j on ties).
Targets belong to tasks (by default each target is its own task); a pool item's task score is its max over
that task's targets. `rank` (0 = taken first) comes from the selection rule:

- `round-robin` (the paper's): in rounds r = 0, 1, …, each task t in turn takes its r-th best candidate (ties to
  the lower pool index); a candidate already taken is skipped and that task loses its turn.
- `max`: by `score`. `mean`: by the mean of the task scores (the mean cosine over targets without tasks).

>>> S = np.array([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.6]])  # 2 targets × 4 pool items
>>> round_robin_ranks(S).tolist()  # round 0: items 0 and 3; round 1: items 1 and 2 (by max: [0, 1, 2, 3])
[0, 2, 3, 1]
>>> round_robin_ranks(np.array([[0.9, 0.8, 0.1], [0.9, 0.2, 0.7]])).tolist()  # target 1 loses its turn in round 0
[0, 1, 2]
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.errors import OptionError
from scoring.ranking import ranks_descending

SELECTIONS = ("round-robin", "max", "mean")
BLOCK_VALUES = 1 << 24
"""Similarity block size in float32 values (64 MB): targets are scored this many pool-wide rows at a time."""


@dataclass(frozen=True)
class RdsResult:
    """score (N,) float64, rank (N,) int64 (0 = first selected), nearest_target (N,) int64."""

    score: np.ndarray
    rank: np.ndarray
    nearest_target: np.ndarray


def check_selection(selection: str) -> None:
    if selection not in SELECTIONS:
        raise OptionError("--selection", f"{selection!r} is not one of {', '.join(SELECTIONS)}")


def task_numbers(task_ids: Sequence[Hashable]) -> np.ndarray:
    """(M,) int64 task number of each target, numbered in order of first appearance.

    Example: `task_numbers(["de", "fr", "de"])` -> `[0, 1, 0]`.
    """
    numbers: dict[Hashable, int] = {}
    return np.array([numbers.setdefault(t, len(numbers)) for t in task_ids], dtype=np.int64)


def select(
    pool: np.ndarray,
    targets: np.ndarray,
    selection: str = "round-robin",
    tasks: np.ndarray | None = None,
    block_values: int = BLOCK_VALUES,
) -> RdsResult:
    """Scores and ranks of pool (N, d) against targets (M, d), both float32 unit (or zero) rows.

    `tasks` (M,) int64 from `task_numbers`; None makes each target its own task. S is computed in blocks of
    targets against the whole pool, so memory beyond the inputs is O(block_values + N).
    """
    check_selection(selection)
    if len(targets) == 0:
        raise ValueError("RDS+ needs at least one target")
    tasks = np.arange(len(targets)) if tasks is None else np.asarray(tasks, dtype=np.int64)
    totals = _Totals(len(pool))
    for task, task_score in _task_scores(pool, targets, tasks, totals, block_values):
        totals.add_task(task, task_score, need_ranks=selection == "round-robin")
    if selection == "round-robin":
        rank = totals.round_robin_ranks()
    elif selection == "max":
        rank = ranks_descending(totals.best)
    else:
        rank = ranks_descending(totals.task_sum / totals.task_count)
    return RdsResult(totals.best.astype(np.float64), rank, totals.nearest)


def round_robin_ranks(task_scores: np.ndarray) -> np.ndarray:
    """(N,) int64 round-robin ranks from a dense (T, N) matrix of task scores (for small inputs and tests)."""
    totals = _Totals(task_scores.shape[1])
    for task, row in enumerate(task_scores):
        totals.add_task(task, np.asarray(row), need_ranks=True)
    return totals.round_robin_ranks()


def _task_scores(
    pool: np.ndarray, targets: np.ndarray, tasks: np.ndarray, totals: _Totals, block_values: int
) -> Iterator[tuple[int, np.ndarray]]:
    """(task, (N,) max over its targets) for each task in number order; updates totals' best and nearest."""
    order = np.argsort(tasks, kind="stable")  # each task's targets together, in target order
    rows_per_block = max(1, block_values // max(1, len(pool)))
    current, running = -1, np.empty(0, dtype=np.float32)
    for start in range(0, len(order), rows_per_block):
        rows = order[start : start + rows_per_block]
        block = targets[rows] @ pool.T  # (rows, N) cosines
        totals.add_targets(rows, block)
        for row, scores in zip(rows, block, strict=True):
            if tasks[row] != current:
                if current >= 0:
                    yield current, running
                current, running = int(tasks[row]), scores.copy()
            else:
                np.maximum(running, scores, out=running)
    yield current, running


class _Totals:
    """Running results over targets and tasks for N pool items."""

    def __init__(self, n: int) -> None:
        self.best = np.full(n, -np.inf, dtype=np.float32)
        self.nearest = np.zeros(n, dtype=np.int64)
        self.task_sum = np.zeros(n, dtype=np.float64)
        self.task_count = 0
        self.first_round = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)  # min over tasks of r_t(i)
        self.first_task = np.zeros(n, dtype=np.int64)  # the lowest task reaching it

    def add_targets(self, rows: np.ndarray, block: np.ndarray) -> None:
        """Fold in the cosines block (len(rows), N) of targets `rows`: max, and argmax with lowest j on ties."""
        top = block.max(axis=0)
        top_row = np.asarray(rows)[block.argmax(axis=0)]
        tied = top == self.best
        better = (top > self.best) | (tied & (top_row < self.nearest))
        self.best[better] = top[better]
        self.nearest[better] = top_row[better]

    def add_task(self, task: int, scores: np.ndarray, need_ranks: bool) -> None:
        """Fold in one task's scores (N,); tasks must come in increasing number."""
        self.task_sum += scores
        self.task_count += 1
        if need_ranks:
            position = np.empty(len(scores), dtype=np.int64)
            position[np.argsort(-scores, kind="stable")] = np.arange(len(scores))  # r_t(i), ties by pool index
            earlier = position < self.first_round
            self.first_round[earlier] = position[earlier]
            self.first_task[earlier] = task

    def round_robin_ranks(self) -> np.ndarray:
        """Item i is taken at the first slot (r, t) where it is task t's r-th best, so ranks sort by that slot.

        Why: a task whose r-th best is already taken loses its turn rather than moving on, so every task
        reaches its r-th best in round r. Distinct items have distinct first slots, so there are no ties.
        """
        order = np.lexsort((self.first_task, self.first_round))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank
