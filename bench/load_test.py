"""Many users at once: one `streamlit run app.py` on loopback, N concurrent browser sessions
(Playwright contexts in Debian's Chromium), each moving the Walk sliders and switching pages
for a while. Reports errors (page errors, Streamlit exceptions, timeouts), slider-step latency
under load (median, p95) and the server's memory before and after.

    python -m bench.load_test [--sessions 20] [--seconds 60]

All traffic stays on 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402

from bench.app_latency import CAPTION_JS  # noqa: E402
from bench.common import report, summary  # noqa: E402

MAX_ACTIONS = 2000  # per session, whatever the duration


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def session(browser, url: str, seconds: float, idx: int, latencies: list, errors: list) -> int:
    ctx = await browser.new_context(viewport={"width": 1200, "height": 900})
    page = await ctx.new_page()
    page.on("pageerror", lambda e: errors.append(f"session {idx}: page error {e}"))
    actions = 0
    try:
        await page.goto(f"{url}/walk", timeout=120_000)
        await page.wait_for_selector('[data-testid="stSlider"]', timeout=120_000)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and actions < MAX_ACTIONS:
            await page.evaluate(CAPTION_JS)
            thumb = page.get_by_role("slider").first
            await thumb.focus()
            for i in range(8):
                await page.keyboard.press("ArrowRight" if (actions + i) % 16 < 8 else "ArrowLeft")
                try:
                    await page.wait_for_function("() => window.__stepT1 !== null", timeout=30_000)
                    latencies.append(await page.evaluate("() => (window.__stepT1 - window.__stepT0) / 1000"))
                except Exception as exc:  # a timeout is an error of the run
                    errors.append(f"session {idx}: slider step timed out ({type(exc).__name__})")
                actions += 1
            nav = page.locator('[data-testid="stSidebarNav"] a')
            await nav.filter(has_text="Manifold").click()
            await page.wait_for_selector(".js-plotly-plot", timeout=60_000)
            await nav.filter(has_text="Walk").click()
            await page.wait_for_selector('[data-testid="stSlider"]', timeout=60_000)
            if await page.locator('[data-testid="stException"]').count():
                errors.append(
                    f"session {idx}: exception shown: {await page.locator('[data-testid=stException]').first.inner_text()}"
                )
            actions += 2
    except Exception as exc:
        errors.append(f"session {idx}: {type(exc).__name__}: {str(exc)[:200]}")
    finally:
        await ctx.close()
    return actions


async def run(sessions: int, seconds: float) -> dict:
    from playwright.async_api import async_playwright

    latencies: list[float] = []
    errors: list[str] = []
    with streamlit_server() as (url, proc, _):
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            warm = await browser.new_page()
            await warm.goto(f"{url}/walk")
            await warm.wait_for_selector('[data-testid="stSlider"]', timeout=120_000)
            await warm.close()
            mem_before = rss_mib(proc.pid)
            t0 = time.perf_counter()
            counts = await asyncio.gather(
                *[session(browser, url, seconds, i, latencies, errors) for i in range(sessions)]
            )
            wall = time.perf_counter() - t0
            await browser.close()
        await asyncio.sleep(2)
        mem_after = rss_mib(proc.pid)
    return {
        "sessions": sessions,
        "seconds_per_session": seconds,
        "wall_seconds": wall,
        "actions": sum(counts),
        "errors": len(errors),
        "error_messages": errors[:20],
        "slider_step_under_load": summary(latencies) if latencies else None,
        "server_rss_mib_before": mem_before,
        "server_rss_mib_after": mem_after,
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--out")
    a = p.parse_args(argv)
    results = asyncio.run(run(a.sessions, a.seconds))
    report("load_test", results, a.out)
    return results


if __name__ == "__main__":
    main()
