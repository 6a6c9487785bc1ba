"""A tiny deterministic fake embedding model for fast tests, registered under a `--model` name.

Tokens are whitespace-separated words (no special tokens; a blank text has none). Hidden states are causal:
h_t = E[id_t] + the mean of E over tokens 1..t, so padding after a text never changes its states, while the
states *at* padding are far from zero (a pooling bug that weighted padding would show). It counts loads,
forward calls and texts seen, to prove what the cache saves.

>>> fake = use_fake_model(monkeypatch)          # `--model fake` now means this model
>>> run_rds(pool, targets, RdsParams(model="fake"))
>>> fake.calls, fake.texts_seen
"""

from __future__ import annotations

import threading
import uuid
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch

from scoring import models, pipeline, rds, spill
from scoring.cache import Cache
from scoring.models import Device, ModelSpec

VOCAB = 1000


class FakeEncoder:
    """Implements `models.Encoder` with a fixed random table E (VOCAB × dim)."""

    def __init__(self, owner: FakeModel) -> None:
        self.owner = owner
        self.dim = owner.dim
        self.table = torch.from_numpy(np.random.default_rng(7).normal(size=(VOCAB, owner.dim)).astype(np.float32))
        self.table[0] += 50.0  # the pad id 0: a huge state, never a real token

    def tokenize(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        return [token_ids(text)[:max_length] for text in texts]

    def hidden_states(
        self, ids: torch.Tensor, mask: torch.Tensor, cancel: threading.Event | None = None
    ) -> torch.Tensor:
        self.owner.calls += 1
        self.owner.texts_seen += len(ids)
        self.owner.batch_shapes.append(tuple(ids.shape))
        self.owner.threads.append(threading.current_thread().name)
        vectors = self.table[ids]  # (b, L, d)
        running_mean = vectors.cumsum(dim=1) / torch.arange(1, ids.shape[1] + 1).view(1, -1, 1)
        return vectors + running_mean


def token_ids(text: str) -> list[int]:
    """Example: `token_ids("a b")` -> two ids in 1..999 (0 is kept for padding)."""
    return [1 + zlib.crc32(word.encode()) % (VOCAB - 1) for word in text.split()]


class FakeModel:
    """A registered fake: its spec, and counters of what the code under test asked of it."""

    def __init__(self, name: str = "fake", dim: int = 8, max_tokens: int = 1024, version: str | None = None) -> None:
        self.name, self.dim, self.max_tokens = name, dim, max_tokens
        self.version = version or uuid.uuid4().hex  # a fresh identity: nothing cached or loaded yet
        self.loads = self.calls = self.texts_seen = 0
        self.batch_shapes: list[tuple[int, ...]] = []
        self.threads: list[str] = []  # the thread of each forward call

    def spec(self, cache: Cache) -> ModelSpec:
        return ModelSpec(
            name=self.name,
            label=f"fake test model {self.name}",
            identity={"fake": self.name, "version": self.version},
            dim=self.dim,
            max_tokens=self.max_tokens,
            load=self._load,
        )

    def _load(self, device: Device, store: Path | None) -> FakeEncoder:
        self.loads += 1
        return FakeEncoder(self)


def use_fake_model(monkeypatch: pytest.MonkeyPatch, **kwargs) -> FakeModel:
    """Register a new FakeModel for this test only (undone by monkeypatch)."""
    fake = FakeModel(**kwargs)
    monkeypatch.setitem(models.MODELS, fake.name, models.ModelChoice(f"fake test model {fake.name}", fake.spec))
    return fake


def reference_embedding(hidden: np.ndarray) -> np.ndarray:
    """RDS+ pooling of one unpadded text's states (L, d), written out independently: Σ (i/Σk) h_i, normalised."""
    positions = np.arange(1, len(hidden) + 1, dtype=np.float64)
    pooled = (positions / positions.sum()) @ hidden.astype(np.float64)
    return pooled / np.linalg.norm(pooled)


def simulate_round_robin(scores: np.ndarray) -> list[int]:
    """Pool indices in the order a literal round-robin over the rows of (T, N) `scores` takes them."""
    n_tasks, n = scores.shape
    preference = [sorted(range(n), key=lambda i, t=t: (-scores[t, i], i)) for t in range(n_tasks)]
    taken: list[int] = []
    seen: set[int] = set()
    for r in range(n):
        for t in range(n_tasks):
            candidate = preference[t][r]
            if candidate not in seen:  # else this task loses its turn
                seen.add(candidate)
                taken.append(candidate)
    return taken


class ScratchSpy:
    """Counts the scratch arrays made through `spill.scratch_array`, and remembers their folders."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.shapes: list[tuple[int, ...]] = []
        self.folders: set[Path] = set()
        real = spill.scratch_array

        def spy(shape, dtype, folder):
            self.shapes.append(tuple(shape))
            self.folders.add(folder)
            return real(shape, dtype, folder)

        monkeypatch.setattr(rds, "scratch_array", spy)
        monkeypatch.setattr(pipeline, "scratch_array", spy)
