"""Helpers for real-browser tests and benchmarks: a Streamlit server on loopback, and Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.replicas import streamlit_command  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def chromium_missing_reason() -> str | None:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"no Chromium at {CHROMIUM}: install it with `apt-get install -y chromium`"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install playwright)"
    return None


def shots_dir(tmp_path: Path) -> Path:
    """docs/screenshots when UPDATE_SCREENSHOTS=1 (to refresh the README's), else `tmp_path`."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        d = ROOT / "docs" / "screenshots"
        d.mkdir(parents=True, exist_ok=True)
        return d
    return tmp_path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(env: dict | None = None, timeout: float = 60.0, cwd: Path | None = None):
    """Start `streamlit run app.py` (of `cwd`, default this checkout) on a free loopback port;
    yield (url, process, seconds to healthy)."""
    port = free_port()
    cmd = streamlit_command(port)  # the command each replica of deploy/replicas.py runs
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd or ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited early:\n{proc.stdout.read().decode(errors='replace')}")
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError("streamlit did not become healthy in time")
            time.sleep(0.1)
        yield url, proc, time.perf_counter() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@contextmanager
def chromium():
    """A headless Debian Chromium under Playwright, for a module's tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_browser(p)
        yield b
        b.close()


def wait_idle(page, timeout_ms: int = 60_000) -> None:
    """Wait until the app has drawn a title, is connected, runs no script and shows no spinner."""
    page.wait_for_selector('[data-testid="stMainBlockContainer"] h1', timeout=timeout_ms)
    idle = """() => { const app = document.querySelector('[data-testid="stApp"]');
        return app && app.dataset.testConnectionState === 'CONNECTED'
            && app.dataset.testScriptState !== 'running'
            && !document.querySelector('[data-testid="stSpinner"]'); }"""
    page.wait_for_function(idle, timeout=timeout_ms)
    page.wait_for_timeout(300)
    page.wait_for_function(idle, timeout=timeout_ms)  # a rerun may have started meanwhile
