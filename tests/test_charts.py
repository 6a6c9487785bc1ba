"""The dashboard's charts: user text in hover labels is escaped, and a large pool's charts stay a few MB."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard import charts
from dashboard.text import shorten
from scoring.compare import BOTH, NEITHER, RDS_ONLY, ZIPFIT_ONLY, agreement


def map_frame(n: int, text: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    points = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "y": rng.normal(size=n),
            "pool_index": np.arange(n),
            "text": [text] * n,
            "agreement": np.where(np.arange(n) % 10 == 0, BOTH, NEITHER),
        }
    )
    targets = pd.DataFrame({"x": [0.0], "y": [0.0], "text": ["<b>target</b>"]})
    return points, targets


def reorder(frames: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[pd.DataFrame, str, pd.DataFrame]:
    return frames[0], "agreement", frames[1]


def snippets(figure) -> list[str]:
    return [row[1] for trace in figure.data for row in trace.customdata]


def test_hover_text_is_escaped():
    points, targets = map_frame(20, "<script>alert(1)</script> & <b>bold</b>")
    texts = snippets(charts.embedding_map(points, "agreement", targets))
    assert all("<script>" not in t and "<b>" not in t for t in texts)
    assert "&lt;script&gt;" in texts[0]
    assert "&lt;b&gt;target&lt;/b&gt;" in texts


def test_bidi_controls_in_shortened_text_are_named_not_obeyed():
    assert shorten("pay \u202eevil\u202c now") == "pay ⟪U+202E⟫evil⟪U+202C⟫ now"  # would read "pay live now"
    assert shorten("\u2067x\u2069") == "⟪U+2067⟫x⟪U+2069⟫"
    assert shorten("שלום, עולם") == "שלום, עולם"  # right-to-left text itself is left as it is


def test_map_categories_get_distinct_colours_and_the_smallest_beyond_the_palette_share_grey():
    points, targets = map_frame(0, "")
    sizes = {f"source-{i:02d}": 40 - i for i in range(38)}  # 38 categories, 40 down to 3 records
    points = pd.DataFrame(
        {
            "x": 0.0,
            "y": 0.0,
            "pool_index": np.arange(sum(sizes.values())),
            "text": "t",
            "source": [name for name, size in sizes.items() for _ in range(size)],
        }
    )
    figure = charts.embedding_map(points, "source", targets)
    pool = figure.data[:-1]
    colours = [trace.marker.color for trace in pool]
    assert len(pool) == len(charts.CATEGORY_COLOURS)
    assert len(set(colours[:-1])) == len(colours) - 1  # each shown category its own colour
    assert charts.COLOURS["targets"] not in colours
    assert pool[0].name == "source-00 (40)"  # the largest first
    rest = 38 - (len(pool) - 1)
    assert pool[-1].name == f"other: {rest} values ({sum(list(sizes.values())[-rest:]):,})"
    assert colours[-1] == charts.OTHER_COLOUR
    assert sum(len(trace.x) for trace in pool) == len(points)

    few = charts.embedding_map(points[points["source"] < "source-05"], "source", targets).data[:-1]
    assert [t.name for t in few] == [f"source-0{i} ({40 - i})" for i in range(5)]
    assert len({t.marker.color for t in few}) == 5


def test_a_map_coloured_by_many_numbers_uses_a_scale_and_draws_missing_values_in_grey():
    points, targets = map_frame(40, "t")
    points["stars"] = [np.nan if i % 8 == 0 else float(i) for i in range(40)]  # 35 values, 5 missing
    pool = charts.embedding_map(points, "stars", targets).data[:-1]
    scale, missing = pool
    assert scale.marker.colorscale is not None
    assert list(scale.marker.color) == [float(i) for i in range(40) if i % 8]
    assert (missing.name, len(missing.x), missing.marker.color) == ("(missing) (5)", 5, charts.MISSING_COLOUR)

    points["stars"] = points["stars"].fillna(0.0)
    assert len(charts.embedding_map(points, "stars", targets).data) == 2  # no empty "(missing) (0)" trace
    points["stars"] = np.arange(40) % 5
    few = charts.embedding_map(points, "stars", targets).data[:-1]
    assert [t.name for t in few] == [f"{i} (8)" for i in range(5)]  # five numbers: categories


def test_map_categories_name_each_by_its_start_and_draw_missing_values_in_the_missing_grey():
    points, targets = map_frame(30, "t")
    points["note"] = ["x" * 5000] * 10 + ["(missing)"] * 12 + ["short"] * 8
    missing, long, short = charts.embedding_map(points, "note", targets).data[:-1]  # largest first
    assert long.name == "x" * 39 + "… (10)"
    assert (missing.name, missing.marker.color) == ("(missing) (12)", charts.MISSING_COLOUR)
    assert (long.marker.color, short.marker.color) == tuple(charts.CATEGORY_COLOURS[:2])  # missing takes none


def test_snippets_shrink_with_the_point_count_and_stop_where_a_chart_would_grow_large():
    long_text = "word " * 200
    small = charts.embedding_map(*reorder(map_frame(1_000, long_text)))
    medium = charts.embedding_map(*reorder(map_frame(25_000, long_text)))
    large = charts.embedding_map(*reorder(map_frame(100_000, long_text)))

    def longest(figure) -> int:
        return max(len(t.replace("<br>", "")) for t in snippets(figure)[:-1])  # the last one is the target's

    assert longest(small) >= 200
    assert longest(medium) <= 80  # the ellipsis included
    pool_traces = large.data[:-1]
    assert all(trace.customdata.shape[1] == 1 for trace in pool_traces)  # record numbers only
    assert sorted(int(i) for trace in pool_traces for (i,) in trace.customdata) == list(range(100_000))
    assert large.data[-1].customdata.shape[1] == 2  # the targets keep their text
    assert len(large.to_json()) < 4e6
    assert len(medium.to_json()) < 4e6


def results_frame(n: int, k: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"pool_index": np.arange(n), "text": [f"<i>record {i}</i>" for i in range(n)]})
    frame["length"] = rng.integers(1, 5_000, size=n)
    for method in ("zipfit", "rds"):
        frame[f"{method}_score"] = rng.random(n)
        frame[f"{method}_rank"] = np.argsort(np.argsort(-frame[f"{method}_score"].to_numpy()))
    frame["agreement"] = agreement(frame["zipfit_rank"].to_numpy(), frame["rds_rank"].to_numpy(), k)
    return frame


def drawn_indices(trace) -> set[int]:
    return {int(i) for i in trace.customdata[:, 0]}


def test_scatter_plots_of_a_large_pool_draw_every_chosen_item_and_a_fixed_sample_of_the_rest():
    frame, k = results_frame(100_000, 1_000), 1_000
    scatter = charts.score_scatter(frame, k, 0.0)
    by_group = {trace.name.split(" (")[0]: trace for trace in scatter.data}
    for group in (BOTH, ZIPFIT_ONLY, RDS_ONLY):
        assert drawn_indices(by_group[group]) == set(frame.index[frame["agreement"] == group])
    neither = by_group[NEITHER]
    total = int((frame["agreement"] == NEITHER).sum())
    assert len(neither.x) == charts.UNSELECTED_POINTS < total
    assert neither.name == f"{NEITHER} ({charts.UNSELECTED_POINTS:,} of {total:,} drawn)"
    assert drawn_indices(neither) <= set(frame.index[frame["agreement"] == NEITHER])
    rows = sorted(drawn_indices(neither))
    assert np.allclose(neither.x, frame.loc[rows, "zipfit_score"])
    assert np.allclose(neither.y, frame.loc[rows, "rds_score"])
    assert drawn_indices(charts.score_scatter(frame, k, 0.0).data[0]) == drawn_indices(neither)  # the same sample

    lengths = charts.length_scatter(frame, "rds", k, np.array([10]))
    others, top = lengths.data
    assert drawn_indices(top) == set(frame.index[frame["rds_rank"] < k])
    assert len(others.x) == charts.UNSELECTED_POINTS
    assert others.name.endswith(f"of {len(frame) - k:,} drawn)")

    small = results_frame(500, 50)
    assert sum(len(t.x) for t in charts.score_scatter(small, 50, 0.0).data) == 500  # a small pool: every item
    assert all("drawn" not in t.name for t in charts.length_scatter(small, "zipfit", 50, np.array([10])).data)


def test_scores_page_scatter_plots_share_a_smaller_snippet_budget_than_the_map():
    frame = results_frame(100_000, 10_000).assign(text="word " * 100)
    scatter = charts.score_scatter(frame, 10_000, 0.0)
    points = sum(len(trace.x) for trace in scatter.data)
    assert points > charts.SCATTER_HOVER_CHARACTERS // charts.HOVER_MIN  # too many for snippets...
    assert all(trace.customdata.shape[1] == 1 for trace in scatter.data)  # ...so record numbers only
    assert charts.hovers_with_text(points)  # where a map of as many points still shows them
    lengths = charts.length_scatter(frame, "zipfit", 10_000, np.array([10]))
    shown = sum(len(trace.x) for trace in lengths.data)
    limit = charts.SCATTER_HOVER_CHARACTERS // shown
    assert charts.HOVER_MIN <= limit < charts.snippet_limit(shown)
    assert max(len(row[1].replace("<br>", "")) for trace in lengths.data for row in trace.customdata) <= limit
    assert len(scatter.to_json()) + 2 * len(lengths.to_json()) < 5e6  # the Scores page's three scatter plots

    small = results_frame(4_000, 400).assign(text="word " * 100)
    assert all(len(row[1]) >= 200 for trace in charts.score_scatter(small, 400, 0.0).data for row in trace.customdata)


def test_histograms_are_binned_before_they_are_sent_and_count_every_item():
    frame, k = results_frame(100_000, 1_000), 1_000
    figure = charts.score_histogram(frame, "zipfit", k, threshold=True)
    rest, top = figure.data
    assert len(rest.y) == len(top.y) == charts.HISTOGRAM_BINS
    assert rest.y.sum() + top.y.sum() == len(frame)
    assert top.y.sum() == k
    score = frame["zipfit_score"].to_numpy()
    for (low, high), count_rest, count_top in zip(rest.customdata, rest.y, top.y, strict=True):
        last = high == rest.customdata[-1][1]
        inside = (score >= low) & ((score <= high) if last else (score < high))
        assert count_rest + count_top == inside.sum()
    assert len(figure.to_json()) < 100_000


def test_when_every_item_is_selected_the_charts_keep_a_legend_and_list_no_empty_group():
    frame, k = results_frame(30, 100), 100  # a small upload at the default k: all of it is chosen
    figures = [
        charts.score_histogram(frame, "zipfit", k, threshold=True),
        charts.score_scatter(frame, k, 0.0),
        charts.length_scatter(frame, "rds", k, np.array([10])),
    ]
    for figure in figures:
        assert figure.layout.showlegend  # plotly hides the key of a lone trace: the colour went unexplained
    assert [trace.name for figure in figures for trace in figure.data] == ["top 30", f"{BOTH} (30)", "top 30"]


def test_length_boxes_of_a_large_pool_send_their_statistics_not_every_length():
    # plotly's own boxes carried every length (0.6 MB at 100k texts) and drew each outlier as a point.
    rng = np.random.default_rng(0)
    pool = rng.lognormal(6, 1, 100_000).astype(np.int64)
    groups = {"ZIP-FIT top 1,000": pool[:1000] // 2, "targets": np.array([0, 40, 50, 70]), "whole pool": pool}
    figure = charts.length_boxes(groups)
    assert len(figure.to_json()) < 20_000
    assert [box.y[0] for box in figure.data] == list(groups)
    for box, lengths in zip(figure.data, groups.values(), strict=True):
        lengths = pd.Series(np.maximum(lengths, 1))  # the axis is logarithmic
        assert box.x is None
        assert (box.orientation, box.boxmean) == ("h", True)
        quartiles = [box.q1[0], box.median[0], box.q3[0]]
        assert np.allclose(quartiles, lengths.quantile([0.25, 0.5, 0.75]))  # pandas interpolates linearly too
        assert (box.lowerfence[0], box.upperfence[0]) == (lengths.min(), lengths.max())
        assert np.isclose(box.mean[0], lengths.mean())


@pytest.mark.parametrize(("k", "toward"), [(10, "right"), (990, "left")])
def test_the_kth_best_label_extends_toward_the_middle_of_the_axis(k, toward):
    # A label extending past the axis's end makes plotly widen the axis for it, squashing the bars.
    figure = charts.score_histogram(results_frame(1_000, k), "zipfit", k, threshold=True)
    (label,) = figure.layout.annotations
    assert label.text.startswith("k-th best: ")
    assert label.xanchor == toward  # "right": anchored at its right end, the text extends to the left


def test_overlap_lines_of_a_large_pool_are_thinned_on_the_log_axis_with_exact_values():
    from scoring.compare import overlap_curve

    rng = np.random.default_rng(1)
    rank_a, rank_b = rng.permutation(100_000), rng.permutation(100_000)
    k, overlap, jaccard = overlap_curve(rank_a, rank_b)
    figure = charts.overlap_lines(k, overlap, jaccard, 100)
    shares, jaccards = figure.data[0], figure.data[1]
    shown = np.asarray(shares.x)
    assert len(shown) < 2_000
    assert (shown[0], shown[-1]) == (1, 100_000)
    assert np.array_equal(shown[:1000], np.arange(1, 1001))  # every k up to 1,000
    assert np.allclose(shares.y, overlap[shown - 1] / shown)
    assert np.allclose(jaccards.y, jaccard[shown - 1])
    assert figure.layout.xaxis.range[1] == pytest.approx(5.0)  # the axis ends at k = 100,000 (log10)
    small = charts.overlap_lines(*overlap_curve(rng.permutation(50), rng.permutation(50)), 5)
    assert len(small.data[0].x) == 50  # a small pool: every k
    assert small.layout.xaxis.range[1] == pytest.approx(np.log10(50))


def test_length_charts_mark_the_targets_median_inside_the_axis_and_label_round_lengths():
    # On a log axis plotly places a shape at its x but an annotation at 10**x (plotly.py#2580): the label of a
    # line at 300 characters once stretched the axis to 1e300 and squashed every point into one column.
    frame = results_frame(500, 50)
    figure = charts.length_scatter(frame, "zipfit", 50, np.array([200, 300, 400]))
    (line,) = figure.layout.shapes
    (label,) = figure.layout.annotations
    assert line.x0 == line.x1 == 300
    assert np.isclose(label.x, np.log10(300))
    assert label.text == "targets' median length 300"
    for chart in (figure, charts.length_boxes({"pool": frame["length"].to_numpy()})):
        assert chart.layout.xaxis.type == "log"
        assert {100, 200, 500, 1000} <= set(chart.layout.xaxis.tickvals)


@pytest.mark.parametrize(("low", "high"), [(212, 327), (50, 60), (900, 1300), (40, 130), (3, 9)])
def test_length_axes_label_at_least_three_lengths_of_a_narrow_range(low, high):
    frame = results_frame(200, 20)
    frame["length"] = np.linspace(low, high, len(frame)).round().astype(int)
    target_lengths = np.array([low, high])
    figures = [
        charts.length_scatter(frame, "zipfit", 20, target_lengths),
        charts.length_boxes({"pool": frame["length"].to_numpy(), "targets": target_lengths}),
    ]
    for figure in figures:
        ticks = [t for t in figure.layout.xaxis.tickvals if low <= t <= high]
        assert 3 <= len(ticks) <= 8, figure.layout.xaxis.tickvals
        assert all(t % 10 ** int(np.log10(ticks[1] - ticks[0])) == 0 for t in ticks)  # round numbers


def test_decimals_never_shows_minus_zero_or_nan():
    assert charts.decimals(-0.0001) == "0.000"
    assert charts.decimals(0.52549) == "0.525"
    assert charts.decimals(float("nan")) == "undefined"  # Spearman of scores that are all equal
