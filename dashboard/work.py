"""Background work for the current inputs: one job per method, keyed by content, and the results table.

Nothing here computes on the script thread: jobs run in `scoring.jobs`, and a rerun only reads what they
have finished.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from dashboard import state
from dashboard.inputs import Inputs
from dashboard.text import MISSING
from scoring import __version__, zipfit_fast
from scoring.compare import agreement
from scoring.errors import ScoringError
from scoring.explain import rds_similarities
from scoring.hashing import params_digest
from scoring.jobs import CANCELLED, DONE, FAILED, RUNNING, Job, JobFn
from scoring.loading import Dataset
from scoring.mapping import MapParams, cached_umap_2d
from scoring.models import default_device
from scoring.pipeline import (
    RdsResult,
    ZipfitResult,
    embed_texts,
    embedding_id,
    model_spec,
    rds_metadata,
    run_rds,
    run_zipfit,
    run_zipfit_fast,
    zipfit_metadata,
)
from scoring.tables import METHOD_PREFIXES, method_columns, results_table

METHODS = {"zipfit": "ZIP-FIT", "rds": "RDS+"}
DISPLAY_LIMIT = 300
"""Characters of text kept in the display table (the full text is shown on request)."""
FRAME_COLUMNS = frozenset({"pool_index", "text", "length", "agreement", "both", "x", "y"})
"""Columns of the results frame (and those the pages add to it) that the pool's own fields must not overwrite."""


@dataclass
class Results:
    """What the views show: the inputs, each method's result (None until its job is done) and a frame."""

    inputs: Inputs
    jobs: dict[str, Job]
    zipfit: ZipfitResult | None
    rds: RdsResult | None
    frame: pd.DataFrame
    key: str
    """Identifies what the views draw from: the pool, k and each finished job (its key names its inputs)."""

    @property
    def k(self) -> int:
        return self.inputs.k

    @property
    def both(self) -> bool:
        return self.zipfit is not None and self.rds is not None

    def stopped(self, method: str) -> bool:
        """Whether `method`'s job ("zipfit" or "rds") failed or was cancelled, so its results will not come."""
        return self.jobs[method].state in (FAILED, CANCELLED)

    def not_shown(self, method: str) -> str:
        """Why `method` ("zipfit" or "rds") has no results to show: running, failed or cancelled."""
        label, job_state = METHODS[method], self.jobs[method].state
        if job_state == FAILED:
            return f"{label} failed: the message and a retry button are at the top of the page."
        if job_state == CANCELLED:
            return f"{label} was cancelled: resume it at the top of the page."
        return f"{label} is still running." if job_state == RUNNING else f"{label} is waiting for its turn to run."

    def table(self) -> pa.Table:
        """The full results table (original columns included), as `python -m scoring score` writes it."""
        columns: dict[str, np.ndarray] = {}
        if self.zipfit is not None:
            z = self.zipfit
            columns |= method_columns("zipfit", z.score, z.rank, z.nearest_target, self.k)
        if self.rds is not None:
            columns |= method_columns("rds", self.rds.score, self.rds.rank, self.rds.nearest_target, self.k)
        return results_table(self.inputs.pool.dataset, columns, describe(self.inputs))


def describe(inputs: Inputs) -> dict:
    """Parameters and input identities, for metadata and export manifests."""
    return {
        "version": __version__,
        "pool": {"source": inputs.pool.label, "records": len(inputs.pool.dataset), "texts_sha256": inputs.pool.digest},
        "targets": {
            "source": inputs.targets.label,
            "records": len(inputs.targets.dataset),
            "texts_sha256": inputs.targets.digest,
            "task_field": inputs.task_field,
        },
        "zipfit": zipfit_metadata(inputs.zipfit, inputs.zipfit_mode, estimated=zipfit_estimated(inputs)),
        "rds": _rds_about(inputs),
        "k": inputs.k,
    }


def zipfit_estimated(inputs: Inputs) -> bool:
    """Whether ZIP-FIT's scores are estimates: fast mode, with a pool and targets large enough for it to estimate
    (with fewer, it compresses every pair and its scores are exact: `scoring.zipfit_fast.estimates`)."""
    pool, targets = inputs.pool, len(inputs.targets.dataset)
    return inputs.zipfit_mode == "fast" and _estimates(pool.digest, targets, pool.dataset.texts)


@st.cache_resource(max_entries=16, show_spinner=False)
def _estimates(pool_digest: str, targets: int, _texts: list[str]) -> bool:
    return zipfit_fast.estimates(_texts, targets)


