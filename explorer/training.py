"""Training runs in background threads, registered for the whole server process.

A run is not owned by a browser session: it lives in a process-wide registry under a run id
(which the Train page also puts in the URL, `?run=<id>`), so a reloaded page, or the same
student in a new tab, finds it again, and it continues and is saved whatever the browser does.
The thread never touches Streamlit: it writes progress into the job object, and pages read it.
Messages are kept in both languages (`both(en, ko)`), because the thread has no session.

At most `VAE_EXPLORER_MAX_TRAINING` runs train at once (default 2); the others wait their turn
and can tell how many runs are ahead and about how long that is. Across server processes the
limit is kept by `explorer.slots` (lock files in MODELS_DIR/.slots) or `explorer.redis_slots`;
without them, by a semaphore inside this process with the same interface (`LocalSlots`).

**A run belongs to the browser that started it.** A job keeps `owner`, the hash of that browser's
secret (explorer/owner.py); anyone with the run's link may watch it, but only `cancel(run_id,
secret)` with the owner's secret, or the teacher, stops it. Display names are labels only.

**Fair shares** (`submit` refuses with a bilingual `Refused`): at most `VAE_EXPLORER_RUNS_PER_STUDENT`
runs (default 1) per browser queued or training, and at most `VAE_EXPLORER_QUEUE_MAX` runs (default
20) waiting for a slot. Both are counted by this server process (a browser tab stays on one replica);
the queue also counts the waiters every replica sees in the shared slots.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vae_core.data import load_dataset
from vae_core.elbo import seeded_generator
from vae_core.errors import ConfigError, DataUnavailableError, VAECoreError
from vae_core.model import VAE, VAEConfig
from vae_core.pipeline import finish_training
from vae_core.train import EpochReport, TrainConfig, report_to_dict, train

from . import models, owner
from .i18n import Text, both
from .plain import public

log = logging.getLogger(__name__)

APP_EVAL_K = 100  # importance samples for the final log p(x) of models trained in the app
KEEP_FINISHED = 200  # finished jobs kept in the registry (for reloads), newest first


RUNS_PER_STUDENT_ENV = "VAE_EXPLORER_RUNS_PER_STUDENT"
QUEUE_MAX_ENV = "VAE_EXPLORER_QUEUE_MAX"


def _env_int(name: str, default: int, least: int) -> int:
    try:
        return max(least, int(os.environ.get(name, str(default))))
    except ValueError:
        return default


def max_training() -> int:
    return _env_int("VAE_EXPLORER_MAX_TRAINING", 2, 1)


def runs_per_student() -> int:
    """How many runs one browser may have queued or training at once (default 1)."""
    return _env_int(RUNS_PER_STUDENT_ENV, 1, 1)


def queue_max() -> int:
    """How many runs may wait for a training slot (default 20; 0: none wait, a run starts or is refused)."""
    return _env_int(QUEUE_MAX_ENV, 20, 0)


class Refused(ConfigError):
    """A run not started because of a fair-share limit; `text` says why in both languages."""

    def __init__(self, text: Text) -> None:
        super().__init__(text[0])
        self.text = text


class LocalSlots:
    """A first-come first-served counting semaphore inside this process (fallback for explorer.slots),
    with the interface of explorer.slots.TrainingSlots and explorer.redis_slots.RedisSlots."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ConfigError(f"the number of training slots must be 1 or more, not {n}")
        self.n = n
        self._cond = threading.Condition()
        self._holders: set[str] = set()
        self._waiting: list[str] = []

    @contextmanager
    def hold(
        self,
        run_id: str | None = None,
        cancel: threading.Event | None = None,
        waiting: Callable[[int], None] | None = None,
        poll: float = 0.25,
    ) -> Iterator[str | None]:
        """Wait for a slot in first-come order and hold it for the block; yields None if `cancel` is set
        while waiting. `waiting(ahead)` is called whenever the number of runs ahead changes."""
        token = f"{run_id or ''}:{uuid.uuid4().hex[:8]}"
        got, last = False, None
        with self._cond:
            self._waiting.append(token)
            try:
                while cancel is None or not cancel.is_set():
                    ahead = self._waiting.index(token)
                    if ahead == 0 and len(self._holders) < self.n:
                        got = True
                        break
                    if ahead != last and waiting is not None:
                        waiting(ahead)
                    last = ahead
                    self._cond.wait(poll)
            finally:
                self._waiting.remove(token)
                if got:
                    self._holders.add(token)
                self._cond.notify_all()
        if not got:
            yield None
            return
        try:
            yield token
        finally:
            with self._cond:
                self._holders.discard(token)
                self._cond.notify_all()

    def busy(self) -> int:
        with self._cond:
            return len(self._holders)

    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)

    def ahead(self, run_id: str) -> int:
        """Runs waiting ahead of this one (0 when it holds a slot, is first in line, or is unknown)."""
        mark = f"{run_id}:"
        with self._cond:
            return next((i for i, t in enumerate(self._waiting) if t.startswith(mark)), 0)


