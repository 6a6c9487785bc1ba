"""The sidebar: targets, candidate pool and parameters. Upload errors show next to their uploader."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import streamlit as st

from dashboard import kept_files, link, state
from dashboard.text import in_ui_terms, plain, plural
from scoring import tasks
from scoring.errors import InputError, OptionError
from scoring.hashing import file_digest, list_digest, params_digest, text_keys
from scoring.loading import FORMATS, Dataset, Records, choose_text_rule, parse_records, string_fields, with_texts
from scoring.models import MODELS
from scoring.pipeline import RdsParams, ZipfitParams, model_spec

log = logging.getLogger(__name__)

UPLOAD, PASTE = "Upload a file", "Paste text"
SOURCES = {
    "humaneval": "HumanEval: Python problems with solutions",
    "translation": "Translation: English → 10 languages (chat)",
    "sample": "Sample pool: code, prose, maths, 24 languages",
    "upload": UPLOAD,
    "paste": PASTE,
}
"""Each source's word in the page's URL (`?targets=translation&pool=upload`)."""
SAMPLE_TARGETS = {SOURCES["humaneval"]: "targets_humaneval.jsonl", SOURCES["translation"]: "targets_translation.jsonl"}
SAMPLE_POOL = "pool.jsonl"
PARAMETERS = ("k", "k_pct", "level", "fast", "model", "model_id", "max_length", "selection")
"""The URL's names of the values under Parameters."""
UPLOAD_TYPES = [suffix.lstrip(".") for suffix in FORMATS] + ["gz"]
AUTO = "(detect)"
NO_TASKS = "(none)"
DEFAULT_K = 100
"""Records each method selects on a first visit (the command line marks none unless given --k)."""
DEFAULT_LEVEL, DEFAULT_MAX_LENGTH = ZipfitParams().level, RdsParams().max_length
SELECTIONS = {"round-robin": "round-robin over targets (the paper's)", "max": "max cosine", "mean": "mean cosine"}


@dataclass(frozen=True)
class Loaded:
    """A dataset ready to score: `keys` are the texts' sha256 (N,), `digest` identifies the list of texts (what
    scores depend on) and `records_digest` the records with their other fields (what the pages show)."""

    dataset: Dataset
    keys: np.ndarray
    digest: str
    label: str
    records_digest: str


@dataclass(frozen=True)
class Inputs:
    """Everything a scoring run depends on."""

    pool: Loaded
    targets: Loaded
    task_ids: list[str] | None
    task_field: str | None
    k: int
    zipfit: ZipfitParams
    zipfit_mode: str
    rds: RdsParams


def sidebar() -> Inputs | None:
    """Draw the sidebar; the inputs to score, or None when there is nothing usable yet."""
    link.begin()
    with st.sidebar:
        st.header("Targets")
        targets = _dataset_input("targets", samples=SAMPLE_TARGETS, paste=True)
        task_field, task_ids = _tasks(targets)
        st.header("Candidate pool")
        pool = _dataset_input("pool", samples={SOURCES["sample"]: SAMPLE_POOL})
        st.header("Parameters")
        if pool is None or targets is None:
            link.carry(PARAMETERS)  # the parameters' widgets are not drawn: the URL keeps them for later
            link.publish()
            return None
        k = _k_input(len(pool.dataset))
        level = link.start("level", DEFAULT_LEVEL, link.integer(1, 9))
        level = st.slider("gzip level (ZIP-FIT)", 1, 9, level, key=state.key("level"))
        link.show("level", level, DEFAULT_LEVEL)
        fast = st.toggle(
            "ZIP-FIT fast mode (an approximation)",
            link.start("fast", False, link.flag),
            key=state.key("zipfit_fast"),
            help="Scores 13-23× faster on the sample data: each candidate is compressed with a few representative "
            "targets and the rest is estimated. Its top 10% overlaps exact ZIP-FIT's by 0.93 on the sample target "
            "sets, but by 0.83-0.98 on other target sets (lowest where many candidates score alike): use exact mode "
            "for the final selection.",
        )
        link.show("fast", fast, False)
        rds = _rds_params()
        link.publish()
    return Inputs(pool, targets, task_ids, task_field, k, ZipfitParams(level=level), "fast" if fast else "exact", rds)


