"""`python -m scoring`: score a candidate pool against targets, export the selected records, embed texts.

Every user error ends with exit status 2 and one line `error: WHERE: what is wrong, and what to do` on
stderr; no output file is written or touched unless the whole run succeeds.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from scoring import __version__, tasks, zipfit_fast
from scoring.atomic import atomic_path
from scoring.cache import CACHE_ENV, Cache, default_cache_dir, open_cache
from scoring.compression import LEVELS
from scoring.errors import Cancelled, InputError, OptionError, ScoringError, is_disk_full, one_line
from scoring.export import EXPORTED, selected_records, selection_mask
from scoring.hashing import key_hex, list_digest, text_keys
from scoring.loading import Dataset, load_dataset
from scoring.models import DEFAULT_MODEL, default_device
from scoring.pipeline import (
    RdsParams,
    ZipfitParams,
    embed_texts,
    embedding_settings,
    model_spec,
    rds_metadata,
    run_rds,
    run_zipfit,
    run_zipfit_fast,
    zipfit_metadata,
)
from scoring.progress import ProgressFn
from scoring.ranking import check_k
from scoring.rds import SELECTIONS
from scoring.runner import checkpoint_seconds
from scoring.tables import (
    METADATA_KEY,
    RECORD_FORMATS,
    check_output_path,
    metadata_of,
    method_columns,
    read_results,
    results_table,
    write_parquet,
    write_records,
)

DEBUG_ENV = "SCORING_DEBUG"
log = logging.getLogger("scoring")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one `error:` line (exit 2) like every other user error."""

    def error(self, message: str) -> NoReturn:
        print(one_line(f"error: {message}; see `{self.prog} --help`"), file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m scoring", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    score = commands.add_parser("score", help="score a pool against targets and write a Parquet table")
    score.add_argument(
        "--pool",
        required=True,
        metavar="FILE",
        help="candidate records (.jsonl/.ndjson .json .csv .tsv .parquet/.pq .txt, optionally .gz)",
    )
    score.add_argument("--targets", required=True, metavar="FILE", help="target examples, same formats")
    score.add_argument("--method", required=True, choices=["zipfit", "rds", "all"], help="which method(s) to run")
    score.add_argument("--out", required=True, metavar="FILE.parquet", help="results: one row per pool record")
    score.add_argument("--text-field", metavar="NAME", help="field holding the text (default: detected)")
    score.add_argument(
        "--targets-text-field",
        metavar="NAME",
        help="field holding the targets' text, when it differs from the pool's (default: --text-field)",
    )
    score.add_argument("--compressor", default="gzip", choices=list(LEVELS), help="ZIP-FIT compressor (gzip)")
    score.add_argument(
        "--level",
        type=int,
        default=9,
        help="compression level: gzip 1-9 (default 9), lz4 1-16, zstd 1-22; 0 is refused",
    )
    score.add_argument(
        "--zipfit-mode",
        choices=["exact", "fast"],
        default="exact",
        help="exact (default) or fast: an approximation whose scoring is 13-23x faster on the sample data (gzip only; "
        "see scoring/zipfit_fast.py)",
    )
    score.add_argument("--k", type=int, metavar="K", help="also mark the top K of each method (<m>_selected)")
    _add_model_options(score)
    score.add_argument(
        "--selection",
        choices=SELECTIONS,
        help="RDS+ ranking: round-robin over targets (default, the paper's), or max or mean cosine over targets",
    )
    score.add_argument(
        "--task-field",
        metavar="NAME",
        help="field of the targets naming each one's task: RDS+ then round-robins across tasks, a pool item's "
        "task score being its max over that task's targets",
    )
    _add_common(score)
    _add_engine_options(score)
    score.set_defaults(run=_score)

    embed = commands.add_parser("embed", help="write the RDS+ embeddings of a file's texts (.parquet or .npy)")
    embed.add_argument("--input", required=True, metavar="FILE", help="records, in any format `score` reads")
    embed.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="FILE.parquet (columns index, text_sha256, embedding) or FILE.npy (an N×d float32 array); rows are "
        "unit vectors, zero for an empty text",
    )
    embed.add_argument("--text-field", metavar="NAME", help="field holding the text (default: detected)")
    _add_model_options(embed)
    _add_cache_options(embed)
    _add_engine_options(embed)
    embed.set_defaults(run=_embed)

    select = commands.add_parser("select", help="write the records a method selected, with their original columns")
    select.add_argument("--scores", required=True, metavar="FILE", help="a Parquet file written by `score`")
    select.add_argument(
        "--method",
        required=True,
        choices=EXPORTED,
        help="one method's top K, or the records both (intersection) or either (union) chose",
    )
    select.add_argument("--k", type=int, metavar="K", help="how many per method (default: the --k used to score)")
    select.add_argument("--out", required=True, metavar="FILE", help="output: " + ", ".join(RECORD_FORMATS))
    select.set_defaults(run=_select)
    return parser


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        metavar="NAME",
        help=f"RDS+ embedding model: {DEFAULT_MODEL} (default; SmolLM2-135M-Instruct, a causal LM like the "
        "paper's Llama), minilm (all-MiniLM-L6-v2: an encoder, not the paper's kind of model, ~9x faster on CPU), "
        "or a Hugging Face model folder or id already on this machine (nothing is downloaded; custom model code "
        "never runs)",
    )
    parser.add_argument(
        "--max-length",
        type=int,
        metavar="N",
        help="tokens read per text (default 512; the paper's code used 2048): a longer text is truncated to its "
        "first N tokens, special tokens included",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        metavar="N",
        help="texts per forward pass (default 8; more suits a GPU); padding never changes an embedding",
    )


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, metavar="N", help="threads for ZIP-FIT (default: every core)")
    _add_cache_options(parser)


