"""Many users at once: one `streamlit run app.py` on loopback and N concurrent sessions acting as
a class does. Reports errors (exceptions shown, failed or timed-out runs, dropped connections),
the latency of every action under load (median, p95), per kind, and the server's memory.

Sessions are real websocket clients that speak Streamlit's own protocol (bench/ws_client.py),
sending what a browser tab sends; the load lands on the server, which is what is shared (twenty
headless Chromium tabs would saturate a 2-core machine by rendering alone). Each session acts
about every --think seconds (randomised ±50 %), drawing each action at random:

- one in four: a page switch, to any page of the app (a full run of that page);
- otherwise, equally often: a Walk commit (z sent by the latent plane when the user lets go),
  a click on a test point (a commit with the point), a grid change on Manifold (its slider).

A Walk or Manifold action taken while the session is on another page goes there first, as the
user would, and its latency includes that page run (so these figures are conservative). Against
an app without the latent plane (--app-dir of an older checkout) the same actions are sent as
that app's browser sends them: the z sliders, and a selection event on the plotly scatter.

    python -m bench.load_test [--sessions 20] [--seconds 60] [--think 2] [--app-dir PATH]
    python -m bench.load_test --sessions 20 --trainers 10   # and 10 more students press Train at once

With --trainers N, N more sessions open the Train page and press Train together once the others
browse (a digits run of --train-epochs each; at most VAE_EXPLORER_MAX_TRAINING train, the rest
queue), then press Train a second time, which the limit of runs per student must refuse. The
browsing sessions' errors and latencies are the figures that matter: training must not break them.
    python -m bench.load_test --server-time 30 [--app-dir PATH]   # one session: server time per action

All traffic stays on 127.0.0.1; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from browser import streamlit_server  # noqa: E402

from bench.common import report, summary  # noqa: E402
from bench.ws_client import StreamlitClient  # noqa: E402

MAX_ACTIONS = 5000  # per session, whatever the duration
PLANE = "walk_plane"  # the Walk page's latent plane (explorer/latent_plane.py)
KINDS = ("page_switch", "walk_commit", "point_click", "grid_change")
GRID_MAX = 30  # Manifold grid sizes the sessions ask for: 5..GRID_MAX (--grid-max; smaller in smoke tests)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Session:
    """One student: a websocket session, its current page, and what that page offers."""

    def __init__(
        self, client: StreamlitClient, idx: int, rng: random.Random, errors: list, grid_max: int = GRID_MAX
    ) -> None:
        self.client, self.idx, self.rng, self.errors = client, idx, rng, errors
        self.grid_max = grid_max  # grid changes choose n in 5..grid_max
        self.page = None
        self.last = None  # the last RunResult of the current page
        self.seq = 0

    def check(self, result, what: str) -> None:
        if result.exceptions:
            self.errors.append(f"session {self.idx}: {what}: {result.exceptions[0]}")
        elif result.status not in (0, 3):  # FINISHED_SUCCESSFULLY, FINISHED_FRAGMENT_RUN_SUCCESSFULLY
            self.errors.append(f"session {self.idx}: {what} finished with status {result.status}")

    async def goto(self, page: str, timeout: float = 60) -> float:
        r = await self.client.run(page, timeout=timeout)
        self.check(r, f"page {page or 'home'}")
        self.page, self.last = page, r
        return r.seconds

    async def walk(self, click: bool) -> float:
        t = await self.goto("walk") if self.page != "walk" else 0.0
        c, r = self.client, self.last
        if PLANE in r.keyed:  # the latent plane: one commit, as the browser sends it on release
            widget_id, fragment = r.keyed[PLANE]
            data = r.components.get(PLANE, {})
            n = 2000
            z = [round(self.rng.uniform(-3, 3), 4) for _ in range(2)]
            self.seq += 1
            commit = {"z": z, "pick": self.rng.randrange(n) if click else None, "have": [data.get("model_key")]}
            c.set_json(widget_id, {"commit": {**commit, "seq": self.seq}})
        elif click:  # the plotly scatter's selection event
            widget_id, fragment = r.keyed["walk_scatter"]
            i = self.rng.randrange(2000)
            point = {"curve_number": 0, "point_number": 0, "point_index": 0, "x": 0.0, "y": 0.0, "customdata": i}
            sel = {"points": [point], "point_indices": [0], "box": [], "lasso": []}
            c.set_string(widget_id, json.dumps({"selection": sel}))
        else:  # the z sliders
            (z1, fragment), (z2, _) = r.sliders["z1"], r.sliders["z2"]
            c.set_slider(z1, round(self.rng.uniform(-3, 3), 2))
            c.set_slider(z2, round(self.rng.uniform(-3, 3), 2))
        res = await c.run("walk", fragment_id=fragment)
        self.check(res, "walk click" if click else "walk commit")
        if not res.images and not res.components:
            self.errors.append(f"session {self.idx}: a Walk action drew nothing")
        return t + res.seconds

    async def grid(self) -> float:
        t = await self.goto("manifold") if self.page != "manifold" else 0.0
        widget_id, fragment = self.last.keyed["manifold_n"]  # in a fragment, only it reruns (as a browser asks)
        self.client.set_int(widget_id, self.rng.randint(5, self.grid_max))
        res = await self.client.run("manifold", fragment_id=fragment)
        self.check(res, "grid change")  # `warm` computed these grids
        self.last = res
        return t + res.seconds


async def action(s: Session, pages: list[str]) -> tuple[str, float]:
    """One action of the mix, drawn with the session's own generator: (its kind, its seconds).
    bench/scale_out.py drives its sessions with this too."""
    if s.rng.random() < 0.25:
        return "page_switch", await s.goto(s.rng.choice([p for p in pages if p != s.page] or pages))
    kind = s.rng.choice(KINDS[1:])
    return kind, await (s.grid() if kind == "grid_change" else s.walk(kind == "point_click"))


async def session(url, seconds, think, idx, pages, latencies: dict, errors: list, grid_max: int = GRID_MAX) -> int:
    rng = random.Random(idx)
    actions = 0
    try:
        async with StreamlitClient(url) as client:
            s = Session(client, idx, rng, errors, grid_max)
            await asyncio.sleep(rng.uniform(0, think))  # students do not arrive in lockstep
            await s.goto("walk", timeout=120)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and actions < MAX_ACTIONS:
                kind, dt = await action(s, pages)
                latencies[kind].append(dt)
                actions += 1
                await asyncio.sleep(think * rng.uniform(0.5, 1.5))
    except Exception as exc:  # a timeout or a dropped connection is an error of the run
        errors.append(f"session {idx}: {type(exc).__name__}: {str(exc)[:200]}")
    return actions


FIRST_PAGES = ("walk", "manifold", "", "train", "encode", "metrics")


async def warm(s: Session) -> None:
    """Every page once, and every grid size the sessions ask for: what the first visitors of a
    class fill the caches with (the same for any revision of the app)."""
    for page in FIRST_PAGES:
        await s.goto(page, timeout=120)
    for page in sorted(set(s.client.pages) - set(FIRST_PAGES)):  # the rest the app lists (Concepts, gallery)
        await s.goto(page, timeout=120)
    await s.goto("manifold")
    for n in range(5, s.grid_max + 1):
        s.client.set_int(s.last.keyed["manifold_n"][0], n)
        s.check(await s.client.run("manifold", timeout=120), "grid")


def _widget(result, key: str) -> str:
    return next(w for w in result.widgets if w.endswith("-" + key))


async def trainer(url: str, idx: int, epochs: int, go: asyncio.Event, ready: list, out: dict) -> None:
    """One student who presses Train (when `go` is set), then Train again while the first run is queued or trains."""
    try:
        async with StreamlitClient(url) as client:
            page = await client.run("train", timeout=120)
            client.set_widget(_widget(page, "trainer_input"), string_value=f"Trainer {idx}")
            page = await client.run("train", timeout=120)
            client.set_widget(_widget(page, "tr_epochs"), double_value=epochs)
            client.set_widget(_widget(page, "tr_name"), string_value=f"load-run-{idx:02d}")
            submit = next(
                w for w, (k, label, _) in page.widgets.items() if k == "button" and label in ("Train", "학습")
            )
            ready.append(idx)
            await go.wait()
            client.set_widget(submit, trigger_value=True)
            first = await client.run("train", timeout=120)
            out["submit_seconds"].append(first.seconds)
            if first.exceptions or any(a.startswith("Not started") for a in first.alerts):
                out["errors"].append(f"trainer {idx}: {(first.exceptions or first.alerts)[0][:200]}")
                return
            out["started"] += 1
            client.set_widget(_widget(first, "tr_name"), string_value=f"load-run-{idx:02d}-again")
            client.set_widget(submit, trigger_value=True)
            again = await client.run("train", timeout=120)
            if any("at a time" in a for a in again.alerts):
                out["second_refused"] += 1
            else:
                out["errors"].append(f"trainer {idx}: a second Train was not refused: {again.alerts[:2]}")
    except Exception as exc:
        out["errors"].append(f"trainer {idx}: {type(exc).__name__}: {str(exc)[:200]}")


async def run(
    sessions: int,
    seconds: float,
    think: float,
    app_dir: Path | None,
    grid_max: int = GRID_MAX,
    trainers: int = 0,
    train_epochs: int = 20,
) -> dict:
    latencies: dict[str, list[float]] = {k: [] for k in KINDS}
    errors: list[str] = []
    training = {"trainers": trainers, "epochs": train_epochs, "started": 0, "second_refused": 0, "errors": []}
    training["submit_seconds"] = []
    scratch = tempfile.TemporaryDirectory(prefix="vae-load-models-")  # the trainers' models land here
    env = {"VAE_EXPLORER_MODELS": scratch.name} if trainers else None
    with scratch, streamlit_server(env=env, cwd=app_dir) as (url, proc, _):
        async with StreamlitClient(url) as client:  # the first visitors fill the caches
            await warm(Session(client, -1, random.Random(0), errors, grid_max))
            pages = sorted(client.pages)
        mem_before = rss_mib(proc.pid)
        samples: list[tuple[float, float]] = []
        t0 = time.perf_counter()

        async def sample_memory() -> None:
            while True:
                samples.append((round(time.perf_counter() - t0, 1), round(rss_mib(proc.pid), 1)))
                await asyncio.sleep(10)

        sampler = asyncio.create_task(sample_memory())
        go, ready = asyncio.Event(), []
        trainer_tasks = [
            asyncio.create_task(trainer(url, i, train_epochs, go, ready, training)) for i in range(trainers)
        ]

        async def press_together() -> None:  # once every trainer has its form filled, and the class browses
            while len(ready) < trainers and not all(t.done() for t in trainer_tasks):
                await asyncio.sleep(0.2)
            await asyncio.sleep(min(5.0, seconds / 4))
            go.set()

        presser = asyncio.create_task(press_together())
        counts = await asyncio.gather(
            *[session(url, seconds, think, i, pages, latencies, errors) for i in range(sessions)]
        )
        await asyncio.gather(presser, *trainer_tasks)
        wall = time.perf_counter() - t0
        sampler.cancel()
        await asyncio.sleep(2)
        mem_after = rss_mib(proc.pid)
    every = [v for kind in KINDS for v in latencies[kind]]
    return {
        "sessions": sessions,
        "seconds_per_session": seconds,
        "think_seconds": think,
        "app_dir": str(app_dir) if app_dir else None,
        "pages": pages,
        "wall_seconds": wall,
        "actions": sum(counts),
        "errors": len(errors),
        "error_messages": errors[:20],
        "actions_by_kind": {k: len(v) for k, v in latencies.items()},
        "action_under_load": summary(every) if every else None,
        **{f"{k}_under_load": summary(v) if v else None for k, v in latencies.items()},
        "server_rss_mib_before": mem_before,
        "server_rss_mib_after": mem_after,
        "server_rss_mib_every_10s": samples,
        "training": {**training, "submit_seconds": summary(training["submit_seconds"]) if trainers else None},
    }


async def server_time(repeats: int, app_dir: Path | None, grid_max: int = GRID_MAX) -> dict:
    """One session alone, one action at a time: how long the server takes per page run and per
    commit, from the message sent to the run's end (loopback, so this is the server's time)."""
    times: dict[str, list[float]] = {}
    with streamlit_server(cwd=app_dir) as (url, _proc, _):
        async with StreamlitClient(url) as client:
            s = Session(client, 0, random.Random(0), errors := [], grid_max=grid_max)
            await warm(s)
            pages = [*FIRST_PAGES, *sorted(set(client.pages) - set(FIRST_PAGES))]
            for _ in range(repeats):
                for page in pages:
                    times.setdefault(f"{page or 'home'}_page_run", []).append(await s.goto(page))
                await s.goto("walk")
                times.setdefault("walk_commit", []).append(await s.walk(False))
                times.setdefault("point_click", []).append(await s.walk(True))
                await s.goto("manifold")
                times.setdefault("grid_change", []).append(await s.grid())
    return {"repeats": repeats, "errors": len(errors), "error_messages": errors[:5]} | {
        k: summary(v) for k, v in times.items()
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sessions", type=int, default=20)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--think", type=float, default=2.0, help="seconds between one session's actions (±50%%)")
    p.add_argument("--app-dir", type=Path, help="run the app of another checkout (e.g. a `git worktree` of main)")
    p.add_argument("--server-time", type=int, metavar="REPEATS", help="instead: one session, REPEATS of each action")
    p.add_argument("--grid-max", type=int, default=GRID_MAX, help="grid changes choose n in 5..this (warmed first)")
    p.add_argument("--trainers", type=int, default=0, help="more sessions that press Train at once (see above)")
    p.add_argument("--train-epochs", type=int, default=20, help="epochs of each trainer's digits run")
    p.add_argument("--out")
    a = p.parse_args(argv)
    if a.server_time:
        results = asyncio.run(server_time(a.server_time, a.app_dir, a.grid_max))
        report("server_time", results, a.out)
        return results
    results = asyncio.run(run(a.sessions, a.seconds, a.think, a.app_dir, a.grid_max, a.trainers, a.train_epochs))
    report("load_test", results, a.out)
    return results


if __name__ == "__main__":
    main()
