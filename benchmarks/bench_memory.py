"""Peak memory against pool size and target count: exact ZIP-FIT against `zip-fit`, RDS+ selection against numpy.

ZIP-FIT: ours (`run_zipfit`, exact, all cores as threads, no cache) against the `zip-fit` package (its
multiprocessing Pool on all cores), which builds a list of all N×M (x, t, C(x), C(t), i) pairs and a list of
N×M similarities before averaging them. Same texts, gzip level 9. The pool is the sample pool repeated until
it has the wanted size, each copy after the first made distinct by a "# copy k" line; targets are the first M
HumanEval targets. Contract: ours at a 20k pool × 100 targets within 1.15× of 20k × 20 targets, under 1 GB.

RDS+ selection: `scoring.rds.select` (round-robin) on random unit float32 vectors in an on-disk `.npy` read as a
memmap, with a small `memory_budget_bytes` (the task scores spill to a scratch file), against a naive
implementation in its own process: the whole matrix loaded into RAM, S = targets @ pool.T dense, then the
same round-robin rule on S (`scoring.rds.round_robin_ranks`). Ours should stay within the bound its docstring
states (start-up + ~50 bytes per pool item + targets + budget), far below the matrix's size on disk.

Every configuration runs in a new process (interpreter start-up, imports, loading, scoring, saving the scores),
one at a time, on the same cores. Peak memory is measured two ways:

- peak RSS: the kernel's high-water mark of the largest single process of the tree: the process's own VmHWM
  (/proc/self/status) and its reaped workers' ru_maxrss (RUSAGE_CHILDREN), both printed by the process at its
  end (exact, but blind to how many worker processes there were). Not `wait4`'s or RUSAGE_SELF's ru_maxrss:
  Linux carries the high-water mark of the process that called exec over to the new program, so those would
  report at least this script's own RSS;
- peak tree PSS: sampled every 20 ms, the sum of PSS (/proc/PID/smaps_rollup) over the process and all its
  descendants; pages shared between forked workers count once (and library pages this script maps too count
  in part, alike for both sides). This is the peer-against-ours ratio.

Both sides' results are compared (max |score difference|), so a small but wrong answer would show.

    .venv/bin/python benchmarks/bench_memory.py                        # full sizes, about 4 minutes on 2 cores
    .venv/bin/python benchmarks/bench_memory.py --quick                # small sizes, under a minute
    .venv/bin/python benchmarks/bench_memory.py --peer-max-pairs 400000 --skip-rds
    .venv/bin/python benchmarks/bench_memory.py --skip-zipfit --rds-pool 500000 --rds-budget-mb 128
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _machine import cpu_model, load_average  # benchmarks/, on sys.path as the script's folder
from large_pool import sample_copies

ROOT = Path(__file__).resolve().parent.parent
STARTED = time.perf_counter()
MB = 1 << 20
SAMPLE_EVERY = 0.02
CONTRACT_RATIO = 1.15
CONTRACT_BYTES = 1 << 30
RDS_BYTES_PER_ITEM = 50
"""scoring/rds.py's docstring: beyond about this many bytes per pool item and the targets, RAM stays in budget."""

OURS_ZIPFIT = """
import sys, time
import numpy as np
from scoring.cache import Cache
from scoring.loading import load_dataset
from scoring.pipeline import ZipfitParams, run_zipfit
pool, targets = load_dataset(sys.argv[1]).texts, load_dataset(sys.argv[2]).texts
started = time.perf_counter()
result = run_zipfit(pool, targets, ZipfitParams(level=int(sys.argv[3])), cache=Cache(None), workers=int(sys.argv[4]))
inside = time.perf_counter() - started
np.save(sys.argv[5], result.score)
print(f"seconds_inside={inside:.3f}")
"""

PEER_ZIPFIT = """
import contextlib, io, sys, time
import numpy as np
from zip_fit.zipfit import ZIPFIT
reference = ZIPFIT(sys.argv[1], sys.argv[2], k=0, compression_algorithm="gzip", compress_level=int(sys.argv[3]))
pool, targets = reference.load_jsonl(sys.argv[1]), reference.load_jsonl(sys.argv[2])
reference.k = len(pool)
started = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    ranked = dict(reference.rank_sequences_by_alignment(pool, targets))
inside = time.perf_counter() - started
np.save(sys.argv[5], np.array([ranked[text] for text in pool], dtype=np.float64))
print(f"seconds_inside={inside:.3f}")
"""

