"""End to end in a real headless Chromium: start the app, see both methods' results on the sample data,
upload a target file and see the results change, download an export and check its rows.

Uses Debian's chromium (`make browser` installs it) driven by Playwright; screenshots go to test-output/.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from dashboard.launch import CHROMIUM, CHROMIUM_ARGS, Server, serve
from scoring.cache import Cache
from scoring.hashing import list_digest, text_keys
from scoring.loading import load_dataset
from scoring.pipeline import ZipfitParams
from tests.scratch import module_folder

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"
LOCAL = {"localhost", "127.0.0.1", None}  # None: data: and blob: URLs
OUTPUT = ROOT / "test-output"
TARGETS = [
    {"text": "Le chat dort sur le canapé et le chien dort sur le lit."},
    {"text": "Bonjour tout le monde, comment allez-vous aujourd'hui ?"},
    {"text": "La traduction française de ce message est disponible."},
]


@pytest.fixture(scope="module")
def server_cache(tmp_path_factory) -> Iterator[Path]:
    with module_folder(tmp_path_factory, "browser-cache") as folder:
        yield folder


@pytest.fixture(scope="module")
def server(server_cache) -> Iterator[Server]:
    """The app as `make run` starts it, on a free port, with an empty cache of its own."""
    with serve(server_cache) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for the module: Playwright's sync API allows one instance per thread at a time."""
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def page(server, browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    yield watched(context.new_page())
    context.close()


ERRORS: dict[Page, list[str]] = {}
"""Uncaught script errors of each page (a crashed Streamlit frontend shows a blank page and stops talking)."""
OUTSIDE: dict[Page, list[str]] = {}
"""Requests of each page to anywhere but the local server: there must be none (the app works offline)."""


def watched(page: Page) -> Page:
    """`page`, with its uncaught errors recorded in ERRORS[page] and requests leaving the machine in OUTSIDE[page]."""
    ERRORS[page], OUTSIDE[page] = [], []
    page.on("pageerror", lambda error: ERRORS[page].append(f"{error}\n{error.stack or ''}"[:2_000]))
    page.on("request", lambda r: None if urlsplit(r.url).hostname in LOCAL else OUTSIDE[page].append(r.url))
    return page


def wait_until_done(page: Page, server: Server, timeout_s: float = 240) -> None:
    """Wait until both methods' progress bars say done. Fail as soon as the page has an uncaught error, or after
    `timeout_s`, with what the page and the server were showing (page text and errors, the server's log and
    thread stacks) and a screenshot in test-output/."""
    deadline = time.monotonic() + timeout_s
    for label in ("ZIP-FIT", "RDS+"):
        done = page.get_by_text(re.compile(rf"^{re.escape(label)}: done in"))
        while True:
            try:
                expect(done).to_be_visible(timeout=2_000)
                break
            except AssertionError as e:
                if ERRORS.get(page) or time.monotonic() > deadline:
                    page.screenshot(path=OUTPUT / "wait-failed.png", full_page=True)
                    shown = page.locator("body").inner_text(timeout=10_000)[:3_000]
                    errors = "\n".join(ERRORS.get(page, []))
                    raise AssertionError(
                        f"{e}\n--- the page shows:\n{shown}\n--- its uncaught errors:\n{errors}\n"
                        f"--- the server:\n{server.stacks()}"
                    ) from None


def kth_best(page: Page):
    """The ZIP-FIT histogram's "k-th best: 0.1234" label (an SVG text element of the chart)."""
    label = page.locator("text").filter(has_text=re.compile(r"k-th best")).first
    expect(label).to_be_visible(timeout=60_000)
    return label


def test_sample_results_upload_and_export(page: Page, server: Server, tmp_path):
    opened = time.monotonic()
    page.goto(server.url)
    wait_until_done(page, server)
    print(f"\npage open to both methods' results on the sample data: {time.monotonic() - opened:.1f} s (cold)")
    before = kth_best(page).text_content()
    expect(page.locator(".js-plotly-plot").first).to_be_visible()
    page.screenshot(path=OUTPUT / "1-sample-results.png", full_page=True)

    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Upload a file").first.click()
    targets = tmp_path / "french_targets.jsonl"
    targets.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in TARGETS), encoding="utf-8")
    sidebar.locator('input[type="file"]').first.set_input_files(targets)
    expect(page.get_by_text("3 targets from upload french_targets.jsonl")).to_be_visible(timeout=60_000)
    wait_until_done(page, server)
    expect(kth_best(page)).not_to_have_text(before, timeout=60_000)  # the ZIP-FIT cut-off moved
    page.screenshot(path=OUTPUT / "2-uploaded-targets.png", full_page=True)

    page.get_by_role("link", name="Export").click()
    expect(page.get_by_text("Download 100 records (JSONL)")).to_be_visible(timeout=60_000)
    page.screenshot(path=OUTPUT / "3-export.png", full_page=True)
    with page.expect_download() as download_info:
        page.get_by_text("Download 100 records (JSONL)").click()
    saved = tmp_path / "export.jsonl"
    download_info.value.save_as(saved)
    rows = [json.loads(line) for line in saved.read_text(encoding="utf-8").splitlines()]
    pool_ids = {json.loads(line)["id"] for line in (ROOT / "sample_data" / "pool.jsonl").open(encoding="utf-8")}
    assert len(rows) == 100
    assert set(rows[0]) == {"id", "text", "source", "domain", "license", "origin"}
    assert {row["id"] for row in rows} <= pool_ids
    french = sum(row["source"].startswith("django-locale-fr") or "locale" in row["source"] for row in rows)
    assert french > 0  # French targets pull in the multilingual catalog excerpts
    assert OUTSIDE[page] == []  # no fonts, icons or telemetry from the internet, on any page visited


