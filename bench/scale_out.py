"""Scale-out: the load test's sessions through HAProxy in front of N replicas, and through one replica, in one run.

Each session is a browser tab as HAProxy and Streamlit see it: it loads the page (HAProxy's `SERVERID` cookie
and Streamlit's XSRF cookie), opens the websocket with those cookies, draws the Home page and fetches its manifold
image (`/media/...`, which lives in one replica's memory), uploads a picture on the Encode page the way
st.file_uploader does (a `file_urls_request` over the websocket, then a PUT to `/_stcore/upload_file/...`
with the XSRF token) and fetches the encoded image, then loops over bench/load_test.py's action mix (its
`action`, imported: page switches, Walk commits on the latent plane, clicks on test points, Manifold grid
changes), waiting about --think seconds (±50 %, sessions starting at random within the first --think) after
each action: 0.05 s is a saturating profile, 2 s a class. A dropped websocket is an error of the action in
flight; the tab then reconnects, as Streamlit's frontend does, and goes on (HAProxy sends it to a live replica).

    python -m bench.scale_out --replicas 2 --sessions 40 --seconds 60 [--think 0.05] [--kill-one-at 20]

First the sessions run against one replica directly (no proxy), then through HAProxy in front of N replicas;
each phase starts its own processes and warms each replica's caches first. `--kill-one-at S` SIGKILLs replica
r1 S seconds into the second phase and reports which sessions saw errors and when HAProxy marked it down.
The last line is JSON. All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import random
import resource
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import load_test  # noqa: E402
from bench.common import report, summary  # noqa: E402
from bench.ws_client import RunResult, StreamlitClient  # noqa: E402
from deploy.replicas import replicas  # noqa: E402
from explorer.slots import TrainingSlots  # noqa: E402

MAX_ACTIONS = 5000  # per session, whatever the duration
MAX_RECONNECTS = 3  # per session
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")  # st.image serves PNG or JPEG


# ---- what a browser does besides the websocket: cookies, images, uploads ----


class Browser:
    """One tab's cookies and plain HTTP requests (blocking; call through asyncio.to_thread)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies: dict[str, str] = {}

    def absorb(self, set_cookie_headers: list[str]) -> None:
        for header in set_cookie_headers:
            name, _, value = header.split(";", 1)[0].strip().partition("=")
            if name:
                self.cookies[name] = value

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    @property
    def server(self) -> str:
        """The replica HAProxy pinned this tab to (its SERVERID cookie), or "direct"."""
        return self.cookies.get("SERVERID", "direct")

    def request(self, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=dict(headers or {}))
        if self.cookies:
            req.add_header("Cookie", self.cookie_header())
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                self.absorb(r.headers.get_all("Set-Cookie") or [])
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def open_page(self) -> None:
        """What a browser fetches before the websocket: the page, then the health endpoint (XSRF cookie)."""
        for path in ("/", "/_stcore/health"):
            status, _ = self.request(path)
            if status != 200:
                raise RuntimeError(f"GET {path} answered {status}")

    def fetch_image(self, url: str) -> None:
        status, data = self.request(url if url.startswith("/") else "/" + url)
        if status != 200 or not data.startswith(IMAGE_MAGIC):
            raise RuntimeError(f"image {url} answered {status} ({len(data)} bytes)")

    def put_file(self, upload_url: str, name: str, data: bytes, content_type: str = "image/png") -> None:
        """PUT one file as st.file_uploader does: multipart, the field named after the file, XSRF header."""
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        if "_streamlit_xsrf" in self.cookies:
            headers["X-Xsrftoken"] = self.cookies["_streamlit_xsrf"]
        status, text = self.request(upload_url, "PUT", body, headers)
        if status not in (200, 204):
            raise RuntimeError(f"upload to {upload_url} answered {status}: {text[:200]!r}")


def digit_png(index: int = 0) -> bytes:
    """A handwritten digit from scikit-learn's bundled set, as a PNG a student might upload."""
    from PIL import Image
    from sklearn.datasets import load_digits

    pixels = load_digits().images[index % 1797]  # (8, 8) in 0..16
    img = Image.fromarray((255 - pixels * 15).astype("uint8")).resize((64, 64), Image.NEAREST)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


async def open_tab(base: str, browser: Browser | None = None) -> tuple[Browser, StreamlitClient]:
    """A tab on `base`: cookies first, then the websocket with them (as HAProxy's stickiness needs)."""
    browser = browser or Browser(base)
    await asyncio.to_thread(browser.open_page)
    client = StreamlitClient(base, headers={"Cookie": browser.cookie_header()})
    await client.__aenter__()
    # HAProxy re-pins a tab whose replica died: the new SERVERID comes with the websocket's 101 answer.
    browser.absorb(client.ws.response.headers.get_all("Set-Cookie"))
    return browser, client


