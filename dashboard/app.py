"""selection-lens: compare what ZIP-FIT and RDS+ select from a candidate pool, and why.

Run with `streamlit run dashboard/app.py`. This file routes the pages and owns the shared sidebar; the
scoring runs in background jobs (`dashboard.work`), and each view is a small module in `dashboard/views/`.
"""

from __future__ import annotations

import streamlit as st

from dashboard import inputs, state, status, work
from dashboard.cache_panel import cache_panel
from dashboard.text import plain, plural
from scoring.errors import OptionError

# An emoji icon: the browser draws it itself (a :material/...: favicon would be fetched from fonts.gstatic.com).
st.set_page_config(page_title="selection-lens", page_icon="🔎", layout="wide")

PAGES = [
    st.Page("views/scores.py", title="Scores", icon=":material/bar_chart:", default=True),
    st.Page("views/map.py", title="Map", icon=":material/scatter_plot:"),
    st.Page("views/side_by_side.py", title="Side by side", icon=":material/compare_arrows:"),
    st.Page("views/overlap.py", title="Overlap", icon=":material/join_inner:"),
    st.Page("views/export.py", title="Export", icon=":material/download:"),
]

page = st.navigation(PAGES)
try:
    state.cache()
except OptionError as e:  # e.g. $SCORING_CACHE_DIR names a read-only folder
    st.error(plain(str(e)))
    st.stop()
chosen = inputs.sidebar()
cache_panel()
st.title(":material/manage_search: selection-lens")
if chosen is None:
    st.info("Choose target examples and a candidate pool in the sidebar to start.")
    st.stop()
pool_size, target_count = len(chosen.pool.dataset), len(chosen.targets.dataset)
fast_note = ""
if chosen.zipfit_mode == "fast":
    fast_note = (
        " · ZIP-FIT in **fast mode: approximate scores**"
        if work.zipfit_estimated(chosen)
        else " · ZIP-FIT in fast mode, which compressed every pair of these few texts: exact scores"
    )
st.caption(
    f"**{pool_size:,}** {plural(pool_size, 'candidate')} from {plain(chosen.pool.label)} · "
    f"**{target_count:,}** {plural(target_count, 'target')} from {plain(chosen.targets.label)} · k = **{chosen.k:,}**"
    + fast_note
)
specs = work.method_jobs(chosen)
jobs = status.show(list(specs.values()))
state.put("results", work.results(chosen, dict(zip(specs, jobs, strict=True))))
page.run()
