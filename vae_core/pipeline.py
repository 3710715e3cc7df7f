"""After training: score the model on the test set and save a self-describing checkpoint.

Shared by the CLI and the app, so a model trained in either has the same file contents.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import torch

from .checkpoint import save_checkpoint, to_levels
from .data import Dataset, eval_pixels, eval_protocol
from .datasets import dataset_info
from .evaluate import evaluate
from .scores import likelihood_is_normalised, score_name_for
from .train import TrainConfig, TrainResult


def dataset_meta(data: Dataset, pixels: str) -> dict:
    info = dataset_info(data.name)
    meta = {
        "name": data.name,
        "pixels": pixels,
        "n_train": len(data.x_train),
        "n_test": len(data.x_test),
        "class_names": data.class_names,
        "source": data.source,
        "levels": info.levels if info else 255,  # the stored sample's pixels are k / levels
    }
    if info and len(data.x_train) != info.n_train:
        meta["note"] = f"a subset: {len(data.x_train)} train / {len(data.x_test)} test images, not the full {data.name}"
    return meta


def test_pixels(data: Dataset, pixels: str) -> torch.Tensor:
    """The test set as the model is scored on it (see vae_core.data.eval_protocol)."""
    return eval_pixels(data.x_test, pixels)


DEFAULT_EVAL_K = 100  # the CLI's train command: importance samples for the final score ...
DEFAULT_EVAL_IMAGES = 2000  # ... on this many test images (the standard error is printed)
FULL_EVAL_K = 500  # the full evaluation (--full-eval, and the eval command's default)


def finish_training(
    out: str | Path,
    result: TrainResult,
    data: Dataset,
    cfg: TrainConfig,
    eval_k: int = FULL_EVAL_K,
    sample_size: int = 2000,
    command: str | None = None,
    eval_images: int | None = None,
    precision: str = "auto",
) -> tuple[Path, dict]:
    """Score on the test set (ELBO on all of it; the IW estimate on the first `eval_images`,
    default all), then save weights, metadata and a test sample to `out`."""
    model = result.model
    metrics = evaluate(model, test_pixels(data, cfg.pixels), k=eval_k, iw_images=eval_images, precision=precision)
    summary = {
        "test_elbo": metrics.elbo,
        "test_recon": metrics.recon,
        "test_kl": metrics.kl,
        "test_iw_ll": metrics.iw_ll,
        "test_iw_se": metrics.iw_se,
        "iw_n_test": metrics.iw_n,
        "iw_precision": metrics.precision,
        "score_name": score_name_for(model.config.likelihood, cfg.pixels),
        "normalised": likelihood_is_normalised(model.config.likelihood, cfg.pixels),
        "test_pixels": eval_protocol(cfg.pixels),
        "k": metrics.k,
        "n_test": metrics.n,
        "kl_per_dim": metrics.kl_per_dim,
        "active_units": metrics.active_units,
        "train_seconds": result.seconds,
        "device": result.device,
        "precision": result.precision,
    }
    meta = {
        "dataset": dataset_meta(data, cfg.pixels),
        "train": asdict(cfg),
        "history": result.history,
        "metrics": summary,
        "stopped_early": result.stopped_early,
        "command": command,
    }
    n = min(sample_size, len(data.x_test))
    images, meta["dataset"]["levels"] = to_levels(data.x_test[:n], meta["dataset"]["levels"])
    images = images.view(n, *data.image_shape)
    path = save_checkpoint(out, model.cpu(), meta, images, data.y_test[:n])
    return path, summary