SLOTS = None  # set to a LocalSlots/TrainingSlots to override (tests); else one per models folder
_SLOTS_BY_DIR: dict = {}


def slots():
    """The training slots of the current models folder: cross-process (explorer.slots) where it exists."""
    if SLOTS is not None:
        return SLOTS
    folder = models.models_dir()
    if folder not in _SLOTS_BY_DIR:
        try:
            from .redis_slots import shared_slots  # lock files in MODELS_DIR/.slots, or Redis if its URL is set
        except ImportError:
            _SLOTS_BY_DIR[folder] = LocalSlots(max_training())
        else:
            _SLOTS_BY_DIR[folder] = shared_slots(folder, max_training())
    return _SLOTS_BY_DIR[folder]


_JOBS: dict[str, TrainingJob] = {}  # run id -> job, for every session of this process
_JOBS_LOCK = threading.Lock()
_EPOCH_SECONDS: dict[str, float] = {}  # dataset -> seconds per epoch of the last finished run


@dataclass
class TrainingJob:
    dataset: str
    model_cfg: dict  # VAEConfig fields except input_shape (taken from the data)
    train_cfg: TrainConfig
    name: str  # model name in the gallery
    who: str  # display name of the trainer: a label, never a key
    data_dir: str | None = None
    owner: str = ""  # owner.secret_hash of the browser that started it ("" for the CLI, benches and tests)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    status: str = "queued"  # queued, loading, training, evaluating, done, failed
    message: Text = ("", "")
    out: Path | None = None  # the saved checkpoint, once done
    history: list[dict] = field(default_factory=list)
    latents: list = field(default_factory=list)  # per epoch: (M, 2) float array of test mu
    labels: object = None
    class_names: list[str] = field(default_factory=list)
    submitted: float = field(default_factory=time.time)
    started: float | None = None  # when it got a training slot
    stop_event: threading.Event = field(default_factory=threading.Event)  # stop after this epoch / leave the queue
    stopped_by: str | None = None  # "owner" or "teacher", once either asked it to stop
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def request_stop(self) -> None:
        self.stop_event.set()

    def owned_by(self, secret: str | None) -> bool:
        """Whether `secret` is the secret of the browser that started this run."""
        return owner.owns(self.owner, secret)

    def seconds_per_epoch(self) -> float | None:
        """Measured on this run once it has epochs; before, from a run on the same data."""
        if self.started and self.history:
            return (time.time() - self.started) / len(self.history)
        with _JOBS_LOCK:
            seen = [
                j for j in _JOBS.values() if j is not self and j.dataset == self.dataset and j.started and j.history
            ]
        if seen:
            j = max(seen, key=lambda j: j.started)
            return (time.time() - j.started) / len(j.history)
        return _EPOCH_SECONDS.get(self.dataset)

    def remaining_seconds(self) -> float | None:
        """About how long until this run frees its slot (None when nothing is known yet)."""
        per_epoch = self.seconds_per_epoch()
        if per_epoch is None:
            return None
        return per_epoch * max(0, self.train_cfg.epochs - len(self.history))

    def place_in_queue(self) -> int:
        """1 for the next run to start, 2 for the one after, ...; 0 once it trains."""
        return slots().ahead(self.run_id) + 1 if self.status == "queued" else 0

    def estimated_wait(self) -> float | None:
        """Seconds until a slot is likely free for this run; None when unknown."""
        if self.status != "queued":
            return 0.0
        with _JOBS_LOCK:
            others = [j for j in _JOBS.values() if j is not self and j.running]
        busy = [j.remaining_seconds() for j in others if j.status != "queued"]
        ahead = sorted((j for j in others if j.status == "queued"), key=lambda j: j.submitted)[
            : slots().ahead(self.run_id)
        ]
        if any(t is None for t in busy) or any(j.remaining_seconds() is None for j in ahead):
            return None
        free = [0.0] * max(0, slots().n - len(busy)) + list(busy)  # when each slot frees, soonest first
        heapq.heapify(free)
        for j in ahead:
            heapq.heappush(free, heapq.heappop(free) + j.remaining_seconds())
        return free[0] if free else 0.0

    def _on_epoch(self, report: EpochReport) -> str | None:
        self.history.append(report_to_dict(report))
        if report.test_mu is not None:
            self.latents.append(report.test_mu[:, :2].numpy().copy())
        self.message = both(
            "epoch {e}/{n}: test −ELBO (loss) {v:.2f} nats",
            "에폭 {e}/{n}: 테스트 −ELBO (손실) {v:.2f} nats",
            e=report.epoch,
            n=report.epochs,
            v=-report.test["elbo"],
        )
        return "stop" if self.stop_event.is_set() else None

    def _save_path(self) -> Path:
        """The model's file; if another server took the name meanwhile, the first free name-2, name-3, ..."""
        for i in range(1, 100):
            name = self.name if i == 1 else f"{self.name[:36]}-{i}"
            if not models.name_taken(name):
                self.name = name
                return models.model_path(name)
        raise VAECoreError(f"no free name like {self.name!r} in the models folder")

    def _run(self) -> None:
        self.message = both("waiting for a free training slot", "학습 자리가 나기를 기다리는 중")
        with slots().hold(self.run_id, cancel=self.stop_event) as held:
            if held is None:  # asked to stop while it waited: it leaves the queue, nothing was trained
                self.status = "cancelled"
                self.message = (
                    both("cancelled by the teacher before it started", "시작하기 전에 교사가 취소했습니다")
                    if self.stopped_by == "teacher"
                    else both("cancelled before it started", "시작하기 전에 취소했습니다")
                )
                return
            self.started = time.time()
            try:
                self.status = "loading"
                self.message = both("loading {d}", "{d} 불러오는 중", d=self.dataset)
                data = load_dataset(self.dataset, self.data_dir)
                n_show = min(2000, len(data.x_test))
                data.x_test, data.y_test = data.x_test[:n_show], data.y_test[:n_show]
                self.labels, self.class_names = data.y_test.numpy(), data.class_names
                model_cfg = VAEConfig(**self.model_cfg, input_shape=data.image_shape)
                model = VAE(model_cfg, generator=seeded_generator(self.train_cfg.seed))
                self.status = "training"
                t0 = time.time()
                result = train(model, data, self.train_cfg, self._on_epoch, want_latents=True)
                _EPOCH_SECONDS[self.dataset] = (time.time() - t0) / max(1, len(result.history))
                self.status = "evaluating"
                self.message = both("scoring on the test set", "테스트 세트로 평가하는 중")
                with _JOBS_LOCK, models.quota_lock():  # one save at a time: names and quota stay consistent
                    out = self._save_path()
                    finish_training(out, result, data, self.train_cfg, eval_k=APP_EVAL_K, command="app")
                    models.describe(out, self.who, owner=self.owner or None)  # the quota share counts by it
                    models.admit(self.name)  # or QuotaFull: the new model is not kept, nothing else deleted
                self.out = out
                n = len(result.history)
                if result.stopped_early and self.stopped_by == "teacher":
                    self.message = both(
                        "saved {m} after {n} epochs (stopped by the teacher)",
                        "{m} 저장됨: {n} 에폭 (교사가 멈춤)",
                        m=self.name,
                        n=n,
                    )
                elif result.stopped_early:
                    self.message = both(
                        "saved {m} after {n} epochs (stopped early)",
                        "{m} 저장됨: {n} 에폭 (일찍 멈춤)",
                        m=self.name,
                        n=n,
                    )
                else:
                    self.message = both("saved {m} after {n} epochs", "{m} 저장됨: {n} 에폭", m=self.name, n=n)
                self.status = "done"
            except models.QuotaFull as exc:
                self.status = "failed"
                self.message = exc.text
            except DataUnavailableError as exc:  # the folders searched are the server's: the log has them
                log.warning("run %s: %s", self.run_id, exc)
                self.status = "failed"
                self.message = both(
                    "training failed: the {d} dataset is not on this server and cannot be downloaded here. Ask "
                    "whoever runs the server to install it, or choose another dataset.",
                    "학습 실패: 이 서버에 {d} 데이터셋이 없고 여기서 내려받을 수도 없습니다. 서버를 운영하는 사람에게 "
                    "설치를 부탁하거나 다른 데이터셋을 고르세요.",
                    d=self.dataset,
                )
            except VAECoreError as exc:  # bad settings, divergence: the detail says which (no server paths)
                log.warning("run %s: %s", self.run_id, exc)
                self.status = "failed"
                self.message = both("training failed: {d}", "학습 실패: {d}", d=public(exc))
            except torch.OutOfMemoryError:
                self.status = "failed"
                self.message = both(
                    "out of GPU memory: choose a smaller batch size or train on the CPU, then start again",
                    "GPU 메모리가 부족합니다: 배치 크기를 줄이거나 CPU에서 학습한 뒤 다시 시작하세요",
                )
            except Exception as exc:  # keep the app up; show what happened
                self.status = "failed"
                self.message = both(
                    "training failed unexpectedly; the server's log has the detail",
                    "예상하지 못한 이유로 학습이 실패했습니다. 자세한 내용은 서버 로그에 있습니다",
                )
                log.exception("run %s failed unexpectedly (%s)", self.run_id, type(exc).__name__)


