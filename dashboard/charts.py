"""Plotly figures built from the results frame (no Streamlit here). Scatter plots of points use WebGL.

Every text that comes from user data goes through `dashboard.text.hover`, so it is shown as text.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative

from dashboard.text import MISSING, escape, hover, shorten
from scoring.compare import AGREEMENT_ORDER, BOTH, NEITHER, RDS_ONLY, ZIPFIT_ONLY

LABELS = {"zipfit": "ZIP-FIT", "rds": "RDS+"}
COLOURS = {"zipfit": "#1f77b4", "rds": "#d62728", "targets": "#2ca02c", "pool": "#7f7f7f"}
AGREEMENT_COLOURS = {BOTH: "#9467bd", ZIPFIT_ONLY: "#1f77b4", RDS_ONLY: "#d62728", NEITHER: "#d0d0d0"}
CATEGORY_COLOURS = [c for c in qualitative.Dark24 if c != "#1CA71C"]
"""Distinct colours for the map's categories (23; Dark24 without its green, the targets' colour)."""
OTHER_COLOUR = "#c7c7c7"
MISSING_COLOUR = "#969696"
"""The map's points whose colour field is null or absent, on a colour scale or among categories."""
LAYOUT = {
    "margin": {"l": 10, "r": 10, "t": 50, "b": 10},
    # Below the axis title at any width: anchored to the figure's bottom edge, plotly widens the margin to fit it.
    "legend": {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom"},
}
LOG_TICKS = np.array([m * 10**e for e in range(9) for m in (1, 2, 5)])


def length_axis(lengths: np.ndarray) -> dict:
    """A log-scale length axis for `lengths` (any shape; values below 1 count as 1). Ticks at 1, 2, 5, 10, 20,
    50, … (plotly's own log ticks leave 100 unlabelled), or at round numbers when fewer than three of those fall
    within the lengths: `length_axis(np.array([212, 327]))["tickvals"]` -> [220, 240, 260, 280, 300, 320].
    """
    lengths = np.clip(np.ravel(lengths), 1, None) if np.size(lengths) else np.ones(1)
    low, high = lengths.min(), lengths.max()
    ticks = LOG_TICKS[(low <= LOG_TICKS) & (high >= LOG_TICKS)]
    if len(ticks) < 3:
        step = _round_step((high - low) / 3)
        ticks = np.arange(np.ceil(low / step) * step, high + 1, step)
    return {"type": "log", "title": "length (characters, log scale)", "tickvals": [int(t) for t in ticks]}


def _round_step(most: float) -> int:
    """The largest of 1, 2, 5, 10, 20, … at most `most` (1 when `most` < 1: lengths are whole numbers)."""
    return int(LOG_TICKS[max(np.searchsorted(LOG_TICKS, most, side="right") - 1, 0)])


def score_histogram(frame: pd.DataFrame, method: str, k: int, threshold: bool) -> go.Figure:
    """Histogram of `<method>_score` in HISTOGRAM_BINS bins, the top k in colour; a line at the k-th best score if
    `threshold`. Binned here, so the chart holds 2 × HISTOGRAM_BINS bars whatever the pool size."""
    score, selected = frame[f"{method}_score"].to_numpy(), (frame[f"{method}_rank"] < k).to_numpy()
    edges = np.histogram_bin_edges(score, bins=HISTOGRAM_BINS)
    figure = go.Figure()
    for name, part, colour in [
        ("not selected", score[~selected], COLOURS["pool"]),
        (f"top {int(selected.sum()):,}", score[selected], COLOURS[method]),
    ]:
        if not len(part):  # e.g. nothing left unselected at k = the pool size
            continue
        figure.add_bar(
            x=(edges[:-1] + edges[1:]) / 2,
            y=np.histogram(part, bins=edges)[0],
            width=np.diff(edges),
            customdata=np.stack([edges[:-1], edges[1:]], axis=1),
            name=name,
            marker_color=colour,
            hovertemplate="%{customdata[0]:.4f} to %{customdata[1]:.4f}: %{y:,} records",
        )
    if threshold and k <= len(frame):
        cutoff = float(np.sort(score)[::-1][k - 1])
        # The label goes on the side with more room: plotly widens the axis to fit it, squashing the bars.
        side = "top left" if cutoff > (edges[0] + edges[-1]) / 2 else "top right"
        label = f"k-th best: {cutoff:.4f}"
        figure.add_vline(x=cutoff, line_dash="dash", annotation_text=label, annotation_position=side)
    figure.update_layout(
        barmode="stack",
        bargap=0,
        title=f"{LABELS[method]} scores",
        xaxis_title="score",
        yaxis_title="records",
        showlegend=True,  # also for one group: its colour needs a key
        **LAYOUT,
    )
    return figure


HISTOGRAM_BINS = 50


def score_scatter(frame: pd.DataFrame, k: int, correlation: float) -> go.Figure:
    """ZIP-FIT score against RDS+ score for every pool item, coloured by agreement at k.

    Every chosen item is drawn; of those neither method chose, a seeded sample of UNSELECTED_POINTS (legend says so).
    """
    groups = [(group, frame[frame["agreement"] == group]) for group in AGREEMENT_ORDER[::-1]]  # chosen ones on top
    shown = [drawn(rows, UNSELECTED_POINTS) if group == NEITHER else rows for group, rows in groups]
    points = sum(len(rows) for rows in shown)
    figure = go.Figure()
    for (group, rows), part in zip(groups, shown, strict=True):
        if not len(rows):
            continue
        figure.add_scattergl(
            x=part["zipfit_score"].astype(np.float32),
            y=part["rds_score"].astype(np.float32),
            mode="markers",
            name=group_name(group, len(rows), len(part)),
            marker={"color": AGREEMENT_COLOURS[group], "size": 5, "opacity": 0.7},
            **_hover(part, points, SCATTER_HOVER_CHARACTERS),
        )
    figure.update_layout(
        title=f"ZIP-FIT vs RDS+ (Spearman ρ = {decimals(correlation)}; colours at k = {k:,})",
        xaxis_title="ZIP-FIT score",
        yaxis_title="RDS+ score",
        dragmode="lasso",
        showlegend=True,
        **LAYOUT,
    )
    return figure


def length_scatter(frame: pd.DataFrame, method: str, k: int, target_lengths: np.ndarray) -> go.Figure:
    """Score against text length (log scale), the targets' median length marked.

    Every selected item is drawn; of the others, a seeded sample of UNSELECTED_POINTS (legend says so).
    """
    selected = frame[f"{method}_rank"] < k
    others = drawn(frame[~selected], UNSELECTED_POINTS)
    groups = [
        (group_name("not selected", int((~selected).sum()), len(others)), others, COLOURS["pool"]),
        (f"top {int(selected.sum()):,}", frame[selected], COLOURS[method]),
    ]
    points = sum(len(part) for _, part, _ in groups)
    figure = go.Figure()
    for name, part, colour in groups:
        if not len(part):
            continue
        figure.add_scattergl(
            x=part["length"].clip(lower=1),
            y=part[f"{method}_score"].astype(np.float32),
            mode="markers",
            name=name,
            marker={"color": colour, "size": 4, "opacity": 0.6},
            **_hover(part, points, SCATTER_HOVER_CHARACTERS),
        )
    if len(target_lengths):
        median = max(float(np.median(target_lengths)), 1.0)
        figure.add_vline(x=median, line_dash="dot", line_color=COLOURS["targets"])
        figure.add_annotation(  # on a log axis a shape's x is data, an annotation's its log10 (plotly.py#2580)
            x=np.log10(median),
            y=1,
            yref="paper",
            text=f"targets' median length {median:,.0f}",
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
        )
    lengths = [part["length"].to_numpy() for _, part, _ in groups] + [np.median(target_lengths, keepdims=True)]
    figure.update_layout(
        title=f"{LABELS[method]} score against length",
        xaxis=length_axis(np.concatenate(lengths) if len(target_lengths) else np.concatenate(lengths[:-1])),
        yaxis_title="score",
        showlegend=True,
        **LAYOUT,
    )
    return figure


UNSELECTED_POINTS = 10_000
"""Points a scatter plot draws at most of the items not selected (a seeded sample): each chart a browser draws is
sent whole on every view switch, and Streamlit's frontend copies it as text a few dozen times while theming it."""


def decimals(value: float, places: int = 3) -> str:
    """`value` with `places` decimals, never "-0.000": `decimals(-0.0001)` -> "0.000"; a NaN (e.g. the
    correlation of scores that are all equal) -> "undefined"."""
    if value != value:
        return "undefined"
    return f"{round(value, places) + 0.0:.{places}f}"


def drawn(rows: pd.DataFrame, limit: int, seed: int = 0) -> pd.DataFrame:
    """`rows` if at most `limit`, else a seeded random `limit` of them, in their original order.

    Example: `len(drawn(frame, 20_000))` -> min(len(frame), 20_000); the same rows on every call.
    """
    if len(rows) <= limit:
        return rows
    return rows.iloc[np.sort(np.random.default_rng(seed).choice(len(rows), size=limit, replace=False))]


def group_name(name: str, total: int, shown: int) -> str:
    """A legend entry: `"neither (1,234)"`, or `"neither (10,000 of 95,000 drawn)"` when sampled."""
    return f"{name} ({total:,})" if shown == total else f"{name} ({shown:,} of {total:,} drawn)"


def length_boxes(groups: dict[str, np.ndarray]) -> go.Figure:
    """Length distribution of each selection beside the targets' and the pool's: one box each, its whiskers from the
    shortest to the longest text. The statistics are computed here (`box_statistics`), so the chart holds six
    numbers a box whatever the pool size (plotly's own boxes carry every value and draw each outlier)."""
    figure = go.Figure()
    reach = []
    for name, lengths in groups.items():
        lengths = np.clip(np.ravel(lengths), 1, None)
        if not len(lengths):
            continue
        colour = next(
            (c for key, c in COLOURS.items() if name.lower().startswith(LABELS.get(key, key).lower())), COLOURS["pool"]
        )
        box = box_statistics(lengths)
        reach += [box["lowerfence"], box["upperfence"]]
        figure.add_box(
            y=[name], **{stat: [value] for stat, value in box.items()}, name=name, marker_color=colour, boxmean=True
        )
    figure.update_traces(orientation="h")
    figure.update_layout(
        title="Text length of each selection",
        xaxis=length_axis(np.array(reach)),
        showlegend=False,
        **LAYOUT,
    )
    return figure


def box_statistics(values: np.ndarray) -> dict[str, float]:
    """The box of `values` (n,), n ≥ 1, for plotly's precomputed boxes: quartiles (linear interpolation, as NumPy's
    percentiles), the mean, and whiskers to the smallest and largest value. `box_statistics(np.array([1, 2, 3, 4,
    100]))` -> q1 2, median 3, q3 4, mean 22, lowerfence 1, upperfence 100.
    """
    q1, median, q3 = (float(q) for q in np.percentile(values, [25, 50, 75]))
    return {
        "q1": q1,
        "median": median,
        "q3": q3,
        "mean": float(np.mean(values)),
        "lowerfence": float(np.min(values)),
        "upperfence": float(np.max(values)),
    }


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
    figure.add_scatter(x=k, y=overlap / k, name="overlap / k", mode="lines")  # SVG: no WebGL context to start
    figure.add_scatter(x=k, y=jaccard, name="Jaccard", mode="lines")
    figure.add_scatter(
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
    figure.update_xaxes(range=[0, np.log10(max(int(k[-1]) if len(k) else 2, 2))])  # up to the pool's size
    return figure


LINE_POINTS = 1000


def log_spaced(n: int, count: int) -> np.ndarray:
    """Sorted distinct indices into n items: all of the first `count`, then `count` spaced evenly in log(index + 1).

    Example: `log_spaced(10, 3)` -> [0, 1, 2, 9]; all of range(n) when count >= n.
    """
    spread = np.geomspace(1, n, num=count).astype(np.int64) - 1 if n else np.zeros(0, dtype=np.int64)
    return np.unique(np.concatenate([np.arange(min(n, count)), spread, [n - 1] if n else []]).astype(np.int64))


def embedding_map(points: pd.DataFrame, colour: str, targets: pd.DataFrame) -> go.Figure:
    """Pool points coloured by `colour` (a column of `points`), targets drawn as large outlined stars.

    Every point is drawn; above HOVER_CHARACTERS // HOVER_MIN points the hover names the record without a snippet.
    """
    figure = go.Figure()
    values = points[colour]
    if on_a_scale(values):
        known = values.notna()
        scale = {"color": values[known], "colorscale": "Viridis", "colorbar": {"title": escape(colour)}}
        missing = f"{MISSING} ({(~known).sum():,})"
        for name, rows, marker in [
            ("pool", points[known], scale),
            (missing, points[~known], {"color": MISSING_COLOUR}),
        ]:
            if len(rows):
                figure.add_scattergl(
                    x=rows["x"].astype(np.float32),
                    y=rows["y"].astype(np.float32),
                    mode="markers",
                    name=name,
                    marker={"size": 5, **marker},
                    **_hover(rows, len(points)),
                )
    else:
        for name, rows, marker_colour in _categories(points, colour):
            figure.add_scattergl(
                x=rows["x"].astype(np.float32),
                y=rows["y"].astype(np.float32),
                mode="markers",
                name=f"{name} ({len(rows):,})",
                marker={"size": 5, "opacity": 0.75, "color": marker_colour},
                **_hover(rows, len(points)),
            )
    figure.add_scattergl(
        x=targets["x"],
        y=targets["y"],
        mode="markers",
        name=f"targets ({len(targets):,})",
        marker={"symbol": "star", "size": 13, "color": COLOURS["targets"], "line": {"width": 1, "color": "black"}},
        **_hover(targets, len(targets)),
    )
    figure.update_layout(title="UMAP of the RDS+ embeddings", height=650, dragmode="lasso", **LAYOUT)
    figure.update_xaxes(showticklabels=False, title=None)
    figure.update_yaxes(showticklabels=False, title=None)
    return figure


SCALE_ABOVE = 12
"""Numbers with more distinct values than this are coloured on a scale, fewer as categories."""


def on_a_scale(values: pd.Series) -> bool:
    """Whether the map colours `values` on a scale: numbers (NaN where missing) of more than SCALE_ABOVE values.

    Example: the integers 1-30 -> True; `["a", "b"]` or the integers 1-5 -> False (categories).
    """
    return (
        pd.api.types.is_numeric_dtype(values)
        and not pd.api.types.is_bool_dtype(values)
        and (values.nunique() > SCALE_ABOVE)
    )


def _categories(points: pd.DataFrame, colour: str) -> list[tuple[str, pd.DataFrame, str]]:
    """(legend name, rows, colour) per category of `points[colour]`, each with its own colour.

    Agreement groups keep their fixed colours. Other columns: categories largest first (ties by name), named by
    their first 40 characters, missing values in MISSING_COLOUR; beyond len(CATEGORY_COLOURS), the smallest are
    drawn together in light grey as "other: N values".
    """
    values = points[colour]
    if colour == "agreement":
        present = set(values)
        return [(g, points[values == g], AGREEMENT_COLOURS[g]) for g in AGREEMENT_ORDER[::-1] if g in present]
    counts = values.value_counts(sort=False)
    order = sorted(counts.index, key=lambda g: (-counts[g], str(g)))
    shown = order if len(order) <= len(CATEGORY_COLOURS) else order[: len(CATEGORY_COLOURS) - 1]
    palette = iter(CATEGORY_COLOURS)
    drawn = [(escape(shorten(str(g), 40)), points[values == g], _colour(g, palette)) for g in shown]
    rest = order[len(shown) :]
    if rest:
        drawn.append((f"other: {len(rest)} values", points[values.isin(rest)], OTHER_COLOUR))
    return drawn


def _colour(category: object, palette: Iterator[str]) -> str:
    """MISSING_COLOUR for missing values (as on a colour scale), else the next colour of `palette`."""
    return MISSING_COLOUR if category == MISSING else next(palette)


HOVER_CHARACTERS = 2_000_000
"""Snippet characters per map: 200 per point up to 10k points, fewer beyond (80 at 25k), none under HOVER_MIN
(above 50k points: the hover names the record only). A chart is sent whole on every view switch and copied as
text a few dozen times by Streamlit's frontend, so its size is what a view switch costs."""
SCATTER_HOVER_CHARACTERS = 1_000_000
"""Snippet characters per scatter plot of the Scores page, which shows three of them at once: 200 per point up to
5k points, none above 25k (select points on the score scatter to read them)."""
HOVER_MIN = 40


def snippet_limit(points: int, budget: int = HOVER_CHARACTERS) -> int:
    """Characters of text in each hover label of a chart of `points` points sharing `budget`; 0 for none.

    Example: `snippet_limit(1_000)` -> 200, `snippet_limit(25_000)` -> 80, `snippet_limit(100_000)` -> 0.
    """
    limit = min(200, budget // max(points, 1))
    return limit if limit >= HOVER_MIN else 0


def hovers_with_text(points: int, budget: int = HOVER_CHARACTERS) -> bool:
    """Whether a chart of `points` points shows text snippets on hover (else record numbers only)."""
    return snippet_limit(points, budget) > 0


def _hover(rows: pd.DataFrame, points: int, budget: int = HOVER_CHARACTERS) -> dict:
    """Trace arguments for the hover of `rows` in a chart of `points` points in all: customdata is (n, 2) of
    (index, escaped snippet), or (n, 1) of the index when the chart is too large for snippets."""
    index = rows.get("pool_index", rows.index).astype(str).to_numpy()
    limit = snippet_limit(points, budget)
    if not limit:
        return {"customdata": index[:, None], "hovertemplate": "<b>#%{customdata[0]}</b><extra></extra>"}
    snippets = np.array([hover(text, limit) for text in rows["text"]], dtype=object)
    return {"customdata": np.stack([index, snippets], axis=1), "hovertemplate": _HOVER}


_HOVER = "<b>#%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>"
