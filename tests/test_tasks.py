"""Task columns of multi-task targets: which fields can name tasks, and every target's task name."""

from __future__ import annotations

import json

import pytest

from scoring.errors import InputError
from scoring.loading import parse_dataset
from scoring.tasks import task_fields, task_ids


def targets(records: list[dict]):
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    return parse_dataset(data, name="targets.jsonl")


def test_fields_that_name_tasks_repeat_and_hold_text_or_whole_numbers():
    dataset = targets(
        [
            {"text": "a", "task": "x", "level": 1, "id": "r0", "flag": True, "score": 0.5},
            {"text": "b", "task": "x", "level": 1, "id": "r1", "flag": True, "score": 0.5},
            {"text": "c", "task": "y", "level": 2, "id": "r2", "flag": False, "score": 0.7},
        ]
    )
    assert task_fields(dataset) == ["task", "level"]  # not unique ids, booleans, fractions or the one text each


def test_the_text_field_is_no_task_column_even_when_target_texts_repeat():
    repeated = [{"text": "def add(a, b): return a + b", "kind": "add"}] * 5 + [{"text": "def sub()", "kind": "sub"}] * 3
    assert task_fields(targets(repeated)) == ["kind"]  # was ["text", "kind"]
    chat = [{"messages": [{"role": "user", "content": c}], "tag": c} for c in ["x", "x", "y", "y"]]
    assert task_fields(targets(chat)) == ["tag"]  # a field equal to the text only after rendering is still one


def test_a_nearly_unique_field_does_not_group_targets_into_tasks():
    shared_by_two = [{"text": f"t{i}", "name": "n0" if i < 2 else f"n{i}"} for i in range(6)]
    assert task_fields(targets(shared_by_two)) == []  # 2 of 6 share a name: an id with a repeat, not tasks
    shared_by_half = [{"text": f"t{i}", "name": "same" if i < 3 else f"n{i}"} for i in range(6)]
    assert task_fields(targets(shared_by_half)) == ["name"]


def test_a_blank_task_cell_of_a_csv_is_no_task_name():
    dataset = parse_dataset(b"text,task\na,x\nb,x\nc,\nd,y\ne,y\n", name="targets.csv")
    assert task_fields(dataset) == ["task"]
    with pytest.raises(InputError, match=r"^targets.csv:4: this record has '' in field 'task', not a task name"):
        task_ids(dataset, "task")


def test_a_field_some_targets_lack_is_offered_and_task_ids_name_the_record():
    dataset = targets(
        [{"text": "a", "task": "x"}, {"text": "b", "task": "x"}, {"text": "c"}, {"text": "d", "task": "y"}]
    )
    assert task_fields(dataset) == ["task"]
    with pytest.raises(InputError) as error:
        task_ids(dataset, "task")
    assert str(error.value) == (
        "targets.jsonl:3: this record has no value in field 'task', not a task name (text or a whole number); "
        "give every target one, or choose another --task-field"
    )


def test_task_ids_are_text_whatever_the_kind_of_name():
    dataset = targets([{"text": "a", "task": "x"}, {"text": "b", "task": 7}, {"text": "c", "task": 7.0}])
    assert task_ids(dataset, "task") == ["x", "7", "7"]  # Parquet often stores whole numbers as floats
    assert task_fields(dataset) == ["task"]


@pytest.mark.parametrize(("value", "holds"), [(True, "a boolean"), (2.5, "2.5"), ([1], "a list"), (None, "null")])
def test_a_value_that_is_no_task_name_is_named_in_the_error(value, holds):
    dataset = targets([{"text": "a", "task": "x"}, {"text": "b", "task": value}])
    with pytest.raises(InputError) as error:
        task_ids(dataset, "task")
    assert str(error.value) == (
        f"targets.jsonl:2: this record has {holds} in field 'task', not a task name (text or a whole number); "
        "give every target one, or choose another --task-field"
    )
