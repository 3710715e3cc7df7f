"""Training runs in background threads, registered for the whole server process.

A run is not owned by a browser session: it lives in a process-wide registry under a run id
(which the Train page also puts in the URL, `?run=<id>`), so a reloaded page, or the same
student in a new tab, finds it again, and it continues and is saved whatever the browser does.
The thread never touches Streamlit: it writes progress into the job object, and pages read it.
Messages are kept in both languages (`both(en, ko)`), because the thread has no session.

At most `VAE_EXPLORER_MAX_TRAINING` runs train at once (default 2); the others wait their turn
and can tell how many runs are ahead and about how long that is. Across server processes the
limit is kept by `explorer.slots` (lock files in MODELS_DIR/.slots); without it, by a
semaphore inside this process with the same interface.
"""

from __future__ import annotations

import heapq
import os
import threading
import time
import traceback
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vae_core.data import load_dataset
from vae_core.elbo import seeded_generator
from vae_core.errors import ConfigError, VAECoreError
from vae_core.model import VAE, VAEConfig
from vae_core.pipeline import finish_training
from vae_core.train import EpochReport, TrainConfig, report_to_dict, train

from . import models
from .i18n import Text, both

APP_EVAL_K = 100  # importance samples for the final log p(x) of models trained in the app
KEEP_FINISHED = 200  # finished jobs kept in the registry (for reloads), newest first


def max_training() -> int:
    try:
        return max(1, int(os.environ.get("VAE_EXPLORER_MAX_TRAINING", "2")))
    except ValueError:
        return 2


class LocalSlots:
    """A first-come first-served counting semaphore inside this process (fallback for explorer.slots)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._cond = threading.Condition()
        self._holders: set[str] = set()
        self._waiting: list[str] = []

    @contextmanager
    def hold(self, run_id: str):
        with self._cond:
            self._waiting.append(run_id)
            while len(self._holders) >= self.n or self._waiting[0] != run_id:
                self._cond.wait(1.0)
            self._waiting.pop(0)
            self._holders.add(run_id)
        try:
            yield
        finally:
            with self._cond:
                self._holders.discard(run_id)
                self._cond.notify_all()

    def ahead(self, run_id: str) -> int:
        """Runs waiting ahead of this one (0 when it holds a slot or is first in line)."""
        with self._cond:
            return self._waiting.index(run_id) if run_id in self._waiting else 0


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
    who: str  # display name of the trainer
    data_dir: str | None = None
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
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def request_stop(self) -> None:
        self.stop_event.set()

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
        with slots().hold(self.run_id):
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
                with _JOBS_LOCK:  # one save at a time in this process: names and quota stay consistent
                    out = self._save_path()
                    finish_training(out, result, data, self.train_cfg, eval_k=APP_EVAL_K, command="app")
                    models.describe(out, self.who)
                    models.enforce_quota(keep=(self.name,))
                self.out = out
                n = len(result.history)
                if result.stopped_early:
                    self.message = both(
                        "saved {m} after {n} epochs (stopped early)",
                        "{m} 저장됨: {n} 에폭 (일찍 멈춤)",
                        m=self.name,
                        n=n,
                    )
                else:
                    self.message = both("saved {m} after {n} epochs", "{m} 저장됨: {n} 에폭", m=self.name, n=n)
                self.status = "done"
            except VAECoreError as exc:  # bad settings, missing data, divergence: the detail says which
                self.status = "failed"
                self.message = both("training failed: {d}", "학습 실패: {d}", d=exc)
            except torch.OutOfMemoryError:
                self.status = "failed"
                self.message = both(
                    "out of GPU memory: choose a smaller batch size or train on the CPU, then start again",
                    "GPU 메모리가 부족합니다: 배치 크기를 줄이거나 CPU에서 학습한 뒤 다시 시작하세요",
                )
            except Exception as exc:  # keep the app up; show what happened
                self.status = "failed"
                self.message = both(
                    "training failed unexpectedly: {d!r}", "예상하지 못한 이유로 학습이 실패했습니다: {d!r}", d=exc
                )
                traceback.print_exc()


def submit(job: TrainingJob) -> TrainingJob:
    """Register the job for this process and start its thread. Raises ConfigError if the name is taken."""
    with _JOBS_LOCK:
        if models.name_taken(job.name) or any(j.name == job.name and j.running for j in _JOBS.values()):
            raise ConfigError(f"a model named {job.name!r} already exists or is being trained; choose another name")
        _JOBS[job.run_id] = job
        finished = [k for k, j in sorted(_JOBS.items(), key=lambda kv: -kv[1].submitted) if not j.running]
        for k in finished[KEEP_FINISHED:]:
            del _JOBS[k]
        job.thread = threading.Thread(target=job._run, name=f"train-{job.name}", daemon=True)
        job.thread.start()
    return job


def find(run_id: str | None) -> TrainingJob | None:
    with _JOBS_LOCK:
        return _JOBS.get(run_id) if run_id else None


def jobs_of(who: str) -> list[TrainingJob]:
    """This trainer's runs in this process, newest first (to find one after a reload)."""
    with _JOBS_LOCK:
        return sorted((j for j in _JOBS.values() if j.who == who), key=lambda j: -j.submitted)


def active_jobs() -> list[TrainingJob]:
    with _JOBS_LOCK:
        return sorted((j for j in _JOBS.values() if j.running), key=lambda j: j.submitted)
