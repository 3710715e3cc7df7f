"""Training slots shared by every replica: a counting semaphore of flock'ed files (explorer/slots.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from helpers import wait_for

from explorer.slots import TrainingSlots
from vae_core.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A separate process (like another replica) that takes a slot, says so, and holds it until told.
HOLDER = """
import sys, threading
sys.path.insert(0, {root!r})
from explorer.slots import TrainingSlots
slots = TrainingSlots({folder!r}, {limit})
with slots.hold(sys.argv[1], waiting=lambda ahead: print("ahead", ahead, flush=True)) as fd:
    print("held", flush=True)
    sys.stdin.readline()
print("released", flush=True)
"""


def start_holder(folder, limit=1, run_id="run") -> subprocess.Popen:
    code = HOLDER.format(root=ROOT, folder=str(folder), limit=limit)
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


@pytest.mark.slow
def test_second_process_waits_for_the_only_slot_then_gets_it(tmp_path):
    slots = TrainingSlots(tmp_path, 1)
    first = start_holder(tmp_path)
    second = None
    try:
        read_until(first, "held")
        second = start_holder(tmp_path)
        assert read_until(second, "ahead") == ["ahead 0"]  # first in the queue, but the slot is taken
        assert wait_for(lambda: slots.waiting() == 1)
        assert slots.busy() == 1
        time.sleep(1.0)  # it keeps waiting while the slot is held
        assert second.poll() is None and slots.waiting() == 1
        first.stdin.write("\n")
        first.stdin.flush()
        read_until(first, "released")
        read_until(second, "held")
        assert slots.waiting() == 0 and slots.busy() == 1
    finally:
        kill_all([first, second])


@pytest.mark.slow
def test_a_killed_holder_gives_its_slot_back(tmp_path):
    slots = TrainingSlots(tmp_path, 1)
    holder = start_holder(tmp_path)
    waiter = None
    try:
        read_until(holder, "held")
        waiter = start_holder(tmp_path)
        read_until(waiter, "ahead")
        os.kill(holder.pid, signal.SIGKILL)  # a replica dies mid-training: no cleanup runs
        holder.wait()
        read_until(waiter, "held")
        assert slots.busy() == 1
    finally:
        kill_all([holder, waiter])


@pytest.mark.slow
def test_waiters_know_their_place_and_dead_waiters_leave_the_queue(tmp_path):
    holder, queue = start_holder(tmp_path), []
    try:
        read_until(holder, "held")
        for expected in range(3):  # three more runs queue up behind it, in order
            queue.append(start_holder(tmp_path, run_id=f"run{expected}"))
            assert read_until(queue[-1], "ahead") == [f"ahead {expected}"]
        slots = TrainingSlots(tmp_path, 1)
        assert [slots.ahead(f"run{i}") for i in range(3)] == [0, 1, 2]  # what the Train page shows
        os.kill(queue[0].pid, signal.SIGKILL)  # the first waiter's tab and replica are gone
        queue[0].wait()
        assert read_until(queue[1], "ahead") == ["ahead 0"]
        assert read_until(queue[2], "ahead") == ["ahead 1"]
        holder.stdin.write("\n")
        holder.stdin.flush()
        read_until(queue[1], "held")  # first come, first served
        assert queue[2].poll() is None
    finally:
        kill_all([holder, *queue])


def test_threads_of_one_process_never_exceed_the_limit(tmp_path):
    slots = TrainingSlots(tmp_path, 2)
    running, peak, lock = [0], [0], threading.Lock()

    def run():
        with slots.hold(poll=0.02) as fd:
            assert fd is not None
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
    assert peak[0] == 2 and running[0] == 0


def test_a_run_stopped_while_waiting_gets_no_slot(tmp_path):
    slots = TrainingSlots(tmp_path, 1)
    cancel = threading.Event()
    with slots.hold() as held:
        assert held is not None
        threading.Timer(0.3, cancel.set).start()
        t0 = time.monotonic()
        with slots.hold(cancel=cancel, poll=0.05) as second:
            assert second is None
        assert time.monotonic() - t0 < 5
        assert slots.waiting() == 0  # its ticket is gone


def test_the_app_keeps_its_slots_in_the_shared_models_folder(tmp_path, monkeypatch):
    from explorer import models, training

    monkeypatch.setattr(models, "MODELS_DIR", tmp_path)
    monkeypatch.setenv("VAE_EXPLORER_MAX_TRAINING", "3")
    make = getattr(training, "slots", None) or training._make_slots  # the app's slots for the current folder
    slots = make()
    assert isinstance(slots, TrainingSlots) and slots.n == 3 and slots.dir == tmp_path / ".slots"
    with slots.hold("a"):
        assert TrainingSlots(tmp_path / ".slots", 3).busy() == 1  # seen by any other process
    with pytest.raises(ConfigError, match="1 or more"):
        TrainingSlots(tmp_path, 0)