def _dataset_input(role: str, samples: dict[str, str], paste: bool = False) -> Loaded | None:
    """Sample, uploaded or pasted data for `role`; on an error, the last good one (and the error shown)."""
    choices = [*samples, UPLOAD, *([PASTE] if paste else [])]
    words = {word: label for word, label in SOURCES.items() if label in choices}
    first = choices.index(link.start(role, choices[0], link.choice(words)))
    choice = st.radio(
        f"{role.title()} from", choices, first, key=state.key(f"{role}.source"), label_visibility="collapsed"
    )
    link.show(role, link.words(words)[choice], link.words(words)[choices[0]])
    try:
        if choice in samples:
            path = state.SAMPLE_DIR / samples[choice]
            loaded = _load(path.read_bytes(), path.name, None, f"sample {path.name}")
        elif choice == PASTE:
            loaded = _pasted(role)
        else:
            loaded = _uploaded(role)
    except InputError as e:
        st.error(plain(in_ui_terms(str(e))), icon=":material/error:")
        loaded = state.get(f"{role}.last_good")
        if loaded is not None:
            st.caption(f"Still showing results for {plain(loaded.label)}.")
        return loaded
    if loaded is not None:
        state.put(f"{role}.last_good", loaded)
        size = len(loaded.dataset)
        origin = "pasted, one per blank-line-separated block" if choice == PASTE else loaded.dataset.text_origin
        st.caption(f"{size:,} {plural(size, 'record')} · text: {plain(origin)}")
        return loaded
    loaded = state.get(f"{role}.last_good")  # nothing uploaded or pasted (yet, or any more)
    if loaded is not None:
        size = len(loaded.dataset)
        st.caption(
            f"Nothing chosen here: still showing results for {plain(loaded.label)} ({size:,} {plural(size, 'record')})."
        )
    return loaded


def _uploaded(role: str) -> Loaded | None:
    file = _upload_or_kept(role)
    if file is None:
        return None
    link.show(f"{role}_file", _keep(role, file.name, file.data, file.digest))
    raw = _unwrap(_records(file.digest, file.name, file.data))
    fields = [AUTO, *string_fields(raw.records), *_chat_fields(raw)]
    if fields == [AUTO]:  # nothing to choose in the picker below: say so, not "choose one in the Text field box"
        if _has_text_layout(raw):  # e.g. `text` holding bytes or lists: loading says what it holds instead
            return _load(file.data, file.name, None, f"upload {file.name}", file.digest)
        found = ", ".join(raw.columns[:10]) + (", …" if len(raw.columns) > 10 else "")
        raise InputError(
            f"no field holds text (fields found: {found}); give each record its text as a string", file=file.name
        )
    field = st.selectbox(
        "Text field",
        fields,
        fields.index(link.start(f"{role}_field", AUTO, link.one_of(fields))),
        key=state.key(f"{role}.text_field"),
        help="Where each record's text is; detected by default.",
    )
    link.show(f"{role}_field", field, AUTO)
    return _load(file.data, file.name, None if field == AUTO else field, f"upload {file.name}", file.digest)


def _upload_or_kept(role: str) -> kept_files.KeptFile | None:
    """The file in `role`'s uploader; with none, until one is uploaded, the file the URL names (after a reload)."""
    limit = st.get_option("server.maxUploadSize")
    upload = st.file_uploader(
        f"{role.title()} file",
        type=UPLOAD_TYPES,
        key=state.key(f"{role}.upload"),
        help="JSONL, JSON (a list of records), CSV, TSV, Parquet or TXT (blank-line-separated examples); "
        f"optionally gzip-compressed. Up to {limit} MB per file: for larger pools use the command line "
        "(python -m scoring score), or raise server.maxUploadSize in dashboard/.streamlit/config.toml.",
    )
    if upload is not None:
        data = upload.getvalue()
        state.put(f"{role}.uploaded", True)  # from now on an empty uploader means none (the ✕ on the file)
        return kept_files.KeptFile(upload.name, data, _upload_digest(role, upload.file_id, data))
    if state.get(f"{role}.uploaded"):
        return None
    file = _linked_file(role, "upload")
    if file is not None:
        st.caption(f"{plain(file.name)}, as uploaded before (a copy in the cache); upload a file to replace it.")
    return file


def _has_text_layout(raw: Records) -> bool:
    """Whether the records have the fields of a layout the loader detects (`text`, `messages`, ...)."""
    try:
        choose_text_rule(raw.columns, None, name=raw.name)
    except InputError:
        return False
    return True


def _upload_digest(role: str, file_id: str, data: bytes) -> str:
    """The sha256 of an upload, computed once per uploaded file (a 100 MB pool takes ~0.15 s on every rerun)."""
    remembered = state.get(f"{role}.upload_digest")
    if remembered is None or remembered[0] != file_id:
        remembered = (file_id, file_digest(data))
        state.put(f"{role}.upload_digest", remembered)
    return remembered[1]


