"""Write a large candidate pool of real text for scale checks: Python code from the installed packages.

    .venv/bin/python benchmarks/large_pool.py --records 100000 --out /tmp/pool100k.jsonl

Every function, method or class with a docstring in the `.py` files of this environment's site-packages and
standard library (source with decorators, 150 to `--max-chars` characters, each distinct text once) is a candidate;
the pool is a seeded sample of them, so the same environment gives the same file. Records are
`{"id", "text", "origin"}` (origin = file path relative to its root, and the function's name). Nothing is
downloaded. The sample pool in sample_data/ is smaller and mixes domains; this one is code-heavy on purpose:
it exists to load the dashboard and the scorers with a realistic number of distinct texts.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import sys
import sysconfig
import warnings
from collections.abc import Iterator
from pathlib import Path

MIN_CHARS = 150


def roots() -> list[Path]:
    """The standard library and site-packages folders of this interpreter."""
    paths = sysconfig.get_paths()
    return sorted({Path(paths[key]) for key in ("stdlib", "purelib", "platlib") if Path(paths[key]).is_dir()})


def functions(path: Path, max_chars: int) -> Iterator[tuple[str, str]]:
    """(name, source) of each function, method or class with a docstring in one file; nothing for unreadable files."""
    try:
        source = path.read_text(encoding="utf-8")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
        return
    lines = source.splitlines(keepends=True)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and ast.get_docstring(node):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            text = "".join(lines[first : node.end_lineno])
            if MIN_CHARS <= len(text) <= max_chars:
                yield node.name, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="pool size (default 100000)")
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    parser.add_argument("--max-chars", type=int, default=2500, help="longest text kept (default 2500)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    seen: dict[str, str] = {}
    for root in roots():
        for path in sorted(root.rglob("*.py")):
            for name, text in functions(path, args.max_chars):
                seen.setdefault(text, f"{path.relative_to(root)}:{name}")
    texts = sorted(seen)
    if len(texts) < args.records:
        sys.exit(f"error: only {len(texts)} distinct texts found; ask for --records {len(texts)} or fewer")
    chosen = random.Random(args.seed).sample(texts, args.records)
    tmp = args.out.with_name(args.out.name + ".partial")
    with tmp.open("w", encoding="utf-8") as f:
        for i, text in enumerate(chosen):
            f.write(json.dumps({"id": f"large-{i:06d}", "text": text, "origin": seen[text]}, ensure_ascii=False) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.records} of {len(texts)} distinct texts to {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
