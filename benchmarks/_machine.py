"""What the benchmarks print about the machine they ran on: its CPU model and load average.

>>> cpu_model()
'AMD EPYC 7B13'
>>> load_average()
'1.10 1.26 1.38'
"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, e.g. "1.10 1.26 1.38"."""
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
