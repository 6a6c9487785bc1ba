"""Write files so that readers see either the old file or the whole new one, never a half-written file."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success it replaces `final`, on error it is removed.

    Example: `with atomic_path("out.parquet") as tmp: pq.write_table(table, tmp)`.
    """
    final = Path(final)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(final))  # mkstemp makes 0600; give what open() would have given
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def write_bytes_atomic(final: str | Path, data: bytes) -> None:
    """Write `data` to `final` atomically."""
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def _mode_for(final: Path) -> int:
    """The permission bits `final` gets: those of the file it replaces, else `new_file_mode()`."""
    try:
        return final.stat().st_mode & 0o777
    except OSError:
        return new_file_mode()


def new_file_mode() -> int:
    """The permission bits open() gives a new file: 0o666 minus the umask (mkstemp gives 0o600), e.g. 0o644."""
    return 0o666 & ~_umask()


def _umask() -> int:
    """This process's umask, read without changing it (os.umask would, for every thread); 0o022 if unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022
