"""RDS+ text embeddings: position-weighted mean of final-layer hidden states, L2-normalised, batched.

e = Σ_i (i / Σ_k k) · h_i over the real tokens i = 1..L (Ivison et al. 2025, after SGPT), then e / ‖e‖.
Padding never gets weight, so a batch gives the same embeddings as one text at a time (up to float rounding).
An empty text, or one with no tokens, gets the zero vector: its cosine to everything is 0.

>>> from scoring.models import load_encoder, resolve_model
>>> vectors = embed(load_encoder(resolve_model("minilm")), ["def f(): pass", "Bonjour"], max_length=512)
>>> vectors.shape, vectors.dtype
((2, 384), dtype('float32'))
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch

from scoring.errors import OptionError
from scoring.models import Encoder

POOLING = "position-weighted-mean"
"""The pooling's name in cache keys and output metadata."""
NOT_FINITE = (
    "the model's output is not finite (NaN or infinity), so its weights are damaged (no NaN was cached, but what "
    "it embedded before may be: also delete the cache's v1/rds-embedding/ folder); delete its converted copy in "
    "the cache's v1/models/ folder (it is made again), or copy your model folder again"
)


def position_weighted_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """(b, d) float32 Σ_i w_i h_i with w_i = i / Σ_k k over the tokens where mask (b, L) is 1; 0 for none.

    Example: hidden states [[1], [4], [pad]] with mask [1, 1, 0] -> (1·1 + 2·4) / (1 + 2) = 3.
    """
    mask = mask.to(hidden.device, torch.float32)
    positions = mask.cumsum(dim=1) * mask  # 1..L on real tokens, 0 on padding (either side)
    weights = positions / positions.sum(dim=1, keepdim=True).clamp(min=1)
    return torch.einsum("bl,bld->bd", weights, hidden.float())


def embed(
    encoder: Encoder,
    texts: Sequence[str],
    max_length: int,
    batch_size: int = 8,
    cancel: threading.Event | None = None,
) -> np.ndarray:
    """(n, d) float32 unit (or zero) embeddings; texts are sorted by token count into batches of batch_size.
    `cancel` set stops the work with `Cancelled`, mid-batch where the encoder can. A model whose output is not
    finite (damaged weights) raises `OptionError`, so that no NaN is ever cached or scored."""
    ids = encoder.tokenize(texts, max_length)
    result = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    real = [i for i, (text, tokens) in enumerate(zip(texts, ids, strict=True)) if text and tokens]
    real.sort(key=lambda i: -len(ids[i]))
    for start in range(0, len(real), batch_size):
        batch = real[start : start + batch_size]
        vectors = _embed_batch(encoder, [ids[i] for i in batch], cancel)
        if not np.isfinite(vectors).all():
            raise OptionError("--model", NOT_FINITE)
        result[batch] = vectors
    return result


def token_counts(encoder: Encoder, texts: Sequence[str], max_length: int, chunk: int = 10_000) -> np.ndarray:
    """(n,) int64 tokens of each text after truncation (tokenized `chunk` texts at a time to bound memory)."""
    counts = np.zeros(len(texts), dtype=np.int64)
    for start in range(0, len(texts), chunk):
        ids = encoder.tokenize(texts[start : start + chunk], max_length)
        counts[start : start + len(ids)] = [len(tokens) for tokens in ids]
    return counts


def _embed_batch(encoder: Encoder, ids: list[list[int]], cancel: threading.Event | None = None) -> np.ndarray:
    """(b, d) unit embeddings of non-empty token lists, right-padded (pad id 0, masked out)."""
    length = max(len(tokens) for tokens in ids)
    batch = torch.zeros((len(ids), length), dtype=torch.long)
    mask = torch.zeros((len(ids), length), dtype=torch.long)
    for row, tokens in enumerate(ids):
        batch[row, : len(tokens)] = torch.tensor(tokens, dtype=torch.long)
        mask[row, : len(tokens)] = 1
    pooled = position_weighted_mean(encoder.hidden_states(batch, mask, cancel), mask)
    return torch.nn.functional.normalize(pooled, dim=1).cpu().numpy()
