"""Benchmark exact ZIP-FIT against the `zip-fit` package and the stock-zlib bound; fast mode against exact.

    .venv/bin/python benchmarks/bench_zipfit.py                      # sample pool × each sample target set
    .venv/bin/python benchmarks/bench_zipfit.py --pool P --targets T [--targets T2] [--level 6] [--repeat 3]

For each target set, in the same run and on all cores, each timed as a whole process (start-up, imports,
loading and writing included), wall clock:

- the bound: benchmarks/zipfit_bound.c, compiled with gcc into a temporary folder, one process per core over
  a split of the pool rows: a C loop of deflateReset + deflate(x⊕t) over every pair, nothing else; also one
  process alone on the first split (pairs per second per core);
- ours: `python -m scoring score --method zipfit --no-cache` (exact);
- the `zip-fit` package (its multiprocessing Pool) on the same texts and level;
- fast mode against exact: speed ratio (scoring call alone, in this process; whole processes that load and
  score; and the command line with `--zipfit-mode fast` against the exact one above), top-10% overlap,
  Spearman, nearest-target agreement.

It prints pairs/s, ours/zip-fit, ours as % of the bound, and checks that the scores are equal (max abs diff
against zip-fit, and against scores computed from the bound's own sizes). Other jobs on the machine distort
timings: the script waits for a quiet machine before each measurement, prints the CPU other processes used
meanwhile ("others", in cores; ! marks a suspect run), and with `--repeat N` runs everything N times,
interleaved, keeping the fastest run and the median ratio to the bound. Our modules are byte-compiled
first (`compileall`, as any earlier run would have done) so that start-up compares fairly with the peers'.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from _machine import busy_seconds, children_cpu, cpu_model, load_average  # the script's folder is on sys.path

from scoring.compare import spearman
from scoring.compression import sizer
from scoring.loading import load_dataset
from scoring.progress import default_workers

ROOT = Path(__file__).resolve().parent.parent

HERE = Path(__file__).resolve().parent
PYTHON = sys.executable
SAMPLE_TARGETS = ["sample_data/targets_humaneval.jsonl", "sample_data/targets_translation.jsonl"]
QUIET_OTHERS = 0.05
"""Other processes using more than this many cores during a measurement make it suspect (flagged with !)."""


@dataclass
class Timing:
    """Wall seconds of one measurement, the CPU seconds of what it ran, and other processes' mean cores."""

    wall: float
    cpu: float
    others: float
    stdout: str = ""

    def flag(self) -> str:
        return "!" if self.others > QUIET_OTHERS else " "


# --- measuring ----------------------------------------------------------------------------------------------


def run_timed(commands: list[list[str]], cwd: Path = ROOT) -> Timing:
    """Run the commands at the same time as child processes; wall clock from the first start to the last end."""
    busy, children, own = busy_seconds(), children_cpu(), time.process_time()
    start = time.perf_counter()
    processes = [subprocess.Popen(c, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for c in commands]
    outputs = [p.communicate() for p in processes]
    wall = time.perf_counter() - start
    for command, process, (_, err) in zip(commands, processes, outputs, strict=True):
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}):\n{err.decode()[-2000:]}")
    cpu = children_cpu() - children
    others = max(0.0, busy_seconds() - busy - cpu - (time.process_time() - own)) / wall
    return Timing(wall, cpu, others, "".join(out.decode() for out, _ in outputs))


def wait_until_quiet(max_seconds: float) -> float:
    """Wait (up to max_seconds) until other processes use under QUIET_OTHERS cores; returns what was seen."""
    deadline = time.monotonic() + max_seconds
    while True:
        busy, own = busy_seconds(), time.process_time()
        time.sleep(1.0)
        others = max(0.0, busy_seconds() - busy - (time.process_time() - own))
        if others <= QUIET_OTHERS or time.monotonic() >= deadline:
            return others


# --- machine ---------------------------------------------------------------------------------------------------


def machine_info() -> list[str]:
    return [
        f"date        {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"cores       {default_workers()} usable ({os.cpu_count()} online), CPU model: {cpu_model()}",
        f"python      {platform.python_version()} ({sys.executable})",
        f"zlib        {zlib.ZLIB_RUNTIME_VERSION} (Python's zlib module; the bound links the system -lz)",
        f"load avg    {load_average()} (1, 5, 15 min) at start",
    ]


# --- the C bound ---------------------------------------------------------------------------------------------


