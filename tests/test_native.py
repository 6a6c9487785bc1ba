"""The optional C helper for exact ZIP-FIT: same sizes as Python's zlib, and a clean fallback without it."""

from __future__ import annotations

import random

import numpy as np
import pytest

from scoring import native
from scoring.compression import sizer
from scoring.pipeline import ZipfitParams, run_zipfit
from scoring.zipfit import joint_sizes, sizes


def texts(seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    words = "def return the of und für 数据 café {} ;\n    ".split(" ")
    return [b""] + [" ".join(rng.choice(words) for _ in range(rng.choice([1, 30, 400]))).encode() for _ in range(count)]


@pytest.fixture
def fresh_native(monkeypatch):
    clear_native_caches()
    yield monkeypatch
    clear_native_caches()


def clear_native_caches() -> None:
    for cached in (native.gzip_pair_sizes, native.gzip_sizes, native._library):
        cached.cache_clear()


@pytest.mark.skipif(not native.LIBRARY.is_file(), reason="C helper not built (make native)")
@pytest.mark.parametrize("level", [1, 6, 9])
def test_native_sizes_equal_python_zlib(level):
    joint = native.gzip_pair_sizes(level)
    assert joint is not None
    pool, targets = texts(level, 25), texts(100 + level, 7)
    np.testing.assert_array_equal(joint(pool, targets), joint_sizes(pool, targets, sizer("gzip", level)))
    np.testing.assert_array_equal(native.gzip_sizes(level)(pool), sizes(pool, sizer("gzip", level)))


@pytest.mark.skipif(not native.LIBRARY.is_file(), reason="C helper not built (make native)")
def test_run_zipfit_is_the_same_with_and_without_the_helper(fresh_native):
    pool, targets = [t.decode() for t in texts(1, 40)], [t.decode() for t in texts(2, 9)]
    with_helper = run_zipfit(pool, targets, ZipfitParams(level=9), workers=2)
    fresh_native.setenv(native.DISABLE_ENV, "1")
    clear_native_caches()
    assert native.gzip_pair_sizes(9) is None
    assert native.gzip_sizes(9) is None
    without = run_zipfit(pool, targets, ZipfitParams(level=9), workers=2)
    np.testing.assert_array_equal(with_helper.score, without.score)
    np.testing.assert_array_equal(with_helper.nearest_target, without.nearest_target)


def test_missing_or_broken_library_falls_back(fresh_native, tmp_path):
    fresh_native.setattr(native, "LIBRARY", tmp_path / "missing.so")
    assert native.gzip_pair_sizes(9) is None
    clear_native_caches()
    broken = tmp_path / "broken.so"
    broken.write_bytes(b"not a shared library")
    fresh_native.setattr(native, "LIBRARY", broken)
    assert native.gzip_pair_sizes(6) is None
    result = run_zipfit(["def f(): pass"], ["def g(): return 1"])  # the Python loop
    assert result.score.shape == (1,)
