"""Write files so that readers see either the old file or the whole new one, never a half-written file.

Temporary files are named after this host and process (`owned_temp`), so that those of a process that was
killed (SIGKILL, a crash) are removed by the next one that writes beside them on the same host.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success it replaces `final`, on error it is removed.

    Example: `with atomic_path("out.parquet") as tmp: pq.write_table(table, tmp)`.
    """
    final = Path(final)
    fd, tmp = owned_temp(final.parent, f".{final.name}.", ".tmp")
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(final))  # mkstemp makes 0600; give what open() would have given
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def owned_temp(folder: Path, prefix: str, suffix: str) -> tuple[int, Path]:
    """A new file `<prefix><host>-<pid>-<random><suffix>` in `folder` (mode 0600, as mkstemp makes it): its
    descriptor and path. First removes the files so named of this host whose process is gone.

    Example: `owned_temp(Path("out"), ".results.parquet.", ".tmp")` -> (fd, out/.results.parquet.box-4242-x1y2.tmp)
    """
    host = _host()
    for path in folder.glob(f"{glob.escape(prefix + host)}-*{glob.escape(suffix)}"):
        pid = path.name.removeprefix(f"{prefix}{host}-").split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                path.unlink()
    fd, name = tempfile.mkstemp(prefix=f"{prefix}{host}-{os.getpid()}-", suffix=suffix, dir=folder)
    return fd, Path(name)


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


@functools.cache
def _host() -> str:
    """This host and PID namespace, e.g. "box_ns4026531836": a PID in a file name means a process there."""
    import socket  # ~3 ms at start-up, needed only to name temporary files

    name = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:64] or "host"
    try:  # containers may share a host name and a folder, but not PID numbers: the PID namespace is part of it
        return f"{name}_ns{os.stat('/proc/self/ns/pid').st_ino}"
    except OSError:
        return name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True
