"""ZIP-FIT (Obbad et al., 2024): alignment of a text to targets by normalized compression distance.

NCD(x, t) = (C(x⊕t) - min(C(x), C(t))) / max(C(x), C(t)), with x⊕t the pool text then the target text,
and alignment(x) = 1 - mean_j NCD(x, t_j). Pure functions: bytes and sizes in, arrays out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scoring.compression import Sizer


def ncd(cx: np.ndarray | int, ct: np.ndarray | int, cxt: np.ndarray | int) -> np.ndarray | float:
    """Normalized compression distance from the sizes C(x), C(t) and C(x⊕t), elementwise.

    Example: for gzip level 9, `ncd(C(b"abc"), C(b"abc"), C(b"abcabc"))` is 0.13, not 0: the 18-byte gzip
    frame and the back-reference cost bytes even when x and t are identical.
    """
    return (cxt - np.minimum(cx, ct)) / np.maximum(cx, ct)


def sizes(texts: Sequence[bytes], size: Sizer) -> np.ndarray:
    """(n,) int64 compressed sizes C(s)."""
    return np.fromiter((size(text) for text in texts), dtype=np.int64, count=len(texts))


def alignments(
    pool: Sequence[bytes],
    pool_sizes: np.ndarray,
    targets: Sequence[bytes],
    target_sizes: np.ndarray,
    size: Sizer,
) -> tuple[np.ndarray, np.ndarray]:
    """Alignment (n,) float64 of each pool text to all m targets, and its nearest target (n,) int64.

    The nearest target has the lowest NCD (the first one on ties). Cost: n×m compressions of x⊕t.
    """
    score = np.empty(len(pool), dtype=np.float64)
    nearest = np.empty(len(pool), dtype=np.int64)
    for i, (x, cx) in enumerate(zip(pool, pool_sizes, strict=True)):
        joint = np.fromiter((size(x + t) for t in targets), dtype=np.int64, count=len(targets))
        distance = ncd(cx, target_sizes, joint)
        score[i] = 1.0 - distance.mean()
        nearest[i] = distance.argmin()
    return score, nearest