def widget(result: RunResult, key: str) -> str:
    """The id of the widget created with `key=` on the page just drawn."""
    for wid in result.widgets:
        if wid.endswith("-" + key):
            return wid
    raise RuntimeError(f"no widget with key {key!r} on the page (widgets: {list(result.widgets)[:8]})")


async def upload_on_encode(browser: Browser, client: StreamlitClient, png: bytes) -> RunResult:
    """Encode page, "Upload a file", PUT a picture, rerun: the page draws what the encoder saw."""
    first = await client.run("encode", timeout=120)
    mode = widget(first, "enc_mode")
    options = first.options[mode]  # as shown: draw, upload, camera
    client.set_widget(mode, string_value=next((o for o in options if "upload" in o.lower()), options[1]))
    shown = await client.run("encode")
    uploader = widget(shown, "enc_upload")
    (urls,) = await client.upload_urls(["digit.png"])
    await asyncio.to_thread(browser.put_file, urls.upload_url, "digit.png", png)
    client.set_files(uploader, [("digit.png", len(png), urls)])
    return await client.run("encode")


async def start_training(url: str, name: str, epochs: int, who: str = "Tester") -> None:
    """Start a digits run on the Train page of the replica at `url`, as a student would (name, settings, Train)."""
    _, client = await open_tab(url)
    try:
        page = await client.run("train", timeout=120)
        client.set_widget(widget(page, "trainer_input"), string_value=who)
        client.set_widget(widget(page, "tr_epochs"), double_value=epochs)
        client.set_widget(widget(page, "tr_name"), string_value=name)
        submit = next(
            w for w, (kind, label, _) in page.widgets.items() if kind == "button" and label in ("Train", "학습")
        )
        client.set_widget(submit, trigger_value=True)
        check(await client.run("train", timeout=120), "start training")
    finally:
        await client.__aexit__(None, None, None)


# ---- one session and one phase ----


class Tally:
    def __init__(self) -> None:
        self.actions: list[float] = []  # seconds, every action of the mix
        self.by_kind: dict[str, list[float]] = {k: [] for k in load_test.KINDS}
        self.uploads: list[float] = []
        self.errors: list[dict] = []  # {"t", "session", "server", "what"}
        self.reconnects: list[float] = []  # seconds from the error to the first good run after it
        self.media_fetched = 0
        self.uploads_done = 0
        self.t0 = time.perf_counter()

    def error(self, idx: int, server: str, what: str) -> None:
        self.errors.append(
            {"t": round(time.perf_counter() - self.t0, 2), "session": idx, "server": server, "what": what}
        )


def check(result: RunResult, what: str) -> None:
    if result.exceptions:
        raise RuntimeError(f"{what}: {result.exceptions[0]}")
    if result.status not in (0, 3):  # FINISHED_SUCCESSFULLY, FINISHED_FRAGMENT_RUN_SUCCESSFULLY
        raise RuntimeError(f"{what} finished with status {result.status}")


