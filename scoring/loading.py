"""Load records from JSONL, JSON, CSV/TSV, Parquet or plain text, and find the text to score in each.

Every problem with a file is raised as `InputError` naming the file and, where there is one, the line.
Texts are kept exactly as given: nothing is stripped or normalised.

>>> ds = load_dataset("sample_data/targets_humaneval.jsonl")
>>> len(ds), ds.text_origin
(164, "field 'text'")
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scoring.errors import InputError

if TYPE_CHECKING:
    import pyarrow as pa

Record = dict[str, Any]

FORMATS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".txt": "txt",
}
"""File suffix -> format. Any of them may also be gzip-compressed (`pool.jsonl.gz`)."""

PARQUET_MAGIC = b"PAR1"
"""The first (and last) bytes of every Parquet file."""
GZIP_MAGIC = b"\x1f\x8b"
"""The first bytes of every gzip file."""

SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "system": "system"}


@dataclass(frozen=True)
class Dataset:
    """Records of one file and the text of each: `texts[i]` belongs to `records[i]`.

    `columns` are the original field names in first-seen order; `lines[i]` is the 1-based line where
    record i starts (None where the format has no lines, as in Parquet). `arrow` is a Parquet file's own
    table (None for other formats), so that results keep its columns' types exactly.
    """

    name: str
    records: list[Record]
    texts: list[str]
    columns: list[str]
    lines: list[int | None]
    text_origin: str
    arrow: pa.Table | None = None

    def __len__(self) -> int:
        return len(self.texts)


@dataclass(frozen=True)
class TextRule:
    """How to get the text out of a record, e.g. the field `text`, or chat `messages` rendered."""

    description: str
    fields: tuple[str, ...]
    extract: Callable[[Record], str]


class _BadText(Exception):
    """A record's text is unusable; the loader adds the file and line."""


def load_dataset(path: str | Path, *, text_field: str | None = None) -> Dataset:
    """Read `path` (format from its suffix) and extract one text per record."""
    return parse_dataset(read_bytes(path), name=str(path), text_field=text_field)


def read_bytes(path: str | Path) -> bytes:
    """The bytes of a user's file, or an InputError saying why they cannot be read."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("no such file; check the path", file=path) from None
    except IsADirectoryError:
        raise InputError("is a directory; give a data file inside it", file=path) from None
    except PermissionError:
        raise InputError("permission denied; check the file's permissions", file=path) from None
    except OSError as e:
        raise InputError(f"cannot be read ({e.strerror})", file=path) from None


def parse_dataset(data: bytes, *, name: str, text_field: str | None = None) -> Dataset:
    """Parse the bytes of a file called `name` (its suffix gives the format); see `load_dataset`."""
    return with_texts(parse_records(data, name=name), text_field)


@dataclass(frozen=True)
class Records:
    """The records of a file before any text is chosen (a dashboard shows their fields for picking)."""

    name: str
    records: list[Record]
    columns: list[str]
    lines: list[int | None]
    arrow: pa.Table | None = None
    """A Parquet file's own table (None for other formats)."""


def parse_records(data: bytes, *, name: str) -> Records:
    """Records of the file `name` (format from its suffix) from its bytes; at least one, or InputError."""
    fmt, compressed = format_of(name)
    if compressed:
        data = _gunzip(data, name)
    elif data.startswith(GZIP_MAGIC):
        raise InputError(f"is gzip-compressed; name it {Path(name).name}.gz", file=name)
    if not data:
        raise InputError("is empty; it needs at least one record", file=name)
    arrow = _read_parquet(data, name) if fmt == "parquet" else None
    if arrow is not None:
        records, lines = _parquet_records(arrow, name), [None] * arrow.num_rows
    else:
        records, lines = _READERS[fmt](data, name)
    if not records:
        raise InputError("holds no records; it needs at least one", file=name)
    columns = list(dict.fromkeys(key for record in records for key in record))
    return Records(name, records, columns, lines, arrow)


