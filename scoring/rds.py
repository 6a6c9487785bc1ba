"""RDS+ scores and selection from unit embeddings: pure NumPy, in chunks of pool rows, within a memory budget.

S[j, i] = cos(target j, pool item i). `score` = max_j S[j, i], `nearest_target` = argmax_j (lowest j on ties).
Targets belong to tasks (by default each target is its own task); a pool item's task score is its max over
that task's targets. `rank` (0 = taken first) comes from the selection rule:

- `round-robin` (the paper's): in rounds r = 0, 1, …, each task t in turn takes its r-th best candidate (ties to
  the lower pool index); a candidate already taken is skipped and that task loses its turn.
- `max`: by `score`. `mean`: by the mean of the task scores (the mean cosine over targets without tasks).

S is summed in float64 and rounded to float32, so a score does not depend on how the work is chunked (BLAS
adds in an order that depends on the shapes): equal texts tie exactly, and every memory budget gives the same
results bit for bit.

Memory: the pool (N, d) may be a disk-backed array (`np.memmap`); it is read once, in chunks of rows. Beyond
about 50 bytes per pool item (the results and the round-robin's bookkeeping) and the targets, RAM stays
within `memory_budget_bytes` (default `spill.memory_budget()`): a chunk takes at most an eighth of it; the
round-robin's task scores (T, N) float32 stay in RAM if they take at most a quarter, else they are written
chunk by chunk to a scratch file in `spill_dir` (removed at the end) and read back one task's row at a time
to rank it.

>>> S = np.array([[0.9, 0.8, 0.7, 0.1], [0.1, 0.2, 0.3, 0.6]])  # 2 targets × 4 pool items
>>> round_robin_ranks(S).tolist()  # round 0: items 0 and 3; round 1: items 1 and 2 (by max: [0, 1, 2, 3])
[0, 2, 3, 1]
>>> round_robin_ranks(np.array([[0.9, 0.8, 0.1], [0.9, 0.2, 0.7]])).tolist()  # target 1 loses its turn in round 0
[0, 1, 2]
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scoring.errors import OptionError
from scoring.ranking import ranks_descending
from scoring.spill import memory_budget, release, scratch_array, spill_folder

SELECTIONS = ("round-robin", "max", "mean")
BLOCK_VALUES = 1 << 22
"""Chunk size: c pool rows are scored against all M targets at a time, with c · max(M, d) at most this."""


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
    *,
    memory_budget_bytes: int | None = None,
    spill_dir: Path | None = None,
) -> RdsResult:
    """Scores and ranks of pool (N, d) against targets (M, d), both float32 unit (or zero) rows.

    `tasks` (M,) int64 from `task_numbers`; None makes each target its own task. `pool` may be a memmap
    bigger than RAM; see the module's docstring for the memory used and where task scores spill.
    """
    check_selection(selection)
    if len(targets) == 0:
        raise ValueError("RDS+ needs at least one target")
    budget = memory_budget(memory_budget_bytes)
    plan = _TaskPlan.of(tasks, len(targets))
    wide = np.asarray(targets, dtype=np.float64)
    rows = _chunk_rows(len(targets), wide.shape[1], plan.count, block_values, budget // 8)
    totals = _Totals(len(pool))
    needs_rows = selection == "round-robin"
    with _task_rows(plan.count, len(pool), needs_rows, budget // 4, spill_dir) as task_rows:
        for start in range(0, len(pool), rows):
            cos = cosines(wide, pool[start : start + rows])  # (M, c)
            release(pool)
            task_cos = plan.maxima(cos)  # (T, c)
            totals.add_chunk(start, cos, task_cos)
            if task_rows is not None:
                task_rows[:, start : start + rows] = task_cos
                release(task_rows)
        for task in range(plan.count if needs_rows else 0):
            totals.add_task_ranks(task, np.asarray(task_rows[task]))
            release(task_rows)
    return RdsResult(totals.best.astype(np.float64), _ranks(totals, selection, plan.count), totals.nearest)


def cosines(targets: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(M, c) float32 dot products of targets (M, d) with rows (c, d), summed in float64 then rounded.

    Example: `cosines(np.eye(2), np.array([[0.6, 0.8]]))` -> `[[0.6], [0.8]]`.
    """
    wide = np.asarray(targets, dtype=np.float64)
    return (wide @ np.asarray(rows, dtype=np.float64).T).astype(np.float32)


