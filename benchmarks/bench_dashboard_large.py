"""The dashboard with a large uploaded pool: time to results, to the map, and to each view, against the same
steps on the sample pool (the named peer: the same app and browser, ~34× fewer records) in the same run.

    .venv/bin/python benchmarks/large_pool.py --records 100000 --out /tmp/pool100k.jsonl
    .venv/bin/python benchmarks/bench_dashboard_large.py --pool /tmp/pool100k.jsonl

First both pools' RDS+ embeddings (MiniLM, max length 128) are put in the cache (`./cache`, or --cache-dir)
with `python -m scoring embed`, so the app reads them: embedding 100k texts takes about half an hour on 2
cores the first time, and nothing on later runs. Then, for each pool, the app (its own server) uploads the
file with the HumanEval targets and MiniLM chosen, waits for both methods (ZIP-FIT is computed unless cached
by an earlier run), opens the Map (UMAP computed, or cached), goes back to Scores, opens the Map again and
each other view, then switches between views for --rounds rounds (median and slowest printed); every step is
timed until text that only its view shows, below its charts, is visible.
Needs Debian's chromium (`make browser`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from dashboard.launch import CHROMIUM, CHROMIUM_ARGS, serve

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_MS = 3_600_000
VIEW_MARKERS = {
    "Scores": "Each box spans the middle half of the lengths, with the median as a line and the mean dashed.",
    "Map": "Draw a box or lasso around points to list their records here. Targets are the green stars.",
    "Side by side": "Why was it picked?",
    "Overlap": "Jaccard at k",
    "Export": "Download the manifest (JSON)",
}
"""Text that only each view shows (exactly), below its charts and tables."""
ROUND = ("Map", "Scores", "Overlap", "Side by side")
"""The views switched between, in this order, in each of --rounds rounds after the first visits."""


def timed(step, results: dict[str, float], name: str) -> None:
    started = time.monotonic()
    step()
    results[name] = time.monotonic() - started
    print(f"  {name:<42} {results[name]:8.1f} s", flush=True)


def done(page: Page, label: str) -> None:
    expect(page.get_by_text(re.compile(rf"^{re.escape(label)}: done in"))).to_be_visible(timeout=TIMEOUT_MS)


def choose_minilm(page: Page, max_length: int) -> None:
    sidebar = page.locator('[data-testid="stSidebar"]')
    option = page.get_by_role("option", name=re.compile(r"^minilm"))
    for _ in range(10):  # a rerun of the page can close the list before the click lands
        sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="RDS+ model").click()
        try:
            option.click(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    expect(sidebar.get_by_role("combobox", name="RDS+ model")).to_have_value(re.compile(r"^minilm"))
    # MiniLM at the default max length just started on the sample pool: stop it (unless cached): no CPU goes there
    with contextlib.suppress(PlaywrightTimeout):
        page.get_by_role("button", name="Cancel").click(timeout=3_000)
    length = sidebar.get_by_role("spinbutton", name="Max length (tokens)")
    length.fill(str(max_length))
    length.press("Enter")


def run_pool(page: Page, url: str, pool: Path, max_length: int, rounds: int) -> dict[str, float]:
    """Each step's seconds for one pool file."""
    print(f"\n{pool} ({pool.stat().st_size:,} bytes)")
    results: dict[str, float] = {}
    page.goto(url)
    done(page, "ZIP-FIT")  # the sample pool's first results: the page is up
    done(page, "RDS+")
    choose_minilm(page, max_length)
    sidebar = page.locator('[data-testid="stSidebar"]')

    def upload() -> None:
        sidebar.get_by_text("Upload a file").last.click()
        sidebar.locator('input[type="file"]').last.set_input_files(pool)
        expect(page.get_by_text(re.compile(rf"candidates from upload {re.escape(pool.name)}"))).to_be_visible(
            timeout=TIMEOUT_MS
        )

    timed(upload, results, "upload and parse the pool")
    timed(lambda: (done(page, "ZIP-FIT"), done(page, "RDS+")), results, "both methods' results")

    def visible(marker: str) -> None:
        expect(page.get_by_text(marker, exact=True).first).to_be_visible(timeout=TIMEOUT_MS)

    def open_view(name: str) -> None:
        """Click the view's link; wait for text that only that view shows, below its charts and tables."""
        page.get_by_role("link", name=name).click()
        visible(VIEW_MARKERS[name])

    timed(lambda: visible(VIEW_MARKERS["Scores"]), results, "score charts")
    timed(lambda: open_view("Map"), results, "Map: UMAP and first draw")
    page.screenshot(path=ROOT / "test-output" / f"large-{pool.stem}-map.png")
    timed(lambda: open_view("Scores"), results, "back to Scores")
    timed(lambda: open_view("Map"), results, "Map again (cached layout)")
    for name in ("Side by side", "Overlap", "Export"):
        timed(lambda name=name: open_view(name), results, f"{name} view")
    page.screenshot(path=ROOT / "test-output" / f"large-{pool.stem}-export.png", full_page=True)
    switches: dict[str, list[float]] = {name: [] for name in ROUND}
    for _ in range(rounds):
        for name in ROUND:
            started = time.monotonic()
            open_view(name)
            switches[name].append(time.monotonic() - started)
    for name, seconds in switches.items():
        if seconds:
            results[f"{name}, median of {rounds} rounds"] = statistics.median(seconds)
            results[f"{name}, slowest of {rounds} rounds"] = max(seconds)
            print(f"  {name} in rounds: " + " ".join(f"{s:.1f}" for s in seconds) + " s", flush=True)
    return results


