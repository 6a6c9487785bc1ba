"""Background jobs keyed by content: the same inputs and parameters always give the same job.

A `JobManager` runs each job on the worker thread of its lane (one job at a time per lane, so ZIP-FIT and
RDS+ can run side by side without two ZIP-FITs fighting over the cores). Workers are daemon threads: stopping
the app never waits for a job, and what the job finished is already in the cache. Submitting a key that is already
queued, running or done returns that job, so two users scoring the same thing share one job. Jobs report
progress and stop when cancelled; a failed or cancelled job is started afresh when submitted again, and
because every method writes through the cache, the new run resumes from the work already saved. A submitter
that names itself (`by`, e.g. a browser session) and asks for another job in the same lane stops the job it
wanted before if nobody else wants it: a queued one never starts, a running one is cancelled (its finished work
stays in the cache), so that no one's work waits behind a job no one is looking at.

>>> jobs = JobManager()
>>> job = jobs.submit("zipfit:abc", "ZIP-FIT", lambda progress, cancel: 42, lane="zipfit")
>>> job.wait().result
42
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from scoring.errors import Cancelled, ScoringError, is_disk_full
from scoring.progress import ProgressFn

JobFn = Callable[[ProgressFn, threading.Event], Any]
"""The work: called as `fn(progress, cancel)`; returns the result."""

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"


@dataclass
class Job:
    """One piece of background work and what is known about it; read it from any thread."""

    key: str
    label: str
    state: str = QUEUED
    done: int = 0
    total: int = 0
    result: Any = None
    error: str | None = None
    details: str | None = None
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None
    wanted_by: set[Hashable | None] = field(default_factory=set, repr=False)
    """Who asked for the job (None: a submitter that did not say, which keeps it wanted)."""
    first_report: tuple[float, int] | None = field(default=None, repr=False)
    """(time, done) of the first progress report: the rate counts the work done after it."""
    last_report: float = field(default=0.0, repr=False)
    """When progress was last reported."""
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    _finished_event: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def active(self) -> bool:
        return self.state in (QUEUED, RUNNING)

    @property
    def fraction(self) -> float:
        """Share of the work done, 0 to 1."""
        if self.state == DONE:
            return 1.0
        return self.done / self.total if self.total else 0.0

    def eta_seconds(self) -> float | None:
        """Seconds left at the rate seen from the first to the last progress report, counting down since the
        last one (at least 1 while work remains), or None before there is a rate.

        Work reported done at once (e.g. found in the cache when a job resumes) does not count as speed, and the
        time since the last report does not slow the rate down: between reports of slow steps (a batch of
        long texts) the ETA would otherwise climb.
        """
        if self.state != RUNNING or self.first_report is None or not self.total:
            return None
        since, done_then = self.first_report
        if self.done <= done_then or self.last_report <= since:
            return None
        left = (self.last_report - since) * (self.total - self.done) / (self.done - done_then)
        return max(left - (time.monotonic() - self.last_report), 1.0 if self.done < self.total else 0.0)

    def report(self, done: int, total: int) -> None:
        """Progress: `done` of `total` units of work."""
        now = time.monotonic()
        if self.first_report is None:
            self.first_report = (now, done)
        self.done, self.total, self.last_report = done, total, now

    def elapsed_seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    @property
    def cancelling(self) -> bool:
        """Asked to stop and not stopped yet: it stops at its next checkpoint (the end of its current chunk)."""
        return self.cancel_event.is_set() and self.active

    def cancel(self) -> None:
        """Ask the job to stop: a queued one is cancelled at once, a running one stops at its next checkpoint
        (the end of its current chunk of work)."""
        self.cancel_event.set()
        if self.state == QUEUED:  # its worker skips it when it comes to it
            self.state = CANCELLED

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the job has ended (or `timeout` seconds passed); returns the job."""
        self._finished_event.wait(timeout)
        return self


