"""Map: a 2-D UMAP of the RDS+ embeddings of pool and targets; select points to list their records."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, records, state, status, work
from dashboard.text import plural
from scoring.jobs import DONE

waiting = "The map shows the RDS+ embeddings; it appears once RDS+ has finished."
results = state.page_results("Map", waiting, need="rds")

(job,) = status.show([work.map_job(results.inputs)])
if job.state != DONE:
    st.caption("Laying out the embeddings of every pool item and target with UMAP (cached once made).")
    st.stop()

frame, n = results.frame, len(results.frame)
points = frame.assign(x=job.result[:n, 0], y=job.result[:n, 1])
target_texts = results.inputs.targets.dataset.texts
targets = pd.DataFrame(
    {
        "pool_index": [f"target {i}" for i in range(len(target_texts))],
        "text": target_texts,
        "x": job.result[n:, 0],
        "y": job.result[n:, 1],
    }
)

options = (["agreement"] if "agreement" in frame else []) + ["zipfit_score", "rds_score"]
options = [o for o in options if o in frame] + list(work.metadata_columns(results.inputs))
colour = st.selectbox("Colour by", options, key=state.key("map.colour"))
numbers = work.metadata_numbers(results.inputs, colour)  # the frame holds metadata as text, for tables
if numbers is not None and charts.on_a_scale(pd.Series(numbers)):
    points[colour] = numbers
event = state.plotly_chart(
    "map.chart",
    results.key + job.key + colour,
    charts.embedding_map,
    points,
    colour,
    targets,
    on_select="rerun",
    selection_mode=("box", "lasso"),
)
chosen = [p["customdata"][0] for p in event.selection.get("points", []) if "customdata" in p]
pool_rows = sorted(int(c) for c in chosen if str(c).isdigit())
if pool_rows:
    st.subheader(f"{len(pool_rows):,} selected {plural(len(pool_rows), 'record')}")
    records.table(frame.loc[pool_rows], key="map.records")
else:
    st.caption("Draw a box or lasso around points to list their records here. Targets are the green stars.")
if not charts.hovers_with_text(len(points)):
    st.caption(f"With {len(points):,} points the hover names each record by number only; select points to read them.")
