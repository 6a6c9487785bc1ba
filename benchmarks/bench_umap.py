"""UMAP time against the number of points: our `umap_2d` against plain umap-learn on all points.

Ours: `scoring.mapping.umap_2d(vectors, MapParams())`: PCA to 50 dimensions, UMAP fitted on at most 20,000
points, the rest placed with `transform` in batches. Peer: what a user of umap-learn would write,
`umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=42).fit_transform(vectors)` on all points and all
dimensions (same neighbours, spread and seed as ours; a seed makes both run single-threaded in UMAP's own
code, numpy's BLAS uses all cores in both).

Each run is a new process, one at a time, on the same cores: whole process wall clock (start-up, imports,
loading the vectors, the map, saving it) and the map's own seconds (`umap` is imported before that clock
starts in both). Both pay numba's compilation of UMAP's functions in every new process (tens of seconds, so
small sizes mostly compare that); the on-disk part of numba's cache (pynndescent's) is filled first by an
unrecorded run of each on 4,500 points, as any earlier run would have done (not with --quick). The cores other
processes used during each run are printed ("others"; ! marks a suspect run).

So that a fast wrong answer would show, both maps' trustworthiness (`sklearn.manifold.trustworthiness`, 10
neighbours, on the same 2,000 random points) is printed side by side, with a PCA to 2-D as the reference.

Vectors: a mixture of 20 clusters in 576 dimensions (SmolLM2's), each an 8-dimensional random subspace
around a random centre plus a little isotropic noise, rows normalised (as RDS+ embeddings are).

    .venv/bin/python benchmarks/bench_umap.py                 # 5k, 20k, 50k, 100k points; peer up to 50k
    .venv/bin/python benchmarks/bench_umap.py --quick         # 2k and 5k points, one to two minutes
    .venv/bin/python benchmarks/bench_umap.py --points 20000,200000 --peer-max-points 20000
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from _machine import busy_seconds, children_cpu, cpu_model, load_average  # the script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
STARTED = time.perf_counter()
FEW_MINUTES = 300
"""'Within a few minutes' for 100k points, ours, whole process (seconds)."""
TRUST_SAMPLE = 2_000
TRUST_NEIGHBOURS = 10
WARM_UP_POINTS = 4_500
"""Above umap's 4,096-point threshold for exact neighbours, so the warm-up goes through pynndescent."""
QUIET_OTHERS = 0.1
"""Other processes using more than this many cores during a run make its time suspect (flagged with !)."""

LOAD = """
import sys, time
import numpy as np
import umap  # before the clock on both sides (umap_2d imports it lazily)
vectors = np.array(np.load(sys.argv[1], mmap_mode="r")[: int(sys.argv[2])])
started = time.perf_counter()
"""

OURS = """
from scoring.mapping import MapParams, umap_2d
xy = umap_2d(vectors, MapParams())
"""

PEER = """
import warnings
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "n_jobs value 1 overridden to 1 by setting random_state"
    xy = umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=42).fit_transform(vectors)
"""

SAVE = """
inside = time.perf_counter() - started
np.save(sys.argv[3], xy)
with open("/proc/self/status") as status:
    high_water = [int(line.split()[1]) for line in status if line.startswith("VmHWM:")]
print(f"seconds_inside={inside:.3f}")
print(f"peak_rss={high_water[0] * 1024}")
"""


@dataclass
class Run:
    """One whole-process run: wall seconds, the map's own seconds, peak RSS bytes, the map (N, 2), and the
    cores other processes used meanwhile."""

    wall: float
    inside: float
    rss: int
    xy: np.ndarray
    others: float


def run_map(which: str, vectors: Path, n: int, out: Path, timeout: float) -> Run | str:
    """Make a map of the first n vectors in a new process ('ours' or 'peer'); a Run, or why not."""
    script = LOAD + (OURS if which == "ours" else PEER) + SAVE
    command = [sys.executable, "-c", script, str(vectors), str(n), str(out)]
    busy, children, own = busy_seconds(), children_cpu(), time.process_time()
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:.0f} s"
    wall = time.perf_counter() - started
    mine = children_cpu() - children + time.process_time() - own
    others = max(0.0, busy_seconds() - busy - mine) / wall
    if done.returncode != 0:
        return f"failed ({done.returncode}): {done.stderr.strip()[-600:]}"
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    return Run(wall, float(values["seconds_inside"]), int(values["peak_rss"]), np.load(out), others)