class JobManager:
    """Runs jobs on per-lane worker threads and remembers the last `keep` jobs by key."""

    def __init__(self, keep: int = 256) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lanes: dict[str, queue.SimpleQueue[tuple[Job, JobFn]]] = {}
        self._wanted: dict[tuple[Hashable, str], str] = {}  # (submitter, lane) -> the key it wants there
        self._lock = threading.Lock()
        self._keep = keep

    def submit(self, key: str, label: str, fn: JobFn, *, lane: str = "default", by: Hashable | None = None) -> Job:
        """The job for `key`: the existing one unless it failed or was cancelled (or is stopping), else a new one.

        `by` names the submitter: the job it wanted before in this lane is stopped if wanted by no one else
        (a session that changed its inputs, a slider stepped with the keyboard through every value on the way).
        """
        with self._lock:
            job = self._jobs.get(key)
            fresh = job is None or job.state in (FAILED, CANCELLED) or job.cancel_event.is_set()
            if fresh:
                job = self._jobs[key] = Job(key=key, label=label)
                self._forget_old()
            else:
                self._jobs.move_to_end(key)
            self._want(job, by, lane)
            if not fresh:
                return job
            work = self._lanes.get(lane)
            if work is None:
                work = self._lanes[lane] = queue.SimpleQueue()
                threading.Thread(target=self._serve, args=(work,), name=f"job-{lane}", daemon=True).start()
        work.put((job, fn))
        return job

    def withdraw(self, key: str, by: Hashable | None) -> Job | None:
        """`by` no longer wants the job for `key` (its Cancel button): the job is cancelled unless another
        submitter still wants it, in which case it runs on for them. Returns the job (None if unknown).

        Example: tabs a and b share job "k"; `withdraw("k", "a")` leaves it running, `withdraw("k", "b")` then
        cancels it.
        """
        with self._lock:
            job = self._jobs.get(key)
            if job is not None:
                job.wanted_by.discard(by)
                if not job.wanted_by:
                    job.cancel()
            return job

    def attend(self, key: str, *, lane: str = "default", by: Hashable | None = None) -> Job | None:
        """`by` now shows the job for `key` without starting it (a failed or cancelled one, with a retry button):
        the job it wanted before in this lane stops if no one else wants it, as on `submit`. Returns the job.

        Example: tab a cancels "k9" and moves to "k8" (submitted); back on "k9", `attend("k9", by="a")` stops "k8".
        """
        with self._lock:
            self._look(by, lane, key)
            return self._jobs.get(key)

    def forget_submitters(self, gone: Callable[[Hashable], bool]) -> None:
        """Withdraw every submitter for which `gone(by)` holds (e.g. a closed browser tab) from the jobs it
        wants: a job nobody is left wanting stops, as when a submitter moves on."""
        with self._lock:
            for (by, lane), key in list(self._wanted.items()):
                if gone(by):
                    del self._wanted[(by, lane)]
                    job = self._jobs.get(key)
                    if job is not None:
                        self._unwant(job, by)

    def get(self, key: str) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def jobs(self) -> list[Job]:
        """All remembered jobs, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def _want(self, job: Job, by: Hashable | None, lane: str) -> None:
        """Record that `by` wants `job` in `lane`; stop the job it wanted there before if no one wants it now."""
        job.wanted_by.add(by)
        self._look(by, lane, job.key)

    def _look(self, by: Hashable | None, lane: str, key: str) -> None:
        """`by` now looks at `key` in `lane`: the job it wanted there before stops if no one wants it now."""
        if by is None:
            return
        before = self._wanted.get((by, lane))
        self._wanted[(by, lane)] = key
        old = self._jobs.get(before) if before not in (None, key) else None
        if old is not None:
            self._unwant(old, by)

    def _unwant(self, job: Job, by: Hashable | None) -> None:
        job.wanted_by.discard(by)
        if job.active and not job.wanted_by:
            job.cancel()  # queued: its worker skips it; running: it stops at its next checkpoint
            # It stays known (a session that cancelled it is shown "cancelled"); asked for again, it is a new
            # job that resumes from the cache.

    def _forget_old(self) -> None:
        finished = [key for key, job in self._jobs.items() if not job.active]
        for key in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[key]
        if finished:  # who wanted a forgotten job no longer matters: keeps this map as small as the jobs
            self._wanted = {who: key for who, key in self._wanted.items() if key in self._jobs}

    @classmethod
    def _serve(cls, work: queue.SimpleQueue[tuple[Job, JobFn]]) -> None:
        while True:
            cls._run(*work.get())

    @staticmethod
    def _run(job: Job, fn: JobFn) -> None:
        if job.cancel_event.is_set():
            job.state, job.finished = CANCELLED, time.monotonic()
            job._finished_event.set()
            return

        job.state, job.started = RUNNING, time.monotonic()
        try:
            job.result = fn(job.report, job.cancel_event)
            job.state = DONE
        except Cancelled:
            job.state = CANCELLED
        except ScoringError as e:
            job.error, job.state = str(e), FAILED
        except Exception as e:  # a bug or an environment problem: keep the app alive and say what happened
            if is_disk_full(e):
                job.error = f"the disk is full ({e}); free some space, then try again: finished work is kept"
            else:
                job.error, job.details = f"{type(e).__name__}: {e}", traceback.format_exc()
            job.state = FAILED
        finally:
            job.finished = time.monotonic()
            job._finished_event.set()
