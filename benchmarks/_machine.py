"""What the benchmarks print about the machine they ran on (CPU model, load average) and how busy it was.

>>> cpu_model()
'AMD EPYC 7B13'
>>> load_average()
'1.10 1.26 1.38'
>>> busy_seconds() > 0, children_cpu() >= 0
(True, True)
"""

from __future__ import annotations

import os
import platform
import resource
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


def busy_seconds() -> float:
    """CPU seconds all processes have spent busy since boot (from /proc/stat; 0 where unavailable)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    values = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished, waited-for children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
