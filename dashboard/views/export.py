"""Export: either method's selection, their intersection or their union, with the original columns,
as JSONL, CSV or Parquet, plus a manifest of the parameters and input hashes."""

from __future__ import annotations

import json

import numpy as np
import streamlit as st

from dashboard import records, state, work
from dashboard.text import plural
from scoring.export import FORMATS, manifest, selected_records, selection_mask
from scoring.tables import table_bytes

PREVIEW_ROWS = 200
CHOICES = {
    "zipfit": "ZIP-FIT's top k",
    "rds": "RDS+'s top k",
    "intersection": "chosen by both",
    "union": "chosen by either",
}

results = state.page_results("Export", "Exports are available as soon as a method has finished.")

frame, k = results.frame, results.k
available = list(CHOICES) if results.both else [m for m in ("zipfit", "rds") if f"{m}_rank" in frame]
wanted = state.get("export.wanted")  # the user's choice, kept while a method re-runs and its options are gone
if wanted in available:
    state.put("export.which", wanted)
which = st.radio(
    "Records",
    available,
    format_func=CHOICES.get,
    key=state.key("export.which"),
    horizontal=True,
    on_change=lambda: state.put("export.wanted", state.get("export.which")),
)
if wanted not in (None, which):
    st.caption(f"Your choice, “{CHOICES[wanted]}”, comes back when the results it needs are ready.")
fmt = st.radio("Format", list(FORMATS), key=state.key("export.format"), horizontal=True)
mask = selection_mask(frame.get("zipfit_rank"), frame.get("rds_rank"), which, k)
count = int(mask.sum())
chosen = selected_records(results.table(), mask)
data = table_bytes(chosen, fmt)
fast = work.zipfit_estimated(results.inputs) and which != "rds"  # approximate scores: the file's name says so
suffix = ("-fast" if which == "zipfit" else "-zipfit-fast") if fast else ""
name = f"selection-{which}{suffix}-k{k}.{fmt}"
st.download_button(
    f"Download {count:,} {plural(count, 'record')} ({fmt.upper()})",
    data,
    file_name=name,
    mime=FORMATS[fmt],
    type="primary",
    key=state.key("export.download"),
)
about = manifest(
    selection=which, k=k, fmt=fmt, file_name=name, data=data, count=count, context=work.describe(results.inputs)
)
st.download_button(
    "Download the manifest (JSON)",
    json.dumps(about, indent=2),
    file_name=f"{name}.manifest.json",
    mime="application/json",
    key=state.key("export.manifest"),
)
st.caption(
    "Original columns are kept as they were in the pool file. In CSV, cells starting with = + - @, a tab or a "
    "carriage return get a "
    "leading ' so that spreadsheets show them as text instead of running them."
)
with st.expander("Manifest"):
    st.json(about)
st.subheader("Preview")
shown = min(count, PREVIEW_ROWS)
listed = f"The first {shown:,} of {count:,}" if shown < count else f"{count:,}"
st.caption(
    f"{listed} {plural(count, 'record')} as the file holds them (long values shortened). "
    "Click a row (or, in the table, press Shift+Space) to read its whole text."
)
records.file_preview(chosen.slice(0, shown), np.flatnonzero(mask)[:shown], key="export.preview")