def test_an_upload_over_the_size_limit_gets_a_clear_message(browser: Browser, tmp_path):
    big = tmp_path / "big_pool.jsonl"
    big.write_text('{"text": "' + "x" * 1_500_000 + '"}\n', encoding="utf-8")
    with serve(tmp_path / "cache", extra_args=("--server.maxUploadSize", "1")) as small:
        context = browser.new_context(viewport={"width": 1500, "height": 1100})
        page = context.new_page()
        page.goto(small.url)
        sidebar = page.locator('[data-testid="stSidebar"]')
        sidebar.get_by_text("Upload a file").last.click()
        sidebar.locator('input[type="file"]').last.set_input_files(big)
        expect(sidebar.get_by_text(re.compile(r"must be 1(\.0)? ?MB or smaller", re.I))).to_be_visible(timeout=30_000)
        page.screenshot(path=OUTPUT / "4-upload-too-large.png")
        context.close()


def wait_until_idle(page: Page) -> None:
    """Wait until the app's script has finished its run (the attribute Streamlit's own end-to-end tests wait on):
    a rerun re-renders the charts, and a drag begun on a chart being re-rendered is lost."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)


def settled_box(page: Page, element) -> dict[str, float]:
    """`element`'s bounding box once the app is idle and the box has stayed the same for 0.5 s (a chart is laid
    out again when its column's width is known)."""
    wait_until_idle(page)
    box, deadline = element.bounding_box(), time.monotonic() + 30
    while time.monotonic() < deadline:
        page.wait_for_timeout(500)
        again = element.bounding_box()
        if again == box and again is not None:
            break
        box = again
    assert box is not None
    return box