def _add_cache_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache-dir", metavar="DIR", help=f"cache folder (default: ${CACHE_ENV}, else cache/ in the project folder)"
    )
    parser.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--engine",
        choices=["local", "ray"],
        default="local",
        help="where the work runs: local (default; threads on this machine) or ray (ZIP-FIT shards and RDS+ "
        "embedding on a Ray cluster, same scores; needs `pip install -r requirements-ray.txt`)",
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="with --engine ray: the address of a running Ray cluster (e.g. auto, HOST:6379, ray://HOST:10001); "
        "default: a local Ray cluster on this machine's cores (`score`: --workers of them), shut down at the end",
    )


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, `timeout`, a stopped container), raised like Ctrl-C so finished work is saved."""


class _Interrupts:
    """Ctrl-C and SIGTERM: raised at once (KeyboardInterrupt, Terminated) and remembered, because Python drops
    an exception raised inside a finalizer; the run then still stops, at its next chunk (`event`, the work's
    cancel event) or before writing its output (`check`). Example: `signal.signal(SIGINT, interrupts.handle)`."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None

    def handle(self, signum: int, frame: Any) -> NoReturn:
        self.signum = signum
        self.event.set()
        raise self._exception()

    def check(self) -> None:
        """Raise the interrupt again if one arrived."""
        if self.signum is not None:
            raise self._exception()

    def _exception(self) -> KeyboardInterrupt:
        return Terminated() if self.signum == signal.SIGTERM else KeyboardInterrupt()


