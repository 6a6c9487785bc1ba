"""Helper processes for bench_zipfit.py: each loads the texts itself, scores them one way, saves the scores.

    python benchmarks/_peer.py zip-fit POOL TARGETS LEVEL OUT.npy   # the `zip-fit` package (reference)
    python benchmarks/_peer.py exact POOL TARGETS LEVEL OUT.npz      # our exact run_zipfit, all cores, no cache
    python benchmarks/_peer.py fast POOL TARGETS LEVEL OUT.npz       # our fast mode (run_zipfit_fast), all cores

Each prints `seconds_inside=<s>`: the time of the scoring call alone, for the whole-process comparison.
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scoring.loading import load_dataset


def zip_fit_package(pool: list[str], targets: list[str], level: int) -> np.ndarray:
    """Alignment of each pool text by `zip_fit.zipfit.ZIPFIT` (its multiprocessing Pool), in pool order."""
    from zip_fit.zipfit import ZIPFIT

    reference = ZIPFIT("pool.jsonl", "targets.jsonl", k=len(pool), compression_algorithm="gzip", compress_level=level)
    with contextlib.redirect_stdout(io.StringIO()):
        ranked = dict(reference.rank_sequences_by_alignment(pool, targets))
    return np.array([ranked[text] for text in pool], dtype=np.float64)


def fast_mode(pool: list[str], targets: list[str], level: int) -> tuple[np.ndarray, np.ndarray]:
    """Fast mode as the command line and the dashboard run it (the C helper for x⊕t when built), all cores."""
    from scoring.pipeline import ZipfitParams, run_zipfit_fast

    result = run_zipfit_fast(pool, targets, ZipfitParams(level=level))
    return result.score, result.nearest_target


def main(argv: list[str]) -> None:
    which, pool_path, targets_path, level, out = argv[0], argv[1], argv[2], int(argv[3]), argv[4]
    pool, targets = load_dataset(pool_path).texts, load_dataset(targets_path).texts
    started = time.perf_counter()
    if which == "zip-fit":
        np.save(out, zip_fit_package(pool, targets, level))
    elif which == "exact":
        from scoring.pipeline import ZipfitParams, run_zipfit

        result = run_zipfit(pool, targets, ZipfitParams(level=level))
        np.savez(out, score=result.score, nearest=result.nearest_target)
    elif which == "fast":
        score, nearest = fast_mode(pool, targets, level)
        np.savez(out, score=score, nearest=nearest)
    else:
        raise SystemExit(f"unknown peer {which!r}")
    print(f"seconds_inside={time.perf_counter() - started:.3f}")


if __name__ == "__main__":
    main(sys.argv[1:])
