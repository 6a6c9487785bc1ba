"""Compressed sizes C(s) as the `zip-fit` reference computes them, one function per compressor and level."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence

from scoring.errors import OptionError

GZIP_FRAME_BYTES = 18
"""gzip's 10-byte header and 8-byte trailer around the raw deflate stream."""

LEVELS: dict[str, range] = {"gzip": range(1, 10), "lz4": range(1, 17), "zstd": range(1, 23)}
"""Accepted levels per compressor. Level 0 is refused: gzip stores without compressing at 0."""

Sizer = Callable[[bytes], int]


def check_level(compressor: str, level: int) -> None:
    """Raise OptionError unless `level` is valid for `compressor` (gzip 1-9, lz4 1-16, zstd 1-22)."""
    if compressor not in LEVELS:
        raise OptionError("--compressor", f"{compressor!r} is not one of {', '.join(LEVELS)}")
    allowed = LEVELS[compressor]
    if level == 0 and compressor == "gzip":
        raise OptionError(
            "--level",
            "0 stores the text without compressing it, so every score would depend on length alone "
            "(the zip-fit reference code silently defaults to it); use 1-9 (9, the default, compresses best)",
        )
    if level not in allowed:
        raise OptionError("--level", f"{level} is out of range for {compressor}; use {allowed[0]}-{allowed[-1]}")


def encoded_lengths(texts: Sequence[str]) -> list[int]:
    """The UTF-8 size in bytes of each text: what compressing it costs (a CJK character is 3 bytes of work).

    >>> encoded_lengths(["ab", "é", "中文"])
    [2, 2, 6]
    """
    return [len(text) if text.isascii() else len(text.encode()) for text in texts]  # isascii() is O(1)


def sizer(compressor: str = "gzip", level: int = 9) -> Sizer:
    """A function bytes -> compressed size. Make one per thread: zstd compressors are not thread-safe.

    Example: `sizer("gzip", 9)(b"")` is 20 (an empty deflate block is 2 bytes, plus the 18-byte frame).
    """
    check_level(compressor, level)
    if compressor == "gzip":
        compress = zlib.compress

        def gzip_size(data: bytes) -> int:
            # Same size as len(gzip.compress(data, compresslevel=level)), without building the frame.
            return len(compress(data, level, -15)) + GZIP_FRAME_BYTES

        return gzip_size
    if compressor == "lz4":
        import lz4.frame

        return lambda data: len(lz4.frame.compress(data, compression_level=level))
    import zstandard

    compressor_ = zstandard.ZstdCompressor(level=level)
    return lambda data: len(compressor_.compress(data))
