"""Exports: which records, their original columns in each format, and the manifest."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from scoring.export import manifest, records_bytes, selection_mask
from scoring.hashing import file_digest
from scoring.loading import parse_dataset
from scoring.tables import method_columns, results_table

RECORDS = [
    {"messages": [{"role": "user", "content": "=1+1"}, {"role": "assistant", "content": "2"}], "id": "a"},
    {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "@you"}], "id": "b"},
    {"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}], "id": "c"},
]


@pytest.fixture
def results():
    data = "".join(json.dumps(r) + "\n" for r in RECORDS).encode()
    pool = parse_dataset(data, name="pool.jsonl")
    rank = np.array([2, 0, 1])
    columns = method_columns("zipfit", np.array([0.1, 0.3, 0.2]), rank, np.zeros(3, dtype=int), k=2)
    return results_table(pool, columns, {})


def test_selection_mask():
    z, r = np.array([0, 1, 2, 3]), np.array([3, 0, 2, 1])
    assert selection_mask(z, r, "zipfit", 2).tolist() == [True, True, False, False]
    assert selection_mask(z, r, "rds", 2).tolist() == [False, True, False, True]
    assert selection_mask(z, r, "intersection", 2).tolist() == [False, True, False, False]
    assert selection_mask(z, r, "union", 2).tolist() == [True, True, False, True]
    with pytest.raises(ValueError, match="unknown selection"):
        selection_mask(z, r, "both", 2)


def test_jsonl_export_is_the_original_records(results):
    data = records_bytes(results, np.array([False, True, True]), "jsonl")
    assert [json.loads(line) for line in data.decode().splitlines()] == RECORDS[1:]


def test_parquet_export_is_the_original_records(results):
    data = records_bytes(results, np.array([True, False, True]), "parquet")
    assert pq.read_table(io.BytesIO(data)).to_pylist() == [RECORDS[0], RECORDS[2]]


def test_csv_export_has_original_columns_and_neutralised_formulas(results):
    data = records_bytes(results, np.array([True, True, False]), "csv")
    rows = pacsv.read_csv(io.BytesIO(data)).to_pylist()
    assert [r["id"] for r in rows] == ["a", "b"]
    assert json.loads(rows[0]["messages"]) == RECORDS[0]["messages"]  # nested values as JSON, not formulas
    assert data.decode().splitlines()[0] == "messages,id"


def test_csv_cells_that_look_like_formulas_get_a_quote():
    data = "".join(json.dumps({"text": t}) + "\n" for t in ["=SUM(A1)", "+1", "-2", "@x", "fine"]).encode()
    pool = parse_dataset(data, name="p.jsonl")
    table = results_table(pool, method_columns("zipfit", np.zeros(5), np.arange(5), np.zeros(5, int), None), {})
    text = records_bytes(table, np.ones(5, dtype=bool), "csv").decode()
    assert text.splitlines() == ["text", "'=SUM(A1)", "'+1", "'-2", "'@x", "fine"]


def test_csv_cells_starting_with_a_tab_or_carriage_return_get_a_quote_too():
    """Spreadsheets may drop a leading tab or CR and then read a formula (OWASP lists both)."""
    texts = ["\t=cmd|' /C calc'!A0", "\r=1+1", "\tindented"]
    pool = parse_dataset("".join(json.dumps({"text": t}) + "\n" for t in texts).encode(), name="p.jsonl")
    table = results_table(pool, method_columns("zipfit", np.zeros(3), np.arange(3), np.zeros(3, int), None), {})
    rows = pacsv.read_csv(io.BytesIO(records_bytes(table, np.ones(3, dtype=bool), "csv"))).to_pylist()
    assert [row["text"] for row in rows] == ["'" + t for t in texts]


def test_csv_cells_of_other_types_that_would_start_a_formula_get_a_quote_and_numbers_stay_numbers():
    columns = {
        "text": ["a", "b"],
        "blob": [b"\xfb\xef\xbexyz", b"ok"],  # base64 "++++eHl6"
        "wait": pa.array([dt.timedelta(days=-1), dt.timedelta(0)]),  # "-1 day, 0:00:00"
        "n": [-2, 3],
        "x": [-1.5, 2.0],
    }
    out = io.BytesIO()
    pq.write_table(pa.table(columns), out)
    pool = parse_dataset(out.getvalue(), name="p.parquet")
    table = results_table(pool, method_columns("zipfit", np.zeros(2), np.arange(2), np.zeros(2, int), None), {})
    rows = list(csv.DictReader(io.StringIO(records_bytes(table, np.ones(2, dtype=bool), "csv").decode())))
    assert rows[0] == {"text": "a", "blob": "'++++eHl6", "wait": "'-1 day, 0:00:00", "n": "-2", "x": "-1.5"}
    assert rows[1] == {"text": "b", "blob": "b2s=", "wait": "0:00:00", "n": "3", "x": "2.0"}


def test_manifest_names_the_file_and_its_hash():
    about = manifest(
        selection="union",
        k=5,
        fmt="jsonl",
        file_name="s.jsonl",
        data=b"abc",
        count=3,
        context={"pool": {"texts_sha256": "f" * 64}},
    )
    assert about["file_sha256"] == file_digest(b"abc")
    assert about["records"] == 3
    assert about["run"]["pool"]["texts_sha256"] == "f" * 64
    assert about["version"]


TRICKY = [  # values Arrow would change or Parquet cannot store, each next to plain ones
    {"text": "a", "id": 1, "meta": {"a": 1}, "empty": {}, "big": 2**70, "ratio": 1, "flag": 0.5},
    {
        "text": [{"role": "user", "content": "hi"}],
        "id": "b",
        "meta": {"b": [1, 2]},
        "empty": {"k": {}},
        "big": 3,
        "ratio": 2.5,
        "flag": True,
    },
    {"text": "c", "id": None, "meta": None, "empty": [{}], "big": None, "ratio": float("nan"), "flag": None},
]


def test_exports_give_back_values_that_parquet_cannot_hold_as_given(tmp_path):
    pool = parse_dataset(b"".join(json.dumps(r).encode() + b"\n" for r in TRICKY), name="pool.jsonl")
    table = results_table(pool, method_columns("zipfit", np.zeros(3), np.arange(3), np.zeros(3, dtype=int), 3), {})
    pq.write_table(table, tmp_path / "results.parquet")  # every column can be stored
    stored = pq.read_table(tmp_path / "results.parquet")
    assert stored.column("text").to_pylist() == ["a", "<|user|>\nhi", "c"]  # what was scored
    assert stored.schema.field("ratio").type == "double"  # a plain column keeps its type (1 -> 1.0, NaN)
    everything = np.ones(3, dtype=bool)
    lines = records_bytes(stored, everything, "jsonl").decode().splitlines()
    exported = [json.loads(line, parse_constant=pytest.fail) for line in lines]  # strict JSON: no NaN
    assert [r.pop("ratio") for r in exported] == [1.0, 2.5, None]  # JSON has no NaN: null, as pandas writes
    assert exported == [{k: v for k, v in r.items() if k != "ratio"} for r in TRICKY]
    assert [type(r["flag"]) for r in exported] == [float, bool, type(None)]  # True == 1.0 in Python: check types
    rows = pacsv.read_csv(io.BytesIO(records_bytes(stored, everything, "csv"))).to_pylist()
    assert [r["id"] for r in rows] == ["1", "b", ""]  # the values, not their JSON text ("b" quoted)
    assert [r["ratio"] for r in rows][:2] == [1.0, 2.5]
    assert rows[2]["ratio"] is None  # an empty cell, not "nan"
    assert [json.loads(r["meta"]) for r in rows[:2]] == [{"a": 1}, {"b": [1, 2]}]


def test_lists_nested_deeper_than_parquet_reads_back_are_kept_as_json_text(tmp_path):
    deep, shallow = 1, 1
    for _ in range(60):
        deep = [deep]
    for _ in range(40):
        shallow = [shallow]
    pool = parse_dataset(json.dumps({"text": "a", "deep": deep, "shallow": shallow}).encode(), name="pool.jsonl")
    table = results_table(pool, method_columns("zipfit", np.zeros(1), np.arange(1), np.zeros(1, dtype=int), 1), {})
    pq.write_table(table, tmp_path / "results.parquet")
    stored = pq.read_table(tmp_path / "results.parquet")  # Arrow refuses a schema 100 levels deep
    assert stored.schema.field("deep").type == pa.string()
    assert pa.types.is_list(stored.schema.field("shallow").type)
    exported = json.loads(records_bytes(stored, np.ones(1, dtype=bool), "jsonl"))
    assert exported == {"text": "a", "deep": deep, "shallow": shallow}


def test_binary_values_are_exported_as_base64(tmp_path):
    pq.write_table(pa.table({"text": ["a", "b"], "blob": [b"\x00\x01hi", None]}), tmp_path / "pool.parquet")
    pool = parse_dataset((tmp_path / "pool.parquet").read_bytes(), name="pool.parquet")
    table = results_table(pool, method_columns("zipfit", np.zeros(2), np.arange(2), np.zeros(2, dtype=int), 2), {})
    exported = [json.loads(line) for line in records_bytes(table, np.ones(2, dtype=bool), "jsonl").splitlines()]
    assert exported == [{"text": "a", "blob": base64.b64encode(b"\x00\x01hi").decode()}, {"text": "b", "blob": None}]
    assert pq.read_table(io.BytesIO(records_bytes(table, np.ones(2, dtype=bool), "parquet"))).column(
        "blob"
    ).to_pylist() == [b"\x00\x01hi", None]


def test_a_parquet_pools_columns_keep_their_types_in_results_and_exports(tmp_path):
    columns = {
        "text": pa.array(["a", "b"]),
        "created": pa.array([1577880000123456789, None], pa.timestamp("ns")),  # pandas' and Spark's default
        "tags": pa.array([[("k", 1)], [("a", 2), ("b", 3)]], pa.map_(pa.string(), pa.int64())),
        "big": pa.array([2**64 - 1, 1], pa.uint64()),
        "small": pa.array([-3, 4], pa.int8()),
        "ratio": pa.array([0.5, 1.25], pa.float32()),
        "label": pa.array(["x", "x"]).dictionary_encode(),
    }
    pq.write_table(pa.table(columns), tmp_path / "pool.parquet")
    pool = parse_dataset((tmp_path / "pool.parquet").read_bytes(), name="pool.parquet")
    table = results_table(pool, method_columns("zipfit", np.zeros(2), np.arange(2), np.zeros(2, dtype=int), 2), {})
    pq.write_table(table, tmp_path / "results.parquet")
    stored = pq.read_table(tmp_path / "results.parquet")
    both = np.ones(2, dtype=bool)
    exported = pq.read_table(io.BytesIO(records_bytes(stored, both, "parquet")))
    for name, column in columns.items():
        assert stored.schema.field(name).type == column.type, name
        assert exported.column(name).combine_chunks().equals(column), name
    lines = [json.loads(line) for line in records_bytes(stored, both, "jsonl").splitlines()]
    assert [row["created"] for row in lines] == ["2020-01-01T12:00:00.123456789", None]  # nanoseconds kept
    assert [row["tags"] for row in lines] == [{"k": 1}, {"a": 2, "b": 3}]  # a map is a JSON object
    assert [row["big"] for row in lines] == [2**64 - 1, 1]
    cells = list(csv.DictReader(io.StringIO(records_bytes(stored, both, "csv").decode("utf-8"))))
    assert [row["created"] for row in cells] == ["2020-01-01T12:00:00.123456789", ""]  # as in JSONL, not "… 12:00"


def test_jsonl_exports_leave_out_the_fields_a_record_lacks_and_keep_its_nulls(tmp_path):
    records = [
        {"text": f"t{i}"}
        | ({"lang": "en"} if i % 3 == 0 else {"lang": None} if i % 3 == 1 else {})
        | ({"meta": {"n": i}} if i % 4 == 0 else {"meta": [i]} if i % 4 == 1 else {})  # mixed: kept as JSON text
        for i in range(20)
    ]
    pool = parse_dataset(b"".join(json.dumps(r).encode() + b"\n" for r in records), name="pool.jsonl")
    score = np.linspace(0, 1, 20)
    table = results_table(pool, method_columns("zipfit", score, np.arange(20), np.zeros(20, dtype=int), 5), {})
    pq.write_table(table, tmp_path / "results.parquet")
    stored = pq.read_table(tmp_path / "results.parquet")
    chosen = np.arange(20) % 3 != 1  # not a prefix: the rows' own positions must be used
    lines = records_bytes(stored, chosen, "jsonl").decode().splitlines()
    assert [json.loads(line) for line in lines] == [r for r, keep in zip(records, chosen, strict=True) if keep]
    rows = pacsv.read_csv(io.BytesIO(records_bytes(stored, chosen, "csv"))).to_pylist()
    assert [r["lang"] for r in rows] == ["en" if i % 3 == 0 else "" for i in range(20) if i % 3 != 1]  # empty cells
