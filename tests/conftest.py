"""Shared fixtures: every test gets its own cache folder, and nothing writes to the real cache.

Disk: a passing test's folder is deleted as it ends (`tmp_path_retention_policy` in pyproject.toml) and a
module's shared folder when the module ends (`tests.scratch.module_folder`), so the suite needs about 0.6 GB free
at any moment (one converted SmolLM2 copy is 0.5 GB), not the 2 GB it writes in all. The run's header shows what
is free.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from scoring.cache import CACHE_ENV


def pytest_report_header() -> str:
    """The free space where tests write: a run that fills the disk fails in every test after that point."""
    folder = tempfile.gettempdir()
    return f"free disk in {folder}: {shutil.disk_usage(folder).free / 1e9:.1f} GB (the suite needs about 0.6 GB)"


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the default cache at a fresh folder for each test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(CACHE_ENV, str(folder))
    return folder


@pytest.fixture
def write_jsonl(tmp_path: Path) -> Callable[..., Path]:
    """write_jsonl("name.jsonl", [{...}, ...]) -> path of a JSONL file in this test's folder."""

    def write(name: str, records: list[dict]) -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        return path

    return write
