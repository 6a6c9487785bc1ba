"""`python -m scoring` end to end: exit codes, one-line errors, output schema, untouched output on failure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from scoring import cli
from scoring.cli import main
from scoring.pipeline import run_zipfit

ROOT = Path(__file__).resolve().parent.parent
POOL = [
    {"text": "def add(a, b):\n    return a + b\n", "source": "code", "meta": {"n": 1}},
    {"text": "Bonjour tout le monde", "source": "fr", "meta": {"n": 2}},
    {"text": '=HYPERLINK("http://example.com")', "source": "csv-trap", "meta": {"n": 3}},
    {"text": "def mul(a, b):\n    return a * b\n", "source": "code", "meta": {"n": 4}},
]
TARGETS = [{"text": "def sub(a, b):\n    return a - b\n"}, {"text": "def div(a, b):\n    return a / b\n"}]


@pytest.fixture
def files(write_jsonl, tmp_path):
    return {"pool": write_jsonl("pool.jsonl", POOL), "targets": write_jsonl("targets.jsonl", TARGETS), "dir": tmp_path}


def score_args(files, *extra: str) -> list[str]:
    out = files["dir"] / "out.parquet"
    return [
        "score",
        "--pool",
        str(files["pool"]),
        "--targets",
        str(files["targets"]),
        "--method",
        "zipfit",
        "--out",
        str(out),
        *extra,
    ]


def run_cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scoring", *args], cwd=ROOT, capture_output=True, text=True)


def test_score_writes_the_documented_columns_in_input_order(files):
    assert main(score_args(files, "--k", "2")) == 0
    table = pq.read_table(files["dir"] / "out.parquet")
    assert table.column_names == [
        "pool_index",
        "text",
        "source",
        "meta",
        "zipfit_score",
        "zipfit_rank",
        "zipfit_nearest_target",
        "zipfit_selected",
    ]
    rows = table.to_pylist()
    assert [r["pool_index"] for r in rows] == [0, 1, 2, 3]
    assert [r["text"] for r in rows] == [r["text"] for r in POOL]
    assert rows[0]["meta"] == {"n": 1}
    expected = run_zipfit([r["text"] for r in POOL], [t["text"] for t in TARGETS])
    np.testing.assert_allclose(table.column("zipfit_score").to_numpy(), expected.score, rtol=0, atol=1e-12)
    ranks = table.column("zipfit_rank").to_numpy()
    assert sorted(ranks.tolist()) == [0, 1, 2, 3]
    assert table.column("zipfit_selected").to_pylist() == (ranks < 2).tolist()
    scores = table.column("zipfit_score").to_numpy()
    assert scores[ranks.argmin()] == scores.max()


def test_metadata_records_parameters_and_inputs(files):
    main(score_args(files, "--level", "6"))
    meta = json.loads(pq.read_schema(files["dir"] / "out.parquet").metadata[b"scoring"])
    assert meta["zipfit"] == {"compressor": "gzip", "level": 6, "mode": "exact"}
    assert meta["pool"]["records"] == 4
    assert len(meta["targets"]["texts_sha256"]) == 64


def test_text_from_another_field_keeps_the_original_text_column(write_jsonl, tmp_path):
    pool = write_jsonl("p.jsonl", [{"body": "abc", "text": "other"}])
    targets = write_jsonl("t.jsonl", [{"body": "abd"}])
    out = tmp_path / "o.parquet"
    args = ["score", "--pool", str(pool), "--targets", str(targets), "--method", "zipfit", "--out", str(out)]
    assert main([*args, "--text-field", "body"]) == 0
    row = pq.read_table(out).to_pylist()[0]
    assert (row["text"], row["body"], row["original_text"]) == ("abc", "abc", "other")


def test_targets_may_hold_their_text_in_another_field_than_the_pool(write_jsonl, tmp_path):
    """--text-field names the field in both files: a pool's `body` with targets' `prompt` could not be scored."""
    pool = write_jsonl("p.jsonl", [{"body": "def f(): pass", "text": "other"}, {"body": "Bonjour"}])
    targets = write_jsonl("t.jsonl", [{"prompt": "def g(): pass", "body": 3}])
    out = tmp_path / "o.parquet"
    args = ["score", "--pool", str(pool), "--targets", str(targets), "--method", "zipfit", "--out", str(out)]
    assert main([*args, "--text-field", "body", "--targets-text-field", "prompt"]) == 0
    expected = run_zipfit(["def f(): pass", "Bonjour"], ["def g(): pass"]).score
    np.testing.assert_array_equal(pq.read_table(out).column("zipfit_score").to_numpy(), expected)


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_select_writes_chosen_records_with_original_columns(files, suffix):
    main(score_args(files, "--k", "2"))
    out = files["dir"] / f"chosen{suffix}"
    assert main(["select", "--scores", str(files["dir"] / "out.parquet"), "--method", "zipfit", "--out", str(out)]) == 0
    table = pq.read_table(files["dir"] / "out.parquet").to_pylist()
    chosen = [POOL[r["pool_index"]] for r in table if r["zipfit_rank"] < 2]
    if suffix == ".jsonl":
        assert [json.loads(line) for line in out.read_text().splitlines()] == chosen
    elif suffix == ".parquet":
        assert pq.read_table(out).to_pylist() == chosen
    else:
        rows = pacsv.read_csv(out).to_pylist()
        assert [r["text"].lstrip("'") for r in rows] == [c["text"] for c in chosen]


def test_csv_export_neutralises_formulas(files):
    main(score_args(files))
    out = files["dir"] / "all.csv"
    main(["select", "--scores", str(files["dir"] / "out.parquet"), "--method", "zipfit", "--k", "4", "--out", str(out)])
    assert "'=HYPERLINK" in out.read_text()


def test_select_refuses_a_scores_file_with_other_ranks_or_metadata(files):
    assert main(score_args(files, "--k", "2")) == 0
    table = pq.read_table(files["dir"] / "out.parquet")
    at = table.column_names.index("zipfit_rank")
    tampered = {
        "text-ranks.parquet": table.set_column(at, "zipfit_rank", pa.array(["x"] * table.num_rows)),
        "null-ranks.parquet": table.set_column(at, "zipfit_rank", pa.array([None] * table.num_rows, pa.int64())),
        "bad-metadata.parquet": table.replace_schema_metadata({b"scoring": b"{not json"}),
    }
    out = str(files["dir"] / "chosen.jsonl")
    for name, changed in tampered.items():
        pq.write_table(changed, files["dir"] / name)
        result = run_cli(["select", "--scores", str(files["dir"] / name), "--method", "zipfit", "--out", out])
        expected = "has metadata that `score` did not write" if "metadata" in name else "its zipfit_rank column is not"
        assert_one_line_error(result, f"{name}: {expected}", "rerun `score`")
    metadata = json.loads(table.schema.metadata[b"scoring"])
    for change, problem in [
        ({"k": "2"}, "k is '2', not a whole number of records"),
        ({"absent_fields": {"meta": "no base64!"}}, "absent_fields of 'meta' is not base64"),
        ({"original_columns": {"source": 3}}, "original_columns is not an object of column names"),
        ({"json_columns": "meta"}, "json_columns is not a list of column names"),
    ]:
        edited = table.replace_schema_metadata({b"scoring": json.dumps({**metadata, **change}).encode()})
        pq.write_table(edited, files["dir"] / "edited.parquet")
        result = run_cli(
            ["select", "--scores", str(files["dir"] / "edited.parquet"), "--method", "zipfit", "--out", out]
        )
        assert_one_line_error(result, f"edited.parquet: has metadata that `score` did not write ({problem})")


def test_select_writes_the_records_without_columns_dropped_from_the_scores_file(files):
    assert main(score_args(files, "--k", "2")) == 0
    table = pq.read_table(files["dir"] / "out.parquet")
    pq.write_table(table.drop(["source"]), files["dir"] / "dropped.parquet")  # pyarrow keeps the metadata
    out = files["dir"] / "chosen.jsonl"
    result = run_cli(
        ["select", "--scores", str(files["dir"] / "dropped.parquet"), "--method", "zipfit", "--out", str(out)]
    )
    assert result.returncode == 0, result.stderr
    assert "the column(s) 'source' that `score` wrote are gone; the records are written without them" in result.stderr
    chosen = [json.loads(line) for line in out.read_text().splitlines()]
    by_rank = [POOL[i] for i in np.argsort(table.column("zipfit_rank").to_numpy())[:2]]
    assert sorted(chosen, key=str) == sorted(({k: v for k, v in r.items() if k != "source"} for r in by_rank), key=str)


def test_a_scores_file_scored_again_keeps_its_old_method_columns_as_original_ones(files):
    """Its old rds_rank kept its name: `select --method rds` took the stale ranks without a word."""
    stale = files["dir"] / "old-scores.parquet"
    pq.write_table(pa.table({"text": [r["text"] for r in POOL], "rds_rank": range(len(POOL))}), stale)
    args = score_args(files, "--k", "1")
    args[args.index("--pool") + 1] = str(stale)
    assert main(args) == 0
    table = pq.read_table(files["dir"] / "out.parquet")
    assert table.column("original_rds_rank").to_pylist() == list(range(len(POOL)))
    assert "rds_rank" not in table.column_names
    result = run_cli(["select", "--scores", str(files["dir"] / "out.parquet"), "--method", "rds", "--out", "x.jsonl"])
    assert_one_line_error(result, "has no rds_rank column; score it with --method rds")


def test_text_from_the_data_in_an_error_is_escaped_on_one_line(files, tmp_path):
    """A field name with a newline broke the error line; one with an escape sequence reached the terminal."""
    pool = tmp_path / "fields.jsonl"
    pool.write_text(json.dumps({"fo\no": "a", "\x1b[31mred": "b"}) + "\n")
    args = score_args(files)
    args[args.index("--pool") + 1] = str(pool)
    result = run_cli(args)
    assert_one_line_error(result, "fields found: fo\\no, \\x1b[31mred")
    assert "\x1b" not in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_rds_options_in_a_zipfit_run_get_a_warning(files):
    """They were taken without a word: an unknown --model or --max-length 0 looked accepted."""
    result = run_cli(score_args(files, "--model", "no-such-model", "--max-length", "0", "--selection", "max"))
    assert result.returncode == 0, result.stderr
    assert "warning: --model, --max-length, --selection: for RDS+ only; --method zipfit ignores them" in result.stderr
    result = run_cli(score_args(files, "--model", "minilm"))
    assert "warning: --model: for RDS+ only; --method zipfit ignores it" in result.stderr


def test_a_bad_checkpoint_setting_is_refused_even_when_everything_is_cached(files):
    assert main(score_args(files)) == 0
    result = subprocess.run(
        [sys.executable, "-m", "scoring", *score_args(files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "SCORING_CHECKPOINT_SECONDS": "abc"},
    )
    assert_one_line_error(result, "SCORING_CHECKPOINT_SECONDS: 'abc' is not a number of seconds")


def test_select_says_a_selection_is_not_a_scores_file(files):
    """A `select` output given back to `select` said "--k: is needed", then "has no zipfit_rank column"."""
    assert main(score_args(files, "--k", "2")) == 0
    chosen = files["dir"] / "chosen.parquet"
    scores = str(files["dir"] / "out.parquet")
    assert main(["select", "--scores", scores, "--method", "zipfit", "--out", str(chosen)]) == 0
    again = str(files["dir"] / "again.jsonl")
    result = run_cli(["select", "--scores", str(chosen), "--method", "zipfit", "--out", again])
    assert_one_line_error(result, "chosen.parquet: is not a scores file", "written by `score --out`")
    result = run_cli(["select", "--scores", str(files["pool"]), "--method", "zipfit", "--out", again])
    assert_one_line_error(result, "pool.jsonl: is not a Parquet file; give the Parquet file written by `score --out`")


def test_select_needs_k_when_scored_without(files, capsys):
    main(score_args(files))
    out = files["dir"] / "x.jsonl"
    assert main(["select", "--scores", str(files["dir"] / "out.parquet"), "--method", "zipfit", "--out", str(out)]) == 2
    assert "--k: needed, as this scores file was written without --k; give --k K" in capsys.readouterr().err
    assert not out.exists()


def test_a_record_lacking_the_text_field_gets_no_targets_text_field_hint(files, write_jsonl):
    args = score_args(files, "--text-field", "body")
    args[args.index("--pool") + 1] = str(write_jsonl("bodies.jsonl", [{"body": r["text"]} for r in POOL]))
    args[args.index("--targets") + 1] = str(write_jsonl("mixed.jsonl", [{"body": "a"}, {"other": "b"}]))
    result = run_cli(args)
    assert_one_line_error(result, "mixed.jsonl:2: this record has no field 'body' (other records have it)")
    assert "--targets-text-field" not in result.stderr


def test_a_text_field_the_targets_lack_points_to_targets_text_field(files, write_jsonl):
    args = score_args(files, "--text-field", "body")
    args[args.index("--pool") + 1] = str(write_jsonl("bodies.jsonl", [{"body": r["text"]} for r in POOL]))
    result = run_cli(args)
    assert_one_line_error(result, "targets.jsonl: has no field 'body'; fields found: text", "with --targets-text-field")


# --- failures: status 2, one line, no traceback, output untouched -------------------------------------------


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"pool": "missing.jsonl"}, ["missing.jsonl: no such file"]),
        ({"pool_bytes": b'{"text": "a"}\n{"text": \n'}, ["pool.jsonl:2: is not valid JSON"]),
        ({"pool_bytes": b"\xff\xfe\x00\x01"}, ["UTF-16"]),
        ({"pool_bytes": b""}, ["pool.jsonl: is empty"]),
        ({"targets_bytes": b'{"body": "x"}\n'}, ["targets.jsonl: has no text field", "fields found: body"]),
        ({"extra": ["--level", "0"]}, ["--level: 0 stores the text without compressing"]),
        ({"extra": ["--level", "42"]}, ["--level: 42 is out of range for gzip; use 1-9"]),
        ({"extra": ["--k", "-3"]}, ["--k: -3 is not a positive number of records; use 1 or more"]),
        ({"extra": ["--k", "99"]}, ["--k: 99 is larger than the pool (4 records)"]),
        ({"extra": ["--level", "nine"]}, ["invalid int value: 'nine'"]),
        ({"extra": ["--compressor", "brotli"]}, ["invalid choice: 'brotli'"]),
        ({"extra": ["--workers", "0"]}, ["--workers: 0 is not a positive number"]),
    ],
)
def test_bad_input_leaves_existing_output_untouched(files, change, fragments):
    out = files["dir"] / "out.parquet"
    out.write_bytes(b"previous results")
    if "pool_bytes" in change:
        files["pool"].write_bytes(change["pool_bytes"])
    if "targets_bytes" in change:
        files["targets"].write_bytes(change["targets_bytes"])
    args = score_args(files, *change.get("extra", []))
    if "pool" in change:
        args[args.index("--pool") + 1] = change["pool"]
    assert_one_line_error(run_cli(args), *fragments)
    assert out.read_bytes() == b"previous results"
    assert sorted(p.name for p in files["dir"].iterdir() if p.name.startswith(".")) == []


def test_an_error_after_reading_a_parquet_pool_exits_2_every_time(files, tmp_path):
    """pq.read_table's threads made a quarter of such runs abort at exit (status 134): 20 runs all pass by
    chance with probability 0.75**20 = 0.3%."""
    pool = tmp_path / "pool.parquet"
    pq.write_table(pa.table({"text": ["alpha text", "beta text", "gamma"]}), pool)
    args = [*score_args(files, "--k", "99", "--no-cache"), "--pool", str(pool)]
    for _ in range(20):
        assert_one_line_error(run_cli(args), "--k: 99 is larger than the pool (3 records)")


def test_wrong_output_suffix_is_refused_before_work(files):
    args = score_args(files)
    args[args.index("--out") + 1] = str(files["dir"] / "out.csv")
    assert_one_line_error(run_cli(args), "--out:", "must end with .parquet")
    args[args.index("--out") + 1] = str(files["dir"] / ".parquet")  # was: "'…/.parquet' must end with .parquet"
    assert_one_line_error(run_cli(args), "--out:", "has no name before .parquet; give one, e.g. results.parquet")


def run_cli_with_read_only(folder: Path, args: list[str]) -> subprocess.CompletedProcess:
    """The command line with `folder` really read-only: a read-only bind mount as root (root ignores file
    permissions; `unshare -m` keeps the mount private to this command), else the folder's permissions."""
    command = [sys.executable, "-m", "scoring", *args]
    if os.geteuid() == 0:
        script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
        command = ["unshare", "-m", "sh", "-c", script, str(folder), *command]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    folder.chmod(0o555)
    try:
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    finally:
        folder.chmod(0o755)


