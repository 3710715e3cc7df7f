"""The gallery's safety in a real Chromium: names render as typed, no server path is on the page, and the
teacher reads the eviction log and deletes a file the app cannot load (an over-size one put in the folder)."""

import json
import time

import pytest
import torch
from browser import chromium_missing_reason, launch_browser, streamlit_server, wait_idle

from explorer import models
from vae_core.checkpoint import MAX_CHECKPOINT_BYTES, save_checkpoint
from vae_core.model import VAE, VAEConfig

pytestmark = [pytest.mark.browser]
REASON = chromium_missing_reason()
if REASON:
    pytestmark.append(pytest.mark.skip(reason=REASON))


def test_gallery_names_paths_eviction_log_and_teacher_delete(models_dir):
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(1, 8, 8), hidden=(8,)))
    meta = {"dataset": {"name": "digits"}, "train": {"beta": 1.0}, "history": [{}], "metrics": {}}
    models.describe(save_checkpoint(models.model_path("fine"), model, meta), "a _italic_ __bold__")
    # the log is the server's own file, but its names were typed by students
    (models_dir / "huge.safetensors").write_bytes(b"\0" * (MAX_CHECKPOINT_BYTES + 1))
    log = {"when": time.time(), "name": "gone-one", "who": "_Jun_", "created": 0, "bytes": 1, "for": "fine"}
    (models_dir / models.EVICTION_LOG).write_text(json.dumps(log) + "\n")
    env = {"VAE_EXPLORER_MODELS": str(models_dir), "VAE_EXPLORER_TEACHER_KEY": "s3cret"}
    from playwright.sync_api import sync_playwright

    with streamlit_server(env=env) as (url, _, _), sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/gallery")
        wait_idle(page)
        page.get_by_text("This model cannot be read").first.wait_for(timeout=30_000)
        main = page.locator('[data-testid="stMain"]')
        body = main.inner_text()
        assert "a _italic_ __bold__" in body  # the underscores shown, nothing emphasised
        assert not main.locator("em").count()
        assert str(models_dir) not in page.locator("body").inner_text()
        page.get_by_text("Teacher", exact=True).click()
        page.get_by_label("Teacher key").fill("s3cret")
        page.keyboard.press("Enter")
        page.get_by_text("Removed by the quota").wait_for(timeout=20_000)
        page.get_by_text("gone-one", exact=True).wait_for(timeout=20_000)  # the eviction log, as a table
        page.get_by_text("a _italic_ __bold__", exact=True).last.wait_for()  # usage by student: the name as typed
        assert not main.locator("em").count()
        page.locator(".st-key-del_huge button").click()
        page.wait_for_function("() => !document.querySelector('.st-key-del_huge')", timeout=20_000)
        assert not (models_dir / "huge.safetensors").exists() and (models_dir / "fine.safetensors").exists()
        browser.close()
