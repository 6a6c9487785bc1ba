"""The Ray engine on a local Ray cluster of 2 CPUs: the same scores and ranks as the local engine, the same cache
entries, and clear errors for a bad `--ray-address` or a combination it does not run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import ray

from scoring import pipeline
from scoring.cache import Cache
from scoring.cli import main
from scoring.errors import OptionError
from scoring.loading import load_dataset
from scoring.pipeline import RdsParams, ZipfitParams, embed_texts, run_rds, run_zipfit
from scoring.ranking import ranks_descending
from scoring.ray_engine import RayEngine, _shards
from tests.fakes import ScratchSpy

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    """One local Ray cluster of 2 CPUs for the module; RayEngine uses it as it is and leaves it running."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def texts() -> tuple[list[str], list[str]]:
    """300 sample-pool texts (with a duplicate and an empty text) and 12 HumanEval targets."""
    pool = load_dataset(SAMPLE / "pool.jsonl").texts[:298]
    targets = load_dataset(SAMPLE / "targets_humaneval.jsonl").texts[:12]
    return [*pool, pool[5], ""], targets


def test_zipfit_on_ray_equals_the_local_engine_and_fills_the_same_cache(cluster, texts, tmp_path, monkeypatch):
    pool, targets = texts
    local = run_zipfit(pool, targets, ZipfitParams(level=6), cache=Cache(None))
    cache = Cache(tmp_path / "cache")
    done = []
    with RayEngine() as engine:
        remote = engine.run_zipfit(
            pool, targets, ZipfitParams(level=6), cache=cache, on_progress=lambda *p: done.append(p)
        )
    np.testing.assert_array_equal(remote.score, local.score)  # the same integers go into the same formula
    np.testing.assert_array_equal(remote.nearest_target, local.nearest_target)
    np.testing.assert_array_equal(ranks_descending(remote.score), ranks_descending(local.score))
    assert done[-1] == (len(pool) * len(targets),) * 2  # progress reached the end

    def fail(*_):
        raise AssertionError("the local engine recomputed what the Ray engine cached")

    monkeypatch.setattr(pipeline, "size_functions", lambda compressor, level: (fail, fail))
    again = run_zipfit(pool, targets, ZipfitParams(level=6), cache=Cache(tmp_path / "cache"))
    np.testing.assert_array_equal(again.score, local.score)


def test_rds_on_ray_equals_the_local_engine(cluster, texts, tmp_path):
    pool, targets = texts[0][:60], texts[1][:5]
    params = RdsParams(model="minilm", max_length=128, batch_size=8)
    local = run_rds(pool, targets, params, cache=Cache(None))
    cache = Cache(tmp_path / "cache")
    with RayEngine() as engine:
        remote = engine.run_rds(pool, targets, params, cache=cache)
    np.testing.assert_allclose(remote.score, local.score, atol=1e-5)  # batches differ: float rounding only
    np.testing.assert_array_equal(remote.rank, local.rank)
    np.testing.assert_array_equal(remote.nearest_target, local.nearest_target)
    cached = embed_texts([*targets, *pool], params, cache=cache)  # the model is not needed: all in the cache
    np.testing.assert_allclose(cached, embed_texts([*targets, *pool], params, cache=Cache(None)), atol=1e-5)


def test_rds_on_ray_out_of_core_equals_in_memory_and_spills_into_the_cache(cluster, texts, tmp_path, monkeypatch):
    pool, targets, tasks = texts[0][:40], texts[1][:3], ["a", "b", "a"]
    params = RdsParams(model="minilm", max_length=64, batch_size=8)
    cache = Cache(tmp_path / "cache")
    with RayEngine() as engine:
        in_memory = engine.run_rds(pool, targets, params, cache=Cache(None), task_ids=tasks)
        spy = ScratchSpy(monkeypatch)
        for _ in range(2):  # embedded on the cluster, then read from the cache
            spilled = engine.run_rds(pool, targets, params, cache=cache, task_ids=tasks, memory_budget_bytes=64)
            for field in ("score", "rank", "nearest_target"):
                np.testing.assert_array_equal(getattr(spilled, field), getattr(in_memory, field))
    assert spy.shapes[:2] == [(len(pool) + len(targets), 384), (2, len(pool))]  # embeddings, then task scores
    assert len(spy.shapes) == 4
    scratch = tmp_path / "cache" / "v1" / "tmp"
    assert spy.folders == {scratch}
    assert list(scratch.iterdir()) == []


def test_a_max_length_the_tokenizer_cannot_cut_to_is_the_same_one_line_error_on_ray(cluster):
    params = RdsParams(model="minilm", max_length=2)  # MiniLM adds [CLS] and [SEP]: no room for text
    expected = "--max-length: 2 leaves no room for text: this model's tokenizer adds 2 special tokens to each; use at"
    with pytest.raises(OptionError) as local:
        embed_texts(["word " * 600, "short"], params, cache=Cache(None))  # was: not cut, then a tensor error
    with RayEngine() as engine, pytest.raises(OptionError) as remote:
        engine.embed_texts(["word " * 600, "short"], params, cache=Cache(None))  # was RayTaskError: internal
    assert str(local.value) == str(remote.value)
    assert str(local.value).startswith(expected)