def build_bound(folder: Path) -> Path | None:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        return None
    binary = folder / "zipfit_bound"
    command = [gcc, "-O2", "-o", str(binary), str(HERE / "zipfit_bound.c"), "-lz"]
    built = subprocess.run(command, capture_output=True, text=True)
    if built.returncode != 0:
        print(f"  (cannot build the bound: {built.stderr.strip()[:300]})")
        return None
    return binary


def write_texts(path: Path, pool: list[bytes], targets: list[bytes]) -> None:
    """The ZFB1 file zipfit_bound reads: magic, u32 N, u32 M, then u32 length + bytes per text."""
    with path.open("wb") as f:
        f.write(b"ZFB1" + struct.pack("<II", len(pool), len(targets)))
        for text in [*pool, *targets]:
            f.write(struct.pack("<I", len(text)) + text)


def split_rows(pool: list[bytes], m: int, target_bytes: int, parts: int) -> list[tuple[int, int]]:
    """Contiguous row ranges with about equal work (bytes deflated: m·|x| + Σ|t| per row)."""
    work = np.cumsum([m * len(x) + target_bytes for x in pool], dtype=np.float64)
    cuts = [0, *(int(np.searchsorted(work, work[-1] * k / parts)) for k in range(1, parts)), len(pool)]
    return [(cuts[k], cuts[k + 1]) for k in range(parts)]


# --- quality -------------------------------------------------------------------------------------------------


def top_overlap(approx: np.ndarray, exact: np.ndarray, fraction: float = 0.1) -> float:
    """|top k by approx ∩ top k by exact| / k, k = round(fraction·N), ties to the lower index."""
    k = max(1, round(fraction * len(exact)))
    top = lambda s: set(np.lexsort((np.arange(len(s)), -s))[:k].tolist())  # noqa: E731
    return len(top(approx) & top(exact)) / k


# --- one target set ------------------------------------------------------------------------------------------


@dataclass
class Contender:
    """Something timed as whole processes: `commands` run at the same time; `pairs` x⊕t pairs per run."""

    label: str
    commands: list[list[str]]
    pairs: int
    runs: list[Timing] = field(default_factory=list)

    @property
    def best(self) -> Timing:
        return min(self.runs, key=lambda t: t.wall)


def bench_target_set(args: argparse.Namespace, pool_path: str, targets_path: str, folder: Path, bound: Path | None):
    pool = [t.encode() for t in load_dataset(pool_path).texts]
    targets = [t.encode() for t in load_dataset(targets_path).texts]
    n, m, cores, level = len(pool), len(targets), default_workers(), str(args.level)
    pairs = n * m
    print(f"\n== {Path(targets_path).name}: {n} pool texts × {m} targets = {pairs:,} pairs, gzip level {level}")
    write_texts(folder / "texts.zfb", pool, targets)
    ranges = split_rows(pool, m, sum(len(t) for t in targets), cores)
    contenders: dict[str, Contender] = {}
    if bound is not None:
        texts = str(folder / "texts.zfb")
        every = [
            [str(bound), texts, level, str(a), str(b), str(folder / f"sizes{k}.bin")] for k, (a, b) in enumerate(ranges)
        ]
        contenders["bound"] = Contender(f"C bound, {cores} processes", every, pairs)
        a, b = ranges[0]
        contenders["core"] = Contender(
            f"C bound, 1 process ({b - a} rows)", [[str(bound), texts, level, str(a), str(b)]], (b - a) * m
        )
    ours = [
        PYTHON,
        "-m",
        "scoring",
        "score",
        "--pool",
        pool_path,
        "--targets",
        targets_path,
        "--method",
        "zipfit",
        "--no-cache",
        "--level",
        level,
        "--out",
        str(folder / "ours.parquet"),
    ]
    contenders["ours"] = Contender("ours: python -m scoring score (exact)", [ours], pairs)
    if not args.skip_zip_fit:
        peer = [PYTHON, str(HERE / "_peer.py"), "zip-fit", pool_path, targets_path, level, str(folder / "zip_fit.npy")]
        contenders["zip-fit"] = Contender("zip-fit package (multiprocessing Pool)", [peer], pairs)
    for _ in range(max(1, args.repeat)):  # interleaved, so a slow spell of the machine hits every contender
        for contender in contenders.values():
            wait_until_quiet(args.wait_each)
            contender.runs.append(run_timed(contender.commands))
    report_exact(contenders)
    exact_score, exact_nearest = check_scores(args, contenders, folder, pool, targets)
    if not args.skip_fast:
        bench_fast(args, pool_path, targets_path, pool, targets, exact_score, exact_nearest, folder, contenders["ours"])


