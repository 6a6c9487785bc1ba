"""Safe by default: the server's configuration, and what the code never does with user data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from scoring.errors import Cancelled
from scoring.loading import load_dataset
from scoring.pipeline import ZipfitParams, run_zipfit

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted(p for folder in ("scoring", "dashboard") for p in (ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("where", ["repository", "elsewhere"])
def test_the_server_listens_on_localhost_with_xsrf_protection_from_any_directory(where, tmp_path):
    # Streamlit's own loader, as `streamlit run <path>/dashboard/app.py` runs it, started in `where`.
    options = "'server.address', 'server.enableXsrfProtection', 'browser.gatherUsageStats'"
    probe = (
        "import streamlit.config as c, sys; c._main_script_path = sys.argv[1]; "
        f"c.get_config_options(force_reparse=True); print([c.get_option(o) for o in ({options})])"
    )
    cwd = ROOT if where == "repository" else tmp_path
    home = {**os.environ, "HOME": str(tmp_path)}  # no ~/.streamlit of the machine's user
    run = subprocess.run(
        [sys.executable, "-c", probe, str(ROOT / "dashboard" / "app.py")], cwd=cwd, env=home, capture_output=True
    )
    assert run.stdout.decode().strip() == "['localhost', True, False]", run.stderr.decode()[-2000:]


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"unsafe_allow_html\s*=\s*True", "user text would be rendered as HTML"),
        (r"^\s*(import pickle|from pickle)|pickle\.loads?\(", "pickle can run code from a file"),
        (r"torch\.load\(", "torch.load of a file can run code"),
        (r"allow_pickle\s*=\s*True", "NumPy files with pickles can run code"),
        (r"trust_remote_code\s*=\s*True", "a model folder's own code must never run"),
        (r"components\.html\(|st\.html\(", "raw HTML in the page"),
    ],
)
def test_the_code_never(pattern, why):
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in SOURCES
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if re.search(pattern, line)
    ]
    assert offenders == [], f"{why}: {offenders}"


def test_cancelling_frees_the_cpu_within_seconds():
    pool = load_dataset(ROOT / "sample_data" / "pool.jsonl").texts
    targets = load_dataset(ROOT / "sample_data" / "targets_humaneval.jsonl").texts
    cancel, outcome = threading.Event(), []

    def work() -> None:
        try:
            run_zipfit(pool, targets, ZipfitParams(level=9), cancel=cancel)  # about 10 s of work
            outcome.append("finished")
        except Cancelled:
            outcome.append("cancelled")

    worker = threading.Thread(target=work)
    worker.start()
    time.sleep(1.0)
    cancel.set()
    asked = time.monotonic()
    worker.join(timeout=30)
    assert outcome == ["cancelled"]
    assert time.monotonic() - asked < 3.0
