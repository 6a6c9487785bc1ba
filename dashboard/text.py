"""Showing user text safely: always as text, shortened where space is short, never as HTML."""

from __future__ import annotations

import html

ELLIPSIS = "…"
MISSING = "(missing)"
"""How a value that is null or absent reads on the pages."""


BIDI_CONTROLS = {code: f"⟪U+{code:04X}⟫" for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]}
"""Characters that reorder the text after them (`"\\u202eevil"` shows as "live"): shown by name, not obeyed."""


def shorten(text: str, limit: int = 160) -> str:
    """One line of at most `limit` characters, bidi controls named: `shorten("a\\nb", 10)` -> `"a⏎b"`."""
    flat = text.replace("\r\n", "\n").replace("\n", "⏎").replace("\t", " ").translate(BIDI_CONTROLS)
    return flat if len(flat) <= limit else flat[: limit - 1] + ELLIPSIS


def escape(text: str) -> str:
    """Text for a plotly label (legend, title): `<`, `>` and `&` escaped so tags show as text."""
    return html.escape(text, quote=False)


def hover(text: str, limit: int = 200) -> str:
    """Text for a plotly hover label: shortened, wrapped, and escaped so tags in it show as text.

    Example: `hover("<b>hi</b>")` -> `"&lt;b&gt;hi&lt;/b&gt;"` (plotly would otherwise render the bold tag).
    """
    short = shorten(text, limit)
    lines = [short[i : i + 60] for i in range(0, len(short), 60)]
    return "<br>".join(escape(line) for line in lines)


MARKDOWN_SPECIAL = set("\\`*_{}[]()#+-.!|<>~$:")


def plain(text: str) -> str:
    """User text for a place Streamlit renders as Markdown: every special character backslash-escaped.

    Example: `plain("**x** [a](b)")` -> `"\\*\\*x\\*\\* \\[a\\]\\(b\\)"` (shown as typed, no bold, no link).
    """
    return "".join("\\" + c if c in MARKDOWN_SPECIAL else c for c in text)


CONTROLS = {
    "name one with --text-field": "choose one in the Text field box",
    "--model: ": "RDS+ model: ",
    "--max-length: ": "Max length (tokens): ",
    "choose another --task-field": "choose another Task column",
}
"""Command-line wording in the library's messages, and what the dashboard's controls are called instead."""


def in_ui_terms(message: str) -> str:
    """A library message with its command-line options named as the sidebar's controls.

    Example: `in_ui_terms("--model: 'x' is not a bundled model")` -> `"RDS+ model: 'x' is not a bundled model"`.
    """
    for option, control in CONTROLS.items():
        message = message.replace(option, control)
    return message


def plural(count: int, noun: str) -> str:
    """`noun`, with an s unless `count` is 1: `plural(1, "record")` -> "record", `plural(0, "record")` -> "records"."""
    return noun if count == 1 else f"{noun}s"
