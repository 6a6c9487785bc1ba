"""A content-addressed on-disk cache of per-text values (compressed sizes, scores, embeddings).

Values live in tables keyed by (kind, parameters); inside a table each value is keyed by the sha256 of its
text. A table is a folder of shard files `<sha256 of the file>.npy` holding a structured array (key, value):
the name is the checksum, so damage is detected on read; writes go to a temporary file that is renamed, so a
crash leaves no half entry and two processes writing at once at worst store the same values twice.

>>> import tempfile
>>> from scoring.hashing import text_keys
>>> table = Cache(tempfile.mkdtemp()).table("zipfit-size", {"compressor": "gzip", "level": 9}, np.int64)
>>> shard = table.put(text_keys(["some text"]), np.array([29]))  # the new shard's name
>>> values, found = table.get(text_keys(["some text", "another text"]))
>>> values.tolist(), found.tolist()
([29, 0], [True, False])
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from scoring.atomic import new_file_mode, owned_temp, write_bytes_atomic
from scoring.errors import OptionError
from scoring.hashing import KEY_DTYPE, file_sha256, params_digest
from scoring.spill import release

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
CACHE_ENV = "SCORING_CACHE_DIR"
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "cache"
SAMPLE_CACHE = Path(__file__).resolve().parent.parent / "sample_data" / "cache"
"""Shipped, read-only entries for the sample data (its RDS+ embeddings and maps): a seed of every cache."""
READ_BYTES = 16 << 20
"""Values are copied out of a shard file at most this many bytes at a time."""


def default_cache_dir() -> Path:
    """`$SCORING_CACHE_DIR` if set, else `cache/` at the repository root."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_DIR)


def open_cache(root: str | Path | None, *, option: str = "--cache-dir") -> Cache:
    """The cache at `root` (None: no cache), seeded with the sample data's shipped entries.

    The folder is created if missing; OptionError (naming `option`) if it cannot be, or cannot be written.
    """
    if root is not None:
        _check_writable_folder(Path(root), option)
    return Cache(root, seeds=[SAMPLE_CACHE])


def _check_writable_folder(root: Path, option: str) -> None:
    what_to_do = f"give a writable folder with {option}" + (", or use --no-cache" if option.startswith("--") else "")
    if root.exists() and not root.is_dir():
        raise OptionError(option, f"{str(root)!r} is a file, not a folder; {what_to_do}")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        problem = f"cannot create the cache folder {str(root)!r} ({e.strerror})"
        raise OptionError(option, f"{problem}; {what_to_do}") from None
    if not os.access(root, os.W_OK | os.X_OK):
        raise OptionError(option, f"the cache folder {str(root)!r} is not writable; {what_to_do}")


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

    def folder(self, kind: str) -> Path | None:
        """Where files of `kind` go that `clear` removes with the tables, or None without a root.

        >>> Cache("cache").folder("uploads").as_posix()
        'cache/v1/uploads'
        """
        return None if self.root is None else self.root / f"v{FORMAT_VERSION}" / kind

    def size_bytes(self) -> int:
        """Total size of the files under the root; files that jobs replace or remove meanwhile are skipped."""
        if self.root is None:
            return 0
        total = 0
        for folder, _, files in os.walk(self.root):  # errors (a folder removed meanwhile) are ignored
            for name in files:
                with contextlib.suppress(FileNotFoundError):
                    total += os.stat(os.path.join(folder, name), follow_symlinks=False).st_size
        return total

    def clear(self) -> None:
        """Delete every entry (the folder's README, if any, stays)."""
        if self.root is None:
            return
        with self._lock:
            shutil.rmtree(self.root / f"v{FORMAT_VERSION}", ignore_errors=True)
            self._tables.clear()


