"""Errors that reach the user as one line: `error: WHERE: what is wrong, and what to do`."""

from __future__ import annotations

import errno
from pathlib import Path


class ScoringError(Exception):
    """Base class of the errors this library raises on purpose."""


class InputError(ScoringError):
    """A user-supplied file cannot be used.

    Example: `InputError("not valid UTF-8 (byte 0xff); re-save it as UTF-8", file="a.jsonl", line=3)`
    prints as `a.jsonl:3: not valid UTF-8 (byte 0xff); re-save it as UTF-8`.
    """

    def __init__(self, message: str, *, file: str | Path | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = None if file is None else str(file)
        self.line = line

    def __str__(self) -> str:
        where = self.file or "input"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}"


class OptionError(ScoringError, ValueError):
    """An option has a value the library refuses, e.g. `OptionError("--level", "must be 1-9")`."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}")
        self.option = option


class Cancelled(ScoringError):
    """Raised inside a long computation when its cancel event is set.

    Example: `raise Cancelled()` says the finished work is kept; `Cancelled("map cancelled")` says what stopped.
    """

    def __init__(self, message: str = "cancelled; the work finished so far is saved in the cache") -> None:
        super().__init__(message)


def one_line(text: str) -> str:
    r"""`text` with its control characters written as escapes, so that text from the data (a field name, a
    path) can neither break a message's line nor send the terminal escape sequences.

    >>> print(one_line("fields found: fo\no, \x1b[31mred, é"))
    fields found: fo\no, \x1b[31mred, é
    """
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` is a full disk or quota; Arrow's OSError carries the errno only in its message.

    Example: `is_disk_full(OSError(28, "No space left on device"))` -> True.
    """
    codes = (errno.ENOSPC, errno.EDQUOT)
    return isinstance(error, OSError) and (
        error.errno in codes or any(f"[Errno {code}]" in str(error) for code in codes)
    )
