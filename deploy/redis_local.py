"""A throwaway redis-server on loopback, for the tests and benchmarks (Debian: `apt-get install redis-server`).

    with local_redis() as url:          # redis://127.0.0.1:<free port>/0, data in a temporary folder
        ...                             # stopped (and its folder removed) when the block ends

It keeps nothing on disk (no snapshots, no append-only file) and dies with the process that started it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from deploy.replicas import _die_with_parent, free_port

REDIS_SERVER = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin") or "redis-server"


def redis_missing_reason() -> str | None:
    if shutil.which(REDIS_SERVER) is None:
        return f"no `{REDIS_SERVER}` installed: install it with `apt-get install -y redis-server`"
    return None


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@contextmanager
def local_redis(timeout: float = 20.0) -> Iterator[str]:
    """Start redis-server on a free loopback port; yield its URL; stop it and remove its folder."""
    reason = redis_missing_reason()
    if reason:
        raise RuntimeError(reason)
    folder = Path(tempfile.mkdtemp(prefix="vae-redis-"))
    port = free_port()
    cmd = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder), "--save", ""]
    cmd += ["--appendonly", "no", "--daemonize", "no", "--loglevel", "warning", "--logfile", str(folder / "log")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    try:
        deadline = time.monotonic() + timeout
        while not _answers_ping(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (folder / "log").read_text() if (folder / "log").exists() else ""
                raise RuntimeError(f"redis-server did not start on port {port}: {log[-2000:]}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        shutil.rmtree(folder, ignore_errors=True)
