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
