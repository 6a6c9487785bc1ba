"""Every input format, text detection, exact text, and every bad input the loader must explain."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from scoring.errors import InputError
from scoring.loading import MAX_DEPTH, TOO_DEEP, load_dataset, parse_dataset, render_chat

RECORDS = [
    {"text": "def f(x):\n\treturn x  # <b>bold</b>\r\n", "source": "code", "n": 1},
    {"text": "", "source": "empty", "n": 2},
    {"text": "Ünïcödé — 日本語 <script>alert(1)</script>", "source": "prose", "n": 3},
]


def texts_of(path: Path, **kwargs) -> list[str]:
    return load_dataset(path, **kwargs).texts


# --- formats --------------------------------------------------------------------------------------------------


def test_jsonl_keeps_text_and_columns_exactly(write_jsonl):
    dataset = load_dataset(write_jsonl("a.jsonl", RECORDS))
    assert dataset.texts == [r["text"] for r in RECORDS]
    assert dataset.columns == ["text", "source", "n"]
    assert dataset.records == RECORDS
    assert dataset.lines == [1, 2, 3]


def test_json_array_records_and_lines(tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(RECORDS, indent=2, ensure_ascii=False), encoding="utf-8")
    dataset = load_dataset(path)
    assert dataset.texts == [r["text"] for r in RECORDS]
    assert dataset.lines[0] == 2  # each record's opening brace
    assert dataset.lines[1] > dataset.lines[0]


def test_json_array_line_of_every_record(tmp_path):
    """Records of 1-5 lines, some with escaped newlines in their text: each starts where it was written."""
    parts, expected, line = ["["], [], 2
    for i in range(300):
        record = {"text": "a\nb" * (i % 3), "n": i} if i % 4 else {"text": f"r{i}"}
        body = json.dumps(record, indent=2) if i % 2 else json.dumps(record)
        parts.append(body + ("," if i < 299 else ""))
        expected.append(line)
        line += body.count("\n") + 1
    path = tmp_path / "a.json"
    path.write_text("\n".join([*parts, "]"]), encoding="utf-8")
    assert load_dataset(path).lines == expected


def test_csv_keeps_quoted_newlines_crlf_and_empty_strings(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b'text,source\r\n"line one\r\nline two, with comma",x\r\n,empty\r\n"=1+2",formula\r\n')
    dataset = load_dataset(path)
    assert dataset.texts == ["line one\r\nline two, with comma", "", "=1+2"]
    assert dataset.lines == [2, 4, 5]


def test_tsv(tmp_path):
    path = tmp_path / "a.tsv"
    path.write_text("text\tlabel\nhello world\t1\n", encoding="utf-8")
    assert texts_of(path) == ["hello world"]


def test_parquet_with_nested_columns(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.Table.from_pylist([{"content": "abc", "tags": ["x", "y"]}, {"content": "d", "tags": []}]), path)
    dataset = load_dataset(path)
    assert dataset.texts == ["abc", "d"]
    assert dataset.records[0]["tags"] == ["x", "y"]
    assert dataset.text_origin == "field 'content'"


def test_txt_blocks_split_on_blank_lines_keep_inner_whitespace(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\n\nfirst  line\n\tindented\n\n \t\nsecond\r\nblock\r\n\r\nlast\n")
    dataset = load_dataset(path)
    assert dataset.texts == ["first  line\n\tindented", "second\r\nblock", "last"]
    assert dataset.lines == [3, 7, 10]


def test_utf8_bom_is_dropped_and_gzip_is_read(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b'{"text": "bom"}\n')
    assert texts_of(path) == ["bom"]
    compressed = tmp_path / "b.jsonl.gz"
    compressed.write_bytes(gzip.compress(b'{"text": "zipped"}\n'))
    assert texts_of(compressed) == ["zipped"]


def test_unicode_line_separator_inside_jsonl_string(write_jsonl):
    assert texts_of(write_jsonl("a.jsonl", [{"text": "a\u2028b\x85c"}])) == ["a\u2028b\x85c"]


# --- text detection -------------------------------------------------------------------------------------------


def test_detection_order_prefers_text_then_content(write_jsonl):
    dataset = load_dataset(write_jsonl("a.jsonl", [{"content": "c", "text": "t", "prompt": "p", "completion": "q"}]))
    assert dataset.texts == ["t"]


def test_prompt_completion_joined_as_is(write_jsonl):
    assert texts_of(write_jsonl("a.jsonl", [{"prompt": "2 + 2 =", "completion": " 4"}])) == ["2 + 2 = 4"]


def test_prompt_response_rendered_as_chat(write_jsonl):
    path = write_jsonl("a.jsonl", [{"prompt": " Hi ", "response": "Hello\n"}])
    assert texts_of(path) == ["<|user|>\n Hi \n<|assistant|>\nHello\n"]


def test_alpaca_with_and_without_input(write_jsonl):
    path = write_jsonl(
        "a.jsonl",
        [
            {"instruction": "Translate.", "input": "chat", "output": "cat"},
            {"instruction": "Say hi.", "input": "", "output": "hi"},
            {"instruction": "Count.", "output": "1 2"},
        ],
    )
    assert texts_of(path) == [
        "<|user|>\nTranslate.\n\nchat\n<|assistant|>\ncat",
        "<|user|>\nSay hi.\n<|assistant|>\nhi",
        "<|user|>\nCount.\n<|assistant|>\n1 2",
    ]


def test_messages_rendered_in_tulu_format(write_jsonl):
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "  2+2? "},
        {"role": "assistant", "content": "4"},
    ]
    dataset = load_dataset(write_jsonl("a.jsonl", [{"messages": messages, "id": 7}]))
    assert dataset.texts == ["<|system|>\nBe brief.\n<|user|>\n  2+2? \n<|assistant|>\n4"]
    assert dataset.records[0]["messages"] == messages


def test_sharegpt_conversations(write_jsonl):
    conversations = [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}]
    assert texts_of(write_jsonl("a.jsonl", [{"conversations": conversations}])) == [
        "<|user|>\nHi\n<|assistant|>\nHello"
    ]


def test_render_chat_example():
    assert render_chat([("user", "Hi"), ("assistant", "Hello!")]) == "<|user|>\nHi\n<|assistant|>\nHello!"


def test_explicit_text_field(write_jsonl):
    path = write_jsonl("a.jsonl", [{"text": "not this", "body": "this"}])
    dataset = load_dataset(path, text_field="body")
    assert dataset.texts == ["this"]
    assert dataset.text_origin == "field 'body'"


# --- bad input ------------------------------------------------------------------------------------------------


def error_of(path: Path | str, **kwargs) -> InputError:
    with pytest.raises(InputError) as caught:
        load_dataset(path, **kwargs)
    return caught.value


def test_missing_file(tmp_path):
    error = error_of(tmp_path / "nope.jsonl")
    assert str(error) == f"{tmp_path / 'nope.jsonl'}: no such file; check the path"


def test_empty_file(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b"")
    assert "is empty" in str(error_of(tmp_path / "a.jsonl"))


def test_whitespace_only_file_has_no_records(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b"\n  \n")
    assert "holds no records" in str(error_of(tmp_path / "a.jsonl"))


def test_not_utf8_names_the_line(tmp_path):
    (tmp_path / "a.jsonl").write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    error = error_of(tmp_path / "a.jsonl")
    assert error.line == 2
    assert "not valid UTF-8 (byte 0xe9); re-save it as UTF-8" in str(error)


def test_utf16_is_named(tmp_path):
    (tmp_path / "a.csv").write_bytes("text\nhi\n".encode("utf-16"))
    assert "UTF-16" in str(error_of(tmp_path / "a.csv"))


def test_binary_data(tmp_path):
    (tmp_path / "a.txt").write_bytes(b"abc\x00\x01\x02\xff")
    assert "binary data" in str(error_of(tmp_path / "a.txt"))


def test_broken_json_line_is_named(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "a"}\n\n{"text": "b",}\n{"text": "c"}\n', encoding="utf-8")
    error = error_of(tmp_path / "a.jsonl")
    assert (error.file, error.line) == (str(tmp_path / "a.jsonl"), 3)
    assert "is not valid JSON" in error.message
    assert "fix or remove this line" in error.message


def test_broken_json_file_is_named_with_its_line_and_what_to_do(tmp_path):
    (tmp_path / "a.json").write_text('[{"text": "a"},\n {"text": "b}]\n', encoding="utf-8")
    error = error_of(tmp_path / "a.json")
    assert (error.file, error.line) == (str(tmp_path / "a.json"), 2)
    assert error.message.startswith("is not valid JSON (Invalid control character at column 15)")  # the line end
    assert error.message.endswith("; fix it there (a JSON file is one list of records: [{...}, {...}])")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"text": "broken', "Unterminated string starting at column 10"),
        ('{"text": }', "Expecting value at column 10"),
        ('{"text": "tab\there"}', "Invalid control character at column 14"),
    ],
)
def test_broken_json_says_what_and_at_which_column(tmp_path, line, problem):
    (tmp_path / "a.jsonl").write_text(line + "\n", encoding="utf-8")
    (tmp_path / "a.json").write_text(line, encoding="utf-8")
    for name in ("a.jsonl", "a.json"):
        message = error_of(tmp_path / name).message
        assert f"({problem})" in message, message


def test_jsonl_line_that_is_not_an_object(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "a"}\n["b"]\n', encoding="utf-8")
    error = error_of(tmp_path / "a.jsonl")
    assert error.line == 2
    assert "a list, not a record" in error.message


def test_json_that_is_not_a_list_of_records(tmp_path):
    (tmp_path / "a.json").write_text('{"data": [{"text": "a"}]}', encoding="utf-8")
    assert "with keys data, not a list of records" in str(error_of(tmp_path / "a.json"))


def test_no_text_field_lists_fields_found(write_jsonl):
    error = error_of(write_jsonl("a.jsonl", [{"body": "x", "label": 1}]))
    assert "has no text field" in error.message
    assert "fields found: body, label" in error.message
    assert "--text-field" in error.message


def test_unknown_text_field_lists_fields_found(write_jsonl):
    error = error_of(write_jsonl("a.jsonl", [{"body": "x"}]), text_field="txt")
    assert "has no field 'txt'; fields found: body" in error.message


def test_null_text_names_the_line(write_jsonl):
    error = error_of(write_jsonl("a.jsonl", [{"text": "ok"}, {"text": None}]))
    assert error.line == 2
    assert "null in field 'text', not text" in error.message


def test_non_string_text(write_jsonl):
    error = error_of(write_jsonl("a.jsonl", [{"text": 12}]))
    assert "a number in field 'text'" in error.message


def test_field_only_in_some_records(write_jsonl):
    error = error_of(write_jsonl("a.jsonl", [{"text": "a"}, {"body": "b"}]))
    assert error.line == 2
    assert "has no field 'text' (other records have it)" in error.message


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        ({"role": "user", "text": "hi"}, "without 'content' (its keys: role, text); add it as a string"),
        ({"role": "user", "content": None}, "whose 'content' is null, not text"),
        ({"from": "human", "value": 3}, "whose 'value' is a number, not text"),
        ({"speaker": "me", "words": "hi"}, "without string 'role' and 'content' (or ShareGPT 'from' and 'value')"),
    ],
)
def test_malformed_chat_message_says_what_it_holds(write_jsonl, message, problem):
    error = error_of(write_jsonl("a.jsonl", [{"messages": [message]}]))
    assert f"has a message (number 0) in 'messages' {problem}" in error.message


def test_an_empty_chat_is_named_as_such(write_jsonl):
    error = error_of(write_jsonl("a.jsonl", [{"messages": []}]))
    assert (
        "has an empty chat (no messages) in field 'messages'; give it a message or remove the record" in error.message
    )


def test_csv_row_with_wrong_field_count(tmp_path):
    (tmp_path / "a.csv").write_text("text,label\na,1\nb,2,3\n", encoding="utf-8")
    error = error_of(tmp_path / "a.csv")
    assert error.line == 3
    assert "3 fields but the header has 2" in error.message


def test_csv_without_named_column(tmp_path):
    (tmp_path / "a.csv").write_text("body,label\na,1\n", encoding="utf-8")
    assert "has no field 'text'; fields found: body, label" in str(error_of(tmp_path / "a.csv", text_field="text"))


def test_damaged_parquet(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": ["a"] * 100}), path)
    path.write_bytes(path.read_bytes()[:-30])
    assert "is not a readable Parquet file" in str(error_of(path))


def test_parquet_with_a_repeated_column_or_damaged_gets_a_one_line_error(tmp_path):
    path = tmp_path / "a.parquet"
    table = pa.Table.from_arrays([pa.array(["a"]), pa.array(["A"]), pa.array([1])], names=["text", "dup", "dup"])
    pq.write_table(table, path)
    assert "repeats the column(s) dup; rename them" in str(error_of(path))
    path.write_bytes(path.read_bytes()[:-30])  # damaged: Arrow's message spans several lines
    message = str(error_of(path))
    assert "is not a readable Parquet file" in message
    assert "\n" not in message


def test_parquet_string_that_is_not_utf8_names_the_record_and_field(tmp_path):
    parts = [b"good", b"bad \xff text", b"ok"]
    offsets = np.cumsum([0] + [len(part) for part in parts]).astype(np.int32)
    raw = pa.Array.from_buffers(pa.string(), 3, [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(parts))])
    for columns, field in [({"text": raw}, "text"), ({"text": ["a", "b", "c"], "note": raw}, "note")]:
        pq.write_table(pa.table(columns), tmp_path / "a.parquet")
        message = str(error_of(tmp_path / "a.parquet"))
        assert f"record 1 (0-based) has a string that is not valid UTF-8 in field {field!r}" in message


def test_parquet_date_python_cannot_hold_names_the_record_and_field(tmp_path):
    year_10000 = 253402300800000  # ms since 1970: datetime stops at 9999
    pq.write_table(
        pa.table({"text": ["a", "b"], "when": pa.array([0, year_10000], pa.timestamp("ms"))}), tmp_path / "a.parquet"
    )
    message = str(error_of(tmp_path / "a.parquet"))
    assert "record 1 (0-based) has a value (" in message
    assert "in field 'when'" in message


def test_parquet_null_text_names_the_record(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"text": ["a", None]}), path)
    assert "record 1 (0-based) has null in field 'text'" in str(error_of(path))


def test_unknown_suffix():
    with pytest.raises(InputError, match="unknown file type"):
        parse_dataset(b"x", name="data.xlsx")


def test_lone_surrogate_escape(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "bad \\ud800 escape"}\n', encoding="utf-8")
    assert "unpaired surrogate" in str(error_of(tmp_path / "a.jsonl"))


def test_lone_surrogate_anywhere_in_a_record_is_found_with_its_line(tmp_path):
    emoji = '{"text": "ok \\ud83d\\ude00", "meta": {"note": "paired escapes are an emoji"}}'  # valid
    lines = [emoji, '{"text": "fine", "meta": {"tags": ["a", "x\\udc80y"]}}']
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "a.json").write_text("[\n" + ",\n".join(lines) + "\n]", encoding="utf-8")
    for name in ("a.jsonl", "a.json"):
        error = error_of(tmp_path / name)
        assert error.line == (2 if name == "a.jsonl" else 3)
        assert "unpaired surrogate ('\\udc80') in field 'meta'" in error.message
    (tmp_path / "b.jsonl").write_text(emoji + "\n", encoding="utf-8")
    assert texts_of(tmp_path / "b.jsonl") == ["ok \U0001f600"]


def test_csv_quote_never_closed_is_reported_where_it_opens(tmp_path):
    (tmp_path / "a.csv").write_text('text,n\n"open quote,1\nnext,2\nlast,3\n', encoding="utf-8")
    error = error_of(tmp_path / "a.csv")
    assert error.line == 2
    assert "is not valid CSV (a quoted field starting here is never closed); check the quoting" in error.message


def test_tsv_with_quotes_as_plain_text(tmp_path):
    (tmp_path / "a.tsv").write_text('text\tn\n"Hello," she said\t1\nplain\t2\n', encoding="utf-8")
    assert texts_of(tmp_path / "a.tsv") == ['"Hello," she said', "plain"]
    quoted = 'text\tn\n"a\ttab"\t1\n"""quoted"" word"\t2\n'  # as pandas writes TSV
    (tmp_path / "b.tsv").write_text(quoted, encoding="utf-8")
    assert texts_of(tmp_path / "b.tsv") == ["a\ttab", '"quoted" word']