DISK_FULL_ADVICE = (
    "free some space or write elsewhere (--out, --cache-dir), then run the same command again; "
    "finished work stays in the cache"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 internal error, 2 user error, 130 interrupted by
    Ctrl-C, 143 by SIGTERM)."""
    args = build_parser().parse_args(argv)
    _configure_logging()
    args.interrupts = interrupts = _Interrupts()
    in_main_thread = threading.current_thread() is threading.main_thread()  # only there can handlers be set
    signals = (signal.SIGINT, signal.SIGTERM) if in_main_thread else ()
    # A signal ignored by whoever started us (e.g. SIGINT for `command &` in a script) stays ignored.
    previous = {s: signal.signal(s, interrupts.handle) for s in signals if signal.getsignal(s) != signal.SIG_IGN}
    try:
        args.run(args)
    except ScoringError as e:
        if isinstance(e, Cancelled):
            return _interrupted(args, 143 if interrupts.signum == signal.SIGTERM else 130)
        print(one_line(f"error: {e}"), file=sys.stderr)
        return 2
    except Terminated:
        return _interrupted(args, 143)
    except KeyboardInterrupt:
        return _interrupted(args)
    except Exception as e:
        if is_disk_full(e):
            print(
                one_line(f"error: {_where_written(args)}: the disk is full ({e}); {DISK_FULL_ADVICE}"), file=sys.stderr
            )
            return 2
        if os.environ.get(DEBUG_ENV):
            raise
        internal = f"internal error ({type(e).__name__}: {e}); please report it, with the traceback that"
        print(one_line(f"error: {internal} {DEBUG_ENV}=1 shows"), file=sys.stderr)
        return 1
    finally:
        for signum, handler in previous.items():
            if handler is not None:  # None when a handler was set outside Python
                signal.signal(signum, handler)
    return 0


def _where_written(args: argparse.Namespace) -> str:
    """The places a command writes to, e.g. "--out chosen.jsonl or the cache /srv/selection-lens/cache"."""
    places = [f"--out {args.out}"] if getattr(args, "out", None) else []
    if _uses_cache(args):
        places.append(f"the cache {args.cache_dir or default_cache_dir()}")
    return " or ".join(places) or "writing"


def _uses_cache(args: argparse.Namespace) -> bool:
    """Whether the command keeps finished work in a cache (not `select`, not `--no-cache`)."""
    return hasattr(args, "no_cache") and not args.no_cache


def _interrupted(args: argparse.Namespace, status: int = 130) -> int:
    if _uses_cache(args):
        print("interrupted: finished work is saved in the cache; run the same command again to resume", file=sys.stderr)
    else:
        print("interrupted: nothing was written; run the same command again to start over", file=sys.stderr)
    return status


@contextlib.contextmanager
def _writing_out(args: argparse.Namespace) -> Iterator[None]:
    """Report a failure to write --out (e.g. its folder removed or made read-only during the run) as an --out
    error; a full disk is left to main(), which names every place written to."""
    try:
        yield
    except OSError as e:
        if is_disk_full(e):
            raise
        kept = "finished work is in the cache: " if _uses_cache(args) else ""
        reason = e.strerror or str(e)
        raise OptionError(
            "--out", f"{args.out!r} could not be written ({reason}); {kept}fix that and run again"
        ) from None


class _OneLineFormatter(logging.Formatter):
    """Log lines with control characters escaped (`errors.one_line`): a warning may quote the data."""

    def format(self, record: logging.LogRecord) -> str:
        return one_line(super().format(record))


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_OneLineFormatter("%(levelname)s: %(message)s"))
    logging.addLevelName(logging.WARNING, "warning")
    logging.addLevelName(logging.INFO, "info")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


# --- score ---------------------------------------------------------------------------------------------------


def _score(args: argparse.Namespace) -> None:
    methods = ["zipfit", "rds"] if args.method == "all" else [args.method]
    zipfit_params = ZipfitParams(args.compressor, args.level) if "zipfit" in methods else None
    rds_params = _rds_params(args) if "rds" in methods else None
    out = check_output_path(args.out, (".parquet",))
    if args.workers is not None and args.workers < 1:
        raise OptionError("--workers", f"{args.workers} is not a positive number of threads; use 1 or more")
    if args.k is not None and args.k < 1:  # before loading anything; the pool size is checked once it is known
        raise OptionError("--k", f"{args.k} is not a positive number of records; use 1 or more (at most the pool size)")
    if rds_params is None and (ignored := _ignored_rds_options(args)):
        log.warning(
            "%s: for RDS+ only; --method zipfit ignores %s", ", ".join(ignored), "them" if ignored[1:] else "it"
        )
    for name in (args.pool, args.targets):
        if Path(name).resolve() == out.resolve():
            raise OptionError("--out", f"{args.out!r} is an input file; write the results elsewhere")
    if args.engine == "ray" and zipfit_params is not None and args.zipfit_mode == "fast":
        raise OptionError("--zipfit-mode", "fast runs on the local engine only; use exact with --engine ray")
    cache = _cache(args)
    spec = None if rds_params is None else model_spec(rds_params, cache)  # fails now, not after loading the data
    engine = _engine(args)  # and so does a missing Ray
    pool = _load("pool", args.pool, args.text_field)
    try:
        targets = _load("targets", args.targets, args.targets_text_field or args.text_field)
    except InputError as e:  # --text-field was meant for the pool: say how to name the targets' own
        if args.targets_text_field or e.line is not None or f"has no field {args.text_field!r};" not in e.message:
            raise
        hint = "with --targets-text-field (--text-field names the pool's field, and the targets' unless that is given)"
        raise InputError(f"{e.message} {hint}", file=e.file, line=e.line) from None
    if args.k is not None:
        check_k(args.k, len(pool))
    task_ids = None
    if rds_params is not None and args.task_field is not None:  # checked now, not after ZIP-FIT
        task_ids = tasks.task_ids(targets, args.task_field)
        log.info("targets: %s from field %r", _many(len(dict.fromkeys(task_ids)), "task"), args.task_field)

    started, cancel = time.perf_counter(), args.interrupts.event
    columns: dict[str, np.ndarray] = {}
    metadata: dict[str, Any] = {"version": __version__, "pool": _identity(pool), "targets": _identity(targets)}
    with engine:
        if zipfit_params is not None:
            if args.zipfit_mode == "fast":
                result = run_zipfit_fast(
                    pool.texts, targets.texts, zipfit_params, cache=cache, workers=args.workers, cancel=cancel
                )
            else:
                with _progress_bar("ZIP-FIT", "pair") as progress:
                    result = engine.run_zipfit(
                        pool.texts,
                        targets.texts,
                        zipfit_params,
                        cache=cache,
                        workers=args.workers,
                        on_progress=progress,
                        cancel=cancel,
                    )
            columns.update(method_columns("zipfit", result.score, result.rank, result.nearest_target, args.k))
            estimated = args.zipfit_mode == "fast" and zipfit_fast.estimates(pool.texts, len(targets))
            metadata["zipfit"] = zipfit_metadata(zipfit_params, args.zipfit_mode, estimated=estimated)
        if rds_params is not None and spec is not None:
            columns.update(_score_rds(pool, targets, task_ids, rds_params, args, cache, engine))
            metadata["rds"] = rds_metadata(rds_params, spec, engine.device(), args.task_field)
    metadata["k"] = args.k
    args.interrupts.check()
    table = results_table(pool, columns, metadata)
    with _writing_out(args):
        write_parquet(table, out)
    seconds = time.perf_counter() - started
    counts = _many(len(pool), "record"), _many(len(targets), "target")
    log.info("scored %s against %s in %.1f s; wrote %s", *counts, seconds, out)


class _LocalEngine:
    """The local engine: scoring.pipeline on this machine (scoring.ray_engine.RayEngine has the same methods)."""

    run_zipfit = staticmethod(run_zipfit)
    run_rds = staticmethod(run_rds)
    embed_texts = staticmethod(embed_texts)
    device = staticmethod(default_device)

    def __enter__(self) -> _LocalEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _engine(args: argparse.Namespace) -> Any:
    """The engine for `--engine`, to use in a `with` block; OptionError now if Ray is asked for but missing."""
    if args.engine == "local":
        if args.ray_address is not None:
            raise OptionError("--ray-address", "needs --engine ray")
        return _LocalEngine()
    from scoring.ray_engine import RayEngine  # imports Ray: never for the local engine

    return RayEngine(args.ray_address, getattr(args, "workers", None))


def _cache(args: argparse.Namespace) -> Cache:
    if args.cache_dir is not None and not args.cache_dir.strip():  # e.g. --cache-dir "$DIR" with DIR unset
        raise OptionError(
            "--cache-dir", f"is empty; name a folder, or leave the option out to use {default_cache_dir()}"
        )
    checkpoint_seconds()  # refuses a bad $SCORING_CHECKPOINT_SECONDS now, even when all the work is cached
    if args.no_cache:
        if args.cache_dir is not None:
            log.warning("--cache-dir %s is ignored: --no-cache reads and writes no cache", args.cache_dir)
        return open_cache(None)
    option = "--cache-dir" if args.cache_dir or not os.environ.get(CACHE_ENV) else f"${CACHE_ENV} (or --cache-dir)"
    return open_cache(args.cache_dir or default_cache_dir(), option=option)


RDS_OPTIONS = {
    "--model": "model",
    "--max-length": "max_length",
    "--batch-size": "batch_size",
    "--selection": "selection",
}
"""RDS+ options and their RdsParams fields; left out, they take RdsParams' defaults (documented in --help)."""


