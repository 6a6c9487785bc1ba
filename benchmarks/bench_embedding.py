"""Embedding throughput of both bundled models: our batched RDS+ embedding against a batch-size-1 loop.

Same process, same texts, same loaded model: the loop is what the paper's code does (one text per forward
pass, `output_hidden_states=True`, `hidden_states[-1]`, position-weighted mean); ours is `embed_texts`
(token-count-sorted batches, padding masked out) with the embedding cache off, so every text is embedded.
The two results are compared, so a fast wrong answer would show. Repeats alternate loop and ours, so that
other load on the machine hits both alike; the fastest of each is reported, with the load average.

Model loads are timed in new processes (imports included) with a fresh temporary cache: the first load (for
SmolLM2: reading the GGUF file and writing a converted safetensors copy) and a later one.

    .venv/bin/python benchmarks/bench_embedding.py                      # 200 sample-pool texts, both models
    .venv/bin/python benchmarks/bench_embedding.py --texts 50 --models minilm --batch-sizes 4,8,16 --repeats 3
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _machine import cpu_model, load_average  # benchmarks/, on sys.path as the script's folder

ROOT = Path(__file__).resolve().parent.parent
STARTED = time.perf_counter()
LOAD_SCRIPT = """
import sys, time
started = time.perf_counter()
from scoring.cache import Cache
from scoring.models import load_encoder, resolve_model
cache = Cache(sys.argv[2])
load_encoder(resolve_model(sys.argv[1], cache), cache)
print(time.perf_counter() - started)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=200, help="how many sample-pool texts (from the start)")
    parser.add_argument("--models", default="smollm2,minilm", help="comma-separated --model values")
    parser.add_argument("--batch-sizes", default="8", help="comma-separated batch sizes for our runs")
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=1, help="time each run this many times, report the fastest")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    import numpy as np
    import torch
    import transformers

    from scoring.cache import Cache
    from scoring.models import load_encoder, resolve_model
    from scoring.pipeline import RdsParams, embed_texts
    from scoring.progress import default_workers

    pool = ROOT / "sample_data" / "pool.jsonl"
    texts = [json.loads(line)["text"] for line in pool.open(encoding="utf-8")][: args.texts]
    versions = f"torch {torch.__version__}, transformers {transformers.__version__}"
    print(f"RDS+ embedding benchmark, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M UTC}")
    print(
        f"machine: {cpu_model()}, {default_workers()} cores usable (os.cpu_count {os.cpu_count()}); {versions}, "
        f"Python {platform.python_version()}; load average {load_average()}"
    )
    print(
        f"texts: the first {len(texts)} of {pool.relative_to(ROOT)}, {sum(map(len, texts)) / len(texts):.0f} "
        f"characters on average; --max-length {args.max_length}; fastest of {args.repeats} run(s) each"
    )
    print(f"{'model':<8} {'run':<44} {'seconds':>8} {'texts/s':>8} {'vs loop':>8}")
    for name in args.models.split(","):
        with tempfile.TemporaryDirectory(prefix="bench-embedding-") as folder:
            first = "first load, new process" + (" (GGUF read, copy saved)" if name == "smollm2" else "")
            _row(name, first, _load_in_new_process(name, folder))
            _row(name, "later load, new process", _load_in_new_process(name, folder))
            cache = Cache(folder)
            encoder = load_encoder(resolve_model(name, cache), cache)
        print(
            f"{'':<8} torch threads: {torch.get_num_threads()}; tokens per text after truncation: "
            f"{_token_stats(encoder, texts, args.max_length)}"
        )
        embed_texts(texts[:4], RdsParams(name, args.max_length, 4), cache=Cache(None))  # warm-up
        runs: dict[str, Callable[[], Any]] = {"loop": lambda e=encoder: _one_at_a_time(e, texts, args.max_length)}
        for size in [int(b) for b in args.batch_sizes.split(",")]:
            params = RdsParams(name, args.max_length, size)
            runs[f"batch size {size}"] = lambda p=params: embed_texts(texts, p, cache=Cache(None))
        best = _fastest_interleaved(runs, args.repeats)
        loop, reference = best.pop("loop")
        _row(name, "batch-size-1 loop (the paper's way)", loop, len(texts), loop)
        for run, (seconds, ours) in best.items():
            _row(name, f"ours: embed_texts, {run}", seconds, len(texts), loop)
            print(f"{'':<8} max |ours - loop| over all {ours.size:,} values: {np.abs(ours - reference).max():.1e}")
    print(
        f"whole process (imports, loads, every run above): {time.perf_counter() - STARTED:.1f} s; "
        f"load average {load_average()}"
    )


def _one_at_a_time(encoder: Any, texts: list[str], max_length: int) -> Any:
    """The paper's loop on the same loaded model: one text per forward pass, hidden_states[-1]."""
    import numpy as np
    import torch

    vectors = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    for i, text in enumerate(texts):
        encoded = encoder.tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
        if not text or encoded["input_ids"].shape[1] == 0:
            continue
        with torch.inference_mode():
            hidden = encoder.model(**encoded, output_hidden_states=True).hidden_states[-1][0].float()
        weights = torch.arange(1, len(hidden) + 1, dtype=torch.float32)
        pooled = (weights / weights.sum()) @ hidden
        vectors[i] = (pooled / pooled.norm()).numpy()
    return vectors


def _fastest_interleaved(runs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, tuple[float, Any]]:
    """{name: (seconds of its fastest run, its result)}, running all of them in turn `repeats` times."""
    best: dict[str, tuple[float, Any]] = {}
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            result = run()
            seconds = time.perf_counter() - started
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, result)
    return best


def _load_in_new_process(model: str, cache_dir: str) -> float:
    """Seconds from a new Python process's first import to a loaded model (interpreter start-up excluded)."""
    command = [sys.executable, "-c", LOAD_SCRIPT, model, cache_dir]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def _token_stats(encoder: Any, texts: list[str], max_length: int) -> str:
    lengths = [len(ids) for ids in encoder.tokenize(texts, max_length)]
    return f"mean {sum(lengths) / len(lengths):.0f}, max {max(lengths)}, {sum(lengths):,} in all"


def _row(model: str, run: str, seconds: float, count: int | None = None, loop: float | None = None) -> None:
    rate = f"{count / seconds:8.2f}" if count else f"{'':>8}"
    ratio = f"{loop / seconds:7.2f}x" if loop else f"{'':>8}"
    print(f"{model:<8} {run:<44} {seconds:8.1f} {rate} {ratio}", flush=True)


if __name__ == "__main__":
    main()
