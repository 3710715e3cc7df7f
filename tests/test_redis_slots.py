"""Training slots on Redis (explorer/redis_slots.py), for replicas on several machines: the tests of
tests/test_slots.py against a real redis-server started here, plus what only a lease needs (a killed holder's
slot comes back after the lease; the heartbeat keeps a long run's slot)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from helpers import ROOT, wait_for

from deploy.redis_local import local_redis, redis_missing_reason
from explorer.class_store import StoreUnavailable
from explorer.redis_slots import RedisSlots
from vae_core.errors import ConfigError

LEASE = 1.5  # seconds: short, so a dead holder's slot comes back quickly in the tests


@pytest.fixture(scope="module")
def redis_url():
    reason = redis_missing_reason()
    if reason:
        pytest.skip(reason)
    with local_redis() as url:
        yield url


@pytest.fixture
def prefix():
    return f"test-{uuid.uuid4().hex[:8]}:slots:"


# A separate process (like a replica on another machine) that takes a slot, says so, and holds it until told.
HOLDER = """
import sys
sys.path.insert(0, {root!r})
from explorer.redis_slots import RedisSlots
slots = RedisSlots({url!r}, {limit}, lease={lease}, prefix={prefix!r})
with slots.hold(sys.argv[1], waiting=lambda ahead: print("ahead", ahead, flush=True), poll=0.05) as token:
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


def start_holder(url, prefix, limit=1, run_id="run") -> subprocess.Popen:
    code = HOLDER.format(root=str(ROOT), url=url, limit=limit, lease=LEASE, prefix=prefix)
    return subprocess.Popen(
        [sys.executable, "-c", code, run_id], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )


def kill_all(procs) -> None:
    for p in procs:
        if p is not None:
            p.kill()
            p.wait()


def read_until(proc: subprocess.Popen, word: str, timeout: float = 20.0) -> list[str]:
    """Lines the process printed up to and including the first one that starts with `word`."""
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline().strip()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if line.startswith(word):
            return lines
    raise AssertionError(f"no {word!r} from the process; it printed {lines}")


def release(proc: subprocess.Popen) -> None:
    proc.stdin.write("\n")
    proc.stdin.flush()


@pytest.mark.slow
def test_second_process_waits_for_the_only_slot_then_gets_it(redis_url, prefix):
    slots = RedisSlots(redis_url, 1, prefix=prefix)
    first = start_holder(redis_url, prefix)
    second = None
    try:
        read_until(first, "held")
        second = start_holder(redis_url, prefix)
        assert read_until(second, "ahead") == ["ahead 0"]  # first in the queue, but the slot is taken
        assert wait_for(lambda: slots.waiting() == 1)
        assert slots.busy() == 1
        time.sleep(2 * LEASE)  # it keeps waiting while the slot is held, past any lease (the heartbeat renews)
        assert second.poll() is None and slots.waiting() == 1 and slots.busy() == 1
        release(first)
        read_until(first, "released")
        read_until(second, "held")
        assert slots.waiting() == 0 and slots.busy() == 1
    finally:
        kill_all([first, second])


@pytest.mark.slow
def test_a_killed_holder_gives_its_slot_back_after_its_lease(redis_url, prefix):
    slots = RedisSlots(redis_url, 1, prefix=prefix)
    holder = start_holder(redis_url, prefix)
    waiter = None
    try:
        read_until(holder, "held")
        waiter = start_holder(redis_url, prefix)
        read_until(waiter, "ahead")
        os.kill(holder.pid, signal.SIGKILL)  # a replica dies mid-training: no cleanup runs, nothing releases
        holder.wait()
        assert slots.busy() == 1  # its lease still runs
        read_until(waiter, "held")  # ...until it lapses
        assert slots.busy() == 1 and slots.waiting() == 0
    finally:
        kill_all([holder, waiter])


