"""Work larger than memory: the memory budget, scratch arrays on disk, and streaming checksums.

A scratch array is a zero-filled `.npy` memmap created under a unique name in the spill folder
(`<cache>/v1/tmp/`, or `$TMPDIR` without a cache) and removed when its `with` block ends, whatever happens.
Files left by a process that was killed are removed by the next one on the same host. Pages of a disk-backed
array that were read or written can be dropped from the process's resident set with `release` (the data stays
in the file and the page cache), so RSS measures what the process really holds.

>>> with scratch_array((1000, 384), np.float32, Path("cache/v1/tmp")) as matrix:  # np.memmap, zeros
...     matrix[:10] = 1.0
...     release(matrix)
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from scoring.atomic import owned_temp
from scoring.errors import OptionError

MEMORY_BUDGET_ENV = "SCORING_MEMORY_BUDGET"
FALLBACK_BUDGET = 4 << 30
PREFIX = "scoring-spill-"
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def memory_budget(value: int | None = None) -> int:
    """Bytes of RAM large arrays may take: `value`, else `$SCORING_MEMORY_BUDGET`, else a quarter of the RAM.

    The variable takes bytes or a number with K, M, G or T: `memory_budget()` is 6 GiB on a 24 GiB machine,
    8589934592 with `SCORING_MEMORY_BUDGET=8G`.
    """
    if value is not None:
        return max(1, int(value))
    setting = os.environ.get(MEMORY_BUDGET_ENV, "").strip().upper().removesuffix("B").removesuffix("I")
    if setting:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMGT]?)", setting)
        if match is None:
            raise OptionError(
                MEMORY_BUDGET_ENV,
                f"{os.environ[MEMORY_BUDGET_ENV]!r} is not a size such as 4G or 500M; fix or unset it",
            )
        return max(1, int(float(match[1]) * _UNITS[match[2]]))
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    except (ValueError, OSError, AttributeError):
        return FALLBACK_BUDGET


def spill_folder(cache_root: Path | None) -> Path:
    """Where scratch arrays go: `<cache_root>/v1/tmp`, or the system's temporary folder without a cache."""
    if cache_root is None:
        return Path(tempfile.gettempdir())
    from scoring.cache import FORMAT_VERSION

    return Path(cache_root) / f"v{FORMAT_VERSION}" / "tmp"


@contextlib.contextmanager
def scratch_array(shape: tuple[int, ...], dtype: np.dtype | type, folder: Path) -> Iterator[np.memmap]:
    """A zero-filled `.npy` memmap of `shape` in `folder`, deleted when the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    fd, path = owned_temp(folder, PREFIX, ".npy")  # also removes those of killed processes
    os.close(fd)
    try:
        array = np.lib.format.open_memmap(path, mode="w+", dtype=np.dtype(dtype), shape=shape)
        try:
            yield array
        finally:
            del array
    finally:
        path.unlink(missing_ok=True)


def release(array: np.ndarray) -> None:
    """Drop the pages of a memmap from this process's resident set (its data stays on disk); else nothing."""
    mapping = getattr(array, "_mmap", None)
    if isinstance(mapping, mmap.mmap) and hasattr(mmap, "MADV_DONTNEED"):
        with contextlib.suppress(ValueError, OSError):  # closed, or a platform without madvise on files
            mapping.madvise(mmap.MADV_DONTNEED)
