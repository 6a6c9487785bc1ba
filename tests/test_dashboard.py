"""The dashboard driven as code (streamlit.testing AppTest), with the fast fake embedding model.

Flows: the default start on the sample data, every page, an upload, a bad upload, a parameter change, the
export, a failing job and a cancelled one. Results are checked against the scoring library called directly.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import status
from dashboard.inputs import SOURCES
from scoring.cache import CACHE_ENV
from scoring.cli import main
from scoring.errors import Cancelled
from scoring.jobs import CANCELLED, DONE, Job
from scoring.loading import load_dataset
from scoring.pipeline import ZipfitParams, run_rds, run_zipfit
from scoring.ranking import ranks_descending
from tests.fakes import use_fake_model
from tests.scratch import module_folder

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
# `streamlit run` puts the script's folder on sys.path once and for good. AppTest inserts it before every run and
# removes it after, and a job thread importing a module at that moment can skip site-packages (the list shifts
# under its iteration) and fail with ModuleNotFoundError. Start as `streamlit run` does.
if str(ROOT / "dashboard") not in sys.path:
    sys.path.insert(0, str(ROOT / "dashboard"))
SAMPLE = ROOT / "sample_data"
SMALL_POOL = [
    {"text": f"def function_{i}(x):\n    return x + {i}\n", "source": "code"}
    if i % 3 == 0
    else {"text": f"Le chat numéro {i} dort sur le canapé.", "source": "french"}
    if i % 3 == 1
    else {"text": f"The integral of x^{i} is x^{i + 1}/{i + 1}.", "source": "maths"}
    for i in range(60)
]


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory) -> Iterator[Path]:
    """One cache for the module: the sample's ZIP-FIT scores are computed once, not per test."""
    with module_folder(tmp_path_factory, "dashboard-cache") as folder:
        yield folder


@pytest.fixture
def app(monkeypatch, shared_cache):
    """A fresh app session using the fake model, with no resources left from other tests."""
    monkeypatch.setenv(CACHE_ENV, str(shared_cache))
    use_fake_model(monkeypatch, version="dashboard-tests")
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["lens.model"] = "fake"
    return at


def jsonl(records: list[dict]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def settle(at: AppTest, timeout: float = 180) -> AppTest:
    """Rerun until every job shown has finished (the fragment would do this by itself in a browser)."""
    at.run()
    deadline = time.monotonic() + timeout
    while any("done" not in bar.text for bar in at.get("progress")):
        assert time.monotonic() < deadline, [bar.text for bar in at.get("progress")]
        time.sleep(0.3)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, role: str, name: str, data: bytes) -> AppTest:
    """Choose "Upload a file" for `role` (before the first run, so no sample job starts) and upload `data`."""
    at.session_state[f"lens.{role}.source"] = "Upload a file"
    at.run()
    uploader = next(u for u in at.get("file_uploader") if u.key == f"lens.{role}.upload")
    uploader.set_value((name, data, "application/octet-stream"))
    return at


def texts_of(at: AppTest) -> str:
    """Every message on the page as plain text (Markdown emphasis and escapes removed)."""
    kinds = ("markdown", "caption", "info", "error", "warning")
    text = "\n".join(str(e.value) for kind in kinds for e in at.get(kind))
    return text.replace("\\", "").replace("**", "")


def results(at: AppTest):
    return at.session_state["lens.results"]


def test_default_start_shows_both_methods_on_the_sample_data(app):
    settle(app)
    shown = results(app)
    pool = load_dataset(SAMPLE / "pool.jsonl").texts
    targets = load_dataset(SAMPLE / "targets_humaneval.jsonl").texts
    assert len(shown.frame) == len(pool) == 2933
    expected = run_zipfit(pool, targets)
    np.testing.assert_allclose(shown.zipfit.score, expected.score, rtol=0, atol=1e-12)
    assert shown.rds is not None
    assert len(app.get("plotly_chart")) >= 5  # two histograms, the scatter, lengths
    assert "2,933 candidates" in texts_of(app)


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("views/map.py", "UMAP"),
        ("views/side_by_side.py", "Why was it picked?"),
        ("views/overlap.py", "Jaccard"),
        ("views/export.py", "Download"),
    ],
)
def test_every_page_renders_with_a_small_uploaded_pool(app, page, expected):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    settle(app)
    app.switch_page(page)
    settle(app)
    rendered = texts_of(app) + json.dumps([c.proto.spec for c in app.get("plotly_chart")])
    rendered += " ".join(b.label for b in app.get("download_button"))
    rendered += " ".join(str(h.value) for h in app.get("header") + app.get("subheader"))
    assert expected in rendered


def test_uploaded_targets_change_the_results(app):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    settle(app)
    before = results(app).zipfit.score.copy()
    targets = [{"text": "Le chien numéro 3 dort sur le lit."}, {"text": "Le chat dort."}]
    upload(app, "targets", "french.jsonl", jsonl(targets))
    settle(app)
    after = results(app)
    assert "2 targets from upload french.jsonl" in texts_of(app)
    expected = run_zipfit([r["text"] for r in SMALL_POOL], [t["text"] for t in targets])
    np.testing.assert_allclose(after.zipfit.score, expected.score, rtol=0, atol=1e-12)
    assert not np.allclose(before, after.zipfit.score)
    top = after.frame.sort_values("zipfit_rank").head(5)
    assert set(top["source"]) == {"french"}


def test_bad_upload_is_explained_next_to_the_uploader_and_results_stay(app):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    settle(app)
    kept = results(app).zipfit.score.copy()
    upload(app, "targets", "broken.jsonl", b'{"text": "fine"}\n{"text": "oops",,}\n')
    settle(app)
    errors = [e.value for e in app.sidebar.get("error")]
    assert any("broken.jsonl:2: is not valid JSON" in error.replace("\\", "") for error in errors), errors
    assert "Still showing results for sample targets" in texts_of(app)
    np.testing.assert_array_equal(results(app).zipfit.score, kept)
    assert app.get("plotly_chart")


