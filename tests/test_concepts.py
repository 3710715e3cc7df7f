"""The Concepts pages' maths in vae_core: estimators A vs B, the textbook loss, legible mosaics,
the reparameterisation's gradients."""

import math

import numpy as np
import pytest
import torch

from vae_core.concepts import (
    draw_eps,
    gaussian_neg_elbo,
    reparam_gradients,
    reparameterise,
    textbook_constants,
    textbook_loss,
)
from vae_core.elbo import kl_std_normal, recon_log_prob
from vae_core.errors import InputError
from vae_core.estimators import measure
from vae_core.manifold import GAP_VALUE, legible_scale, legible_tile, tile
from vae_core.model import VAE, VAEConfig


def _batch(d=16, b=6, latent=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((b, d), generator=g)
    mu, logvar = torch.randn((b, latent), generator=g), torch.randn((b, latent), generator=g)
    logits = torch.randn((b, d), generator=g)
    return x, logits, mu, logvar


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_textbook_loss_is_twice_the_unit_variance_negative_elbo_up_to_a_constant(seed):
    x, logits, mu, logvar = _batch(seed=seed)
    model = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(8,), latent_dim=3, likelihood="gaussian", gaussian_std=1.0))
    # The library's own Gaussian log-likelihood and KL, as the trainer and the app use them.
    neg_elbo = -recon_log_prob(model, x, logits, None) + kl_std_normal(mu, logvar).sum(-1)
    book = textbook_loss(x, torch.sigmoid(logits), mu, logvar)
    const = textbook_constants(x.shape[1])
    assert torch.allclose(book, 2 * neg_elbo - const["unit_variance"], atol=1e-4)
    assert const["unit_variance"] == pytest.approx(16 * math.log(2 * math.pi))


@pytest.mark.parametrize("seed", [0, 1])
def test_textbook_loss_is_the_beta_2_objective_of_a_half_variance_decoder(seed):
    x, logits, mu, logvar = _batch(seed=seed)
    model = VAE(
        VAEConfig(input_shape=(1, 4, 4), hidden=(8,), latent_dim=3, likelihood="gaussian", gaussian_std=math.sqrt(0.5))
    )
    objective = -recon_log_prob(model, x, logits, None) + 2 * kl_std_normal(mu, logvar).sum(-1)
    book = textbook_loss(x, torch.sigmoid(logits), mu, logvar)
    assert torch.allclose(book, objective - textbook_constants(16)["half_variance_beta2"], atol=1e-4)
    # gaussian_neg_elbo, which the page shows, is the same function of (x, x_hat, mu, logvar).
    assert torch.allclose(gaussian_neg_elbo(x, torch.sigmoid(logits), mu, logvar, 0.5, beta=2.0), objective, atol=1e-4)


def test_estimators_a_and_b_share_their_mean_and_their_variance_falls_with_L(shipped_digits):
    from helpers import SHIPPED

    from vae_core.checkpoint import load_checkpoint

    x = load_checkpoint(SHIPPED / "digits.safetensors").sample_x()[:40]
    r = measure(shipped_digits, x, (1, 16), repeats=60, generator=torch.Generator().manual_seed(0))
    assert r.L == [1, 16] and r.images == 40 and r.repeats == 60
    for est in ("a", "b"):
        mean, var, gvar = (getattr(r, f"{k}_{est}") for k in ("mean_elbo", "var_elbo", "var_grad"))
        assert var[1] < var[0] / 4 and gvar[1] < gvar[0] / 4  # ~1/L: 16x fewer, allow for sampling noise
        # Unbiased for the same ELBO: the two means agree within a few standard errors.
        assert abs(mean[0] - mean[1]) < 4 * math.sqrt(var[0] / (60 * 40)) + 1e-3
    assert abs(r.mean_elbo_a[1] - r.mean_elbo_b[1]) < 4 * math.sqrt((r.var_elbo_a[1] + r.var_elbo_b[1]) / 2400)


def test_estimators_use_only_the_generator_given():
    model = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(8,), latent_dim=2)).eval()
    x = torch.rand(5, 16, generator=torch.Generator().manual_seed(3))
    state = torch.random.get_rng_state()
    a = measure(model, x, (1, 2), repeats=10, generator=torch.Generator().manual_seed(7))
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG was not used
    b = measure(model, x, (1, 2), repeats=10, generator=torch.Generator().manual_seed(7))
    c = measure(model, x, (1, 2), repeats=10, generator=torch.Generator().manual_seed(8))
    assert a == b and a != c


def test_estimator_variance_matches_a_direct_computation_for_l_1():
    """B's per-image variance is the variance of log p(x|z) over draws: recompute it by brute force."""
    model = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(8,), latent_dim=2)).eval()
    x = torch.rand(3, 16, generator=torch.Generator().manual_seed(1))
    r = measure(model, x, (1,), repeats=4000, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        mu, logvar = model.encode(x)
        eps = torch.randn((4000, *mu.shape), generator=torch.Generator().manual_seed(99))
        logits, _ = model.decode_logits(mu + torch.exp(0.5 * logvar) * eps)
        direct = recon_log_prob(model, x, logits, None).var(0).mean().item()
    assert r.var_elbo_b[0] == pytest.approx(direct, rel=0.1)


@pytest.mark.parametrize("bad", [dict(repeats=1), dict(repeats=True), dict(Ls=(0,)), dict(Ls=())])
def test_estimators_refuse_bad_sizes(bad):
    model = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(8,), latent_dim=2))
    with pytest.raises(InputError):
        measure(model, torch.rand(2, 16), **{"Ls": (1,), "repeats": 5, **bad})


