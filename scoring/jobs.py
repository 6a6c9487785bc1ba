"""Background jobs keyed by content: the same inputs and parameters always give the same job.

A `JobManager` runs each job on the worker thread of its lane (one job at a time per lane, so ZIP-FIT and
RDS+ can run side by side without two ZIP-FITs fighting over the cores). Workers are daemon threads: stopping
the app never waits for a job, and what the job finished is already in the cache. Submitting a key that is already
queued, running or done returns that job, so two users scoring the same thing share one job. Jobs report
progress and stop when cancelled; a failed or cancelled job is started afresh when submitted again, and
because every method writes through the cache, the new run resumes from the work already saved.

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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scoring.errors import Cancelled, ScoringError
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
        """Seconds left at the rate seen so far, or None before there is a rate."""
        if self.state != RUNNING or not self.started or not self.total or self.done <= 0:
            return None
        elapsed = time.monotonic() - self.started
        return elapsed * (self.total - self.done) / self.done

    def elapsed_seconds(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.monotonic()) - self.started

    def cancel(self) -> None:
        """Ask the job to stop; it stops at its next checkpoint (within about a second)."""
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> Job:
        """Block until the job has ended (or `timeout` seconds passed); returns the job."""
        self._finished_event.wait(timeout)
        return self


class JobManager:
    """Runs jobs on per-lane worker threads and remembers the last `keep` jobs by key."""

    def __init__(self, keep: int = 256) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lanes: dict[str, queue.SimpleQueue[tuple[Job, JobFn]]] = {}
        self._lock = threading.Lock()
        self._keep = keep

    def submit(self, key: str, label: str, fn: JobFn, *, lane: str = "default") -> Job:
        """The job for `key`: the existing one unless it failed or was cancelled, else a new one."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.state not in (FAILED, CANCELLED):
                self._jobs.move_to_end(key)
                return job
            job = Job(key=key, label=label)
            self._jobs[key] = job
            self._forget_old()
            work = self._lanes.get(lane)
            if work is None:
                work = self._lanes[lane] = queue.SimpleQueue()
                threading.Thread(target=self._serve, args=(work,), name=f"job-{lane}", daemon=True).start()
        work.put((job, fn))
        return job

    def get(self, key: str) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def jobs(self) -> list[Job]:
        """All remembered jobs, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def _forget_old(self) -> None:
        finished = [key for key, job in self._jobs.items() if not job.active]
        for key in finished[: max(0, len(self._jobs) - self._keep)]:
            del self._jobs[key]

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

        def progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        job.state, job.started = RUNNING, time.monotonic()
        try:
            job.result = fn(progress, job.cancel_event)
            job.state = DONE
        except Cancelled:
            job.state = CANCELLED
        except ScoringError as e:
            job.error, job.state = str(e), FAILED
        except Exception as e:  # a bug or an environment problem: keep the app alive and say what happened
            job.error = f"{type(e).__name__}: {e}"
            job.details = traceback.format_exc()
            job.state = FAILED
        finally:
            job.finished = time.monotonic()
            job._finished_event.set()
