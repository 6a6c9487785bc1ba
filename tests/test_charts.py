"""The dashboard's charts: user text in hover labels is escaped, and a large pool's chart stays a few MB."""

from __future__ import annotations

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
