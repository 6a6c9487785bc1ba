"""Copies of uploaded and pasted files in the cache folder, by sha256, so that a reload can find them again.

The page's URL names a file by its sha256 (`dashboard.link`); the bytes sit in `<cache>/v1/uploads/<sha256>`
with its name beside them in `<sha256>.json`. "Clear the cache" removes them with the rest.

>>> import tempfile
>>> from scoring.cache import Cache
>>> cache = Cache(tempfile.mkdtemp())
>>> digest = keep(cache, "notes.txt", b"one\\n\\ntwo")
>>> find(cache, digest)
KeptFile(name='notes.txt', data=b'one\\n\\ntwo', digest='...')
>>> find(cache, "../../etc/passwd") is None
True
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from scoring.atomic import write_bytes_atomic
from scoring.cache import Cache
from scoring.hashing import file_digest

DIGEST = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class KeptFile:
    """A file as uploaded or pasted: its name (no folders), its bytes and their sha256."""

    name: str
    data: bytes
    digest: str
    """Hex sha256 of `data`."""


def keep(cache: Cache, name: str, data: bytes, digest: str | None = None) -> str:
    """Keep a copy of the file `name` holding `data` (once per content) and return its sha256 (`digest` if known).

    Without a cache folder nothing is kept. A file that cannot be written is not kept either: the inputs still
    work, only a reload will not find them."""
    digest = digest or file_digest(data)
    folder = cache.folder("uploads")
    if folder is None or (folder / f"{digest}.json").exists():
        return digest
    try:
        folder.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(folder / digest, data)
        write_bytes_atomic(folder / f"{digest}.json", json.dumps({"name": name}).encode())  # last: marks it whole
    except OSError:
        pass
    return digest


def find(cache: Cache, digest: str | None) -> KeptFile | None:
    """The kept file whose sha256 is `digest`, or None: not a sha256, never kept, removed, or changed on disk."""
    folder = cache.folder("uploads")
    if folder is None or digest is None or not DIGEST.fullmatch(digest):
        return None
    try:
        name = json.loads((folder / f"{digest}.json").read_text(encoding="utf-8"))["name"]
        data = (folder / digest).read_bytes()
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(name, str) or file_digest(data) != digest:
        return None
    return KeptFile(Path(name).name, data, digest)
