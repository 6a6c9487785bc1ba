"""Namespaced session-state keys and the process-wide resources every session shares."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Hashable
from functools import partial
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from scoring.cache import CACHE_ENV, Cache, default_cache_dir, open_cache
from scoring.jobs import JobManager

PREFIX = "lens."
REPO = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO / "sample_data"


def key(name: str) -> str:
    """The session-state / widget key for `name`, namespaced: `key("k")` -> `"lens.k"`."""
    return PREFIX + name


def get(name: str, default: Any = None) -> Any:
    return st.session_state.get(key(name), default)


def put(name: str, value: Any) -> None:
    st.session_state[key(name)] = value


def session_id() -> str:
    """This browser session's id, `<Streamlit's session id>/<uuid made on first use>`: the jobs it wants are
    wanted by this id, and `closed` can tell from it when the tab has gone. (The uuid keeps AppTest's
    sessions apart: it names them all "test session id".)"""
    if get("session") is None:
        put("session", f"{get_script_run_ctx().session_id}/{uuid.uuid4().hex}")
    return get("session")


def closed(session: Hashable) -> bool:
    """Whether the browser session of a `session_id()` has gone (its tab closed)."""
    if not (isinstance(session, str) and Runtime.exists()):
        return False
    return not Runtime.instance().is_active_session(session.rpartition("/")[0])


@st.cache_resource(show_spinner=False)  # instant; a spinner would only flash in the first session
def jobs() -> JobManager:
    """One job manager per server process: sessions scoring the same inputs share a job."""
    return JobManager()


@st.cache_resource(show_spinner=False)
def cache() -> Cache:
    """The on-disk cache (`$SCORING_CACHE_DIR` or cache/), with the sample data's shipped embeddings.

    Raises OptionError if that folder cannot be created or written (app.py shows it and stops).
    """
    return open_cache(default_cache_dir(), option=f"${CACHE_ENV}")


def plotly_chart(name: str, results_key: str, make: Callable[..., go.Figure], *args: Any, **options: Any) -> Any:
    """`st.plotly_chart` of `make(*args)` under the widget key `key(name)`; returns its selection event.

    The figure is built once per server process for each (`name`, `results_key`) - `results_key` being
    `Results.key` plus whatever else the figure depends on - so revisiting a view does not rebuild a large pool's
    charts (`st.plotly_chart` copies a figure; it never changes it). The 16 kept figures hold up to ~7 MB each
    at 100k points (the map).
    """
    return st.plotly_chart(_figure(name, results_key, partial(make, *args)), key=key(name), **options)


@st.cache_resource(max_entries=16, show_spinner=False)
def _figure(name: str, results_key: str, _make: Callable[[], go.Figure]) -> go.Figure:
    return _make()


def page_results(title: str, waiting: str, need: str = "any"):
    """Draw a view's header and return the current results, or show `waiting` and stop the page until
    what the view needs has finished: `any` method, `both` methods, or `rds`."""
    st.header(title)
    results = get("results")
    ready = (
        results is not None
        and {
            "any": results.zipfit is not None or results.rds is not None,
            "both": results.both,
            "rds": results.rds is not None,
        }[need]
    )
    if not ready:
        st.info(waiting)
        for method in ("zipfit", "rds") if results is not None else ():
            if results.stopped(method):
                st.warning(results.not_shown(method))
        st.stop()
    return results