OURS_IMPORTS = """
from scoring.cache import Cache
from scoring.loading import load_dataset
from scoring.pipeline import ZipfitParams, run_zipfit
"""

PEER_IMPORTS = """
from zip_fit.zipfit import ZIPFIT
"""

OURS_RDS = """
import sys, time
from pathlib import Path
import numpy as np
from scoring.rds import select
pool, targets = np.load(sys.argv[1], mmap_mode="r"), np.load(sys.argv[2])
started = time.perf_counter()
result = select(pool, targets, "round-robin", memory_budget_bytes=int(sys.argv[3]), spill_dir=Path(sys.argv[4]))
inside = time.perf_counter() - started
np.savez(sys.argv[5], score=result.score, rank=result.rank, nearest=result.nearest_target)
print(f"seconds_inside={inside:.3f}")
"""

PEER_RDS = """
import sys, time
import numpy as np
from scoring.rds import round_robin_ranks
pool, targets = np.load(sys.argv[1]), np.load(sys.argv[2])
started = time.perf_counter()
similarity = targets @ pool.T
score, nearest = similarity.max(axis=0), similarity.argmax(axis=0)
rank = round_robin_ranks(similarity)
inside = time.perf_counter() - started
np.savez(sys.argv[5], score=score, rank=rank, nearest=nearest)
print(f"seconds_inside={inside:.3f}")
"""

PEAKS = """
import resource
with open("/proc/self/status") as status:
    high_water = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
print(f"peak_self={high_water[0] * 1024}")
print(f"peak_children={resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}")
"""

RDS_IMPORTS = """
import sys
import numpy as np
from scoring.rds import select
pool, targets = np.load(sys.argv[1], mmap_mode="r"), np.load(sys.argv[2])
"""


# --- measuring -----------------------------------------------------------------------------------------------


@dataclass
class Peak:
    """One whole-process run: wall seconds, seconds of the work alone, peak RSS and peak tree PSS in bytes."""

    wall: float
    inside: float
    rss: int
    tree: int
    processes: int


def measure(script: str, arguments: list[str], timeout: float) -> Peak | str:
    """Run `python -c script arguments…` in a new process, sampling its tree's memory; a Peak, or why not.

    The script is followed by PEAKS, which prints the process's own high-water RSS and its children's.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-c", script + PEAKS, *arguments], cwd=ROOT, stdout=out, stderr=err, start_new_session=True
        )
        tree, processes = 0, 1
        while True:
            if process.poll() is not None:
                break
            pss, count = _tree_pss(process.pid)
            tree, processes = max(tree, pss), max(processes, count)
            if time.perf_counter() - started > timeout:
                os.killpg(process.pid, signal.SIGKILL)  # the session this run started, and nothing else
                process.wait()
                return f"timed out after {timeout:.0f} s"
            time.sleep(SAMPLE_EVERY)
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if process.returncode != 0:
        return f"failed ({process.returncode}): {stderr.strip()[-600:]}"
    values = dict(line.split("=", 1) for line in stdout.splitlines() if "=" in line)
    rss = max(int(values["peak_self"]), int(values["peak_children"]))
    return Peak(wall, float(values.get("seconds_inside", "nan")), rss, tree, processes)


def _tree_pss(root: int) -> tuple[int, int]:
    """(sum of PSS bytes, number of processes) of `root` and all its descendants, now."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier.extend(children)
    total = 0
    for pid in tree:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except (OSError, ValueError):
            continue
    return total, len(tree)


# --- ZIP-FIT -----------------------------------------------------------------------------------------------------


