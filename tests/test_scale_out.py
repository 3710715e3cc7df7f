"""Two replicas behind HAProxy on loopback (deploy/): sticky sessions carry the websocket, images and
uploads; a model trained through one replica is listed by the other; the launcher leaves no process behind."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.load_test import PLANE
from bench.scale_out import Browser, digit_png, open_tab, start_training, upload_on_encode, widget
from deploy.redis_local import local_redis, redis_missing_reason
from deploy.replicas import HAPROXY, free_port, haproxy_missing_reason, main, render_config, replicas

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(haproxy_missing_reason() is not None, reason=str(haproxy_missing_reason()))


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def children(pid: int) -> list[int]:
    kids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids += [int(k) for k in (task / "children").read_text().split()]
    return kids


def test_config_pins_sessions_checks_health_and_keeps_websockets_open():
    cfg = render_config(["127.0.0.1:9001", "127.0.0.1:9002"], "0.0.0.0:8501", "127.0.0.1:8404")
    assert "cookie SERVERID insert indirect nocache" in cfg
    assert "option httpchk GET /_stcore/health" in cfg
    assert "timeout tunnel 1h" in cfg
    assert "server r1 127.0.0.1:9001 check cookie r1" in cfg and "server r2 127.0.0.1:9002 check cookie r2" in cfg
    with pytest.raises(ValueError):
        render_config([], "0.0.0.0:8501", "127.0.0.1:8404")
    assert_haproxy_accepts(cfg)


def assert_haproxy_accepts(cfg: str) -> None:
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"scale-out-{os.getpid()}.cfg"
    path.write_text(cfg)
    try:
        check = subprocess.run([HAPROXY, "-c", "-f", str(path)], capture_output=True, text=True)
    finally:
        path.unlink()
    assert check.returncode == 0, check.stdout + check.stderr


def test_container_files_run_the_launcher_and_the_template_that_are_tested_here(capsys):
    """compose.yaml and the Dockerfile start replicas and HAProxy with deploy/replicas.py, not their own copy."""
    compose = (ROOT / "compose.yaml").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    serve = ["python", "-m", "deploy.replicas", "serve", "--port", "8501", "--address", "0.0.0.0"]
    assert f"CMD {json.dumps(serve)}" in dockerfile
    assert f"command: {json.dumps(serve)}" in compose
    assert "HEALTHCHECK" in dockerfile and "/_stcore/health" in dockerfile
    assert "USER explorer" in dockerfile and "download.pytorch.org/whl/cpu" in dockerfile
    (proxy,) = re.findall(r'command: (\["python", "-m", "deploy.replicas", "proxy".*\])', compose)
    args = json.loads(proxy)[3:]
    services = set(re.findall(r"^  (app\d+):", compose, re.M))
    servers = args[args.index("--servers") + 1].split(",")
    assert {s.split(":")[0] for s in servers} == services  # every replica behind the proxy, no more
    main(["render", *args[1:]])  # the proxy's command, printing the config instead of starting HAProxy
    cfg = capsys.readouterr().out
    assert "cookie SERVERID insert indirect nocache" in cfg
    assert_haproxy_accepts(cfg)


def test_compose_runs_the_apps_on_its_redis_service():
    """compose.yaml's replicas share a Redis service for the class store and the training slots: the
    environment the loopback test below gives replicas with a redis-server it starts."""
    compose = (ROOT / "compose.yaml").read_text()
    app = compose.split("services:")[0]  # the x-app block every replica uses
    assert re.search(r"^    VAE_EXPLORER_REDIS_URL: redis://redis:6379/0$", app, re.M)
    assert re.search(r"^  depends_on:\n    redis:\n      condition: service_healthy$", app, re.M)
    (redis_block,) = re.findall(r"^  redis:\n((?:    .*\n)+)", compose, re.M)
    assert 'command: ["redis-server"' in redis_block and "redis-cli" in redis_block
    assert "--appendonly" in redis_block and "ports:" not in redis_block  # in memory; not published


async def _through_the_proxy(dep) -> None:
    browser, client = await open_tab(dep.url)
    try:
        assert browser.server in ("r1", "r2")  # HAProxy pinned the tab with its cookie
        home = await client.run("", timeout=120)
        assert not home.exceptions and home.image_urls, home.exceptions
        media = home.image_urls[0]
        await asyncio.to_thread(browser.fetch_image, media)  # the tab's replica has the image
        # ...and the other replica does not: without stickiness, this is the 404 a student would see.
        other = dep.replica_urls[1 if browser.server == "r1" else 0]
        status, _ = await asyncio.to_thread(Browser(other).request, media)
        assert status == 404
        # An upload through the proxy reaches the session's replica and is encoded there.
        encoded = await upload_on_encode(browser, client, digit_png(3))
        assert not encoded.exceptions, encoded.exceptions
        assert len(encoded.image_urls) >= 2
        await asyncio.to_thread(browser.fetch_image, encoded.image_urls[-1])
        # A new tab without the cookie may land anywhere; with it, always on the same replica.
        for _ in range(3):
            again = Browser(dep.url)
            again.cookies["SERVERID"] = browser.server
            await asyncio.to_thread(again.open_page)
            assert again.server == browser.server
    finally:
        await client.__aexit__(None, None, None)


async def _use_from_gallery(url: str, name: str) -> None:
    """The gallery of the replica at `url` lists the model; choosing it there draws the Walk page with it."""
    _, client = await open_tab(url)
    try:
        gallery = await client.run("gallery", timeout=120)
        assert not gallery.exceptions, gallery.exceptions
        client.set_widget(widget(gallery, f"use_{name}"), trigger_value=True)  # raises if not listed
        chosen = await client.run("gallery")
        assert not chosen.exceptions, chosen.exceptions
        walk = await client.run("walk")
        assert not walk.exceptions, walk.exceptions
        assert PLANE in walk.components  # the Walk page's latent plane, drawn with the chosen model
        assert any(name in o for opts in walk.options.values() for o in opts)  # the sidebar's model picker
    finally:
        await client.__aexit__(None, None, None)


@pytest.mark.slow
def test_two_replicas_behind_haproxy_share_sessions_media_uploads_and_models(tmp_path):
    env = {"VAE_EXPLORER_MODELS": str(tmp_path)}
    with replicas(2, env=env) as dep:
        assert dep.server_states() == {"r1": "UP", "r2": "UP"}
        asyncio.run(_through_the_proxy(dep))
        asyncio.run(start_training(dep.replica_urls[0], "trained-on-r1", epochs=2))
        saved = tmp_path / "trained-on-r1.safetensors"
        deadline = time.monotonic() + 60
        while not saved.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert saved.exists(), "the run through replica r1 saved no model"
        asyncio.run(_use_from_gallery(dep.replica_urls[1], "trained-on-r1"))


@pytest.mark.slow
def test_launcher_stops_replicas_and_haproxy_on_sigterm_and_when_killed():
    port = free_port()
    cmd = [sys.executable, "-m", "deploy.replicas", "--replicas", "2", "--port", str(port), "--first-port", "0"]
    for stop in (signal.SIGTERM, signal.SIGKILL):
        launcher = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            line = launcher.stdout.readline()
            assert "replicas healthy" in line, line + launcher.stdout.read()
            kids = children(launcher.pid)
            assert len(kids) == 3 and all(alive(k) for k in kids)  # 2 Streamlit, 1 HAProxy
            launcher.send_signal(stop)
            launcher.wait(30)
            deadline = time.monotonic() + 20
            while any(alive(k) for k in kids) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert not any(alive(k) for k in kids), f"left running after {stop.name}: {[k for k in kids if alive(k)]}"
        finally:
            launcher.kill()
            launcher.wait()


@pytest.mark.slow
def test_scale_out_benchmark_runs_at_a_tiny_size(tmp_path, capsys):
    """python -m bench.scale_out, two sessions for two seconds: its JSON has what docs/benchmarks.md quotes."""
    from bench import scale_out

    out = tmp_path / "scale_out.json"
    scale_out.main(
        ["--replicas", "2", "--sessions", "2", "--seconds", "2", "--grid-max", "6"]
        + ["--models", str(tmp_path), "--out", str(out)]
    )
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result == json.loads(out.read_text())
    assert result["errors"] == 0, (
        result["single_replica"]["error_messages"] + result["through_haproxy"]["error_messages"]
    )
    for phase in ("single_replica", "through_haproxy"):
        assert result[phase]["uploads_done"] == 2 and result[phase]["media_fetched"] >= 2
        assert result[phase]["actions_per_second"] > 0
        assert sum(result[phase]["actions_by_kind"].values()) == result[phase]["action_under_load"]["n"]
    assert result["throughput_ratio"] > 0
    assert set(result["action_under_load"]["replicas"]) == {"median_ms", "p95_ms"}
    assert result["model_files_broken"] == []


@pytest.mark.slow
@pytest.mark.skipif(redis_missing_reason() is not None, reason=str(redis_missing_reason()))
def test_two_replicas_share_one_training_limit_on_redis(tmp_path):
    """compose.yaml's setup without containers: replicas with VAE_EXPLORER_REDIS_URL set, a redis-server started
    here. One slot for the whole class: a run through r1 holds it on Redis, a run through r2 waits in Redis's
    queue, then trains; no lock file is written in the models folder."""
    from explorer.redis_slots import RedisSlots

    env = {"VAE_EXPLORER_MODELS": str(tmp_path), "VAE_EXPLORER_MAX_TRAINING": "1"}
    with local_redis() as url, replicas(2, env=env, redis_url=url) as dep:
        slots = RedisSlots(url, 1)
        asyncio.run(start_training(dep.replica_urls[0], "long-on-r1", epochs=80))
        deadline = time.monotonic() + 60
        while slots.busy() == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert slots.busy() == 1, "the run through r1 took no slot on Redis"
        asyncio.run(start_training(dep.replica_urls[1], "short-on-r2", epochs=2))
        saw_waiting = False
        deadline = time.monotonic() + 180
        while not (tmp_path / "short-on-r2.safetensors").exists() and time.monotonic() < deadline:
            if not (tmp_path / "long-on-r1.safetensors").exists():
                saw_waiting |= slots.waiting() == 1 and slots.busy() == 1
            time.sleep(0.1)
        assert (tmp_path / "long-on-r1.safetensors").exists() and (tmp_path / "short-on-r2.safetensors").exists()
        assert saw_waiting, "the run through r2 never waited for r1's slot"
        assert not (tmp_path / ".slots").exists()
        assert slots.busy() == 0 and slots.waiting() == 0