def embed(pool: Path, cache_dir: Path, max_length: int) -> None:
    """The pool's MiniLM embeddings into the cache (read from it when already there), by the command line."""
    with tempfile.TemporaryDirectory() as scratch:
        command = [sys.executable, "-m", "scoring", "embed", "--input", str(pool), "--out", f"{scratch}/e.npy"]
        command += ["--model", "minilm", "--max-length", str(max_length), "--cache-dir", str(cache_dir)]
        started = time.monotonic()
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    print(f"  {pool.name}: embeddings in the cache after {time.monotonic() - started:.1f} s (command line)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pool", type=Path, required=True, help="the large pool file to upload")
    parser.add_argument(
        "--peer-pool", type=Path, default=ROOT / "sample_data" / "pool.jsonl", help="the pool timed alongside"
    )
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "cache", help="the cache folder the app uses")
    parser.add_argument("--max-length", type=int, default=128, help="MiniLM's max length (tokens) in the app")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of switching between views (default 5)")
    args = parser.parse_args()
    print(f"{dt.date.today()} · {platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    (ROOT / "test-output").mkdir(exist_ok=True)
    for pool in (args.peer_pool, args.pool):
        embed(pool, args.cache_dir, args.max_length)
    runs: dict[str, dict[str, float]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for pool in (args.peer_pool, args.pool):
            with serve(args.cache_dir, extra_args=("--server.maxUploadSize", "2000")) as server:
                page = browser.new_context(viewport={"width": 1500, "height": 1100}).new_page()
                try:
                    runs[pool.name] = run_pool(page, server.url, pool, args.max_length, args.rounds)
                except (PlaywrightTimeout, AssertionError):  # show which wait failed, then stop
                    page.screenshot(path=ROOT / "test-output" / f"large-{pool.stem}-failed.png", full_page=True)
                    raise
                page.context.close()
        browser.close()
    peer, large = runs[args.peer_pool.name], runs[args.pool.name]
    print(f"\n{'step':<42} {args.peer_pool.name:>14} {args.pool.name:>16} {'ratio':>7}")
    for step in large:
        print(f"{step:<42} {peer[step]:12.1f} s {large[step]:14.1f} s {large[step] / max(peer[step], 1e-9):6.1f}×")


if __name__ == "__main__":
    main()
