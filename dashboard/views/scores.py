"""Scores: each method's score distribution with its top-k cut-off, the two against each other, and length.

ZIP-FIT is known to favour texts of lengths near the targets'; the length plots show how much.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import charts, records, state, work
from dashboard.text import plain, plural
from scoring.compare import NEITHER, spearman

LENGTH_BOXES = (
    "Each box spans the middle half of the lengths, with the median as a line and the mean dashed; the whiskers "
    "reach the shortest and the longest text."
)
# What the RDS+ histogram's colours mean under a rule that is not its x-axis (max cosine) cut at k. (A comment:
# a page script writes a bare string literal to the page.)
RDS_RULES = {
    "round-robin": "RDS+ selects round-robin over the {over}, not by a score threshold: this histogram shows each "
    "item's highest cosine to any target, the {coloured} coloured, and some lower-scoring items are chosen "
    "for {unit} that other items serve less well.",
    "mean": "RDS+ selects by the mean cosine over the {over}, while this histogram shows each item's highest cosine "
    "to any target: the {coloured} coloured, so they need not be the highest here.",
}
SELECT_HINT = "Draw a box or lasso around points of the scatter plot to list their records here."

results = state.page_results("Scores", "The scores appear here as soon as a method has finished.")

frame, k = results.frame, results.k
methods = [m for m in ("zipfit", "rds") if f"{m}_score" in frame]
rds_ranked_by_its_score = results.inputs.rds.selection == "max"  # else by round-robin or mean, not this score

for column, method in zip(st.columns(2), ("zipfit", "rds"), strict=True):
    with column:
        if method not in methods:
            st.info(results.not_shown(method))
            continue
        threshold = method == "zipfit" or rds_ranked_by_its_score
        state.plotly_chart(f"hist.{method}", results.key, charts.score_histogram, frame, method, k, threshold)
        if method == "zipfit" and work.zipfit_estimated(results.inputs):
            st.caption(
                "ZIP-FIT fast mode: these scores and nearest targets are an approximation of exact ZIP-FIT; "
                "its top 10% differed from exact's by up to a fifth on our test target sets (most where many "
                "candidates score alike). Switch fast mode off for the selection you keep."
            )
        if not threshold:
            task_field = results.inputs.task_field
            unit, over = "targets", "targets"
            if task_field is not None:
                unit = "tasks"
                over = f"tasks (task column {plain(task_field)}; an item's cosine to a task is its best target's)"
            count = min(k, len(frame))
            coloured = f"{count:,} selected " + ("item is" if count == 1 else "items are")
            st.caption(RDS_RULES[results.inputs.rds.selection].format(coloured=coloured, over=over, unit=unit))

if results.both:
    rho = spearman(frame["zipfit_score"], frame["rds_score"])
    event = state.plotly_chart(
        "scatter", results.key, charts.score_scatter, frame, k, rho, on_select="rerun", selection_mode=("box", "lasso")
    )
    chosen = sorted({int(p["customdata"][0]) for p in event.selection.get("points", []) if "customdata" in p})
    if chosen:
        st.subheader(f"{len(chosen):,} selected {plural(len(chosen), 'record')}")
        records.table(frame.loc[chosen], key="scatter.records")
    else:
        st.caption(SELECT_HINT)
    neither = int((frame["agreement"] == NEITHER).sum())
    if neither > charts.UNSELECTED_POINTS:
        st.caption(
            f"The scatter plot draws a fixed sample of {charts.UNSELECTED_POINTS:,} of the {neither:,} items neither "
            "method chose (and every chosen one), so a selection lists drawn points only."
        )

st.subheader("Length")
target_lengths = np.array([len(t) for t in results.inputs.targets.dataset.texts])
for column, method in zip(st.columns(2), methods, strict=False):
    with column:
        state.plotly_chart(f"len.{method}", results.key, charts.length_scatter, frame, method, k, target_lengths)
groups = {f"{charts.LABELS[m]} top {k:,}": frame.loc[frame[f"{m}_rank"] < k, "length"].to_numpy() for m in methods}
groups |= {"targets": target_lengths, "whole pool": frame["length"].to_numpy()}
state.plotly_chart("len.boxes", results.key, charts.length_boxes, groups)
st.caption(LENGTH_BOXES)
