"""Property-based tests: loaders round-trip any text exactly; NCD stays in range and orders sensibly."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.compression import sizer
from scoring.loading import parse_dataset
from scoring.pipeline import run_zipfit
from scoring.zipfit import ncd

texts = st.text(max_size=300)
records = st.lists(st.fixed_dictionaries({"text": texts, "n": st.integers(-5, 5)}), min_size=1, max_size=8)
no_nul = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=300)
csv_records = st.lists(st.fixed_dictionaries({"text": no_nul, "n": st.integers(-5, 5)}), min_size=1, max_size=8)
"""A NUL byte in a CSV or TXT file is taken as binary data (and refused), so those texts have none."""
SETTINGS = settings(max_examples=60, deadline=None)


def jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def csv_bytes(rows: list[dict]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=["text", "n"])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def parquet_bytes(rows: list[dict]) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue().to_pybytes()


@SETTINGS
@given(records)
def test_jsonl_round_trips_text_exactly(rows):
    assert parse_dataset(jsonl(rows), name="a.jsonl").texts == [r["text"] for r in rows]


@SETTINGS
@given(records)
def test_json_round_trips_text_exactly(rows):
    data = json.dumps(rows, indent=1, ensure_ascii=False).encode()
    assert parse_dataset(data, name="a.json").texts == [r["text"] for r in rows]


@SETTINGS
@given(csv_records)
def test_csv_round_trips_text_exactly(rows):
    assert parse_dataset(csv_bytes(rows), name="a.csv").texts == [r["text"] for r in rows]


@SETTINGS
@given(records)
def test_parquet_round_trips_text_exactly(rows):
    assert parse_dataset(parquet_bytes(rows), name="a.parquet").texts == [r["text"] for r in rows]


line = st.text(st.characters(blacklist_characters="\n\r\x00", blacklist_categories=("Cs",)), min_size=1, max_size=40)
blocks = st.lists(st.lists(line.filter(lambda s: s.strip(" \t")), min_size=1, max_size=4), min_size=1, max_size=6)


@SETTINGS
@given(blocks, st.sampled_from(["\n", "\r\n"]))
def test_txt_blocks_round_trip(block_lines, newline):
    expected = [newline.join(lines) for lines in block_lines]
    data = (newline * 2).join(expected) + newline
    assert parse_dataset(data.encode(), name="a.txt").texts == expected


@SETTINGS
@given(st.text(min_size=0, max_size=2000), st.text(min_size=0, max_size=2000))
def test_ncd_in_range_and_self_distance_small(x, t):
    size = sizer("gzip", 9)
    bx, bt = x.encode(), t.encode()
    distance = ncd(size(bx), size(bt), size(bx + bt))
    assert -0.01 <= distance <= 1.05
    assert ncd(size(bx), size(bx), size(bx + bx)) <= 0.35


def varied(alphabet: str, min_size: int, max_size: int) -> st.SearchStrategy[str]:
    """Texts that use at least 6 distinct characters: NCD cannot tell apart texts that compress to nothing."""
    return st.text(alphabet=alphabet, min_size=min_size, max_size=max_size).filter(lambda t: len(set(t)) >= 6)


@SETTINGS
@given(st.lists(varied("abcdefghij", 80, 400), min_size=1, max_size=4), st.data())
def test_a_copy_of_a_target_scores_higher_than_unrelated_text(targets, data):
    copy = targets[0]
    unrelated = data.draw(varied("KLMNOPQRST0123456789", len(copy), len(copy)))
    score = run_zipfit([copy, unrelated], targets, workers=1).score
    assert score[0] > score[1]
    assert np.all(score <= 1.0)
