"""Fast ZIP-FIT's parameters against its quality: the share of x⊕t pairs compressed, top-10% overlap and Spearman
against exact, on the sample pool and each sample target set, for the defaults and each variant given.

Every exact pair size C(x⊕t) is computed once (the C helper or zlib, all cores); each variant then runs
`fast_alignments` with those sizes looked up, so it gives the scores fast mode would compute, in seconds. Speed
follows the share of pairs: each costs about the same (zlib's work per pair hardly depends on the level: see
`--levels`), so a variant at half the share runs its scoring call in about half the time.

    .venv/bin/python benchmarks/fast_params.py                                  # the defaults
    .venv/bin/python benchmarks/fast_params.py "k_first=2" "focus=0.1,k_focus=10"
    .venv/bin/python benchmarks/fast_params.py --levels                         # pairs/s at gzip levels 1, 6, 9
    .venv/bin/python benchmarks/fast_params.py --held-out "k_first=2"            # also on held-out target sets

`--held-out` adds target sets that were not used to choose the defaults: for each domain of the sample pool,
and each source with at least 150 records, 100 of its records (evenly spread) become the targets and the
rest of the pool the candidates.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_zipfit import top_overlap
from scoring import zipfit
from scoring.compare import spearman
from scoring.compression import sizer
from scoring.loading import load_dataset
from scoring.native import gzip_pair_sizes
from scoring.pipeline import ZipfitParams, run_zipfit
from scoring.progress import default_workers
from scoring.zipfit_fast import FastParams, fast_alignments, threaded_pair_sizes

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
TARGET_SETS = ("humaneval", "translation")
HELD_OUT_TARGETS = 100
HELD_OUT_MIN_SOURCE = 150


def variant(text: str) -> FastParams:
    """`FastParams` from "name=value,name=value" (the defaults for the rest), e.g. "k_first=2,focus=0.1"."""
    types = {f.name: f.type for f in dataclasses.fields(FastParams)}
    values = dict(item.split("=", 1) for item in text.split(",") if item)
    unknown = set(values) - set(types)
    if unknown:
        raise SystemExit(f"unknown parameter(s) {sorted(unknown)}; known: {', '.join(types)}")
    return FastParams(**{name: (int if types[name] == "int" else float)(v) for name, v in values.items()})


def quality(pool: list[bytes], targets: list[bytes], params: FastParams, sizes: np.ndarray, exact: np.ndarray):
    """(share of pairs compressed, top-10% overlap, Spearman) of fast mode with `params` against `exact`."""
    used = [0]

    def lookup(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        used[0] += len(rows) * len(cols)
        return sizes[np.ix_(rows, cols)]

    cx, ct = zipfit.sizes(pool, sizer("gzip", 9)), zipfit.sizes(targets, sizer("gzip", 9))
    score, _ = fast_alignments(pool, targets, params=params, pool_sizes=cx, target_sizes=ct, pair_sizes=lookup)
    return used[0] / sizes.size, top_overlap(score, exact), spearman(score, exact)


def held_out_sets(path: Path) -> dict[str, tuple[list[bytes], list[bytes]]]:
    """{"domain=code": (pool, targets), ...}: 100 records of a domain or large source as targets, the rest as pool."""
    dataset = load_dataset(path)
    groups: dict[str, list[int]] = {}
    for i, record in enumerate(dataset.records):
        groups.setdefault(f"domain={record['domain']}", []).append(i)
        groups.setdefault(f"source={record['source']}", []).append(i)
    sets = {}
    for name, members in groups.items():
        if len(members) < (HELD_OUT_TARGETS if name.startswith("domain=") else HELD_OUT_MIN_SOURCE):
            continue
        chosen = set(np.array(members)[(np.arange(HELD_OUT_TARGETS) * len(members)) // HELD_OUT_TARGETS].tolist())
        pool = [t.encode() for i, t in enumerate(dataset.texts) if i not in chosen]
        sets[name] = pool, [dataset.texts[i].encode() for i in sorted(chosen)]
    return sets


def levels(pool: list[bytes], targets: list[bytes]) -> None:
    """Pairs per second on one thread at gzip levels 1, 6 and 9 (best of 3), on 1,500 pool texts."""
    rows, cols = np.arange(min(1500, len(pool))), np.arange(len(targets))
    for level in (1, 6, 9):
        pair_sizes = threaded_pair_sizes(pool, targets, level, workers=1, joint_sizes=gzip_pair_sizes(level))
        best = min(_seconds(pair_sizes, rows, cols) for _ in range(3))
        print(f"    level {level}: {len(rows) * len(cols) / best:,.0f} pairs/s on one thread")


def _seconds(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", help='parameter changes, e.g. "k_first=2,focus=0.1"')
    parser.add_argument("--levels", action="store_true", help="also time pairs at gzip levels 1, 6, 9")
    parser.add_argument("--held-out", action="store_true", help="also target sets cut from the pool's domains")
    args = parser.parse_args()
    variants = {"defaults": FastParams(), **{text: variant(text) for text in args.variants}}
    pool = [t.encode() for t in load_dataset(SAMPLE / "pool.jsonl").texts]
    sets = {
        f"sample pool × {name}": (
            pool,
            [t.encode() for t in load_dataset(SAMPLE / f"targets_{name}.jsonl").texts],
        )
        for name in TARGET_SETS
    }
    if args.held_out:
        sets |= {f"held out: {name}": pair for name, pair in held_out_sets(SAMPLE / "pool.jsonl").items()}
    table = {label: [] for label in variants}
    for title, (pool, targets) in sets.items():
        print(f"{title} ({len(pool):,} pool texts, {len(targets)} targets):")
        if args.levels:
            levels(pool, targets)
        everything = threaded_pair_sizes(pool, targets, 9, default_workers(), joint_sizes=gzip_pair_sizes(9))
        sizes = everything(np.arange(len(pool)), np.arange(len(targets)))
        exact = run_zipfit([p.decode() for p in pool], [t.decode() for t in targets], ZipfitParams(level=9)).score
        for label, params in variants.items():
            share, overlap, rho = quality(pool, targets, params, sizes, exact)
            table[label].append((share, overlap, rho))
            print(f"    {label}: {share:.2%} of the pairs, top-10% overlap {overlap:.3f}, Spearman {rho:.4f}")
    if len(sets) > 1:
        print(f"over the {len(sets)} target sets: mean share of pairs, worst top-10% overlap, worst Spearman")
        for label, rows in table.items():
            share, overlap, rho = np.array(rows).T
            print(f"    {label}: {share.mean():.2%}, {overlap.min():.3f}, {rho.min():.4f}")


if __name__ == "__main__":
    main()