def test_upload_without_a_text_field_offers_a_picker(app):
    records = [{"body": r["text"], "label": r["source"]} for r in SMALL_POOL]
    upload(app, "pool", "body.jsonl", jsonl(records))
    app.run()
    errors = [e.value.replace("\\", "") for e in app.sidebar.get("error")]
    assert any("has no text field" in e and e.endswith("choose one in the Text field box") for e in errors), errors
    assert not any("--text-field" in e for e in errors)  # the command line's option: not a control here
    app.sidebar.selectbox(key="lens.pool.text_field").set_value("body")
    settle(app)
    assert len(results(app).frame) == 60


def test_a_pool_smaller_than_k_is_selected_whole_and_k_comes_back_with_a_larger_pool(app):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    settle(app)
    assert results(app).k == 60  # k = 100 (the default) on a 60-record pool
    assert "The pool holds 60 records: each method selects all of them." in [c.value for c in app.sidebar.caption]
    app.sidebar.radio(key="lens.pool.source").set_value("Sample pool: code, prose, maths, 24 languages")
    settle(app)
    assert results(app).k == 100  # what the user chose, not the smaller pool's size


def test_switching_k_to_a_share_of_the_pool_and_back_keeps_k(app):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    settle(app)
    app.sidebar.number_input(key="lens.k").set_value(9)
    app.sidebar.toggle(key="lens.k_percent").set_value(True)
    settle(app)
    (share,) = [s for s in app.sidebar.slider if s.label == "k (% of the pool)"]
    assert share.value == 15.0  # 9 of 60 records
    assert results(app).k == 9
    share.set_value(50.0)
    app.sidebar.toggle(key="lens.k_percent").set_value(False)
    settle(app)
    (count,) = [n for n in app.sidebar.number_input if n.label == "k (records each method selects)"]
    assert count.value == 30
    assert results(app).k == 30


@pytest.mark.parametrize("k", [137, 1])  # of 2,933: 4.7% and 0.1% (the least) would be k = 138 and 3
def test_switching_to_a_share_that_is_rounded_for_display_keeps_k(app, k):
    app.run()
    app.sidebar.number_input(key="lens.k").set_value(k)
    app.sidebar.toggle(key="lens.k_percent").set_value(True)
    settle(app)
    assert results(app).k == k
    assert f"k = {k:,} records" in [c.value for c in app.sidebar.caption]
    app.sidebar.toggle(key="lens.k_percent").set_value(False)
    settle(app)
    assert results(app).k == k


def test_changing_k_changes_the_selection_and_the_export(app):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    settle(app)
    app.sidebar.number_input(key="lens.k").set_value(7)
    app.switch_page("views/export.py")
    settle(app)
    labels = [b.label for b in app.get("download_button")]
    assert "Download 7 records (JSONL)" in labels
    assert int((results(app).frame["zipfit_rank"] < 7).sum()) == 7


def test_charts_are_built_once_per_results_and_redrawn_when_k_changes(app, monkeypatch):
    from dashboard import charts

    builds = []
    real = charts.score_scatter
    monkeypatch.setattr(charts, "score_scatter", lambda *args: builds.append(args[1]) or real(*args))
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    settle(app)

    def charts_shown() -> list[dict]:
        return [json.loads(c.proto.spec) for c in app.get("plotly_chart")]

    def titles() -> list[str]:
        return [chart["layout"]["title"]["text"] for chart in charts_shown()]

    first, k = charts_shown(), results(app).k
    assert any(title.endswith(f"colours at k = {k:,})") for title in titles())
    app.switch_page("views/overlap.py")
    settle(app)
    app.switch_page("views/scores.py")
    settle(app)
    assert builds == [k]  # the scatter was built once for these results, then reused
    app.sidebar.number_input(key="lens.k").set_value(7)
    settle(app)
    assert builds == [k, 7]
    assert any(title.endswith("colours at k = 7)") for title in titles())
    top = [trace for chart in charts_shown() for trace in chart["data"] if trace.get("name") == "top 7"]
    assert len(top) == 2 + 2  # each method's histogram and length scatter
    app.sidebar.number_input(key="lens.k").set_value(k)
    settle(app)
    assert charts_shown() == first
    assert builds == [k, 7]


def test_a_sampled_score_scatter_says_that_a_selection_lists_drawn_points_only(app, monkeypatch):
    from dashboard import charts

    monkeypatch.setattr(charts, "UNSELECTED_POINTS", 10)
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL)).run()
    app.sidebar.number_input(key="lens.k").set_value(5)
    settle(app)
    neither = int((results(app).frame["agreement"] == "neither").sum())
    assert neither > 10
    assert f"draws a fixed sample of 10 of the {neither:,} items neither method chose" in texts_of(app)
    scatter = next(json.loads(c.proto.spec) for c in app.get("plotly_chart") if "Spearman" in c.proto.spec)
    assert [len(trace["customdata"]) for trace in scatter["data"] if trace["name"].startswith("neither")] == [10]


def test_export_file_is_the_top_k_records_of_the_pool(app):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL)).run()
    app.sidebar.number_input(key="lens.k").set_value(5)
    app.switch_page("views/export.py")
    settle(app)
    app.radio(key="lens.export.which").set_value("zipfit").run()
    manifest = json.loads(app.get("json")[0].proto.body)
    targets = load_dataset(SAMPLE / "targets_humaneval.jsonl").texts
    ranks = ranks_descending(run_zipfit([r["text"] for r in SMALL_POOL], targets).score)
    chosen = [record for record, rank in zip(SMALL_POOL, ranks, strict=True) if rank < 5]
    expected = jsonl(chosen)
    assert manifest["records"] == 5
    assert manifest["file_sha256"] == hashlib.sha256(expected).hexdigest()
    assert manifest["run"]["targets"]["records"] == 164


def test_the_export_choice_comes_back_after_a_method_reruns(app, monkeypatch):
    from dashboard import work

    release, real = threading.Event(), work.run_zipfit

    def held(*args, **kwargs):  # ZIP-FIT at the new level waits until the test has looked at the page
        release.wait(60)
        return real(*args, **kwargs)

    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL)).run()
    app.sidebar.number_input(key="lens.k").set_value(5)
    app.switch_page("views/export.py")
    settle(app)
    app.radio(key="lens.export.which").set_value("union").run()
    monkeypatch.setattr(work, "run_zipfit", held)
    app.session_state["lens.level"] = 7
    app.run()
    assert app.radio(key="lens.export.which").value == "rds"  # the only one while ZIP-FIT runs
    assert "Your choice, “chosen by either”, comes back when the results it needs are ready." in texts_of(app)
    release.set()
    settle(app)
    assert app.radio(key="lens.export.which").value == "union"  # was RDS+'s top k from then on
    assert "Your choice" not in texts_of(app)


