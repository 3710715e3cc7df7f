"""The class store under a class: "has anything changed?" polls and writes from simulated students, on SQLite
and on Redis, side by side in one run.

    python -m bench.class_store --students 60 --seconds 60 [--backends sqlite,redis] [--out FILE]

Three measurements per backend, in this order:

1. **Poll cost**: `--polls` calls of `store.versions(board)` one after another in one thread (what a live page's
   timer asks), the CPU seconds this process spent per 1,000 polls (`time.process_time`) and each poll's
   latency. For Redis, the server's own CPU (`INFO cpu`) is added, so the figure is the whole cost.
2. **Idle class**: `--students` threads, each polling every `--poll` seconds (±50 %, starting at random within
   the first interval) for `--seconds`, no writes: the cores that polling uses (this process, plus the Redis
   server's CPU for Redis).
3. **Active class**: the same students also act every ~`--think` seconds; 10 % of the actions are writes (half
   a submission of a 28×28 drawing with its μ and σ, half an answer to the open question), the rest are the
   reads a page does after a change (the board's submissions, the question). Latency of each kind, errors (any
   exception but a refusal), refusals by the store's limits (the default limits: 4 submissions a minute a
   student), and the cores used.

The store is the one the app uses (`explorer.class_store`, default limits). SQLite lives in a temporary
models folder; Redis is a redis-server started on a free loopback port (`deploy.redis_local`). The last line
is JSON.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench.common import report, summary  # noqa: E402
from deploy.redis_local import local_redis  # noqa: E402
from explorer.class_store import RedisStore, Refused, SQLiteStore, secret_hash, sqlite_path  # noqa: E402

BOARD = "bench"


def redis_cpu(store) -> float:
    """CPU seconds the Redis server has used (user + system); 0 for SQLite, which runs in this process."""
    if not isinstance(store, RedisStore):
        return 0.0
    info = store._redis.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def poll_cost(store, polls: int) -> dict:
    latencies = []
    store.versions(BOARD)  # warm: connections, statement cache
    cpu0, server0, wall0 = time.process_time(), redis_cpu(store), time.perf_counter()
    for _ in range(polls):
        t = time.perf_counter()
        store.versions(BOARD)
        latencies.append(time.perf_counter() - t)
    wall = time.perf_counter() - wall0
    cpu, server = time.process_time() - cpu0, redis_cpu(store) - server0
    return {
        "polls": polls,
        "cpu_seconds_per_1000_polls": 1000 * cpu / polls,
        "server_cpu_seconds_per_1000_polls": 1000 * server / polls,
        "total_cpu_seconds_per_1000_polls": 1000 * (cpu + server) / polls,
        "polls_per_second_one_thread": polls / wall,
        "latency": summary(latencies),
    }


class Student(threading.Thread):
    def __init__(self, idx, store, question, stop, poll, think, seed) -> None:
        super().__init__(daemon=True)
        self.idx, self.store, self.question, self.stop, self.poll, self.think = idx, store, question, stop, poll, think
        self.rng = random.Random(seed)
        self.who = secret_hash(f"bench-browser-secret-{idx:04d}")
        self.times: dict[str, list[float]] = {"poll": [], "submit": [], "answer": [], "read": []}
        self.errors: list[str] = []
        self.refused = 0
        self.image = np.random.default_rng(seed).integers(0, 256, (28, 28), dtype=np.uint8)

    def timed(self, kind: str, fn) -> None:
        t = time.perf_counter()
        try:
            fn()
        except Refused:
            self.refused += 1
        except Exception as exc:  # counted, reported
            self.errors.append(f"{kind}: {exc!r}"[:200])
        self.times[kind].append(time.perf_counter() - t)

    def act(self) -> None:
        r = self.rng.random()
        if r < 0.05:
            mu = [self.rng.gauss(0, 1), self.rng.gauss(0, 1)]
            self.timed(
                "submit",
                lambda: self.store.submit(
                    BOARD, who=self.who, name=f"Student {self.idx}", image=self.image, mu=mu, sigma=[0.3, 0.4]
                ),
            )
        elif r < 0.10:
            z = [self.rng.uniform(-3, 3), self.rng.uniform(-3, 3)]
            self.timed("answer", lambda: self.store.answer(BOARD, self.question, who=self.who, name="S", value=z))
        else:
            self.timed("read", lambda: (self.store.submissions(BOARD), self.store.question(BOARD)))

    def run(self) -> None:
        next_poll = time.monotonic() + self.rng.uniform(0, self.poll)
        next_act = time.monotonic() + self.rng.uniform(0, self.think) if self.think else float("inf")
        while not self.stop.is_set():
            now = time.monotonic()
            if now >= next_poll:
                self.timed("poll", lambda: self.store.versions(BOARD))
                next_poll = now + self.poll * self.rng.uniform(0.5, 1.5)
            if now >= next_act:
                self.act()
                next_act = now + self.think * self.rng.uniform(0.5, 1.5)
            self.stop.wait(max(0.0, min(next_poll, next_act) - time.monotonic()))


def class_run(store, students: int, seconds: float, poll: float, think: float | None, question: int) -> dict:
    stop = threading.Event()
    crowd = [Student(i, store, question, stop, poll, think, seed=i) for i in range(students)]
    cpu0, server0, wall0 = time.process_time(), redis_cpu(store), time.perf_counter()
    for s in crowd:
        s.start()
    time.sleep(seconds)
    stop.set()
    for s in crowd:
        s.join(30)
    wall = time.perf_counter() - wall0
    cpu, server = time.process_time() - cpu0, redis_cpu(store) - server0
    out = {
        "students": students,
        "seconds": round(wall, 2),
        "cores_this_process": cpu / wall,
        "cores_redis_server": server / wall,
        "cores_total": (cpu + server) / wall,
        "errors": sum(len(s.errors) for s in crowd),
        "error_messages": sorted({e for s in crowd for e in s.errors})[:10],
        "refused_by_limits": sum(s.refused for s in crowd),
    }
    for kind in ("poll", "submit", "answer", "read"):
        times = [t for s in crowd for t in s.times[kind]]
        if times:
            out[kind] = summary(times)
    return out


def bench_backend(store, a) -> dict:
    store.delete_board(BOARD)
    q = store.start_question(BOARD, "Where does a sandal land?")
    import sqlite3

    version = store._redis.info("server")["redis_version"] if isinstance(store, RedisStore) else sqlite3.sqlite_version
    result = {"backend": store.backend, "server_version": version, "poll_cost": poll_cost(store, a.polls)}
    result["idle_class"] = class_run(store, a.students, a.seconds, a.poll, None, q.id)
    result["active_class"] = class_run(store, a.students, a.seconds, a.poll, a.think, q.id)
    result["submissions_stored"] = len(store.submissions(BOARD))
    store.delete_board(BOARD)
    return result


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m bench.class_store", description=__doc__.split("\n\n")[0])
    p.add_argument("--students", type=int, default=60, help="simulated students, each a thread")
    p.add_argument("--seconds", type=float, default=60.0, help="length of the idle and of the active run")
    p.add_argument("--poll", type=float, default=1.0, help="seconds between a student's change polls")
    p.add_argument("--think", type=float, default=2.0, help="seconds between a student's actions (active run)")
    p.add_argument("--polls", type=int, default=20_000, help="polls in the poll-cost loop")
    p.add_argument("--backends", default="sqlite,redis", help="comma-separated: sqlite, redis")
    p.add_argument("--out", default=None, help="also write the JSON here")
    a = p.parse_args(argv)
    results = {}
    with ExitStack() as stack:
        for name in a.backends.split(","):
            if name == "sqlite":
                folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-store-"))
                store = SQLiteStore(sqlite_path(folder))
            elif name == "redis":
                store = RedisStore(stack.enter_context(local_redis()))
            else:
                p.error(f"unknown backend {name!r}: use sqlite or redis")
            try:
                results[name] = bench_backend(store, a)
            finally:
                store.close()
    import redis

    settings = {k: getattr(a, k) for k in ("students", "seconds", "poll", "think", "polls")}
    full = {"settings": settings, "redis_py": redis.__version__, **results}
    report("class_store", full, a.out)
    return full


if __name__ == "__main__":
    main()