def test_read_only_output_or_cache_folder_is_refused_before_work(files, tmp_path):
    read_only = tmp_path / "read-only"
    read_only.mkdir()
    args = score_args(files)
    args[args.index("--out") + 1] = str(read_only / "out.parquet")
    assert_one_line_error(run_cli_with_read_only(read_only, args), "--out: folder", "is not writable")
    selected = ["select", "--scores", str(read_only / "x.parquet"), "--method", "zipfit", "--out"]
    result = run_cli_with_read_only(read_only, [*selected, str(read_only / "x.jsonl")])
    assert_one_line_error(result, "--out: folder", "is not writable")
    cache_args = score_args(files, "--cache-dir", str(read_only / "cache"))
    assert_one_line_error(run_cli_with_read_only(read_only, cache_args), "--cache-dir: cannot create the cache folder")
    (read_only / "cache").mkdir()
    result = run_cli_with_read_only(read_only, cache_args)
    assert_one_line_error(result, "--cache-dir: the cache folder", "is not writable", "or use --no-cache")
    assert not (files["dir"] / "out.parquet").exists()  # refused before any work


def test_a_cache_table_folder_that_cannot_be_written_is_a_warning_and_the_results_are_written(files, tmp_path):
    cache = tmp_path / "shared-cache"
    assert main(score_args(files, "--cache-dir", str(cache))) == 0
    (table,) = (cache / "v1" / "zipfit-alignment").iterdir()  # e.g. made by another user of a shared cache
    for shard in table.glob("*.npy"):
        shard.unlink()
    assert main(score_args(files, "--no-cache")) == 0
    expected = pq.read_table(files["dir"] / "out.parquet")
    (files["dir"] / "out.parquet").unlink()
    result = run_cli_with_read_only(table, score_args(files, "--cache-dir", str(cache)))
    assert result.returncode == 0, result.stderr  # was an internal error, and the run's work lost
    assert f"warning: the cache folder {table} cannot be written" in result.stderr
    assert pq.read_table(files["dir"] / "out.parquet").equals(expected)


