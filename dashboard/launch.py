"""Start the dashboard as `make run` does, on a free local port, for tests and benchmarks.

>>> with serve(cache_dir="/tmp/c") as url:
...     print(url)  # http://localhost:PORT, answering once this prints
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from scoring.cache import CACHE_ENV

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
"""Debian's chromium (`make browser`); Playwright cannot download its own browsers here."""
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
"""Headless flags that keep Chromium off the network (it would try Google's hosts at every start)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(cache_dir: str | Path, timeout: float = 60, extra_args: tuple[str, ...] = ()) -> Iterator[str]:
    """Run `streamlit run dashboard/app.py` with its own cache folder; yields the URL; stops it after."""
    port = free_port()
    env = {**os.environ, CACHE_ENV: str(cache_dir)}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "dashboard/app.py",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        *extra_args,
    ]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_for_port(port, process, log, timeout)
            yield f"http://localhost:{port}"
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_for_port(port: int, process: subprocess.Popen, log, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"the dashboard did not start:\n{log.read()[-2000:]}") from None
            time.sleep(0.2)
