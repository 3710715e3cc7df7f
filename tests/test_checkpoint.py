"""Checkpoints: round trip, atomic writes, and refusal of every kind of bad file."""

import os
import struct

import pytest
import torch
from helpers import checkpoint_with_meta, evil_files
from safetensors.torch import save as st_save

from vae_core.checkpoint import FORMAT, MAX_CHECKPOINT_BYTES, from_bytes, load_checkpoint, save_checkpoint, to_bytes
from vae_core.errors import CheckpointError
from vae_core.model import VAE, VAEConfig


def test_round_trip_gives_identical_outputs(tmp_path):
    cfg = VAEConfig(
        input_shape=(1, 4, 4), hidden=(8,), latent_dim=3, likelihood="gaussian", gaussian_variance="learned"
    )
    model = VAE(cfg).eval()
    images = torch.randint(0, 256, (5, 1, 4, 4), dtype=torch.uint8)
    labels = torch.arange(5)
    path = save_checkpoint(
        tmp_path / "m.safetensors", model, {"dataset": {"name": "toy", "pixels": "continuous"}}, images, labels
    )
    ckpt = load_checkpoint(path)
    assert ckpt.config == cfg
    z = torch.randn(10, 3)
    assert torch.equal(ckpt.model.decode(z), model.decode(z))
    x = torch.rand(4, 16)
    assert all(torch.equal(a, b) for a, b in zip(ckpt.model.encode(x), model.encode(x)))
    assert torch.equal(ckpt.sample_images, images) and torch.equal(ckpt.sample_labels, labels)
    assert ckpt.meta["format"] == FORMAT and ckpt.meta["dataset"]["name"] == "toy"
    assert "torch" in ckpt.meta["versions"] and ckpt.meta["created"]
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temporary file left


def test_pickles_are_refused_without_running_them(tmp_path):
    marker, files = evil_files(tmp_path)
    for f in files:
        with pytest.raises(CheckpointError, match="not a vae_core checkpoint"):
            load_checkpoint(f)
    assert not marker.exists()


@pytest.mark.parametrize("case", ["empty", "short", "random", "truncated", "header_only", "foreign_safetensors"])
def test_damaged_and_foreign_files_are_refused(tmp_path, case):
    good = to_bytes(VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(8,))), {})
    data = {
        "empty": b"",
        "short": b"abc",
        "random": os.urandom(5000),
        "truncated": good[: len(good) // 2],
        "header_only": good[: 8 + struct.unpack("<Q", good[:8])[0]],
        "foreign_safetensors": st_save({"w": torch.zeros(3)}),
    }[case]
    path = tmp_path / f"{case}.safetensors"
    path.write_bytes(data)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)


def test_mismatched_architecture_format_and_nan_weights(tmp_path):
    model = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(8,)))
    other = VAEConfig(input_shape=(1, 4, 4), hidden=(16,)).to_dict()
    with pytest.raises(CheckpointError, match="has shape"):
        from_bytes(checkpoint_with_meta(model, config=other))
    with pytest.raises(CheckpointError, match="not supported"):
        from_bytes(checkpoint_with_meta(model, format="vae_core.checkpoint/99"))
    with pytest.raises(CheckpointError, match="config is invalid"):
        from_bytes(checkpoint_with_meta(model, config={**model.config.to_dict(), "latent_dim": -2}))
    with torch.no_grad():
        model.dec_out.weight[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="NaN"):
        from_bytes(checkpoint_with_meta(model))
    with pytest.raises(CheckpointError, match="NaN"):
        save_checkpoint(tmp_path / "nan.safetensors", model, {})
    assert not list(tmp_path.iterdir())


def test_oversized_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.safetensors"
    with open(big, "wb") as f:
        f.truncate(MAX_CHECKPOINT_BYTES + 1)
    with pytest.raises(CheckpointError, match="MiB limit"):
        load_checkpoint(big)
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(tmp_path / "absent.safetensors")


def test_save_replaces_atomically(tmp_path):
    path = tmp_path / "m.safetensors"
    a = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(8,)))
    b = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(8,)))
    save_checkpoint(path, a, {})
    save_checkpoint(path, b, {})
    z = torch.randn(3, 2)
    assert torch.equal(load_checkpoint(path).model.decode(z), b.decode(z))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
