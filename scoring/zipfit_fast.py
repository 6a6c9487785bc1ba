"""Fast ZIP-FIT: an approximation that compresses each pool text with a few chosen targets and predicts the rest.

Exact ZIP-FIT compresses x⊕t for all N×M (pool, target) pairs. Its alignment can be written

    alignment(x) = 1 - mean_j NCD(x, t_j) = mean_j S(x, t_j) / max(C(x), C(t_j)),
    S(x, t) = C(x) + C(t) - C(x⊕t)   (bytes saved by compressing x and t together)

The denominators need only the N + M single sizes, which are exact; only the savings S are estimated. They
are small (25-70 bytes on the sample data) and mostly come from sharing one gzip frame and one Huffman code,
which is why a preset dictionary or byte statistics predict them poorly and real x⊕t compressions are used.
The method, a "calibrated target sketch":

1. Calibrate: `n_calibration` pool texts, spread evenly over C(x), are compressed with every target (exact).
2. Sketch: targets are ordered by greedy forward selection (orthogonal matching pursuit) on those rows, so
   that the first k of them best predict the mean savings over all targets.
3. Estimate: every other pool text is compressed with the first `k_first` sketch targets (exact S for those),
   and its S for every other target is predicted by ridge regression fitted on the calibration rows:
   S(x, t_j) ≈ mean_j + (S(x, sketch) - mean_sketch) · B_j.
4. Focus: the `focus` fraction of the pool ranked highest by that estimate (what a top-k selection looks at)
   is refined. `n_focus_calibration` of those texts, spread over that ranking, are compressed with every
   target (exact) and join the calibration rows; the sketch is extended to `k_focus` targets on them, and
   the other focus texts are compressed with the extra sketch targets and estimated again.

Cost: n_calibration·M + k_first·N + focus·N·(k_focus - k_first) + n_focus_calibration·M compressions of x⊕t
instead of N·M: 3.4% of the pairs for the 2,933 sample texts against 164 targets, 4.8% against 100 (its
scoring call 13-23× faster than exact there, depending on the machine). When that would not save at least
half of the work (few targets or a small pool), every pair is compressed and the result is exact.

Scores of the calibration rows are exact; the others are estimates (on the sample target sets: top-10%
overlap with exact 0.935 and 0.928, Spearman 0.983 and 0.989; on 11 target sets cut from the sample pool,
0.83-0.98 and 0.959-0.998, lowest where many candidates score alike: `benchmarks/fast_params.py --held-out`).
The nearest target is approximate too: the one with the lowest estimated NCD, where the estimate is exact for
the sketch targets a text was compressed with (`k_first` of them, `k_focus` in the focus). Equal pool texts get
equal results (each distinct text is scored once), and the result depends only on the texts, their order and the
parameters.

>>> score, nearest = fast_alignments([b"def f(): pass", b"Bonjour"], [b"def g(): return 1"])
>>> score.shape, nearest.tolist()
((2,), [0, 0])
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from scoring import zipfit
from scoring.compression import sizer
from scoring.zipfit import JointSizes

PairSizes = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""Sizes C(x_i⊕t_j) for pool rows (r,) and target columns (c,): (r,) int64, (c,) int64 -> (r, c) int64."""


@dataclass(frozen=True)
class FastParams:
    """How much of the N×M work fast mode does; the module docstring explains each step."""

    n_calibration: int = 24
    k_first: int = 2
    k_focus: int = 12
    focus: float = 0.15
    n_focus_calibration: int = 16
    ridge: float = 0.25
    """Ridge penalty, as a fraction of the mean squared sketch column on the calibration rows."""

    def __post_init__(self) -> None:
        if not (1 <= self.k_first <= self.k_focus and self.n_calibration >= 2 and 0 <= self.focus <= 1):
            raise ValueError(f"invalid fast ZIP-FIT parameters: {self}")

    def pairs(self, n: int, m: int) -> int:
        """How many x⊕t compressions the fast method needs for n pool texts and m targets."""
        rest = n - min(n, self.n_calibration)
        k1, k2 = min(m, self.k_first), min(m, self.k_focus)
        n_focus = int(np.ceil(self.focus * rest)) if k2 > k1 else 0
        focus_exact = min(self.n_focus_calibration, n_focus)
        return (n - rest + focus_exact) * m + rest * k1 + (n_focus - focus_exact) * (k2 - k1)

    def saves_enough(self, n: int, m: int) -> bool:
        """Whether the approximation compresses less than half of the N×M pairs (otherwise: exact)."""
        return n > 0 and 2 * self.pairs(n, m) < n * m


def estimates(pool: Sequence[bytes | str], m: int, params: FastParams = FastParams()) -> bool:
    """Whether fast mode estimates scores for this pool and m targets; if not, it compresses every pair (exact).

    >>> estimates(["a", "b"], 100), estimates([str(i) for i in range(2933)], 100)
    (False, True)
    """
    return params.saves_enough(len(set(pool)), m)


