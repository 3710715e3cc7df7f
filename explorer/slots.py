"""How many training runs may run at once, across every replica of the app: a counting semaphore of lock files.

The shared models folder holds `.slots/slot-0.lock` … `slot-<N-1>.lock`; a run holds one of them locked
with `fcntl.flock` while it trains. The kernel drops a process's locks when it dies, so a replica that is
killed mid-run gives its slot back by itself: no stale lock files to clean. A run that finds no free slot
waits its turn in first-come order: it holds a locked ticket file `.slots/wait-<time>-<pid>-<random>.ticket`,
and the live tickets older than its own are the runs ahead of it (the queue position the Train page shows).

    with training_slot(cancel=job.stop_event, waiting=lambda ahead: ...) as slot:
        if slot is None: ...  # cancelled while waiting
        ...  # train

N comes from `VAE_EXPLORER_MAX_TRAINING` (default 2); the folder from the shared models folder
(`explorer.models.MODELS_DIR`, `VAE_EXPLORER_MODELS`). Locks need a local or NFSv4 filesystem (flock).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from vae_core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MAX_TRAINING = 2
POLL_SECONDS = 0.25


def max_training() -> int:
    raw = os.environ.get("VAE_EXPLORER_MAX_TRAINING", str(DEFAULT_MAX_TRAINING))
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"VAE_EXPLORER_MAX_TRAINING={raw!r} must be a whole number of runs, 1 or more (default 2)")
    return n


def models_dir() -> Path:
    """The shared models folder (explorer.models.MODELS_DIR where it exists, else $VAE_EXPLORER_MODELS)."""
    from explorer import models

    if hasattr(models, "models_dir"):
        return Path(models.models_dir())
    folder = getattr(models, "MODELS_DIR", None)
    return Path(folder or os.environ.get("VAE_EXPLORER_MODELS", ROOT / "models"))


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
    """N slots in `folder/.slots`; acquire one with `hold()`. Safe across threads and processes."""

    def __init__(self, folder: str | Path, limit: int) -> None:
        if limit < 1:
            raise ConfigError(f"the number of training slots must be 1 or more, not {limit}")
        self.dir = Path(folder) / ".slots"
        self.limit = limit

    def _slot_paths(self) -> list[Path]:
        return [self.dir / f"slot-{i}.lock" for i in range(self.limit)]

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

    def _take_ticket(self) -> tuple[int, Path]:
        # Locked under a private name, then renamed: nobody ever sees an unlocked ticket and removes it.
        name = f"wait-{time.time_ns():020d}-{os.getpid():08d}-{secrets.token_hex(4)}.ticket"
        tmp = self.dir / f".{name}"
        fd = _try_lock(tmp)
        os.rename(tmp, self.dir / name)
        return fd, self.dir / name

    @contextmanager
    def hold(
        self,
        cancel: threading.Event | None = None,
        waiting: Callable[[int], None] | None = None,
        poll: float = POLL_SECONDS,
    ) -> Iterator[int | None]:
        """Wait for a slot in first-come order and hold it for the block; yields None if `cancel` is set
        while waiting. `waiting(ahead)` is called whenever the number of runs ahead changes."""
        fd = self.try_acquire() if not self.waiting() else None
        if fd is None:
            fd = self._wait(cancel, waiting, poll)
        try:
            yield fd
        finally:
            if fd is not None:
                os.close(fd)  # closing the only fd releases the flock

    def _wait(self, cancel, waiting, poll) -> int | None:
        ticket_fd, ticket = self._take_ticket()
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


def shared_slots() -> TrainingSlots:
    """The app's slots: in the shared models folder, N from VAE_EXPLORER_MAX_TRAINING."""
    return TrainingSlots(models_dir(), max_training())


@contextmanager
def training_slot(cancel: threading.Event | None = None, waiting: Callable[[int], None] | None = None):
    """Hold one of the app's training slots for the block (None if cancelled while waiting)."""
    with shared_slots().hold(cancel, waiting) as fd:
        yield fd
