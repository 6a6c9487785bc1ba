"""Plotly figures built from the results frame (no Streamlit here). Scatter plots use WebGL.

Every text that comes from user data goes through `dashboard.text.hover`, so it is shown as text.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.text import escape, hover
from scoring.compare import AGREEMENT_ORDER, BOTH, NEITHER, RDS_ONLY, ZIPFIT_ONLY

LABELS = {"zipfit": "ZIP-FIT", "rds": "RDS+"}
COLOURS = {"zipfit": "#1f77b4", "rds": "#d62728", "targets": "#2ca02c", "pool": "#7f7f7f"}
AGREEMENT_COLOURS = {BOTH: "#9467bd", ZIPFIT_ONLY: "#1f77b4", RDS_ONLY: "#d62728", NEITHER: "#d0d0d0"}
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 50, "b": 10}, "legend": {"orientation": "h", "y": -0.15}}


def score_histogram(frame: pd.DataFrame, method: str, k: int, threshold: bool) -> go.Figure:
    """Histogram of `<method>_score`, the top k in colour; a line at the k-th best score if `threshold`."""
    score, selected = frame[f"{method}_score"], frame[f"{method}_rank"] < k
    figure = go.Figure()
    bins = {"start": float(score.min()), "end": float(score.max()) + 1e-12, "size": _bin_size(score)}
    figure.add_histogram(x=score[~selected], name="not selected", marker_color=COLOURS["pool"], xbins=bins)
    figure.add_histogram(x=score[selected], name=f"top {k:,}", marker_color=COLOURS[method], xbins=bins)
    if threshold and k <= len(frame):
        cutoff = float(np.sort(score.to_numpy())[::-1][k - 1])
        figure.add_vline(x=cutoff, line_dash="dash", annotation_text=f"k-th best: {cutoff:.4f}")
    figure.update_layout(
        barmode="stack", title=f"{LABELS[method]} scores", xaxis_title="score", yaxis_title="records", **LAYOUT
    )
    return figure


def score_scatter(frame: pd.DataFrame, k: int, correlation: float) -> go.Figure:
    """ZIP-FIT score against RDS+ score for every pool item, coloured by agreement at k."""
    figure = go.Figure()
    for group in AGREEMENT_ORDER[::-1]:  # "neither" first, so the chosen points are drawn on top
        rows = frame[frame["agreement"] == group]
        figure.add_scattergl(
            x=rows["zipfit_score"],
            y=rows["rds_score"],
            mode="markers",
            name=f"{group} ({len(rows):,})",
            marker={"color": AGREEMENT_COLOURS[group], "size": 5, "opacity": 0.7},
            customdata=_hover_data(rows, len(frame)),
            hovertemplate=_HOVER,
        )
    figure.update_layout(
        title=f"ZIP-FIT vs RDS+ (Spearman ρ = {correlation:.3f}; colours at k = {k:,})",
        xaxis_title="ZIP-FIT score",
        yaxis_title="RDS+ score",
        **LAYOUT,
    )
    return figure


def length_scatter(frame: pd.DataFrame, method: str, k: int, target_lengths: np.ndarray) -> go.Figure:
    """Score against text length (log scale), the targets' median length marked."""
    selected = frame[f"{method}_rank"] < k
    figure = go.Figure()
    for name, rows, colour in [
        ("not selected", frame[~selected], COLOURS["pool"]),
        (f"top {k:,}", frame[selected], COLOURS[method]),
    ]:
        figure.add_scattergl(
            x=rows["length"].clip(lower=1),
            y=rows[f"{method}_score"],
            mode="markers",
            name=name,
            marker={"color": colour, "size": 4, "opacity": 0.6},
            customdata=_hover_data(rows, len(frame)),
            hovertemplate=_HOVER,
        )
    if len(target_lengths):
        median = float(np.median(target_lengths))
        figure.add_vline(
            x=max(median, 1),
            line_dash="dot",
            line_color=COLOURS["targets"],
            annotation_text=f"targets' median length {median:,.0f}",
        )
    figure.update_layout(
        title=f"{LABELS[method]} score against length",
        xaxis_type="log",
        xaxis_title="length (characters, log scale)",
        yaxis_title="score",
        **LAYOUT,
    )
    return figure


def length_boxes(groups: dict[str, np.ndarray]) -> go.Figure:
    """Length distribution of each selection beside the targets' and the pool's."""
    figure = go.Figure()
    for name, lengths in groups.items():
        colour = next(
            (c for key, c in COLOURS.items() if name.lower().startswith(LABELS.get(key, key).lower())), COLOURS["pool"]
        )
        figure.add_box(x=np.clip(lengths, 1, None), name=name, marker_color=colour, boxmean=True, orientation="h")
    figure.update_layout(
        title="Text length of each selection",
        xaxis_type="log",
        showlegend=False,
        xaxis_title="length (characters, log scale)",
        **LAYOUT,
    )
    return figure


def venn(counts: dict[str, int], k: int) -> go.Figure:
    """Two overlapping circles with how many only ZIP-FIT, both, and only RDS+ chose at k."""
    figure = go.Figure()
    for x0, method in [(0.0, "zipfit"), (1.2, "rds")]:
        figure.add_shape(
            type="circle",
            x0=x0,
            y0=0,
            x1=x0 + 2,
            y1=2,
            line_color=COLOURS[method],
            fillcolor=COLOURS[method],
            opacity=0.25,
        )
    texts = [(0.6, ZIPFIT_ONLY), (1.6, BOTH), (2.6, RDS_ONLY)]
    for x, group in texts:
        figure.add_annotation(x=x, y=1, text=f"<b>{counts[group]:,}</b><br>{group}", showarrow=False, font_size=15)
    figure.add_annotation(x=1, y=2.15, text="ZIP-FIT", showarrow=False, font_color=COLOURS["zipfit"])
    figure.add_annotation(x=2.2, y=2.15, text="RDS+", showarrow=False, font_color=COLOURS["rds"])
    figure.update_xaxes(visible=False, range=[-0.1, 3.3])
    figure.update_yaxes(visible=False, range=[-0.1, 2.3], scaleanchor="x")
    figure.update_layout(title=f"Top {k:,} of each method", height=330, **LAYOUT)
    return figure


