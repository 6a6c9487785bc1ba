"""Copies of uploads in the cache (dashboard.kept_files): found again by sha256, never a changed or foreign file."""

from __future__ import annotations

import doctest
import hashlib
import os

import pytest

from dashboard import kept_files
from scoring.cache import Cache

DATA = b'{"text": "def f():\\n    return 1"}\n'


def test_the_docstring_example_holds():
    result = doctest.testmod(kept_files, optionflags=doctest.ELLIPSIS)
    assert result.attempted
    assert not result.failed


def test_a_kept_file_comes_back_by_its_sha256_with_its_name(tmp_path):
    cache = Cache(tmp_path)
    digest = kept_files.keep(cache, "pool.jsonl", DATA)
    assert digest == hashlib.sha256(DATA).hexdigest()
    assert kept_files.find(cache, digest) == kept_files.KeptFile("pool.jsonl", DATA, digest)


def test_a_name_with_folders_comes_back_as_its_last_part(tmp_path):
    cache = Cache(tmp_path)
    digest = kept_files.keep(cache, "../../etc/pool.jsonl", DATA)
    assert kept_files.find(cache, digest).name == "pool.jsonl"


def test_a_copy_changed_on_disk_is_not_found(tmp_path):
    cache = Cache(tmp_path)
    digest = kept_files.keep(cache, "pool.jsonl", DATA)
    (cache.folder("uploads") / digest).write_bytes(DATA + b'{"text": "slipped in"}\n')
    assert kept_files.find(cache, digest) is None


@pytest.mark.parametrize("digest", [None, "", "a" * 63, "A" * 64, "../" + "a" * 61, "a" * 64 + "\n"])
def test_what_is_not_a_sha256_is_not_looked_up(tmp_path, digest):
    cache = Cache(tmp_path)
    kept_files.keep(cache, "pool.jsonl", DATA)
    assert kept_files.find(cache, digest) is None


def test_clearing_the_cache_removes_the_copies(tmp_path):
    cache = Cache(tmp_path)
    digest = kept_files.keep(cache, "pool.jsonl", DATA)
    cache.clear()
    assert kept_files.find(cache, digest) is None
    assert not any(tmp_path.rglob(digest + "*"))


def test_without_a_cache_folder_or_a_writable_one_nothing_is_kept_and_nothing_fails(tmp_path):
    assert kept_files.find(Cache(None), kept_files.keep(Cache(None), "pool.jsonl", DATA)) is None
    (tmp_path / "v1").mkdir()
    os.chmod(tmp_path / "v1", 0o500)
    try:
        cache = Cache(tmp_path)
        if os.access(tmp_path / "v1", os.W_OK):  # root ignores the mode: use a file where the folder would go
            os.chmod(tmp_path / "v1", 0o700)
            (tmp_path / "v1" / "uploads").write_text("not a folder")
        digest = kept_files.keep(cache, "pool.jsonl", DATA)
    finally:
        os.chmod(tmp_path / "v1", 0o700)
    assert digest == hashlib.sha256(DATA).hexdigest()
    assert kept_files.find(cache, digest) is None