def _rds_params(args: argparse.Namespace) -> RdsParams:
    given = {field: getattr(args, field, None) for field in RDS_OPTIONS.values()}
    return RdsParams(**{field: value for field, value in given.items() if value is not None})


def _ignored_rds_options(args: argparse.Namespace) -> list[str]:
    """The RDS+ options given to a run without RDS+, e.g. ["--model"]."""
    options = {**RDS_OPTIONS, "--task-field": "task_field"}
    return [option for option, field in options.items() if getattr(args, field, None) is not None]


def _score_rds(
    pool: Dataset,
    targets: Dataset,
    task_ids: list[str] | None,
    params: RdsParams,
    args: argparse.Namespace,
    cache: Cache,
    engine: Any,
) -> dict[str, np.ndarray]:
    with _progress_bar("RDS+ embedding", "text") as progress:
        result = engine.run_rds(
            pool.texts,
            targets.texts,
            params,
            task_ids=task_ids,
            cache=cache,
            on_progress=progress,
            cancel=args.interrupts.event,
        )
    return method_columns("rds", result.score, result.rank, result.nearest_target, args.k)


def _load(role: str, path: str, text_field: str | None) -> Dataset:
    dataset = load_dataset(path, text_field=text_field)
    log.info("%s: %s from %s (text: %s)", role, _many(len(dataset), "record"), path, dataset.text_origin)
    return dataset