def test_reparameterisation_gradients_reach_mu_and_sigma_and_follow_dz_dsigma_eq_eps():
    model = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(8,), latent_dim=2)).eval()
    x = torch.rand(16, generator=torch.Generator().manual_seed(0))
    mu, logvar = torch.tensor([0.3, -0.2]), torch.tensor([-1.0, 0.5])
    eps = draw_eps(1, 2, torch.Generator().manual_seed(4))[0]
    d_mu, d_sigma = reparam_gradients(model, x, mu, logvar, eps)
    assert d_mu.abs().sum() > 0
    assert torch.allclose(d_sigma, d_mu * eps, atol=1e-5)  # chain rule: dL/dsigma = dL/dz * eps
    z = reparameterise(mu, logvar, eps)
    assert torch.allclose(z, mu + torch.exp(0.5 * logvar) * eps)


def test_legible_tile_enlarges_small_images_and_separates_them():
    imgs = torch.arange(4, dtype=torch.uint8).mul(60).view(4, 1, 1, 1).expand(4, 1, 8, 8).contiguous()
    s = legible_scale(8, 8)
    assert s == 4
    m = legible_tile(imgs, 2)
    side = 2 * 8 * s + 2  # two tiles of 32 pixels and one 2-pixel gap
    assert m.shape == (side, side)
    assert (m[:32, :32] == 0).all() and (m[:32, 34:] == 60).all() and (m[34:, 34:] == 180).all()
    assert (m[:, 32:34] == GAP_VALUE).all() and (m[32:34, :] == GAP_VALUE).all()
    big = torch.zeros(3, 1, 28, 28, dtype=torch.uint8)
    assert np.array_equal(legible_tile(big, 3), tile(big, 3))  # 28x28 tiles are already legible


@pytest.fixture(scope="module")
def vae_and_autoencoder(digits):
    """The same network and training run, once as a VAE and once as a plain autoencoder."""
    from vae_core.train import TrainConfig, train

    out = {}
    for kind in ("vae", "autoencoder"):
        model = VAE(VAEConfig(input_shape=digits.image_shape, hidden=(64, 32), kind=kind))
        result = train(model, digits, TrainConfig(epochs=40, batch_size=32, lr=2e-3, device="cpu", seed=0))
        out[kind] = (result.model.eval(), result.history[-1]["test"])
    return out


@pytest.mark.slow
def test_autoencoder_has_no_kl_and_a_deterministic_code(vae_and_autoencoder, digits):
    ae, test = vae_and_autoencoder["autoencoder"]
    assert test["kl"] == 0.0 and test["elbo"] == test["recon"]
    x = digits.x_test[:8]
    a = ae(x, 3, torch.Generator().manual_seed(0))
    b = ae(x, 3, torch.Generator().manual_seed(1))
    assert torch.equal(a.z, b.z) and torch.equal(a.z[0], a.mu)  # z = mu, no draw


@pytest.mark.slow
def test_autoencoder_reconstructs_better_but_its_prior_samples_cover_fewer_classes(vae_and_autoencoder, digits):
    """The property: reconstruction error (summed squared error of decoding mu, on the test set)
    is lower for the autoencoder; the effective number of classes among 1000 decoded samples of
    N(0, I), each labelled by its nearest training image, is lower too."""
    from vae_core.concepts import prior_coverage, reconstruction_error

    (vae, vae_test), (ae, _) = vae_and_autoencoder["vae"], vae_and_autoencoder["autoencoder"]
    assert vae_test["kl"] > 0.5  # the VAE uses its latent space (not collapsed): a fair comparison
    assert reconstruction_error(ae, digits.x_test) < reconstruction_error(vae, digits.x_test)
    cover = {
        kind: prior_coverage(m, digits.x_train, digits.y_train, 1000, torch.Generator().manual_seed(0))
        for kind, m in (("vae", vae), ("autoencoder", ae))
    }
    assert cover["autoencoder"] < cover["vae"] - 1, cover


@pytest.mark.slow
def test_autoencoder_checkpoint_records_kind_and_no_elbo(vae_and_autoencoder, digits, tmp_path):
    from vae_core.checkpoint import load_checkpoint
    from vae_core.pipeline import finish_training
    from vae_core.train import TrainConfig, TrainResult

    ae, _ = vae_and_autoencoder["autoencoder"]
    path, metrics = finish_training(tmp_path / "ae.safetensors", TrainResult(ae), digits, TrainConfig(), eval_k=10)
    ckpt = load_checkpoint(path)
    assert ckpt.config.kind == "autoencoder" and ckpt.meta["kind"] == "autoencoder" and ckpt.meta["beta"] == 0.0
    assert metrics["test_elbo"] is None and metrics["test_iw_ll"] is None and metrics["test_kl"] == 0.0


@pytest.mark.slow
def test_estimators_cli_prints_json_last(tmp_path):
    import json
    import subprocess
    import sys

    from helpers import ROOT, SHIPPED

    out = subprocess.run(
        [sys.executable, "-m", "vae_core", "estimators", str(SHIPPED / "digits.safetensors"), "--images", "5"]
        + ["--repeats", "4"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["L"] == [1, 4, 16] and r["images"] == 5 and r["repeats"] == 4
    for k in ("var_elbo_a", "var_elbo_b", "var_grad_a", "var_grad_b"):
        assert len(r[k]) == 3 and all(v > 0 for v in r[k])
    bad = subprocess.run(
        [sys.executable, "-m", "vae_core", "estimators", str(SHIPPED / "digits.safetensors"), "--repeats", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "repeats must be" in bad.stderr
