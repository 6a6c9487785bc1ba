"""Tables of pool records: shortened text in the table, the whole text of a clicked row below it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from dashboard import state
from dashboard.text import BIDI_CONTROLS, shorten
from scoring.tables import rows_of

COLUMN_LABELS = {
    "pool_index": st.column_config.NumberColumn("#", format="%d", width="small"),
    "text": st.column_config.TextColumn("text", width="large"),
    "length": st.column_config.NumberColumn("chars", format="%d", width="small"),
    "zipfit_score": st.column_config.NumberColumn("ZIP-FIT score", format="%.4f"),
    "zipfit_rank": st.column_config.NumberColumn("ZIP-FIT rank", format="%d"),
    "rds_score": st.column_config.NumberColumn("RDS+ score", format="%.4f"),
    "rds_rank": st.column_config.NumberColumn("RDS+ rank", format="%d"),
    "both": st.column_config.CheckboxColumn("both", help="in the other method's top k too", width="small"),
}
HIDDEN = ("zipfit_nearest_target", "rds_nearest_target")
WRAP_CHARS = 120
"""About how many characters a line of the full-text box holds before it wraps (the page's width)."""


def table(rows: pd.DataFrame, key: str, height: int = 400, show_text: bool = True) -> int | None:
    """Show `rows` of the results frame; the pool index of the row clicked (its full text shown unless
    `show_text` is False), or None."""
    shown = rows.drop(columns=[c for c in HIDDEN if c in rows]).assign(text=rows["text"].map(shorten))
    index = _clickable(shown, rows["pool_index"].to_numpy(), key, height, COLUMN_LABELS)
    if index is not None and show_text:
        full_text(index)
    return index


def file_preview(rows: pa.Table, pool_rows: np.ndarray, key: str, height: int = 300) -> None:
    """Rows of an export as the file holds them (`rows`: its columns, from `scoring.export.selected_records`),
    long values shortened; a clicked row's whole text is shown below. `pool_rows` (len(rows),) are their pool
    indices."""
    frame = pd.DataFrame.from_records(rows_of(rows), columns=rows.column_names)
    for column in frame.columns:
        if pd.api.types.is_object_dtype(frame[column]):  # text, nested, binary and mixed values: shown as text
            frame[column] = frame[column].map(_cell)
    index = _clickable(frame, pool_rows, key, height)
    if index is not None:
        full_text(index)


def _clickable(
    frame: pd.DataFrame, pool_rows: np.ndarray, key: str, height: int, config: dict | None = None
) -> int | None:
    """Show `frame`, whose rows are pool records `pool_rows` (len(frame),); the pool index of the row clicked.

    The widget key includes which records are listed, so a clicked row is forgotten when the list changes
    (a filter, another k): Streamlit keeps a selection by row position, which would then name another record.
    """
    listed = hashlib.blake2b(np.ascontiguousarray(pool_rows).tobytes(), digest_size=8).hexdigest()
    event = st.dataframe(
        frame,
        key=state.key(f"{key}.{listed}"),
        hide_index=True,
        height=height,
        column_config=config,
        on_select="rerun",
        selection_mode="single-row",
    )
    picked = event.selection.rows
    return int(pool_rows[picked[0]]) if picked and picked[0] < len(pool_rows) else None


def _cell(value: Any) -> str | None:
    """A value of an exported record as one short line: `{"a": [1]}` -> `'{"a": [1]}'`, bytes -> "(3 bytes)"."""
    if value is None:
        return None
    if isinstance(value, str):
        return shorten(value)
    if isinstance(value, bytes):
        return f"({len(value):,} bytes)"
    if isinstance(value, list | dict):
        return shorten(json.dumps(value, ensure_ascii=False, default=str))
    return str(value)


def containing(query: str, pool_digest: str) -> np.ndarray:
    """(N,) bool: which pool texts contain `query` anywhere (case-insensitive, as typed: no pattern), e.g.
    `containing("return", digest)[i]`. The table shows shortened texts; this searches the whole ones."""
    return _containing(query, pool_digest, state.get("results").inputs.pool.dataset.texts)


@st.cache_data(max_entries=8, show_spinner=False)
def _containing(query: str, pool_digest: str, _texts: list[str]) -> np.ndarray:  # _texts: named by pool_digest
    needle = query.casefold()
    return np.fromiter((needle in text.casefold() for text in _texts), dtype=bool, count=len(_texts))


def full_text(index: int) -> None:
    """The whole text of pool record `index`, as text, in a box about as tall as the wrapped text (at most 400 px)."""
    text = state.get("results").inputs.pool.dataset.texts[index]
    shown = text.translate(BIDI_CONTROLS)  # obeyed, "\u202eevil" would read "live"
    named = " · direction controls shown by name, as ⟪U+202E⟫" if shown != text else ""
    st.caption(f"Record #{index} · {len(text):,} characters{named}")
    rows = sum(1 + len(line) // WRAP_CHARS for line in shown.split("\n"))  # long lines wrap
    st.code(shown, language=None, wrap_lines=True, height=min(400, 20 + 20 * rows) if text else "content")
