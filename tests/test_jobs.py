"""Background jobs: shared by key, progress, cancellation, failures that leave the manager working."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from scoring.errors import Cancelled, InputError
from scoring.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, JobManager


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
        progress(0, 100)  # the start: the rate counts from the first report
        time.sleep(0.05)
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


def test_eta_counts_only_the_work_done_after_the_first_report():
    """A resumed job reports its cached half at once: that is not speed, so the ETA must not shrink with it."""
    second_report = threading.Event()
    go_on = threading.Event()

    def work(progress, cancel):
        progress(50, 100)  # found in the cache
        time.sleep(0.3)
        progress(60, 100)  # 10 units in 0.3 s: 40 more take about 1.2 s
        second_report.set()
        go_on.wait(5)

    job = JobManager().submit("k", "work", work)
    assert second_report.wait(5)
    eta = job.eta_seconds()
    go_on.set()
    assert eta is not None
    assert 1.0 < eta < 3.0, eta  # counting the cached 50 would say about 0.2 s


def test_eta_counts_down_between_reports_instead_of_climbing():
    """Slow steps (an RDS+ batch of long texts) report seldom: waiting for the next report is not slowness."""
    reported = threading.Event()
    go_on = threading.Event()

    def work(progress, cancel):
        progress(0, 100)
        time.sleep(0.2)
        progress(10, 100)  # 10 units in 0.2 s: 90 more take about 1.8 s
        reported.set()
        go_on.wait(5)

    job = JobManager().submit("k", "work", work)
    assert reported.wait(5)
    first = job.eta_seconds()
    time.sleep(0.5)
    later = job.eta_seconds()
    go_on.set()
    assert first is not None
    assert later is not None
    assert 1.4 < first < 2.5, first
    assert 0.3 < first - later < 0.7, (first, later)  # the old formula went up, to about 2.7 s


def test_a_cancelled_job_says_so_at_once():
    release = threading.Event()
    jobs = JobManager()
    running = jobs.submit("a", "a", lambda progress, cancel: release.wait(5), lane="x")
    queued = jobs.submit("b", "b", lambda progress, cancel: "b", lane="x")
    while running.state != RUNNING:
        time.sleep(0.01)
    running.cancel()  # this work never checks: it stops when it ends
    queued.cancel()
    assert running.cancelling
    assert (queued.state, queued.cancelling) == (CANCELLED, False)  # a queued job never has to wait to stop
    release.set()
    assert running.wait(5).state == DONE  # it finished before it could notice
    assert not running.cancelling
    assert queued.wait(5).state == CANCELLED


def test_no_eta_before_work_is_done_after_the_first_report():
    reported = threading.Event()
    go_on = threading.Event()

    def work(progress, cancel):
        progress(70, 100)
        reported.set()
        go_on.wait(5)

    job = JobManager().submit("k", "work", work)
    assert reported.wait(5)
    eta = job.eta_seconds()
    go_on.set()
    assert eta is None


def test_a_submitter_that_moves_on_stops_its_job_unless_someone_else_wants_it():
    release = threading.Event()
    ran: list[str] = []

    def work(name):
        def fn(progress, cancel):
            if name.startswith("busy"):
                while not release.wait(0.01):
                    if cancel.is_set():
                        raise Cancelled("cancelled")
            ran.append(name)
            return name

        return fn

    jobs = JobManager()
    shared = jobs.submit("busy-shared", "busy", work("busy-shared"), lane="zipfit", by="s1")
    jobs.submit("busy-shared", "busy", work("busy-shared"), lane="zipfit", by="s3")  # s3 wants it too
    while shared.state != RUNNING:
        time.sleep(0.01)
    a = jobs.submit("a", "a", work("a"), lane="zipfit", by="s1")  # s1 moved on; s3 still wants it: it runs on
    assert not shared.cancel_event.is_set()
    jobs.submit("a", "a", work("a"), lane="zipfit", by="s2")  # s2 wants a too
    b = jobs.submit("b", "b", work("b"), lane="zipfit", by="s1")  # s1 moves on: a stays, s2 wants it
    c = jobs.submit("c", "c", work("c"), lane="zipfit", by="s1")  # s1 moves on again: b (queued) is dropped
    other_lane = jobs.submit("d", "d", work("d"), lane="rds", by="s1")  # another lane: nothing dropped
    assert jobs.get("b") is b  # still known, for a session that cancelled it
    assert b.state == CANCELLED
    assert b.cancel_event.is_set()
    assert jobs.get("a") is a
    assert jobs.get("c") is c
    release.set()
    for job in (shared, a, c, other_lane):
        assert job.wait(5).state == DONE
    assert b.wait(5).state == CANCELLED
    assert sorted(ran) == ["a", "busy-shared", "c", "d"]  # b never ran
    back = jobs.submit("b", "b", work("b"), lane="zipfit", by="s1")  # asked for again: a new job runs
    assert back is not b
    assert back.wait(5).result == "b"


def test_a_running_job_nobody_wants_any_more_is_cancelled_and_the_lane_moves_on():
    release = threading.Event()  # never set: the old job would run for ever unless cancelled
    progress_made = threading.Event()

    def endless(progress, cancel):
        progress(1, 100)
        progress_made.set()
        while not release.wait(0.01):
            if cancel.is_set():
                raise Cancelled("cancelled")

    jobs = JobManager()
    old = jobs.submit("old", "old", endless, lane="rds", by="tab-a")
    assert progress_made.wait(5)
    mine = jobs.submit("mine", "mine", lambda progress, cancel: "mine", lane="rds", by="tab-b")  # queued behind
    assert mine.state == QUEUED
    jobs.submit("new", "new", lambda progress, cancel: "new", lane="rds", by="tab-a")  # tab a moved on
    assert old.wait(5).state == CANCELLED
    assert mine.wait(5).result == "mine"  # did not wait for the job nobody looks at
    again = jobs.submit("old", "old", lambda progress, cancel: "resumed", lane="rds", by="tab-a")  # back to it
    assert again is not old
    assert again.wait(5).result == "resumed"


def test_showing_a_cancelled_job_again_stops_the_job_shown_in_between():
    def endless(progress, cancel):
        while not cancel.wait(0.01):
            pass
        raise Cancelled("cancelled")

    jobs = JobManager()
    first = jobs.submit("k9", "level 9", endless, lane="zipfit", by="tab-a")
    jobs.withdraw("k9", "tab-a")  # its Cancel button
    assert first.wait(5).state == CANCELLED
    between = jobs.submit("k8", "level 8", endless, lane="zipfit", by="tab-a")
    assert jobs.attend("k9", lane="zipfit", by="tab-a") is first  # back on level 9, shown with Resume
    assert between.wait(5).state == CANCELLED  # nobody looks at level 8 any more
    shared = jobs.submit("k7", "level 7", endless, lane="zipfit", by="tab-a")
    jobs.submit("k7", "level 7", endless, lane="zipfit", by="tab-b")
    jobs.attend("k9", lane="zipfit", by="tab-a")
    assert shared.active  # tab b still wants it
    shared.cancel()


def test_a_cancel_withdraws_one_submitter_and_stops_the_job_only_when_no_one_wants_it():
    release = threading.Event()

    def waits(progress, cancel):
        while not release.wait(0.01):
            if cancel.is_set():
                raise Cancelled("cancelled")
        return "done"

    jobs = JobManager()
    shared = jobs.submit("shared", "shared", waits, lane="rds", by="tab-a")
    assert jobs.submit("shared", "shared", waits, lane="rds", by="tab-b") is shared
    assert jobs.withdraw("shared", "tab-a") is shared
    assert shared.active
    assert not shared.cancelling
    jobs.withdraw("shared", "tab-b")
    assert shared.wait(5).state == CANCELLED
    assert jobs.withdraw("unknown", "tab-a") is None


def test_jobs_of_submitters_that_are_gone_stop_unless_someone_else_wants_them():
    release = threading.Event()

    def waits(progress, cancel):
        while not release.wait(0.01):
            if cancel.is_set():
                raise Cancelled("cancelled")

    jobs = JobManager()
    alone = jobs.submit("alone", "alone", waits, lane="zipfit", by="closed-tab")
    shared = jobs.submit("shared", "shared", waits, lane="rds", by="closed-tab")
    jobs.submit("shared", "shared", waits, lane="rds", by="open-tab")
    jobs.forget_submitters(lambda by: by == "closed-tab")
    assert alone.wait(5).state == CANCELLED
    assert shared.active
    assert not shared.cancelling
    release.set()
    assert shared.wait(5).state == DONE


def test_jobs_submitted_without_a_submitter_are_never_dropped():
    release = threading.Event()
    jobs = JobManager()
    jobs.submit("busy", "busy", lambda progress, cancel: release.wait(5), lane="zipfit")
    script = jobs.submit("a", "a", lambda progress, cancel: "a", lane="zipfit")  # e.g. a script's
    jobs.submit("a", "a", lambda progress, cancel: "a", lane="zipfit", by="s1")
    jobs.submit("b", "b", lambda progress, cancel: "b", lane="zipfit", by="s1")
    release.set()
    assert script.wait(5).result == "a"


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


@pytest.mark.parametrize(
    "error",
    [OSError(28, "No space left on device"), OSError("[Errno 28] Error writing bytes to file")],  # Python's, Arrow's
)
def test_a_full_disk_says_what_to_do_without_a_traceback(error):
    def fill(progress, cancel):
        raise error

    job = JobManager().submit("full", "work", fill)
    assert job.wait(5).state == FAILED
    assert job.error.startswith("the disk is full (")
    assert job.error.endswith("free some space, then try again: finished work is kept")
    assert job.details is None  # no traceback under "Details": nothing is wrong with the program


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


def test_what_submitters_wanted_is_forgotten_with_the_jobs():
    jobs = JobManager(keep=3)
    for i in range(20):
        jobs.submit(f"k{i}", "work", lambda progress, cancel: None, lane=f"lane{i}", by=f"session{i}").wait(5)
    assert len(jobs.jobs()) <= 3
    assert len(jobs._wanted) <= 3


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