def _many(count: int, noun: str) -> str:
    """`_many(1, "record")` -> "1 record", `_many(2933, "record")` -> "2,933 records"."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def _identity(dataset: Dataset) -> dict[str, Any]:
    return {"file": dataset.name, "records": len(dataset), "texts_sha256": list_digest(text_keys(dataset.texts))}


class _progress_bar:  # noqa: N801 - used as a context manager like a function
    """A tqdm bar on stderr when it is a terminal; yields a ProgressFn."""

    def __init__(self, description: str, unit: str) -> None:
        self.description, self.unit = description, unit
        self.bar: Any = None

    def __enter__(self) -> ProgressFn:
        if not sys.stderr.isatty():  # nothing to draw: tqdm is not even imported
            return lambda done, total: None
        from tqdm import tqdm

        self.bar = tqdm(desc=self.description, unit=self.unit, unit_scale=True)

        def update(done: int, total: int) -> None:
            self.bar.total = total
            self.bar.update(done - self.bar.n)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.close()


# --- embed ---------------------------------------------------------------------------------------------------


def _embed(args: argparse.Namespace) -> None:
    params = _rds_params(args)
    out = check_output_path(args.out, (".parquet", ".npy"))
    if Path(args.input).resolve() == out.resolve():
        raise OptionError("--out", f"{args.out!r} is the input file; write the embeddings elsewhere")
    cache = _cache(args)
    spec = model_spec(params, cache)
    engine = _engine(args)
    data = _load("input", args.input, args.text_field)
    started = time.perf_counter()
    with engine, _progress_bar("RDS+ embedding", "text") as progress:
        vectors = engine.embed_texts(
            data.texts, params, cache=cache, on_progress=progress, cancel=args.interrupts.event
        )
        device = engine.device()
    args.interrupts.check()
    if out.suffix.lower() == ".npy":
        with _writing_out(args), atomic_path(out) as tmp, open(tmp, "wb") as f:
            np.save(f, vectors, allow_pickle=False)
    else:
        settings = embedding_settings(spec, params, device.dtype)
        metadata = {"version": __version__, "input": _identity(data), "rds": {"model_label": spec.label, **settings}}
        table = _embedding_table(vectors, text_keys(data.texts), metadata)
        with _writing_out(args):
            write_parquet(table, out)
    seconds = time.perf_counter() - started
    log.info("embedded %s (%d dimensions) in %.1f s; wrote %s", _many(len(data), "text"), spec.dim, seconds, out)


def _embedding_table(vectors: np.ndarray, keys: np.ndarray, metadata: dict[str, Any]) -> Any:
    """index, text_sha256 (hex) and embedding (fixed-size list of float32) per text, metadata under `scoring`."""
    import json

    import pyarrow as pa

    embedding = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), vectors.shape[1])
    table = pa.table(
        {
            "index": pa.array(np.arange(len(vectors), dtype=np.int64)),
            "text_sha256": pa.array(key_hex(keys)),
            "embedding": embedding,
        }
    )
    return table.replace_schema_metadata({METADATA_KEY: json.dumps(metadata).encode()})


# --- select --------------------------------------------------------------------------------------------------


def _select(args: argparse.Namespace) -> None:
    out = check_output_path(args.out, RECORD_FORMATS)
    if Path(args.scores).resolve() == out.resolve():
        raise OptionError("--out", f"{args.out!r} is the scores file; write the selection elsewhere")
    table = read_results(args.scores)
    k = args.k if args.k is not None else metadata_of(table).get("k")
    if k is None:
        raise OptionError("--k", "needed, as this scores file was written without --k; give --k K (records per method)")
    check_k(k, table.num_rows)
    methods = ["zipfit", "rds"] if args.method in ("intersection", "union") else [args.method]
    ranks = {method: _ranks(table, method, args.scores) for method in methods}
    mask = selection_mask(ranks.get("zipfit"), ranks.get("rds"), args.method, k)
    chosen = selected_records(table, mask)
    args.interrupts.check()
    with _writing_out(args):
        write_records(chosen, out)
    log.info("wrote %s to %s", _many(chosen.num_rows, f"{args.method} record"), out)


def _ranks(table: Any, method: str, name: str) -> np.ndarray:
    column = f"{method}_rank"
    if column not in table.column_names:
        raise InputError(f"has no {column} column; score it with --method {method} (or all) first", file=name)
    ranks = table.column(column).to_numpy(zero_copy_only=False)  # a null makes floats, text makes objects
    if not np.issubdtype(ranks.dtype, np.integer):
        raise InputError(f"its {column} column is not the whole numbers `score` writes; rerun `score`", file=name)
    return ranks


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
