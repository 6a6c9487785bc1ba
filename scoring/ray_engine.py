"""The Ray engine (`--engine ray`): ZIP-FIT shards and RDS+ embedding on a Ray cluster, with Ray Data.

Same values as the local engine (`scoring.pipeline`), because the workers run the same pure functions and the
driver (this process) does everything else with the same code:

- the cache stays on the driver: it looks up what is cached, sends only the missing texts (each distinct text
  once) to Ray, and stores what comes back in the same tables under the same keys as `run_zipfit` and
  `embed_texts`, so a local run after a Ray run computes nothing, and the other way round;
- ZIP-FIT: the pool texts go out in shards of about `PAIRS_PER_SHARD` x⊕t pairs (longest first,
  then mixed: `_shards`), through one
  `map_batches` of Ray tasks; the targets and their sizes are broadcast once with `ray.put`. A worker uses
  the native gzip helper when it has one (`scoring.native`), else the Python loop: the sizes are the same
  integers either way, so scores, nearest targets and ranks equal the local engine's exactly;
- RDS+: `map_batches` over an actor pool whose actors each load the model once: one GPU per actor (CUDA,
  bfloat16) when the cluster has GPUs, else CPU float32, one actor per `CPUS_PER_ACTOR` CPUs. Batches are
  formed differently from the local engine's, so embeddings agree to float rounding (about 1e-6), not bit
  for bit; the driver then runs `pipeline.run_rds` with them, so a pool larger than memory is scored out of
  core the same way and the ranks come from the same `rds.select`;
- progress is reported per finished shard, and cancelling stops between shards, keeping what finished.

Ray is optional (`pip install -r requirements-ray.txt`) and imported only here, only when this engine runs.
Without `address` a local cluster is started on this machine's cores (no dashboard, usage stats off) and shut
down at the end; with one (`ray.init(address=...)`) the `scoring` package is shipped to the cluster with the
job, whose nodes need the other requirements (requirements.txt, requirements-models.txt).

>>> with RayEngine() as engine:  # a local cluster, started at the first work and shut down at the end
...     result = engine.run_zipfit(["def f(): pass", "Bonjour"], ["def g(): return 1"], ZipfitParams())
>>> result.nearest_target.tolist()
[0, 0]
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import socket
import threading
from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from scoring import zipfit
from scoring.cache import Cache, CacheTable
from scoring.compression import encoded_lengths
from scoring.errors import OptionError
from scoring.hashing import text_keys
from scoring.models import Device, ModelSpec, default_device
from scoring.native import size_functions
from scoring.pipeline import (
    PAIRS_PER_CHUNK,
    RdsParams,
    ZipfitParams,
    ZipfitResult,
    embedding_table,
    model_spec,
    run_rds,
    zipfit_tables,
)
from scoring.progress import ProgressCounter, ProgressFn, default_workers
from scoring.rds import RdsResult
from scoring.runner import Checkpoints, check_cancel, compute_cached, mixed_chunks

log = logging.getLogger(__name__)

INSTALL = "pip install -r requirements-ray.txt"
PAIRS_PER_SHARD = 16 * PAIRS_PER_CHUNK
"""x⊕t pairs per ZIP-FIT shard (one Ray task): ~1-2 s of one core, so Ray's per-task cost stays under 1%."""
TEXTS_PER_SHARD = 64
"""Texts per RDS+ shard (one call of an actor), cut into forward passes of `--batch-size` by the actor."""
CPUS_PER_ACTOR = 1
"""CPUs (torch threads) of each CPU embedding actor: one single-threaded actor per core was fastest here."""
GPU_DEVICE, CPU_DEVICE = Device("cuda", "bfloat16"), Device("cpu", "float32")
PROBE_SECONDS = 5.0
"""How long `--ray-address` may take to accept a connection before the command gives up."""
AUTH_LOGGER = "ray._private.authentication.authentication_token_setup"
DEFAULT_ZIPFIT, DEFAULT_RDS = ZipfitParams(), RdsParams()


def import_ray() -> ModuleType:
    """The `ray` module with Ray Data, usage stats off; OptionError naming the install command if missing."""
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"  # never phone home, whatever the environment says
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise OptionError(
            "--engine", f"ray needs Ray Data, which is not installed ({e}); install it with {INSTALL}"
        ) from None
    return ray