def round_robin_ranks(task_scores: np.ndarray) -> np.ndarray:
    """(N,) int64 round-robin ranks from a dense (T, N) matrix of task scores (for small inputs and tests)."""
    totals = _Totals(task_scores.shape[1])
    for task, row in enumerate(task_scores):
        totals.add_task_ranks(task, np.asarray(row))
    return totals.round_robin_ranks()


def _ranks(totals: _Totals, selection: str, task_count: int) -> np.ndarray:
    if selection == "round-robin":
        return totals.round_robin_ranks()
    if selection == "max":
        return ranks_descending(totals.best)
    return ranks_descending(totals.task_sum / task_count)


def _chunk_rows(m: int, d: int, t: int, block_values: int, chunk_bytes: int) -> int:
    """Pool rows per chunk: c · max(m, d) <= block_values and c rows' working memory <= chunk_bytes.

    A row needs its float32 and float64 copies (12d bytes), its cosines in float64, float32 and task order
    (16m) and its task scores (4t), plus 8 bytes of sums.
    """
    per_row = 12 * d + 16 * m + 4 * t + 8
    return max(1, min(block_values // max(m, d, 1), chunk_bytes // per_row))


@contextlib.contextmanager
def _task_rows(count: int, n: int, needed: bool, ram_bytes: int, spill_dir: Path | None) -> Iterator[np.ndarray | None]:
    """(count, n) float32 task scores: None if not needed, in RAM if they fit in ram_bytes, else on disk."""
    if not needed:
        yield None
    elif 4 * count * n <= ram_bytes:
        yield np.empty((count, n), dtype=np.float32)
    else:
        with scratch_array((count, n), np.float32, spill_dir or spill_folder(None)) as rows:
            yield rows


@dataclass(frozen=True)
class _TaskPlan:
    """How targets group into tasks: `order` (M,) lists the targets task by task (None: one task per target,
    in order), `starts` (T,) where each task's targets begin in that order."""

    order: np.ndarray | None
    starts: np.ndarray
    count: int

    @classmethod
    def of(cls, tasks: np.ndarray | None, m: int) -> _TaskPlan:
        if tasks is None:
            return cls(None, np.arange(m), m)
        tasks = np.asarray(tasks, dtype=np.int64)
        if len(tasks) != m:
            raise ValueError(f"tasks has {len(tasks)} entries for {m} targets")
        order = np.argsort(tasks, kind="stable")  # each task's targets together, tasks in number order
        starts = np.flatnonzero(np.diff(tasks[order], prepend=tasks[order][0] - 1))
        identity = len(starts) == m and bool((order == np.arange(m)).all())
        return cls(None if identity else order, starts, len(starts))

    def maxima(self, cos: np.ndarray) -> np.ndarray:
        """(T, c) task scores (max over each task's targets) from cosines (M, c)."""
        if self.order is None:
            return cos
        return np.maximum.reduceat(cos[self.order], self.starts, axis=0)


class _Totals:
    """Results for N pool items, filled chunk by chunk of pool rows, then task by task for the round-robin."""

    def __init__(self, n: int) -> None:
        self.best = np.full(n, -np.inf, dtype=np.float32)
        self.nearest = np.zeros(n, dtype=np.int64)
        self.task_sum = np.zeros(n, dtype=np.float64)
        self.first_round = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)  # min over tasks of r_t(i)
        self.first_task = np.zeros(n, dtype=np.int64)  # the lowest task reaching it

    def add_chunk(self, start: int, cos: np.ndarray, task_cos: np.ndarray) -> None:
        """Pool items start..start+c: cosines (M, c) to every target and task scores (T, c) of every task.

        Example: cosines [[0.2], [0.7], [0.7]] -> best 0.7, nearest 1 (the lowest of the tied targets).
        """
        stop = start + cos.shape[1]
        self.best[start:stop] = cos.max(axis=0)
        self.nearest[start:stop] = cos.argmax(axis=0)  # the first maximum: the lowest target on ties
        self.task_sum[start:stop] = np.add.reduce(task_cos, axis=0, dtype=np.float64)

    def add_task_ranks(self, task: int, scores: np.ndarray) -> None:
        """Fold in one task's scores (N,) for the round-robin; tasks must come in increasing number."""
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
