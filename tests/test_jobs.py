"""Background jobs: shared by key, progress, cancellation, failures that leave the manager working."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from scoring.errors import Cancelled, InputError
from scoring.jobs import CANCELLED, DONE, FAILED, JobManager


def test_same_key_is_one_job_run_once():
    calls = []
    release = threading.Event()

    def work(progress, cancel):
        calls.append(1)
        release.wait(5)
        return "result"

    jobs = JobManager()
    first = jobs.submit("k", "work", work)
    second = jobs.submit("k", "work", work)
    release.set()
    assert first is second
    assert first.wait(5).result == "result"
    assert jobs.submit("k", "work", work).state == DONE
    assert calls == [1]


def test_progress_and_eta():
    step = threading.Event()
    go_on = threading.Event()

    def work(progress, cancel):
        progress(25, 100)
        step.set()
        go_on.wait(5)
        progress(100, 100)

    job = JobManager().submit("k", "work", work)
    step.wait(5)
    assert (job.done, job.total, job.fraction) == (25, 100, 0.25)
    assert job.eta_seconds() is not None
    go_on.set()
    assert job.wait(5).fraction == 1.0


def test_cancel_stops_the_job_and_resubmitting_starts_a_new_one():
    started = threading.Event()

    def work(progress, cancel):
        started.set()
        cancel.wait(5)
        raise Cancelled

    jobs = JobManager()
    job = jobs.submit("k", "work", work)
    started.wait(5)
    job.cancel()
    assert job.wait(5).state == CANCELLED
    again = jobs.submit("k", "work", lambda progress, cancel: "fresh")
    assert again is not job
    assert again.wait(5).result == "fresh"


@pytest.mark.parametrize(
    ("error", "message"),
    [(InputError("has no text field", file="t.jsonl"), "t.jsonl: has no text field"), (ZeroDivisionError("x"), "x")],
)
def test_a_failing_job_reports_and_the_manager_keeps_working(error, message):
    def fail(progress, cancel):
        raise error

    jobs = JobManager()
    job = jobs.submit("bad", "work", fail)
    assert job.wait(5).state == FAILED
    assert message in job.error
    assert jobs.submit("good", "work", lambda p, c: 1).wait(5).result == 1


def test_lanes_run_side_by_side():
    inside = threading.Barrier(2, timeout=5)

    def work(progress, cancel):
        inside.wait()
        return True

    jobs = JobManager()
    a = jobs.submit("a", "A", work, lane="zipfit")
    b = jobs.submit("b", "B", work, lane="rds")
    assert a.wait(5).result
    assert b.wait(5).result


def test_old_finished_jobs_are_forgotten():
    jobs = JobManager(keep=2)
    for i in range(4):
        jobs.submit(str(i), "w", lambda p, c: None).wait(5)
    jobs.submit("last", "w", lambda p, c: None).wait(5)
    assert len(jobs.jobs()) <= 3
    assert jobs.get("last") is not None


def test_a_running_job_does_not_keep_the_process_alive():
    script = (
        "import time\n"
        "from scoring.jobs import JobManager\n"
        "job = JobManager().submit('k', 'slow', lambda progress, cancel: time.sleep(60))\n"
        "time.sleep(0.2)\n"
        "print(job.state)\n"
    )
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "running"
    assert time.monotonic() - started < 15
