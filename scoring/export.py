"""Export a selection: which records, in which format, and a manifest saying how they were chosen.

>>> selection_mask(np.array([0, 1, 2]), np.array([2, 0, 1]), "intersection", k=2).tolist()
[False, True, False]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa

from scoring import __version__
from scoring.hashing import file_digest
from scoring.tables import original_records, table_bytes

EXPORTED = ("zipfit", "rds", "intersection", "union")
"""Which records an export holds: one method's top k, those both chose, or those either chose."""
FORMATS = {"jsonl": "application/jsonl", "csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


def selection_mask(zipfit_rank: np.ndarray | None, rds_rank: np.ndarray | None, which: str, k: int) -> np.ndarray:
    """(N,) bool: one method's top k, or the records both (`intersection`) or either (`union`) chose."""
    if which == "zipfit":
        return np.asarray(zipfit_rank) < k
    if which == "rds":
        return np.asarray(rds_rank) < k
    in_z, in_r = np.asarray(zipfit_rank) < k, np.asarray(rds_rank) < k
    if which == "intersection":
        return in_z & in_r
    if which == "union":
        return in_z | in_r
    raise ValueError(f"unknown selection {which!r}; use one of {', '.join(EXPORTED)}")


def selected_records(results: pa.Table, mask: np.ndarray) -> pa.Table:
    """The rows of a results table where `mask` (N,) is true, with only the original columns: what is exported."""
    return original_records(results.filter(pa.array(mask)))


def records_bytes(results: pa.Table, mask: np.ndarray, fmt: str) -> bytes:
    """The selected rows of a results table with their original columns, as `jsonl`, `csv` or `parquet`."""
    return table_bytes(selected_records(results, mask), fmt)


def manifest(
    *, selection: str, k: int, fmt: str, file_name: str, data: bytes, count: int, context: Mapping[str, Any]
) -> dict[str, Any]:
    """What an exported file holds and how it was chosen: parameters, input hashes, file hash, version.

    `context` describes the run (inputs with their sha256, each method's parameters).
    """
    return {
        "tool": "selection-lens",
        "version": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "selection": selection,
        "k": k,
        "file": file_name,
        "format": fmt,
        "records": count,
        "file_sha256": file_digest(data),
        "run": dict(context),
    }
