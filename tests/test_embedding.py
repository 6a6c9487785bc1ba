"""RDS+ pooling and batching with the fake model, against independent one-text-at-a-time computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from scoring.cache import Cache
from scoring.embedding import embed, position_weighted_mean
from scoring.errors import OptionError
from scoring.models import Device, load_encoder, resolve_model
from scoring.pipeline import RdsParams, cached_embeddings, embed_texts
from tests.fakes import reference_embedding, token_ids, use_fake_model

TEXTS = [
    "one",
    "a much longer text with quite a few more words than the others so batches need padding " * 3,
    "two words",
    "",
    "   \n ",  # no tokens for the fake model
    "def f ( x ) : return x",
    "one",  # a duplicate
]


@pytest.fixture
def fake(monkeypatch):
    return use_fake_model(monkeypatch)


def fake_encoder(fake):
    return load_encoder(resolve_model(fake.name), device=Device("cpu", "float32"))


def one_at_a_time(encoder, text: str, max_length: int) -> np.ndarray:
    """The embedding of one text without padding, pooled by `reference_embedding`."""
    ids = token_ids(text)[:max_length]
    if not text or not ids:
        return np.zeros(encoder.dim)
    batch = torch.tensor([ids])
    hidden = encoder.hidden_states(batch, torch.ones_like(batch))[0].numpy()
    return reference_embedding(hidden)


# --- pooling --------------------------------------------------------------------------------------------------


def test_pooling_by_hand():
    hidden = torch.tensor([[[1.0], [4.0], [100.0]]])  # the third position is padding
    assert position_weighted_mean(hidden, torch.tensor([[1, 1, 0]])).item() == pytest.approx((1 * 1 + 2 * 4) / 3)
    assert position_weighted_mean(hidden, torch.tensor([[1, 1, 1]])).item() == pytest.approx((1 + 8 + 300) / 6)


def test_pooling_ignores_padding_on_either_side():
    hidden = torch.tensor([[[7.0], [1.0], [4.0]]])
    left = position_weighted_mean(hidden, torch.tensor([[0, 1, 1]]))  # weights 1/3, 2/3 on 1.0 and 4.0
    assert left.item() == pytest.approx(3.0)


def test_pooling_of_no_tokens_is_zero_not_nan():
    pooled = position_weighted_mean(torch.ones((1, 2, 3)), torch.zeros((1, 2), dtype=torch.long))
    assert pooled.tolist() == [[0.0, 0.0, 0.0]]


# --- embed ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 3, 100])
def test_batched_equals_one_text_at_a_time(fake, batch_size):
    encoder = fake_encoder(fake)
    ours = embed(encoder, TEXTS, max_length=64, batch_size=batch_size)
    expected = np.stack([one_at_a_time(encoder, text, 64) for text in TEXTS])
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)
    assert ours.dtype == np.float32


def test_batches_are_sorted_by_length_and_padded_to_their_longest(fake):
    encoder = fake_encoder(fake)
    embed(encoder, ["a", "a b c d e", "a b", "a b c d"], max_length=64, batch_size=2)
    assert fake.batch_shapes == [(2, 5), (2, 2)]  # [5, 4] tokens, then [2, 1]: little padding


def test_rows_are_unit_vectors_and_empty_texts_zero(fake):
    vectors = embed(fake_encoder(fake), TEXTS, max_length=64)
    norms = np.linalg.norm(vectors, axis=1)
    np.testing.assert_allclose(norms[[0, 1, 2, 5, 6]], 1, atol=1e-6)
    assert norms[3] == norms[4] == 0  # "" and a text with no tokens
    assert not np.isnan(vectors).any()


def test_long_text_is_truncated_to_its_first_max_length_tokens(fake):
    words = [f"w{i}" for i in range(100)]
    encoder = fake_encoder(fake)
    truncated, first = embed(encoder, [" ".join(words), " ".join(words[:10])], max_length=10)
    np.testing.assert_allclose(truncated, first, atol=1e-7)
    assert not np.allclose(truncated, embed(encoder, [" ".join(words[:11])], max_length=64)[0])


def test_nothing_to_embed_calls_no_model(fake):
    vectors = embed(fake_encoder(fake), ["", " "], max_length=8)
    assert vectors.shape == (2, fake.dim)
    assert not vectors.any()
    assert fake.calls == 0


def test_a_model_with_damaged_weights_is_an_error_and_nothing_it_gave_is_cached(fake, tmp_path):
    encoder = fake_encoder(fake)
    encoder.table[token_ids("damaged")[0]] = float("nan")  # one weight row gone bad, as a byte flip can do
    cache, params = Cache(tmp_path), RdsParams(model=fake.name, batch_size=2)
    texts = ["fine words here", "more fine words", "a damaged row", "the rest is fine"]
    with pytest.raises(OptionError, match="--model: the model's output is not finite"):
        embed(encoder, texts, max_length=64)
    embed_texts(texts[:2], params, cache=cache)  # the first two, embedded before the model broke
    fake_encoder_loads = fake.loads
    with pytest.raises(OptionError, match="not finite"):
        embed_texts(texts, params, cache=cache)  # the same model, loaded once: its table is the damaged one
    assert fake.loads == fake_encoder_loads
    assert cached_embeddings(texts[:2], params, cache=cache) is not None
    assert cached_embeddings(texts[2:3], params, cache=cache) is None  # no NaN stored
