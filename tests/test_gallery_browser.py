"""The class gallery in a real Chromium: a model trained in one browser is in everyone's gallery, after
a reload and after a server restart; presenter mode at projector sizes (screenshots of every
page in both modes at 1280x720 and 1920x1080, to docs/screenshots when UPDATE_SCREENSHOTS=1)."""

import re
from pathlib import Path

import pytest
from browser import chromium_missing_reason, launch_browser, shots_dir, streamlit_server, wait_idle

from explorer.layout import PAGES

pytestmark = [pytest.mark.browser]
REASON = chromium_missing_reason()
if REASON:
    pytestmark.append(pytest.mark.skip(reason=REASON))

SIZES = [(1280, 720), (1920, 1080)]
SLUGS = {p.path: (Path(p.path).stem if p.path != "app.py" else "home") for p in PAGES}
FIGURE = (
    '[data-testid="stMainBlockContainer"] :is([data-testid="stPlotlyChart"], [data-testid="stImage"], '
    '[data-testid="stCustomComponentV1"], iframe, canvas, .st-key-manifold_chart)'
)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


SETTLED = """() => !document.querySelector('[data-testid="stSkeleton"]')
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].every(c => c.querySelector('.main-svg'))"""


def settle(page) -> None:
    """Idle, and drawn: no loading placeholders left, every plotly chart has its SVG."""
    wait_idle(page)
    page.wait_for_function(SETTLED, timeout=60_000)
    page.wait_for_timeout(500)


def open_page(browser, url: str, size=(1400, 1000)):
    ctx = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    settle(page)
    return ctx, page, errors


def test_a_model_trained_in_one_browser_is_everyones_after_reload_and_restart(browser, tmp_path):
    env = {"VAE_EXPLORER_MODELS": str(tmp_path / "models")}
    with streamlit_server(env=env) as (url, _, _):
        ctx, page, errors = open_page(browser, f"{url}/train")
        page.get_by_label("Your name (shown in the class gallery)").fill("Mina")
        page.keyboard.press("Enter")
        page.get_by_text("saved in the class gallery as").wait_for(timeout=20_000)
        page.get_by_label("Epochs", exact=True).fill("25")
        page.get_by_label("Hidden sizes", exact=True).fill("32")
        page.get_by_label("Save as", exact=True).fill("mina-digits")
        page.get_by_role("button", name="Train", exact=True).click()
        page.wait_for_url(re.compile(r"run="), timeout=20_000)
        page.get_by_text(re.compile(r"epoch \d+/25")).first.wait_for(timeout=60_000)
        page.reload()  # the run goes on, and the reloaded page shows it
        page.get_by_text(re.compile(r"(training|evaluating|done)")).first.wait_for(timeout=30_000)
        page.get_by_text("It is now the active model").wait_for(timeout=120_000)
        assert not errors, errors
        ctx.close()

        ctx, page, errors = open_page(browser, f"{url}/gallery")  # a fresh browser: another student
        page.get_by_text("mina-digits").first.wait_for(timeout=20_000)
        page.get_by_text("Mina", exact=False).first.wait_for()
        ctx.close()

    with streamlit_server(env=env) as (url, _, _):  # the server restarted: the model is still there
        ctx, page, errors = open_page(browser, f"{url}/gallery")
        page.get_by_role("button", name="Make active").first.click()
        wait_idle(page)
        page.get_by_role("link", name="Home").click()  # same session: the sidebar menu
        page.get_by_text("Active model: mina-digits (class gallery)").wait_for(timeout=20_000)
        page.get_by_role("link", name="Manifold", exact=True).click()
        settle(page)
        assert page.locator('[data-testid="stPlotlyChart"]').count() >= 1
        assert not page.locator('[data-testid="stException"]').count()
        assert not errors, errors
        ctx.close()


