"""Many users at once: one `streamlit run app.py` on loopback and N concurrent sessions, each
moving the Walk sliders and switching pages for a while. Reports errors (exceptions shown,
failed or timed-out runs, dropped connections), slider-step latency under load (median, p95)
and the server's memory before and after.

Sessions are real websocket clients that speak Streamlit's own protocol (bench/ws_client.py),
as a browser tab does: a slider step is a fragment rerun, a page switch a full run. Twenty
headless Chromium tabs would saturate a 2-core machine by rendering alone; this puts the load
on the server, which is what is shared. The browser tests cover what only a browser shows.

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

from browser import streamlit_server  # noqa: E402

from bench.common import report, summary  # noqa: E402
from bench.ws_client import StreamlitClient  # noqa: E402

MAX_ACTIONS = 5000  # per session, whatever the duration
THINK_SECONDS = 0.05  # between slider steps: a student dragging a slider


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def session(url: str, seconds: float, idx: int, steps: list, pages: list, errors: list) -> int:
    actions = 0

    def check(result, what: str) -> None:
        if result.exceptions:
            errors.append(f"session {idx}: {what}: {result.exceptions[0]}")
        elif result.status not in (0, 3):  # FINISHED_SUCCESSFULLY, FINISHED_FRAGMENT_RUN_SUCCESSFULLY
            errors.append(f"session {idx}: {what} finished with status {result.status}")

    try:
        async with StreamlitClient(url) as client:
            first = await client.run("walk", timeout=120)
            check(first, "first run")
            (z1, fragment), (z2, _) = first.sliders["z1"], first.sliders["z2"]
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and actions < MAX_ACTIONS:
                for i in range(10):
                    client.set_slider(z1 if i % 2 == 0 else z2, round(((actions + i) % 60) / 10 - 3, 2))
                    r = await client.run("walk", fragment_id=fragment)
                    check(r, "slider step")
                    expected = "decoded z = ("
                    if not any(c.startswith(expected) for c in r.captions):
                        errors.append(f"session {idx}: slider step drew no decoded image")
                    steps.append(r.seconds)
                    actions += 1
                    await asyncio.sleep(THINK_SECONDS)
                for page in ("manifold", "walk"):
                    r = await client.run(page)
                    check(r, f"page {page}")
                    pages.append(r.seconds)
                    actions += 1
    except Exception as exc:  # a timeout or a dropped connection is an error of the run
        errors.append(f"session {idx}: {type(exc).__name__}: {str(exc)[:200]}")
    return actions


async def run(sessions: int, seconds: float) -> dict:
    steps: list[float] = []
    pages: list[float] = []
    errors: list[str] = []
    with streamlit_server() as (url, proc, _):
        async with StreamlitClient(url) as warm:  # the first visitor fills the caches
            await warm.run("walk", timeout=120)
            await warm.run("manifold", timeout=120)
        mem_before = rss_mib(proc.pid)
        samples: list[tuple[float, float]] = []
        t0 = time.perf_counter()

        async def sample_memory() -> None:
            while True:
                samples.append((round(time.perf_counter() - t0, 1), round(rss_mib(proc.pid), 1)))
                await asyncio.sleep(10)

        sampler = asyncio.create_task(sample_memory())
        counts = await asyncio.gather(*[session(url, seconds, i, steps, pages, errors) for i in range(sessions)])
        wall = time.perf_counter() - t0
        sampler.cancel()
        await asyncio.sleep(2)
        mem_after = rss_mib(proc.pid)
    return {
        "sessions": sessions,
        "seconds_per_session": seconds,
        "wall_seconds": wall,
        "actions": sum(counts),
        "errors": len(errors),
        "error_messages": errors[:20],
        "slider_step_under_load": summary(steps) if steps else None,
        "page_switch_under_load": summary(pages) if pages else None,
        "server_rss_mib_before": mem_before,
        "server_rss_mib_after": mem_after,
        "server_rss_mib_every_10s": samples,
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
