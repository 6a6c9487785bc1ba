"""RDS+ out of core: a tiny memory budget puts embeddings and task scores on disk, with the same results and
bounded memory; scratch files are removed; the memory budget setting."""

from __future__ import annotations

import os
import tempfile
import tracemalloc

import numpy as np
import pytest

import scoring.atomic
from scoring import spill
from scoring.cache import Cache
from scoring.pipeline import RdsParams, run_rds
from scoring.rds import select, task_numbers
from tests.fakes import ScratchSpy, simulate_round_robin, use_fake_model

TINY = 4096
"""A memory budget that sends everything to disk: 1-row chunks, spilled task scores."""


def unit_rows(rng: np.random.Generator, rows: int, dim: int) -> np.ndarray:
    vectors = rng.normal(size=(rows, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def on_disk(array: np.ndarray, path) -> np.memmap:
    np.save(path, array)
    return np.load(path, mmap_mode="r")


@pytest.mark.parametrize("selection", ["round-robin", "max", "mean"])
def test_select_from_disk_with_a_tiny_budget_equals_in_memory(tmp_path, monkeypatch, selection):
    rng = np.random.default_rng(5)
    pool, targets = unit_rows(rng, 700, 16), unit_rows(rng, 9, 16)
    pool[690] = pool[3]  # equal texts far apart: different chunks, still an exact tie
    tasks = task_numbers(["a", "b", "a", "c", "b", "a", "d", "d", "c"])
    spy = ScratchSpy(monkeypatch)
    in_memory = select(pool, targets, selection, tasks)
    spilled = select(
        on_disk(pool, tmp_path / "pool.npy"),
        targets,
        selection,
        tasks,
        memory_budget_bytes=TINY,
        spill_dir=tmp_path / "spill",
    )
    assert spy.shapes == ([(4, 700)] if selection == "round-robin" else [])  # only the round-robin needs rows
    for field in ("score", "rank", "nearest_target"):
        np.testing.assert_array_equal(getattr(spilled, field), getattr(in_memory, field))
    assert spilled.score[3] == spilled.score[690]
    assert spilled.rank[3] < spilled.rank[690]
    assert not (tmp_path / "spill").exists() or not any((tmp_path / "spill").iterdir())


def test_spilled_round_robin_equals_a_literal_simulation(tmp_path):
    rng = np.random.default_rng(6)
    pool = rng.integers(-2, 3, size=(60, 3)).astype(np.float32)  # exact dot products: ties everywhere
    targets = rng.integers(-2, 3, size=(5, 3)).astype(np.float32)
    result = select(pool, targets, memory_budget_bytes=TINY, spill_dir=tmp_path)
    order = simulate_round_robin(targets @ pool.T)
    assert [int(i) for i in np.argsort(result.rank)] == order


def test_scores_do_not_depend_on_chunking():
    """BLAS sums float32 in a shape-dependent order; rounding float64 sums makes every chunking agree."""
    rng = np.random.default_rng(7)
    pool, targets = unit_rows(rng, 500, 384), unit_rows(rng, 7, 384)
    results = [select(pool, targets, block_values=b).score for b in (384, 384 * 3, 384 * 100, 1 << 22)]
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])
    np.testing.assert_allclose(results[0], (targets @ pool.T).max(axis=0), atol=1e-6)


# --- the pipeline --------------------------------------------------------------------------------------------

POOL = [f"text {i % 37} about {i % 11} and {i % 5} things" for i in range(400)] + ["", "text 1 about 1 and 1 things"]
TARGETS = ["text 3 about", "things and 4", "about 9 and 2 things", "text"]