def with_texts(raw: Records, text_field: str | None = None) -> Dataset:
    """The dataset of `raw` with one text per record, from `text_field` or the detected layout."""
    rule = choose_text_rule(raw.columns, text_field, name=raw.name)
    texts = []
    for index, record in enumerate(raw.records):
        try:
            texts.append(_encodable(rule.extract(record)))
        except _BadText as e:
            line = raw.lines[index]
            others = [] if text_field else [f for f in string_fields(raw.records) if f not in rule.fields]
            hint = f"; or, if the text is elsewhere, name one with --text-field ({_listing(others)})" if others else ""
            raise InputError(f"{_record_label(index, line)}{e}{hint}", file=raw.name, line=line) from None
    return Dataset(raw.name, raw.records, texts, raw.columns, raw.lines, rule.description, raw.arrow)


def format_of(name: str) -> tuple[str, bool]:
    """The format of a file name and whether it is gzip-compressed: `"a.jsonl.gz"` -> `("jsonl", True)`."""
    suffixes = [s.lower() for s in Path(name).suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes.pop()
    fmt = FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        known = ", ".join(FORMATS)
        raise InputError(f"unknown file type; use one of {known} (optionally .gz)", file=name)
    return fmt, compressed


def string_fields(dataset_records: list[Record], limit: int = 1000) -> list[str]:
    """Fields whose values are strings in the first `limit` records: the choices for a text-field picker."""
    found: dict[str, None] = {}
    for record in dataset_records[:limit]:
        for key, value in record.items():
            if isinstance(value, str):
                found.setdefault(key)
    return list(found)


# --- choosing the text ---------------------------------------------------------------------------------------


def choose_text_rule(columns: list[str], text_field: str | None, *, name: str = "input") -> TextRule:
    """The rule for `text_field`, or the first known layout present in `columns`.

    Detected, in order: `text`, `content`, `prompt`+`completion` (joined as is), `prompt`+`response`,
    Alpaca `instruction`/`input`/`output`, chat `messages`, ShareGPT `conversations` (the last four
    rendered in the Tulu chat format).
    """
    present = set(columns)
    if text_field is not None:
        if text_field not in present:
            raise InputError(
                f"has no field {text_field!r}; fields found: {_listing(columns)}; choose one of them", file=name
            )
        return _field_rule(text_field)
    for fields, make in _DETECTED:
        if present.issuperset(fields):
            return make()
    raise InputError(
        f"has no text field (looked for text, content, prompt+completion/response, instruction+output, "
        f"messages, conversations); fields found: {_listing(columns)}; name one with --text-field",
        file=name,
    )


def _field_rule(field: str) -> TextRule:
    def extract(record: Record) -> str:
        return _text_value(record, field)

    return TextRule(f"field {field!r}", (field,), extract)


def _chat_rule(field: str) -> TextRule:
    return TextRule(f"field {field!r} (Tulu chat format)", (field,), lambda r: _text_value(r, field))


def _prompt_completion_rule() -> TextRule:
    def extract(record: Record) -> str:
        return _string(record, "prompt") + _string(record, "completion")

    return TextRule("fields 'prompt' + 'completion' (joined as is)", ("prompt", "completion"), extract)


def _prompt_response_rule() -> TextRule:
    def extract(record: Record) -> str:
        return render_chat([("user", _string(record, "prompt")), ("assistant", _string(record, "response"))])

    return TextRule("fields 'prompt' + 'response' (Tulu chat format)", ("prompt", "response"), extract)


def _alpaca_rule() -> TextRule:
    def extract(record: Record) -> str:
        prompt = _string(record, "instruction")
        extra = record.get("input")
        if extra is not None and not isinstance(extra, str):
            raise _BadText(f"has {_kind(extra)} in field 'input', not text; make it a string or remove it")
        if extra:
            prompt = f"{prompt}\n\n{extra}"
        return render_chat([("user", prompt), ("assistant", _string(record, "output"))])

    fields = ("instruction", "input", "output")
    return TextRule("Alpaca fields 'instruction'/'input'/'output' (Tulu chat format)", fields, extract)


_DETECTED: list[tuple[tuple[str, ...], Callable[[], TextRule]]] = [
    (("text",), lambda: _field_rule("text")),
    (("content",), lambda: _field_rule("content")),
    (("prompt", "completion"), _prompt_completion_rule),
    (("prompt", "response"), _prompt_response_rule),
    (("instruction", "output"), _alpaca_rule),
    (("messages",), lambda: _chat_rule("messages")),
    (("conversations",), lambda: _chat_rule("conversations")),
]


def render_chat(turns: list[tuple[str, str]]) -> str:
    """Render (role, content) turns in the Tulu format RDS+ uses, content untouched.

    Example: `[("user", "Hi"), ("assistant", "Hello!")]` -> `"<|user|>\\nHi\\n<|assistant|>\\nHello!"`.
    """
    return "\n".join(f"<|{role}|>\n{content}" for role, content in turns)


def _text_value(record: Record, field: str) -> str:
    """A field's value as text: a string as is, a chat message list rendered in the Tulu format."""
    if field not in record:
        raise _BadText(f"has no field {field!r} (other records have it); add it, or remove the record")
    value = record[field]
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        return render_chat([_turn(message, field, i) for i, message in enumerate(value)])
    if isinstance(value, list) and not value:
        raise _BadText(f"has an empty chat (no messages) in field {field!r}; give it a message or remove the record")
    raise _BadText(f"has {_kind(value)} in field {field!r}, not text; make it a string or remove the record")


def _turn(message: dict[str, Any], field: str, index: int) -> tuple[str, str]:
    """One chat message as (role, content): `{role, content}` or ShareGPT `{from, value}`."""
    layouts = [(role, text) for role, text in (("role", "content"), ("from", "value")) if {role, text} & message.keys()]
    for role, text in layouts:
        if isinstance(message.get(role), str) and isinstance(message.get(text), str):
            name = message[role]
            return (SHAREGPT_ROLES.get(name, name) if role == "from" else name), message[text]
    if layouts:  # e.g. {"role": "user", "content": null}: say which key holds what
        role, text = layouts[0]
        bad = role if not isinstance(message.get(role), str) else text
        keys = _listing(list(message))
        if bad not in message:
            raise _BadText(
                f"has a message (number {index}) in {field!r} without {bad!r} (its keys: {keys}); add it as a string "
                "or remove the record"
            )
        raise _BadText(
            f"has a message (number {index}) in {field!r} whose {bad!r} is {_kind(message[bad])}, not text (its "
            f"keys: {keys}); make it a string or remove the record"
        )
    raise _BadText(
        f"has a message (number {index}) in {field!r} without string 'role' and 'content' (or ShareGPT "
        f"'from' and 'value'); its keys: {_listing(list(message))}"
    )


def _string(record: Record, field: str) -> str:
    value = record.get(field)
    if not isinstance(value, str):
        missing = field not in record
        what = "has no field" if missing else f"has {_kind(value)} in field"
        raise _BadText(f"{what} {field!r}; every record needs text there")
    return value


def _encodable(text: str) -> str:
    """`text` if it can be written as UTF-8 (JSON escapes can smuggle in unpaired surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise _BadText(
            f"has text with an unpaired surrogate ({text[e.start]!r}) that is not valid Unicode; fix that escape"
        ) from None
    return text


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def _listing(names: list[str], limit: int = 20) -> str:
    if not names:
        return "(none)"
    shown = ", ".join(names[:limit])
    return shown + (f", … ({len(names) - limit} more)" if len(names) > limit else "")


def _record_label(index: int, line: int | None) -> str:
    return "this record " if line is not None else f"record {index} (0-based) "


# --- formats ------------------------------------------------------------------------------------------------


def _decode(data: bytes, name: str) -> str:
    """UTF-8 text (a leading BOM dropped), or an InputError for binary, UTF-16 or other encodings."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("is UTF-16 text; re-save it as UTF-8", file=name)
    if data.startswith(PARQUET_MAGIC) and data.endswith(PARQUET_MAGIC):
        raise InputError("is a Parquet file; name it .parquet", file=name)
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise InputError("holds binary data (a NUL byte), not text; give a text or Parquet file", file=name, line=line)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise InputError(
            f"is not valid UTF-8 (byte 0x{data[e.start]:02x}); re-save it as UTF-8", file=name, line=line
        ) from None


def _gunzip(data: bytes, name: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as e:
        raise InputError(f"is not a valid gzip file ({e}); re-compress it or give it uncompressed", file=name) from None


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based number, line) for each line, split on `\\n` only (U+2028 and friends may sit inside JSON)."""
    return enumerate(text.split("\n"), start=1)


def _read_jsonl(data: bytes, name: str) -> tuple[list[Record], list[int | None]]:
    records: list[Record] = []
    lines: list[int | None] = []
    for number, line in _lines(_decode(data, name)):
        if not line.strip():
            continue
        first_is_array = not records and line.lstrip().startswith("[")
        array_hint = "; if the file is one JSON array [...], name it .json" if first_is_array else ""
        try:
            value = json.loads(line)
        except json.JSONDecodeError as e:
            what_to_do = array_hint or "; fix or remove this line"
            raise InputError(f"is not valid JSON ({_json_problem(e)}){what_to_do}", file=name, line=number) from None
        except RecursionError:
            raise InputError(TOO_DEEP, file=name, line=number) from None
        if _too_deep(value, line):
            raise InputError(TOO_DEEP, file=name, line=number)
        if not isinstance(value, dict):
            raise InputError(
                f"holds {_kind(value)}, not a record; each line must be a JSON object {{...}}{array_hint}",
                file=name,
                line=number,
            )
        records.append(value)
        lines.append(number)
    _check_unicode(records, lines, data, name)
    return records, lines


def _json_problem(e: json.JSONDecodeError) -> str:
    """What is wrong and where on its line: "Unterminated string starting at column 10" (not "at at")."""
    return f"{e.msg.removesuffix(' at')} at column {e.colno}"


def _read_json(data: bytes, name: str) -> tuple[list[Record], list[int | None]]:
    text = _decode(data, name)
    decoder = json.JSONDecoder()
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        hint = (
            "; if the file has one JSON object per line, name it .jsonl"
            if e.msg == "Extra data"
            else "; fix it there (a JSON file is one list of records: [{...}, {...}])"
        )
        raise InputError(f"is not valid JSON ({_json_problem(e)}){hint}", file=name, line=e.lineno) from None
    except RecursionError:
        raise InputError(TOO_DEEP, file=name) from None
    if not isinstance(value, list):
        hint = f" with keys {_listing(list(value))}" if isinstance(value, dict) else ""
        raise InputError(
            f"holds {_kind(value)}{hint}, not a list of records; a JSON file must be [{{...}}, {{...}}] "
            "(or use JSONL: one object per line)",
            file=name,
        )
    records: list[Record] = []
    lines: list[int | None] = []
    position = text.index("[") + 1
    line, counted = 1, 0  # line is the number of the line holding text[counted]
    for _ in value:  # walk the array again to learn where each record starts
        position = _skip_space_and_comma(text, position)
        record, end = decoder.raw_decode(text, position)
        line, counted = line + text.count("\n", counted, position), position
        if not isinstance(record, dict):
            raise InputError(
                f"holds {_kind(record)}, not a record (a JSON object); make the file a list of objects, one per record",
                file=name,
                line=line,
            )
        if _too_deep(record, text[position:end]):
            raise InputError(TOO_DEEP, file=name, line=line)
        records.append(record)
        lines.append(line)
        position = end
    _check_unicode(records, lines, data, name)
    return records, lines


MAX_DEPTH = 100
"""Records may nest lists and objects this many levels deep (the record itself is level 1), no deeper: results
tables and exports walk into every value."""
TOO_DEEP = f"nests lists and objects more than {MAX_DEPTH} levels deep; flatten that value or remove the record"


def _too_deep(value: Any, raw: str) -> bool:
    """Whether a record parsed from the JSON text `raw` nests deeper than MAX_DEPTH (walked only when `raw` has
    that many brackets)."""
    return raw.count("[") + raw.count("{") > MAX_DEPTH and _depth_over(value, MAX_DEPTH)


def _depth_over(value: Any, levels: int) -> bool:
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, list):
        return False
    return levels == 0 or any(_depth_over(item, levels - 1) for item in value)


SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""A JSON escape of a UTF-16 surrogate: paired ones are fine (emoji), an unpaired one is not valid Unicode."""


def _check_unicode(records: list[Record], lines: list[int | None], data: bytes, name: str) -> None:
    """InputError at the first record holding an unpaired surrogate (only JSON escapes can make one)."""
    if SURROGATE_ESCAPE.search(data) is None:
        return
    for record, line in zip(records, lines, strict=True):
        for field, value in record.items():
            for text in _strings_in(value, field):
                try:
                    text.encode("utf-8")
                except UnicodeEncodeError as e:
                    raise InputError(
                        f"this record has an unpaired surrogate ({text[e.start]!r}) in field {field!r}, which is "
                        "not valid Unicode; fix that escape",
                        file=name,
                        line=line,
                    ) from None


def _strings_in(value: Any, key: str) -> Iterator[str]:
    """Every string in a JSON value, keys included, with `key` (the field) first."""
    yield key
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings_in(item, "")
    elif isinstance(value, dict):
        for inner, item in value.items():
            yield from _strings_in(item, inner)


def _skip_space_and_comma(text: str, position: int) -> int:
    while text[position] in " \t\r\n,":
        position += 1
    return position


CSV_QUOTING = "a field that starts with a double quote must end with one, and a quote inside it is written twice"


def _read_csv(data: bytes, name: str) -> tuple[list[Record], list[int | None]]:
    return _read_delimited(_decode(data, name), name, ",", csv.QUOTE_MINIMAL)


def _read_tsv(data: bytes, name: str) -> tuple[list[Record], list[int | None]]:
    """Quoted like CSV (as pandas and spreadsheets write TSV), or, if that fails, with quotes as plain text."""
    text = _decode(data, name)
    try:
        return _read_delimited(text, name, "\t", csv.QUOTE_MINIMAL)
    except InputError as quoted:
        try:
            return _read_delimited(text, name, "\t", csv.QUOTE_NONE)
        except InputError:
            raise quoted from None


def _read_delimited(text: str, name: str, delimiter: str, quoting: int) -> tuple[list[Record], list[int | None]]:
    kind = "CSV" if delimiter == "," else "TSV"
    if _is_json(text):
        raise InputError(f"is JSON, not {kind}; name it .jsonl (one record a line) or .json", file=name)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True, quoting=quoting)
    records: list[Record] = []
    lines: list[int | None] = []
    start = 1  # the line where the row being read starts
    try:
        header = next(reader, None)
        if header is None:
            return records, lines
        duplicated = sorted({h for h in header if header.count(h) > 1})
        if duplicated:
            raise InputError(f"header repeats the column(s) {_listing(duplicated)}; rename them", file=name, line=1)
        start = reader.line_num + 1
        for row in reader:
            if row:
                if len(row) != len(header):
                    raise InputError(
                        f"has {len(row)} fields but the header has {len(header)}; check the quoting of this row",
                        file=name,
                        line=start,
                    )
                records.append(dict(zip(header, row, strict=True)))
                lines.append(start)
            start = reader.line_num + 1
    except csv.Error as e:
        problem = "a quoted field starting here is never closed" if "unexpected end of data" in str(e) else str(e)
        raise InputError(
            f"is not valid {kind} ({problem}); check the quoting: {CSV_QUOTING}", file=name, line=start
        ) from None
    return records, lines