def write_jsonl(path: Path, texts: list[str]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for text in texts:
            f.write(json.dumps({"text": text}) + "\n")
    return path


def bench_zipfit(args: argparse.Namespace, folder: Path) -> None:
    from scoring.loading import load_dataset

    pool_sizes, target_counts = _ints(args.pool_sizes), _ints(args.target_counts)
    sweep_pool, sweep_targets = max(pool_sizes), min(target_counts)
    configs = [(n, sweep_targets) for n in pool_sizes] + [(sweep_pool, m) for m in target_counts if m != sweep_targets]
    pool = sample_copies(max(n for n, _ in configs))
    targets = load_dataset(ROOT / "sample_data" / "targets_humaneval.jsonl").texts
    if max(m for _, m in configs) > len(targets):
        raise SystemExit(f"at most {len(targets)} targets in sample_data/targets_humaneval.jsonl")
    mean = lambda texts: sum(len(t.encode()) for t in texts) / len(texts)  # noqa: E731
    print(
        f"\n== exact ZIP-FIT: ours (run_zipfit, {args.workers} threads, no cache) against the zip-fit package "
        f"(multiprocessing Pool of os.cpu_count() = {os.cpu_count()}), gzip level {args.level}"
    )
    print(
        f"pool: sample_data/pool.jsonl ({len(load_dataset(ROOT / 'sample_data' / 'pool.jsonl'))} texts) repeated to "
        f"{len(pool):,} distinct texts, {mean(pool):.0f} bytes on average; targets: the first M of "
        f"targets_humaneval.jsonl ({mean(targets):.0f} bytes on average); peer skipped above "
        f"{args.peer_max_pairs:,} pairs"
    )
    level, workers = str(args.level), str(args.workers)
    ours_base = measure(OURS_IMPORTS, [], args.timeout)
    peer_base = measure(PEER_IMPORTS, [], args.timeout)
    print(
        f"start-up and imports alone (peak RSS): ours {_mb(ours_base)}, zip-fit {_mb(peer_base)} (it imports datasets)"
    )
    print(
        f"{'pool × targets':<16} {'pairs':>10} │ {'ours s':>7} {'ours RSS':>9} {'ours PSS':>9} │ {'peer s':>7} "
        f"{'peer RSS':>9} {'peer PSS':>9} {'procs':>5} │ {'peer/ours':>9} {'max |Δscore|':>12}"
    )
    ours_at: dict[tuple[int, int], Peak | str] = {}
    for n, m in configs:
        pool_path = write_jsonl(folder / f"pool_{n}.jsonl", pool[:n])
        targets_path = write_jsonl(folder / f"targets_{m}.jsonl", targets[:m])
        common = [str(pool_path), str(targets_path), level, workers]
        ours = ours_at[n, m] = measure(OURS_ZIPFIT, [*common, str(folder / "ours.npy")], args.timeout)
        if n * m > args.peer_max_pairs:
            peer: Peak | str = "skipped (too many pairs)"
        else:
            peer = measure(PEER_ZIPFIT, [*common, str(folder / "peer.npy")], args.timeout)
        both = isinstance(ours, Peak) and isinstance(peer, Peak)
        diff = f"{np.abs(np.load(folder / 'ours.npy') - np.load(folder / 'peer.npy')).max():12.2g}" if both else ""
        ratio = f"{peer.tree / ours.tree:8.2f}×" if both else ""
        print(
            f"{f'{n:,} × {m}':<16} {n * m:>10,} │ {_cells(ours, False)} │ {_cells(peer, True)} │ {ratio:>9} {diff:>12}",
            flush=True,
        )
        for name, run in (("ours", ours), ("zip-fit", peer)):
            if isinstance(run, str) and not run.startswith("skipped"):
                print(f"   {name}: {run}")
        (folder / "ours.npy").unlink(missing_ok=True)
        (folder / "peer.npy").unlink(missing_ok=True)
    print(
        "peer/ours = ratio of peak tree PSS; max |Δscore| = largest difference of the two sides' scores; "
        "ours runs as one process (threads), zip-fit as a main process and its Pool workers"
    )
    low, high = ours_at.get((sweep_pool, sweep_targets)), ours_at.get((sweep_pool, max(target_counts)))
    if isinstance(low, Peak) and isinstance(high, Peak) and high is not low:
        ratio = high.rss / low.rss
        verdict = "PASS" if ratio <= CONTRACT_RATIO and high.rss < CONTRACT_BYTES else "FAIL"
        full = sweep_pool == 20_000 and max(target_counts) == 100 and sweep_targets == 20
        print(
            f"ours, peak RSS at {sweep_pool:,} × {max(target_counts)} / at {sweep_pool:,} × {sweep_targets}: "
            f"{ratio:.3f} (≤ {CONTRACT_RATIO}), {high.rss / MB:.0f} MB (< 1 GB) -> {verdict}"
            + ("" if full else " (the contract is stated for 20,000 × 100 against 20,000 × 20: run without --quick)")
        )


# --- RDS+ selection --------------------------------------------------------------------------------------------


def write_unit_rows(path: Path, n: int, d: int, seed: int, chunk: int = 20_000) -> None:
    """An (n, d) float32 .npy of random unit rows, written chunk by chunk (never all in this process's RAM)."""
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for start in range(0, n, chunk):
        rows = rng.standard_normal((min(chunk, n - start), d), dtype=np.float32)
        out[start : start + len(rows)] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    out.flush()
    del out


def bench_rds(args: argparse.Namespace, folder: Path) -> None:
    n, d, budget = args.rds_pool, args.rds_dim, int(args.rds_budget_mb * MB)
    counts = _ints(args.rds_targets)
    pool_path = folder / "embeddings.npy"
    write_unit_rows(pool_path, n, d, seed=0)
    size = pool_path.stat().st_size
    spill = folder / "spill"
    spill.mkdir()
    print(
        f"\n== RDS+ selection (round-robin): ours (scoring.rds.select on a memmap, memory_budget_bytes "
        f"{budget / MB:.0f} MB) against the naive in-RAM targets @ pool.T"
    )
    print(
        f"pool: {n:,} random unit float32 vectors of dimension {d} in a .npy of {size / MB:.0f} MB (in the page "
        f"cache, just written); targets: random unit vectors"
    )
    print(
        f"{'pool × targets':<16} │ {'ours s':>7} {'ours RSS':>9} {'bound':>9} {'RSS/file':>8} │ {'peer s':>7} "
        f"{'peer RSS':>9} {'RSS/file':>8} │ {'peer/ours':>9} {'max |Δscore|':>12} {'same rank':>9} {'top 10%':>9}"
    )
    ours_at: dict[int, Peak | str] = {}
    for m in counts:
        targets_path = folder / f"rds_targets_{m}.npy"
        write_unit_rows(targets_path, m, d, seed=m)
        common = [str(pool_path), str(targets_path), str(budget), str(spill)]
        base = measure(RDS_IMPORTS, common, args.timeout)
        ours = ours_at[m] = measure(OURS_RDS, [*common, str(folder / "ours.npz")], args.timeout)
        peer = measure(PEER_RDS, [*common, str(folder / "peer.npz")], args.timeout)
        bound = base.rss + RDS_BYTES_PER_ITEM * n + 4 * m * d + budget if isinstance(base, Peak) else None
        bound_cell = f"{bound / MB:8.0f}M" if bound else f"{'?':>9}"
        ours_cells = f"{'':>7} {'':>9} {bound_cell} {'':>8}"
        if isinstance(ours, Peak):
            over = "!" if bound is not None and ours.rss > bound else " "
            ours_cells = f"{ours.wall:7.1f} {ours.rss / MB:8.0f}M {bound_cell}{over}{ours.rss / size:7.2f}"
        peer_cells = f"{'':>7} {'':>9} {'':>8}"
        if isinstance(peer, Peak):
            peer_cells = f"{peer.wall:7.1f} {peer.rss / MB:8.0f}M {peer.rss / size:8.2f}"
        tail = ""
        if isinstance(ours, Peak) and isinstance(peer, Peak):
            a, b = np.load(folder / "ours.npz"), np.load(folder / "peer.npz")
            same = np.mean(a["rank"] == b["rank"])
            first = max(1, n // 10)
            top = np.mean(np.isin(np.flatnonzero(a["rank"] < first), np.flatnonzero(b["rank"] < first)))
            diff = np.abs(a["score"] - b["score"]).max()
            tail = f"{peer.rss / ours.rss:8.2f}× {diff:12.2g} {same:9.1%} {top:9.2%}"
        print(f"{f'{n:,} × {m}':<16} │ {ours_cells} │ {peer_cells} │ {tail}", flush=True)
        for name, run in (("start-up", base), ("ours", ours), ("naive", peer)):
            if isinstance(run, str):
                print(f"   {name}: {run}")
        if isinstance(ours, Peak) and bound is not None and ours.rss > bound:
            print(f"   ! ours exceeds the documented bound by {(ours.rss - bound) / MB:.1f} MB")
        for name in ("ours.npz", "peer.npz"):
            (folder / name).unlink(missing_ok=True)
        if isinstance(base, Peak):
            print(f"   start-up, imports and opening the memmap alone: {base.rss / MB:.0f} MB")
    low, high = ours_at.get(min(counts)), ours_at.get(max(counts))
    if isinstance(low, Peak) and isinstance(high, Peak) and high is not low:
        print(f"ours, peak RSS at {max(counts)} targets / at {min(counts)}: {high.rss / low.rss:.3f}")
    print(
        "bound = start-up alone + 50 bytes per pool item + the targets + the budget (scoring/rds.py's docstring); "
        "! = over it.\nRSS/file = peak RSS / size of the .npy on disk; peer/ours = peak RSS ratio (one process each); "
        "same rank = share of pool items with equal round-robin ranks (ours sums in float64, the naive way in "
        "float32, so near-ties can swap); top 10% = share of "
        "ours' first 10% selected that the naive way also selects first."
    )


# --- report ------------------------------------------------------------------------------------------------------


def _cells(run: Peak | str, with_processes: bool) -> str:
    if isinstance(run, str):
        text = "skipped (too many pairs)" if run.startswith("skipped") else "no result (see below)"
        return f"{text:>{37 if with_processes else 27}}"
    cells = f"{run.wall:7.1f} {run.rss / MB:8.0f}M {run.tree / MB:8.0f}M"
    return f"{cells} {run.processes:5d}" if with_processes else cells


def _mb(run: Peak | str) -> str:
    return f"{run.rss / MB:.0f} MB" if isinstance(run, Peak) else run


def _ints(text: str) -> list[int]:
    return [int(value.replace("_", "")) for value in text.split(",") if value.strip()]


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from scoring.progress import default_workers

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test, under a minute)")
    parser.add_argument("--pool-sizes", help="ZIP-FIT pool sizes, at the smallest target count (5000,10000,20000)")
    parser.add_argument("--target-counts", help="ZIP-FIT target counts, at the largest pool (default 20,50,100)")
    parser.add_argument("--level", type=int, default=9, help="gzip level (default 9)")
    parser.add_argument("--workers", type=int, default=default_workers(), help="our threads (default: all cores)")
    parser.add_argument(
        "--peer-max-pairs", type=int, default=2_000_000, help="skip zip-fit above this many pairs (default 2M)"
    )
    parser.add_argument("--rds-pool", type=int, help="RDS+ pool vectors (default 200000; --quick 50000)")
    parser.add_argument("--rds-dim", type=int, default=576, help="RDS+ vector dimension (default 576, SmolLM2's)")
    parser.add_argument("--rds-targets", default="20,100", help="RDS+ target counts (default 20,100)")
    parser.add_argument("--rds-budget-mb", type=float, help="ours' memory_budget_bytes in MB (default 64; quick 8)")
    parser.add_argument("--timeout", type=float, default=900, help="give up on one process after this many seconds")
    parser.add_argument("--skip-zipfit", action="store_true")
    parser.add_argument("--skip-rds", action="store_true")
    args = parser.parse_args()
    args.pool_sizes = args.pool_sizes or ("1000,2000" if args.quick else "5000,10000,20000")
    args.target_counts = args.target_counts or "20,50,100"
    args.rds_pool = args.rds_pool or (50_000 if args.quick else 200_000)
    args.rds_budget_mb = args.rds_budget_mb or (8 if args.quick else 64)

    if importlib.util.find_spec("zip_fit") is None and not args.skip_zipfit:
        raise SystemExit("the peer is missing: pip install zip-fit (or --skip-zipfit)")

    now = datetime.datetime.now(datetime.UTC)
    print(f"Peak memory benchmark{' (--quick sizes)' if args.quick else ''}, {now:%Y-%m-%d %H:%M UTC}")
    print(
        f"machine: {cpu_model()}, {default_workers()} cores usable (os.cpu_count {os.cpu_count()}), "
        f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / (1 << 30):.0f} GB RAM; "
        f"Python {platform.python_version()}, numpy {np.__version__}; load average {load_average()}"
    )
    print(
        "each row: new processes, one at a time; s = whole-process wall seconds; RSS = kernel peak RSS of the "
        "largest process; PSS = peak sum of PSS over the process tree (sampled every 20 ms); procs = most "
        "processes seen at once; M = MiB"
    )
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        if not args.skip_zipfit:
            bench_zipfit(args, Path(tmp))
        if not args.skip_rds:
            bench_rds(args, Path(tmp))
    print(f"\nwhole benchmark: {time.perf_counter() - STARTED:.0f} s; load average {load_average()}")


if __name__ == "__main__":
    main()
