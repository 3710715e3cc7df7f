"""App latency through a real browser (Playwright + Debian's Chromium), with a shipped model:

- cold start: from launching `streamlit run app.py` to the manifold visible on the Manifold page
  (the plotly figure with the test set overlaid), and on Home (where the app opens: a plain image);
- latent plane (Walk): a scripted drag of --moves pointer moves with every stored test point
  drawn; per move the page's own time for decode + draw, from the event's timestamp to the
  drawn plane and image, and to the next frame the browser paints; what is sent once per model;
  time from page load to the plane's first frame.

    python -m bench.app_latency [--starts 3] [--moves 500] [--points 10000]

--points 10000: the drag again with a model that stores all 10,000 Fashion-MNIST test images (the
shipped model re-saved with the whole test set, read offline from --data-dir, in a temporary models
folder where it is pinned, so the Walk page opens on it).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser import launch_browser, streamlit_server, wait_idle  # noqa: E402

from bench.common import report, summary  # noqa: E402

MANIFOLD_VISIBLE = ".js-plotly-plot .imagelayer image"  # the decoded grid drawn under the axes


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


def plane_drag(page, url: str, moves: int) -> dict:
    """A scripted drag of `moves` pointer moves over the Walk page's latent plane."""
    page.goto(f"{url}/walk")
    api = "window.__latentPlanes && window.__latentPlanes.walk_plane"
    page.wait_for_function(f"() => {api} && {api}.ready", timeout=60_000)
    wait_idle(page)
    first_frame = page.evaluate("() => window.__latentPlanes.walk_plane.firstFrameMs()")
    n_points = page.evaluate("() => window.__latentPlanes.walk_plane.nPoints()")
    box = page.locator(".vp-plane").bounding_box()
    page.evaluate("() => window.__latentPlanes.walk_plane.resetTimings()")
    cx, cy, r = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, box["width"] * 0.35
    page.mouse.move(cx + r, cy)
    page.mouse.down()
    for i in range(moves):
        a = 2 * math.pi * i / 125
        page.mouse.move(cx + r * math.cos(a) * (1 - i / (2 * moves)), cy + r * math.sin(a) * (1 - i / (2 * moves)))
    page.mouse.up()
    page.wait_for_timeout(100)
    t = page.evaluate("() => window.__latentPlanes.walk_plane.timings()")
    return {
        "moves": moves,
        "points_drawn": n_points,
        "decode_and_draw": summary([v / 1000 for v in t["decodeDraw"]]),
        "event_to_drawn": summary([v / 1000 for v in t["eventToDraw"]]),
        "event_to_next_frame": summary([v / 1000 for v in t["eventToFrame"]]),
        "page_load_to_first_frame_ms": first_frame,
    }


def many_points_models_dir(folder: Path, data_dir: str, n: int) -> Path:
    """A models folder whose pinned model is the shipped Fashion-MNIST one storing `n` test images."""
    from explorer.models import PIN_FILE, describe
    from vae_core.checkpoint import load_checkpoint, save_checkpoint, to_levels
    from vae_core.data import load_dataset

    ckpt = load_checkpoint(Path(__file__).resolve().parents[1] / "checkpoints" / "fashion-mnist.safetensors")
    data = load_dataset("fashion-mnist", data_dir, download=False)
    n = min(n, len(data.x_test))
    images, levels = to_levels(data.x_test[:n], 255)
    meta = {**ckpt.meta, "dataset": {**ckpt.meta["dataset"], "levels": levels}}
    name = f"fashion-mnist-{n}-points"
    path = save_checkpoint(folder / f"{name}.safetensors", ckpt.model, meta, images.view(n, 1, 28, 28), data.y_test[:n])
    describe(path, "bench")
    (folder / PIN_FILE).write_text(json.dumps({"name": name}))
    return folder


def main(argv=None) -> dict:
    import tempfile

    from playwright.sync_api import sync_playwright

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--starts", type=int, default=3)
    p.add_argument("--moves", type=int, default=500)
    p.add_argument("--points", type=int, default=0, help="also drag with a model storing this many test points")
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist", help="Fashion-MNIST, for --points")
    p.add_argument("--out")
    a = p.parse_args(argv)
    results = {}
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        if a.starts:  # --starts 0: only the plane
            results["cold_start_to_manifold_visible"] = summary(cold_starts(browser, a.starts))
            results["cold_start_to_home_manifold_visible"] = summary(
                cold_starts(browser, a.starts, "", HOME_MANIFOLD_VISIBLE)
            )
        with streamlit_server() as (url, _proc, _):
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{url}/manifold")  # warm the caches once, as a first visitor would
            wait_idle(page)
            results["latent_plane"] = plane_drag(page, url, a.moves)
            page.close()
        if a.points:
            with tempfile.TemporaryDirectory() as tmp:
                env = {"VAE_EXPLORER_MODELS": str(many_points_models_dir(Path(tmp), a.data_dir, a.points))}
                with streamlit_server(env=env) as (url, _proc, _):
                    page = browser.new_page(viewport={"width": 1400, "height": 1100})
                    results[f"latent_plane_{a.points}_points"] = plane_drag(page, url, a.moves)
                    page.close()
        browser.close()
    results["latent_plane"]["payload_bytes"] = plane_payload_size()
    report("app_latency", results, a.out)
    return results


def plane_payload_size() -> dict:
    """What the plane sends once per model: the decoder weights (float16 matrices, float32 first
    layer and biases) and the whole blob with the test points, against float32 weights."""
    import numpy as np

    from explorer.latent_plane import encode_blob, float16_decoder
    from vae_core.checkpoint import load_checkpoint
    from vae_core.evaluate import encode
    from vae_core.manifold import decoder_layers

    out = {}
    for f in sorted((Path(__file__).resolve().parents[1] / "checkpoints").glob("*.safetensors")):
        ckpt = load_checkpoint(f)
        layers = decoder_layers(ckpt.model)
        mu, logvar = (t.numpy() for t in encode(ckpt.model, ckpt.sample_x()))
        blob = encode_blob(f.stem, ckpt, mu, logvar, ckpt.sample_labels.numpy())
        out[f.stem] = {
            "params": int(sum(np.prod(w.shape) + b.size for w, b in layers)),
            "float32_weight_bytes": sum(w.nbytes + b.nbytes for w, b in layers),
            "sent_weight_bytes": sum(w.nbytes + b.nbytes for w, b in float16_decoder(ckpt)),
            "blob_bytes": len(blob),
            "points": len(mu),
        }
    return out


if __name__ == "__main__":
    json.dumps(main())