def write_clusters(path: Path, n: int, d: int, clusters: int = 20, rank: int = 8, seed: int = 0) -> None:
    """(n, d) float32 unit rows: `clusters` random centres, each with a `rank`-dim random subspace and noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, d))
    bases = rng.standard_normal((clusters, rank, d)) * (0.6 / np.sqrt(rank))
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, d))
    for start in range(0, n, 10_000):
        count = min(10_000, n - start)
        label = rng.integers(clusters, size=count)
        rows = centres[label] + np.einsum("nr,nrd->nd", rng.standard_normal((count, rank)), bases[label])
        rows += 0.1 * rng.standard_normal((count, d))
        out[start : start + count] = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    out.flush()
    del out


def trust(vectors: np.ndarray, xy: np.ndarray) -> float:
    from sklearn.manifold import trustworthiness

    return float(trustworthiness(vectors, xy, n_neighbors=TRUST_NEIGHBOURS))


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    centred = vectors - vectors.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    return centred @ axes[:2].T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 5,000 points (a smoke test)")
    parser.add_argument("--points", help="comma-separated point counts (default 5000,20000,50000,100000)")
    parser.add_argument("--dim", type=int, default=576, help="vector dimension (default 576)")
    parser.add_argument(
        "--peer-max-points", type=int, default=50_000, help="skip plain umap-learn above this many points"
    )
    parser.add_argument("--timeout", type=float, default=1800, help="give up on one run after this many seconds")
    args = parser.parse_args()
    points = [
        int(p.replace("_", ""))
        for p in (args.points or ("2000,5000" if args.quick else "5000,20000,50000,100000")).split(",")
    ]

    sys.path.insert(0, str(ROOT))
    import sklearn
    import umap

    from scoring.mapping import MapParams
    from scoring.progress import default_workers

    params = MapParams()
    now = datetime.datetime.now(datetime.UTC)
    print(f"UMAP time benchmark{' (--quick sizes)' if args.quick else ''}, {now:%Y-%m-%d %H:%M UTC}")
    print(
        f"machine: {cpu_model()}, {default_workers()} cores usable (os.cpu_count {os.cpu_count()}); umap-learn "
        f"{umap.__version__}, scikit-learn {sklearn.__version__}, numpy {np.__version__}, Python "
        f"{platform.python_version()}; load average {load_average()}"
    )
    print(
        f"ours: umap_2d, PCA to {params.pca_dims} dims, fit on ≤ {params.fit_sample:,} points, transform the rest "
        f"in batches of {params.transform_batch:,}; peer: umap.UMAP(n_neighbors={params.n_neighbors}, "
        f"min_dist={params.min_dist}, random_state={params.seed}).fit_transform on all points, skipped above "
        f"{args.peer_max_points:,}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-umap-") as tmp:
        folder = Path(tmp)
        vectors_path = folder / "vectors.npy"
        write_clusters(vectors_path, max(points), args.dim)
        print(
            f"vectors: {max(points):,} × {args.dim} float32, 20 clusters (8-dim subspaces + noise), unit rows; "
            f"the first N are used"
        )
        if args.quick:
            print("warm-up: none (--quick); numba's on-disk cache is as earlier runs left it")
        else:
            warm_up = min(WARM_UP_POINTS, max(points))
            for which in ("ours", "peer"):  # fills numba's on-disk cache, as any earlier run would have
                warm = run_map(which, vectors_path, warm_up, folder / "warm.npy", args.timeout)
                if isinstance(warm, str):
                    raise SystemExit(f"warm-up of {which} {warm}")
            print(f"warm-up: one unrecorded run of each on {warm_up:,} points (numba's on-disk cache)")
        all_vectors = np.load(vectors_path, mmap_mode="r")
        print(
            f"{'points':>8} │ {'ours s':>7} {'map s':>7} {'RSS MB':>7} {'others':>7} │ "
            f"{'peer s':>7} {'map s':>7} {'RSS MB':>7} {'others':>7} │ "
            f"{'peer/ours':>9} {'map':>7} │ {'trust ours':>10} {'peer':>6} {'PCA-2D':>6}"
        )
        ours_at: dict[int, Run | str] = {}
        for n in points:
            ours = ours_at[n] = run_map("ours", vectors_path, n, folder / "ours.npy", args.timeout)
            if n > args.peer_max_points:
                peer: Run | str = "skipped (over --peer-max-points)"
            else:
                peer = run_map("peer", vectors_path, n, folder / "peer.npy", args.timeout)
            sample = np.sort(np.random.default_rng(1).choice(n, size=min(n, TRUST_SAMPLE), replace=False))
            high = np.asarray(all_vectors[sample], dtype=np.float32)
            both = isinstance(ours, Run) and isinstance(peer, Run)
            ratio = f"{peer.wall / ours.wall:8.2f}× {peer.inside / ours.inside:6.2f}×" if both else f"{'':>9} {'':>7}"
            trusts = [f"{trust(high, r.xy[sample]):.3f}" if isinstance(r, Run) else "-" for r in (ours, peer)]
            print(
                f"{n:>8,} │ {_cells(ours)} │ {_cells(peer)} │ {ratio} │ {trusts[0]:>10} {trusts[1]:>6} "
                f"{trust(high, pca_2d(high)):6.3f}",
                flush=True,
            )
            for name, run in (("ours", ours), ("peer", peer)):
                if isinstance(run, str) and not run.startswith("skipped"):
                    print(f"   {name}: {run}")
    print(
        f"s = whole process wall seconds; map s = the map alone (umap imported, vectors loaded); peer/ours: whole "
        f"process, then the map alone; trust = trustworthiness ({TRUST_NEIGHBOURS} neighbours) on the same "
        f"{TRUST_SAMPLE:,} random points (1 = neighbourhoods kept), PCA-2D = the top 2 principal axes of them; "
        f"others = cores other processes used during the run, ! = over {QUIET_OTHERS} (time suspect)"
    )
    largest = ours_at.get(100_000)
    if isinstance(largest, Run):
        verdict = "yes" if largest.wall <= FEW_MINUTES else "NO"
        print(
            f"ours at 100,000 points: {largest.wall:.0f} s whole process ({largest.wall / 60:.1f} min) -> within a "
            f"few minutes (≤ {FEW_MINUTES} s): {verdict}"
        )
    else:
        print("ours at 100,000 points: not run (pass --points …,100000, the default without --quick)")
    print(f"whole benchmark: {time.perf_counter() - STARTED:.0f} s; load average {load_average()}")


def _cells(run: Run | str) -> str:
    if isinstance(run, str):
        text = "skipped" if run.startswith("skipped") else "no result"
        return f"{text:>31}"
    flag = "!" if run.others > QUIET_OTHERS else " "
    return f"{run.wall:7.1f} {run.inside:7.1f} {run.rss / (1 << 20):7.0f} {run.others:5.2f}c{flag}"


if __name__ == "__main__":
    main()