def overlap_lines(k: np.ndarray, overlap: np.ndarray, jaccard: np.ndarray, current_k: int) -> go.Figure:
    """Overlap (as a share of k) and Jaccard of the two top-k sets for every k, k on a log axis.

    Every k up to LINE_POINTS is drawn, then LINE_POINTS log-spaced ones (the exact values at those k): on the
    log axis the lines look the same, and a 100k pool sends 2 × 1,400 points instead of 2 × 100k.
    """
    shown = log_spaced(len(k), LINE_POINTS)
    k, overlap, jaccard = k[shown], overlap[shown], jaccard[shown]
    figure = go.Figure()
    figure.add_scattergl(x=k, y=overlap / k, name="overlap / k", mode="lines")
    figure.add_scattergl(x=k, y=jaccard, name="Jaccard", mode="lines")
    figure.add_scattergl(
        x=[current_k, current_k],
        y=[0, 1],
        name=f"k = {current_k:,}",
        mode="lines",
        line={"dash": "dash", "color": "black"},
    )
    figure.update_layout(
        title="Agreement of the two top-k sets as k grows",
        xaxis_type="log",
        xaxis_title="k (log scale)",
        yaxis_title="share",
        yaxis_range=[0, 1.02],
        **LAYOUT,
    )
    figure.update_xaxes(range=[0, np.log10(max(len(k), 2))])
    return figure


LINE_POINTS = 1000


def log_spaced(n: int, count: int) -> np.ndarray:
    """Sorted distinct indices into n items: all of the first `count`, then `count` spaced evenly in log(index + 1).

    Example: `log_spaced(10, 3)` -> [0, 1, 2, 9]; all of range(n) when count >= n.
    """
    spread = np.geomspace(1, n, num=count).astype(np.int64) - 1 if n else np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate([np.arange(min(n, count)), spread, [n - 1] if n else []]).astype(np.int64))


def embedding_map(points: pd.DataFrame, colour: str, targets: pd.DataFrame) -> go.Figure:
    """Pool points coloured by `colour` (a column of `points`), targets drawn as large outlined stars."""
    figure = go.Figure()
    values = points[colour]
    if pd.api.types.is_numeric_dtype(values) and values.nunique() > 12:
        figure.add_scattergl(
            x=points["x"],
            y=points["y"],
            mode="markers",
            name="pool",
            marker={"color": values, "colorscale": "Viridis", "size": 5, "colorbar": {"title": escape(colour)}},
            customdata=_hover_data(points, len(points)),
            hovertemplate=_HOVER,
        )
    else:
        groups = set(values)
        order = [g for g in AGREEMENT_ORDER[::-1] if g in groups] if colour == "agreement" else sorted(groups)
        for group in order:
            rows = points[values == group]
            marker = {"size": 5, "opacity": 0.75}
            if colour == "agreement":
                marker["color"] = AGREEMENT_COLOURS[group]
            figure.add_scattergl(
                x=rows["x"],
                y=rows["y"],
                mode="markers",
                name=f"{escape(str(group))} ({len(rows):,})",
                marker=marker,
                customdata=_hover_data(rows, len(points)),
                hovertemplate=_HOVER,
            )
    figure.add_scattergl(
        x=targets["x"],
        y=targets["y"],
        mode="markers",
        name=f"targets ({len(targets):,})",
        marker={"symbol": "star", "size": 13, "color": COLOURS["targets"], "line": {"width": 1, "color": "black"}},
        customdata=_hover_data(targets, len(targets)),
        hovertemplate=_HOVER,
    )
    figure.update_layout(title="UMAP of the RDS+ embeddings", height=650, dragmode="lasso", **LAYOUT)
    figure.update_xaxes(showticklabels=False, title=None)
    figure.update_yaxes(showticklabels=False, title=None)
    return figure


_HOVER = "<b>#%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>"


HOVER_CHARACTERS = 6_000_000
"""Snippet characters per chart: 200 per point up to 30k points, fewer beyond (60 at 100k, never under 40), so a
chart of a large pool stays a few MB instead of tens (every rerun sends it to the browser)."""


HOVER_COLUMN = "_hover"
"""A frame column of escaped hover snippets (dashboard.work makes one), hidden from tables."""


def hover_snippets(texts: Iterable[str], points: int) -> list[str]:
    """Escaped hover snippets of `texts` for a chart of `points` points in all (shorter for more points).

    A HOVER_COLUMN of these in a frame is used instead of computing them for every chart of it.
    """
    limit = max(40, min(200, HOVER_CHARACTERS // max(points, 1)))
    return [hover(t, limit) for t in texts]


def _hover_data(rows: pd.DataFrame, points: int) -> np.ndarray:
    """(n, 2) of (index, escaped text snippet) for the hover template, for a chart of `points` points in all."""
    index = rows.get("pool_index", rows.index)
    snippets = rows[HOVER_COLUMN] if HOVER_COLUMN in rows else hover_snippets(rows["text"], points)
    return np.stack([index.astype(str).to_numpy(), np.asarray(snippets, dtype=object)], axis=1)


def _bin_size(score: pd.Series) -> float:
    spread = float(score.max() - score.min())
    return spread / 50 if spread > 0 else 1.0