def test_an_exports_manifest_records_rds_as_the_command_line_does(app, tmp_path):
    """Model identity (which weights), pooling, dtype and device: the manifest had only the model's name."""
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL)).run()
    app.switch_page("views/export.py")
    settle(app)
    app.radio(key="lens.export.which").set_value("rds").run()
    manifest = json.loads(app.get("json")[0].proto.body)
    pool = tmp_path / "small.jsonl"
    pool.write_bytes(jsonl(SMALL_POOL))
    out = tmp_path / "out.parquet"
    targets = str(SAMPLE / "targets_humaneval.jsonl")
    assert (
        main(
            [
                "score",
                "--pool",
                str(pool),
                "--targets",
                targets,
                "--method",
                "rds",
                "--model",
                "fake",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    expected = json.loads(pq.read_schema(out).metadata[b"scoring"])["rds"]
    assert manifest["run"]["rds"] == expected
    assert manifest["run"]["rds"]["model"]["version"] == "dashboard-tests"


def test_a_failing_job_is_shown_and_the_app_stays_usable(app):
    app.session_state["lens.model"] = "other"
    app.session_state["lens.model_id"] = "no-such-org/no-such-model"
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    settle(app)
    failures = [e.value for e in app.get("error")]
    assert any("RDS+ failed" in f and "no-such-org/no-such-model" in f.replace("\\", "") for f in failures), failures
    assert results(app).zipfit is not None
    assert any(b.label == "Try again" for b in app.get("button"))
    assert "RDS+ failed: the message and a retry button are at the top of the page." in texts_of(app)  # Scores
    assert "RDS+ is still running" not in texts_of(app)
    assert "--model" not in "\n".join(e.value for e in app.get("error"))  # named as the sidebar names it
    app.switch_page("views/overlap.py").run()
    assert "RDS+ failed: the message" in "\n".join(w.value for w in app.get("warning"))


def test_cancel_stops_a_job_and_resume_finishes_it(app):
    app.session_state["lens.level"] = 8  # a fresh ZIP-FIT on the whole sample: seconds of work
    app.run()
    job = results(app).jobs["zipfit"]
    while job.done == 0 and job.active:  # some work finished, so the resumed run starts from it
        time.sleep(0.05)
    cancel = next(b for b in app.get("button") if b.key and b.key.startswith("lens.cancel.zipfit"))
    cancel.click()
    settle(app)
    assert any("ZIP-FIT was cancelled" in w.value for w in app.get("warning"))
    assert results(app).zipfit is None
    assert "ZIP-FIT was cancelled: resume it at the top of the page." in texts_of(app)  # not "still running"
    next(b for b in app.get("button") if b.label == "Resume").click()
    settle(app)
    assert results(app).zipfit is not None
    done = next(bar.text for bar in app.get("progress") if bar.text.startswith("ZIP-FIT:"))
    assert re.fullmatch(r"ZIP-FIT: done in [\d.]+ s \(\d+% of it was in the cache\)", done), done


def test_the_live_status_panel_sits_alone_in_a_container_of_its_own(app):
    # Streamlit 1.67's browser side can drop a fragment's block when its run ends in st.rerun(scope="app"); in a
    # container of its own that shifts nothing, else the app crashed to a blank page (see dashboard/status.py).
    app.session_state["lens.level"] = 7  # a fresh ZIP-FIT: the jobs are still running after the first run
    app.run()
    titles = [type(child).__name__ for child in app.main.children.values()]
    assert titles[:3] == ["Title", "Caption", "Block"], titles
    slot = app.main.children[2]
    assert len(slot.children) == 1  # the fragment's block, and nothing after it inside the slot
    fragment = slot.children[0]
    columns = fragment.children[0]  # slot -> fragment -> columns -> column -> progress bar (one level more than
    assert [type(c).__name__ for c in columns.children.values()] == ["Column", "Column"]  # without the slot)
    assert any(bar.text.startswith("ZIP-FIT:") for bar in slot.get("progress"))
    for job in results(app).jobs.values():
        job.cancel()


def test_fast_mode_on_a_few_texts_says_its_scores_are_exact(app):
    """60 texts: fast mode compresses every pair, so nothing is labelled an approximation (all of it was)."""
    app.session_state["lens.zipfit_fast"] = True
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL)).run()
    app.switch_page("views/export.py")
    settle(app)
    app.radio(key="lens.export.which").set_value("zipfit").run()
    manifest = json.loads(app.get("json")[0].proto.body)
    assert manifest["run"]["zipfit"]["approximation"].startswith("none: fast mode compressed every pair")
    assert manifest["file"].startswith("selection-zipfit-k")
    captions = " ".join(c.value for c in app.caption)
    assert "compressed every pair of these few texts: exact scores" in captions
    assert "approximate" not in captions
    exact = run_zipfit([r["text"] for r in SMALL_POOL], load_dataset(SAMPLE / "targets_humaneval.jsonl").texts)
    np.testing.assert_allclose(results(app).zipfit.score, exact.score, rtol=0, atol=1e-12)


def test_fast_mode_is_labelled_an_approximation_everywhere(app):
    app.session_state["lens.zipfit_fast"] = True
    distinct = [{**record, "text": f"{record['text']} ({copy})"} for copy in range(2) for record in SMALL_POOL]
    upload(app, "pool", "small.jsonl", jsonl(distinct)).run()  # 120 texts: enough to estimate (60 are not)
    app.switch_page("views/export.py")
    settle(app)
    app.radio(key="lens.export.which").set_value("zipfit").run()
    assert any(bar.text.startswith("ZIP-FIT (fast): done") for bar in app.get("progress"))
    manifest = json.loads(app.get("json")[0].proto.body)
    assert manifest["run"]["zipfit"]["mode"] == "fast"
    assert "estimates" in manifest["run"]["zipfit"]["approximation"]
    assert manifest["file"].startswith("selection-zipfit-fast-k")  # the data file says so without its manifest
    for page in ["map", "side_by_side", "overlap", "export", "scores"]:
        app.switch_page(f"views/{page}.py")
        settle(app)
        assert "fast mode: approximate scores" in " ".join(c.value for c in app.caption), page
    assert "approximation of exact ZIP-FIT" in texts_of(app)
    app.switch_page("views/export.py")
    settle(app)
    app.radio(key="lens.export.which").set_value("rds").run()
    assert json.loads(app.get("json")[0].proto.body)["file"].startswith("selection-rds-k")  # RDS+ is exact
    app.toggle(key="lens.zipfit_fast").set_value(False).run()
    settle(app)  # exact ZIP-FIT runs; until it is done, only RDS+ can be exported
    app.radio(key="lens.export.which").set_value("zipfit").run()
    assert json.loads(app.get("json")[0].proto.body)["file"].startswith("selection-zipfit-k")
    assert "approximate" not in " ".join(c.value for c in app.caption)


def test_stepping_a_slider_drops_the_jobs_it_passed_on_the_way(app):
    """Arrow keys on the gzip slider ask for every level on the way: only the last one waits to run."""
    from dashboard import state as dashboard_state

    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    settle(app)
    manager, release = dashboard_state.jobs(), threading.Event()
    manager.submit("test:busy", "busy", lambda progress, cancel: release.wait(60), lane="zipfit")  # lane taken
    try:
        for level in (8, 7, 6):
            next(s for s in app.get("slider") if s.key == "lens.level").set_value(level)
            app.run()
        waiting = [job.key for job in manager.jobs() if job.key.startswith("zipfit") and job.active]
    finally:
        release.set()
    assert len(waiting) == 1, waiting
    settle(app)
    pool = [record["text"] for record in SMALL_POOL]
    targets = load_dataset(SAMPLE / "targets_humaneval.jsonl").texts
    expected = run_zipfit(pool, targets, ZipfitParams(level=6))
    np.testing.assert_allclose(results(app).zipfit.score, expected.score, rtol=0, atol=1e-12)


def parquet_bytes(records: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(records), sink)
    return sink.getvalue().to_pybytes()


BAD_UPLOADS = [
    ("empty.jsonl", b"", "empty.jsonl: is empty"),
    ("latin1.jsonl", '{"text": "café"}\n'.encode("latin-1"), "latin1.jsonl:1: is not valid UTF-8"),
    ("binary.txt", b"\x00\x01\x02\xff" * 10, "binary.txt:1: holds binary data"),
    ("broken.jsonl", b'{"text": "a"}\n{"text": \n', "broken.jsonl:2: is not valid JSON"),
    ("object.json", b'{"rows": [{"text": "a"}]}', "object.json: holds an object with keys rows, not a list"),
    ("nofield.jsonl", b'{"body": "a"}\n', "nofield.jsonl: has no text field"),
    ("notext.jsonl", b'{"a": 1, "b": [1, 2]}\n', "notext.jsonl: no field holds text (fields found: a, b); give each"),
    ("null.jsonl", b'{"text": "a"}\n{"text": null}\n', "null.jsonl:2: this record has null in field 'text'"),
    ("number.csv", b"text,n\n1,2\n", None),  # CSV values are text: "1" is a valid text
    ("some.jsonl", b'{"text": "a"}\n{"other": "b"}\n', "some.jsonl:2: this record has no field 'text'"),
    ("damaged.parquet", parquet_bytes([{"text": "a"}] * 50)[:-40], "damaged.parquet: is not a readable Parquet"),
    ("bytes.parquet", parquet_bytes([{"text": b"ab"}]), "bytes.parquet: record 0 (0-based) has bytes in field 'text'"),
    ("list.jsonl", b'{"text": ["a", "b"]}\n', "list.jsonl:1: this record has a list in field 'text', not text"),
    ("parquet.jsonl", parquet_bytes([{"text": "a"}]), "parquet.jsonl: is a Parquet file; name it .parquet"),
    ("jsonl.parquet", b'{"text": "a"}\n', "jsonl.parquet: is JSON, not Parquet; name it .jsonl"),
]
"""(An unknown suffix never reaches the app: the uploader accepts only the formats the loader reads.)"""


@pytest.mark.parametrize(("name", "data", "message"), BAD_UPLOADS)
def test_each_bad_upload_is_explained_and_results_stay(app, name, data, message):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    settle(app)
    kept = results(app).zipfit.score.copy()
    upload(app, "targets", name, data)
    settle(app)
    errors = [e.value.replace("\\", "") for e in app.sidebar.get("error")]
    if message is None:
        assert errors == []
        return
    assert any(message in error for error in errors), errors
    np.testing.assert_array_equal(results(app).zipfit.score, kept)
    assert "Traceback" not in " ".join(errors)


def test_a_reader_bug_is_an_error_in_the_sidebar_not_a_traceback(app, monkeypatch):
    from dashboard import inputs

    def broken(data: bytes, *, name: str):
        raise RuntimeError("a bug in a reader")

    monkeypatch.setattr(inputs, "parse_records", broken)  # stands for any unforeseen failure while reading
    upload(app, "targets", "odd.jsonl", jsonl([{"text": "a reader bug meets this file"}]))
    settle(app)
    errors = [e.value.replace("\\", "") for e in app.sidebar.get("error")]
    assert any("odd.jsonl: could not be read (RuntimeError: a bug in a reader); please report" in e for e in errors)
    assert not app.exception


def test_two_sessions_scoring_the_same_inputs_share_one_job(app, monkeypatch, shared_cache):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    app.run()
    other = AppTest.from_file(APP, default_timeout=120)  # a second browser session, same server process
    other.session_state["lens.model"] = "fake"
    upload(other, "pool", "small.jsonl", jsonl(SMALL_POOL))
    other.run()
    assert results(app).jobs["zipfit"] is results(other).jobs["zipfit"]
    assert results(app).jobs["rds"] is results(other).jobs["rds"]


def test_a_cancel_in_one_session_leaves_a_shared_job_running_for_the_other(app):
    app.session_state["lens.level"] = 3  # a ZIP-FIT no other test runs (shared cache): seconds of work
    app.run()
    other = AppTest.from_file(APP, default_timeout=120)  # a second browser session, same server process
    other.session_state["lens.model"] = "fake"
    other.session_state["lens.level"] = 3
    other.run()
    shared = results(app).jobs["zipfit"]
    assert results(other).jobs["zipfit"] is shared
    assert shared.active
    next(b for b in app.get("button") if b.key and b.key.startswith("lens.cancel.zipfit")).click()
    app.run()
    assert shared.active
    assert not shared.cancelling
    assert any("ZIP-FIT: " in bar.text and "cancelled here" in bar.text for bar in app.get("progress")), [
        (bar.text, app.exception) for bar in app.get("progress")
    ]
    settle(other)
    assert results(other).zipfit is not None
    next(b for b in app.get("button") if b.label == "Resume").click()
    settle(app)
    assert results(app).zipfit is not None


def cancel_zipfit(app: AppTest) -> None:
    next(b for b in app.get("button") if b.key and b.key.startswith("lens.cancel.zipfit")).click()
    app.run()


def test_back_on_settings_this_session_cancelled_the_job_of_the_settings_it_left_stops(app):
    app.session_state["lens.level"] = 2  # levels no other test runs (shared cache): seconds of work each
    app.run()
    cancelled = results(app).jobs["zipfit"]
    cancel_zipfit(app)
    assert cancelled.wait(60).state == CANCELLED
    app.session_state["lens.level"] = 4
    app.run()
    left = results(app).jobs["zipfit"]
    assert left.active
    app.session_state["lens.level"] = 2  # back: the cancelled job is shown with Resume, and level 4 is not shown
    app.run()
    assert results(app).jobs["zipfit"] is cancelled
    assert left.wait(60).state == CANCELLED  # on the old code it ran to the end with nobody looking at it


def test_a_job_another_session_cancelled_starts_again_for_a_session_that_arrives(app):
    app.session_state["lens.level"] = 5
    app.run()
    cancelled = results(app).jobs["zipfit"]
    cancel_zipfit(app)
    assert cancelled.wait(60).state == CANCELLED
    other = AppTest.from_file(APP, default_timeout=120)  # a second browser session, same server process
    other.session_state["lens.model"] = "fake"
    other.session_state["lens.level"] = 5
    other.run()
    assert results(other).jobs["zipfit"] is not cancelled  # not "ZIP-FIT was cancelled": it never cancelled
    settle(other)
    assert results(other).zipfit is not None


def second_session(level: int) -> AppTest:
    """Another browser session on the same server process, at gzip `level`."""
    other = AppTest.from_file(APP, default_timeout=120)
    other.session_state["lens.model"] = "fake"
    other.session_state["lens.level"] = level
    other.run()
    return other


def test_a_job_this_session_cancelled_stays_cancelled_when_the_session_running_it_moves_on(app):
    """It was started again for this session, which had cancelled it (the job had been forgotten)."""
    app.session_state["lens.level"] = 6  # a level no other test runs (shared cache): seconds of work
    app.run()
    other = second_session(6)
    shared = results(app).jobs["zipfit"]
    assert results(other).jobs["zipfit"] is shared
    cancel_zipfit(app)  # it runs on for the other session
    assert shared.active
    other.session_state["lens.level"] = 9
    other.run()  # nobody wants level 6 now: it stops
    assert shared.wait(60).state == CANCELLED
    app.run()
    shown = results(app).jobs["zipfit"]
    assert shown.state == CANCELLED, shown
    assert [b.label for b in app.get("button") if b.label == "Resume"] == ["Resume"]
    for job in results(other).jobs.values():
        job.cancel()


def test_resume_clicked_while_the_job_is_stopping_runs_it_again(app, monkeypatch):
    """The click came in a rerun that drew no Resume button (the job was "cancelling…"), so it was lost."""
    from dashboard import work

    stopping, real = threading.Event(), work.run_zipfit

    def slow_to_stop(*args, **kwargs):  # holds the job in "cancelling" until the test lets it go
        try:
            return real(*args, **kwargs)
        except Cancelled:
            stopping.wait(60)
            raise

    monkeypatch.setattr(work, "run_zipfit", slow_to_stop)
    app.session_state["lens.level"] = 1  # a level no other test runs (shared cache): seconds of work
    app.run()
    other = second_session(1)
    shared = results(app).jobs["zipfit"]
    cancel_zipfit(other)  # runs on for app; other shows "cancelled here" and Resume
    assert any(b.label == "Resume" for b in other.get("button"))
    cancel_zipfit(app)  # now nobody wants it: it is stopping
    assert shared.cancelling
    next(b for b in other.get("button") if b.label == "Resume").click()
    other.run()
    stopping.set()
    assert shared.wait(60).state == CANCELLED
    settle(other)
    assert results(other).zipfit is not None  # on the old code: "ZIP-FIT was cancelled" and Resume again


def test_a_max_length_beyond_the_model_is_refused_in_the_sidebar(app):
    settle(upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL)))
    app.session_state["lens.max_length"] = 2048  # the fake model reads at most 1,024 tokens
    settle(app)
    errors = [e.value.replace("\\", "") for e in app.sidebar.get("error")]  # shown escaped, as typed
    assert errors == ["Max length (tokens): 2048 is more than fake reads; use at most 1024"]
    assert results(app).inputs.rds.max_length == 512  # RDS+ keeps the last usable settings, and does not fail
    assert results(app).rds is not None