def lasso_nearly_all_of(page: Page, chart, attempts: int = 3) -> int:
    """Drag a lasso around nearly all of `chart`'s plotting area; the N of the "N selected records" shown then.

    A drag that left no selection on the chart was lost before it reached the app (1 of 3 local runs of the suite
    on 2026-11-22; cause not found) and is drawn again, as a user would, up to `attempts` times. A selection on the
    chart that is not listed within 75 s fails."""
    heading = page.get_by_text(re.compile(r"^[\d,]+ selected records$"))
    for attempt in range(1, attempts + 1):
        box = settled_box(page, chart.locator(".nsewdrag").first)  # the plotting area, inside the axes
        left, top, width, height = box["x"], box["y"], box["width"], box["height"]
        corners = [(0.02, 0.02), (0.98, 0.02), (0.98, 0.98), (0.02, 0.98), (0.02, 0.03)]
        page.mouse.move(left + width * corners[0][0], top + height * corners[0][1])
        page.mouse.down()
        for x, y in corners[1:]:
            page.mouse.move(left + width * x, top + height * y, steps=8)
        page.mouse.up()
        if _listed(heading, 15_000):
            break
        drawn = chart.evaluate("gd => (gd._fullLayout.selections || []).length")
        if drawn == 0 and attempt < attempts:
            continue
        if not _listed(heading, 60_000):
            page.screenshot(path=OUTPUT / "lasso-failed.png", full_page=True)
            shown = page.locator("body").inner_text()[-2_000:]
            raise AssertionError(
                f"no 'N selected records' after the lasso; {drawn} selection(s) on the chart; the page shows:\n{shown}"
            )
        break
    expect(page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]')).to_be_visible(timeout=60_000)
    return int(heading.text_content().split()[0].replace(",", ""))


def _listed(heading, timeout_ms: int) -> bool:
    """Whether `heading` shows within `timeout_ms`."""
    try:
        expect(heading).to_be_visible(timeout=timeout_ms)
    except AssertionError:
        return False
    return True


def test_a_lasso_on_the_map_lists_the_records_inside_it(browser: Browser, server: Server):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = watched(context.new_page())
    page.goto(server.url)
    wait_until_done(page, server)
    page.get_by_role("link", name="Map").click()
    expect(page.get_by_text(re.compile("^Draw a box or lasso"))).to_be_visible(timeout=300_000)
    selected = lasso_nearly_all_of(page, page.locator('[data-testid="stMain"] .js-plotly-plot').first)
    assert 100 < selected <= 2_933  # pool records only (the targets, stars, are not listed)
    page.screenshot(path=OUTPUT / "5-map-lasso.png", full_page=True)
    context.close()


def test_a_lasso_on_the_score_scatter_lists_the_records_inside_it(browser: Browser, server: Server):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = watched(context.new_page())
    page.goto(server.url)
    wait_until_done(page, server)
    expect(page.get_by_text(re.compile("^Draw a box or lasso around points of the scatter"))).to_be_visible()
    scatter = page.locator('[data-testid="stMain"] .js-plotly-plot').filter(has_text="ZIP-FIT vs RDS+")
    selected = lasso_nearly_all_of(page, scatter)
    assert 2_000 < selected <= 2_933  # every drawn point inside the lasso: the sample pool is drawn whole
    page.screenshot(path=OUTPUT / "6-scatter-lasso.png", full_page=True)
    context.close()


def test_a_clicked_row_shows_why_it_was_picked_until_the_list_changes(browser: Browser, server: Server):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = watched(context.new_page())
    page.goto(server.url)
    wait_until_done(page, server)
    page.get_by_role("link", name="Side by side").click()
    why = page.get_by_text(re.compile(r"^Record #\d+ · "))
    expect(why).to_have_count(1, timeout=60_000)
    best = why.text_content()
    grid = page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]').first
    box = settled_box(page, grid)  # a click on a grid still being laid out lands elsewhere
    page.mouse.click(box["x"] + 15, box["y"] + 35 + 35 * 2 + 17)  # the third row's selection box (ZIP-FIT rank 2)
    expect(why).not_to_have_text(best, timeout=30_000)  # "why" now explains the clicked record...
    expect(why).to_have_count(1)  # ...whose text is shown once, there
    clicked = why.text_content()
    search = page.get_by_label("Filter by text")
    search.fill("zzzz-in-no-record")  # the list empties: the click must be forgotten, not applied to another row
    search.press("Enter")
    expect(page.get_by_text("0 of the top 100 shown").first).to_be_visible(timeout=30_000)
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
    expect(why).to_have_text(clicked)
    number = page.get_by_label("Click a row above, or give a pool record #")
    number.fill("7")
    number.press("Enter")
    expect(why).to_have_text(re.compile(r"^Record #7 · "), timeout=30_000)
    assert ERRORS[page] == []
    page.screenshot(path=OUTPUT / "7-why-picked.png", full_page=True)
    context.close()


