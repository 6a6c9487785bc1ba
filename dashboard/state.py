"""Namespaced session-state keys and the process-wide resources every session shares."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from scoring.cache import Cache, default_cache_dir, open_cache
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


@st.cache_resource
def jobs() -> JobManager:
    """One job manager per server process: sessions scoring the same inputs share a job."""
    return JobManager()


@st.cache_resource
def cache() -> Cache:
    """The on-disk cache (`$SCORING_CACHE_DIR` or cache/), with the sample data's shipped embeddings."""
    return open_cache(default_cache_dir())


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
        st.stop()
    return results
