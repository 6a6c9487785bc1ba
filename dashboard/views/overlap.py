"""Overlap: how many only ZIP-FIT, both, and only RDS+ chose at k; overlap and Jaccard for every k."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, state
from scoring.compare import agreement_counts, overlap_curve, spearman

results = state.page_results("Overlap", "The overlap appears once both methods have finished.", need="both")

frame, k = results.frame, results.k
zipfit_rank, rds_rank = frame["zipfit_rank"].to_numpy(), frame["rds_rank"].to_numpy()
counts = agreement_counts(zipfit_rank, rds_rank, k)
ks, overlap, jaccard = overlap_curve(zipfit_rank, rds_rank)

left, right = st.columns([3, 2])
with left:
    st.plotly_chart(charts.venn(counts, k), key=state.key("venn"))
with right:
    share = f"{counts['both'] / k:.1%} of k"
    st.metric(f"Chosen by both at k = {k:,}", f"{counts['both']:,}", share, delta_color="off", delta_arrow="off")
    st.metric("Jaccard at k", f"{jaccard[k - 1]:.3f}")
    st.metric("Spearman ρ of the two scores", charts.decimals(spearman(frame["zipfit_score"], frame["rds_score"])))
    st.metric("Spearman ρ of the two rankings", charts.decimals(spearman(zipfit_rank, rds_rank)))
st.plotly_chart(charts.overlap_lines(ks, overlap, jaccard, k), key=state.key("overlap.lines"))
st.caption(
    "Overlap / k is the share of one method's top k that the other also chose. With random "
    "rankings it would be about k / N."
)
