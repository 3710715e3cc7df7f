"""Shared fixtures: small real data and a briefly trained model, built once per session. Helpers that are
not fixtures are in tests/helpers.py."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from helpers import SHIPPED  # noqa: E402

from vae_core.data import load_dataset  # noqa: E402
from vae_core.model import VAE, VAEConfig  # noqa: E402
from vae_core.train import TrainConfig, train  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))
os.environ.setdefault("VAE_CORE_OFFLINE", "1")  # tests never download datasets


@pytest.fixture(scope="session")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="session")
def trained_digits(digits):
    """A small digits VAE trained for a few seconds: good enough for property tests."""
    model = VAE(VAEConfig(input_shape=digits.image_shape, hidden=(64, 32)))
    cfg = TrainConfig(epochs=15, batch_size=64, lr=3e-3, device="cpu", seed=0)
    result = train(model, digits, cfg)
    return result


@pytest.fixture(scope="session")
def shipped_digits():
    """The shipped digits checkpoint: a well-trained model whose posterior has not collapsed."""
    from vae_core.checkpoint import load_checkpoint

    return load_checkpoint(SHIPPED / "digits.safetensors").model


@pytest.fixture
def tiny_model():
    torch.manual_seed(0)
    return VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(8,), latent_dim=2)).eval()


@pytest.fixture(autouse=True)
def models_dir(tmp_path, monkeypatch):
    """Every test gets its own empty models folder (the app's MODELS_DIR), never the repository's."""
    import explorer.models as models

    folder = tmp_path / "models"
    monkeypatch.setattr(models, "MODELS_DIR", folder)
    monkeypatch.setenv("VAE_EXPLORER_MODELS", str(folder))  # for servers and subprocesses a test starts
    monkeypatch.delenv("VAE_EXPLORER_QUOTA_MB", raising=False)
    return folder