def _pasted(role: str) -> Loaded | None:
    kept = _linked_file(role, "paste")
    text = st.text_area(
        "Paste examples",
        "" if kept is None else kept.data.decode("utf-8", errors="replace"),
        key=state.key(f"{role}.paste"),
        height=160,
        help="One example per block; separate examples with a blank line.",
    )
    if not text.strip():
        st.caption("Paste a few examples, separated by blank lines.")
        return None
    data = text.encode("utf-8")
    digest = _keep(role, "pasted.txt", data)
    link.show(f"{role}_file", digest)
    return _load(data, "pasted.txt", None, "pasted text", digest)


def _keep(role: str, name: str, data: bytes, digest: str | None = None) -> str:
    """Keep a copy of `role`'s file for the URL, once per file and session (so "Clear the cache" clears it for
    good); its sha256."""
    digest = digest or file_digest(data)
    if state.get(f"{role}.kept") != digest:
        kept_files.keep(state.cache(), name, data, digest)
        state.put(f"{role}.kept", digest)
    return digest


def _linked_file(role: str, source: str) -> kept_files.KeptFile | None:
    """The file the URL names for `role` if its source there is `source` ("upload" or "paste"), if still kept, e.g.
    the upload of the session before a reload."""
    digest = st.query_params.get(f"{role}_file")
    if digest is None or st.query_params.get(role) != source:
        return None
    file = state.get(f"{role}.linked")  # read (and its sha256 checked) once per session, not on every rerun
    if file is None or file.digest != digest:
        file = kept_files.find(state.cache(), digest)
        state.put(f"{role}.linked", file)
    if file is None:
        what = "file" if source == "upload" else "text"
        st.caption(f"The {what} this link names is not kept here (was the cache cleared?): {source} it again.")
    return file


def _load(data: bytes, name: str, text_field: str | None, label: str, digest: str | None = None) -> Loaded:
    return _unwrap(_dataset(digest or file_digest(data), name, text_field, label, data))


@st.cache_resource(max_entries=16, show_spinner="Reading the file…")
def _records(digest: str, name: str, _data: bytes) -> Records | InputError:
    """Parsed records (or the error), cached by the file's sha256; the bytes are not hashed again."""
    try:
        return parse_records(_data, name=name)
    except InputError as e:
        return e
    except Exception as e:  # a reader bug: say so in the sidebar, not with a traceback over the page
        return _unreadable(e, name)


@st.cache_resource(max_entries=16, show_spinner="Reading the texts…")
def _dataset(digest: str, name: str, text_field: str | None, label: str, _data: bytes) -> Loaded | InputError:
    raw = _records(digest, name, _data)
    if isinstance(raw, InputError):
        return raw
    try:
        dataset = with_texts(raw, text_field)
    except InputError as e:
        return e
    except Exception as e:
        return _unreadable(e, name)
    keys = text_keys(dataset.texts)
    return Loaded(dataset, keys, list_digest(keys), label, params_digest({"file": digest, "text_field": text_field}))


def _unreadable(error: Exception, name: str) -> InputError:
    log.exception("reading %s failed", name)  # the traceback goes to the server's log
    return InputError(f"could not be read ({type(error).__name__}: {error}); please report this bug", file=name)


def _unwrap(value):
    if isinstance(value, InputError):
        raise value
    return value


def _chat_fields(raw: Records) -> list[str]:
    """Fields holding chat message lists in the first records (they can be chosen as text too)."""
    found: dict[str, None] = {}
    for record in raw.records[:100]:
        for name, value in record.items():
            if isinstance(value, list) and value and isinstance(value[0], dict):
                found.setdefault(name)
    return list(found)


def _tasks(targets: Loaded | None) -> tuple[str | None, list[str] | None]:
    """The chosen task column and each target's task (N,), or (None, None): none chosen, or the column unusable
    (its error shown, naming the target that lacks a task)."""
    if targets is None:
        return None, None
    candidates = tasks.task_fields(targets.dataset)
    if not candidates:
        return None, None
    options = [NO_TASKS, *candidates]
    choice = st.selectbox(
        "Task column (multi-task targets)",
        options,
        options.index(link.start("task", NO_TASKS, link.one_of(options))),
        key=state.key("task_field"),
        help="With a task column, RDS+ takes each candidate's best score within each task and runs its "
        "round-robin across tasks instead of across single targets.",
    )
    link.show("task", choice, NO_TASKS)
    if choice == NO_TASKS:
        return None, None
    try:
        return choice, tasks.task_ids(targets.dataset, choice)
    except InputError as e:
        st.error(plain(in_ui_terms(str(e))), icon=":material/error:")
        return None, None