async def session(
    base: str, seconds: float, think: float, idx: int, png: bytes, tally: Tally, grid_max: int = load_test.GRID_MAX
) -> int:
    rng = random.Random(idx)
    await asyncio.sleep(rng.uniform(0, think))  # students do not arrive in lockstep
    deadline = time.monotonic() + seconds
    actions, reconnects, browser, client, failed_at = 0, 0, None, None, None
    uploaded = False
    while time.monotonic() < deadline and actions < MAX_ACTIONS:
        try:
            browser, client = await open_tab(base, browser)
            errors: list[str] = []  # what load_test's Session reports (exceptions shown, failed runs)
            s = load_test.Session(client, idx, rng, errors, grid_max)
            await s.goto("", timeout=120)  # Home: its manifold image lives in this replica's memory
            check(s.last, "first run")
            if failed_at is not None:
                tally.reconnects.append(time.perf_counter() - failed_at)
                failed_at = None
            if not s.last.image_urls:
                raise RuntimeError("the Home page drew no image")
            await asyncio.to_thread(browser.fetch_image, s.last.image_urls[0])
            tally.media_fetched += 1
            actions += 1
            pages = sorted(client.pages)
            if not uploaded:  # one upload per session, through the same replica as its websocket
                t = time.perf_counter()
                r = await upload_on_encode(browser, client, png)
                check(r, "upload")
                if len(r.image_urls) < 2:
                    raise RuntimeError("the Encode page drew no encoded image after the upload")
                await asyncio.to_thread(browser.fetch_image, r.image_urls[-1])
                tally.uploads.append(time.perf_counter() - t)
                tally.uploads_done += 1
                uploaded = True
                actions += 1
                s.page, s.last = "encode", r
            while time.monotonic() < deadline and actions < MAX_ACTIONS:
                kind, dt = await load_test.action(s, pages)  # the load test's mix: Walk, points, grids, pages
                for message in errors:
                    tally.error(idx, browser.server, message)
                errors.clear()
                tally.by_kind[kind].append(dt)
                tally.actions.append(dt)
                actions += 1
                await asyncio.sleep(think * rng.uniform(0.5, 1.5))
            break
        except Exception as exc:  # a timeout, a dropped websocket, a 404 image: an error of the action in flight
            tally.error(idx, browser.server if browser else "?", f"{type(exc).__name__}: {str(exc)[:160]}")
            failed_at = failed_at or time.perf_counter()
            reconnects += 1
            if reconnects > MAX_RECONNECTS:
                break
            await asyncio.sleep(0.5)  # Streamlit's frontend retries after a short back-off
        finally:
            if client is not None:
                try:
                    await client.__aexit__(None, None, None)
                except Exception:
                    pass
                client = None
    return actions


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return float("nan")


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def warm(url: str, png: bytes, grid_max: int = load_test.GRID_MAX) -> None:
    """The first visitor of each replica fills its caches (models, manifolds)."""
    browser, client = await open_tab(url)
    try:
        errors: list[str] = []
        await load_test.warm(load_test.Session(client, -1, random.Random(0), errors, grid_max))  # every page and grid
        if errors:
            raise RuntimeError(f"warming {url}: {errors[0]}")
        await upload_on_encode(browser, client, png)
    finally:
        await client.__aexit__(None, None, None)


async def phase(
    dep,
    base: str,
    sessions: int,
    seconds: float,
    think: float,
    kill_at: float | None,
    models: Path,
    grid_max: int = load_test.GRID_MAX,
) -> dict:
    png = digit_png()
    for url in dep.replica_urls:
        await warm(url, png, grid_max)
    procs = {f"r{i}": p for i, p in enumerate(dep.replicas, 1)}
    cpu0 = {name: cpu_seconds(p.pid) for name, p in procs.items()}
    proxy_cpu0 = cpu_seconds(dep.proxy.pid) if base == dep.url else None
    me0 = resource.getrusage(resource.RUSAGE_SELF)
    tally = Tally()
    kill: dict = {}

    async def kill_one() -> None:
        await asyncio.sleep(kill_at)
        victim = dep.replicas[0]
        kill["rss_mib_at_kill"] = round(rss_mib(victim.pid), 1)
        kill["slots_busy_before_kill"] = slots.busy()
        os.kill(victim.pid, signal.SIGKILL)
        kill["at_s"] = round(time.perf_counter() - tally.t0, 2)
        while slots.busy() and time.perf_counter() - tally.t0 - kill["at_s"] < 30:
            await asyncio.sleep(0.05)
        kill["slots_busy_after_kill"] = slots.busy()  # the kernel released the dead replica's flock
        kill["slot_released_after_s"] = round(time.perf_counter() - tally.t0 - kill["at_s"], 2)
        while "down_after_s" not in kill:
            try:
                if dep.server_states().get("r1") == "DOWN":
                    kill["down_after_s"] = round(time.perf_counter() - tally.t0 - kill["at_s"], 2)
            except OSError:
                pass
            await asyncio.sleep(0.1)

    async def train_on_victim() -> None:
        """A run on r1 that is still training when r1 is killed: its slot must come back, no file half-written."""
        await asyncio.sleep(max(0.0, kill_at - 6))
        await start_training(dep.replica_urls[0], "on-the-killed-replica", epochs=500)

    slots = TrainingSlots(models / ".slots", 2)
    killer = asyncio.create_task(kill_one()) if kill_at is not None else None
    trainer = asyncio.create_task(train_on_victim()) if kill_at is not None else None
    counts = await asyncio.gather(*[session(base, seconds, think, i, png, tally, grid_max) for i in range(sessions)])
    wall = time.perf_counter() - tally.t0
    me1 = resource.getrusage(resource.RUSAGE_SELF)
    for task in (killer, trainer):
        if task is not None:
            task.cancel()
    cpu = {name: round((cpu_seconds(p.pid) - cpu0[name]) / wall, 2) for name, p in procs.items()}
    out = {
        "sessions": sessions,
        "seconds_per_session": seconds,
        "think_seconds": think,
        "wall_seconds": round(wall, 1),
        "actions": sum(counts),
        "actions_per_second": round(sum(counts) / wall, 2),
        "errors": len(tally.errors),
        "error_messages": tally.errors[:20],
        "error_kinds": dict(Counter(e["what"][:70] for e in tally.errors).most_common(10)),
        "action_under_load": summary(tally.actions) if tally.actions else None,
        "actions_by_kind": {k: len(v) for k, v in tally.by_kind.items()},
        **{f"{k}_under_load": summary(v) if v else None for k, v in tally.by_kind.items()},
        "upload_and_encode": summary(tally.uploads) if tally.uploads else None,
        "media_fetched": tally.media_fetched,
        "uploads_done": tally.uploads_done,
        "replica_cpu_cores": cpu,  # CPU seconds per second of wall time, each replica
        "replica_rss_mib": {name: round(rss_mib(p.pid), 1) for name, p in procs.items()},
        "load_generator_cpu_cores": round((me1.ru_utime + me1.ru_stime - me0.ru_utime - me0.ru_stime) / wall, 2),
    }
    if proxy_cpu0 is not None:
        out["haproxy_cpu_cores"] = round((cpu_seconds(dep.proxy.pid) - proxy_cpu0) / wall, 3)
    if kill_at is not None:
        killed = {e["session"] for e in tally.errors if e["server"] == "r1"}
        out["kill"] = {
            **kill,
            "sessions_with_errors": len({e["session"] for e in tally.errors}),
            "errors_on_r1_sessions": sum(e["server"] == "r1" for e in tally.errors),
            "errors_on_other_sessions": sum(e["server"] != "r1" for e in tally.errors),
            "sessions_on_r1_that_failed": len(killed),
            "reconnected": len(tally.reconnects),
            "reconnect": summary(tally.reconnects) if tally.reconnects else None,
        }
    return out