def _fair_share(job: TrainingJob, teacher: bool) -> None:
    """Refuse the job if its browser has its share of runs, or the queue is full. Called under _JOBS_LOCK."""
    limit = runs_per_student()
    mine = [j for j in _JOBS.values() if j.running and job.owner and j.owner == job.owner]
    if job.owner and not teacher and len(mine) >= limit:
        raise Refused(
            both(
                "Not started: you already have {n} run(s) queued or training, and each student may have {k} at "
                "a time. Wait until it finishes, or stop it, then start again.",
                "시작하지 않았습니다: 이미 대기 중이거나 학습 중인 실행이 {n}개 있습니다. 학생마다 한 번에 {k}개까지 "
                "할 수 있습니다. 끝날 때까지 기다리거나 멈춘 뒤 다시 시작하세요.",
                n=len(mine),
                k=limit,
            )
        )
    s = slots()
    queued = max(s.waiting(), sum(1 for j in _JOBS.values() if j.running and j.status == "queued"))
    cap = queue_max()
    if queued >= cap and (queued > 0 or s.busy() >= s.n):
        raise Refused(
            both(
                "Not started: the training queue is full ({q} runs are waiting, at most {c}). Try again in a few "
                "minutes, when some have finished.",
                "시작하지 않았습니다: 학습 대기열이 가득 찼습니다(대기 {q}개, 최대 {c}개). 몇 분 뒤 앞선 실행이 "
                "끝나면 다시 시도하세요.",
                q=queued,
                c=cap,
            )
        )


