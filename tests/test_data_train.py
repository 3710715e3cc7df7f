"""Datasets from offline files, and the training loop on real data."""

import gzip
import shutil

import pytest
import torch
from helpers import MNIST_10K

from vae_core.data import binarize, load_dataset, read_idx
from vae_core.errors import ConfigError, DataUnavailableError, TrainingDiverged
from vae_core.model import VAE, VAEConfig
from vae_core.train import FLUSH_EVERY, TrainConfig, flush_tiny_optimizer_state, kl_weight, learning_rate, train

needs_mnist = pytest.mark.skipif(not MNIST_10K.is_dir(), reason="../shared/data/mnist-10k is not beside this checkout")


def test_digits_shapes_and_range(digits):
    assert digits.x_train.shape == (1437, 64) and digits.x_test.shape == (360, 64)
    assert digits.image_shape == (1, 8, 8)
    assert 0 <= digits.x_train.min() and digits.x_train.max() <= 1
    assert set(digits.y_train.tolist()) == set(range(10))


@needs_mnist
def test_mnist_from_plain_folder_and_torchvision_layout(tmp_path):
    plain = load_dataset("mnist", MNIST_10K)
    assert plain.x_train.shape == (8000, 784) and plain.x_test.shape == (2000, 784)
    assert plain.image_shape == (1, 28, 28) and plain.x_train.max() == 1.0
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for f in MNIST_10K.glob("*-ubyte.gz"):  # torchvision keeps them unpacked
        with gzip.open(f) as src, open(raw / f.name[:-3], "wb") as dst:
            shutil.copyfileobj(src, dst)
    tv = load_dataset("mnist", tmp_path)
    assert torch.equal(tv.x_test, plain.x_test) and torch.equal(tv.y_train, plain.y_train)


def test_missing_dataset_names_it_where_and_how(tmp_path):
    with pytest.raises(DataUnavailableError) as err:
        load_dataset("kmnist", tmp_path / "nowhere", download=False)
    msg = str(err.value)
    assert "kmnist" in msg and str(tmp_path / "nowhere") in msg and "To get it" in msg
    with pytest.raises(DataUnavailableError, match="unknown dataset"):
        load_dataset("cifar")


def test_truncated_idx_file_is_refused(tmp_path):
    bad = tmp_path / "train-images-idx3-ubyte"
    bad.write_bytes(bytes([0, 0, 8, 3]) + (100).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\0" * 50)
    with pytest.raises(DataUnavailableError, match="truncated"):
        read_idx(bad)


def test_binarisation_modes():
    x = torch.rand(100, 16)
    assert torch.equal(binarize(x, "continuous"), x)
    assert set(binarize(x, "static").unique().tolist()) <= {0.0, 1.0}
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(1)
    d1, d2 = binarize(x, "dynamic", g1), binarize(x, "dynamic", g2)
    assert set(d1.unique().tolist()) <= {0.0, 1.0} and not torch.equal(d1, d2)


@pytest.mark.slow
def test_short_training_on_digits_learns(trained_digits):
    first, last = trained_digits.history[0], trained_digits.history[-1]
    # An untrained model sits near 64 * log 2 = 44 nats; a few seconds of training gets well below.
    assert -last["test"]["elbo"] < 32.0
    assert last["test"]["elbo"] > first["test"]["elbo"]
    assert len(trained_digits.history) == 15


def _small(digits, **kw):
    model = VAE(VAEConfig(input_shape=digits.image_shape, hidden=(16,)))
    return model, TrainConfig(**{"epochs": 2, "batch_size": 128, "device": "cpu", **kw})


def test_training_is_reproducible_with_a_seed(digits):
    runs = []
    for _ in range(2):
        torch.manual_seed(123)  # a different global state must not matter
        model, cfg = _small(digits, seed=7)
        train(model, digits, cfg)
        runs.append(model.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])


def test_callback_sees_latents_and_can_stop(digits):
    model, cfg = _small(digits, epochs=5)
    seen = []

    def cb(report):
        seen.append(report)
        return "stop" if report.epoch == 2 else None

    result = train(model, digits, cfg, cb, want_latents=True)
    assert [r.epoch for r in seen] == [1, 2] and result.stopped_early
    assert seen[0].test_mu.shape == (360, 2)
    assert set(seen[0].train) == {"recon", "kl", "elbo"}


@pytest.mark.parametrize("estimator,pixels", [("mc", "dynamic"), ("analytic", "static")])
def test_estimator_and_pixel_options_train(digits, estimator, pixels):
    model, cfg = _small(digits, estimator=estimator, pixels=pixels, n_samples=2)
    result = train(model, digits, cfg)
    assert all(torch.isfinite(torch.tensor(h["test"]["elbo"])) for h in result.history)


