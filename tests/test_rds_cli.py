"""`python -m scoring score --method rds|all` and `embed`, end to end in-process with the fake model.

The real bundled models run through the command line in a fresh process in test_embedding_real.py.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from scoring.cli import main
from scoring.pipeline import RdsParams, ZipfitParams, embed_texts, run_rds, run_zipfit
from scoring.ranking import ranks_descending
from tests.fakes import use_fake_model

POOL = [
    {"text": "def add a b return a plus b", "source": "code"},
    {"text": "bonjour tout le monde", "source": "fr"},
    {"text": "", "source": "empty"},
    {"text": "def mul a b return a times b", "source": "code"},
    {"text": "guten tag welt", "source": "de"},
]
TARGETS = [
    {"text": "def sub a b return a minus b", "task": "code"},
    {"text": "bonjour le monde", "task": "chat"},
    {"text": "tag welt", "task": "chat"},
]
POOL_TEXTS, TARGET_TEXTS = [r["text"] for r in POOL], [r["text"] for r in TARGETS]


@pytest.fixture
def fake(monkeypatch):
    return use_fake_model(monkeypatch)


@pytest.fixture
def files(write_jsonl, tmp_path):
    return {"pool": write_jsonl("pool.jsonl", POOL), "targets": write_jsonl("targets.jsonl", TARGETS), "dir": tmp_path}


def score(files, method: str, *extra: str) -> int:
    return main(
        [
            "score",
            "--pool",
            str(files["pool"]),
            "--targets",
            str(files["targets"]),
            "--method",
            method,
            "--out",
            str(files["dir"] / "out.parquet"),
            "--model",
            "fake",
            *extra,
        ]
    )


def output(files):
    return pq.read_table(files["dir"] / "out.parquet")


def test_rds_columns_and_values(fake, files):
    assert score(files, "rds", "--k", "2") == 0
    table = output(files)
    assert table.column_names == [
        "pool_index",
        "text",
        "source",
        "rds_score",
        "rds_rank",
        "rds_nearest_target",
        "rds_selected",
    ]
    expected = run_rds(POOL_TEXTS, TARGET_TEXTS, RdsParams(model="fake"))
    np.testing.assert_array_equal(table.column("rds_score").to_numpy(), expected.score)
    assert table.column("rds_rank").to_pylist() == expected.rank.tolist()
    assert table.column("rds_nearest_target").to_pylist() == expected.nearest_target.tolist()
    assert table.column("rds_selected").to_pylist() == (expected.rank < 2).tolist()
    assert sorted(table.column("rds_rank").to_pylist()) == [0, 1, 2, 3, 4]


def test_all_runs_both_methods_and_records_the_settings(fake, files):
    assert score(files, "all", "--k", "1", "--selection", "mean", "--max-length", "100", "--batch-size", "2") == 0
    table = output(files)
    for method in ("zipfit", "rds"):
        assert {f"{method}_score", f"{method}_rank", f"{method}_nearest_target", f"{method}_selected"} <= set(
            table.column_names
        )
    zipfit = run_zipfit(POOL_TEXTS, TARGET_TEXTS, ZipfitParams())
    np.testing.assert_array_equal(table.column("zipfit_score").to_numpy(), zipfit.score)
    rds_score = table.column("rds_score").to_numpy()
    mean = embed_texts(TARGET_TEXTS, RdsParams(model="fake")) @ embed_texts(POOL_TEXTS, RdsParams(model="fake")).T
    assert table.column("rds_rank").to_pylist() == ranks_descending(mean.mean(axis=0)).tolist()
    np.testing.assert_allclose(rds_score, mean.max(axis=0), atol=1e-6)
    meta = json.loads(table.schema.metadata[b"scoring"])["rds"]
    assert meta["model_name"] == "fake"
    assert meta["model"] == {"fake": "fake", "version": fake.version}
    assert (meta["selection"], meta["max_length"], meta["pooling"]) == ("mean", 100, "position-weighted-mean")


def test_task_field_round_robins_across_tasks(fake, files):
    assert score(files, "rds", "--task-field", "task") == 0
    expected = run_rds(POOL_TEXTS, TARGET_TEXTS, RdsParams(model="fake"), task_ids=["code", "chat", "chat"])
    assert output(files).column("rds_rank").to_pylist() == expected.rank.tolist()
    assert json.loads(output(files).schema.metadata[b"scoring"])["rds"]["task_field"] == "task"


def test_second_run_uses_the_cache(fake, files):
    assert score(files, "rds") == 0
    seen = fake.texts_seen
    assert score(files, "rds", "--selection", "max", "--k", "3") == 0
    assert fake.texts_seen == seen


@pytest.mark.parametrize("suffix", [".npy", ".parquet"])
def test_embed_writes_the_embeddings(fake, files, suffix):
    out = files["dir"] / f"vectors{suffix}"
    assert main(["embed", "--input", str(files["pool"]), "--out", str(out), "--model", "fake"]) == 0
    expected = embed_texts(POOL_TEXTS, RdsParams(model="fake"))
    if suffix == ".npy":
        vectors = np.load(out, allow_pickle=False)
    else:
        table = pq.read_table(out)
        assert table.column_names == ["index", "text_sha256", "embedding"]
        assert (
            table.column("text_sha256").to_pylist()[2]
            == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
        vectors = np.stack(table.column("embedding").to_numpy(zero_copy_only=False))
        assert json.loads(table.schema.metadata[b"scoring"])["rds"]["model"]["fake"] == "fake"
    np.testing.assert_array_equal(vectors, expected)
    assert vectors.dtype == np.float32


def test_embed_writes_every_text_sha256_whole(fake, write_jsonl, tmp_path):
    """sha256 of "text 405" ends in a zero byte, which NumPy drops from an S32 value: it came out 62 digits long."""
    texts = ["text 405", "text 1092", "a"]
    pool, out = write_jsonl("pool.jsonl", [{"text": t} for t in texts]), tmp_path / "vectors.parquet"
    assert main(["embed", "--input", str(pool), "--out", str(out), "--model", "fake"]) == 0
    expected = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
    assert pq.read_table(out).column("text_sha256").to_pylist() == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "nosuch"], "error: --model: 'nosuch' is not a bundled model"),
        (["--max-length", "0"], "error: --max-length: 0 is not a positive number of tokens"),
        (["--max-length", "2000"], "error: --max-length: 2000 is more than fake reads; use at most 1024"),
        (["--batch-size", "0"], "error: --batch-size: 0 is not a positive number of texts"),
        (["--task-field", "nope"], "has no field 'nope' for --task-field; fields found: text, task; name one of them"),
    ],
)
def test_bad_rds_options_are_one_line_errors(fake, files, capsys, args, message):
    assert score(files, "rds", *args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("error") == 1
    assert not (files["dir"] / "out.parquet").exists()


def test_unknown_selection_is_a_usage_error(fake, files, capsys):
    with pytest.raises(SystemExit) as exit_:
        score(files, "rds", "--selection", "min")
    assert exit_.value.code == 2
    assert "argument --selection: invalid choice: 'min'" in capsys.readouterr().err


def test_task_field_needs_a_name_in_every_target(fake, files, write_jsonl, capsys):
    write_jsonl("targets.jsonl", [{"text": "a", "task": "x"}, {"text": "b", "task": None}])
    assert score(files, "rds", "--task-field", "task") == 2
    expected = "targets.jsonl:2: this record has null in field 'task', not a task name (text or a whole number)"
    assert expected in capsys.readouterr().err


def test_a_missing_task_field_is_refused_before_zipfit_runs(fake, files, tmp_path, capsys):
    cache = tmp_path / "cache"
    assert score(files, "all", "--task-field", "nope", "--cache-dir", str(cache)) == 2
    assert "has no field 'nope' for --task-field" in capsys.readouterr().err
    assert not list(cache.rglob("zipfit-*"))  # no ZIP-FIT work was done (or cached) first
    assert score(files, "all", "--cache-dir", str(cache)) == 0
    assert list(cache.rglob("zipfit-*"))  # where a run that gets that far leaves it


def test_embed_refuses_other_output_types(fake, files, capsys):
    assert main(["embed", "--input", str(files["pool"]), "--out", str(files["dir"] / "v.csv"), "--model", "fake"]) == 2
    assert "--out: " in capsys.readouterr().err