def _k_input(pool_size: int) -> int:
    """k from a count or a share of the pool; switching between the two keeps the same k, e.g. k = 137 of 2,933
    shows as 4.7% and stays 137 (not 138) until the share is moved."""
    linked_percent = link.start("k_pct", None, lambda text: round(link.number(0.1, 100.0)(text), 1))
    as_percent = st.toggle(
        "k as % of the pool",
        linked_percent is not None,
        key=state.key("k_percent"),
        on_change=_carry_k,
        args=(pool_size,),
    )
    if as_percent:
        start, key = state.get("k_pct_start", linked_percent or 5.0), state.key(_k_name("k_pct"))
        percent = st.slider("k (% of the pool)", 0.1, 100.0, start, 0.1, key=key, format="%.1f%%")
        link.show("k_pct", percent)
        k = _k_of_share(percent, pool_size)
        st.caption(f"k = {k:,} records")
        return k
    start, key = state.get("k_start", link.start("k", DEFAULT_K, link.integer(1, 10**9))), state.key(_k_name("k"))
    k = int(st.number_input("k (records each method selects)", min_value=1, value=start, key=key))
    link.show("k", k, DEFAULT_K)
    if k > pool_size:  # kept as typed (no max_value): another pool may be larger again
        everything = "it" if pool_size == 1 else "all of them"
        st.caption(f"The pool holds {pool_size:,} {plural(pool_size, 'record')}: each method selects {everything}.")
    return min(k, pool_size)


def _carry_k(pool_size: int) -> None:
    """On the toggle: the widget shown next starts at the k of the one hidden, e.g. k = 100 of 2,000 <-> 5.0%.

    It gets a new key, so that it starts at its `value` in the browser as on the server (a hidden widget's old
    value can linger in either, and setting a widget's value through session state races with reruns)."""
    if state.get("k_percent"):
        k = min(state.get(_k_name("k"), state.get("k_start", DEFAULT_K)), pool_size)
        percent = min(100.0, max(0.1, round(100 * k / pool_size, 1)))
        state.put("k_pct_start", percent)
        state.put("k_carried", (k, percent, pool_size))  # the k that this rounded share stands for
    else:
        percent = state.get(_k_name("k_pct"), state.get("k_pct_start", 5.0))
        state.put("k_start", _k_of_share(percent, pool_size))
    state.put("k_switches", state.get("k_switches", 0) + 1)


def _k_of_share(percent: float, pool_size: int) -> int:
    """The k of a share of the pool: the k carried over by the last switch while the share is still the one
    shown for it, else the nearest whole number of records (at least 1)."""
    carried, carried_percent, carried_pool = state.get("k_carried", (None, None, None))
    if carried is not None and percent == carried_percent and pool_size == carried_pool:
        return carried
    return max(1, round(pool_size * percent / 100))


def _k_name(name: str) -> str:
    """The state name of widget `name` ("k" or "k_pct") since the last switch: "k" at first, then "k.1", "k.2"..."""
    switches = state.get("k_switches", 0)
    return f"{name}.{switches}" if switches else name


def _rds_params() -> RdsParams:
    labels = {name: f"{name}: {model.description}" for name, model in MODELS.items()}
    labels["other"] = "other: a Hugging Face model id or a local folder"
    names = list(labels)
    first = names.index(link.start("model", names[0], link.one_of(names)))
    choice = st.selectbox("RDS+ model", names, first, key=state.key("model"), format_func=labels.get)
    link.show("model", choice, names[0])
    model = choice
    if choice == "other":
        model = st.text_input(
            "Model id or folder",
            link.start("model_id", "", str),
            key=state.key("model_id"),
            placeholder="meta-llama/Llama-2-7b-hf",
        )
        link.show("model_id", model, "")
        model = model.strip()
    max_length = st.number_input(
        "Max length (tokens)",
        8,
        8192,
        link.start("max_length", DEFAULT_MAX_LENGTH, link.integer(8, 8192)),
        step=64,
        key=state.key("max_length"),
        help="Longer texts are truncated to their first tokens before embedding.",
    )
    link.show("max_length", max_length, DEFAULT_MAX_LENGTH)
    ways = list(SELECTIONS)
    first = ways.index(link.start("selection", ways[0], link.one_of(ways)))
    selection = st.radio("RDS+ selection", ways, first, format_func=SELECTIONS.get, key=state.key("selection"))
    link.show("selection", selection, ways[0])
    previous = state.get("rds_params", RdsParams())
    if not model:
        st.caption(f"Type a model id or folder; until then RDS+ uses {plain(previous.model)}.")
        model = previous.model
    try:
        params = RdsParams(model=model, max_length=int(max_length), selection=selection)
        if choice in MODELS:  # a bundled model: its token limit is known now, not only when RDS+ runs
            model_spec(params, state.cache())
    except OptionError as e:
        st.error(plain(in_ui_terms(str(e))))
        return previous
    state.put("rds_params", params)
    return params
