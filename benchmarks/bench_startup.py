"""Start-up of the command line against its floor: what a run costs before and after any scoring.

    .venv/bin/python benchmarks/bench_startup.py [--runs 9]

Times whole processes (wall clock, min and median of `--runs`), one after another: bare Python, importing
NumPy, importing NumPy and pyarrow.parquet (what writing results needs), and `python -m scoring score` on a
3-record pool against the same 3 records (loading, scoring and writing all but free). The last two show how
much of the command line's start-up is our own code; the last one bounds any whole-process speed ratio on
small data (exact ZIP-FIT taking T seconds can be at most T / start-up times faster). Modules are
byte-compiled first, as any earlier run would have done.
"""

from __future__ import annotations

import argparse
import compileall
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def timed(commands: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    """Wall seconds of each command, `runs` times, interleaved (a slow spell of the machine hits them all)."""
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each command (default 9)")
    args = parser.parse_args()
    compileall.compile_dir(ROOT / "scoring", quiet=1)
    with tempfile.TemporaryDirectory() as folder:
        tiny = Path(folder) / "tiny.jsonl"
        tiny.write_text("".join(f'{{"text": "record {i}: def f(x): return x + {i}"}}\n' for i in range(3)))
        commands = {
            "python -c pass": [PYTHON, "-c", "pass"],
            "import numpy": [PYTHON, "-c", "import numpy"],
            "import numpy, pyarrow.parquet": [PYTHON, "-c", "import numpy, pyarrow.parquet"],
            "python -m scoring score, 3 records": [
                *(PYTHON, "-m", "scoring", "score", "--pool", str(tiny), "--targets", str(tiny)),
                *("--method", "zipfit", "--no-cache", "--out", str(Path(folder) / "out.parquet")),
            ],
        }
        results = timed(commands, args.runs)
    print(f"whole processes, wall clock, {args.runs} runs each, interleaved: min / median")
    for name, times in results.items():
        print(f"  {name:38s} {min(times):.3f} s / {statistics.median(times):.3f} s")
    ours, floor = min(results["python -m scoring score, 3 records"]), min(results["import numpy, pyarrow.parquet"])
    print(f"  the command line / its imports alone: {ours / floor:.2f}× (best runs; {1000 * (ours - floor):+.0f} ms)")
    print(f"  a run whose exact ZIP-FIT takes 3 s can be at most {3 / ours:.1f}× faster as a process")


if __name__ == "__main__":
    main()
