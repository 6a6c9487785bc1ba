"""The examples in the library's docstrings run and print what they show (a wrong example misleads a reader)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import tempfile
from pathlib import Path

import pytest

import scoring

ROOT = Path(__file__).resolve().parent.parent
MODULES = sorted(
    info.name for info in pkgutil.iter_modules(scoring.__path__, "scoring.") if info.name != "scoring.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_the_docstring_examples_of_each_scoring_module_hold(name: str, tmp_path, monkeypatch) -> None:
    # As from the project folder (the examples name sample_data/), but whatever they write lands in tmp_path.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (output above)"
