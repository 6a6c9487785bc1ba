"""Multi-task targets: which field can name each target's task, and the task name of every target."""

from __future__ import annotations

from collections import Counter
from typing import Any

from scoring.errors import InputError
from scoring.loading import Dataset


def task_ids(targets: Dataset, field: str) -> list[str]:
    """The task name of each target (N,), from a string or number in `field`, or InputError naming the record.

    Example: targets with `{"task": "a"}, {"task": 7}, {"task": 7.0}` -> `["a", "7", "7"]` (Parquet often stores
    whole numbers as floats); a record without `task`, or with `true` or `2.5` there, is refused.
    """
    if field not in targets.columns:
        raise InputError(
            f"has no field {field!r} for --task-field; fields found: {', '.join(targets.columns)}; name one of them, "
            "or leave --task-field out to round-robin over single targets",
            file=targets.name,
        )
    names = []
    for index, record in enumerate(targets.records):
        value = record.get(field)
        if not _is_name(value):
            line = targets.lines[index]
            where = "this record" if line is not None else f"record {index} (0-based)"
            holds = "no value" if field not in record else _kind(value)
            raise InputError(
                f"{where} has {holds} in field {field!r}, not a task name (text or a whole number); give every "
                "target one, or choose another --task-field",
                file=targets.name,
                line=line,
            )
        names.append(_name(value))
    return names


def task_fields(targets: Dataset) -> list[str]:
    """Fields that group the targets into tasks: text or whole numbers, nothing of another kind, at least two
    tasks, and at least half the targets sharing their task with another; never the text itself (repeated
    target texts would pass the rest). Targets lacking the field (or with null or a blank value) do not rule
    it out: `task_ids` then says which one lacks it.

    Example: `{"task": "a"}, {"task": "a"}, {"task": "b"}` -> `["task"]`; an `id` unique to nearly every
    record (HumanEval's `entry_point`: 12 of 164 targets share one) is not one.
    """
    found = []
    for column in targets.columns:
        present = [value for record in targets.records if not _blank(value := record.get(column))]
        if not present or not all(_is_name(value) for value in present):
            continue
        if all(record.get(column) == text for record, text in zip(targets.records, targets.texts, strict=True)):
            continue  # the text field
        counts = Counter(map(_name, present))
        shared = sum(count for count in counts.values() if count > 1)
        if len(counts) > 1 and shared >= len(present) / 2:
            found.append(column)
    return found


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_name(value: Any) -> bool:
    """A task name: text that is not blank (an empty CSV cell is no name), or a whole number (7 or 7.0)."""
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def _name(value: str | int | float) -> str:
    """The task name of a value `_is_name` accepts: 7.0 -> "7", as 7 and "7" are."""
    return str(int(value)) if isinstance(value, float) else str(value)


def _kind(value: Any) -> str:
    """What a value that is not a task name is, for messages: "null", "a boolean", "2.5", "a list"."""
    if value is None or isinstance(value, bool | list | dict):
        return {type(None): "null", bool: "a boolean", list: "a list", dict: "an object"}[type(value)]
    return repr(value) if isinstance(value, float | str) else type(value).__name__