def test_one_record_is_not_called_records(app):
    settle(upload(app, "pool", "one.jsonl", jsonl(SMALL_POOL[:1])))
    shown = texts_of(app)
    assert "1 candidate from upload one.jsonl" in shown
    assert "1 record · text: field 'text'" in shown
    assert "1 records" not in shown


def test_cache_panel_shows_the_size_and_clears_it(app, shared_cache):
    settle(upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL)))
    assert any(shared_cache.rglob("*.npy"))
    expander_text = " ".join(c.value for c in app.sidebar.get("caption"))
    assert str(shared_cache).replace("\\", "") in expander_text.replace("\\", "")
    st.cache_data.clear()  # the size is remeasured every 30 s: measure it now
    app.run()
    assert " 0 bytes in " not in " ".join(c.value for c in app.sidebar.get("caption"))
    next(b for b in app.sidebar.get("button") if b.key == "lens.cache.clear").click()
    app.run()
    assert not any(shared_cache.rglob("*.npy"))
    shown = " ".join(c.value for c in app.sidebar.get("caption"))
    assert " 0 bytes in " in shown  # measured after the clearing
    assert "(measured now)" in shown  # jobs still running refill it: the age says how old the figure is


def test_why_was_it_picked_embeds_in_a_job_after_the_cache_is_cleared_never_on_the_page(app, monkeypatch):
    fake = use_fake_model(monkeypatch)  # a new identity: no encoder loaded by earlier tests counts for another
    settle(upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL)))
    next(b for b in app.sidebar.get("button") if b.key == "lens.cache.clear").click()
    app.run()
    fake.threads.clear()
    app.switch_page("views/side_by_side.py")
    settle(app)
    assert set(fake.threads) == {"job-why"}  # embedded, and not on the page script's thread
    assert any("cosine" in frame.value.columns for frame in app.dataframe)  # the RDS+ nearest targets
    fake.threads.clear()
    settle(app)  # the same record again: the job's result, nothing embedded
    assert fake.threads == []
    assert any("cosine" in frame.value.columns for frame in app.dataframe)  # the RDS+ nearest targets


