"""N Streamlit replicas behind HAProxy, with cookie stickiness and health checks.

One Streamlit process runs its scripts under one interpreter lock, so it uses about one core. This
starts N replicas of the app on loopback ports and HAProxy in front of them, waits until every
replica is healthy, and stops all of them on Ctrl-C or SIGTERM:

    python -m deploy.replicas --replicas 2 --port 8501

The same module is the start command of the container image (see compose.yaml):

    python -m deploy.replicas serve --port 8501 --address 0.0.0.0       # one replica
    python -m deploy.replicas proxy --servers app1:8501,app2:8501 --port 8501   # HAProxy
    python -m deploy.replicas render --servers 127.0.0.1:8601 --port 8501        # print the config

All replicas share the models folder ($VAE_EXPLORER_MODELS); HAProxy's `SERVERID` cookie keeps each
browser tab on one replica, since its websocket, images and uploads live in that replica's memory.
With `--redis-url redis://host:6379/0` (or $VAE_EXPLORER_REDIS_URL) every replica keeps the class store
and the training slots on that Redis server instead of in the models folder.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("haproxy.cfg.template")
# Debian puts it in /usr/sbin, which is not on every user's PATH.
HAPROXY = os.environ.get("HAPROXY") or shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin") or "haproxy"
HEALTH = "/_stcore/health"


def streamlit_command(port: int, address: str = "127.0.0.1") -> list[str]:
    """The one command that starts a replica, on loopback and in the container alike."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        address,
        "--browser.gatherUsageStats",
        "false",
    ]


def render_config(servers: list[str], bind: str, stats: str) -> str:
    """deploy/haproxy.cfg.template with one `server rN host:port` line per replica (cookie value rN)."""
    if not servers:
        raise ValueError("at least one replica is needed")
    lines = [f"    server r{i} {addr} check cookie r{i}" for i, addr in enumerate(servers, 1)]
    text = TEMPLATE.read_text()
    return text.replace("{{BIND}}", bind).replace("{{STATS}}", stats).replace("{{SERVERS}}", "\n".join(lines))


