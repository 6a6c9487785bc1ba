"""Start the dashboard as `make run` does, on a free local port, for tests and benchmarks.

>>> with serve(cache_dir="/tmp/c") as server:
...     print(server.url)  # http://localhost:PORT, answering once this prints
...     print(server.stacks())  # the server's log, ending with every thread's stack (when a wait failed)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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
STREAMLIT = (
    "import faulthandler, signal, sys; faulthandler.register(signal.SIGUSR1, all_threads=True); "
    "from streamlit.web.cli import main; main(sys.argv[1:], prog_name='streamlit')"
)
"""`python -m streamlit`, plus a dump of every thread's stack to the log on SIGUSR1 (see `Server.stacks`)."""


@dataclass
class Server:
    """A running dashboard: its URL, and its output so far for a failure message."""

    url: str
    process: subprocess.Popen
    log: IO[str]

    def output(self, characters: int = 6_000) -> str:
        """The last `characters` of what the server printed (read without moving the server's write offset)."""
        fd = self.log.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")[-characters:]

    def stacks(self, characters: int = 6_000) -> str:
        """The server's output, ending with the stack of each of its threads (what it is doing right now)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(1)
        return self.output(characters)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(cache_dir: str | Path, timeout: float = 60, extra_args: tuple[str, ...] = ()) -> Iterator[Server]:
    """Run `streamlit run dashboard/app.py` with its own cache folder; yields the server; stops it after."""
    port = free_port()
    env = {**os.environ, CACHE_ENV: str(cache_dir)}
    command = [
        sys.executable,
        "-c",
        STREAMLIT,
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
            yield Server(f"http://localhost:{port}", process, log)
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
