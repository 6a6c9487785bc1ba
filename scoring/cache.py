"""A content-addressed on-disk cache of per-text values (compressed sizes, scores, embeddings).

Values live in tables keyed by (kind, parameters); inside a table each value is keyed by the sha256 of its
text. A table is a folder of shard files `<sha256 of the file>.npy` holding a structured array (key, value):
the name is the checksum, so damage is detected on read; writes go to a temporary file that is renamed, so a
crash leaves no half entry and two processes writing at once at worst store the same values twice.

>>> table = Cache("cache").table("zipfit-size", {"compressor": "gzip", "level": 9}, np.int64)
>>> values, found = table.get(text_keys(["some text"]))
>>> table.put(text_keys(["some text"]), np.array([29]))
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from scoring.atomic import write_bytes_atomic
from scoring.hashing import KEY_DTYPE, file_digest, params_digest

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CACHE_ENV = "SCORING_CACHE_DIR"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "cache"
SAMPLE_CACHE = Path(__file__).resolve().parent.parent / "sample_data" / "cache"
"""Shipped, read-only entries for the sample data (its RDS+ embeddings and maps): a seed of every cache."""


def default_cache_dir() -> Path:
    """`$SCORING_CACHE_DIR` if set, else `cache/` at the repository root."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_DIR)


def open_cache(root: str | Path | None) -> Cache:
    """The cache at `root` (None: no cache), seeded with the sample data's shipped entries."""
    return Cache(root, seeds=[SAMPLE_CACHE])


class Cache:
    """The cache rooted at `root` (a folder), or a cache that stores nothing when `root` is None.

    `seeds` are read-only folders laid out like a cache root (e.g. shipped embeddings of the sample data):
    their shards are read, checked, and never written or removed.
    """

    def __init__(self, root: str | Path | None, seeds: list[str | Path] = ()) -> None:
        self.root = None if root is None else Path(root)
        self.seeds = [Path(seed) for seed in seeds]
        self._tables: dict[Path, CacheTable] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def table(
        self, kind: str, params: Mapping[str, Any], dtype: np.dtype | type, shape: tuple[int, ...] = ()
    ) -> CacheTable:
        """The table of `kind` values computed with `params`; each value has `dtype` and `shape`."""
        if self.root is None:
            return CacheTable(None, dtype, shape)
        description = {"kind": kind, "params": dict(params), "dtype": np.dtype(dtype).str, "shape": list(shape)}
        relative = Path(f"v{FORMAT_VERSION}", kind, params_digest(description)[:24])
        folder = self.root / relative
        with self._lock:
            if folder not in self._tables:
                seeds = [seed / relative for seed in self.seeds]
                self._tables[folder] = CacheTable(folder, dtype, shape, description, seeds)
            return self._tables[folder]

    def size_bytes(self) -> int:
        """Total size of the files under the root."""
        if self.root is None or not self.root.exists():
            return 0
        return sum(p.stat().st_size for p in self.root.rglob("*") if p.is_file())

    def clear(self) -> None:
        """Delete every entry (the folder's README, if any, stays)."""
        if self.root is None:
            return
        with self._lock:
            shutil.rmtree(self.root / f"v{FORMAT_VERSION}", ignore_errors=True)
            self._tables.clear()


