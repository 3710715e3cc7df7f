"""End to end in a real Chromium (Playwright): every page renders, training runs, a drawing is
encoded, and a bad upload gets a message (the latent plane's own tests: test_plane_browser.py). Saves screenshots
(to docs/screenshots when UPDATE_SCREENSHOTS=1, else to a temporary folder)."""

import pickle

import pytest
from browser import chromium, chromium_missing_reason, shots_dir, streamlit_server, wait_idle
from helpers import RunsCode

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
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1700})  # tall: whole pages in shots
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors


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


def test_training_in_the_browser_shows_progress_and_activates_the_model(server, page, tmp_path):
    page.goto(f"{server}/train")
    wait_idle(page)
    from playwright.sync_api import expect

    # The digits defaults, once the form has settled: just after the first draw the field can read
    # "1" for a moment before its 30 (3 of 30 loads here), so wait for the value, not read it once.
    expect(page.get_by_label("Epochs", exact=True)).to_have_value("30", timeout=20_000)
    page.get_by_label("Your name (shown in the class gallery)").fill("Tester")
    page.keyboard.press("Enter")
    page.get_by_text("saved in the class gallery as").wait_for(timeout=60_000)
    # A small run (3 epochs of a 64-32-2 network). The test waits on what the app says, never on a
    # fixed time; the generous limits only matter on a machine so loaded that nothing would pass.
    for label, value in (("Epochs", "3"), ("Hidden sizes", "32"), ("Save as", "browser-run")):
        field = page.get_by_label(label, exact=True)
        field.fill(value)
        field.press("Tab")  # commit the value without submitting the form
        expect(field).to_have_value(value)
    page.get_by_role("button", name="Train", exact=True).click()
    page.get_by_text("It is now the active model").wait_for(timeout=300_000)
    wait_idle(page, timeout_ms=120_000)
    assert page.get_by_text("Replay the latent space at epoch").count() == 1
    # The curves and the latent scatter: plotly draws them after Streamlit mounts them, so wait for both.
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=60_000)
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
    assert page.locator(".draw button").inner_text() == "Clear"
    page.screenshot(path=str(shots_dir(tmp_path) / "encode.png"), full_page=True)
    page.goto(f"{server}/encode?lang=ko")  # the canvas's own button follows the language too
    page.locator(".draw button").get_by_text("지우기").wait_for(timeout=30_000)


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