def test_json_and_jsonl_swapped_get_a_hint_to_rename(tmp_path):
    (tmp_path / "lines.json").write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
    assert "if the file has one JSON object per line, name it .jsonl" in error_of(tmp_path / "lines.json").message
    (tmp_path / "pretty.jsonl").write_text('[\n  {"text": "a"}\n]\n', encoding="utf-8")
    (tmp_path / "one-line.jsonl").write_text('[{"text": "a"}, {"text": "b"}]\n', encoding="utf-8")
    for name in ("pretty.jsonl", "one-line.jsonl"):
        error = error_of(tmp_path / name)
        assert error.line == 1
        assert error.message.endswith("; if the file is one JSON array [...], name it .json"), error.message


def test_gzip_without_gz_in_its_name_and_json_named_csv_get_a_hint_to_rename(tmp_path):
    (tmp_path / "pool.jsonl").write_bytes(gzip.compress(b'{"text": "a"}\n'))
    assert error_of(tmp_path / "pool.jsonl").message == "is gzip-compressed; name it pool.jsonl.gz"
    for name, text in [
        ("lines.csv", '{"text": "a"}\n{"text": "b"}\n'),
        ("array.tsv", '[\n  {"text": "a"}\n]\n'),
        ("lists.csv", "[0, 1]\n[1, 0]\n"),
    ]:
        (tmp_path / name).write_text(text, encoding="utf-8")
        kind = name[-3:].upper()
        assert error_of(tmp_path / name).message == f"is JSON, not {kind}; name it .jsonl (one record a line) or .json"
    (tmp_path / "brackets.csv").write_text("[note],text\nx,a\n", encoding="utf-8")  # not JSON: a header
    assert texts_of(tmp_path / "brackets.csv") == ["a"]