def test_a_cache_folder_that_cannot_be_used_is_explained(app, monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "a-file"))
    app.run()
    assert not app.exception
    assert [e.value.replace("\\", "") for e in app.error] == [  # shown escaped, as typed
        f"$SCORING_CACHE_DIR: '{tmp_path / 'a-file'}' is a file, not a folder; give a writable folder with "
        "$SCORING_CACHE_DIR"
    ]


def test_the_text_filter_searches_whole_texts_not_the_shortened_ones(app):
    long_pool = [*SMALL_POOL, {"text": "x " * 400 + "a NEEDLE at the end", "source": "long"}]
    upload(app, "pool", "small.jsonl", jsonl(long_pool))
    app.session_state["lens.k"] = len(long_pool)  # everything selected: the filter alone decides what is listed
    settle(app)
    app.switch_page("views/side_by_side.py")
    settle(app)
    next(t for t in app.text_input if t.key == "lens.sbs.filter").input("needle").run()
    expected = sum("needle" in r["text"].casefold() for r in long_pool)
    assert expected == 1
    shown = [c.value for c in app.caption if "of the top" in c.value]
    assert len(shown) == 2  # one caption per method
    assert all(c.startswith(f"{expected} of the top {len(long_pool)} shown") for c in shown), shown


def test_the_whole_text_box_names_direction_controls_instead_of_obeying_them(app):
    pool = [*SMALL_POOL[:-1], {"text": "pay \u202eevil\u202c now", "source": "bidi"}]
    upload(app, "pool", "small.jsonl", jsonl(pool))
    settle(app)
    app.switch_page("views/side_by_side.py")
    settle(app)
    app.number_input(key="lens.sbs.index").set_value(len(pool) - 1).run()
    assert [c.value for c in app.code] == ["pay ⟪U+202E⟫evil⟪U+202C⟫ now"]  # shown obeyed, it read "pay live now"
    captions = [c.value for c in app.caption if c.value.startswith("Record #")]
    assert captions == [f"Record #{len(pool) - 1} · 14 characters · direction controls shown by name, as ⟪U+202E⟫"]


