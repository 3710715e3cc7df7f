"""App latency through a real browser (Playwright + Debian's Chromium), with a shipped model:

- cold start: from launching `streamlit run app.py` to the manifold visible on the Manifold page
  (the plotly figure with the test set overlaid), and on Home (where the app opens: a plain image);
- Walk slider step: a keyboard step of the z1 slider to the new decoded output in the page
  (the slider's keydown to the DOM update of the fragment's caption and image, timed in the page);
- latent pad: a scripted drag of --moves pointer moves; per move the page's own time for
  decode + draw, and from the event's timestamp to the drawn image; the weights' payload size;
  time from page load to the pad's first frame.

    python -m bench.app_latency [--starts 3] [--steps 40] [--moves 500]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser import launch_browser, streamlit_server, wait_idle  # noqa: E402

from bench.common import report, summary  # noqa: E402

MANIFOLD_VISIBLE = ".js-plotly-plot .imagelayer image"  # the decoded grid drawn under the axes
CAPTION_JS = """() => {
  // T0: the slider's keydown (a trusted event); T1: the first DOM change after which the
  // decoded image's caption shows the value the test expects (window.__expect).
  window.__stepT0 = null; window.__stepT1 = null; window.__expect = null;
  const cap = () => [...document.querySelectorAll('[data-testid="stImage"]')]
      .map((e) => e.innerText).find((t) => t.startsWith('decoded z')) || '';
  document.addEventListener('keydown', () => { window.__stepT0 = performance.now(); window.__stepT1 = null; }, true);
  new MutationObserver(() => {
    if (window.__stepT0 !== null && window.__stepT1 === null && window.__expect && cap().startsWith(window.__expect)) {
      window.__stepT1 = performance.now();
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


HOME_MANIFOLD_VISIBLE = '[data-testid="stImage"] img'  # Home's only image: the active model's manifold


def cold_starts(browser, n: int, path: str = "manifold", selector: str = MANIFOLD_VISIBLE) -> list[float]:
    """Seconds from launching the server to `selector` in the page at `path` (a fresh server each time)."""
    out = []
    for _ in range(n):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        t0 = time.perf_counter()
        with streamlit_server() as (url, _proc, _):
            page.goto(f"{url}/{path}")
            page.wait_for_selector(selector, state="attached", timeout=60_000)
            if path == "":
                page.wait_for_function("(s) => document.querySelector(s).complete", arg=selector, timeout=60_000)
            out.append(time.perf_counter() - t0)
        page.close()
    return out


def slider_steps(page, url: str, steps: int) -> list[float]:
    page.goto(f"{url}/walk")
    wait_idle(page)
    page.evaluate(CAPTION_JS)
    thumb = page.get_by_role("slider").first
    thumb.focus()
    out, z1 = [], 0.0
    for i in range(steps):
        right = i % 20 < 10
        z1 = round(z1 + (0.01 if right else -0.01), 2)
        page.evaluate("(e) => { window.__expect = e; }", f"decoded z = ({z1:.2f},")
        page.keyboard.press("ArrowRight" if right else "ArrowLeft")
        page.wait_for_function("() => window.__stepT1 !== null", timeout=20_000)
        out.append(page.evaluate("() => window.__stepT1 - window.__stepT0") / 1000)
        page.wait_for_timeout(100)
    return out


def pad_drag(page, url: str, moves: int) -> dict:
    page.goto(f"{url}/walk")
    page.wait_for_function("() => window.__latentPads && window.__latentPads.latent_pad", timeout=60_000)
    first_frame = page.evaluate("() => window.__latentPads.latent_pad.firstFrameMs")
    pad = page.locator(".latent-pad .pad")
    box = pad.bounding_box()
    page.evaluate("() => window.__latentPads.latent_pad.resetTimings()")
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] * 0.35
    import math

    page.mouse.move(cx + r, cy)
    page.mouse.down()
    for i in range(moves):
        a = 2 * math.pi * i / 125
        page.mouse.move(cx + r * math.cos(a) * (1 - i / (2 * moves)), cy + r * math.sin(a) * (1 - i / (2 * moves)))
    page.mouse.up()
    t = page.evaluate("() => window.__latentPads.latent_pad.timings()")
    return {
        "moves": moves,
        "decode_and_draw": summary([v / 1000 for v in t["decodeDraw"]]),
        "event_to_drawn": summary([v / 1000 for v in t["eventToDraw"]]),
        "page_load_to_first_frame_ms": first_frame,
    }


def main(argv=None) -> dict:
    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--starts", type=int, default=3)
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--moves", type=int, default=500)
    p.add_argument("--out")
    a = p.parse_args(argv)
    results = {}
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        results["cold_start_to_manifold_visible"] = summary(cold_starts(browser, a.starts))
        results["cold_start_to_home_manifold_visible"] = summary(
            cold_starts(browser, a.starts, "", HOME_MANIFOLD_VISIBLE)
        )
        with streamlit_server() as (url, _proc, _):
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{url}/manifold")  # warm the caches once, as a first visitor would
            wait_idle(page)
            results["walk_slider_step_to_new_output"] = summary(slider_steps(page, url, a.steps))
            results["latent_pad"] = pad_drag(page, url, a.moves)
        browser.close()
    results["latent_pad"]["payload_bytes"] = pad_payload_size()
    report("app_latency", results, a.out)
    return results


def pad_payload_size() -> dict:
    """The pad's weights as sent (base64 JSON) and as raw float32, per shipped model."""
    import numpy as np

    from vae_core.checkpoint import load_checkpoint
    from vae_core.manifold import decoder_layers

    out = {}
    for f in sorted((Path(__file__).resolve().parents[1] / "checkpoints").glob("*.safetensors")):
        layers = decoder_layers(load_checkpoint(f).model)
        raw = sum(w.nbytes + b.nbytes for w, b in layers)
        out[f.stem] = {
            "float32_bytes": raw,
            "base64_bytes": 4 * ((raw + 2) // 3),
            "params": int(sum(np.prod(w.shape) + b.size for w, b in layers)),
        }
    return out


if __name__ == "__main__":
    json.dumps(main())
