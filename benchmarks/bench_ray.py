"""The Ray engine against the local engine, whole process, and what a 10M-record pool would cost.

Each run is `python -m scoring` in a new process with the cache off (`--no-cache`), so start-up, imports,
loading the data, starting the Ray cluster (a local one on the same cores) and writing the output are all
timed, and every value is computed. The outputs of both engines are compared (ZIP-FIT: equal; RDS+
embeddings: within 1e-5), so a fast wrong answer would show.

- ZIP-FIT exact, `score --method zipfit`: the sample pool against the HumanEval targets (481k pairs).
- RDS+ embedding, `embed`: the first `--texts` sample-pool texts with each model.

Each is run at a fifth of its size and at full size. The 10M-record estimate scales the Ray engine's marginal
per-core throughput between the two (the rate once start-up is paid): core-hours = work / (rate per core),
divided by the cores of a cluster. It is an estimate: it assumes the same kind of cores, texts of the
sample's length (~0.5-1 KB), and no cost for the driver reading and writing 10M records.

    .venv/bin/python benchmarks/bench_ray.py                     # ZIP-FIT, and both models on 200 texts
    .venv/bin/python benchmarks/bench_ray.py --texts 40 --models minilm --targets-for-estimate 100
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from _machine import cpu_model, load_average  # benchmarks/, on sys.path as the script's folder

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
POOL_RECORDS = 10_000_000
MIN_EXTRA_SECONDS = 2.0
"""The full run must take this much longer than the one at a fifth of the size for a rate to be measured."""
NO_ESTIMATE = f"no estimate: the full run took under {MIN_EXTRA_SECONDS:g} s longer than a fifth of it"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=200, help="sample-pool texts to embed per model")
    parser.add_argument("--models", default="smollm2,minilm", help="comma-separated --model values ('' for none)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="cores for both engines")
    parser.add_argument(
        "--targets-for-estimate", type=int, default=100, help="targets of the 10M-record ZIP-FIT estimate"
    )
    parser.add_argument("--skip-zipfit", action="store_true")
    args = parser.parse_args()
    print(f"Ray engine benchmark, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}")
    print(f"{cpu_model()}, {args.workers} workers; Python {platform.python_version()}")
    print(f"load average {load_average()}\n")
    print(f"{'work':<36} {'engine':<6} {'seconds':>8} {'rate':>18} {'per core':>16} {'local/ray':>9}")
    estimates = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if not args.skip_zipfit:
            estimates.append(_zipfit(tmp, args))
        for model in filter(None, args.models.split(",")):
            estimates.append(_embedding(tmp, model, args))
    print(f"\nload average {load_average()}")
    print(f"\nEstimate for a {POOL_RECORDS:,}-record pool (the Ray engine's marginal rate per core, scaled):")
    for line in estimates:
        print(f"  {line}")


def _zipfit(tmp: Path, args: argparse.Namespace) -> str:
    targets = SAMPLE / "targets_humaneval.jsonl"
    records = _records(SAMPLE / "pool.jsonl")
    m = _count(targets)
    times: dict[str, dict[int, float]] = {"local": {}, "ray": {}}
    outputs = {}
    for n in (len(records) // 5, len(records)):
        pool = _write(tmp / f"pool-{n}.jsonl", records[:n])
        for engine in ("local", "ray"):
            outputs[engine] = tmp / f"zipfit-{engine}.parquet"
            command = ["score", "--pool", pool, "--targets", targets, "--method", "zipfit", "--out", outputs[engine]]
            times[engine][n] = _run([*command, "--workers", args.workers, "--engine", engine])
            _row(
                f"ZIP-FIT exact, {n} × {m} HumanEval", engine, times[engine][n], n * m, "pairs", args.workers, times, n
            )
    local, remote = (pq.read_table(outputs[e]).to_pandas() for e in ("local", "ray"))
    columns = ["zipfit_score", "zipfit_rank", "zipfit_nearest_target"]
    assert remote[columns].equals(local[columns]), "the Ray engine's ZIP-FIT output differs from the local one"
    print(f"{'':<36} outputs equal: {', '.join(columns)}")
    rate = _marginal(times["ray"], m)
    if rate is None:
        return f"ZIP-FIT exact: {NO_ESTIMATE}"
    per_core = rate / args.workers
    core_hours = POOL_RECORDS * args.targets_for_estimate / per_core / 3600
    return (
        f"ZIP-FIT exact, {args.targets_for_estimate} targets: {POOL_RECORDS * args.targets_for_estimate:.1e} pairs at "
        f"{per_core:,.0f} pairs/s per core = {core_hours:,.0f} core-hours (e.g. {core_hours / 64:,.1f} h on 64 cores)"
    )


def _embedding(tmp: Path, model: str, args: argparse.Namespace) -> str:
    records = _records(SAMPLE / "pool.jsonl")[: args.texts]
    times: dict[str, dict[int, float]] = {"local": {}, "ray": {}}
    outputs = {}
    for n in (len(records) // 5, len(records)):
        texts = _write(tmp / f"texts-{n}.jsonl", records[:n])
        for engine in ("local", "ray"):
            outputs[engine] = tmp / f"embed-{model}-{engine}.npy"
            command = ["embed", "--input", texts, "--model", model, "--out", outputs[engine], "--engine", engine]
            times[engine][n] = _run(command)
            _row(f"RDS+ embedding, {model}, {n} texts", engine, times[engine][n], n, "texts", args.workers, times, n)
    difference = np.abs(np.load(outputs["local"]) - np.load(outputs["ray"])).max()
    assert difference < 1e-5, f"the Ray engine's {model} embeddings differ from the local ones by {difference}"
    print(f"{'':<36} max |local - ray| embedding difference: {difference:.1e}")
    rate = _marginal(times["ray"], 1)
    if rate is None:
        return f"RDS+ embedding with {model}: {NO_ESTIMATE} (--texts {args.texts}: try 200)"
    per_core = rate / args.workers
    core_hours = POOL_RECORDS / per_core / 3600
    return (
        f"RDS+ embedding with {model} on CPU: {per_core:.2f} texts/s per core = {core_hours:,.0f} core-hours "
        f"(e.g. {core_hours / 64:,.0f} h on 64 cores; GPUs were not measured here)"
    )


def _marginal(times: dict[int, float], per_record: int) -> float | None:
    """Work per second between the small and the full run: the rate once start-up is paid (Ray's included);
    None when the full run took less than MIN_EXTRA_SECONDS longer, as start-up's noise would swamp the rate."""
    (n1, t1), (n2, t2) = sorted(times.items())
    return (n2 - n1) * per_record / (t2 - t1) if t2 - t1 >= MIN_EXTRA_SECONDS else None


def _records(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps({"text": r["text"]}) + "\n" for r in records), encoding="utf-8")
    return path


def _run(arguments: list[object]) -> float:
    """Seconds for `python -m scoring ARGS --no-cache` in a new process; exits if it fails."""
    command = [sys.executable, "-m", "scoring", *map(str, arguments), "--no-cache"]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return seconds


def _row(work: str, engine: str, seconds: float, count: int, unit: str, workers: int, times: dict, n: int) -> None:
    rate = count / seconds
    ratio = f"{times['local'][n] / times['ray'][n]:.2f}×" if engine == "ray" else ""
    print(
        f"{work:<36} {engine:<6} {seconds:8.1f} {rate:>12,.1f} {unit}/s {rate / workers:>10,.1f} {unit}/s {ratio:>9}",
        flush=True,
    )


def _count(path: Path) -> int:
    with path.open(encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


if __name__ == "__main__":
    main()