class CacheTable:
    """Values of one kind and parameter set, keyed by text sha256 (dtype S32). Thread-safe."""

    def __init__(
        self,
        folder: Path | None,
        dtype: np.dtype | type,
        shape: tuple[int, ...] = (),
        description: Mapping[str, Any] | None = None,
        seed_folders: list[Path] = (),
    ) -> None:
        self.folder = folder
        self.seed_folders = list(seed_folders)
        self.record_dtype = np.dtype([("key", KEY_DTYPE), ("value", np.dtype(dtype), shape)])
        self._description = description
        self._lock = threading.Lock()
        self._shards: dict[str, np.ndarray] = {}
        self._sorted_keys = np.empty(0, dtype=KEY_DTYPE)
        self._locations = np.empty((0, 2), dtype=np.int64)  # (shard number, row) of each sorted key
        self._shard_order: list[str] = []
        self._rejected: set[Path] = set()  # damaged read-only seed shards, not to be read again

    def get(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(values, found): values[i] is the value of keys[i] where found[i]; elsewhere zero."""
        values = np.zeros((len(keys), *self.record_dtype["value"].shape), dtype=self.record_dtype["value"].base)
        found = np.zeros(len(keys), dtype=bool)
        if self.folder is None or len(keys) == 0:
            return values, found
        with self._lock:
            self._refresh()
            if len(self._sorted_keys) == 0:
                return values, found
            position = np.searchsorted(self._sorted_keys, keys).clip(max=len(self._sorted_keys) - 1)
            found = self._sorted_keys[position] == keys
            for number, name in enumerate(self._shard_order):
                hit = found & (self._locations[position, 0] == number)
                if hit.any():
                    values[hit] = self._shards[name]["value"][self._locations[position[hit], 1]]
        return values, found

    def put(self, keys: np.ndarray, values: np.ndarray) -> str | None:
        """Store values[i] under keys[i] as one new shard; returns the shard's name (None if not stored)."""
        if self.folder is None or len(keys) == 0:
            return None
        records = np.empty(len(keys), dtype=self.record_dtype)
        records["key"] = keys
        records["value"] = values
        buffer = io.BytesIO()
        np.save(buffer, records, allow_pickle=False)
        data = buffer.getvalue()
        name = file_digest(data)
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            params_file = self.folder / "params.json"
            if not params_file.exists():
                write_bytes_atomic(params_file, json.dumps(self._description, indent=2).encode())
            path = self.folder / f"{name}.npy"
            if not path.exists():
                write_bytes_atomic(path, data)
            self._add_shard(name, records)
        return name

    def compact(self) -> None:
        """Merge this table's own shards into one (a value stored twice is kept once); seeds are untouched."""
        if self.folder is None:
            return
        with self._lock:
            self._refresh()
            own = [name for name in self._shard_order if (self.folder / f"{name}.npy").exists()]
            if len(own) < 2:
                return
            records = np.concatenate([self._shards[name] for name in own])
            _, first = np.unique(records["key"], return_index=True)
            merged = records[np.sort(first)]
        kept = self.put(merged["key"], merged["value"])
        with self._lock:
            for name in own:
                if name == kept:
                    continue
                (self.folder / f"{name}.npy").unlink(missing_ok=True)
                del self._shards[name]
                self._shard_order.remove(name)
            self._reindex()

    def _refresh(self) -> None:
        """Load shards written since the last look (by this or another process), and seed shards."""
        added = False
        for folder in [self.folder, *self.seed_folders]:
            for path in sorted(folder.glob("*.npy")) if folder.is_dir() else []:
                if path.stem in self._shards or path in self._rejected:
                    continue
                records = self._read_shard(path, removable=folder == self.folder)
                if records is not None:
                    self._shards[path.stem] = records
                    self._shard_order.append(path.stem)
                    added = True
        if added:
            self._reindex()

    def _read_shard(self, path: Path, removable: bool = True) -> np.ndarray | None:
        """The shard's records, or None (with a warning, and the file removed if ours) if it is damaged."""
        try:
            data = path.read_bytes()
        except OSError as e:
            log.warning("cache shard %s cannot be read (%s); its values will be recomputed", path, e)
            return None
        problem = None
        if file_digest(data) != path.stem:
            problem = "its checksum does not match (damaged or truncated)"
        else:
            try:
                records = np.load(io.BytesIO(data), allow_pickle=False)
                if records.dtype != self.record_dtype:
                    problem = f"it holds {records.dtype}, expected {self.record_dtype} (an older format)"
            except ValueError as e:
                problem = f"it is not a valid array file ({e})"
        if problem:
            log.warning("cache shard %s is unusable: %s; its values will be recomputed", path, problem)
            if removable:
                path.unlink(missing_ok=True)
            else:
                self._rejected.add(path)
            return None
        return records

    def _add_shard(self, name: str, records: np.ndarray) -> None:
        if name not in self._shards:
            self._shards[name] = records
            self._shard_order.append(name)
            self._reindex()

    def _reindex(self) -> None:
        if not self._shard_order:
            self._sorted_keys, self._locations = np.empty(0, dtype=KEY_DTYPE), np.empty((0, 2), dtype=np.int64)
            return
        keys = [self._shards[name]["key"] for name in self._shard_order]
        locations = [np.stack([np.full(len(k), number), np.arange(len(k))], axis=1) for number, k in enumerate(keys)]
        all_keys = np.concatenate(keys)
        order = np.argsort(all_keys, kind="stable")
        self._sorted_keys = all_keys[order]
        self._locations = np.concatenate(locations)[order]
