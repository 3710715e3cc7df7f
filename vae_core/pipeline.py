"""After training: score the model on the test set and save a self-describing checkpoint.

Shared by the CLI and the app, so a model trained in either has the same file contents.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from .checkpoint import save_checkpoint
from .data import Dataset, eval_pixels
from .datasets import dataset_info
from .evaluate import evaluate
from .manifold import to_uint8
from .train import TrainConfig, TrainResult


def dataset_meta(data: Dataset, pixels: str) -> dict:
    meta = {
        "name": data.name,
        "pixels": pixels,
        "n_train": len(data.x_train),
        "n_test": len(data.x_test),
        "class_names": data.class_names,
        "source": data.source,
    }
    info = dataset_info(data.name)
    full = info.n_train if info else None
    if full and len(data.x_train) != full:
        meta["note"] = f"a subset: {len(data.x_train)} train / {len(data.x_test)} test images, not the full {data.name}"
    return meta


def test_pixels(data: Dataset, pixels: str) -> torch.Tensor:
    """The test set as the model saw it during training (dynamic -> one static draw)."""
    return eval_pixels(data.x_test, pixels)


def finish_training(
    out: str | Path,
    result: TrainResult,
    data: Dataset,
    cfg: TrainConfig,
    eval_k: int = 500,
    sample_size: int = 2000,
    command: str | None = None,
) -> tuple[Path, dict]:
    """Evaluate on the full test set, then save weights, metadata and a test sample to `out`."""
    model = result.model
    metrics = evaluate(model, test_pixels(data, cfg.pixels), k=eval_k)
    summary = {
        "test_elbo": None if model.config.autoencoder else metrics.elbo,  # no KL, so no bound
        "test_recon": metrics.recon,
        "test_kl": metrics.kl,
        "test_iw_ll": metrics.iw_ll,
        "k": metrics.k,
        "n_test": metrics.n,
        "kl_per_dim": metrics.kl_per_dim,
        "active_units": metrics.active_units,
        "train_seconds": result.seconds,
        "device": result.device,
        "precision": result.precision,
    }
    n = min(sample_size, len(data.x_test))
    images = to_uint8(data.x_test[:n]).view(n, *data.image_shape)
    meta = {
        "dataset": dataset_meta(data, cfg.pixels),
        "train": asdict(cfg),
        "history": result.history,
        "metrics": summary,
        "stopped_early": result.stopped_early,
        "command": command,
        "kind": model.config.kind,
        "beta": 0.0 if model.config.autoencoder else cfg.beta,  # the KL weight in effect
    }
    path = save_checkpoint(out, model.cpu(), meta, images, data.y_test[:n])
    return path, summary
