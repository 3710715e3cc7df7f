"""A training run in a background thread, owned by one session, polled by the Train page.

The thread never touches Streamlit: it writes progress into the job object, and the page
reads it. A stop request takes effect after the current epoch, and the model is saved.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vae_core.data import load_dataset
from vae_core.errors import VAECoreError
from vae_core.model import VAE, VAEConfig
from vae_core.pipeline import finish_training
from vae_core.train import EpochReport, TrainConfig, report_to_dict, train

from .slots import training_slot  # at most VAE_EXPLORER_MAX_TRAINING runs, across all replicas

APP_EVAL_K = 100  # importance samples for the final log p(x) of models trained in the app


@dataclass
class TrainingJob:
    dataset: str
    model_cfg: dict  # VAEConfig fields except input_shape (taken from the data)
    train_cfg: TrainConfig
    out: Path
    data_dir: str | None = None
    status: str = "queued"  # queued, loading, training, evaluating, done, failed
    message: str = ""
    history: list[dict] = field(default_factory=list)
    latents: list = field(default_factory=list)  # per epoch: (M, 2) float array of test mu
    labels: object = None
    class_names: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    queue_ahead: int = 0  # runs waiting ahead of this one for a training slot

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, name=f"train-{self.out.stem}", daemon=True)
        self.thread.start()

    def request_stop(self) -> None:
        self.stop_event.set()

    def _on_epoch(self, report: EpochReport) -> str | None:
        self.history.append(report_to_dict(report))
        if report.test_mu is not None:
            self.latents.append(report.test_mu[:, :2].numpy().copy())
        self.message = f"epoch {report.epoch}/{report.epochs}: test −ELBO {-report.test['elbo']:.2f} nats"
        return "stop" if self.stop_event.is_set() else None

    def _run(self) -> None:
        with training_slot(self.stop_event, lambda ahead: setattr(self, "queue_ahead", ahead)) as slot:
            if slot is None:  # stopped while waiting its turn
                self.status, self.message = "failed", "stopped before it started"
                return
            try:
                self.status = "loading"
                data = load_dataset(self.dataset, self.data_dir)
                n_show = min(2000, len(data.x_test))
                data.x_test, data.y_test = data.x_test[:n_show], data.y_test[:n_show]
                self.labels, self.class_names = data.y_test.numpy(), data.class_names
                model = VAE(VAEConfig(**self.model_cfg, input_shape=data.image_shape))
                self.status = "training"
                result = train(model, data, self.train_cfg, self._on_epoch, want_latents=True)
                self.status = "evaluating"
                finish_training(self.out, result, data, self.train_cfg, eval_k=APP_EVAL_K, command="app")
                stopped = " (stopped early)" if result.stopped_early else ""
                self.message = f"saved {self.out.stem} after {len(result.history)} epochs{stopped}"
                self.status = "done"
            except VAECoreError as exc:  # bad settings, missing data, divergence: the message says which
                self.status, self.message = "failed", str(exc)
            except torch.OutOfMemoryError:
                self.status = "failed"
                self.message = "out of GPU memory: choose a smaller batch size or train on the CPU, then start again"
            except Exception as exc:  # keep the app up; show what happened
                self.status = "failed"
                self.message = f"training failed unexpectedly: {exc!r}"
                traceback.print_exc()