def test_removing_an_uploaded_pool_says_which_results_are_still_shown(app):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    settle(app)
    next(u for u in app.get("file_uploader") if u.key == "lens.pool.upload").set_value(None)  # the ✕ on the file
    app.run()
    assert "Nothing chosen here: still showing results for upload small.jsonl (60 records)." in texts_of(app)
    assert len(results(app).frame) == len(SMALL_POOL)


def test_pasted_targets_are_split_at_blank_lines_and_kept_when_the_box_is_emptied(app):
    app.run()
    app.sidebar.radio(key="lens.targets.source").set_value("Paste text").run()
    app.sidebar.text_area(key="lens.targets.paste").input("def f():\n    return 1\n\n\n\nBonjour\n\nHola").run()
    settle(app)
    assert results(app).inputs.targets.dataset.texts == ["def f():\n    return 1", "Bonjour", "Hola"]
    assert "3 records · text: pasted, one per blank-line-separated block" in texts_of(app)
    app.sidebar.text_area(key="lens.targets.paste").input("  \n\n ").run()
    assert "Nothing chosen here: still showing results for pasted text (3 records)." in texts_of(app)
    assert len(results(app).inputs.targets.dataset) == 3


def reopened(app: AppTest, **changes: str) -> AppTest:
    """A new session opening the URL `app` ended with (a reload, a bookmark), with `changes` made to it."""
    again = AppTest.from_file(APP, default_timeout=120)
    again.query_params = {**app.query_params, **changes}
    return again


def test_a_reload_opens_the_same_samples_and_parameters(app):
    app.session_state["lens.targets.source"] = SOURCES["translation"]
    app.run()
    app.sidebar.slider(key="lens.level").set_value(6)
    app.sidebar.toggle(key="lens.zipfit_fast").set_value(True)
    app.sidebar.number_input(key="lens.k").set_value(250)
    app.sidebar.radio(key="lens.selection").set_value("max")
    app.run()
    linked = {"targets": "translation", "k": "250", "level": "6", "fast": "1", "model": "fake", "selection": "max"}
    assert app.query_params == linked  # the defaults (the sample pool, max length 512) are left out
    again = reopened(app).run()
    assert not again.exception
    assert not again.sidebar.warning
    chosen = results(again).inputs
    assert chosen.targets.label == "sample targets_translation.jsonl"
    assert chosen.pool.label == "sample pool.jsonl"
    assert (chosen.k, chosen.zipfit.level, chosen.zipfit_mode) == (250, 6, "fast")
    assert (chosen.rds.model, chosen.rds.selection, chosen.rds.max_length) == ("fake", "max", 512)
    assert again.query_params == linked


