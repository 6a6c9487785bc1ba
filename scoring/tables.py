"""The results table (one row per pool record) and the files it is written to and read from.

Columns: `pool_index`, `text`, the record's original columns, then per method `<m>_score`, `<m>_rank`,
`<m>_nearest_target` (and `<m>_selected` with k). The Parquet schema metadata key `scoring` holds the
parameters, input hashes and version as JSON.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scoring.atomic import atomic_path, write_bytes_atomic
from scoring.errors import InputError, OptionError
from scoring.loading import Dataset

log = logging.getLogger(__name__)

METADATA_KEY = b"scoring"
RECORD_FORMATS = (".jsonl", ".csv", ".parquet")
FORMULA_START = ("=", "+", "-", "@")


def method_columns(
    method: str, score: np.ndarray, rank: np.ndarray, nearest: np.ndarray, k: int | None
) -> dict[str, np.ndarray]:
    """The output columns of one method: `{"zipfit_score": ..., "zipfit_rank": ..., ...}`."""
    columns = {f"{method}_score": score, f"{method}_rank": rank, f"{method}_nearest_target": nearest}
    if k is not None:
        columns[f"{method}_selected"] = rank < k
    return columns


def results_table(pool: Dataset, columns: Mapping[str, np.ndarray], metadata: Mapping[str, Any]) -> pa.Table:
    """pool_index, text, the original columns (renamed `original_<name>` if a name is taken), `columns`."""
    reserved = {"pool_index", "text", *columns}
    text_is_field = pool.text_origin == "field 'text'"
    names: dict[str, str] = {}  # original name -> output name
    for name in pool.columns:
        if name == "text" and text_is_field:
            names[name] = "text"
            continue
        output = name
        while output in reserved or output in names.values():
            output = f"original_{output}"
        names[name] = output
    arrays: dict[str, pa.Array] = {
        "pool_index": _numbers(np.arange(len(pool), dtype=np.int64)),
        "text": _strings(pool.texts, large=True) or pa.array(pool.texts, type=pa.large_string()),
    }
    for name, output in names.items():
        if output != "text":
            arrays[output] = _column(pool.records, name)
    arrays.update({name: _numbers(np.asarray(values)) for name, values in columns.items()})
    table = pa.table(arrays)
    meta = {**metadata, "original_columns": names, "text_origin": pool.text_origin}
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()})


def _column(records: list[dict[str, Any]], name: str) -> pa.Array:
    """One original field as an Arrow array; a field mixing types becomes JSON text (with a warning)."""
    values = [record.get(name) for record in records]
    try:
        return _strings(values) or pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        log.warning("column %r mixes value types; it is kept as JSON text in the output", name)
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values])


# pa.array() on Python lists or NumPy arrays imports pandas (0.2-0.4 s, a tenth of a ZIP-FIT run on the sample
# data), so the common column types are built from Arrow buffers directly.


def _strings(values: list[Any], large: bool = False) -> pa.Array | None:
    """A string (or large_string) Arrow array when every value is a str, else None."""
    if not all(type(v) is str for v in values):
        return None
    try:
        encoded = [v.encode() for v in values]
    except UnicodeEncodeError:  # lone surrogates: let pa.array report them
        return None
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    if not large and offsets[-1] >= 2**31:
        return None
    kind, offsets = (pa.large_string(), offsets) if large else (pa.string(), offsets.astype(np.int32))
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))])


def _numbers(values: np.ndarray) -> pa.Array:
    """An int64, float64 or bool Arrow array from a 1-D NumPy array (other dtypes go through pa.array)."""
    kinds = {np.dtype(np.int64): pa.int64(), np.dtype(np.float64): pa.float64()}
    if values.ndim == 1 and values.dtype == np.bool_:
        bits = pa.py_buffer(np.packbits(values, bitorder="little"))
        return pa.Array.from_buffers(pa.bool_(), len(values), [None, bits])
    if values.ndim == 1 and values.dtype in kinds:
        data = pa.py_buffer(np.ascontiguousarray(values))
        return pa.Array.from_buffers(kinds[values.dtype], len(values), [None, data])
    return pa.array(values)


def metadata_of(table: pa.Table) -> dict[str, Any]:
    """The `scoring` metadata of a results table ({} if absent)."""
    raw = (table.schema.metadata or {}).get(METADATA_KEY)
    return json.loads(raw) if raw else {}


def check_output_path(path: str | Path, formats: tuple[str, ...], option: str = "--out") -> Path:
    """Refuse an output path early (before hours of work) if its format or folder is wrong."""
    path = Path(path)
    if path.suffix.lower() not in formats:
        raise OptionError(option, f"{str(path)!r} must end with {' or '.join(formats)}")
    if not path.parent.is_dir():
        raise OptionError(option, f"folder {str(path.parent)!r} does not exist; create it first")
    if path.is_dir():
        raise OptionError(option, f"{str(path)!r} is a folder; give a file name")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise OptionError(option, f"folder {str(path.parent)!r} is not writable; write the results elsewhere")
    return path


def write_parquet(table: pa.Table, path: str | Path) -> None:
    """Write atomically: a failure leaves any existing file untouched."""
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_results(path: str | Path) -> pa.Table:
    """A results table written by `python -m scoring score`, or InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file; give the Parquet file written by `score --out`", file=path)
    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InputError(f"is not a readable Parquet file ({e}); rerun `score` to write it again", file=path) from None


def original_records(table: pa.Table) -> pa.Table:
    """The rows of a results table with only the original columns, under their original names."""
    names: dict[str, str] = metadata_of(table).get("original_columns") or {
        name: name for name in table.column_names if name != "pool_index"
    }
    return table.select(list(names.values())).rename_columns(list(names))


def write_records(table: pa.Table, path: str | Path) -> None:
    """Write rows as JSONL, CSV (formula-like cells neutralised) or Parquet, by the suffix of `path`, atomically."""
    suffix = Path(path).suffix.lower()
    if suffix not in RECORD_FORMATS:
        raise OptionError("--out", f"{str(path)!r} must end with {' or '.join(RECORD_FORMATS)}")
    write_bytes_atomic(path, table_bytes(table, suffix.lstrip(".")))


def table_bytes(table: pa.Table, fmt: str) -> bytes:
    """The rows as a `jsonl`, `csv` or `parquet` file's bytes."""
    if fmt == "jsonl":
        return jsonl_bytes(table)
    if fmt == "csv":
        return csv_bytes(table)
    if fmt == "parquet":
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        return sink.getvalue().to_pybytes()
    raise ValueError(f"unknown format {fmt!r}; use one of jsonl, csv, parquet")


def jsonl_bytes(table: pa.Table) -> bytes:
    """One JSON object per row, UTF-8."""
    lines = (json.dumps(row, ensure_ascii=False, default=str) + "\n" for row in table.to_pylist())
    return "".join(lines).encode("utf-8")


def csv_bytes(table: pa.Table) -> bytes:
    """CSV with a header row; nested values as JSON; text starting with = + - @ gets a leading `'`.

    Example: a cell `=HYPERLINK("http://x")` is written as `'=HYPERLINK("http://x")` so that a spreadsheet
    shows it as text instead of running it.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([_safe_cell(name) for name in table.column_names])
    for row in table.to_pylist():
        writer.writerow([_csv_cell(value) for value in row.values()])
    return buffer.getvalue().encode("utf-8")


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return _safe_cell(json.dumps(value, ensure_ascii=False, default=str))
    if isinstance(value, str):
        return _safe_cell(value)
    return value


def _safe_cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text