def _model_for_gallery(folder: Path) -> None:
    """One real trained model in the gallery, so its page has something to show."""
    from explorer import models
    from vae_core.data import load_dataset
    from vae_core.model import VAE, VAEConfig
    from vae_core.pipeline import finish_training
    from vae_core.train import TrainConfig, train

    data = load_dataset("digits")
    cfg = TrainConfig(epochs=20, batch_size=32, warmup_epochs=5, device="cpu")  # enough for a legible thumbnail
    result = train(VAE(VAEConfig(input_shape=data.image_shape, hidden=(128,))), data, cfg)
    path, _ = finish_training(folder / "class-digits.safetensors", result, data, cfg, eval_k=5)
    old = models.MODELS_DIR
    models.MODELS_DIR = folder
    try:
        models.describe(path, "김민아")
    finally:
        models.MODELS_DIR = old


@pytest.fixture(scope="module")
def class_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    _model_for_gallery(folder)
    with streamlit_server(env={"VAE_EXPLORER_MODELS": str(folder)}) as (url, _, _):
        yield url


@pytest.mark.parametrize("present", [False, True], ids=["normal", "presenter"])
def test_every_page_at_projector_sizes(class_server, browser, tmp_path, present):
    out, mode = shots_dir(tmp_path), "presenter" if present else "normal"
    problems = []
    # One browser context for all pages (a class's browser: the app's scripts come from its cache);
    # each page is opened afresh, so each is a new session that starts in the mode its URL asks for.
    # Each page is drawn at the first size, then its window is resized to the next (as when a laptop
    # is plugged into the projector): the layout is CSS and the figures follow their containers.
    ctx = browser.new_context(viewport={"width": SIZES[0][0], "height": SIZES[0][1]})
    for entry in PAGES:
        slug = SLUGS[entry.path]
        path = "" if slug == "home" else slug
        page, errors = ctx.new_page(), []
        page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
        page.goto(f"{class_server}/{path}" + ("?present=1" if present else ""))
        for size in SIZES:
            page.set_viewport_size({"width": size[0], "height": size[1]})
            settle(page)
            page.screenshot(path=str(out / f"presenter-{slug}-{mode}-{size[0]}x{size[1]}.png"))
            problems += _layout_problems(page, slug, size, present)
        if errors:
            problems.append(f"{slug}: page errors {errors}")
        page.close()
    ctx.close()
    assert not problems, "\n".join(problems)


def _layout_problems(page, slug: str, size: tuple[int, int], present: bool) -> list[str]:
    """What a teacher at the back of the room would see wrong with this page at this size."""
    problems = []
    sidebar_open = page.locator('[data-testid="stSidebar"][aria-expanded="true"]').count() > 0
    body_px = page.evaluate(
        """() => { const main = document.querySelector('[data-testid="stMainBlockContainer"]');
                   const ps = [main, ...main.querySelectorAll('[data-testid="stMarkdown"] p, [data-testid="stWidgetLabel"] p')]
                       .filter(p => !p.closest('[data-testid="stCaptionContainer"]'));
                   return Math.min(...ps.map(p => parseFloat(getComputedStyle(p).fontSize))); }"""
    )
    marked = page.locator(".st-key-main_figure")  # a page's own main figure (layout.main_figure)
    fig = marked.first if marked.count() else page.locator(FIGURE).first
    box = fig.bounding_box() if fig.count() else None
    fig_top = box["y"] if box else None
    if present and marked.count() and box["y"] + box["height"] > size[1] + 1:
        problems.append(f"{slug} {size}: main figure ends at y={box['y'] + box['height']:.0f}, below {size[1]}")
    if present:
        if sidebar_open:
            problems.append(f"{slug} {size}: sidebar open in presenter mode")
        if size == (1920, 1080) and body_px is not None and body_px < 20:
            problems.append(f"{slug} {size}: body text {body_px}px < 20px")
    if present and fig_top is not None and fig_top > size[1] * 0.8:
        problems.append(f"{slug} {size}: main figure starts at y={fig_top:.0f}, below the fold at {size[1]}")
    return problems