def _is_json(text: str) -> bool:
    """Whether a file meant to be CSV or TSV holds JSON: a first line, or the whole text, that is an object or
    a list (tried only when the text starts with `{` or `[`, which no header does)."""
    start = text.lstrip()
    if start[:1] not in ("{", "["):
        return False
    for candidate in (start.split("\n", 1)[0], start):
        try:
            return isinstance(json.loads(candidate), dict | list)
        except (json.JSONDecodeError, RecursionError):
            continue
    return False


def _read_parquet(data: bytes, name: str) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # In this thread, from an Arrow BufferReader, whose reads finish at once: pq.read_table's threads, and the
    # I/O pool's reads of an io.BytesIO, could outlive the call and abort the exit (status 134, 1 run in ~200).
    try:
        return pq.ParquetFile(pa.BufferReader(data)).read(use_threads=False)
    except (pa.ArrowException, OSError, ValueError) as e:
        if not data.startswith(PARQUET_MAGIC) and data.lstrip()[:1] in (b"{", b"["):
            raise InputError("is JSON, not Parquet; name it .jsonl (one record a line) or .json", file=name) from None
        problem = " ".join(str(e).split())  # Arrow's messages can span lines
        problem = problem if len(problem) <= 300 else problem[:297] + "..."
        raise InputError(f"is not a readable Parquet file ({problem}); re-export it", file=name) from None


