"""Optional C helper for exact ZIP-FIT with gzip: every x⊕t size of a block of rows in one call, GIL released.

`make native` (part of `make install`) compiles `_native/zipfit_pairs.c` against the system zlib into
`_native/libzipfit_pairs.so`: one deflateReset + deflate per pair, like the stock-zlib bound in
benchmarks/zipfit_bound.c. Called through ctypes, which releases the GIL for the whole block, so threads
scale like processes. The pure-Python loop is used instead when the library is missing or cannot be loaded,
when `$SCORING_NO_NATIVE` is set, or when its zlib disagrees with Python's `zlib` module (sizes must match
byte for byte). Results are the same either way; only the speed differs.

>>> joint = gzip_pair_sizes(9)  # None without the library
>>> joint is None or joint([b"abc"], [b"abc", b"xyz"]).tolist() == [[26, 26]]  # as len(gzip.compress(x + t))
True
"""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from scoring import zipfit
from scoring.compression import GZIP_FRAME_BYTES, sizer
from scoring.zipfit import JointSizes

log = logging.getLogger(__name__)

LIBRARY = Path(__file__).resolve().parent / "_native" / "libzipfit_pairs.so"
DISABLE_ENV = "SCORING_NO_NATIVE"

Sizes = Callable[[Sequence[bytes]], np.ndarray]
"""texts -> (len(texts),) int64 gzip sizes C(s)."""


@functools.cache
def gzip_pair_sizes(level: int) -> JointSizes | None:
    """The native C(x⊕t) block function for gzip at `level`, or None (then use the Python loop)."""
    library = _library()
    if library is None:
        return None

    def joint(xs: Sequence[bytes], targets: Sequence[bytes]) -> np.ndarray:
        (pool_data, pool_offsets), (target_data, target_offsets) = _packed(xs), _packed(targets)
        out = np.empty((len(xs), len(targets)), dtype=np.int64)
        status = library.zipfit_pair_sizes(
            pool_data,
            pool_offsets.ctypes.data,
            len(xs),
            target_data,
            target_offsets.ctypes.data,
            len(targets),
            level,
            out.ctypes.data,
        )
        if status != 0:
            raise MemoryError(f"native ZIP-FIT helper failed ({status})")
        return out

    probe = [b"", b"abc", b"hello hello hello", "ü".encode() * 300]
    expected = [[len(zlib.compress(x + t, level, -15)) + GZIP_FRAME_BYTES for t in probe] for x in probe]
    singles = [len(zlib.compress(x, level, -15)) + GZIP_FRAME_BYTES for x in probe]
    data, offsets = _packed(probe)
    out = np.empty(len(probe), dtype=np.int64)
    library.zipfit_sizes(data, offsets.ctypes.data, len(probe), level, out.ctypes.data)
    if joint(probe, probe).tolist() != expected or out.tolist() != singles:
        log.warning("the native ZIP-FIT helper disagrees with Python's zlib; using the Python loop")
        return None
    return joint


@functools.cache
def gzip_sizes(level: int) -> Sizes | None:
    """The native C(s) function for gzip at `level`, or None (then use scoring.zipfit.sizes)."""
    if gzip_pair_sizes(level) is None:  # loads and checks the library
        return None
    library = _library()

    def sizes(texts: Sequence[bytes]) -> np.ndarray:
        data, offsets = _packed(texts)
        out = np.empty(len(texts), dtype=np.int64)
        if library.zipfit_sizes(data, offsets.ctypes.data, len(texts), level, out.ctypes.data) != 0:
            raise MemoryError("native ZIP-FIT helper failed")
        return out

    return sizes


@functools.cache
def _library() -> ctypes.CDLL | None:
    if os.environ.get(DISABLE_ENV) or not LIBRARY.is_file():
        return None
    try:
        library = ctypes.CDLL(str(LIBRARY))
    except OSError as e:
        log.warning("the native ZIP-FIT helper cannot be loaded (%s); using the Python loop", e)
        return None
    library.zipfit_zlib_version.restype = ctypes.c_char_p
    pointer = ctypes.c_void_p
    library.zipfit_pair_sizes.argtypes = [
        pointer,
        pointer,
        ctypes.c_int64,
        pointer,
        pointer,
        ctypes.c_int64,
        ctypes.c_int,
        pointer,
    ]
    library.zipfit_pair_sizes.restype = ctypes.c_int
    library.zipfit_sizes.argtypes = [pointer, pointer, ctypes.c_int64, ctypes.c_int, pointer]
    library.zipfit_sizes.restype = ctypes.c_int
    if library.zipfit_zlib_version().decode() != zlib.ZLIB_RUNTIME_VERSION:
        return None
    return library


def _packed(texts: Sequence[bytes]) -> tuple[bytes, np.ndarray]:
    """The texts back to back, and (n + 1,) int64 offsets: text i is data[offsets[i]:offsets[i + 1]]."""
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=offsets[1:])
    return b"".join(texts), offsets


def size_functions(compressor: str, level: int) -> tuple[Sizes, JointSizes]:
    """C(s) of texts and C(x⊕t) of blocks for the compressor and level: the C helper for gzip when it is built
    (and agrees with zlib), else Python loops (with a sizer made per call, so threads never share one).

    >>> sizes, joint = size_functions("gzip", 9)
    >>> sizes([b"abc"]).tolist(), joint([b"abc"], [b"abc", b"xyz"]).tolist()
    ([23], [[26, 26]])
    """
    native_sizes = gzip_sizes(level) if compressor == "gzip" else None
    native_joint = gzip_pair_sizes(level) if compressor == "gzip" else None

    def sizes(texts: Sequence[bytes]) -> np.ndarray:
        return native_sizes(texts) if native_sizes else zipfit.sizes(texts, sizer(compressor, level))

    def joint(xs: Sequence[bytes], targets: Sequence[bytes]) -> np.ndarray:
        return native_joint(xs, targets) if native_joint else zipfit.joint_sizes(xs, targets, sizer(compressor, level))

    return sizes, joint
