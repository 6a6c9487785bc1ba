"""UMAP maps: separated clusters stay separated (fitted and transformed points), cache, tiny inputs."""

from __future__ import annotations

import numpy as np
import pytest

import scoring.mapping
from scoring.cache import Cache
from scoring.hashing import text_keys
from scoring.mapping import MapParams, cached_umap_2d, umap_2d


def two_clusters(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    centres = rng.normal(size=(2, 96)) * 4
    return centres[labels] + rng.normal(size=(n, 96)), labels


def neighbour_agreement(xy: np.ndarray, labels: np.ndarray) -> float:
    distances = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(distances, np.inf)
    return float((labels[distances.argmin(1)] == labels).mean())


@pytest.fixture(scope="module")
def clusters():
    return two_clusters(300)


def test_clusters_stay_apart_including_transformed_points(clusters):
    vectors, labels = clusters
    xy = umap_2d(vectors, MapParams(fit_sample=200, transform_batch=50))
    assert xy.shape == (300, 2)
    assert xy.dtype == np.float32
    assert np.isfinite(xy).all()
    assert neighbour_agreement(xy, labels) > 0.95


def test_cached_map_is_computed_once_and_keeps_each_row(clusters, tmp_path, monkeypatch):
    vectors, _ = clusters
    texts = [f"text {i}" for i in range(len(vectors))]
    texts[150], vectors = texts[0], vectors.copy()  # a text listed twice (e.g. a target also in the pool)
    vectors[150] = vectors[0]
    keys = text_keys(texts)

    def make_map() -> tuple[np.ndarray, list[tuple[int, int]]]:
        reports = []
        xy = cached_umap_2d(
            keys, vectors, "fake-embedder", cache=Cache(tmp_path), on_progress=lambda *r: reports.append(r)
        )
        return xy, reports

    first, reports = make_map()
    assert not np.array_equal(first[0], first[150])  # two points, which the cache must keep apart
    calls = []
    monkeypatch.setattr(scoring.mapping, "umap_2d", lambda *a, **k: calls.append(1))
    again, again_reports = make_map()
    assert calls == []
    np.testing.assert_array_equal(first, again)
    # The first report says what was done before: nothing when the map is made, all of it when it is cached
    # (it came after the fit, so a fresh map's bar said "all of it was in the cache").
    assert reports[0] == (0, 300)
    assert reports[-1] == (300, 300)
    assert again_reports == [(300, 300)]


def test_tiny_inputs():
    assert umap_2d(np.ones((1, 8))).shape == (1, 2)
    assert umap_2d(np.random.default_rng(0).normal(size=(3, 8))).shape == (3, 2)
