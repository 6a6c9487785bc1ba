"""The sidebar's cache panel: how much the on-disk cache holds, and a button to empty it."""

from __future__ import annotations

import time

import streamlit as st

from dashboard import state
from dashboard.text import plain
from scoring.cache import Cache


@st.cache_data(ttl=30, show_spinner=False)
def _size(root: str) -> tuple[int, float]:
    """Bytes under the cache folder and when they were counted (time.time()), remeasured at most every 30 s
    (walking a large cache takes a moment)."""
    return Cache(root).size_bytes(), time.time()


def cache_panel() -> None:
    cache = state.cache()
    with st.sidebar.expander("Cache"):
        if cache.root is None:
            st.caption("No cache: nothing is kept between runs.")
            return
        size, measured = _size(str(cache.root))
        age = round(time.time() - measured)  # running jobs may have written since
        when = f"measured {age} s ago" if age else "measured now"
        st.caption(f"{_human(size)} in {plain(str(cache.root))} ({when})")
        st.caption(
            "Scores, embeddings, maps and converted models, reused across targets, sessions and restarts, and "
            "copies of the uploaded files that the page's URL names."
        )
        # A callback runs before the script, so the size above is measured after the clearing.
        help_text = "Finished work will be recomputed"
        st.button("Clear the cache", key=state.key("cache.clear"), help=help_text, on_click=_clear)


def _clear() -> None:
    state.cache().clear()
    _size.clear()
    st.toast("The cache is empty; results on screen stay until the inputs change.")


def _human(size: int) -> str:
    """`1536` -> `1.5 KB`."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024:
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} TB"
