"""Dashboard speed on the sample data: page open to the first chart and to both methods' results, cold and
warm, against the command line computing the same scores in the same run (the named peer).

    .venv/bin/python benchmarks/bench_dashboard.py

Cold: a new server and an empty cache (as on a fresh clone: the sample's shipped RDS+ embeddings are used).
Warm: the same page reloaded (jobs finished in memory), and a restarted server on the filled cache.
Needs Debian's chromium (`make browser`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from dashboard.launch import CHROMIUM, CHROMIUM_ARGS, serve
from scoring.cache import CACHE_ENV

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_MS = 600_000


def time_page(page: Page, url: str | None) -> tuple[float, float]:
    """(seconds to the first chart, seconds to both methods done) from opening (or reloading) the page."""
    started = time.monotonic()
    if url is None:
        page.reload()
    else:
        page.goto(url)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=TIMEOUT_MS)
    first_chart = time.monotonic() - started
    for label in ("ZIP-FIT", "RDS+"):
        expect(page.get_by_text(re.compile(rf"^{re.escape(label)}: done in"))).to_be_visible(timeout=TIMEOUT_MS)
    return first_chart, time.monotonic() - started


def time_command_line(cache: Path) -> float:
    out = cache.parent / "scores.parquet"
    command = [
        sys.executable,
        "-m",
        "scoring",
        "score",
        "--pool",
        "sample_data/pool.jsonl",
        "--targets",
        "sample_data/targets_humaneval.jsonl",
        "--method",
        "all",
        "--out",
        str(out),
    ]
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, env={**os.environ, CACHE_ENV: str(cache)}, check=True, capture_output=True)
    return time.monotonic() - started


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args()  # no options; --help says what it does
    print(f"{dt.date.today()} · {platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    rows: list[tuple[str, float | None, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        cli = time_command_line(Path(scratch) / "cli-cache")
        rows.append(("command line, cold cache (peer)", None, cli))
        cache = Path(scratch) / "app-cache"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            with serve(cache) as server:
                rows.append(("dashboard, new server, empty cache", *time_page(page, server.url)))
                rows.append(("dashboard, page reloaded", *time_page(page, None)))
            with serve(cache) as server:
                rows.append(("dashboard, restarted server, filled cache", *time_page(page, server.url)))
            browser.close()
    print(f"{'run':<45} {'first chart':>12} {'both methods':>13} {'vs peer':>8}")
    for name, first, both in rows:
        first_text = "" if first is None else f"{first:.1f} s"
        print(f"{name:<45} {first_text:>12} {both:>11.1f} s {both / cli:>7.2f}x")


if __name__ == "__main__":
    main()