def test_cli_engine_ray_writes_what_the_local_engine_writes(tmp_path):
    pool = tmp_path / "pool.jsonl"
    rows = [json.loads(line) for line in (SAMPLE / "pool.jsonl").open(encoding="utf-8")][:150]
    pool.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    targets = SAMPLE / "targets_translation.jsonl"
    outs = {}
    for engine in ("local", "ray"):
        outs[engine] = tmp_path / f"{engine}.parquet"
        args = ["score", "--pool", pool, "--targets", targets, "--method", "zipfit", "--k", "15", "--workers", "2"]
        command = [sys.executable, "-m", "scoring", *map(str, args), "--engine", engine, "--out", outs[engine]]
        command += ["--cache-dir", str(tmp_path / f"cache-{engine}")]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
    local, remote = (pq.read_table(outs[e]).to_pandas() for e in ("local", "ray"))
    columns = ["pool_index", "zipfit_score", "zipfit_rank", "zipfit_nearest_target", "zipfit_selected"]
    assert remote[columns].equals(local[columns])


def test_sigterm_during_a_ray_run_saves_the_finished_work_and_stops_the_cluster_like_the_local_engine(tmp_path):
    cache = tmp_path / "cache"
    out = tmp_path / "out.parquet"
    args = ["score", "--pool", SAMPLE / "pool.jsonl", "--targets", SAMPLE / "targets_humaneval.jsonl"]
    args += ["--method", "rds", "--model", "minilm", "--engine", "ray", "--out", out, "--cache-dir", cache]
    env = {**os.environ, "SCORING_CHECKPOINT_SECONDS": "0.1"}
    run = subprocess.Popen(
        [sys.executable, "-m", "scoring", *map(str, args)], cwd=ROOT, env=env, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 300
    while not list(cache.glob("v1/rds-embedding/*/*.npy")) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)  # until the first shard's vectors are in the cache: the cluster is up and working
    run.send_signal(signal.SIGTERM)
    err = run.communicate(timeout=120)[1].decode()
    assert run.returncode == 143, err  # was 15: Ray's own SIGTERM handler ended the process
    assert "interrupted: finished work is saved in the cache" in err
    assert "SIGTERM received" not in err
    assert not out.exists()


def test_an_interrupt_while_the_local_cluster_starts_shuts_down_what_had_started():
    script = """
import ray
from scoring.ray_engine import RayEngine
start = ray.init
def start_then_interrupted(*args, **kwargs):
    start(*args, **kwargs)
    raise KeyboardInterrupt  # Ctrl-C as ray.init returns: its processes are running
ray.init = start_then_interrupted
try:
    RayEngine(num_cpus=1).start()
except KeyboardInterrupt:
    print("still initialised:", ray.is_initialized())
"""
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "still initialised: False", done.stderr  # its processes were left running


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--engine", "ray", "--ray-address", "127.0.0.1:1"], "--ray-address: nothing answers at 127.0.0.1:1"),
        (["--engine", "ray", "--ray-address", "not an address"], "--ray-address: 'not an address' is not a Ray"),
        (["--engine", "ray", "--ray-address", "ray://head"], "--ray-address: 'ray://head' is not a Ray cluster"),
        (["--ray-address", "127.0.0.1:6379"], "--ray-address: needs --engine ray"),
        (["--engine", "ray", "--zipfit-mode", "fast"], "--zipfit-mode: fast runs on the local engine only"),
    ],
)
def test_bad_engine_options_are_one_line_errors_and_write_nothing(tmp_path, capsys, extra, message):
    out = tmp_path / "out.parquet"
    args = ["score", "--pool", str(SAMPLE / "targets_translation.jsonl"), "--method", "zipfit", "--out", str(out)]
    status = main([*args, "--targets", str(SAMPLE / "targets_humaneval.jsonl"), "--no-cache", *extra])
    err = capsys.readouterr().err
    assert status == 2
    assert f"error: {message}" in err
    assert "Traceback" not in err
    assert not out.exists()


def test_shards_run_the_longest_first_then_mixed_so_the_eta_holds():
    lengths = [1500 if i % 3 == 0 else 100 for i in range(600)]  # a third 15x longer
    shards = _shards({"text": ["x" * n for n in lengths]}, lengths, 8)
    rows = [shard["row"].to_numpy() for shard in shards]
    assert sorted(np.concatenate(rows).tolist()) == list(range(600))  # every text once
    assert max(len(r) for r in rows) == 8
    done = np.cumsum([np.take(lengths, r).sum() for r in rows]) / sum(lengths)
    assert np.take(lengths, rows[0]).tolist() == [1500] * 8  # memory peaks at once
    shares = np.arange(1, len(rows) + 1) / len(rows)
    assert np.abs(done - shares).max() < 0.1, np.round(np.c_[shares, done], 2).tolist()
