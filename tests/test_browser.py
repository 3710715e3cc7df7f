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
    models = tmp_path_factory.mktemp("models")
    with streamlit_server(env={"VAE_EXPLORER_MODELS": str(models)}) as (url, proc, _):
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
    ctx = browser.new_context(viewport={"width": 1400, "height": 1700})  # tall: whole pages in shots
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


def test_a_deep_link_on_a_fresh_server_goes_through_the_router(server, page):
    # Runs first: no session has called st.navigation yet in this server process.
    page.goto(f"{server}/walk")
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Active model").wait_for(timeout=20_000)
    assert sidebar.get_by_text("Samples and metrics").count() == 1
    assert page.locator("h1").first.inner_text().startswith("Walk")


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


def test_training_in_the_browser_shows_progress_and_activates_the_model(server, page, tmp_path):
    page.goto(f"{server}/train")
    wait_idle(page)
    epochs = page.get_by_label("Epochs", exact=True)
    assert epochs.input_value() == "30"  # the digits defaults
    page.get_by_label("Your name (shown in the class gallery)").fill("Tester")
    page.keyboard.press("Enter")
    page.get_by_text("saved in the class gallery as").wait_for(timeout=60_000)
    # A small run (3 epochs of a 64-32-2 network). The test waits on what the app says, never on a
    # fixed time; the generous limits only matter on a machine so loaded that nothing would pass.
    for label, value in (("Epochs", "3"), ("Hidden sizes", "32"), ("Save as", "browser-run")):
        field = page.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Tab")  # commit the value without submitting the form
        assert field.input_value() == value
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("It is now the active model").wait_for(timeout=300_000)
    wait_idle(page, timeout_ms=120_000)
    assert page.get_by_text("Replay the latent space at epoch").count() == 1
    assert page.locator(".js-plotly-plot").count() >= 2  # the curves and the latent scatter
    page.screenshot(path=str(shots_dir(tmp_path) / "train.png"), full_page=True)
    page.get_by_role("link", name="Home").click()  # same session
    page.get_by_text("Active model: browser-run (class gallery)").wait_for(timeout=120_000)


def test_drawing_on_the_canvas_encodes_it(server, page, tmp_path):
    page.goto(f"{server}/encode")
    wait_idle(page)
    canvas = page.locator(".draw canvas")
    canvas.wait_for(timeout=20_000)
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 140, box["y"] + 40)
    page.mouse.down()
    for i in range(1, 31):  # a vertical stroke: a "1"
        page.mouse.move(box["x"] + 140, box["y"] + 40 + i * 7)
    page.mouse.up()
    page.get_by_text("what the encoder sees").wait_for(timeout=30_000)
    wait_idle(page)
    assert page.get_by_text("μ = (").count() >= 1
    page.screenshot(path=str(shots_dir(tmp_path) / "encode.png"), full_page=True)


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


def _pad(page):
    page.wait_for_function(
        "() => window.__latentPads && window.__latentPads.latent_pad && window.__latentPads.latent_pad.ready",
        timeout=30_000,
    )
    return page.locator(".latent-pad .pad")


def test_latent_pad_js_decoder_matches_pytorch(server, page):
    import numpy as np
    import torch

    from vae_core.checkpoint import load_checkpoint

    page.goto(f"{server}/walk")
    wait_idle(page)
    _pad(page)
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(0, 1, (80, 2)), rng.uniform(-12, 12, (20, 2))]).astype(np.float32)
    js = np.array(page.evaluate("(zs) => zs.map((z) => window.__latentPads.latent_pad.decode(z))", z.tolist()))
    model = load_checkpoint(ROOT / "checkpoints" / "fashion-mnist.safetensors").model
    ref = model.decode(torch.from_numpy(z)).flatten(1).numpy()
    assert js.shape == ref.shape == (100, 784)
    assert np.abs(js - ref).max() <= 1e-4


def test_latent_pad_drag_updates_the_image_and_session_state(server, page):
    page.goto(f"{server}/walk")
    wait_idle(page)
    pad = _pad(page)
    decoded = page.locator(".latent-pad canvas.decoded")
    before = decoded.screenshot()
    box = pad.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 41):  # towards the lower right: z1 > 0, z2 < 0
        page.mouse.move(x0 + i * 2.5, y0 + i * 2)
    page.mouse.up()
    z = page.evaluate("() => window.__latentPads.latent_pad.getZ()")
    assert z[0] > 0.5 and z[1] < -0.3
    assert decoded.screenshot() != before
    # The release sent z to Python: the sliders and the server-side decode follow.
    label = f"decoded z = ({z[0]:.2f}, {z[1]:.2f})"
    page.get_by_text(label).wait_for(timeout=20_000)
    timings = page.evaluate("() => window.__latentPads.latent_pad.timings()")
    assert len(timings["decodeDraw"]) >= 40


def test_latent_pad_keyboard_moves_z(server, page):
    page.goto(f"{server}/walk")
    wait_idle(page)
    pad = _pad(page)
    pad.focus()
    start = page.evaluate("() => window.__latentPads.latent_pad.getZ()")
    for _ in range(4):
        page.keyboard.press("Shift+ArrowUp")
    z = page.evaluate("() => window.__latentPads.latent_pad.getZ()")
    assert z[1] == pytest.approx(min(start[1] + 1.0, 4.0), abs=1e-6)
    page.get_by_text(f"decoded z = ({z[0]:.2f}, {z[1]:.2f})").wait_for(timeout=20_000)