def check_models(folder: Path) -> dict:
    """Every model file in the shared folder loads (none half-written)."""
    from vae_core.checkpoint import load_checkpoint

    files = sorted(folder.rglob("*.safetensors"))
    broken = []
    for f in files:
        try:
            load_checkpoint(f)
        except Exception as exc:
            broken.append(f"{f.name}: {exc}")
    return {"model_files": len(files), "model_files_broken": broken}


async def run(
    n: int,
    sessions: int,
    seconds: float,
    think: float,
    kill_at: float | None,
    models: Path,
    replicas_only: bool = False,
    grid_max: int = load_test.GRID_MAX,
) -> dict:
    env = {"VAE_EXPLORER_MODELS": str(models)}
    one = None
    if not replicas_only:
        with replicas(1, env=env) as single:
            one = await phase(single, single.replica_urls[0], sessions, seconds, think, None, models, grid_max)
    with replicas(n, env=env) as dep:
        many = await phase(dep, dep.url, sessions, seconds, think, kill_at, models, grid_max)
    if one is None:
        return {"replicas": n, "errors": many["errors"], "through_haproxy": many, **check_models(models)}
    return {
        "replicas": n,
        "errors": one["errors"] + many["errors"],
        "single_replica": one,
        "through_haproxy": many,
        "actions_per_second": {"single": one["actions_per_second"], "replicas": many["actions_per_second"]},
        "throughput_ratio": round(many["actions_per_second"] / one["actions_per_second"], 2)
        if one["actions_per_second"]
        else None,
        "action_under_load": {
            "single": {k: one["action_under_load"][k] for k in ("median_ms", "p95_ms")},
            "replicas": {k: many["action_under_load"][k] for k in ("median_ms", "p95_ms")},
        },
        "load_generator_cpu_cores": {
            "single": one["load_generator_cpu_cores"],
            "replicas": many["load_generator_cpu_cores"],
        },
        **check_models(models),
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--sessions", type=int, default=40)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--think", type=float, default=0.05, help="seconds between a session's actions")
    p.add_argument("--kill-one-at", type=float, help="SIGKILL replica r1 this many seconds into the HAProxy phase")
    p.add_argument("--models", help="shared models folder (default: a temporary one)")
    p.add_argument(
        "--replicas-only", action="store_true", help="skip the single-replica phase (e.g. with --kill-one-at)"
    )
    p.add_argument("--grid-max", type=int, default=load_test.GRID_MAX, help="Manifold grid sizes 5..this")
    p.add_argument("--out")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="scale-out-models-") as tmp:
        models = Path(a.models or tmp)
        results = asyncio.run(
            run(a.replicas, a.sessions, a.seconds, a.think, a.kill_one_at, models, a.replicas_only, a.grid_max)
        )
    report("scale_out", results, a.out)
    return results


if __name__ == "__main__":
    main()