def test_a_folder_that_refuses_new_files_is_refused_before_work(files):
    """/proc passes the permission check (as root) but creates no file: one line, not an internal error."""
    args = score_args(files)
    args[args.index("--out") + 1] = "/proc/out.parquet"
    assert_one_line_error(run_cli(args), "--out: folder '/proc' does not take new files", "write the results elsewhere")
    select = ["select", "--scores", str(files["dir"] / "none.parquet"), "--method", "zipfit", "--out", "/proc/x.jsonl"]
    assert_one_line_error(run_cli(select), "--out: folder '/proc' does not take new files")


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root (CI runs as root)")
def test_a_full_disk_is_a_one_line_error_that_says_what_to_do(files, tmp_path):
    full = tmp_path / "full"
    full.mkdir()
    assert main(score_args(files, "--k", "4", "--no-cache")) == 0
    scores = files["dir"] / "out.parquet"
    score = score_args(files, "--no-cache")  # its Parquet results: Arrow's error names no file
    score[score.index("--out") + 1] = str(full / "out.parquet")
    select = ["select", "--scores", str(scores), "--method", "zipfit", "--out", str(full / "chosen.jsonl")]
    script = 'mount -t tmpfs -o size=64k tmpfs "$0" && (cat /dev/zero > "$0/filler") 2>/dev/null; exec "$@"'
    for args in (score, select):
        command = ["unshare", "-m", "sh", "-c", script, str(full), sys.executable, "-m", "scoring", *args]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        assert_one_line_error(result, f"--out {full}", ": the disk is full", "free some space or write elsewhere")


