"""The on-disk cache: hits and misses, damage detection, atomic writes, and the runner that uses it."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import scoring.atomic
from scoring.cache import Cache, CacheTable
from scoring.errors import Cancelled
from scoring.hashing import text_keys
from scoring.pipeline import run_zipfit
from scoring.runner import compute_cached

TEXTS = ["alpha", "beta", "gamma", "alpha"]


def shards(root: Path) -> list[Path]:
    return sorted(root.rglob("*.npy"))


class CountingLengths:
    """A chunk function (text length) that records which indices it computed."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.computed: list[int] = []

    def __call__(self, idx: np.ndarray) -> np.ndarray:
        self.computed.extend(idx.tolist())
        return np.array([len(self.texts[i]) for i in idx], dtype=np.int64)


def test_miss_then_hit(tmp_path):
    table = Cache(tmp_path).table("lengths", {"v": 1}, np.int64)
    keys = text_keys(TEXTS)
    values, found = table.get(keys)
    assert not found.any()
    table.put(keys[:2], np.array([5, 4]))
    values, found = Cache(tmp_path).table("lengths", {"v": 1}, np.int64).get(keys)  # a new process' view
    assert found.tolist() == [True, True, False, True]
    assert values.tolist() == [5, 4, 0, 5]


def test_parameters_separate_tables(tmp_path):
    cache = Cache(tmp_path)
    cache.table("lengths", {"v": 1}, np.int64).put(text_keys(["a"]), np.array([1]))
    assert not cache.table("lengths", {"v": 2}, np.int64).get(text_keys(["a"]))[1].any()


def test_vector_values_round_trip(tmp_path):
    table = Cache(tmp_path).table("emb", {}, np.float32, (3,))
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    table.put(text_keys(["a", "b"]), vectors)
    values, found = Cache(tmp_path).table("emb", {}, np.float32, (3,)).get(text_keys(["b", "a"]))
    np.testing.assert_array_equal(values, vectors[::-1])
    assert found.all()


def test_runner_on_threads_places_chunks_that_finish_out_of_order(tmp_path):
    """The first chunk is made slow, so later ones finish first: every value must still land at its own text."""
    texts = [f"text number {i}" + "x" * i for i in range(60)]
    finished: list[int] = []

    def lengths(idx: np.ndarray) -> np.ndarray:
        time.sleep(0.1 if idx[0] == 0 else 0)
        finished.append(int(idx[0]))
        return np.array([len(texts[i]) for i in idx], dtype=np.int64)

    table = Cache(tmp_path).table("lengths", {}, np.int64)
    values = compute_cached(text_keys(texts), lengths, table, chunk_size=5, workers=2)
    assert values.tolist() == [len(t) for t in texts]
    assert finished.index(0) > finished.index(5)  # the first chunk finished after a later one
    assert Cache(tmp_path).table("lengths", {}, np.int64).get(text_keys(texts))[1].all()


def test_runner_computes_each_distinct_missing_text_once(tmp_path):
    table = Cache(tmp_path).table("lengths", {}, np.int64)
    compute = CountingLengths(TEXTS)
    values = compute_cached(text_keys(TEXTS), compute, table, chunk_size=2)
    assert values.tolist() == [5, 4, 5, 5]
    assert sorted(compute.computed) == [0, 1, 2]
    again = CountingLengths(TEXTS)
    compute_cached(text_keys(TEXTS), again, Cache(tmp_path).table("lengths", {}, np.int64), chunk_size=2)
    assert again.computed == []


def test_damaged_shard_is_detected_warned_and_recomputed(tmp_path, caplog):
    table = Cache(tmp_path).table("lengths", {}, np.int64)
    compute_cached(text_keys(TEXTS), CountingLengths(TEXTS), table, chunk_size=10)
    (shard,) = shards(tmp_path)
    shard.write_bytes(shard.read_bytes()[:-7])  # truncated
    compute = CountingLengths(TEXTS)
    fresh_table = Cache(tmp_path).table("lengths", {}, np.int64)
    with caplog.at_level(logging.WARNING, logger="scoring.cache"):
        values = compute_cached(text_keys(TEXTS), compute, fresh_table, chunk_size=10)
    assert "checksum does not match" in caplog.text
    assert values.tolist() == [5, 4, 5, 5]
    assert sorted(compute.computed) == [0, 1, 2]
    assert len(shards(tmp_path)) == 1  # the damaged one removed, a good one written


