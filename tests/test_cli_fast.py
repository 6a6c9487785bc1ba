"""`score --zipfit-mode fast`: the approximation is labelled as such, and refused where it does not apply."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq

from scoring.cli import main
from scoring.loading import load_dataset
from scoring.pipeline import run_zipfit, run_zipfit_fast


def test_fast_mode_is_labelled_an_approximation(write_jsonl, tmp_path, capsys):
    pool = write_jsonl("pool.jsonl", [{"text": t} for t in load_dataset("sample_data/pool.jsonl").texts[:300]])
    out = tmp_path / "fast.parquet"
    args = ["score", "--pool", str(pool), "--targets", "sample_data/targets_translation.jsonl", "--method", "zipfit"]
    assert main([*args, "--zipfit-mode", "fast", "--no-cache", "--out", str(out)]) == 0
    table = pq.read_table(out)
    meta = json.loads(table.schema.metadata[b"scoring"])["zipfit"]
    assert meta["mode"] == "fast"
    assert "estimates" in meta["approximation"]
    assert (
        main([*args, "--zipfit-mode", "fast", "--compressor", "lz4", "--level", "3", "--no-cache", "--out", str(out)])
        == 2
    )
    assert "fast works with gzip only" in capsys.readouterr().err


def test_fast_mode_reuses_the_size_cache_and_falls_back_to_exact_on_small_inputs(tmp_path):
    from scoring.cache import Cache

    pool, targets = ["def f(): pass", "Bonjour", "x = 1"], ["def g(): return 1", "print(2)"]
    cache = Cache(tmp_path / "cache")
    exact = run_zipfit(pool, targets, cache=cache)
    fast = run_zipfit_fast(pool, targets, cache=cache)  # 3×2 pairs: too small to approximate, so exact
    np.testing.assert_allclose(fast.score, exact.score, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(fast.nearest_target, exact.nearest_target)


def test_fast_mode_says_when_it_computed_every_pair(write_jsonl, tmp_path):
    """50 texts × 10 targets: estimating would not save half of the pairs, so every pair is compressed and the
    scores equal exact ones; the metadata said "estimates" all the same."""
    texts = load_dataset("sample_data/pool.jsonl").texts
    pool = write_jsonl("pool.jsonl", [{"text": t} for t in texts[:50]])
    targets = write_jsonl("targets.jsonl", [{"text": t} for t in texts[-10:]])
    out = {mode: tmp_path / f"{mode}.parquet" for mode in ("exact", "fast")}
    for mode, path in out.items():
        args = ["score", "--pool", str(pool), "--targets", str(targets), "--method", "zipfit", "--zipfit-mode", mode]
        assert main([*args, "--no-cache", "--out", str(path)]) == 0
    tables = {mode: pq.read_table(path) for mode, path in out.items()}
    np.testing.assert_allclose(tables["fast"]["zipfit_score"], tables["exact"]["zipfit_score"], rtol=0, atol=1e-12)
    meta = json.loads(tables["fast"].schema.metadata[b"scoring"])["zipfit"]
    assert meta["mode"] == "fast"
    assert meta["approximation"].startswith("none: fast mode compressed every pair here")
