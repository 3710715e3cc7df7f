"""The live class board under a class: what sixty idle students cost, and how soon the projector shows a drawing.

One `streamlit run app.py` on loopback; every student is a websocket session (bench/ws_client.py) on
the Class board page, and each one reruns the page's watch fragment every time the fragment's timer
says (as a browser does for `st.fragment(run_every=...)`). The projector is one more session, on
`?present=1`. Two phases:

- idle: `--students` sessions sit on the board for `--seconds`; the server process's CPU time over
  that window (utime + stime from /proc) divided by the window is the idle cost in cores;
- submissions: `--submissions` drawings are sent to the store (as Encode's button does), one every
  ~`--gap` seconds, while the students keep ticking; for each, the time from the send until the
  projector's page has redrawn with it.

    python -m bench.class_board [--students 60] [--seconds 20] [--submissions 10] [--gap 2]

All traffic stays on 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import numpy as np  # noqa: E402
from browser import streamlit_server  # noqa: E402

from bench.common import report, summary  # noqa: E402
from bench.ws_client import StreamlitClient  # noqa: E402

PAGE = "class_board"
LOOK = "Look at a drawing"  # the board's selectbox of drawings: drawn only by a full run of the page


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def drawings_shown(result) -> int | None:
    """How many drawings the board listed in this run (None: the run did not draw the page)."""
    for wid, (_kind, label, _) in result.widgets.items():
        if label.startswith(LOOK):
            return len(result.options.get(wid, [])) - 1
    return None


class Ticker:
    """A session on the board whose fragment timer fires as a browser's would."""

    def __init__(self, client: StreamlitClient, query: str = "") -> None:
        self.client, self.query = client, query
        self.fragment, self.interval, self.runs, self.errors = "", 1.5, 0, 0
        self.shown = 0
        self.on_redraw = None  # called with (drawings shown, time) after a run that drew the page

    def _took(self, result) -> None:
        self.runs += 1
        if result.exceptions or result.status is None:
            self.errors += 1
        if result.auto_reruns:
            self.interval, self.fragment = result.auto_reruns[-1]
        n = drawings_shown(result)
        if n is not None:
            self.shown = n
            if self.on_redraw:
                self.on_redraw(n, time.perf_counter())

    async def start(self) -> None:
        self._took(await self.client.run(PAGE, query_string=self.query, timeout=120))

    async def tick_until(self, end: float) -> None:
        await asyncio.sleep(random.uniform(0, self.interval))  # browsers opened at different moments
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            self._took(await self.client.run(PAGE, fragment_id=self.fragment, query_string=self.query, timeout=60))
            await asyncio.sleep(max(0.0, self.interval - (time.perf_counter() - t0)))


async def run(students: int, seconds: float, submissions: int, gap: float) -> dict:
    from explorer import owner
    from explorer.class_store import DEFAULT_BOARD, Limits, SQLiteStore, sqlite_path

    with tempfile.TemporaryDirectory() as tmp:
        models = Path(tmp) / "models"
        store = SQLiteStore(sqlite_path(models), limits=Limits(submissions_per_minute=1000))
        env = {"VAE_EXPLORER_MODELS": str(models)}
        with streamlit_server(env=env, timeout=120) as (url, proc, _):
            clients = [StreamlitClient(url) for _ in range(students + 1)]
            for c in clients:
                await c.__aenter__()
            projector = Ticker(clients[0], "present=1")
            pupils = [Ticker(c) for c in clients[1:]]
            for t in [projector, *pupils]:  # one page load each, as a class arriving
                await t.start()
            await asyncio.sleep(2)
            # idle: every session ticks; nobody acts
            end = time.perf_counter() + seconds
            c0, w0 = cpu_seconds(proc.pid), time.perf_counter()
            await asyncio.gather(*(t.tick_until(end) for t in [projector, *pupils]))
            idle = {
                "seconds": time.perf_counter() - w0,
                "cores": (cpu_seconds(proc.pid) - c0) / (time.perf_counter() - w0),
                "ticks": sum(t.runs for t in pupils),
                "interval_s": projector.interval,
            }
            # submissions: the projector's redraw after each send
            latencies, pending = [], {}

            def redrawn(n: int, at: float) -> None:
                for k in [k for k in pending if k <= n]:
                    latencies.append(at - pending.pop(k))

            projector.on_redraw = redrawn
            end = time.perf_counter() + submissions * gap + 6
            ticking = asyncio.gather(*(t.tick_until(end) for t in [projector, *pupils]))
            rng = np.random.default_rng(0)
            for i in range(submissions):
                await asyncio.sleep(gap * random.uniform(0.5, 1.5))
                await asyncio.to_thread(
                    store.submit,
                    DEFAULT_BOARD,
                    who=owner.secret_hash(owner.new_secret()),
                    name=f"student {i}",
                    image=(rng.random((28, 28)) * 255).astype(np.uint8),
                    mu=[0.0, 0.0],
                    sigma=[1.0, 1.0],
                )
                pending[i + 1] = time.perf_counter()
            await ticking
            for c in clients:
                await c.ws.close()
            errors = sum(t.errors for t in [projector, *pupils])
    return {
        "students": students,
        "idle": idle,
        "submission_to_projector": summary(latencies) if latencies else None,
        "missed": len(pending),
        "errors": errors,
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=60)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--submissions", type=int, default=10)
    ap.add_argument("--gap", type=float, default=2.0)
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    if not (1 <= a.students <= 200 and 1 <= a.seconds <= 600 and 0 <= a.submissions <= 200):
        ap.error("--students 1..200, --seconds 1..600, --submissions 0..200")
    results = asyncio.run(run(a.students, a.seconds, a.submissions, a.gap))
    report("class_board", results, a.out)
    return results


if __name__ == "__main__":
    main()