def test_switching_k_to_a_share_of_the_pool_and_back_keeps_k(browser: Browser, server: Server):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = watched(context.new_page())
    page.goto(server.url)
    sidebar = page.locator('[data-testid="stSidebar"]')
    count = sidebar.get_by_role("spinbutton", name="k (records each method selects)")
    share = sidebar.get_by_text("k as % of the pool")
    expect(count).to_have_value("100", timeout=60_000)
    share.click()
    expect(sidebar.get_by_text("k = 100 records")).to_be_visible(timeout=60_000)  # 3.4% of 2,933
    share.click()
    expect(count).to_have_value("100", timeout=60_000)
    count.fill("293")
    count.press("Enter")
    expect(page.get_by_text(re.compile(r"· k = 293$"))).to_be_visible(timeout=60_000)
    share.click()
    expect(sidebar.get_by_text("k = 293 records")).to_be_visible(timeout=60_000)  # 10.0%
    context.close()


def test_a_reload_opens_the_uploaded_targets_and_k_again_on_the_page_it_was_on(
    browser: Browser, server: Server, tmp_path
):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = watched(context.new_page())
    page.goto(server.url)
    sidebar = page.locator('[data-testid="stSidebar"]')
    count = sidebar.get_by_role("spinbutton", name="k (records each method selects)")
    expect(count).to_have_value("100", timeout=60_000)
    count.fill("37")
    count.press("Enter")
    sidebar.get_by_text("Upload a file").first.click()
    targets = tmp_path / "french_targets.jsonl"
    targets.write_text("".join(json.dumps(t, ensure_ascii=False) + "\n" for t in TARGETS), encoding="utf-8")
    sidebar.locator('input[type="file"]').first.set_input_files(targets)
    expect(page.get_by_text("3 targets from upload french_targets.jsonl · k = 37")).to_be_visible(timeout=60_000)
    page.get_by_role("link", name="Overlap").click()
    expect(page).to_have_url(re.compile(r"/overlap\?targets=upload&targets_file=[0-9a-f]{64}&k=37$"), timeout=60_000)

    page.reload()
    expect(page.get_by_text("3 targets from upload french_targets.jsonl · k = 37")).to_be_visible(timeout=60_000)
    expect(sidebar.get_by_text("french_targets.jsonl, as uploaded before (a copy in the cache)")).to_be_visible()
    expect(count).to_have_value("37")
    expect(page).to_have_url(re.compile(r"/overlap\?"))
    expect(page.get_by_text("Chosen by both at k = 37")).to_be_visible(timeout=240_000)
    assert ERRORS[page] == []
    context.close()


OVERLAPS = """charts => charts.flatMap(chart => {
    const legend = chart.querySelector(".legend"), title = chart.querySelector(".xtitle");
    if (!legend || !title) return [];
    const a = legend.getBoundingClientRect(), b = title.getBoundingClientRect();
    const apart = a.bottom <= b.top || b.bottom <= a.top || a.right <= b.left || b.right <= a.left;
    return apart ? [] : [chart.querySelector(".gtitle")?.textContent || "untitled"];
})"""
"""Titles of the charts among the given ones whose legend overlaps their x-axis title."""