def report_exact(contenders: dict[str, Contender]) -> None:
    bound = contenders.get("bound")
    print(
        f"  {'whole process, wall clock (best of runs)':46s} {'wall s':>7s} {'pairs/s':>10s} {'of bound':>9s} "
        f"{'median':>7s} {'cpu':>6s} {'others':>7s}"
    )
    for key, c in contenders.items():
        t = c.best
        if bound and key != "core":
            per_run = [b.wall / r.wall for b, r in zip(bound.runs, c.runs, strict=True)]
            of_bound = f"{100 * bound.best.wall / t.wall:8.1f}% {100 * float(np.median(per_run)):6.1f}%"
        else:
            of_bound = f"{'-':>9s} {'-':>7s}"
        print(
            f"  {c.label:46s} {t.wall:7.2f} {c.pairs / t.wall:10,.0f} {of_bound} {t.cpu / t.wall:5.2f}c "
            f"{t.others:6.2f}c{t.flag()}"
        )
    ours = contenders["ours"]
    if bound:
        per_core, all_cores = contenders["core"].pairs / contenders["core"].best.wall, bound.pairs / bound.best.wall
        print(f"  bound: {per_core:,.0f} pairs/s on one core, {all_cores:,.0f} on all ({all_cores / per_core:.2f}×)")
        print(f"  ours as % of the bound, whole process: {100 * bound.best.wall / ours.best.wall:.1f}% (best runs)")
    if "zip-fit" in contenders:
        peer = contenders["zip-fit"]
        per_run = [p.wall / o.wall for p, o in zip(peer.runs, ours.runs, strict=True)]
        print(
            f"  ours / zip-fit speed: {peer.best.wall / ours.best.wall:.2f}× (best runs), "
            f"{float(np.median(per_run)):.2f}× (median of runs)"
        )
    print("  (median = median over runs of bound time / this time, each run next to its bound run)")


def check_scores(args, contenders, folder: Path, pool: list[bytes], targets: list[bytes]):
    """Max abs differences of our exact scores to zip-fit's and to scores from the bound's sizes."""
    import pyarrow.parquet as pq

    table = pq.read_table(folder / "ours.parquet", columns=["pool_index", "zipfit_score", "zipfit_nearest_target"])
    order = np.argsort(table.column("pool_index").to_numpy())
    score = table.column("zipfit_score").to_numpy()[order]
    nearest = table.column("zipfit_nearest_target").to_numpy()[order]
    if "zip-fit" in contenders:
        print(f"  scores: max |ours - zip-fit| = {np.abs(score - np.load(folder / 'zip_fit.npy')).max():.3g}")
    if "bound" in contenders:
        files = sorted(folder.glob("sizes*.bin"), key=lambda f: int(f.stem[5:]))
        joint = np.concatenate([np.fromfile(f, dtype=np.int32) for f in files]).reshape(len(pool), len(targets))
        size = sizer("gzip", args.level)
        cx, ct = np.array([size(x) for x in pool])[:, None], np.array([size(t) for t in targets])[None, :]
        distance = (joint - np.minimum(cx, ct)) / np.maximum(cx, ct)
        diff = np.abs(score - (1.0 - distance.mean(axis=1))).max()
        same = np.mean(distance.argmin(axis=1) == nearest)
        print(f"  scores: max |ours - from the bound's sizes| = {diff:.3g}; same nearest target: {same:.1%}")
    return score, nearest


