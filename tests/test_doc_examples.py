"""The examples in the library's docstrings run and print what they show (a wrong example misleads a reader)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import scoring

MODULES = sorted(
    info.name for info in pkgutil.iter_modules(scoring.__path__, "scoring.") if info.name != "scoring.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_the_docstring_examples_of_each_scoring_module_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (output above)"