def _rds_about(inputs: Inputs) -> dict:
    """What the command line records of RDS+ (the model's identity: which weights), or the parameters alone
    when the model cannot be found (its job fails and says why)."""
    try:
        spec = model_spec(inputs.rds, state.cache())
    except ScoringError:
        return asdict(inputs.rds)
    return rds_metadata(inputs.rds, spec, default_device(), inputs.task_field)


@dataclass(frozen=True)
class JobSpec:
    """A job that may or may not exist yet: its content key, label, work and lane."""

    key: str
    label: str
    work: JobFn
    lane: str

    def ensure(self) -> Job:
        """The job, submitted if new or cancelled by another session; a failed one, or one this session
        cancelled (stopped, stopping, running on for another session, or no longer kept), is returned as is
        (for a retry button), and the job this session showed before in the lane stops unless someone else
        wants it."""
        existing = state.jobs().get(self.key)
        if self.withdrawn or (existing is not None and existing.state == FAILED):
            shown = state.jobs().attend(self.key, lane=self.lane, by=state.session_id())
            return shown or Job(self.key, self.label, state=CANCELLED)  # no longer kept: still cancelled here
        return self.restart()

    def restart(self) -> Job:
        """Submit again after a failure or cancellation: it resumes from what the cache holds."""
        state.put("withdrawn", state.get("withdrawn", frozenset()) - {self.key})
        state.jobs().forget_submitters(state.closed)  # jobs of closed tabs stop: nobody waits behind them
        return state.jobs().submit(self.key, self.label, self.work, lane=self.lane, by=state.session_id())

    def cancel(self) -> Job | None:
        """This session no longer wants the job: it stops unless another session wants it too."""
        state.put("withdrawn", state.get("withdrawn", frozenset()) | {self.key})
        return state.jobs().withdraw(self.key, state.session_id())

    @property
    def withdrawn(self) -> bool:
        """Whether this session cancelled the job (and has not resumed it)."""
        return self.key in state.get("withdrawn", frozenset())


def method_jobs(inputs: Inputs) -> dict[str, JobSpec]:
    """The ZIP-FIT and RDS+ jobs for `inputs`."""
    return {"zipfit": zipfit_job(inputs), "rds": rds_job(inputs)}


def zipfit_job(inputs: Inputs) -> JobSpec:
    pool, targets, params, cache = inputs.pool, inputs.targets, inputs.zipfit, state.cache()
    mode = inputs.zipfit_mode
    key = f"zipfit-{mode}:" + params_digest({"pool": pool.digest, "targets": targets.digest, **asdict(params)})

    def work(progress, cancel) -> ZipfitResult:
        texts = (pool.dataset.texts, targets.dataset.texts)
        if mode == "fast":  # compresses a few percent of the pairs: seconds, so no progress to report
            return run_zipfit_fast(*texts, params, cache=cache, cancel=cancel)
        return run_zipfit(*texts, params, cache=cache, on_progress=progress, cancel=cancel)

    return JobSpec(key, "ZIP-FIT (fast)" if mode == "fast" else "ZIP-FIT", work, "zipfit")


def rds_job(inputs: Inputs) -> JobSpec:
    pool, targets, params, tasks, cache = inputs.pool, inputs.targets, inputs.rds, inputs.task_ids, state.cache()
    key = "rds:" + params_digest({"pool": pool.digest, "targets": targets.digest, "tasks": tasks, **asdict(params)})

    def work(progress, cancel) -> RdsResult:
        return run_rds(
            pool.dataset.texts,
            targets.dataset.texts,
            params,
            task_ids=tasks,
            cache=cache,
            on_progress=progress,
            cancel=cancel,
        )

    return JobSpec(key, "RDS+", work, "rds")


def map_job(inputs: Inputs) -> JobSpec:
    """The 2-D map of pool and target embeddings (rows: pool items, then targets)."""
    pool, targets, params, cache = inputs.pool, inputs.targets, inputs.rds, state.cache()
    space = embedding_id(params, cache)
    key = "map:" + params_digest({"pool": pool.digest, "targets": targets.digest, "embedding": space})

    def work(progress, cancel) -> np.ndarray:
        vectors = embed_texts(pool.dataset.texts + targets.dataset.texts, params, cache=cache, cancel=cancel)
        keys = np.concatenate([pool.keys, targets.keys])
        return cached_umap_2d(keys, vectors, space, MapParams(), cache=cache, on_progress=progress, cancel=cancel)

    return JobSpec(key, "Map", work, "map")


def why_rds_job(inputs: Inputs, index: int) -> JobSpec:
    """RDS+ similarities (M,) of pool record `index` to every target, embedding what the cache no longer holds."""
    pool, targets, params, cache = inputs.pool, inputs.targets, inputs.rds, state.cache()
    key = "why-rds:" + params_digest({"pool": pool.digest, "index": index, "targets": targets.digest, **asdict(params)})

    def work(progress, cancel) -> np.ndarray:
        text = pool.dataset.texts[index]
        return rds_similarities(text, targets.dataset.texts, params, cache=cache, on_progress=progress, cancel=cancel)

    return JobSpec(key, "RDS+ nearest targets", work, "why")


