"""Side by side: each method's top k, with a mark where the other method chose the same record, and why
any record was picked: its nearest targets under each method."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import records, state, status, work
from dashboard.text import plain, shorten
from scoring.explain import nearest, rds_similarities, zipfit_distances
from scoring.jobs import DONE

results = state.page_results("Side by side", "The selections appear here as soon as a method has finished.")

frame, k = results.frame, results.k
query = st.text_input("Filter by text", key=state.key("sbs.filter"), placeholder="e.g. def , integral, Bonjour")
shown = frame[records.containing(query, results.inputs.pool.digest)[frame["pool_index"]]] if query else frame

picked = None
other = {"zipfit": "rds", "rds": "zipfit"}
for column, method, label in zip(st.columns(2), ("zipfit", "rds"), ("ZIP-FIT", "RDS+"), strict=True):
    with column:
        st.subheader(f"{label} top {k:,}")
        if f"{method}_rank" not in frame:
            st.info(results.not_shown(method))
            continue
        top = shown[shown[f"{method}_rank"] < k].sort_values(f"{method}_rank")
        mate = f"{other[method]}_rank"
        if mate in top:
            top = top.assign(both=top[mate] < k)
        keep = ["pool_index", f"{method}_rank", f"{method}_score", "both", "text", "source"]
        clicked = records.table(top[[c for c in keep if c in top]], key=f"sbs.{method}", show_text=False)
        picked = clicked if clicked is not None else picked
        st.caption(f"{len(top):,} of the top {k:,} shown" + (f" (filtered by {plain(repr(query))})" if query else ""))

st.subheader("Why was it picked?")
first = "zipfit_rank" if "zipfit_rank" in frame else "rds_rank"
if picked is not None and picked != state.get("sbs.picked"):  # a new click wins over the number typed before
    state.put("sbs.index", picked)
state.put("sbs.picked", picked)
if not 0 <= state.get("sbs.index", -1) < len(frame):  # first visit, or another pool
    state.put("sbs.index", int(frame["pool_index"][frame[first] == 0].iloc[0]))
label = "Click a row above, or give a pool record #"
index = int(st.number_input(label, 0, len(frame) - 1, key=state.key("sbs.index")))
row = frame.iloc[index]
targets = results.inputs.targets.dataset.texts
cells = []
for method, label in (("zipfit", "ZIP-FIT"), ("rds", "RDS+")):
    if f"{method}_rank" in frame:
        cells.append(f"{label}: rank {int(row[f'{method}_rank']):,}, score {row[f'{method}_score']:.4f}")
st.markdown(" · ".join(cells) + " (rank 0 is chosen first)")
records.full_text(index)
text = results.inputs.pool.dataset.texts[index]
left, right = st.columns(2)
with left:
    st.markdown("**Nearest targets under ZIP-FIT** (lowest compression distance)")
    distances = zipfit_distances(text, targets, results.inputs.zipfit)
    best = nearest(distances, 3, highest=False)
    st.dataframe(
        pd.DataFrame({"target": best, "NCD": distances[best], "text": [shorten(targets[i]) for i in best]}),
        hide_index=True,
        key=state.key("why.zipfit"),
    )
with right:
    st.markdown("**Nearest targets under RDS+** (highest cosine similarity)")
    if results.rds is None:
        st.info(results.not_shown("rds"))
    else:
        similarity = rds_similarities(text, targets, results.inputs.rds, cache=state.cache(), cached_only=True)
        if similarity is None:  # embeddings no longer cached (e.g. the cache was cleared): embed them in a job
            (job,) = status.show([work.why_rds_job(results.inputs, index)])
            similarity = job.result if job.state == DONE else None
            if job.active:
                st.caption("This record and the targets are being embedded again: the cache no longer holds them.")
        if similarity is not None:
            best = nearest(similarity, 3, highest=True)
            st.dataframe(
                pd.DataFrame({"target": best, "cosine": similarity[best], "text": [shorten(targets[i]) for i in best]}),
                hide_index=True,
                key=state.key("why.rds"),
            )
