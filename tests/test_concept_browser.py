"""The Concepts pages in a real Chromium: the reparameterisation burst animates (the count of draws
advances in several steps without a page reload), and every Concepts page renders at 1280x720 and
1920x1080 (screenshots to docs/screenshots/concept-*.png with UPDATE_SCREENSHOTS=1)."""

import re

import pytest
from browser import chromium_missing_reason, launch_browser, shots_dir, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser]
REASON = chromium_missing_reason()
if REASON:
    pytestmark.append(pytest.mark.skip(reason=REASON))

PAGES = {
    "reparam": "concept_reparam",
    "beta": "concept_beta",
    "autoencoder": "concept_autoencoder",
    "estimators": "concept_estimators",
    "textbook": "concept_textbook",
}
SIZES = [(1280, 720), (1920, 1080)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    with streamlit_server(env={"VAE_EXPLORER_MODELS": str(runs)}) as (url, proc, _):
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


def _page(browser, width, height):
    ctx = browser.new_context(viewport={"width": width, "height": height})
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    return ctx, pg, errors


def _draws(page) -> int:
    text = page.get_by_text(re.compile(r"\d+ draws of ε so far")).first.inner_text()
    return int(text.split()[0])


def test_reparameterisation_burst_animates(server, browser, tmp_path):
    ctx, page, errors = _page(browser, 1280, 720)
    page.goto(f"{server}/concept_reparam?lang=en")
    wait_idle(page)
    page.get_by_role("button", name="Draw one ε").click()
    page.get_by_text("1 draws of ε so far").wait_for(timeout=20_000)
    page.evaluate("() => { window.__sameDocument = true; }")  # gone if the page reloads
    page.get_by_role("button", name="Burst of 50").click()
    seen = set()
    for _ in range(300):  # up to ~30 s
        try:
            seen.add(_draws(page))
        except Exception:  # the caption is being redrawn
            pass
        if 51 in seen:
            break
        page.wait_for_timeout(100)
    assert 51 in seen, sorted(seen)
    assert len([n for n in seen if 1 < n < 51]) >= 3, sorted(seen)  # it advanced in steps, visibly
    assert page.evaluate("() => window.__sameDocument === true")
    wait_idle(page)
    assert page.get_by_role("button", name="Burst of 50").is_enabled()  # the timer stopped
    page.wait_for_timeout(1500)
    assert _draws(page) == 51
    ctx.close()
    assert not errors, errors


def test_concept_pages_render(server, browser, tmp_path):
    """Each page drawn at the first size, then at the next after a resize (the layout follows it)."""
    ctx, page, errors = _page(browser, *SIZES[0])
    out = shots_dir(tmp_path)
    for name, path in PAGES.items():
        page.goto(f"{server}/{path}?lang=en")
        wait_idle(page, timeout_ms=120_000)
        if name == "reparam":  # a finished burst: the plane full of draws, the decoded samples
            page.get_by_role("button", name="Draw one ε").click()
            page.get_by_text("1 draws of ε so far").wait_for(timeout=20_000)
            page.get_by_role("button", name="Burst of 50").click()
            page.get_by_text("51 draws of ε so far").wait_for(timeout=60_000)
            wait_idle(page)
        for size in SIZES:
            page.set_viewport_size({"width": size[0], "height": size[1]})
            wait_idle(page)
            page.wait_for_timeout(1000)
            assert page.locator('[data-testid="stException"]').count() == 0, name
            page.screenshot(path=str(out / f"concept-{name}-{size[0]}x{size[1]}.png"))
        page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    ctx.close()
    assert not errors, errors
