"""The model's shapes and config, and the SGVB estimators against independent references."""

import math

import pytest
import torch
from torch.distributions import Bernoulli, Normal, kl_divergence

from vae_core.elbo import elbo_terms, iw_log_likelihood, kl_std_normal, recon_log_prob
from vae_core.errors import ConfigError
from vae_core.model import VAE, VAEConfig


@pytest.mark.parametrize(
    "likelihood,variance", [("bernoulli", "fixed"), ("gaussian", "fixed"), ("gaussian", "learned")]
)
@pytest.mark.parametrize("latent_dim", [1, 2, 5])
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_forward_shapes(likelihood, variance, latent_dim, activation):
    cfg = VAEConfig(
        input_shape=(1, 4, 4),
        hidden=(8, 6),
        latent_dim=latent_dim,
        activation=activation,
        likelihood=likelihood,
        gaussian_variance=variance,
    )
    model = VAE(cfg)
    x = torch.rand(5, 1, 4, 4)
    out = model(x, n_samples=3)
    assert out.mu.shape == out.logvar.shape == (5, latent_dim)
    assert out.z.shape == (3, 5, latent_dim)
    assert out.x_logits.shape == (3, 5, 16)
    assert (out.x_logvar is not None) == (variance == "learned" and likelihood == "gaussian")
    assert model.decode(torch.zeros(7, latent_dim)).shape == (7, 1, 4, 4)
    terms = elbo_terms(model, x, "analytic", 2)
    assert all(t.shape == (5,) for t in terms)
    assert torch.allclose(terms.elbo, terms.recon - terms.kl)


def test_config_round_trip_and_validation():
    cfg = VAEConfig(input_shape=(1, 8, 8), hidden=(32, 16), latent_dim=3, likelihood="gaussian")
    assert VAEConfig.from_dict(cfg.to_dict()) == cfg
    for bad in [
        dict(latent_dim=0),
        dict(activation="gelu"),
        dict(likelihood="poisson"),
        dict(hidden=()),
        dict(hidden=(0,)),
        dict(gaussian_std=-1.0),
        dict(gaussian_std=float("nan")),
    ]:
        with pytest.raises(ConfigError):
            VAEConfig(**bad)
    with pytest.raises(ConfigError, match="unknown model config keys"):
        VAEConfig.from_dict({**cfg.to_dict(), "dropout": 0.5})


def test_analytic_kl_matches_torch_and_monte_carlo():
    torch.manual_seed(0)
    mu, logvar = torch.randn(4, 2), torch.randn(4, 2)
    kl = kl_std_normal(mu, logvar).sum(-1)
    ref = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    assert torch.allclose(kl, ref, atol=1e-5)
    q = Normal(mu, (0.5 * logvar).exp())
    z = q.sample((200_000,))
    mc = (q.log_prob(z) - Normal(0.0, 1.0).log_prob(z)).sum(-1).mean(0)
    assert torch.allclose(mc, kl, rtol=0.03, atol=0.02)
    assert (kl >= 0).all()


def test_recon_log_prob_matches_torch_distributions():
    torch.manual_seed(1)
    x_bin = (torch.rand(3, 16) > 0.5).float()
    logits = torch.randn(2, 3, 16)
    bern = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(4,)))
    ref = Bernoulli(logits=logits).log_prob(x_bin.expand_as(logits)).sum(-1)
    assert torch.allclose(recon_log_prob(bern, x_bin, logits, None), ref, atol=1e-5)
    # p = 0.5 everywhere: exactly D * log 2 nats per image, summed over pixels
    assert torch.allclose(
        recon_log_prob(bern, x_bin, torch.zeros(1, 3, 16), None), torch.full((1, 3), -16 * math.log(2))
    )

    x = torch.rand(3, 16)
    gauss = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(4,), likelihood="gaussian", gaussian_std=0.2))
    ref = Normal(torch.sigmoid(logits), 0.2).log_prob(x.expand_as(logits)).sum(-1)
    assert torch.allclose(recon_log_prob(gauss, x, logits, None), ref, atol=1e-4)
    learned = VAE(VAEConfig(input_shape=(1, 4, 4), hidden=(4,), likelihood="gaussian", gaussian_variance="learned"))
    x_logvar = torch.randn(2, 3, 16)
    ref = Normal(torch.sigmoid(logits), (0.5 * x_logvar).exp()).log_prob(x.expand_as(logits)).sum(-1)
    assert torch.allclose(recon_log_prob(learned, x, logits, x_logvar), ref, atol=1e-4)


def test_estimators_a_and_b_agree_in_expectation(shipped_digits, digits):
    model = shipped_digits
    x = digits.x_test[:20]
    torch.manual_seed(0)
    with torch.no_grad():
        b = elbo_terms(model, x, "analytic", 4000).elbo
        a = elbo_terms(model, x, "mc", 4000).elbo
    assert torch.allclose(a, b, atol=0.15), (a - b).abs().max()


def test_reparameterisation_gives_gradients_to_encoder(tiny_model):
    x = torch.rand(4, 16)
    loss = -elbo_terms(tiny_model, x).elbo.mean()
    loss.backward()
    assert tiny_model.enc_out.weight.grad is not None and tiny_model.enc_out.weight.grad.abs().sum() > 0


def test_iw_bound_is_above_elbo_and_rises_with_k(shipped_digits, digits):
    model = shipped_digits
    x = digits.x_test
    torch.manual_seed(0)
    with torch.no_grad():
        elbo = elbo_terms(model, x, n_samples=200).elbo.mean().item()
    ll = {k: iw_log_likelihood(model, x, k).mean().item() for k in (1, 10, 200)}
    assert abs(ll[1] - elbo) < 0.3  # k = 1 is the ELBO itself, up to Monte-Carlo noise
    assert ll[200] > ll[10] > ll[1]
    assert ll[200] > elbo + 0.2  # this model's gap between log p(x) and the ELBO is ~0.45 nats
    with pytest.raises(ValueError):  # InputError is a ValueError too
        iw_log_likelihood(model, x, 0)
