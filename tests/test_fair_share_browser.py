"""Run ownership and fair shares in a real Chromium, with separate browsers (contexts): student B, with A's
?run= link and even A's display name, watches A's run but cannot stop it; A's second Train is refused while
the first runs; the teacher cancels B's queued run from the gallery; A's reload keeps A the owner (cookie)."""

import re

import pytest
from browser import chromium_missing_reason, launch_browser, streamlit_server, wait_idle

pytestmark = [pytest.mark.browser]
REASON = chromium_missing_reason()
if REASON:
    pytestmark.append(pytest.mark.skip(reason=REASON))

KEY = "browser-test-teacher-key"
STOP = "Stop after this epoch"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


def student(browser, address: str, name: str):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    page.goto(address)
    wait_idle(page)
    page.get_by_label("Your name (shown in the class gallery)").fill(name)
    page.keyboard.press("Enter")
    page.get_by_text("saved in the class gallery as").wait_for(timeout=20_000)
    return ctx, page


def train(page, model: str, epochs: int = 500) -> None:
    page.get_by_label("Epochs", exact=True).fill(str(epochs))
    page.get_by_label("Hidden sizes", exact=True).fill("32")
    page.get_by_label("Save as", exact=True).fill(model)
    page.get_by_role("button", name="Train", exact=True).click()


def test_a_run_is_its_browsers_one_per_student_and_the_teacher_cancels(browser, tmp_path):
    env = {
        "VAE_EXPLORER_MODELS": str(tmp_path / "models"),
        "VAE_EXPLORER_MAX_TRAINING": "1",
        "VAE_EXPLORER_TEACHER_KEY": KEY,
    }
    with streamlit_server(env=env) as (url, _, _):
        a_ctx, a = student(browser, f"{url}/train", "Mina")
        train(a, "a-run")
        a.wait_for_url(re.compile(r"run="), timeout=20_000)
        a.get_by_text(re.compile(r"epoch \d+/500")).first.wait_for(timeout=60_000)
        a.get_by_role("button", name=STOP).wait_for()
        a_link = a.url

        train(a, "a-second")  # the same browser, while its first run trains
        a.get_by_text("each student may have 1 at a time").wait_for(timeout=20_000)

        b_ctx, b = student(browser, a_link, "Mina")  # another browser, with A's link and A's display name
        b.get_by_text("You are watching a run another browser started").wait_for(timeout=20_000)
        b.get_by_text(re.compile(r"epoch \d+/500")).first.wait_for(timeout=20_000)
        assert b.get_by_role("button", name=STOP).count() == 0

        train(b, "b-run")  # B's own run waits behind A's (one slot)
        b.wait_for_url(lambda u: "run=" in u and u != a_link, timeout=20_000)
        b.get_by_text("Waiting for a free training slot:").first.wait_for(timeout=20_000)
        b_run = b.url.split("run=")[1].split("&")[0]

        t_ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
        t = t_ctx.new_page()
        t.goto(f"{url}/gallery")
        wait_idle(t)
        t.get_by_text("Teacher", exact=True).click()
        t.get_by_label("Teacher key").fill(KEY)
        t.keyboard.press("Enter")
        t.get_by_text("Teacher actions are on").wait_for(timeout=20_000)
        t.locator(f".st-key-cancel_{b_run}").get_by_role("button", name="Cancel", exact=True).click()
        b.get_by_text("cancelled by the teacher before it started").first.wait_for(timeout=30_000)

        a.reload()  # the same browser after a reload: its cookie keeps it the owner
        wait_idle(a)
        a.get_by_role("button", name=STOP).click()
        a.get_by_text("stopped early").first.wait_for(timeout=60_000)
        for ctx in (a_ctx, b_ctx, t_ctx):
            ctx.close()