@pytest.mark.parametrize("cached", [False, True])
def test_run_rds_out_of_core_equals_in_memory(tmp_path, monkeypatch, cached):
    use_fake_model(monkeypatch, dim=16)
    params = RdsParams(model="fake", batch_size=16)
    cache = Cache(tmp_path / "cache") if cached else Cache(None)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))  # $TMPDIR, as Python reads it
    (tmp_path / "tmp").mkdir()
    spy = ScratchSpy(monkeypatch)
    in_memory = run_rds(POOL, TARGETS, params, cache=cache, task_ids=["a", "b", "a", "c"])
    assert spy.shapes == []
    for _ in range(2 if cached else 1):  # cold, then from the cache's memory-mapped shards
        spilled = run_rds(POOL, TARGETS, params, cache=cache, task_ids=["a", "b", "a", "c"], memory_budget_bytes=TINY)
        for field in ("score", "rank", "nearest_target"):
            np.testing.assert_array_equal(getattr(spilled, field), getattr(in_memory, field))
    assert spy.shapes[:2] == [(len(POOL) + len(TARGETS), 16), (3, len(POOL))]  # embeddings, then task scores
    scratch = (tmp_path / "cache" / "v1" / "tmp") if cached else (tmp_path / "tmp")
    assert spy.folders == {scratch}
    assert list(scratch.iterdir()) == []


def test_out_of_core_peak_memory_does_not_grow_with_the_embeddings(tmp_path, monkeypatch):
    """4× the pool: in RAM the peak grows past the embeddings; out of core it grows by O(N) bookkeeping only."""
    use_fake_model(monkeypatch, dim=1024)
    params = RdsParams(model="fake", batch_size=32)

    def peaks(n: int) -> tuple[int, int, int]:
        pool = [f"w{i} w{i % 7} w{i % 13}" for i in range(n)]
        cache = Cache(tmp_path / str(n))
        return tuple(
            traced_peak(lambda b=b: run_rds(pool, TARGETS, params, cache=cache, memory_budget_bytes=b))
            for b in (1 << 20, 1 << 20, None)
        )  # computing, then from the cache; then in RAM

    small, large = peaks(1500), peaks(6000)
    growth = 4 * 1024 * (6000 - 1500)  # of the embeddings, in bytes
    assert large[2] > 4 * 1024 * 6000, "the in-RAM path holds every embedding"
    for before, after in zip(small[:2], large[:2], strict=True):
        assert after - before < growth / 8, (small, large, growth)


def traced_peak(work) -> int:
    """Peak bytes allocated through Python and NumPy while `work()` runs (tracemalloc)."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# --- the budget and scratch files ------------------------------------------------------------------------------


def test_memory_budget_setting(monkeypatch):
    monkeypatch.delenv(spill.MEMORY_BUDGET_ENV, raising=False)
    assert spill.memory_budget(123) == 123
    assert spill.memory_budget() == os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") // 4
    for text, expected in [("512M", 512 << 20), ("2g", 2 << 30), ("1.5GiB", 3 << 29), ("1000", 1000)]:
        monkeypatch.setenv(spill.MEMORY_BUDGET_ENV, text)
        assert spill.memory_budget() == expected
    monkeypatch.setenv(spill.MEMORY_BUDGET_ENV, "lots")
    with pytest.raises(ValueError, match="not a size such as 4G"):
        spill.memory_budget()


def test_scratch_array_is_removed_even_on_error_and_stale_files_are_cleaned(tmp_path):
    seen: list[str] = []

    def fail_inside() -> None:
        with spill.scratch_array((10, 3), np.float32, tmp_path) as array:
            seen.extend(p.name for p in tmp_path.iterdir())
            assert array.shape == (10, 3)
            assert not array.any()
            raise RuntimeError

    with pytest.raises(RuntimeError):
        fail_inside()
    assert len(seen) == 1
    assert list(tmp_path.iterdir()) == []
    host = scoring.atomic._host()
    dead, alive = tmp_path / f"{spill.PREFIX}{host}-999999999-x.npy", tmp_path / f"{spill.PREFIX}{host}-1-x.npy"
    other_host = tmp_path / f"{spill.PREFIX}elsewhere-999999999-x.npy"
    for path in (dead, alive, other_host):
        path.write_bytes(b"")
    with spill.scratch_array((1,), np.float32, tmp_path):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other_host.name])


def test_release_keeps_the_data(tmp_path):
    with spill.scratch_array((1000, 64), np.float32, tmp_path) as array:
        array[:] = 2.0
        spill.release(array)
        assert float(array.sum()) == 2.0 * 64000
    spill.release(np.zeros(3))  # an array in RAM: nothing happens