def test_an_empty_shard_is_detected_warned_and_recomputed(tmp_path, caplog):
    table = Cache(tmp_path).table("lengths", {}, np.int64)
    compute_cached(text_keys(TEXTS), CountingLengths(TEXTS), table, chunk_size=10)
    (table.folder / f"{hashlib.sha256(b'').hexdigest()}.npy").write_bytes(b"")  # its checksum matches
    compute = CountingLengths(TEXTS)
    with caplog.at_level(logging.WARNING, logger="scoring.cache"):
        values = compute_cached(text_keys(TEXTS), compute, Cache(tmp_path).table("lengths", {}, np.int64), chunk_size=9)
    assert "is unusable: it is not a valid array file" in caplog.text  # was an internal EOFError
    assert values.tolist() == [5, 4, 5, 5]
    assert compute.computed == []  # the good shard still serves every value


def test_a_table_folder_that_cannot_be_written_is_warned_about_once_and_the_values_returned(tmp_path, caplog):
    table = Cache(tmp_path).table("lengths", {}, np.int64)
    table.folder.parent.mkdir(parents=True)
    table.folder.write_text("a file where the folder should be")
    with caplog.at_level(logging.WARNING, logger="scoring.cache"):
        values = compute_cached(text_keys(TEXTS), CountingLengths(TEXTS), table, chunk_size=1)
    assert values.tolist() == [5, 4, 5, 5]
    assert caplog.text.count("cannot be written") == 1
    assert table.put(text_keys(["more"]), np.array([4])) is None


def test_flipped_byte_with_same_length_is_detected(tmp_path, caplog):
    table = Cache(tmp_path).table("lengths", {}, np.int64)
    table.put(text_keys(["a"]), np.array([1]))
    (shard,) = shards(tmp_path)
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0xFF
    shard.write_bytes(bytes(data))
    _, found = Cache(tmp_path).table("lengths", {}, np.int64).get(text_keys(["a"]))
    assert not found.any()
    assert "unusable" in caplog.text


def test_a_failed_write_leaves_no_entry_and_is_warned_about(tmp_path, monkeypatch, caplog):
    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with caplog.at_level(logging.WARNING, logger="scoring.cache"):
        assert Cache(tmp_path).table("lengths", {}, np.int64).put(text_keys(["a"]), np.array([1])) is None
    monkeypatch.undo()
    assert "cannot be written (disk full)" in caplog.text
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert leftovers == []


