"""Robustness check, not a timing: open the dashboard cold N times and count page loads whose frontend crashed.

Each round starts a new server with an empty cache (the first session of a process, as in the browser test),
opens the sample data in headless Chromium and waits until both methods say done. A round fails when the
page throws an uncaught error (Streamlit's frontend then shows a blank page) or the wait times out; the
first error of each failed round is printed. Run it after a Streamlit upgrade or a change to the status
panel: before the panel got a container of its own, 4 of 87 cold loads crashed here; 0 of 110 after.

    .venv/bin/python benchmarks/stress_cold_loads.py --rounds 50
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from dashboard.launch import CHROMIUM, CHROMIUM_ARGS, serve


def cold_load(page: Page, url: str, timeout_s: float) -> str | None:
    """Open `url` and wait for both methods; None if they finished, else what went wrong."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    deadline = time.monotonic() + timeout_s
    for label in ("ZIP-FIT", "RDS+"):
        done = page.get_by_text(re.compile(rf"^{re.escape(label)}: done in"))
        while not errors:
            try:
                expect(done).to_be_visible(timeout=1_000)
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    return f"{label} not done after {timeout_s:.0f} s"
    return errors[0] if errors else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for both methods per round")
    args = parser.parse_args()
    print(f"{dt.date.today()} · {platform.node()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    failed = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for round_ in range(1, args.rounds + 1):
            with tempfile.TemporaryDirectory() as scratch, serve(Path(scratch) / "cache") as server:
                context = browser.new_context(viewport={"width": 1500, "height": 1100})
                started = time.monotonic()
                problem = cold_load(context.new_page(), server.url, args.timeout)
                context.close()
            failed += problem is not None
            outcome = "ok" if problem is None else f"FAILED: {problem[:300]}"
            print(f"round {round_:3d}: {time.monotonic() - started:5.1f} s {outcome}", flush=True)
        browser.close()
    print(f"{failed} of {args.rounds} cold page loads failed")


if __name__ == "__main__":
    main()
