"""End to end in a real Chromium (Playwright): every page renders, the Walk slider and a click on
the latent scatter change what is shown, and a bad upload gets a message. Saves screenshots
(to docs/screenshots when UPDATE_SCREENSHOTS=1, else to a temporary folder)."""

import os
import pickle
from pathlib import Path

import pytest
from browser import ROOT, chromium_missing_reason, launch_browser, streamlit_server, wait_idle
from test_checkpoint import RunsCode

pytestmark = [pytest.mark.browser]
REASON = chromium_missing_reason()
if REASON:
    pytestmark.append(pytest.mark.skip(reason=REASON))

PAGES = {"home": "", "train": "train", "manifold": "manifold", "walk": "walk", "encode": "encode", "metrics": "metrics"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    with streamlit_server(env={"VAE_EXPLORER_RUNS": str(runs)}) as (url, proc, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors


def shots_dir(tmp_path: Path) -> Path:
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        d = ROOT / "docs" / "screenshots"
        d.mkdir(parents=True, exist_ok=True)
        return d
    return tmp_path


def test_every_page_renders(server, page, tmp_path):
    out = shots_dir(tmp_path)
    for name, path in PAGES.items():
        page.goto(f"{server}/{path}")
        wait_idle(page)
        page.wait_for_timeout(800)
        assert page.locator('[data-testid="stException"]').count() == 0, name
        assert page.locator("h1").first.inner_text().strip()
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    assert (out / "walk.png").stat().st_size > 10_000


def _decoded_src(page) -> str:
    return page.locator('[data-testid="stImage"] img').first.get_attribute("src")


def test_walk_slider_keyboard_changes_the_decoded_image(server, page):
    page.goto(f"{server}/walk")
    wait_idle(page)
    before = _decoded_src(page)
    thumb = page.get_by_role("slider").first
    thumb.focus()
    for _ in range(30):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "(b) => { const i = document.querySelector('[data-testid=\"stImage\"] img'); return i && i.src !== b; }",
        arg=before,
        timeout=20_000,
    )
    wait_idle(page)
    assert page.get_by_text("decoded z = (0.00, 0.00)").count() == 0
    assert _decoded_src(page) != before


def test_clicking_a_scatter_point_selects_that_example(server, page, tmp_path):
    page.goto(f"{server}/walk")
    wait_idle(page)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    page.wait_for_timeout(1000)
    # The pixel position of one data point, from plotly's own axis transforms.
    x, y = page.evaluate("""() => {
        const gd = document.querySelector('.js-plotly-plot');
        const L = gd._fullLayout, t = gd._fullData[0];
        const box = gd.getBoundingClientRect();
        return [box.left + L._size.l + L.xaxis.l2p(t.x[0]), box.top + L._size.t + L.yaxis.l2p(t.y[0])];
    }""")
    page.mouse.click(x, y)
    page.get_by_text("Test example #").wait_for(timeout=20_000)
    wait_idle(page)
    assert page.get_by_text("reconstruction (decoded μ)").count() == 1
    assert page.get_by_text("μ ± 2σ").count() >= 1
    page.screenshot(path=str(shots_dir(tmp_path) / "walk-selected.png"), full_page=True)


def test_bad_checkpoint_upload_shows_a_message(server, page, tmp_path):
    marker = tmp_path / "PWNED"
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(pickle.dumps(RunsCode(marker)))
    page.goto(f"{server}/")
    wait_idle(page)
    page.get_by_text("Upload a checkpoint").click()
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(evil))
    page.get_by_text("not a vae_core checkpoint").wait_for(timeout=20_000)
    assert not marker.exists()
    wait_idle(page)
    assert page.get_by_text("Active model: fashion-mnist (shipped)").count() == 1
