"""How many training runs may run at once, across every replica of the app: a counting semaphore of lock files.

The shared models folder holds `.slots/slot-0.lock` … `slot-<N-1>.lock`; a run holds one of them locked
with `fcntl.flock` while it trains. The kernel drops a process's locks when it dies, so a replica that is
killed mid-run gives its slot back by itself: no stale lock files to clean. A run that finds no free slot
waits its turn in first-come order: it holds a locked ticket file `.slots/wait-<time>-<pid>-<run id>.ticket`,
and the live tickets older than its own are the runs ahead of it (the place in the queue the Train page shows).

    SLOTS = TrainingSlots(MODELS_DIR / ".slots", n)     # explorer/training.py: n = VAE_EXPLORER_MAX_TRAINING
    with SLOTS.hold(run_id):                            # waits for a slot, holds it for the block
        ...
    SLOTS.ahead(run_id)                                 # runs waiting ahead of this one

Locks need a local or NFSv4 filesystem (flock).
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vae_core.errors import ConfigError

POLL_SECONDS = 0.25


def _safe(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "", run_id)[:40]


def _try_lock(path: Path, mode: int = fcntl.LOCK_EX, create: bool = True) -> int | None:
    """An open fd holding a non-blocking flock on `path`, or None if someone else holds it."""
    fd = os.open(path, os.O_RDWR | (os.O_CREAT if create else 0), 0o666)
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
        return fd
    except BlockingIOError:
        os.close(fd)
        return None


class TrainingSlots:
    """n slots as lock files in `folder`; acquire one with `hold()`. Safe across threads and processes."""

    def __init__(self, folder: str | Path, n: int) -> None:
        if n < 1:
            raise ConfigError(f"the number of training slots must be 1 or more, not {n}")
        self.dir = Path(folder)
        self.n = n

    def _slot_paths(self) -> list[Path]:
        return [self.dir / f"slot-{i}.lock" for i in range(self.n)]

    def try_acquire(self) -> int | None:
        """A held slot's fd, or None if all N are taken."""
        self.dir.mkdir(parents=True, exist_ok=True)
        for path in self._slot_paths():
            fd = _try_lock(path)
            if fd is not None:
                return fd
        return None

    def busy(self) -> int:
        """How many slots are held now (by any process)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        taken = 0
        for path in self._slot_paths():
            fd = _try_lock(path, fcntl.LOCK_SH)
            if fd is None:
                taken += 1
            else:
                os.close(fd)
        return taken

    def live_tickets(self) -> list[Path]:
        """Waiting runs' tickets, oldest first; tickets of dead waiters are removed on the way."""
        live = []
        for ticket in sorted(self.dir.glob("wait-*.ticket")):
            try:
                fd = _try_lock(ticket, fcntl.LOCK_SH, create=False)
            except FileNotFoundError:
                continue  # its waiter got a slot meanwhile
            if fd is None:
                live.append(ticket)
            else:  # nobody holds it: its waiter died
                ticket.unlink(missing_ok=True)
                os.close(fd)
        return live

    def waiting(self) -> int:
        """How many runs wait for a slot."""
        self.dir.mkdir(parents=True, exist_ok=True)
        return len(self.live_tickets())

    def ahead(self, run_id: str) -> int:
        """Runs waiting ahead of this one (0 when it holds a slot, is first in line, or is unknown)."""
        if not self.dir.is_dir():
            return 0
        live = [t.name for t in self.live_tickets()]
        suffix = f"-{_safe(run_id)}.ticket"
        return next((i for i, name in enumerate(live) if name.endswith(suffix)), 0)

    def _take_ticket(self, run_id: str | None) -> tuple[int, Path]:
        # Locked under a private name, then renamed: nobody ever sees an unlocked ticket and removes it.
        tag = _safe(run_id) if run_id else secrets.token_hex(4)
        name = f"wait-{time.time_ns():020d}-{os.getpid():08d}-{tag}.ticket"
        tmp = self.dir / f".{name}"
        fd = _try_lock(tmp)
        os.rename(tmp, self.dir / name)
        return fd, self.dir / name

    @contextmanager
    def hold(
        self,
        run_id: str | None = None,
        cancel: threading.Event | None = None,
        waiting: Callable[[int], None] | None = None,
        poll: float = POLL_SECONDS,
    ) -> Iterator[int | None]:
        """Wait for a slot in first-come order and hold it for the block; yields None if `cancel` is set
        while waiting. `waiting(ahead)` is called whenever the number of runs ahead changes."""
        fd = self.try_acquire() if not self.waiting() else None
        if fd is None:
            fd = self._wait(run_id, cancel, waiting, poll)
        try:
            yield fd
        finally:
            if fd is not None:
                os.close(fd)  # closing the only fd releases the flock

    def _wait(self, run_id, cancel, waiting, poll) -> int | None:
        ticket_fd, ticket = self._take_ticket(run_id)
        last = None
        try:
            while cancel is None or not cancel.is_set():
                live = self.live_tickets()
                ahead = live.index(ticket) if ticket in live else 0
                if ahead != last and waiting is not None:
                    waiting(ahead)
                last = ahead
                if ahead == 0:
                    fd = self.try_acquire()
                    if fd is not None:
                        return fd
                time.sleep(poll)
            return None
        finally:
            ticket.unlink(missing_ok=True)
            os.close(ticket_fd)