def test_info_lines_count_in_the_singular_and_plural(files, write_jsonl):
    args = score_args(files, "--k", "1")
    args[args.index("--pool") + 1] = str(write_jsonl("one.jsonl", POOL[:1]))
    result = run_cli(args)
    assert "info: pool: 1 record from " in result.stderr
    assert "info: scored 1 record against 2 targets in " in result.stderr  # was "1 records"
    chosen = str(files["dir"] / "chosen.jsonl")
    result = run_cli(["select", "--scores", str(files["dir"] / "out.parquet"), "--method", "zipfit", "--out", chosen])
    assert "info: wrote 1 zipfit record to " in result.stderr


def test_a_cache_dir_with_no_cache_is_warned_about_and_not_created(files, tmp_path):
    result = run_cli(score_args(files, "--cache-dir", str(tmp_path / "c"), "--no-cache"))
    assert result.returncode == 0, result.stderr
    assert f"warning: --cache-dir {tmp_path / 'c'} is ignored: --no-cache reads and writes no cache" in result.stderr
    assert not (tmp_path / "c").exists()


def test_an_empty_out_or_cache_dir_is_refused_not_taken_for_the_default(files, isolated_cache):
    args = score_args(files, "--cache-dir", "")  # e.g. --cache-dir "$DIR" with DIR unset
    assert_one_line_error(run_cli(args), "--cache-dir: is empty; name a folder, or leave the option out")
    assert not isolated_cache.exists()
    args = score_args(files)
    args[args.index("--out") + 1] = " "
    assert_one_line_error(run_cli(args), "--out: is empty; give a file name ending with .parquet")


