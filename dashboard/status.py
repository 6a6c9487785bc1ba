"""Progress of the background jobs: a bar with ETA and a cancel button per method, errors, retries.

The panel is a fragment that refreshes itself every second while a job is running, and reruns the whole
app when a job finishes, so results appear without the user doing anything.

The panel sits alone in a container of its own. Streamlit 1.67's browser side appears to drop the fragment's
block when a fragment run ends in `st.rerun(scope="app")`: the page's next element then arrived one index
past the end of the main area and the app crashed to a blank page ("Bad delta path index 3 (should be between
[0, 2])"; 4 of 87 cold page loads in a stress loop here, 0 of 110 with the container). Inside its own
container, a dropped block shifts nothing.
"""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.text import in_ui_terms, plain
from dashboard.work import JobSpec
from scoring.jobs import CANCELLED, DONE, FAILED, RUNNING, Job


def show(specs: list[JobSpec]) -> list[Job]:
    """Make sure the jobs exist, draw their panel (polling while any is active), return the jobs."""
    jobs = [spec.ensure() for spec in specs]
    state.put("rendered", state.get("rendered", {}) | {job.key: job.state for job in jobs})
    with st.container():  # the panel's own slot (see the module docstring)
        if any(job.active for job in jobs):
            _live_panel(specs)
        else:
            _panel(specs)
    return jobs


@st.fragment(run_every=1.0)
def _live_panel(specs: list[JobSpec]) -> None:
    rendered = state.get("rendered", {})
    if any(_current(spec).state != rendered.get(spec.key) for spec in specs):
        st.rerun(scope="app")  # before drawing: no panel is drawn only to be replaced at once
    _panel(specs)


def _current(spec: JobSpec) -> Job:
    return state.jobs().get(spec.key) or spec.ensure()


def _panel(specs: list[JobSpec]) -> None:
    for column, spec in zip(st.columns(len(specs)), specs, strict=True):
        with column:
            _job_status(_current(spec), spec)


def _job_status(job: Job, spec: JobSpec) -> None:
    if job.state == DONE:
        st.progress(1.0, text=f"{job.label}: {_done_text(job)}")
    elif job.cancelling:
        st.progress(job.fraction, text=f"{job.label}: {job.fraction:.0%} · cancelling after the current step…")
    elif job.active and spec.withdrawn:
        st.progress(job.fraction, text=f"{job.label}: {job.fraction:.0%} · cancelled here")
        st.caption("It runs on for another session that wants the same result.")
        _retry_button(job, spec, "Resume")
    elif job.active:
        text = _progress_text(job) if job.state == RUNNING else "waiting for the previous job of its kind…"
        st.progress(job.fraction, text=f"{job.label}: {text}")
        # A callback runs before the rerun the click causes, so that rerun already says "cancelling".
        st.button(
            "Cancel",
            key=state.key(f"cancel.{job.key}"),
            help=f"Stop {job.label}; finished work is kept",
            on_click=spec.cancel,
        )
    elif job.state == CANCELLED:
        st.warning(f"{job.label} was cancelled. The work finished so far is kept.", icon=":material/stop_circle:")
        _retry_button(job, spec, "Resume")
    elif job.state == FAILED:
        st.error(f"{job.label} failed: {plain(in_ui_terms(job.error or 'unknown error'))}", icon=":material/error:")
        if job.details:
            with st.expander("Details"):
                st.code(job.details, language=None)
        _retry_button(job, spec, "Try again")


def _retry_button(job: Job, spec: JobSpec, label: str) -> None:
    # A callback, not `if st.button(...)`: a click is handled even when the rerun it causes draws no button
    # (the job began stopping meanwhile: the click was lost, and the job stayed cancelled).
    st.button(label, key=state.key(f"retry.{job.key}"), on_click=spec.restart)


def _done_text(job: Job) -> str:
    """`done in 3.2 s`, saying when the time covers only part of the work (the rest found in the cache: a
    resumed job). Example: `done in 3.2 s (52% of it was in the cache)`."""
    text = f"done in {job.elapsed_seconds():.1f} s"
    cached = job.first_report[1] / job.total if job.first_report and job.total else 0.0
    if cached >= 1:
        return f"{text} (all of it was in the cache)"
    if cached >= 0.01:
        return f"{text} ({min(cached, 0.99):.0%} of it was in the cache)"
    return text


def _progress_text(job: Job) -> str:
    percent = f"{job.fraction:.0%}"
    eta = job.eta_seconds()
    if eta is None:
        return f"{percent} · starting…"
    return f"{percent} · {_duration(eta)} left"


def _duration(seconds: float) -> str:
    """`75` -> `1 min 15 s`."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
