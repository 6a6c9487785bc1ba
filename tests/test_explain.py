"""Why a text was picked: the per-target values agree exactly with what the methods computed for it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scoring.cache import Cache
from scoring.explain import rds_similarities, zipfit_distances
from scoring.loading import load_dataset
from scoring.pipeline import RdsParams, ZipfitParams, run_rds, run_zipfit
from tests.fakes import use_fake_model

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"


def test_zipfit_distances_give_the_score_and_nearest_target_of_the_run():
    pool = load_dataset(SAMPLE / "pool.jsonl").texts[:40]
    targets = load_dataset(SAMPLE / "targets_humaneval.jsonl").texts[:9]
    params = ZipfitParams(level=6)
    result = run_zipfit(pool, targets, params, cache=Cache(None))
    for i, text in enumerate(pool):
        distances = zipfit_distances(text, targets, params)
        assert 1.0 - distances.mean() == result.score[i]
        assert distances.argmin() == result.nearest_target[i]


def test_rds_similarities_give_the_score_and_nearest_target_of_the_run_bit_for_bit(monkeypatch, tmp_path):
    use_fake_model(monkeypatch, dim=384)
    rng = np.random.default_rng(3)
    words = [f"w{i}" for i in range(60)]
    pool = [" ".join(rng.choice(words, size=rng.integers(3, 30))) for _ in range(200)]
    targets = [" ".join(rng.choice(words, size=rng.integers(3, 30))) for _ in range(7)]
    params = RdsParams(model="fake", selection="max")
    cache = Cache(tmp_path / "cache")
    result = run_rds(pool, targets, params, cache=cache)
    for i, text in enumerate(pool):
        similarities = rds_similarities(text, targets, params, cache=cache)
        assert similarities.max() == np.float32(result.score[i]), i  # scores are float32 cosines, widened
        assert similarities.argmax() == result.nearest_target[i], i
