"""Faults: a scoring process killed mid-job resumes from its checkpoints and gives the same scores;
two processes filling the same cache at once leave it consistent."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from scoring import cli
from scoring.runner import CHECKPOINT_ENV

ROOT = Path(__file__).resolve().parent.parent
POOL = ROOT / "sample_data" / "pool.jsonl"
TARGETS = ROOT / "sample_data" / "targets_humaneval.jsonl"


def score_command(out: Path, cache: Path | None, *extra: str) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "scoring",
        "score",
        "--pool",
        str(POOL),
        "--targets",
        str(TARGETS),
        "--method",
        "zipfit",
        "--level",
        "1",
        "--out",
        str(out),
        *extra,
    ]
    return [*command, "--cache-dir", str(cache)] if cache else [*command, "--no-cache"]


def alignment_shards(cache: Path) -> list[Path]:
    return list((cache / "v1" / "zipfit-alignment").rglob("*.npy"))


def scores(path: Path) -> tuple[np.ndarray, np.ndarray]:
    table = pq.read_table(path)
    return table.column("zipfit_score").to_numpy(), table.column("zipfit_nearest_target").to_numpy()


def test_killed_run_resumes_and_matches_an_uninterrupted_run(tmp_path):
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        score_command(tmp_path / "killed.parquet", cache),
        cwd=ROOT,
        env={**os.environ, CHECKPOINT_ENV: "0.2"},  # checkpoint often, so the kill lands after some
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not alignment_shards(cache) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed; make the job larger"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "killed.parquet").exists()
    checkpointed = alignment_shards(cache)
    assert checkpointed

    resumed = subprocess.run(score_command(tmp_path / "resumed.parquet", cache), cwd=ROOT, capture_output=True)
    assert resumed.returncode == 0, resumed.stderr
    assert all(shard.exists() for shard in checkpointed)
    stored = np.concatenate([np.load(shard)["key"] for shard in alignment_shards(cache)])
    assert len(stored) == len(set(stored.tolist()))  # the resumed run did not redo checkpointed work
    fresh = subprocess.run(score_command(tmp_path / "fresh.parquet", None), cwd=ROOT, capture_output=True)
    assert fresh.returncode == 0, fresh.stderr

    resumed_score, resumed_nearest = scores(tmp_path / "resumed.parquet")
    fresh_score, fresh_nearest = scores(tmp_path / "fresh.parquet")
    np.testing.assert_array_equal(resumed_score, fresh_score)
    np.testing.assert_array_equal(resumed_nearest, fresh_nearest)


def test_sigterm_saves_the_finished_work_like_ctrl_c(tmp_path):
    cache = tmp_path / "cache"
    process = subprocess.Popen(
        score_command(tmp_path / "stopped.parquet", cache),
        cwd=ROOT,
        env={**os.environ, CHECKPOINT_ENV: "1000"},  # no checkpoint before the signal: what is saved, it saved
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (cache / "v1" / "zipfit-size").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # the sizes are stored: alignments are being computed
    assert process.poll() is None, "the run finished before it could be stopped; make the job larger"
    process.terminate()
    assert process.wait(timeout=60) == 143
    assert "interrupted: finished work is saved in the cache" in process.stderr.read()
    assert alignment_shards(cache)
    assert not (tmp_path / "stopped.parquet").exists()


def test_two_processes_filling_one_cache_at_once(tmp_path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(POOL.read_text(encoding="utf-8").splitlines(keepends=True)[:400]), encoding="utf-8")
    cache = tmp_path / "cache"

    def command(name: str) -> list[str]:
        args = ["--pool", str(pool), "--targets", str(TARGETS), "--method", "zipfit", "--level", "1"]
        args += ["--cache-dir", str(cache), "--out", str(tmp_path / name)]
        return [sys.executable, "-m", "scoring", "score", *args]

    runs = [subprocess.Popen(command(f"{i}.parquet"), cwd=ROOT, stderr=subprocess.PIPE, text=True) for i in (1, 2)]
    errors = [run.communicate()[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    third = subprocess.run(command("3.parquet"), cwd=ROOT, capture_output=True, text=True)
    assert "warning" not in third.stderr
    np.testing.assert_array_equal(scores(tmp_path / "1.parquet")[0], scores(tmp_path / "2.parquet")[0])
    np.testing.assert_array_equal(scores(tmp_path / "1.parquet")[0], scores(tmp_path / "3.parquet")[0])


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_that_python_swallowed_still_stops_the_run(tmp_path, monkeypatch, capsys, signum, status):
    # Python drops an exception raised inside a finalizer ("Exception ignored in: ..."): a Ctrl-C that landed
    # there was lost, and the run went on to write its output and exit 0.
    real_load = cli.load_dataset

    def load_then_interrupted_in_a_finalizer(*args, **kwargs):
        dataset = real_load(*args, **kwargs)
        with contextlib.suppress(KeyboardInterrupt):  # what Python does to it inside a finalizer
            os.kill(os.getpid(), signum)
            time.sleep(1)  # the handler runs here
        return dataset

    monkeypatch.setattr(cli, "load_dataset", load_then_interrupted_in_a_finalizer)
    out = tmp_path / "out.parquet"
    args = ["score", "--pool", str(POOL), "--targets", str(TARGETS), "--method", "zipfit", "--level", "1"]
    assert cli.main([*args, "--no-cache", "--out", str(out)]) == status
    assert "interrupted: nothing was written; run the same command again to start over" in capsys.readouterr().err
    assert not out.exists()


def test_ctrl_c_while_the_libraries_load_is_quiet():
    process = subprocess.Popen(
        [sys.executable, "-m", "scoring", "score", "--help"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(0.06)  # Python is up (~15 ms) and importing numpy and pyarrow (~200 ms)
    process.send_signal(signal.SIGINT)
    errors = process.communicate(timeout=60)[1].decode()
    assert "Traceback" not in errors
    assert process.returncode in (130, -signal.SIGINT)  # the latter: the signal came before Python was up


def test_a_ctrl_c_ignored_by_whoever_started_the_run_stays_ignored(tmp_path):
    # `command &` in a script starts it with SIGINT ignored: a Ctrl-C meant for the foreground job stopped it.
    out = tmp_path / "out.parquet"
    process = subprocess.Popen(
        score_command(out, None),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    time.sleep(1.5)  # started and scoring: the whole run takes several seconds
    assert process.poll() is None, "the run finished before the signal; make the job larger"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=120) == 0, process.stderr.read().decode()
    assert out.exists()