def test_temporary_files_of_a_killed_process_are_removed_by_the_next_write_beside_them(tmp_path):
    killed = subprocess.run(  # a process killed while writing its result and a cache shard (SIGKILL: no cleanup)
        [
            sys.executable,
            "-c",
            "import os, signal, sys, numpy as np\n"
            "from scoring.atomic import atomic_path\n"
            "from scoring.cache import Cache\n"
            "from scoring.hashing import text_keys\n"
            "table = Cache(sys.argv[1]).table('lengths', {}, np.int64)\n"
            "table.put(text_keys(['kept']), np.array([4]))\n"
            "import scoring.cache as c; c.os.replace = lambda *a: os.kill(os.getpid(), signal.SIGKILL)\n"
            "with atomic_path(sys.argv[1] + '/out.jsonl') as tmp:\n"
            "    tmp.write_text('half')\n"
            "    table.put(text_keys(['lost']), np.array([4]))\n",
            str(tmp_path),
        ],
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert killed.returncode == -9
    left = sorted(p.name for p in tmp_path.rglob("*.tmp"))
    assert len(left) == 2, left  # .out.jsonl.<host>-<pid>-….tmp and .shard-<host>-<pid>-….tmp
    scoring.atomic.write_bytes_atomic(tmp_path / "out.jsonl", b"whole")
    Cache(tmp_path).table("lengths", {}, np.int64).put(text_keys(["new"]), np.array([3]))
    assert sorted(p.name for p in tmp_path.rglob("*.tmp")) == []
    assert (tmp_path / "out.jsonl").read_bytes() == b"whole"


def test_atomic_path_keeps_old_file_on_error(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")

    def write_half_then_fail() -> None:
        with scoring.atomic.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_half_then_fail()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_files_get_the_mode_open_would_give_or_keep_the_replaced_files(tmp_path):
    old_umask = os.umask(0o027)
    try:
        scoring.atomic.write_bytes_atomic(tmp_path / "new.txt", b"x")
        plain = tmp_path / "plain.txt"
        plain.write_bytes(b"x")  # what open() gives under this umask
    finally:
        os.umask(old_umask)
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == plain.stat().st_mode & 0o777 == 0o640
    kept = tmp_path / "kept.txt"
    kept.write_bytes(b"old")
    kept.chmod(0o604)
    scoring.atomic.write_bytes_atomic(kept, b"new")
    assert kept.stat().st_mode & 0o777 == 0o604


def test_cache_files_get_the_mode_open_would_give_so_a_group_can_share_the_cache(tmp_path):
    old_umask = os.umask(0o002)  # a shared group folder's usual umask
    try:
        Cache(tmp_path).table("lengths", {"v": 1}, np.int64).put(text_keys(TEXTS[:2]), np.array([5, 4]))
    finally:
        os.umask(old_umask)
    files = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert any(path.suffix == ".npy" for path in files)
    assert {path.stat().st_mode & 0o777 for path in files} == {0o664}


def test_disabled_cache_reads_and_writes_nothing(tmp_path):
    table = Cache(None).table("lengths", {}, np.int64)
    table.put(text_keys(["a"]), np.array([1]))
    assert not table.get(text_keys(["a"]))[1].any()
    assert not any(tmp_path.iterdir())


def test_cancel_keeps_finished_chunks(tmp_path):
    cancel = threading.Event()
    texts = [f"text {i}" for i in range(10)]

    def compute(idx: np.ndarray) -> np.ndarray:
        if idx[0] >= 4:
            cancel.set()
        return np.array([len(texts[i]) for i in idx], dtype=np.int64)

    table = Cache(tmp_path).table("lengths", {}, np.int64)
    with pytest.raises(Cancelled):
        compute_cached(text_keys(texts), compute, table, chunk_size=2, cancel=cancel)
    _, found = Cache(tmp_path).table("lengths", {}, np.int64).get(text_keys(texts))
    assert found.tolist() == [True] * 6 + [False] * 4


def test_new_target_set_reuses_pool_sizes(tmp_path):
    cache = Cache(tmp_path)
    pool = ["one two three", "four five", "six"]
    run_zipfit(pool, ["one"], cache=cache)
    size_tables = list((tmp_path / "v1" / "zipfit-size").iterdir())
    before = len(shards(size_tables[0]))
    run_zipfit(pool, ["one"], cache=cache)  # everything cached: nothing new written
    assert len(shards(size_tables[0])) == before
    run_zipfit(pool, ["two"], cache=cache)  # a new target set: only the new target's size is computed
    assert len(shards(size_tables[0])) == before + 1
    sizes = Cache(tmp_path).table("zipfit-size", {"compressor": "gzip", "level": 9}, np.int64)
    assert sizes.get(text_keys([*pool, "one", "two"]))[1].all()


def test_cached_scores_equal_fresh_scores(tmp_path):
    pool, targets = ["a b c", "x y z", "a b"], ["a b c d", "z"]
    fresh = run_zipfit(pool, targets, cache=Cache(None))
    run_zipfit(pool, targets, cache=Cache(tmp_path))
    cached = run_zipfit(pool, targets, cache=Cache(tmp_path))
    np.testing.assert_array_equal(fresh.score, cached.score)
    np.testing.assert_array_equal(fresh.nearest_target, cached.nearest_target)


def test_a_cache_cleared_while_a_run_reads_it_gives_right_scores_and_caches_them(tmp_path, monkeypatch):
    """Another session's "Clear the cache" right after this run looked up its alignments: the run must not align
    with C(x) it skipped because they were cached (it did: negative scores, written to the cache)."""
    pool, targets = ["a b c", "x y z", "a b"], ["a b c d", "z"]
    fresh = run_zipfit(pool, targets, cache=Cache(None))
    cache = Cache(tmp_path)
    run_zipfit(pool, targets, cache=cache)
    real_get, cleared = CacheTable.get, []

    def get_then_clear(table: CacheTable, keys: np.ndarray, **kwargs):
        found = real_get(table, keys, **kwargs)
        if "zipfit-alignment" in str(table.folder) and not cleared:
            cleared.append(True)
            cache.clear()
        return found

    monkeypatch.setattr(CacheTable, "get", get_then_clear)
    during = run_zipfit(pool, targets, cache=cache)
    monkeypatch.undo()
    assert cleared
    np.testing.assert_array_equal(during.score, fresh.score)
    again = run_zipfit(pool, targets, cache=Cache(tmp_path))
    np.testing.assert_array_equal(again.score, fresh.score)
    np.testing.assert_array_equal(again.nearest_target, fresh.nearest_target)


def test_seed_folders_are_read_but_never_written_or_removed(tmp_path, caplog):
    seed = tmp_path / "seed"
    Cache(seed).table("lengths", {}, np.int64).put(text_keys(["a", "b"]), np.array([1, 2]))
    cache = Cache(tmp_path / "own", seeds=[seed])
    table = cache.table("lengths", {}, np.int64)
    values, found = table.get(text_keys(["b", "c"]))
    assert found.tolist() == [True, False]
    assert values[0] == 2
    table.put(text_keys(["c"]), np.array([3]))
    assert len(shards(seed)) == 1
    assert len(shards(tmp_path / "own")) == 1


def test_damaged_seed_shard_is_skipped_not_removed(tmp_path, caplog):
    seed = tmp_path / "seed"
    Cache(seed).table("lengths", {}, np.int64).put(text_keys(["a"]), np.array([1]))
    (shard,) = shards(seed)
    shard.write_bytes(shard.read_bytes()[:-3])
    table = Cache(tmp_path / "own", seeds=[seed]).table("lengths", {}, np.int64)
    assert not table.get(text_keys(["a"]))[1].any()
    assert shard.exists()
    assert "unusable" in caplog.text


def test_compact_merges_shards_and_keeps_every_value(tmp_path):
    table = Cache(tmp_path).table("lengths", {}, np.int64)
    table.put(text_keys(["a", "b"]), np.array([1, 2]))
    table.put(text_keys(["b", "c"]), np.array([2, 3]))
    table.put(text_keys(["a"]), np.array([1]))  # a subset of the first shard
    table.compact()
    assert len(shards(tmp_path)) == 1
    values, found = Cache(tmp_path).table("lengths", {}, np.int64).get(text_keys(["a", "b", "c"]))
    assert found.all()
    assert values.tolist() == [1, 2, 3]
    assert len(np.load(shards(tmp_path)[0])) == 3


def test_size_counts_every_file_and_survives_files_replaced_while_it_walks(tmp_path):
    cache = Cache(tmp_path / "cache")
    cache.table("lengths", {}, np.int64).put(text_keys(["a", "bb"]), np.array([1, 2]))
    (tmp_path / "cache" / "README.md").write_text("kept")
    on_disk = sum(p.stat().st_size for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert cache.size_bytes() == on_disk > 0

    stop = threading.Event()

    def replace_files(folder: Path) -> None:  # what running jobs do: temporary files renamed into place
        folder.mkdir()
        while not stop.is_set():
            for i in range(10):
                scoring.atomic.write_bytes_atomic(folder / f"{i}.bin", b"x" * 100)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, so the walk meets files that vanish under it
    writers = [threading.Thread(target=replace_files, args=(tmp_path / "cache" / f"job{i}",)) for i in range(2)]
    for writer in writers:
        writer.start()
    try:  # the old walk raised FileNotFoundError about 4 times in 1,000 walks here
        sizes = [cache.size_bytes() for _ in range(3_000)]
    finally:
        stop.set()
        for writer in writers:
            writer.join()
        sys.setswitchinterval(interval)
    assert min(sizes) >= on_disk
    assert cache.size_bytes() == on_disk + 2 * 10 * 100
