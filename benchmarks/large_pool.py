"""Write a large candidate pool of real text for scale checks: Python code from the installed packages.

    .venv/bin/python benchmarks/large_pool.py --records 100000 --out /tmp/pool100k.jsonl
    .venv/bin/python benchmarks/large_pool.py --from-sample --records 20000 --out /tmp/pool20k.jsonl

Every function, method or class with a docstring in the `.py` files of this environment's site-packages and
standard library (source with decorators, 150 to `--max-chars` characters, each distinct text once) is a candidate;
the pool is a seeded sample of them, so the same environment gives the same file. Records are
`{"id", "text", "origin"}` (origin = file path relative to its root, and the function's name). Nothing is
downloaded. The sample pool in sample_data/ is smaller and mixes domains; this one is code-heavy on purpose:
it exists to load the dashboard and the scorers with a realistic number of distinct texts.

`--from-sample` writes the sample pool repeated instead, each copy after the first made distinct by a
"# copy k" line: the pool of `bench_memory.py` and of the 20k rows of the README's results table.
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


def sample_copies(n: int) -> list[str]:
    """n distinct pool texts: the sample pool, repeated; copies after the first end with a '# copy k' line."""
    from scoring.loading import load_dataset

    sample = load_dataset(Path(__file__).resolve().parent.parent / "sample_data" / "pool.jsonl").texts
    return [sample[i % len(sample)] + (f"\n# copy {i // len(sample)}" if i >= len(sample) else "") for i in range(n)]


def code_texts(records: int, max_chars: int, seed: int) -> list[tuple[str, str]]:
    """`records` distinct (text, origin) pairs drawn from this environment's Python files (see above)."""
    seen: dict[str, str] = {}
    for root in roots():
        for path in sorted(root.rglob("*.py")):
            for name, text in functions(path, max_chars):
                seen.setdefault(text, f"{path.relative_to(root)}:{name}")
    texts = sorted(seen)
    if len(texts) < records:
        sys.exit(f"error: only {len(texts)} distinct texts found; ask for --records {len(texts)} or fewer")
    return [(text, seen[text]) for text in random.Random(seed).sample(texts, records)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="pool size (default 100000)")
    parser.add_argument("--out", type=Path, required=True, help="JSONL file to write")
    parser.add_argument("--max-chars", type=int, default=2500, help="longest text kept (default 2500)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--from-sample",
        action="store_true",
        help='the sample pool repeated, each copy made distinct by a "# copy k" line',
    )
    args = parser.parse_args()
    if args.from_sample:
        chosen = [(text, "sample_data/pool.jsonl") for text in sample_copies(args.records)]
    else:
        chosen = code_texts(args.records, args.max_chars, args.seed)
    tmp = args.out.with_name(args.out.name + ".partial")
    with tmp.open("w", encoding="utf-8") as f:
        for i, (text, origin) in enumerate(chosen):
            f.write(json.dumps({"id": f"large-{i:06d}", "text": text, "origin": origin}, ensure_ascii=False) + "\n")
    tmp.replace(args.out)
    print(f"wrote {args.records} distinct texts to {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