def test_in_a_narrow_window_no_legend_covers_its_axis_title(browser: Browser, server: Server):
    context = browser.new_context(viewport={"width": 900, "height": 1000})
    page = watched(context.new_page())
    page.goto(server.url)
    wait_until_done(page, server)
    charts = page.locator('[data-testid="stMain"] .js-plotly-plot')
    expect(page.locator("text").filter(has_text="RDS+ score against length")).to_have_count(1, timeout=60_000)
    for i in range(charts.count()):
        settled_box(page, charts.nth(i))  # laid out at its column's width
    with_legends = charts.evaluate_all("charts => charts.filter(c => c.querySelector('.legend')).length")
    assert with_legends >= 4  # the histograms and the length scatters
    page.screenshot(path=OUTPUT / "9-narrow-window.png", full_page=True)
    assert charts.evaluate_all(OVERLAPS) == []
    context.close()


def test_arrow_keys_on_the_gzip_slider_stop_the_levels_passed_on_the_way(
    browser: Browser, server: Server, server_cache: Path
):
    """9 -> 8 starts level 8; 8 -> 7 and 7 -> 6 each stop the level the session no longer wants (cancelled if
    running, dropped if queued): only level 6 is computed in full."""
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = watched(context.new_page())
    page.goto(server.url)
    wait_until_done(page, server)
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="gzip level").get_by_role("slider")
    zipfit = page.get_by_text(re.compile(r"^ZIP-FIT: "))
    slider.press("ArrowLeft")
    expect(zipfit).to_have_text(re.compile(r"^ZIP-FIT: \d+%"), timeout=60_000)  # level 8 running
    wait_until_idle(page)
    slider.press("ArrowLeft")
    expect(slider).to_have_value("7", timeout=60_000)
    wait_until_idle(page)
    slider.press("ArrowLeft")
    expect(slider).to_have_value("6", timeout=60_000)
    wait_until_done(page, server)
    context.close()
    pool, targets = (load_dataset(SAMPLE / name).texts for name in ("pool.jsonl", "targets_humaneval.jsonl"))
    keys, cache = np.unique(text_keys(pool)), Cache(server_cache)
    stored = {}
    for level in (8, 7, 6):
        settings = {**asdict(ZipfitParams(level=level)), "targets": list_digest(text_keys(targets))}
        stored[level] = int(cache.table("zipfit-alignment", settings, np.float64, (2,)).get(keys)[1].sum())
    assert stored[6] == len(keys), stored
    assert stored[8] < len(keys), stored
    assert stored[7] < len(keys), stored


def test_the_job_of_a_closed_tab_stops_when_another_session_needs_the_lane(
    browser: Browser, server: Server, server_cache: Path
):
    """Tab A starts exact ZIP-FIT at level 1 and is closed; tab B's fast-mode job (same lane) must not wait
    behind it: A's job, wanted by no open tab, is cancelled, so level 1 stays incomplete in the cache."""
    first = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = watched(first.new_page())
    page.goto(server.url)
    wait_until_done(page, server)
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="gzip level").get_by_role("slider")
    slider.press("Home")
    expect(slider).to_have_value("1", timeout=60_000)
    expect(page.get_by_text(re.compile(r"^ZIP-FIT: \d+%"))).to_be_visible(timeout=60_000)  # level 1 running
    first.close()

    second = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = watched(second.new_page())
    page.goto(server.url)
    wait_until_done(page, server)  # level 9: cached by the earlier tests
    page.get_by_text("ZIP-FIT fast mode (an approximation)").click()
    # Had it waited behind A's job, that job would be complete by now (the lane runs one job at a time).
    expect(page.get_by_text(re.compile(r"^ZIP-FIT \(fast\): done in"))).to_be_visible(timeout=180_000)
    second.close()
    pool, targets = (load_dataset(SAMPLE / name).texts for name in ("pool.jsonl", "targets_humaneval.jsonl"))
    keys = np.unique(text_keys(pool))
    settings = {**asdict(ZipfitParams(level=1)), "targets": list_digest(text_keys(targets))}
    table = Cache(server_cache).table("zipfit-alignment", settings, np.float64, (2,))
    assert table.get(keys)[1].sum() < len(keys)  # stopped, not run to the end for nobody