def test_parquet_and_json_swapped_get_a_hint_to_rename(tmp_path):
    pq.write_table(pa.table({"text": ["a"]}), tmp_path / "rows.jsonl")
    assert error_of(tmp_path / "rows.jsonl").message == "is a Parquet file; name it .parquet"
    for text in ('{"text": "a"}\n', '[{"text": "a"}]'):
        (tmp_path / "rows.parquet").write_text(text, encoding="utf-8")
        assert error_of(tmp_path / "rows.parquet").message.startswith("is JSON, not Parquet; name it .jsonl")


def test_a_text_field_that_holds_no_text_points_to_fields_that_do(write_jsonl):
    error = error_of(write_jsonl("a.jsonl", [{"text": "a", "content": "x"}, {"text": 3, "content": "y"}]))
    assert error.line == 2
    assert error.message.endswith("; or, if the text is elsewhere, name one with --text-field (content)")
    chosen = error_of(write_jsonl("b.jsonl", [{"body": 3, "content": "y"}]), text_field="body")
    assert "--text-field" not in chosen.message  # the user chose this field: no hint to choose another


def nested_record(lists: int) -> str:
    """A JSON record whose field v is `lists` nested lists: lists + 1 levels deep."""
    return '{"text": "a", "v": ' + "[" * lists + "]" * lists + "}"


@pytest.mark.parametrize("lists", [MAX_DEPTH, 100_000])  # 100,000: beyond what Python's json module can read
def test_records_nested_deeper_than_the_limit_are_refused_with_their_line(tmp_path, lists):
    deepest = nested_record(MAX_DEPTH - 1)
    (tmp_path / "a.jsonl").write_text(f"{deepest}\n{nested_record(lists)}\n", encoding="utf-8")
    error = error_of(tmp_path / "a.jsonl")
    assert (error.line, error.message) == (2, TOO_DEEP)
    (tmp_path / "a.json").write_text(f"[{deepest},\n{nested_record(lists)}]", encoding="utf-8")
    error = error_of(tmp_path / "a.json")
    assert (error.line, error.message) == (2 if lists == MAX_DEPTH else None, TOO_DEEP)
    (tmp_path / "b.jsonl").write_text(f"{deepest}\n", encoding="utf-8")
    assert texts_of(tmp_path / "b.jsonl") == ["a"]
