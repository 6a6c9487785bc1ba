"""The results table (one row per pool record) and the files it is written to and read from.

Columns: `pool_index`, `text`, the record's original columns, then per method `<m>_score`, `<m>_rank`,
`<m>_nearest_target` (and `<m>_selected` with k). The Parquet schema metadata key `scoring` holds the
parameters, input hashes and version as JSON.
"""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from scoring.atomic import atomic_path, write_bytes_atomic
from scoring.errors import InputError, OptionError
from scoring.loading import PARQUET_MAGIC, Dataset

log = logging.getLogger(__name__)

METADATA_KEY = b"scoring"
RECORD_FORMATS = (".jsonl", ".csv", ".parquet")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a CSV cell as a formula (OWASP's list): such cells get a '."""


METHOD_PREFIXES = ("zipfit_", "rds_")
"""Output column names of the methods start so; an original column named so is renamed `original_<name>`."""


def method_columns(
    method: str, score: np.ndarray, rank: np.ndarray, nearest: np.ndarray, k: int | None
) -> dict[str, np.ndarray]:
    """The output columns of one method: `{"zipfit_score": ..., "zipfit_rank": ..., ...}`."""
    columns = {f"{method}_score": score, f"{method}_rank": rank, f"{method}_nearest_target": nearest}
    if k is not None:
        columns[f"{method}_selected"] = rank < k
    return columns


def results_table(pool: Dataset, columns: Mapping[str, np.ndarray], metadata: Mapping[str, Any]) -> pa.Table:
    """pool_index, text, the original columns (renamed `original_<name>` if a name is taken, or is a method's:
    `METHOD_PREFIXES`, e.g. a scores file's `rds_rank` scored again), `columns`.

    A Parquet input's columns keep their Arrow types. An original column of another format that Parquet cannot
    hold as given (mixed types, integers beyond 64 bits, objects with differing keys, empty objects, 50 nested
    lists) is stored as JSON text and listed in the metadata's `json_columns`;
    `original_records` and the exports give back the original values. A field some records lack is null there,
    and the metadata's `absent_fields` marks those rows (see `absent_bits`), so that JSONL exports leave it out.
    """
    reserved = {"pool_index", "text", *columns}
    text_is_field = pool.text_origin == "field 'text'" and all(type(r.get("text")) is str for r in pool.records)
    names: dict[str, str] = {}  # original name -> output name
    for name in pool.columns:
        if name == "text" and text_is_field:
            names[name] = "text"
            continue
        output = name
        while output in reserved or output.startswith(METHOD_PREFIXES) or output in names.values():
            output = f"original_{output}"
        names[name] = output
    arrays: dict[str, pa.Array] = {
        "pool_index": _numbers(np.arange(len(pool), dtype=np.int64)),
        "text": _strings(pool.texts, large=True) or pa.array(pool.texts, type=pa.large_string()),
    }
    if pool.arrow is not None and names.get("text") == "text":
        arrays["text"] = pool.arrow.column("text")  # the same texts, as the Parquet file types them
    as_json: list[str] = []
    absent: dict[str, str] = {}
    for name, output in names.items():
        if output != "text" and pool.arrow is not None:
            arrays[output] = pool.arrow.column(name)  # as the Parquet file has it: types and values unchanged
        elif output != "text":
            arrays[output], is_json = _column(pool.records, name)
            as_json += [output] if is_json else []
            lacking = np.fromiter((name not in record for record in pool.records), bool, len(pool))
            if lacking.any():
                absent[output] = absent_bits(lacking)
    arrays.update({name: _numbers(np.asarray(values)) for name, values in columns.items()})
    table = pa.table(arrays)
    meta = {
        **metadata,
        "original_columns": names,
        "json_columns": as_json,
        "absent_fields": absent,
        "text_origin": pool.text_origin,
    }
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(meta).encode()})


def _column(records: list[dict[str, Any]], name: str) -> tuple[pa.Array, bool]:
    """One original field as an Arrow array, and whether it had to become JSON text (with a warning) because
    Arrow would not give back the same values (`{"a": 1}`, `{"b": 2}` would come back with `None`s added) or
    Parquet cannot store them or read them back."""
    values = [record.get(name) for record in records]
    strings = _strings(values)
    if strings is not None:
        return strings, False
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        problem = "has values Parquet cannot store as one type (mixed types, integers beyond 64 bits, key-value maps)"
    else:
        levels = _parquet_levels(array.type)
        if levels is not None and levels >= PARQUET_READ_DEPTH:
            problem = "nests lists and objects deeper than Parquet reads back"
        elif levels is not None and _same(array.to_pylist(), values):
            return array, False
        else:
            problem = "has objects with differing or no keys"
    log.warning("column %r %s; the results keep it as JSON text, exports as the original values", name, problem)
    return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values], pa.string()), True


def absent_bits(lacking: np.ndarray) -> str:
    """Which rows lack a field, (N,) bool, as metadata text: a little-endian bitmap in base64 (N/6 characters).

    Example: `absent_bits(np.array([False, True, True]))` -> `"Bg=="`; `lacking_rows` reads it back.
    """
    return base64.b64encode(np.packbits(lacking, bitorder="little").tobytes()).decode("ascii")


def lacking_rows(bits: str, rows: int) -> np.ndarray:
    """The (rows,) bool mask of `absent_bits`: `lacking_rows("Bg==", 3)` -> [False, True, True]."""
    packed = np.frombuffer(base64.b64decode(bits), np.uint8)
    return np.unpackbits(packed, count=rows, bitorder="little").astype(bool)


PARQUET_READ_DEPTH = 100
"""Arrow's Parquet reader refuses a schema this many levels deep (its default limit), e.g. 50 nested lists."""


def _parquet_levels(kind: pa.DataType) -> int | None:
    """Parquet schema levels of `kind` (a value 1, a struct 1 more, a list or map 2 more), None if it holds `{}`."""
    if pa.types.is_struct(kind) and kind.num_fields == 0:
        return None
    inner = [_parquet_levels(kind.field(i).type) for i in range(kind.num_fields)]
    if None in inner:
        return None
    nested = pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)
    own = 2 if nested or pa.types.is_map(kind) else 1
    return own + max(inner, default=0)  # type: ignore[type-var]


def _same(a: Any, b: Any) -> bool:
    """a == b where NaN equals NaN and an int equals the same float (Arrow stores [1, 2.5] as doubles, the same
    JSON numbers), but a bool equals only a bool (Arrow stores [0.5, True] as [0.5, 1.0])."""
    if isinstance(a, list) and isinstance(b, list):
        if a == b and not set(map(type, b)) & {bool, list, dict}:
            return True  # flat numbers and strings: list equality (in C) is enough
        return len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if a == b:
        return True
    return isinstance(a, float) and isinstance(b, float) and a != a and b != b  # both NaN


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
    if not str(path).strip():
        raise OptionError(option, f"is empty; give a file name ending with {' or '.join(formats)}")
    path = Path(path)
    if path.name.lower() in formats:  # ".parquet": a hidden file's name, with no suffix
        raise OptionError(option, f"{str(path)!r} has no name before {path.name}; give one, e.g. results{path.name}")
    if path.suffix.lower() not in formats:
        raise OptionError(option, f"{str(path)!r} must end with {' or '.join(formats)}")
    if not path.parent.is_dir():
        raise OptionError(option, f"folder {str(path.parent)!r} does not exist; create it first")
    if path.is_dir():
        raise OptionError(option, f"{str(path)!r} is a folder; give a file name")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise OptionError(option, f"folder {str(path.parent)!r} is not writable; write the results elsewhere")
    try:  # some folders refuse new files whatever the permissions say (e.g. /proc, a read-only mount)
        with tempfile.NamedTemporaryFile(prefix=f".{path.name}.", suffix=".probe", dir=path.parent):
            pass
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise OptionError(
            option, f"folder {str(path.parent)!r} does not take new files ({reason}); write the results elsewhere"
        ) from None
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
        with open(path, "rb") as f:
            magic = f.read(len(PARQUET_MAGIC))
    except OSError as e:
        raise InputError(f"cannot be read ({e.strerror or e}); check the file's permissions", file=path) from None
    if magic != PARQUET_MAGIC:
        raise InputError("is not a Parquet file; give the Parquet file written by `score --out`", file=path)
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise InputError(f"is not a readable Parquet file ({e}); rerun `score` to write it again", file=path) from None
    try:
        problem = _metadata_problem(metadata_of(table))
    except ValueError as e:
        problem = str(e)
    if problem:
        raise InputError(f"has metadata that `score` did not write ({problem}); rerun `score`", file=path)
    if "pool_index" not in table.column_names or "text" not in table.column_names:
        raise InputError(
            "is not a scores file (no pool_index and text columns); give the Parquet file written by `score --out`",
            file=path,
        )
    missing = [
        name for name in metadata_of(table).get("original_columns", {}).values() if name not in table.column_names
    ]
    if missing:
        gone = ", ".join(map(repr, missing))
        log.warning(
            "%s: the column(s) %s that `score` wrote are gone; the records are written without them", path, gone
        )
    return table


def _metadata_problem(metadata: Any) -> str | None:
    """What in a results table's `scoring` metadata is not as `score` writes it, e.g. "k is 'abc'", or None."""
    if not isinstance(metadata, dict):
        return "not a JSON object"
    k = metadata.get("k")
    if k is not None and (type(k) is not int or k < 1):
        return f"k is {k!r}, not a whole number of records"
    names = metadata.get("original_columns", {})
    if not (isinstance(names, dict) and all(isinstance(name, str) for name in [*names, *names.values()])):
        return "original_columns is not an object of column names"
    as_json = metadata.get("json_columns", [])
    if not (isinstance(as_json, list) and all(isinstance(name, str) for name in as_json)):
        return "json_columns is not a list of column names"
    absent = metadata.get("absent_fields", {})
    if not (isinstance(absent, dict) and all(isinstance(bits, str) for bits in absent.values())):
        return "absent_fields is not an object of base64 texts"
    for name, bits in absent.items():
        try:
            base64.b64decode(bits, validate=True)
        except ValueError:
            return f"absent_fields of {name!r} is not base64"
    return None


def original_records(table: pa.Table) -> pa.Table:
    """The rows of a results table with only the original columns, under their original names.

    Columns kept as JSON text stay so (Parquet cannot hold them otherwise) and are listed in the metadata's
    `json_columns`, under their original names, so that `table_bytes` writes JSONL and CSV with the values.
    Fields rows lack are in `absent_fields`, by these rows, so that JSONL leaves them out.
    """
    metadata = metadata_of(table)
    names: dict[str, str] = metadata.get("original_columns") or {
        name: name for name in table.column_names if name != "pool_index"
    }
    names = {name: output for name, output in names.items() if output in table.column_names}  # some dropped since
    as_json = set(metadata.get("json_columns", []))
    records = table.select(list(names.values())).rename_columns(list(names))
    about: dict[str, Any] = {"json_columns": [name for name, output in names.items() if output in as_json]}
    absent = metadata.get("absent_fields", {})
    if absent and "pool_index" in table.column_names:
        pool_rows = table.column("pool_index").to_numpy()
        size = int(pool_rows.max(initial=-1)) + 1
        about["absent_fields"] = {
            name: absent_bits(lacking_rows(absent[output], size)[pool_rows])
            for name, output in names.items()
            if output in absent
        }
    return records.replace_schema_metadata({METADATA_KEY: json.dumps(about).encode()})


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
    """One JSON object per row, UTF-8; binary values as base64, dates and times as ISO 8601 text, NaN and
    infinities as null (JSON has no such numbers; `NaN` would break strict readers); fields marked absent in the
    metadata's `absent_fields` left out."""
    rows = rows_of(table)
    for name, bits in metadata_of(table).get("absent_fields", {}).items():
        for row in np.flatnonzero(lacking_rows(bits, len(rows))):
            del rows[row][name]
    return "".join(_json_line(row) for row in rows).encode("utf-8")


def _json_line(row: dict[str, Any]) -> str:
    try:
        return json.dumps(row, ensure_ascii=False, default=_json_default, allow_nan=False) + "\n"
    except ValueError:  # a NaN or an infinity somewhere
        return json.dumps(_finite(row), ensure_ascii=False, default=_json_default, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    """`value` with every NaN or infinite float, at any depth, replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def csv_bytes(table: pa.Table) -> bytes:
    """CSV with a header row; nested values as JSON; text starting with = + - @, a tab or a CR gets a leading `'`.

    Example: a cell `=HYPERLINK("http://x")` is written as `'=HYPERLINK("http://x")` so that a spreadsheet
    shows it as text instead of running it.
    """
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([_safe_cell(name) for name in table.column_names])
    for row in rows_of(table):
        writer.writerow([_csv_cell(value) for value in row.values()])
    return buffer.getvalue().encode("utf-8")


def rows_of(table: pa.Table) -> list[dict[str, Any]]:
    """The rows as dicts, as JSONL and CSV exports write them: columns kept as JSON text (metadata
    `json_columns`) decoded, e.g. `'{"a": 1}'` -> `{"a": 1}`; Arrow maps as objects unless a key repeats."""
    try:
        rows = table.to_pylist(maps_as_pydicts="strict")
    except KeyError:  # a map with a repeated key: keep its [key, value] pairs
        rows = table.to_pylist()
    for name in metadata_of(table).get("json_columns", []):
        for row in rows:
            if row[name] is not None:
                row[name] = json.loads(row[name])
    return rows


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    return str(value)  # e.g. Decimal, timedelta


def _csv_cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and value != value):  # NaN: an empty cell, as pandas writes it
        return ""
    if isinstance(value, bool | int | float | Decimal):
        return value  # a number, even a negative one, is not a formula
    if isinstance(value, list | dict):
        return _safe_cell(json.dumps(value, ensure_ascii=False, default=_json_default))
    # Text as is; bytes as base64 and dates as ISO 8601 (as JSONL writes them); str() of the rest, e.g. durations.
    return _safe_cell(value if isinstance(value, str) else _json_default(value))


def _safe_cell(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text