def haproxy_missing_reason() -> str | None:
    if shutil.which(HAPROXY) is None:
        return f"no `{HAPROXY}` on PATH: install it with `apt-get install -y haproxy`"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Run in the child before exec: the kernel sends it SIGTERM if the launcher dies (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def healthy(url: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(url + HEALTH, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


@dataclass
class Deployment:
    url: str  # HAProxy's address: what students open
    stats_url: str  # HAProxy's status page (append ;csv for CSV)
    replica_urls: list[str]
    replicas: list[subprocess.Popen]
    proxy: subprocess.Popen
    config_path: Path
    logs: list[Path] = field(default_factory=list)

    def server_states(self) -> dict[str, str]:
        """HAProxy's view of each replica: {"r1": "UP", "r2": "DOWN", ...}."""
        with urllib.request.urlopen(self.stats_url + ";csv", timeout=2) as r:
            rows = r.read().decode().splitlines()
        header = rows[0].lstrip("# ").split(",")
        pxname, svname, status = header.index("pxname"), header.index("svname"), header.index("status")
        states = {}
        for row in rows[1:]:
            cols = row.split(",")
            if len(cols) > status and cols[pxname] == "streamlit" and cols[svname].startswith("r"):
                states[cols[svname]] = cols[status]
        return states


def _start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
        )


def stop_all(procs: list[subprocess.Popen], grace: float = 10.0) -> None:
    """SIGTERM every process, wait up to `grace` seconds in all, then SIGKILL what is left."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def replica_env(replicas: int, env: dict | None = None) -> dict:
    """The environment of each replica: the caller's, and torch's threads split between replicas."""
    threads = str(max(1, (os.cpu_count() or 1) // replicas))
    return {"OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads, **os.environ, **(env or {})}


@contextmanager
def replicas(
    n: int,
    port: int | None = None,
    env: dict | None = None,
    first_port: int | None = None,
    address: str = "127.0.0.1",
    timeout: float = 90.0,
    log_dir: str | Path | None = None,
    redis_url: str | None = None,
):
    """Start n replicas and HAProxy on `address`; yield a Deployment once all are healthy; stop all.
    `redis_url`: the replicas' VAE_EXPLORER_REDIS_URL (class store and training slots on Redis)."""
    reason = haproxy_missing_reason()
    if reason:
        raise RuntimeError(reason)
    port = port or free_port()
    ports = [first_port + i for i in range(n)] if first_port else [free_port() for _ in range(n)]
    stats_port = free_port()
    work = Path(tempfile.mkdtemp(prefix="vae-replicas-"))
    log_dir = Path(log_dir) if log_dir else work
    log_dir.mkdir(parents=True, exist_ok=True)
    cfg = work / "haproxy.cfg"
    cfg.write_text(render_config([f"127.0.0.1:{p}" for p in ports], f"{address}:{port}", f"127.0.0.1:{stats_port}"))
    check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"haproxy refused the config {cfg}:\n{check.stdout}{check.stderr}")
    procs: list[subprocess.Popen] = []
    logs = [log_dir / f"replica-{i}.log" for i in range(1, n + 1)] + [log_dir / "haproxy.log"]
    try:
        renv = replica_env(n, {**(env or {}), **({"VAE_EXPLORER_REDIS_URL": redis_url} if redis_url else {})})
        for p, log in zip(ports, logs):
            procs.append(_start(streamlit_command(p, "127.0.0.1"), renv, log))
        proxy = _start([HAPROXY, "-f", str(cfg), "-db"], {**os.environ}, logs[-1])
        procs.append(proxy)
        dep = Deployment(
            f"http://127.0.0.1:{port}",
            f"http://127.0.0.1:{stats_port}/stats",
            [f"http://127.0.0.1:{p}" for p in ports],
            procs[:-1],
            proxy,
            cfg,
            logs,
        )
        _wait_healthy(dep, timeout)
        yield dep
    finally:
        stop_all(procs)
        if log_dir == work:
            shutil.rmtree(work, ignore_errors=True)
        else:
            cfg.unlink(missing_ok=True)
            work.rmdir()


def _wait_healthy(dep: Deployment, timeout: float) -> None:
    t0 = time.monotonic()
    while True:
        for p, log in zip([*dep.replicas, dep.proxy], dep.logs):
            if p.poll() is not None:
                raise RuntimeError(f"{p.args[0]} exited early with {p.returncode}:\n{log.read_text()[-3000:]}")
        try:
            up = all(healthy(u) for u in dep.replica_urls) and set(dep.server_states().values()) == {"UP"}
        except OSError:
            up = False
        if up and healthy(dep.url):
            return
        if time.monotonic() - t0 > timeout:
            raise RuntimeError(f"the replicas were not all healthy after {timeout:.0f} s")
        time.sleep(0.2)


def _exec(cmd: list[str]) -> None:
    """Replace this process (PID 1 in a container) so signals reach Streamlit or HAProxy directly."""
    sys.stdout.flush()
    os.chdir(ROOT)
    os.execvp(cmd[0], cmd)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("serve", "proxy", "render"):
        role, argv = argv[0], argv[1:]
    else:
        role = "up"
    p = argparse.ArgumentParser(
        prog=f"python -m deploy.replicas{'' if role == 'up' else ' ' + role}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8501, help="where students connect (HAProxy, or the replica for serve)")
    p.add_argument("--address", default="127.0.0.1" if role == "up" else "0.0.0.0", help="address to listen on")
    if role == "up":
        p.add_argument("--replicas", type=int, default=2, help="Streamlit processes (about one core each)")
        p.add_argument(
            "--first-port", type=int, default=8601, help="replica i listens on first-port + i - 1 (0: any free ports)"
        )
        p.add_argument(
            "--redis-url",
            default=None,
            help="the replicas' VAE_EXPLORER_REDIS_URL: class store and training slots on this Redis server",
        )
    if role in ("proxy", "render"):
        p.add_argument("--servers", required=True, help="comma-separated host:port of the replicas")
        p.add_argument("--stats", default="127.0.0.1:8404", help="address:port of HAProxy's status page")
    a = p.parse_args(argv)
    if role == "serve":
        _exec(streamlit_command(a.port, a.address))
    elif role in ("proxy", "render"):
        text = render_config(a.servers.split(","), f"{a.address}:{a.port}", a.stats)
        if role == "render":
            print(text)
            return
        cfg = Path(tempfile.gettempdir()) / "vae-explorer-haproxy.cfg"
        cfg.write_text(text)
        _exec([HAPROXY, "-f", str(cfg), "-db"])
    else:
        _up(a)


def _up(a: argparse.Namespace) -> None:
    if a.replicas < 1:
        sys.exit("--replicas must be at least 1")
    if a.redis_url and a.redis_url.split("://")[0] not in ("redis", "rediss", "unix"):
        sys.exit("--redis-url must be a Redis URL such as redis://127.0.0.1:6379/0")
    stopping = False

    def on_signal(signum, frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        with replicas(
            a.replicas, a.port, first_port=a.first_port, address=a.address, log_dir=ROOT / "logs", redis_url=a.redis_url
        ) as dep:
            print(f"{a.replicas} replicas healthy behind HAProxy: open {dep.url}", flush=True)
            print(f"  replicas: {' '.join(dep.replica_urls)}; status page: {dep.stats_url}", flush=True)
            print(f"  logs in {ROOT / 'logs'}; Ctrl-C stops everything", flush=True)
            while dep.proxy.poll() is None:  # a replica that dies is routed around; HAProxy must stay
                time.sleep(0.5)
            sys.exit(f"haproxy exited with {dep.proxy.returncode}; see {dep.logs[-1]}")
    except KeyboardInterrupt:
        print("stopping…", flush=True)


if __name__ == "__main__":
    main()