def submit(job: TrainingJob, *, teacher: bool = False) -> TrainingJob:
    """Register the job for this process and start its thread. Raises ConfigError if the name is taken,
    and Refused (a ConfigError) when the job's browser has its share of runs or the queue is full
    (the teacher is not held to the share per student)."""
    with _JOBS_LOCK:
        if models.name_taken(job.name) or any(j.name == job.name and j.running for j in _JOBS.values()):
            raise ConfigError(f"a model named {job.name!r} already exists or is being trained; choose another name")
        _fair_share(job, teacher)
        _JOBS[job.run_id] = job
        finished = [k for k, j in sorted(_JOBS.items(), key=lambda kv: -kv[1].submitted) if not j.running]
        for k in finished[KEEP_FINISHED:]:
            del _JOBS[k]
        job.thread = threading.Thread(target=job._run, name=f"train-{job.name}", daemon=True)
        job.thread.start()
    return job


def cancel(run_id: str | None, secret: str | None = None, *, teacher: bool = False) -> bool:
    """Stop a run: a queued one leaves the queue, a training one stops after this epoch and is saved.
    Only the browser that started it (its `secret`) or the teacher may; returns whether it was asked to."""
    job = find(run_id)
    if job is None or not job.running:
        return False
    if job.owned_by(secret):
        job.stopped_by = job.stopped_by or "owner"
    elif teacher:
        job.stopped_by = "teacher"
    else:
        return False
    job.request_stop()
    return True


def find(run_id: str | None) -> TrainingJob | None:
    with _JOBS_LOCK:
        return _JOBS.get(run_id) if run_id else None


def jobs_of(owner_hash: str | None) -> list[TrainingJob]:
    """The runs the browser with this owner hash started in this process, newest first (found after a reload)."""
    if not owner_hash:
        return []
    with _JOBS_LOCK:
        return sorted((j for j in _JOBS.values() if j.owner == owner_hash), key=lambda j: -j.submitted)


def active_jobs() -> list[TrainingJob]:
    with _JOBS_LOCK:
        return sorted((j for j in _JOBS.values() if j.running), key=lambda j: j.submitted)