def test_divergence_stops_and_keeps_last_good_weights(digits):
    model, cfg = _small(digits, lr=1e9, epochs=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(TrainingDiverged, match="diverged in epoch 1"):
        train(model, digits, cfg)
    after = model.state_dict()
    assert all(torch.isfinite(v).all() for v in after.values())
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.parametrize(
    "bad",
    [
        dict(epochs=0),
        dict(lr=-1.0),
        dict(batch_size=5000),
        dict(beta=-1.0),
        dict(estimator="iwae"),
        dict(n_samples=0),
        dict(device="tpu"),
    ],
)
def test_bad_hyperparameters_are_refused(digits, bad):
    with pytest.raises(ConfigError):  # at construction (the config checks itself) or, for sizes, in train()
        model, cfg = _small(digits, **bad)
        train(model, digits, cfg)


def test_kl_warmup_and_cosine_schedule():
    cfg = TrainConfig(epochs=10, beta=2.0, warmup_epochs=4, lr=1e-3, lr_final_frac=0.1)
    assert [kl_weight(cfg, e) for e in (1, 2, 3, 4, 5, 9)] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0]  # starts at 0
    one = TrainConfig(epochs=3, beta=1.0, warmup_epochs=1)  # W = 1: one epoch without the KL term
    assert [kl_weight(one, e) for e in (1, 2, 3)] == [0.0, 1.0, 1.0]
    assert kl_weight(TrainConfig(beta=3.0), 1) == 3.0  # no warm-up: beta from the start
    assert learning_rate(cfg, 1) == pytest.approx(1e-3) and learning_rate(cfg, 10) == pytest.approx(1e-4)
    assert learning_rate(cfg, 5) < learning_rate(cfg, 4)


@pytest.mark.slow
def test_cpu_bf16_path_matches_float32_within_noise(digits):
    final = {}
    for setting in ("on", "off"):
        model = VAE(VAEConfig(input_shape=digits.image_shape, hidden=(64, 32)))
        cfg = TrainConfig(epochs=10, batch_size=64, lr=3e-3, device="cpu", cpu_bf16=setting, seed=0)
        result = train(model, digits, cfg)
        assert result.precision == ("bf16 compute, float32 weights" if setting == "on" else "float32")
        assert all(p.dtype == torch.float32 for p in model.parameters())
        final[setting] = result.history[-1]["test"]["elbo"]
    assert abs(final["on"] - final["off"]) < 1.5, final


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_graph_training_matches_eager(digits):
    results = {}
    for graph in (True, False):
        model = VAE(VAEConfig(input_shape=digits.image_shape, hidden=(64, 32)))
        cfg = TrainConfig(epochs=20, batch_size=64, lr=3e-3, device="cuda", cuda_graph=graph, seed=0)
        results[graph] = train(model, digits, cfg).history[-1]["test"]["elbo"]
    assert abs(results[True] - results[False]) < 1.0, results


def _adam_run(flush: bool, steps: int = 900) -> tuple[torch.Tensor, int]:
    """Adam on a weight whose gradient is 0 after 20 steps (a dead unit): its exp_avg decays by 0.9
    a step into float32's subnormal range unless the trainer's flush runs every FLUSH_EVERY steps."""
    gen = torch.Generator().manual_seed(0)
    w = torch.nn.Parameter(torch.randn(4096, generator=gen))
    opt = torch.optim.Adam([w], lr=1e-3, fused=True)
    tiny = torch.finfo(torch.float32).tiny
    most_subnormal = 0
    for s in range(steps):
        w.grad = torch.randn(4096, generator=gen) * 1e-3 if s < 20 else torch.zeros(4096)
        opt.step()
        if flush and (s + 1) % FLUSH_EVERY == 0:
            flush_tiny_optimizer_state(opt)
        m = opt.state[w]["exp_avg"]
        most_subnormal = max(most_subnormal, int(((m.abs() < tiny) & (m != 0)).sum()))
    return w.detach().clone(), most_subnormal


def test_flushing_tiny_adam_moments_keeps_them_normal_and_the_weights_unchanged():
    plain, subnormal_plain = _adam_run(flush=False)
    flushed, subnormal_flushed = _adam_run(flush=True)
    assert subnormal_plain > 1000  # the slow case exists without the flush
    assert subnormal_flushed == 0  # between two flushes no moment reaches the subnormal range
    assert torch.allclose(plain, flushed, rtol=0, atol=1e-12)  # the weights' trajectory is the same


def test_flush_zeroes_only_what_is_below_the_floor():
    w = torch.nn.Parameter(torch.zeros(4))
    opt = torch.optim.Adam([w])
    w.grad = torch.ones(4)
    opt.step()
    opt.state[w]["exp_avg"].copy_(torch.tensor([1e-3, 1e-29, 1e-31, 0.0]))
    assert flush_tiny_optimizer_state(opt, floor=1e-30) == 1
    assert opt.state[w]["exp_avg"].tolist() == pytest.approx([1e-3, 1e-29, 0.0, 0.0], rel=1e-6, abs=0)