@pytest.mark.slow
def test_waiters_know_their_place_and_dead_waiters_leave_the_queue(redis_url, prefix):
    holder, queue = start_holder(redis_url, prefix), []
    try:
        read_until(holder, "held")
        for expected in range(3):  # three more runs queue up behind it, in order
            queue.append(start_holder(redis_url, prefix, run_id=f"run{expected}"))
            assert read_until(queue[-1], "ahead") == [f"ahead {expected}"]
        slots = RedisSlots(redis_url, 1, prefix=prefix)
        assert [slots.ahead(f"run{i}") for i in range(3)] == [0, 1, 2]  # what the Train page shows
        os.kill(queue[0].pid, signal.SIGKILL)  # the first waiter's replica is gone
        queue[0].wait()
        assert read_until(queue[1], "ahead") == ["ahead 0"]  # after its place lapsed
        assert read_until(queue[2], "ahead") == ["ahead 1"]
        release(holder)
        read_until(queue[1], "held")  # first come, first served
        assert queue[2].poll() is None
    finally:
        kill_all([holder, *queue])


def test_threads_of_one_process_never_exceed_the_limit(redis_url, prefix):
    slots = RedisSlots(redis_url, 2, prefix=prefix)
    running, peak, lock = [0], [0], threading.Lock()

    def run():
        with slots.hold(poll=0.02) as token:
            assert token is not None
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.15)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=run) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert peak[0] == 2 and running[0] == 0 and slots.busy() == 0


def test_a_run_stopped_while_waiting_gets_no_slot(redis_url, prefix):
    slots = RedisSlots(redis_url, 1, prefix=prefix)
    cancel = threading.Event()
    with slots.hold("first") as held:
        assert held is not None
        threading.Timer(0.3, cancel.set).start()
        t0 = time.monotonic()
        with slots.hold("second", cancel=cancel, poll=0.05) as second:
            assert second is None
        assert time.monotonic() - t0 < 5
        assert slots.waiting() == 0  # its place in the queue is gone
    assert slots.busy() == 0


def test_the_heartbeat_keeps_a_long_runs_slot(redis_url, prefix):
    slots = RedisSlots(redis_url, 1, lease=0.6, prefix=prefix)
    other = RedisSlots(redis_url, 1, lease=0.6, prefix=prefix)  # another machine
    with slots.hold("long"):
        time.sleep(2.0)  # more than three leases
        assert other.busy() == 1 and other.try_acquire() is None
    token = other.try_acquire()
    assert token is not None
    other.release(token)


def test_two_machines_share_one_limit(redis_url, prefix):
    a, b = RedisSlots(redis_url, 2, prefix=prefix), RedisSlots(redis_url, 2, prefix=prefix)
    ta, tb = a.try_acquire("a"), b.try_acquire("b")
    assert ta and tb and a.try_acquire("c") is None and b.busy() == 2
    a.release(ta)
    assert b.busy() == 1
    b.release(tb)


def test_the_app_keeps_its_slots_on_redis_when_its_url_is_set(tmp_path, monkeypatch, redis_url):
    from explorer import models, training
    from explorer.slots import TrainingSlots

    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    monkeypatch.setenv("VAE_EXPLORER_MAX_TRAINING", "3")
    monkeypatch.setenv("VAE_EXPLORER_REDIS_URL", redis_url)
    slots = training.slots()
    assert isinstance(slots, RedisSlots) and slots.n == 3
    with slots.hold("a"):
        assert RedisSlots(redis_url, 3).busy() == 1  # seen by any other replica, on any machine
    assert not (tmp_path / ".slots").exists()  # no lock files
    monkeypatch.setattr(models, "MODELS_DIR", tmp_path / "other")
    monkeypatch.delenv("VAE_EXPLORER_REDIS_URL")
    assert isinstance(training.slots(), TrainingSlots)  # without the URL: lock files, as before
    with pytest.raises(ConfigError, match="1 or more"):
        RedisSlots(redis_url, 0)


def test_a_redis_server_that_is_down_fails_the_run_with_a_message():
    from deploy.replicas import free_port

    slots = RedisSlots(f"redis://127.0.0.1:{free_port()}/0", 1, outage=0.5)  # rides out a restart, not more
    with pytest.raises(StoreUnavailable, match="cannot be reached"):
        with slots.hold("x"):
            pass
