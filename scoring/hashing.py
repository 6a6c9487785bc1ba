"""Content hashes: the identity of texts, text lists, files and parameter sets."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

KEY_DTYPE = np.dtype("S32")
"""A text's key: the 32-byte sha256 digest of its UTF-8 bytes."""


def text_keys(texts: Iterable[str]) -> np.ndarray:
    """(N,) array of sha256 digests (dtype S32), one per text.

    Example: `key_hex(text_keys(["a"]))[0]` starts with `ca978112` (sha256 of b"a").
    """
    return np.array([hashlib.sha256(text.encode("utf-8")).digest() for text in texts], dtype=KEY_DTYPE)


def key_hex(keys: np.ndarray) -> list[str]:
    """The 64-character hex digest of each key (N,) S32, as `hashlib.sha256(...).hexdigest()` gives it.

    Not `keys[i].hex()`: NumPy drops an S32 value's trailing zero bytes, so 1 key in 256 would come out short.
    Example: `key_hex(text_keys(["text 405"]))[0]` ends in `00`.
    """
    data = np.ascontiguousarray(keys, dtype=KEY_DTYPE).tobytes().hex()
    return [data[i : i + 64] for i in range(0, len(data), 64)]


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read a block at a time (memory O(1), whatever the file's size)."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def list_digest(keys: np.ndarray) -> str:
    """Hex sha256 of an ordered list of text keys: two lists share it iff they hold the same texts in order."""
    return hashlib.sha256(np.ascontiguousarray(keys, dtype=KEY_DTYPE).tobytes()).hexdigest()


def params_digest(params: Mapping[str, Any]) -> str:
    """Hex sha256 of parameters as canonical JSON: `{"level": 9, "compressor": "gzip"}` in any key order."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def file_digest(data: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(data).hexdigest()