def _parquet_records(table: pa.Table, name: str) -> list[Record]:
    """The rows as dicts, or InputError naming a repeated column, or the record and field of a value Python
    cannot hold (a string that is not UTF-8, a date past year 9999)."""
    repeated = sorted({column for column in table.column_names if table.column_names.count(column) > 1})
    if repeated:
        raise InputError(f"repeats the column(s) {_listing(repeated)}; rename them", file=name)
    try:
        return table.to_pylist()
    except (UnicodeDecodeError, OverflowError, ValueError) as e:
        problem = e
    field = next(f for f in table.column_names if _fails(table.column(f).to_pylist))
    row = next(r for r in range(table.num_rows) if _fails(table.column(field)[r].as_py))
    what = "a string that is not valid UTF-8" if isinstance(problem, UnicodeDecodeError) else f"a value ({problem})"
    raise InputError(
        f"record {row} (0-based) has {what} in field {field!r}; fix it and re-export the file", file=name
    ) from None


def _fails(convert: Callable[[], Any]) -> bool:
    """Whether converting Arrow values to Python objects fails."""
    try:
        convert()
    except (UnicodeDecodeError, OverflowError, ValueError):
        return True
    return False


def _read_txt(data: bytes, name: str) -> tuple[list[Record], list[int | None]]:
    """One record per block of lines separated by blank lines; the line end after a block is not text."""
    records: list[Record] = []
    lines: list[int | None] = []
    block: list[str] = []
    start = 0
    for number, line in enumerate(_decode(data, name).split("\n"), start=1):
        if line.strip(" \t\r"):
            if not block:
                start = number
            block.append(line)
        elif block:
            records.append({"text": _strip_cr("\n".join(block))})
            lines.append(start)
            block = []
    if block:
        records.append({"text": _strip_cr("\n".join(block))})
        lines.append(start)
    return records, lines


def _strip_cr(block: str) -> str:
    """Drop the `\\r` of a CRLF line end that closed the block (it belongs to the separator)."""
    return block[:-1] if block.endswith("\r") else block


_READERS: dict[str, Callable[[bytes, str], tuple[list[Record], list[int | None]]]] = {
    "jsonl": _read_jsonl,
    "json": _read_json,
    "csv": _read_csv,
    "tsv": _read_tsv,
    "txt": _read_txt,
}