class CacheTable:
    """Values of one kind and parameter set, keyed by text sha256 (dtype S32). Thread-safe.

    Only the keys are held in memory (an index of about 80 bytes per value: each shard's keys, and all of them
    sorted with their locations); values are read from the memory-mapped shard files when asked for,
    `READ_BYTES` at a time, so a table may be larger than RAM.
    """

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
        self._shards: dict[str, _Shard] = {}
        self._sorted_keys = np.empty(0, dtype=KEY_DTYPE)
        self._locations = np.empty((0, 2), dtype=np.int64)  # (shard number, row) of each sorted key
        self._shard_order: list[str] = []
        self._rejected: set[Path] = set()  # damaged shards that cannot be removed, not to be read again
        self._unwritable = False  # set when a write failed: later ones are skipped

    def get(self, keys: np.ndarray, *, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(values, found): values[i] is the value of keys[i] where found[i]; elsewhere zero.

        `out` (N, *shape), e.g. a disk-backed scratch array, receives the values instead of a new array (rows
        not found are left as they are); memory then stays O(N) for the keys, whatever the values' size.
        """
        values = self._empty(len(keys)) if out is None else out
        found = np.zeros(len(keys), dtype=bool)
        if self.folder is None or len(keys) == 0:
            return values, found
        with self._lock:
            self._refresh()
            if len(self._sorted_keys) == 0:
                return values, found
            position = np.searchsorted(self._sorted_keys, keys).clip(max=len(self._sorted_keys) - 1)
            found = self._sorted_keys[position] == keys
            hits = np.flatnonzero(found)
            lost = self._gather(values, hits, self._locations[position[hits]])
        found[hits[lost]] = False
        return values, found

    def put(self, keys: np.ndarray, values: np.ndarray) -> str | None:
        """Store values[i] under keys[i] as one new shard; returns the shard's name (None if not stored).

        A folder that cannot be written (permissions, a file in its place, a full disk) is warned about once;
        the values are then not stored, and the caller goes on with them.
        """
        if self.folder is None or len(keys) == 0 or self._unwritable:
            return None
        records = np.empty(len(keys), dtype=self.record_dtype)
        records["key"] = keys
        records["value"] = values
        try:
            with self._lock:
                self.folder.mkdir(parents=True, exist_ok=True)
                params_file = self.folder / "params.json"
                if not params_file.exists():
                    write_bytes_atomic(params_file, json.dumps(self._description, indent=2).encode())
            name, path = _write_shard(self.folder, records)
        except OSError as e:
            with self._lock:
                warned, self._unwritable = self._unwritable, True
            if not warned:
                log.warning(
                    "the cache folder %s cannot be written (%s): what this run computes is not cached; check its "
                    "permissions or use another cache folder",
                    self.folder,
                    e.strerror or e,
                )
            return None
        with self._lock:
            if name not in self._shards:
                self._shards[name] = _Shard(path, records["key"].copy(), _stamp(path), removable=True)
                self._shard_order.append(name)
                self._index_last()
        return name

    def compact(self) -> None:
        """Merge this table's own shards into one (a value stored twice is kept once); seeds are untouched."""
        if self.folder is None:
            return
        with self._lock:
            self._refresh()
            own = [name for name in self._shard_order if self._shards[name].removable]
            if len(own) < 2:
                return
            records = np.concatenate([np.load(self._shards[name].path, allow_pickle=False) for name in own])
            _, first = np.unique(records["key"], return_index=True)
            merged = records[np.sort(first)]
        kept = self.put(merged["key"], merged["value"])
        if kept is None:  # not written: the shards stay as they are
            return
        with self._lock:
            for name in own:
                if name != kept:
                    self._shards[name].path.unlink(missing_ok=True)
                    self._forget(name)
            self._reindex()

    def _empty(self, n: int) -> np.ndarray:
        value = self.record_dtype["value"]
        return np.zeros((n, *value.shape), dtype=value.base)

    def _gather(self, values: np.ndarray, hits: np.ndarray, locations: np.ndarray) -> np.ndarray:
        """Copy the values at locations (len(hits), 2) into values[hits], shard by shard, rows in file order.

        Returns (len(hits),) bool: True where the shard could not be read any more (then forgotten).
        """
        lost = np.zeros(len(hits), dtype=bool)
        order = np.lexsort((locations[:, 1], locations[:, 0]))
        groups = np.split(order, np.flatnonzero(np.diff(locations[order, 0])) + 1) if len(order) else []
        rows_per_read = max(1, READ_BYTES // max(1, self.record_dtype.itemsize))
        names = list(self._shard_order)  # shard numbers of the index, even if one is forgotten meanwhile
        for group in groups:
            records = self._open(names[locations[group[0], 0]])
            if records is None:
                lost[group] = True
                continue
            for start in range(0, len(group), rows_per_read):
                part = group[start : start + rows_per_read]
                values[hits[part]] = records["value"][locations[part, 1]]
            del records  # unmapped: the values read leave this process's memory
            release(values)
        if lost.any():
            self._reindex()
        return lost

    def _refresh(self) -> None:
        """Index shards written since the last look (by this or another process), and seed shards."""
        added = False
        for folder in [self.folder, *self.seed_folders]:
            for path in sorted(folder.glob("*.npy")) if folder.is_dir() else []:
                if path.stem in self._shards or path in self._rejected:
                    continue
                shard = self._check_shard(path, removable=folder == self.folder)
                if shard is not None:
                    self._shards[path.stem] = shard
                    self._shard_order.append(path.stem)
                    added = True
        if added:
            self._reindex()

    def _check_shard(self, path: Path, removable: bool = True) -> _Shard | None:
        """The shard's keys after a streamed checksum, or None (with a warning, and the file removed if ours)."""
        try:
            stamp = _stamp(path)
            problem = None if file_sha256(path) == path.stem else "its checksum does not match (damaged or truncated)"
            records = None if problem else np.load(path, mmap_mode="r", allow_pickle=False)
        except OSError as e:
            log.warning("cache shard %s cannot be read (%s); its values will be recomputed", path, e)
            return None
        except (ValueError, EOFError) as e:  # EOFError: an empty file (its name the sha256 of nothing)
            records, problem = None, f"it is not a valid array file ({e})"
        if records is not None and records.dtype != self.record_dtype:
            problem = f"it holds {records.dtype}, expected {self.record_dtype} (an older format)"
        if problem:
            self._reject(path, removable, problem)
            return None
        return _Shard(path, np.array(records["key"]), stamp, removable)

    def _open(self, name: str) -> np.ndarray | None:
        """The shard's records, memory-mapped; checked again if the file changed; None if it is unusable now."""
        shard = self._shards[name]
        try:
            if _stamp(shard.path) != shard.stamp:
                checked = self._check_shard(shard.path, shard.removable)
                if checked is None:
                    self._forget(name)
                    return None
                self._shards[name] = checked
            return np.load(shard.path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as e:
            log.warning("cache shard %s cannot be read (%s); its values will be recomputed", shard.path, e)
            self._forget(name)
            return None

    def _reject(self, path: Path, removable: bool, problem: str) -> None:
        log.warning("cache shard %s is unusable: %s; its values will be recomputed", path, problem)
        if removable:
            with contextlib.suppress(OSError):  # e.g. a folder that cannot be written: then only skipped
                path.unlink(missing_ok=True)
                return
        self._rejected.add(path)

    def _forget(self, name: str) -> None:
        """Drop a shard from the index (call `_reindex` after)."""
        if self._shards.pop(name, None) is not None:
            self._shard_order.remove(name)

    def _reindex(self) -> None:
        if not self._shard_order:
            self._sorted_keys, self._locations = np.empty(0, dtype=KEY_DTYPE), np.empty((0, 2), dtype=np.int64)
            return
        keys = [self._shards[name].keys for name in self._shard_order]
        locations = [np.stack([np.full(len(k), number), np.arange(len(k))], axis=1) for number, k in enumerate(keys)]
        all_keys = np.concatenate(keys)
        order = np.argsort(all_keys, kind="stable")
        self._sorted_keys = all_keys[order]
        self._locations = np.concatenate(locations)[order]

    def _index_last(self) -> None:
        """Merge the newest shard's keys into the index, after equal keys of older shards (as `_reindex` would)."""
        number = len(self._shard_order) - 1
        keys = self._shards[self._shard_order[number]].keys
        order = np.argsort(keys, kind="stable")
        at = np.searchsorted(self._sorted_keys, keys[order], side="right")
        self._sorted_keys = np.insert(self._sorted_keys, at, keys[order])
        self._locations = np.insert(self._locations, at, np.stack([np.full(len(keys), number), order], axis=1), axis=0)


@dataclass(frozen=True)
class _Shard:
    """A checked shard file: its keys in file order, and (size, mtime) when its checksum was verified."""

    path: Path
    keys: np.ndarray
    stamp: tuple[int, int]
    removable: bool  # ours (removed if damaged), not a read-only seed


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


class _HashingWriter:
    """A file-like object for np.save: writes to `file` and hashes what it writes."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.file.write(data)


def _write_shard(folder: Path, records: np.ndarray) -> tuple[str, Path]:
    """Write records as `<sha256 of the file>.npy` in folder, through a temporary file renamed when complete.

    The bytes are hashed as they are written (np.save writes large arrays in pieces), so no copy of the file
    is held in memory. Returns (name, path); a shard with the same bytes already there is kept.
    """
    fd, tmp = owned_temp(folder, ".shard-", ".tmp")  # also removes those of killed processes
    try:
        os.fchmod(fd, new_file_mode())  # as other files get, so a cache folder can be shared as the umask allows
        with os.fdopen(fd, "wb") as f:
            writer = _HashingWriter(f)
            np.save(writer, records, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        digest = writer.digest.hexdigest()
        path = folder / f"{digest}.npy"
        if not path.exists():
            os.replace(tmp, path)
        return digest, path
    finally:
        tmp.unlink(missing_ok=True)