def bench_fast(
    args, pool_path, targets_path, pool, targets, exact_score, exact_nearest, folder: Path, exact_cli: Contender
) -> None:
    """Fast mode against exact: the scoring calls in this process, then whole processes (each mode's scoring
    alone, and the command line, which also imports pyarrow and writes Parquet); quality vs exact."""
    from scoring.pipeline import ZipfitParams, run_zipfit, run_zipfit_fast
    from scoring.zipfit_fast import FastParams, fast_alignments

    cores, level, repeat = default_workers(), args.level, max(1, args.repeat)
    texts_pool, texts_targets = [x.decode() for x in pool], [t.decode() for t in targets]
    share = FastParams().pairs(len(pool), len(targets)) / (len(pool) * len(targets))
    print(f"  fast mode ({share:.1%} of the x⊕t pairs; {cores} threads; best of {repeat}):")
    engines = {
        "exact and fast, in this process": (
            lambda: run_zipfit(texts_pool, texts_targets, ZipfitParams(level=level), workers=cores),
            lambda: run_zipfit_fast(texts_pool, texts_targets, ZipfitParams(level=level), workers=cores),
        )
    }
    for name, (run_exact, run_fast) in engines.items():
        wait_until_quiet(args.wait_each)
        exact_seconds = min(_seconds(run_exact) for _ in range(repeat))
        fast_seconds = min(_seconds(run_fast) for _ in range(repeat))
        print(
            f"    scoring call, {name}: exact {exact_seconds:.2f} s, fast {fast_seconds:.3f} s -> "
            f"{exact_seconds / fast_seconds:.1f}× faster"
        )
    runs = {
        which: Contender(
            which,
            [
                [
                    PYTHON,
                    str(HERE / "_peer.py"),
                    which,
                    pool_path,
                    targets_path,
                    str(level),
                    str(folder / f"{which}.npz"),
                ]
            ],
            0,
        )
        for which in ("exact", "fast")
    }
    fast_cli = [*exact_cli.commands[0], "--zipfit-mode", "fast"]
    fast_cli[fast_cli.index("--out") + 1] = str(folder / "fast.parquet")
    runs["command line"] = Contender("command line, fast", [fast_cli], 0)
    for _ in range(repeat):
        for contender in runs.values():
            wait_until_quiet(args.wait_each)
            contender.runs.append(run_timed(contender.commands))
    exact_run, fast_run = runs["exact"].best, runs["fast"].best
    ratio = exact_run.wall / fast_run.wall
    print(
        f"    whole process (start, load, score): exact {exact_run.wall:.2f} s, fast {fast_run.wall:.2f} s -> "
        f"{ratio:.1f}× (others {exact_run.others:.2f}c / {fast_run.others:.2f}c)"
    )
    exact_run, fast_run = exact_cli.best, runs["command line"].best
    print(
        f"    command line (the above, pyarrow, Parquet written): exact {exact_run.wall:.2f} s, fast "
        f"{fast_run.wall:.2f} s -> {exact_run.wall / fast_run.wall:.1f}× (others {fast_run.others:.2f}c)"
    )
    fast = np.load(folder / "fast.npz")
    score, nearest = fast["score"], fast["nearest"]
    same = np.mean(nearest == exact_nearest)
    print(
        f"    quality vs exact: top-10% overlap {top_overlap(score, exact_score):.3f}, "
        f"Spearman {spearman(score, exact_score):.4f}, same nearest target {same:.1%}"
    )
    again = fast_alignments(pool, targets, level, workers=1)[0]
    print(f"    deterministic (another run, 1 thread, same scores): {np.array_equal(again, score)}")


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", default="sample_data/pool.jsonl", help="pool file (default: the sample pool)")
    parser.add_argument("--targets", action="append", help="target file (repeatable; default: both sample sets)")
    parser.add_argument("--level", type=int, default=9, help="gzip level for everything (default 9)")
    parser.add_argument("--repeat", type=int, default=1, help="run everything N times, interleaved; keep the fastest")
    parser.add_argument("--wait", type=float, default=120, help="seconds to wait for a quiet machine first")
    parser.add_argument("--wait-each", type=float, default=20, help="... and before each measurement")
    parser.add_argument("--skip-zip-fit", action="store_true", help="do not time the zip-fit package")
    parser.add_argument("--skip-fast", action="store_true", help="do not compare fast mode with exact")
    parser.add_argument(
        "--no-precompile", action="store_true", help="do not write our modules' .pyc first (as a second run would)"
    )
    args = parser.parse_args()
    os.chdir(ROOT)
    print("\n".join(machine_info()))
    if not args.no_precompile:  # the peers' modules have .pyc in site-packages; ours get them like any second run
        subprocess.run([PYTHON, "-m", "compileall", "-q", "scoring", "benchmarks"], check=False, capture_output=True)
        print("pyc         compiled scoring/ and benchmarks/ first (python -m compileall), as any earlier run would")
    others = wait_until_quiet(args.wait)
    print(
        f"others      {others:.2f} cores busy with other processes before starting"
        f"{' (NOT quiet: timings are suspect)' if others > QUIET_OTHERS else ''}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-zipfit-") as tmp:
        folder = Path(tmp)
        bound = build_bound(folder)
        if bound is None:
            print("no C compiler or zlib headers: the bound is skipped")
        for targets_path in args.targets or SAMPLE_TARGETS:
            bench_target_set(args, args.pool, targets_path, folder, bound)
    print(
        "\n'others' = cores used by other processes during a measurement; ! marks a suspect one (> "
        f"{QUIET_OTHERS}). c = cores."
    )


if __name__ == "__main__":
    main()
