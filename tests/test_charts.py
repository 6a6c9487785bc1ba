"""The dashboard's charts: user text in hover labels is escaped, and a large pool's chart stays a few MB."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from dashboard import charts
from scoring.compare import BOTH, NEITHER


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


def test_snippets_shrink_for_large_pools_so_the_chart_stays_small():
    long_text = "word " * 200
    small = charts.embedding_map(*reorder(map_frame(1_000, long_text)))
    large = charts.embedding_map(*reorder(map_frame(100_000, long_text)))

    def longest(figure) -> int:
        return max(len(t.replace("<br>", "")) for t in snippets(figure)[:-1])  # the last one is the target's

    assert longest(small) >= 200
    assert longest(large) <= 60  # the ellipsis included
    assert len(large.to_json()) < 15e6


def test_the_results_frame_carries_escaped_snippets_that_a_pool_column_cannot_replace():
    """dashboard.work builds each hover snippet once per frame; a pool field named like that column loses."""
    from dashboard import work
    from dashboard.inputs import Inputs, Loaded
    from scoring.loading import parse_dataset
    from scoring.pipeline import RdsParams, ZipfitParams

    rows = [{"text": f"<b>text {i}</b>", charts.HOVER_COLUMN: ["<i>a</i>", "<i>b</i>"][i % 2]} for i in range(6)]
    data = "".join(json.dumps(row) + "\n" for row in rows)
    pool = Loaded(parse_dataset(data.encode(), name="pool.jsonl"), np.zeros(6), "digest-of-the-test-pool", "test")
    inputs = Inputs(pool, pool, None, None, 2, ZipfitParams(), "exact", RdsParams())
    frame = work._frame(pool.digest, None, None, 2, inputs, None, None)

    assert frame[charts.HOVER_COLUMN].tolist() == [f"&lt;b&gt;text {i}&lt;/b&gt;" for i in range(6)]
    points, targets = map_frame(6, "unused")
    figure = charts.embedding_map(
        points.assign(**{charts.HOVER_COLUMN: frame[charts.HOVER_COLUMN]}), "agreement", targets
    )
    assert sorted(snippets(figure)[:-1]) == sorted(frame[charts.HOVER_COLUMN])  # the frame's, not made again


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
    small = charts.overlap_lines(*overlap_curve(rng.permutation(50), rng.permutation(50)), 5)
    assert len(small.data[0].x) == 50  # a small pool: every k
