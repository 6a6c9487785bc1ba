"""The sample data and its shipped cache: every sample text has its RDS+ embedding and map, and a random part
recomputed with the real model matches what is shipped."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

import scoring.mapping
import scoring.models
from scoring.cache import Cache, open_cache
from scoring.hashing import text_keys
from scoring.loading import load_dataset
from scoring.mapping import MapParams, cached_umap_2d
from scoring.pipeline import RdsParams, embed_texts, embedding_id

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
POOL = load_dataset(SAMPLE / "pool.jsonl").texts
TARGET_SETS = {
    name: load_dataset(SAMPLE / name).texts for name in ("targets_humaneval.jsonl", "targets_translation.jsonl")
}


@pytest.fixture
def no_model_loading(monkeypatch):
    """Fail if anything tries to load a model or lay out a map: all of it must come from the shipped cache."""

    def refuse(*args, **kwargs):
        raise AssertionError("the shipped sample cache is missing an entry")

    monkeypatch.setattr(scoring.models, "load_encoder", refuse)
    monkeypatch.setattr(scoring.mapping, "umap_2d", refuse)


def test_records_are_well_formed():
    lines = (SAMPLE / "pool.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert len(records) == len(POOL) == 2933
    assert len({r["id"] for r in records}) == len(records)
    assert all(r["text"] and r["source"] and r["license"] for r in records)
    assert len(TARGET_SETS["targets_humaneval.jsonl"]) == 164
    assert len(TARGET_SETS["targets_translation.jsonl"]) == 100


def test_every_sample_text_has_a_shipped_embedding_and_map(tmp_path, no_model_loading):
    cache = open_cache(tmp_path)
    params = RdsParams()
    for targets in TARGET_SETS.values():
        vectors = embed_texts(POOL + targets, params, cache=cache)
        assert vectors.shape == (len(POOL) + len(targets), 576)
        xy = cached_umap_2d(text_keys(POOL + targets), vectors, embedding_id(params, cache), MapParams(), cache=cache)
        assert np.isfinite(xy).all()
    assert not any(tmp_path.rglob("*.npy"))  # nothing had to be computed and stored


def test_a_random_part_recomputed_matches_the_shipped_embeddings(tmp_path):
    rng = random.Random(20261121)
    texts = rng.sample(POOL, 4) + rng.sample(TARGET_SETS["targets_translation.jsonl"], 2)
    shipped = embed_texts(texts, RdsParams(), cache=open_cache(tmp_path))
    fresh = embed_texts(texts, RdsParams(), cache=Cache(None))  # no cache: computed by the model now
    np.testing.assert_allclose(fresh, shipped, rtol=0, atol=1e-4)
