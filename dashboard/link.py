"""The sidebar's choices in the page's URL, so that a reload, a bookmark or a shared link opens the same inputs.

Samples and parameters go in as words and numbers, only where they differ from the defaults
(`?targets=translation&k=200&level=6&fast=1`); an uploaded or pasted file goes in as its sha256
(`targets_file=…`), found again in the cache folder by `dashboard.kept_files`. Each widget starts at the URL's
value (`start`), each run writes the values chosen back (`begin`, `show`, `publish`), and a value of the link
opened that is not valid is left out with a warning in the sidebar, which stays until the user changes a choice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import streamlit as st

from dashboard import state
from dashboard.text import plain

T = TypeVar("T")


def begin() -> None:
    """Start this run's values: call before the first widget."""
    state.put("link.now", {"values": {}, "problems": {}})


def start(name: str, default: T, parse: Callable[[str], T]) -> T:
    """The URL's `name` parsed, or `default` when it is absent or not valid (a warning then says so).

    `parse` raises ValueError with what is valid, e.g. `start("level", 9, integer(1, 9))` -> 6 for `?level=6`.
    """
    text = st.query_params.get(name)
    if text is None:
        return default
    try:
        return parse(text)
    except ValueError as e:  # only a link opened can hold one: `publish` writes valid values back
        _now()["problems"][name] = f"{name}={text} is not valid ({e})"
        return default


def show(name: str, value: object, default: object = None) -> None:
    """Put `name`'s chosen `value` in the URL at the end of this run, unless it is `default` (then left out)."""
    if value != default and value is not None:
        _now()["values"][name] = value if isinstance(value, str) else _text(value)


def carry(names: Sequence[str]) -> None:
    """Keep the URL's `names` as they are in this run, whose widgets were not drawn (e.g. nothing chosen yet)."""
    for name in names:
        if name in st.query_params:
            _now()["values"][name] = st.query_params[name]


def publish() -> None:
    """Write this run's values into the URL (if they changed) and warn about the link's values that were not
    valid, in every run (jobs rerun the page) until the user changes a choice."""
    now, warned = _now(), state.get("link.warned")
    if now["problems"]:  # found in this run (the first, or one that drew widgets a link was waiting for)
        problems = {**(warned["problems"] if warned else {}), **now["problems"]}
        warned = {"problems": problems, "values": now["values"]}
    elif warned and warned["values"] != now["values"]:
        warned = None
    state.put("link.warned", warned)
    if warned:
        st.warning(
            plain(f"The link's {'; '.join(warned['problems'].values())}: the default is used instead."),
            icon=":material/link_off:",
        )
    if st.query_params.to_dict() != now["values"]:
        st.query_params.from_dict(now["values"])


def choice(options: Mapping[str, T]) -> Callable[[str], T]:
    """A parser of one of `options`' words, e.g. `choice({"sample": "Sample pool"})("sample")` -> "Sample pool"."""

    def parse(text: str) -> T:
        if text not in options:
            raise ValueError(f"one of {', '.join(options)}")
        return options[text]

    return parse


def one_of(names: Sequence[str]) -> Callable[[str], str]:
    """A parser of one of `names`, e.g. `one_of(["max", "mean"])("max")` -> "max"."""
    return choice({name: name for name in names})


def integer(low: int, high: int) -> Callable[[str], int]:
    """A parser of whole numbers from `low` to `high`, e.g. `integer(1, 9)("6")` -> 6."""

    def parse(text: str) -> int:
        if not (text.isascii() and text.isdigit() and low <= int(text) <= high):
            raise ValueError(f"a whole number from {low:,} to {high:,}")
        return int(text)

    return parse


def number(low: float, high: float) -> Callable[[str], float]:
    """A parser of numbers from `low` to `high`, e.g. `number(0.1, 100)("4.5")` -> 4.5."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not low <= value <= high:
            raise ValueError(f"a number from {low:g} to {high:g}")
        return value

    return parse


def flag(text: str) -> bool:
    """`"1"` -> True, `"0"` -> False."""
    if text not in ("0", "1"):
        raise ValueError("0 or 1")
    return text == "1"


def words(options: Mapping[str, str]) -> dict[str, str]:
    """The reverse of a word -> label mapping, to `show` a label as its word."""
    return {label: word for word, label in options.items()}


def _now() -> dict:
    """This run's values and problems (see `begin`)."""
    if state.get("link.now") is None:
        begin()
    return state.get("link.now")


def _text(value: object) -> str:
    """`True` -> "1", `4.5` -> "4.5", `6` -> "6"."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return f"{value:g}" if isinstance(value, float) else str(value)