def results(inputs: Inputs, jobs: dict[str, Job]) -> Results:
    """The finished results for `inputs` (a method whose job is not done yet is None)."""
    done = {name: job.key if job.state == DONE else None for name, job in jobs.items()}
    zipfit = jobs["zipfit"].result if done["zipfit"] else None
    rds = jobs["rds"].result if done["rds"] else None
    frame = _frame(inputs.pool.records_digest, done["zipfit"], done["rds"], inputs.k, inputs, zipfit, rds)
    key = params_digest({"pool": inputs.pool.records_digest, "k": inputs.k, **done})
    return Results(inputs, jobs, zipfit, rds, frame, key)


@st.cache_resource(max_entries=8, show_spinner=False)
def _frame(
    records_digest: str,
    zipfit_key: str | None,
    rds_key: str | None,
    k: int,
    _inputs: Inputs,
    _zipfit: ZipfitResult | None,
    _rds: RdsResult | None,
) -> pd.DataFrame:
    """One row per pool item: index, text (shortened), length, label-like metadata (see `metadata_columns`), each
    method's columns."""
    inputs, zipfit, rds = _inputs, _zipfit, _rds
    dataset = inputs.pool.dataset
    frame = pd.DataFrame(
        {
            "pool_index": np.arange(len(dataset)),
            "text": [text[:DISPLAY_LIMIT] for text in dataset.texts],
            "length": [len(text) for text in dataset.texts],
        }
    )
    for column, field in metadata_columns(inputs).items():
        frame[column] = [_label(record.get(field)) for record in dataset.records]
    if zipfit is not None:
        frame["zipfit_score"] = zipfit.score
        frame["zipfit_rank"] = zipfit.rank
        frame["zipfit_nearest_target"] = zipfit.nearest_target
    if rds is not None:
        frame["rds_score"] = rds.score
        frame["rds_rank"] = rds.rank
        frame["rds_nearest_target"] = rds.nearest_target
    if zipfit is not None and rds is not None:
        frame["agreement"] = agreement(frame["zipfit_rank"].to_numpy(), frame["rds_rank"].to_numpy(), inputs.k)
    return frame


def _label(value: object) -> str:
    """A metadata value as the pages show it: `None` and an absent field both read "(missing)"."""
    return MISSING if value is None else str(value)


def metadata_columns(inputs: Inputs, limit: int = 50) -> dict[str, str]:
    """Original fields that at least two records have, for colour and tables, as {frame column: field}: labels
    (strings, numbers, booleans) with 2 to `limit` distinct values, e.g. `source`, and numbers with any count of
    distinct values, e.g. a quality score. A field named like one of the pages' own columns is shown as
    `original_<name>`. Found once per pool (it reads every record: ~0.2 s for 100k), not on every rerun.

    Example: fields `source` and `length` -> {"source": "source", "original_length": "length"}.
    """
    return dict(_metadata_columns(inputs.pool.records_digest, limit, inputs.pool.dataset))


@st.cache_resource(max_entries=16, show_spinner=False)
def _metadata_columns(records_digest: str, limit: int, _dataset: Dataset) -> dict[str, str]:
    dataset = _dataset
    found = {}
    for field in dataset.columns:
        values = [record.get(field) for record in dataset.records]
        if field == "text" or not all(isinstance(v, str | int | float | bool) or v is None for v in values):
            continue
        distinct = len(set(values))
        if distinct > 1 and (distinct <= limit or _numbers(values)) and len(values) - values.count(None) >= 2:
            column = field
            while column in FRAME_COLUMNS or column.startswith(METHOD_PREFIXES) or column in found:
                column = f"original_{column}"
            found[column] = field
    return found


def metadata_numbers(inputs: Inputs, column: str) -> np.ndarray | None:
    """Metadata `column` (a frame column of `metadata_columns`) as numbers (N,) float64, NaN where null or
    absent; None when it is not metadata or holds anything but numbers (booleans count as not numbers).

    Example: field `year` holding 1999, null, 2004 -> [1999.0, nan, 2004.0].
    """
    field = metadata_columns(inputs).get(column)
    if field is None:
        return None
    values = [record.get(field) for record in inputs.pool.dataset.records]
    if not _numbers(values):
        return None
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _numbers(values: list[object]) -> bool:
    """Whether every value is a number or None (booleans are not numbers here)."""
    return all(v is None or (isinstance(v, int | float) and not isinstance(v, bool)) for v in values)