class RayEngine:
    """`run_zipfit`, `run_rds` and `embed_texts` like `scoring.pipeline`'s, computed on a Ray cluster.

    `address`: an existing cluster (`ray.init(address=address)`), else a local one on `num_cpus` cores (default:
    all). If Ray is already initialised in this process (a notebook, a test), that cluster is used as it is
    and left running. Nothing starts until there is work that is not in the cache. Use it in a `with` block:
    the cluster it started (if any) is shut down at the end.
    """

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        self.ray = import_ray()
        if address:
            _probe(address)  # now, not after the data is loaded
        self.address, self.num_cpus = address, num_cpus
        self._started = False

    # --- the cluster -----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect to (or start) the cluster, once."""
        _quiet_ray_data(self.ray)
        if self.ray.is_initialized():
            return
        with _own_signal_handlers():
            try:
                if self.address:
                    self._connect()
                else:
                    logging.getLogger(AUTH_LOGGER).setLevel(logging.ERROR)  # "token auth is enabled": Ray's default
                    cpus = self.num_cpus or default_workers()
                    self.ray.init(num_cpus=cpus, include_dashboard=False, logging_level=logging.WARNING)
            except BaseException:  # e.g. Ctrl-C while the cluster starts: stop the processes already started
                self.ray.shutdown()
                raise
        self._started = True

    def _connect(self) -> None:
        """Join the cluster at `address`, shipping this `scoring` package with the job; OptionError if it fails."""
        code = str(Path(__file__).resolve().parent)
        try:
            self.ray.init(address=self.address, runtime_env={"py_modules": [code]}, logging_level=logging.WARNING)
        except (ConnectionError, ValueError, RuntimeError) as e:
            reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise OptionError(
                "--ray-address", f"cannot connect to a Ray cluster at {self.address!r} ({reason}); is it running?"
            ) from None

    def __enter__(self) -> RayEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Shut down the local cluster (or disconnect from the remote one) if this engine started it."""
        if self._started:
            self.ray.shutdown()
            self._started = False

    def device(self) -> Device:
        """Where the embedding actors run: CUDA bfloat16 if the cluster has GPUs, else CPU float32.

        For a local cluster not yet started that is this machine's `default_device()`: nothing starts.
        """
        if not self.ray.is_initialized() and not self.address:
            return default_device()
        self.start()
        return GPU_DEVICE if self.ray.cluster_resources().get("GPU", 0) >= 1 else CPU_DEVICE

    # --- ZIP-FIT ---------------------------------------------------------------------------------------------

    def run_zipfit(
        self,
        pool: Sequence[str],
        targets: Sequence[str],
        params: ZipfitParams = DEFAULT_ZIPFIT,
        *,
        cache: Cache | None = None,
        workers: int | None = None,
        on_progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
    ) -> ZipfitResult:
        """Exact ZIP-FIT like `pipeline.run_zipfit` (same cache tables); `workers` is taken for the same signature:
        the cluster's CPUs set the parallelism."""
        if not targets:
            raise ValueError("ZIP-FIT needs at least one target text")
        cache = cache or Cache(None)
        size_table, align_table = zipfit_tables(cache, params, text_keys(targets))
        target_sizes = _target_sizes(targets, params, size_table)
        pool_keys = text_keys(pool)
        work = _Todo.of(pool_keys, align_table)
        counter = ProgressCounter(len(pool) * len(targets), on_progress)
        counter.advance((len(pool) - work.done(slice(None))) * len(targets))
        if len(work.todo):
            self.start()
            known, found = size_table.get(pool_keys[work.todo])
            texts = [pool[i] for i in work.todo]
            results = self._aligned(texts, np.where(found, known, -1), targets, target_sizes, params)
            with Checkpoints(align_table) as aligned, Checkpoints(size_table) as sized:
                for batch in _batches(results, cancel):
                    rows, fresh = batch["row"], ~found[batch["row"]]
                    indices = work.todo[rows]
                    work.values[indices] = np.stack([batch["score"], batch["nearest"]], axis=1)
                    aligned.add(pool_keys[indices], work.values[indices])
                    sized.add(pool_keys[indices[fresh]], batch["size"][fresh])
                    counter.advance(work.done(rows) * len(targets))
        values = work.finished()
        return ZipfitResult(score=values[:, 0].copy(), nearest_target=values[:, 1].astype(np.int64))

    def _aligned(
        self,
        texts: list[str],
        sizes: np.ndarray,
        targets: Sequence[str],
        target_sizes: np.ndarray,
        params: ZipfitParams,
    ) -> Any:
        """The Ray dataset of (row, size, score, nearest) for `texts`: Ray tasks, the targets broadcast once."""
        broadcast = self.ray.put(([t.encode() for t in targets], target_sizes))
        shards = _shards({"text": texts, "size": sizes}, encoded_lengths(texts), PAIRS_PER_SHARD // len(targets))
        return self.ray.data.from_arrow(shards).map_batches(
            _zipfit_shard,
            batch_size=None,
            batch_format="numpy",
            fn_kwargs={"broadcast": broadcast, "compressor": params.compressor, "level": params.level},
            num_cpus=1,
        )

    # --- RDS+ ------------------------------------------------------------------------------------------------

    def run_rds(
        self,
        pool: Sequence[str],
        targets: Sequence[str],
        params: RdsParams = DEFAULT_RDS,
        *,
        task_ids: Sequence[Hashable] | None = None,
        cache: Cache | None = None,
        on_progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
        memory_budget_bytes: int | None = None,
    ) -> RdsResult:
        """`pipeline.run_rds` (out of core the same way) with the embeddings computed on the cluster."""
        return run_rds(
            pool,
            targets,
            params,
            task_ids=task_ids,
            cache=cache,
            on_progress=on_progress,
            cancel=cancel,
            memory_budget_bytes=memory_budget_bytes,
            embed=self.embed_texts,
        )

    def embed_texts(
        self,
        texts: Sequence[str],
        params: RdsParams = DEFAULT_RDS,
        *,
        cache: Cache | None = None,
        on_progress: ProgressFn | None = None,
        cancel: threading.Event | None = None,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """(N, d) float32 embeddings like `pipeline.embed_texts`, through the same cache table, into `out` if given.

        The table's key holds the precision of the cluster's device (`device()`), as a local run on that
        device would. Shards are cut from texts sorted by length (characters: the driver loads no tokenizer)
        and run the longest first, then mixed (`_shards`).
        """
        cache = cache or Cache(None)
        spec = model_spec(params, cache)
        device = self.device()
        table = embedding_table(cache, spec, params, device)
        keys = text_keys(texts)
        work = _Todo.of(keys, table, out)
        counter = ProgressCounter(len(texts), on_progress)
        counter.advance(len(texts) - work.done(slice(None)))
        if len(work.todo):
            self.start()
            results = self._embedded([texts[i] for i in work.todo], spec, params, device, cache)
            with Checkpoints(table) as stored:
                for batch in _batches(results, cancel):
                    rows, vectors = batch["row"], batch["vector"]
                    if vectors.shape[1] != spec.dim:
                        raise OptionError("--model", f"{spec.name} gives {vectors.shape[1]}-dim states, not {spec.dim}")
                    work.values[work.todo[rows]] = vectors
                    stored.add(keys[work.todo[rows]], vectors)
                    counter.advance(work.done(rows))
        return work.finished()

    def _embedded(self, texts: list[str], spec: ModelSpec, params: RdsParams, device: Device, cache: Cache) -> Any:
        """The Ray dataset of (row, vector) for `texts`, computed by an actor pool holding the model."""
        rows = params.batch_size * max(1, TEXTS_PER_SHARD // params.batch_size)
        shards = _shards({"text": texts}, [len(t) for t in texts], rows)
        resources = self.ray.cluster_resources()
        if device.name == "cuda":
            actors, per_actor = int(resources.get("GPU", 1)), {"num_gpus": 1, "num_cpus": 1}
        else:
            actors, per_actor = max(1, int(resources.get("CPU", 1)) // CPUS_PER_ACTOR), {"num_cpus": CPUS_PER_ACTOR}
        root = None if cache.root is None else str(cache.root)
        return self.ray.data.from_arrow(shards).map_batches(
            _Embedder,
            batch_size=None,
            batch_format="numpy",
            fn_constructor_args=(spec, params, device, root, per_actor["num_cpus"]),
            compute=self.ray.data.ActorPoolStrategy(size=min(actors, len(shards))),
            **per_actor,
        )


def _target_sizes(targets: Sequence[str], params: ZipfitParams, table: CacheTable) -> np.ndarray:
    """(M,) C(t) of the targets, through the size cache, on this machine: M compressions, a moment's work."""
    encoded = [t.encode() for t in targets]
    return compute_cached(
        text_keys(targets), lambda idx: sizes_of([encoded[i] for i in idx], params), table, chunk_size=1024
    )


@dataclass
class _Todo:
    """What a cache lookup of `keys` (N,) left to compute, and the values found.

    Example: keys [a, b, a] with nothing cached -> todo [0, 1] (a, b: each distinct key once), weight [2, 1].
    """

    values: np.ndarray  # (N, ...) cached values, zero where missing
    missing: np.ndarray  # indices of the keys not cached
    todo: np.ndarray  # one index per distinct missing key
    inverse: np.ndarray  # missing[i] has the key of todo[inverse[i]]
    weight: np.ndarray  # how many keys share each todo key

    @classmethod
    def of(cls, keys: np.ndarray, table: CacheTable, out: np.ndarray | None = None) -> _Todo:
        values, found = table.get(keys, out=out)
        missing = np.flatnonzero(~found)
        _, first, inverse, counts = np.unique(keys[missing], return_index=True, return_inverse=True, return_counts=True)
        return cls(values, missing, missing[first], inverse, counts)

    def done(self, rows: np.ndarray) -> int:
        """How many keys the todo entries `rows` stand for."""
        return int(self.weight[rows].sum())

    def finished(self) -> np.ndarray:
        """The values, each computed one copied to the other keys equal to it."""
        self.values[self.missing] = self.values[self.todo[self.inverse]]
        return self.values


# --- shards and results ---------------------------------------------------------------------------------------


def _shards(columns: dict[str, Sequence[Any]], lengths: Sequence[int], rows: int) -> list[Any]:
    """Arrow tables of `rows` rows each (column `row`: the index in `columns`), of texts of similar length, in
    `mixed_order` of their lengths: the longest first (memory peaks at once), then mixed (a steady ETA).

    Each shard is built on its own (not sliced from one table) so that Ray ships only its rows.
    """
    import pyarrow as pa

    lengths = np.asarray(lengths, dtype=np.int64)
    shards = []
    for part in mixed_chunks(-lengths, rows, lengths):
        table = {"row": pa.array(part, pa.int64())}
        for name, column in columns.items():
            if isinstance(column, np.ndarray):
                table[name] = pa.array(column[part])
            else:
                table[name] = pa.array([column[i] for i in part], pa.large_string())
        shards.append(pa.table(table))
    return shards


def _batches(dataset: Any, cancel: threading.Event | None) -> Iterator[dict[str, np.ndarray]]:
    """Each finished shard's results as NumPy columns, in finishing order; `Cancelled` between shards."""
    iterator = iter(dataset.iter_batches(batch_size=None, batch_format="numpy", prefetch_batches=0))
    try:
        while True:
            check_cancel(cancel)
            try:
                batch = next(iterator, None)
            except Exception as e:
                raise _option_error(e) or e from None
            if batch is None:
                return
            yield batch
    finally:
        close = getattr(iterator, "close", None)
        if close is not None:
            close()  # stops the shards still running


WORKER_OPTION_ERROR = re.compile(r"^scoring\.errors\.OptionError: (--[a-z-]+): (.*)$", re.MULTILINE)
"""The last line of the traceback Ray keeps of an OptionError a worker raised (e.g. a --max-length the model's
tokenizer cannot cut to): Ray Data hands the driver its text, not the exception."""


def _option_error(error: Exception) -> OptionError | None:
    """The OptionError a worker raised, rebuilt from `error`'s traceback text, or None if it holds none."""
    found = WORKER_OPTION_ERROR.findall(str(error))
    return OptionError(*found[-1]) if found else None


@contextlib.contextmanager
def _own_signal_handlers() -> Iterator[None]:
    """Put back this process's SIGINT and SIGTERM handlers after the block: `ray.init` installs its own C++ one
    for SIGTERM, which killed the run (status 15) instead of letting the command line save the finished work
    and shut the cluster down (143)."""
    if threading.current_thread() is not threading.main_thread():  # only there can handlers be set
        yield
        return
    handlers = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in handlers.items():
            if handler is not None:  # None: set outside Python, nothing to put back
                signal.signal(signum, handler)


def _probe(address: str, timeout_s: float = PROBE_SECONDS) -> None:
    """OptionError unless `HOST:PORT` (or `ray://HOST:PORT`) accepts a TCP connection within `timeout_s`.

    Ray itself retries an unreachable address for minutes; this fails in seconds. "auto", "local" and other
    schemes (`SCHEME://...`) pass; anything else is refused. Example: `_probe("127.0.0.1:1")` -> OptionError
    "nothing answers at 127.0.0.1:1 ...".
    """
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        if address in ("auto", "local") or ("://" in address and not address.startswith("ray://")):
            return
        raise OptionError(
            "--ray-address", f"{address!r} is not a Ray cluster address; give HOST:PORT, ray://HOST:PORT or auto"
        )
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise OptionError(
            "--ray-address", f"nothing answers at {address} ({e.strerror or e}); is the Ray cluster running there?"
        ) from None


def _quiet_ray_data(ray: ModuleType) -> None:
    """No Ray Data progress bars or per-run INFO lines: the command line shows its own progress."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled"


# --- what runs on the workers ---------------------------------------------------------------------------------


def sizes_of(texts: Sequence[bytes], params: ZipfitParams) -> np.ndarray:
    """(n,) int64 C(s): the native gzip helper if this process has it, else `zipfit.sizes`."""
    return size_functions(params.compressor, params.level)[0](texts)


def zipfit_rows(
    texts: Sequence[str], sizes: np.ndarray, targets: Sequence[bytes], target_sizes: np.ndarray, params: ZipfitParams
) -> dict[str, np.ndarray]:
    """C(x) `size` (n,) int64, alignment `score` (n,) float64 and `nearest` (n,) float64 of n pool texts.

    `sizes[i] < 0` means C(x_i) is not known yet. The same functions as `pipeline.run_zipfit`, so the same
    numbers. Example: `zipfit_rows(["abc"], np.array([-1]), [b"abc"], np.array([23]), ZipfitParams())`
    -> size [23], score [0.87] (1 - NCD 0.13), nearest [0.0].
    """
    xs = [text.encode() for text in texts]
    sizes = np.array(sizes, dtype=np.int64)
    unknown = np.flatnonzero(sizes < 0)
    if len(unknown):
        sizes[unknown] = sizes_of([xs[i] for i in unknown], params)
    joint = size_functions(params.compressor, params.level)[1](xs, targets)
    score, nearest = zipfit.alignments_from_sizes(sizes, target_sizes, joint)
    return {"size": sizes, "score": score, "nearest": nearest.astype(np.float64)}


def _zipfit_shard(batch: dict[str, np.ndarray], broadcast: Any, compressor: str, level: int) -> dict[str, np.ndarray]:
    """A Ray Data batch function: `zipfit_rows` of one shard, its `row` numbers passed through."""
    import ray

    targets, target_sizes = ray.get(broadcast)
    result = zipfit_rows(list(batch["text"]), batch["size"], targets, target_sizes, ZipfitParams(compressor, level))
    return {"row": batch["row"], **result}


class _Embedder:
    """A Ray Data actor: loads the model once (`load_encoder`), then embeds shards of texts like `embed_texts`.

    `cache_root` is the driver's cache folder, where a converted SmolLM2 copy may be kept: used when this node
    sees it (the same machine or a shared disk), else the model is loaded without one.
    """

    def __init__(self, spec: ModelSpec, params: RdsParams, device: Device, cache_root: str | None, threads: int):
        import torch

        from scoring.models import load_encoder

        shared = cache_root is not None and _reachable(cache_root)
        self.encoder = load_encoder(spec, Cache(cache_root if shared else None), device)
        self.params = params
        if device.name == "cpu":
            torch.set_num_threads(threads)  # load_encoder set every core of the node; this actor has `threads`

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from scoring.embedding import embed

        vectors = embed(self.encoder, list(batch["text"]), self.params.max_length, self.params.batch_size)
        return {"row": batch["row"], "vector": vectors}


def _reachable(folder: str) -> bool:
    """Whether this node can use `folder` (it exists, or its parent does and can be written)."""
    path = Path(folder)
    return path.is_dir() or (path.parent.is_dir() and os.access(path.parent, os.W_OK))
