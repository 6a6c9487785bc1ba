"""ZIP-FIT (Obbad et al., 2024): alignment of a text to targets by normalized compression distance.

NCD(x, t) = (C(x⊕t) - min(C(x), C(t))) / max(C(x), C(t)), with x⊕t the pool text then the target text,
and alignment(x) = 1 - mean_j NCD(x, t_j). Pure functions: bytes and sizes in, arrays out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from scoring.compression import Sizer

JointSizes = Callable[[Sequence[bytes], Sequence[bytes]], np.ndarray]
"""Sizes C(x⊕t) of some texts against some targets: (xs, ts) -> (len(xs), len(ts)) int64, e.g. `joint_sizes`
with a sizer, or the C helper (`scoring.native`)."""


def ncd(cx: np.ndarray | int, ct: np.ndarray | int, cxt: np.ndarray | int) -> np.ndarray | float:
    """Normalized compression distance from the sizes C(x), C(t) and C(x⊕t), elementwise.

    Example: for gzip level 9, `ncd(C(b"abc"), C(b"abc"), C(b"abcabc"))` is 0.13, not 0: the 18-byte gzip
    frame and the back-reference cost bytes even when x and t are identical.
    """
    return (cxt - np.minimum(cx, ct)) / np.maximum(cx, ct)


def sizes(texts: Sequence[bytes], size: Sizer) -> np.ndarray:
    """(n,) int64 compressed sizes C(s)."""
    return np.fromiter((size(text) for text in texts), dtype=np.int64, count=len(texts))


def joint_sizes(pool: Sequence[bytes], targets: Sequence[bytes], size: Sizer) -> np.ndarray:
    """(n, m) int64 sizes C(x_i⊕t_j): n×m compressions (see scoring.native for the C version)."""
    joint = np.empty((len(pool), len(targets)), dtype=np.int64)
    for i, x in enumerate(pool):
        joint[i] = [size(x + t) for t in targets]
    return joint


def alignments_from_sizes(
    pool_sizes: np.ndarray, target_sizes: np.ndarray, joint: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Alignment (n,) float64 and nearest target (n,) int64 from C(x) (n,), C(t) (m,) and C(x⊕t) (n, m).

    The nearest target has the lowest NCD (the first one on ties).
    """
    distance = ncd(np.asarray(pool_sizes)[:, None], np.asarray(target_sizes)[None, :], joint)
    return 1.0 - distance.mean(axis=1), distance.argmin(axis=1).astype(np.int64)