def test_a_reload_finds_the_uploaded_pool_its_text_field_and_k_as_a_share(app):
    data = jsonl([{"body": r["text"], "label": r["source"]} for r in SMALL_POOL])
    upload(app, "pool", "body.jsonl", data).run()
    app.sidebar.selectbox(key="lens.pool.text_field").set_value("body").run()
    app.sidebar.number_input(key="lens.k").set_value(9).run()
    app.sidebar.toggle(key="lens.k_percent").set_value(True).run()
    linked = {"pool": "upload", "pool_file": hashlib.sha256(data).hexdigest(), "pool_field": "body", "k_pct": "15"}
    assert linked.items() <= app.query_params.items()
    again = reopened(app).run()
    assert "body.jsonl, as uploaded before (a copy in the cache)" in texts_of(again)
    chosen = results(again).inputs
    assert chosen.pool.label == "upload body.jsonl"
    assert chosen.k == 9
    assert chosen.pool.dataset.texts == [r["text"] for r in SMALL_POOL]
    assert linked.items() <= again.query_params.items()


def test_a_reload_restores_pasted_targets(app):
    app.run()
    app.sidebar.radio(key="lens.targets.source").set_value("Paste text").run()
    app.sidebar.text_area(key="lens.targets.paste").input("Bonjour\n\nHola").run()
    again = reopened(app).run()
    assert again.sidebar.text_area(key="lens.targets.paste").value == "Bonjour\n\nHola"
    assert results(again).inputs.targets.dataset.texts == ["Bonjour", "Hola"]


def test_a_link_keeps_its_parameters_while_the_targets_are_still_to_be_pasted(app):
    app.query_params = {"targets": "paste", "k": "37", "level": "6"}
    app.run()
    assert "Choose target examples and a candidate pool in the sidebar to start." in texts_of(app)
    assert app.query_params == {"targets": "paste", "k": "37", "level": "6"}
    app.sidebar.text_area(key="lens.targets.paste").input("Bonjour\n\nHola").run()
    chosen = results(app).inputs
    assert (chosen.k, chosen.zipfit.level, chosen.targets.label) == (37, 6, "pasted text")


def test_a_link_to_an_upload_that_is_no_longer_kept_asks_for_it_again(app, shared_cache):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL)).run()
    shutil.rmtree(shared_cache / "v1" / "uploads")  # e.g. "Clear the cache" in another session
    again = reopened(app).run()
    assert "The file this link names is not kept here (was the cache cleared?): upload it again." in texts_of(again)
    assert not again.exception


def test_a_link_with_values_that_are_not_valid_says_which_and_uses_the_defaults(app):
    app.query_params = {"level": "12", "targets": "nowhere", "k": "-3", "pool_file": "../../etc/passwd"}
    app.run()
    (warning,) = [w.value.replace("\\", "") for w in app.sidebar.warning]
    assert "level=12 is not valid (a whole number from 1 to 9)" in warning
    assert "targets=nowhere is not valid (one of humaneval, translation, upload, paste)" in warning
    assert "k=-3 is not valid (a whole number from 1 to 1,000,000,000)" in warning
    chosen = results(app).inputs
    assert (chosen.zipfit.level, chosen.k, chosen.targets.label) == (9, 100, "sample targets_humaneval.jsonl")
    assert app.query_params == {"model": "fake"}  # only the values in use
    settle(app)  # the jobs' reruns
    assert len(app.sidebar.warning) == 1  # it stays (it was gone within a second) ...
    app.sidebar.number_input(key="lens.k").set_value(9).run()
    assert not app.sidebar.warning  # ... until the user changes a choice


def test_a_link_value_that_waited_for_pasted_targets_is_warned_about_once_they_are_pasted(app):
    app.query_params = {"targets": "paste", "level": "0"}
    app.run()
    app.sidebar.text_area(key="lens.targets.paste").input("Bonjour\n\nHola").run()
    (warning,) = [w.value.replace("\\", "") for w in app.sidebar.warning]
    assert "level=0 is not valid (a whole number from 1 to 9)" in warning
    assert results(app).inputs.zipfit.level == 9


@pytest.mark.parametrize("page", ["views/scores.py", "views/map.py", "views/side_by_side.py", "views/export.py"])
def test_pool_fields_named_like_the_pages_own_columns_are_shown_renamed(app, page):
    own = [r | {"length": "long" if i % 2 else "short", "pool_index": 100 + i % 7} for i, r in enumerate(SMALL_POOL)]
    upload(app, "pool", "own-columns.jsonl", jsonl(own))
    settle(app)
    app.switch_page(page)
    settle(app)
    frame = results(app).frame
    assert frame["pool_index"].tolist() == list(range(len(own)))
    assert frame["length"].tolist() == [len(r["text"]) for r in own]
    assert frame["original_length"].tolist() == [r["length"] for r in own]
    assert frame["original_pool_index"].tolist() == [str(r["pool_index"]) for r in own]


def test_a_field_null_in_some_records_and_absent_in_others_reads_missing_in_both(app):
    pool = [
        r | ({"maybe": "yes"} if i % 3 == 0 else {"maybe": None} if i % 3 == 1 else {})
        for i, r in enumerate(SMALL_POOL)
    ]
    settle(upload(app, "pool", "maybe.jsonl", jsonl(pool)))
    assert set(results(app).frame["maybe"]) == {"yes", "(missing)"}


def test_two_pools_with_the_same_texts_show_their_own_fields(app):
    upload(app, "pool", "first.jsonl", jsonl(SMALL_POOL))
    settle(app)
    relabelled = [r | {"source": f"second-{r['source']}"} for r in SMALL_POOL]
    next(u for u in app.get("file_uploader") if u.key == "lens.pool.upload").set_value(
        ("second.jsonl", jsonl(relabelled), "application/octet-stream")
    )
    settle(app)
    assert results(app).frame["source"].tolist() == [r["source"] for r in relabelled]


def test_page_scripts_write_nothing_by_accident():
    """Streamlit writes a bare expression of a page script to the page ("magic"), e.g. a string meant as a
    docstring of the constant above it: only the module docstring may be a bare string."""
    import ast

    for path in [ROOT / "dashboard" / "app.py", *sorted((ROOT / "dashboard" / "views").glob("*.py"))]:
        body = ast.parse(path.read_text(encoding="utf-8")).body
        stray = [n.lineno for n in body[1:] if isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)]
        assert stray == [], f"{path.name}: bare values at lines {stray}"