def test_an_output_folder_removed_during_the_run_is_an_out_error_and_the_work_stays_cached(files, monkeypatch, capsys):
    gone = files["dir"] / "gone"
    real_table = cli.results_table

    def table_then_folder_removed(*args, **kwargs):
        gone.rmdir()  # by the user, while the scores were being computed
        return real_table(*args, **kwargs)

    monkeypatch.setattr(cli, "results_table", table_then_folder_removed)
    gone.mkdir()
    args = score_args(files, "--k", "2")
    args[args.index("--out") + 1] = str(gone / "out.parquet")
    assert main(args) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert error.startswith(f"error: --out: {str(gone / 'out.parquet')!r} could not be written (No such file")
    assert error.endswith("; finished work is in the cache: fix that and run again")

    monkeypatch.setattr(cli, "results_table", real_table)
    assert main(score_args(files, "--k", "2")) == 0
    real_selected = cli.selected_records

    def selected_then_folder_removed(*args, **kwargs):
        gone.rmdir()
        return real_selected(*args, **kwargs)

    monkeypatch.setattr(cli, "selected_records", selected_then_folder_removed)
    gone.mkdir()
    scores = str(files["dir"] / "out.parquet")
    assert main(["select", "--scores", scores, "--method", "zipfit", "--out", str(gone / "chosen.jsonl")]) == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert "could not be written (No such file or directory); fix that and run again" in error