def fast_alignments(
    pool: Sequence[bytes],
    targets: Sequence[bytes],
    level: int = 9,
    *,
    params: FastParams = FastParams(),
    pool_sizes: np.ndarray | None = None,
    target_sizes: np.ndarray | None = None,
    pair_sizes: PairSizes | None = None,
    joint_sizes: JointSizes | None = None,
    workers: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Approximate ZIP-FIT alignment (N,) float64 of each pool text, and its nearest target (N,) int64.

    Sizes are gzip at `level`, as in exact ZIP-FIT. `pool_sizes` (N,) and `target_sizes` (M,) are C(s) if
    already known. C(x⊕t) come from `pair_sizes` if given, else from `joint_sizes` blocks (default: a
    zlib.compress loop) split over `workers` threads.
    """
    if not targets:
        raise ValueError("ZIP-FIT needs at least one target text")
    m = len(targets)
    with ThreadPoolExecutor(workers) if workers > 1 else contextlib.nullcontext() as executor:  # one pool for all
        cx = _sizes(pool, level, executor) if pool_sizes is None else np.asarray(pool_sizes, dtype=np.int64)
        ct = _sizes(targets, level, executor) if target_sizes is None else np.asarray(target_sizes, dtype=np.int64)
        pair_sizes = pair_sizes or threaded_pair_sizes(pool, targets, level, workers, executor, joint_sizes)
        work = _Work(pair_sizes, cx, ct)
        first_of: dict[bytes, int] = {}
        representative = np.array([first_of.setdefault(text, i) for i, text in enumerate(pool)], dtype=np.int64)
        rows = np.unique(representative)  # each distinct text once, so duplicates get equal scores
        if params.saves_enough(len(rows), m):
            score, nearest = _estimate(work, rows, m, params)
        else:
            score, nearest = work.exact(rows)
    where = np.searchsorted(rows, representative)
    return score[where], nearest[where]


def _estimate(work: _Work, rows: np.ndarray, m: int, params: FastParams) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-4 of the module docstring for the pool texts `rows` (sorted): score and nearest, aligned to rows."""
    score, nearest = np.empty(len(rows)), np.empty(len(rows), dtype=np.int64)
    at = lambda subset: np.searchsorted(rows, subset)  # noqa: E731 - positions of pool indices in `rows`
    calibration = np.sort(_spread(rows[np.lexsort((rows, work.cx[rows]))], params.n_calibration))  # over C(x)
    cal_savings = work.savings(calibration, np.arange(m))
    sketch = sketch_order(cal_savings, params.k_focus)
    first = sketch[: params.k_first]
    score[at(calibration)], nearest[at(calibration)] = work.score(calibration, cal_savings)

    rest = np.setdiff1d(rows, calibration)
    measured = work.savings(rest, first)
    score[at(rest)], nearest[at(rest)] = work.score(rest, _Estimator(cal_savings, first, params.ridge)(measured))

    n_focus = int(np.ceil(params.focus * len(rest)))
    if params.k_focus > params.k_first and n_focus:
        top = rest[np.lexsort((rest, -score[at(rest)]))[:n_focus]]  # highest first, ties to the lower index
        focus_calibration = np.sort(_spread(top, params.n_focus_calibration))
        focus_savings = work.savings(focus_calibration, np.arange(m))
        score[at(focus_calibration)], nearest[at(focus_calibration)] = work.score(focus_calibration, focus_savings)
        fit = np.vstack([cal_savings, focus_savings])
        sketch = sketch_order(fit, params.k_focus, start=first)
        top = np.setdiff1d(top, focus_calibration)
        both = np.hstack([measured[np.searchsorted(rest, top)], work.savings(top, sketch[params.k_first :])])
        score[at(top)], nearest[at(top)] = work.score(top, _Estimator(fit, sketch, params.ridge)(both))
    return score, nearest


def sketch_order(savings: np.ndarray, k: int, start: Sequence[int] = ()) -> np.ndarray:
    """`start`, then targets up to k (at most M) whose savings columns best predict the row mean, in order.

    `savings` (n, M) holds S(x_i, t_j) for n calibration texts. Greedy forward selection (orthogonal matching
    pursuit) on the centred columns: each step takes the target most correlated with what the chosen targets
    leave unexplained; ties go to the lower index. Example: with columns [a, a, b] and row mean (2a + b)/3,
    the first pick is target 0, then target 2 (target 1, a copy of 0, explains nothing new).
    """
    columns = savings - savings.mean(axis=0)
    residual, basis = columns.mean(axis=1), columns.copy()
    tiny = 1e-9 * max(float(np.abs(columns).max()), 1e-12) * np.sqrt(len(columns))
    chosen: list[int] = []

    def take(pick: int) -> None:
        nonlocal residual, basis
        chosen.append(pick)
        norm = np.linalg.norm(basis[:, pick])
        if norm > tiny:
            q = basis[:, pick] / norm
            residual = residual - (q @ residual) * q
            basis = basis - np.outer(q, q @ basis)

    for pick in start:
        take(int(pick))
    while len(chosen) < min(k, savings.shape[1]):
        norms = np.linalg.norm(basis, axis=0)
        gain = np.where(norms > tiny, np.abs(basis.T @ residual) / np.maximum(norms, tiny), -1.0)
        gain[chosen] = -2.0
        if gain.max() <= 0:  # the rest are constant or already explained: take them in index order
            chosen.extend([j for j in range(savings.shape[1]) if j not in chosen][: k - len(chosen)])
            break
        take(int(np.argmax(gain)))
    return np.array(chosen, dtype=np.int64)


def threaded_pair_sizes(
    pool: Sequence[bytes],
    targets: Sequence[bytes],
    level: int,
    workers: int,
    executor: Executor | None = None,
    joint_sizes: JointSizes | None = None,
) -> PairSizes:
    """A PairSizes for gzip at `level` that splits the rows over `workers` threads (zlib releases the GIL).

    Blocks are computed by `joint_sizes` (default: `zipfit.joint_sizes`, a zlib.compress loop), on
    `executor`'s threads if given, else on a new pool's for each call.
    """

    joint = joint_sizes or (lambda xs, ts: zipfit.joint_sizes(xs, ts, sizer("gzip", level)))  # a sizer per call

    def block(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return joint([pool[i] for i in rows], [targets[j] for j in cols])

    def pair_sizes(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        if workers <= 1 or len(rows) < 2:
            return block(rows, cols)
        per_chunk = max(1, min(-(-len(rows) // (16 * workers)), 4096 // max(1, len(cols))))  # ~16 chunks a thread
        chunks = [rows[i : i + per_chunk] for i in range(0, len(rows), per_chunk)]
        if executor is not None:
            return np.concatenate(list(executor.map(lambda c: block(c, cols), chunks)))
        with ThreadPoolExecutor(workers) as own:
            return np.concatenate(list(own.map(lambda c: block(c, cols), chunks)))

    return pair_sizes


# --- helpers ---------------------------------------------------------------------------------------------------


class _Work:
    """Savings and scores for sets of pool rows, from single sizes and a PairSizes."""

    def __init__(self, pair_sizes: PairSizes, cx: np.ndarray, ct: np.ndarray) -> None:
        self.pair_sizes, self.cx, self.ct = pair_sizes, cx, ct

    def savings(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """S(x_i, t_j) = C(x_i) + C(t_j) - C(x_i⊕t_j), (r, c) float64."""
        if len(rows) == 0 or len(cols) == 0:
            return np.zeros((len(rows), len(cols)))
        return (self.cx[rows, None] + self.ct[None, cols] - self.pair_sizes(rows, cols)).astype(np.float64)

    def score(self, rows: np.ndarray, savings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Alignment mean_j S/max(C(x), C(t_j)) and the target with the highest S/max (lowest NCD), per row."""
        ratio = savings / np.maximum(self.cx[rows, None], self.ct[None, :])
        return ratio.mean(axis=1), ratio.argmax(axis=1).astype(np.int64)

    def exact(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.score(rows, self.savings(rows, np.arange(len(self.ct))))


class _Estimator:
    """Predicts S for all M targets from S measured on `sketch` targets, by ridge fitted on calibration rows."""

    def __init__(self, cal_savings: np.ndarray, sketch: np.ndarray, ridge: float) -> None:
        self.sketch = sketch
        self.mean = cal_savings.mean(axis=0)
        x = cal_savings[:, sketch] - self.mean[sketch]
        gram = x.T @ x
        penalty = ridge * max(float(np.trace(gram)) / len(sketch), 1e-9)
        self.weights = np.linalg.solve(gram + penalty * np.eye(len(sketch)), x.T @ (cal_savings - self.mean))

    def __call__(self, measured: np.ndarray) -> np.ndarray:
        """(r, k) savings on the sketch targets -> (r, M) estimated savings (the measured ones kept)."""
        estimate = self.mean + (measured - self.mean[self.sketch]) @ self.weights
        estimate[:, self.sketch] = measured
        return estimate


def _spread(ordered: np.ndarray, count: int) -> np.ndarray:
    """`count` items evenly spaced along `ordered` (all of them if fewer)."""
    count = min(count, len(ordered))
    return ordered[((np.arange(count) + 0.5) * len(ordered) / max(count, 1)).astype(np.int64)]


def _sizes(texts: Sequence[bytes], level: int, executor: Executor | None) -> np.ndarray:
    """(n,) int64 gzip sizes C(s), on the executor's threads if any."""
    if executor is None or len(texts) < 64:
        return zipfit.sizes(texts, sizer("gzip", level))
    step = -(-len(texts) // 32)
    parts = [texts[i : i + step] for i in range(0, len(texts), step)]
    return np.concatenate(list(executor.map(lambda part: zipfit.sizes(part, sizer("gzip", level)), parts)))
