"""Scratch folders that do not outlive their use: the suite writes about 2 GB in all, and CI disks can be small."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def module_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A fresh folder for a module-scoped fixture, deleted when the fixture ends (when its module does).

    Example: `with module_folder(tmp_path_factory, "browser-cache") as folder: yield folder`
    """
    folder = tmp_path_factory.mktemp(name)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