def test_cache_folder_that_is_a_file_is_refused(files, tmp_path):
    (tmp_path / "a-file").write_text("x")
    result = run_cli(score_args(files, "--cache-dir", str(tmp_path / "a-file")))
    assert_one_line_error(result, "--cache-dir:", "is a file, not a folder")


def test_output_cannot_overwrite_an_input(files):
    args = score_args(files)
    args[args.index("--out") + 1] = str(files["pool"])
    files["pool"].rename(files["pool"].with_suffix(".parquet"))
    args[args.index("--pool") + 1] = str(files["pool"].with_suffix(".parquet"))
    args[args.index("--out") + 1] = str(files["pool"].with_suffix(".parquet"))
    assert_one_line_error(run_cli(args), "is an input file")


def test_help_documents_every_flag():
    result = run_cli(["score", "--help"])
    for flag in [
        "--pool",
        "--targets",
        "--method",
        "--out",
        "--text-field",
        "--level",
        "--compressor",
        "--k",
        "--workers",
        "--cache-dir",
        "--no-cache",
    ]:
        assert flag in result.stdout


def test_no_cache_writes_nothing(files, isolated_cache):
    assert main(score_args(files, "--no-cache")) == 0
    assert not isolated_cache.exists()
    assert main(score_args(files)) == 0
    assert any(isolated_cache.rglob("*.npy"))


def test_cache_dir_flag(files, tmp_path):
    folder = tmp_path / "elsewhere"
    assert main(score_args(files, "--cache-dir", str(folder))) == 0
    assert any(folder.rglob("*.npy"))


@pytest.mark.parametrize("setting", ["abc", "-1", "nan", "inf"])
def test_a_bad_checkpoint_interval_is_a_one_line_error(files, isolated_cache, setting):
    env = {**os.environ, "SCORING_CHECKPOINT_SECONDS": setting}
    result = subprocess.run(
        [sys.executable, "-m", "scoring", *score_args(files)], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert_one_line_error(result, f"SCORING_CHECKPOINT_SECONDS: {setting!r} is not a number of seconds")
