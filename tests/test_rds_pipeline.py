"""run_rds and embed_texts with the fake model: results, the embedding cache, progress and cancelling."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from scoring.cache import Cache
from scoring.errors import Cancelled, OptionError
from scoring.models import forget_loaded_models
from scoring.pipeline import RdsParams, embed_texts, run_rds
from scoring.ranking import ranks_descending
from tests.fakes import simulate_round_robin, use_fake_model

POOL = ["def add a b", "bonjour le monde", "", "def mul a b return", "data model loss", "bonjour le monde"]
TARGETS = ["def sub a b", "le monde", "loss data"]
FAKE = RdsParams(model="fake", batch_size=2)


@pytest.fixture
def fake(monkeypatch):
    return use_fake_model(monkeypatch)


@pytest.fixture
def cache(tmp_path):
    return Cache(tmp_path / "cache")


def test_run_rds_equals_cosines_of_embeddings_and_a_literal_round_robin(fake):
    result = run_rds(POOL, TARGETS, FAKE)
    cos = embed_texts(TARGETS, FAKE) @ embed_texts(POOL, FAKE).T  # (M, N) cosines
    np.testing.assert_allclose(result.score, cos.max(axis=0), atol=1e-6)
    assert result.nearest_target.tolist() == cos.argmax(axis=0).tolist()
    assert [int(i) for i in np.argsort(result.rank)] == simulate_round_robin(cos)
    assert result.score[2] == 0  # the empty text


def test_selection_rules_and_tasks(fake):
    cos = embed_texts(TARGETS, FAKE) @ embed_texts(POOL, FAKE).T
    by_max = run_rds(POOL, TARGETS, RdsParams(model="fake", selection="max"))
    assert by_max.rank.tolist() == ranks_descending(cos.max(axis=0)).tolist()
    by_mean = run_rds(POOL, TARGETS, RdsParams(model="fake", selection="mean"))
    assert by_mean.rank.tolist() == ranks_descending(cos.mean(axis=0)).tolist()
    tasks = run_rds(POOL, TARGETS, FAKE, task_ids=["code", "prose", "prose"])
    task_scores = np.stack([cos[0], cos[1:].max(axis=0)])
    assert [int(i) for i in np.argsort(tasks.rank)] == simulate_round_robin(task_scores)


def test_warm_cache_neither_loads_nor_calls_the_model(fake, cache):
    first = run_rds(POOL, TARGETS, FAKE, cache=cache)
    assert fake.loads == 1
    assert fake.texts_seen == len(set(POOL + TARGETS) - {""})  # each distinct text once; "" needs no model
    forget_loaded_models()
    calls = fake.calls
    again = run_rds(POOL, TARGETS, FAKE, cache=cache)
    assert (fake.loads, fake.calls) == (1, calls)
    np.testing.assert_array_equal(again.score, first.score)
    np.testing.assert_array_equal(again.rank, first.rank)


def test_new_targets_selection_or_k_embed_only_new_texts(fake, cache):
    run_rds(POOL, TARGETS, FAKE, cache=cache)
    seen = fake.texts_seen
    run_rds(POOL, TARGETS, RdsParams(model="fake", batch_size=2, selection="mean"), cache=cache)
    assert fake.texts_seen == seen
    run_rds(POOL, ["a brand new target", "le monde"], FAKE, cache=cache)
    assert fake.texts_seen == seen + 1


def test_cache_key_holds_model_identity_and_max_length(fake, cache, monkeypatch):
    embed_texts(TARGETS, FAKE, cache=cache)
    seen = fake.texts_seen
    embed_texts(TARGETS, RdsParams(model="fake", max_length=2), cache=cache)
    assert fake.texts_seen == 2 * seen  # another max length: embedded again
    other = use_fake_model(monkeypatch, name="fake")  # same name, other weights (identity)
    embed_texts(TARGETS, FAKE, cache=cache)
    assert other.texts_seen == seen


def test_cached_embeddings_equal_fresh_ones(fake, cache):
    fresh = embed_texts(POOL, FAKE)
    embed_texts(POOL, FAKE, cache=cache)
    forget_loaded_models()
    np.testing.assert_array_equal(embed_texts(POOL, FAKE, cache=cache), fresh)


def test_embed_texts_shape_and_norms(fake):
    vectors = embed_texts(POOL, FAKE)
    assert vectors.shape == (len(POOL), fake.dim)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), [1, 1, 0, 1, 1, 1], atol=1e-6)


def test_progress_counts_every_text_and_ends_complete(fake, cache):
    seen: list[tuple[int, int]] = []
    run_rds(POOL, TARGETS, FAKE, cache=cache, on_progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (len(POOL) + len(TARGETS),) * 2
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_cancel_stops_and_keeps_finished_work(fake, cache):
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        if done >= 2:
            cancel.set()

    with pytest.raises(Cancelled):
        run_rds(POOL, TARGETS, FAKE, cache=cache, on_progress=progress, cancel=cancel)
    seen = fake.texts_seen
    run_rds(POOL, TARGETS, FAKE, cache=cache)
    assert seen > 0
    assert fake.texts_seen - seen < len(set(POOL + TARGETS) - {""})


def test_bad_parameters_are_refused(fake):
    with pytest.raises(OptionError, match="--batch-size: 0"):
        RdsParams(batch_size=0)
    with pytest.raises(OptionError, match="--max-length: -1"):
        RdsParams(max_length=-1)
    with pytest.raises(OptionError, match="--selection"):
        RdsParams(selection="min")
    with pytest.raises(OptionError, match="--max-length: 1025 is more than fake reads; use at most 1024"):
        run_rds(POOL, TARGETS, RdsParams(model="fake", max_length=1025))
    with pytest.raises(ValueError, match="at least one target"):
        run_rds(POOL, [], FAKE)
    with pytest.raises(ValueError, match="task_ids has 1 entries for 3 targets"):
        run_rds(POOL, TARGETS, FAKE, task_ids=["a"])


def test_batches_follow_token_counts_the_longest_first(fake):
    texts = ["abcdefghijklmnopqrstuvwxyz", "a b c d e f", "x", "a b c d e", "qwertyuiopasdfghjkl zz"]
    embed_texts(texts, RdsParams(model="fake", batch_size=2))
    assert fake.batch_shapes[0] == (2, 6)  # 6+5 tokens first (memory peaks at once); not by characters
    assert sorted(fake.batch_shapes) == [(1, 1), (2, 2), (2, 6)]  # then 2+1, and 1


def test_progress_follows_the_work_done_so_the_eta_holds_from_the_start(fake):
    # A third of the texts have 15x the tokens. Longest first, the first quarter of the texts held 60% of the
    # work, so an early ETA was about twice too long; now each stretch of batches costs about the average.
    texts = [" ".join(f"w{i}" for _ in range(60 if i % 3 == 0 else 4)) for i in range(300)]
    work = lambda: sum(b * length for b, length in fake.batch_shapes)  # noqa: E731 - token slots computed
    seen = []
    embed_texts(texts, RdsParams(model="fake", batch_size=4), on_progress=lambda d, t: seen.append((d / t, work())))
    shares = [(round(texts_done, 2), round(done / work(), 2)) for texts_done, done in seen[1:]]
    assert len(shares) == 75
    assert all(abs(texts_done - done) < 0.1 for texts_done, done in shares), shares


def test_embedding_id_names_the_embedding_space(fake, monkeypatch):
    from scoring.models import MODELS
    from scoring.pipeline import embedding_id

    assert embedding_id(FAKE) == embedding_id(RdsParams(model="fake", batch_size=7, selection="max"))
    assert embedding_id(FAKE) != embedding_id(RdsParams(model="fake", max_length=100))
    before = embedding_id(FAKE)
    use_fake_model(monkeypatch)  # other weights under the same name
    assert embedding_id(FAKE) != before
    assert MODELS["minilm"].description.startswith("all-MiniLM-L6-v2, an encoder")