TASK_TARGETS = [
    {"text": "def add(a, b):\n    return a + b\n", "task": "code"},
    {"text": "def double(x):\n    return 2 * x\n", "task": "code"},
    {"text": "Le chat dort sur le canapé.", "task": "french"},
    {"text": "Le chien mange.", "task": "french"},
    {"text": "The integral of x^2 is x^3/3.", "task": "maths"},
]


def test_a_task_column_groups_the_targets_for_rds(app):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    upload(app, "targets", "tasks.jsonl", jsonl(TASK_TARGETS))
    settle(app)
    app.sidebar.selectbox(key="lens.task_field").set_value("task")
    settle(app)
    task_ids = [t["task"] for t in TASK_TARGETS]
    assert results(app).inputs.task_ids == task_ids
    pool, targets = [r["text"] for r in SMALL_POOL], [t["text"] for t in TASK_TARGETS]
    expected = run_rds(pool, targets, results(app).inputs.rds, task_ids=task_ids)
    np.testing.assert_array_equal(results(app).rds.rank, expected.rank)
    assert "RDS+ selects round-robin over the tasks (task column task;" in texts_of(app)


@pytest.mark.parametrize(("k", "coloured"), [(1, "the 1 selected item is coloured"), (10**6, "the 60 selected items")])
def test_the_rds_histogram_caption_counts_the_items_coloured(app, k, coloured):
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))  # 60 records
    settle(app)
    app.sidebar.number_input(key="lens.k").set_value(k)
    settle(app)
    assert coloured in texts_of(app)  # was "the 1 selected are coloured", "the 1,000,000 selected"


@pytest.mark.parametrize("lacking", [{}, {"task": None}])
def test_a_task_column_some_targets_lack_is_offered_and_explained(app, lacking):
    targets = [*TASK_TARGETS[:3], {"text": "Le chien mange.", **lacking}, *TASK_TARGETS[4:]]
    upload(app, "pool", "small.jsonl", jsonl(SMALL_POOL))
    upload(app, "targets", "tasks.jsonl", jsonl(targets))
    settle(app)
    app.sidebar.selectbox(key="lens.task_field").set_value("task")  # offered: the column is there
    settle(app)
    errors = [e.value.replace("\\", "") for e in app.sidebar.get("error")]
    holds = "null" if lacking else "no value"
    expected = (
        f"tasks.jsonl:4: this record has {holds} in field 'task', not a task name (text or a whole number); give "
        "every target one, or choose another Task column"  # the sidebar's name, said once
    )
    assert expected in errors
    assert results(app).inputs.task_ids is None  # RDS+ runs over single targets, as without a task column


@pytest.mark.parametrize(
    ("field", "value"),
    [("year", lambda i: 1990 + i % 30), ("quality", lambda i: round(i / 7, 3))],  # 30 values; 54, past the 50
    ids=["30 integers", "54 floats"],  # a label field may have; a score of each record is still a colour
)
def test_the_map_colours_a_numeric_field_on_a_scale_with_missing_values_apart(app, field, value):
    pool = [r | ({field: value(i)} if i % 10 else {}) for i, r in enumerate(SMALL_POOL)]
    upload(app, "pool", "numbers.jsonl", jsonl(pool))
    settle(app)
    app.switch_page("views/map.py")
    settle(app)
    app.selectbox(key="lens.map.colour").set_value(field)
    settle(app)
    (chart,) = app.get("plotly_chart")
    scale, missing, _targets = json.loads(chart.proto.spec)["data"]
    numbers = [r[field] for r in pool if field in r]
    colours = scale["marker"]["color"]  # a typed array: {"dtype": "f8", "bdata": base64}
    assert np.frombuffer(base64.b64decode(colours["bdata"]), colours["dtype"]).tolist() == numbers
    assert "colorscale" in scale["marker"]
    assert missing["name"] == "(missing) (6)"


def test_the_export_preview_shows_the_columns_and_values_of_the_file(app):
    pool = [
        {"id": f"r{i}", "text": r["text"], "length": "long", "meta": {"source": r["source"], "tags": [i]}}
        for i, r in enumerate(SMALL_POOL)
    ]
    upload(app, "pool", "nested.jsonl", jsonl(pool)).run()
    app.sidebar.number_input(key="lens.k").set_value(5)
    app.switch_page("views/export.py")
    settle(app)
    app.radio(key="lens.export.which").set_value("zipfit").run()
    exported = [json.loads(line) for line in jsonl(pool).decode().splitlines()]
    ranks = results(app).frame["zipfit_rank"].to_numpy()
    expected = [record for record, rank in zip(exported, ranks, strict=True) if rank < 5]
    (preview,) = app.dataframe
    assert list(preview.value.columns) == ["id", "text", "length", "meta"]  # the file's, not the pages' own
    assert preview.value["id"].tolist() == [r["id"] for r in expected]
    assert preview.value["meta"].tolist() == [json.dumps(r["meta"]) for r in expected]
    assert "5 records as the file holds them" in texts_of(app)


def test_a_field_only_one_record_has_is_not_offered_as_a_colour_or_column(app):
    pool = [r | ({"note": "only here"} if i == 3 else {}) for i, r in enumerate(SMALL_POOL)]
    settle(upload(app, "pool", "note.jsonl", jsonl(pool)))
    assert "note" not in results(app).frame
    app.switch_page("views/map.py")
    settle(app)
    assert "note" not in app.selectbox(key="lens.map.colour").options


@pytest.mark.parametrize(
    ("cached", "says"),
    [
        (0, ""),
        (4, ""),
        (520, " (52% of it was in the cache)"),
        (999, " (99% of it was in the cache)"),
        (1000, " (all of it was in the cache)"),
    ],
)
def test_a_finished_jobs_bar_says_how_much_of_it_was_in_the_cache(cached, says):
    """It said "resumed at 52%: the rest was in the cache" (the other way round), even with 0.4% cached."""
    job = Job("k", "ZIP-FIT", state=DONE, done=1000, total=1000, started=10.0, finished=13.25)
    job.report(cached, 1000)
    job.report(1000, 1000)
    assert status._done_text(job) == f"done in 3.2 s{says}"
