"""Evaluation: test ELBO, importance-weighted log-likelihood, KL per dimension, active units."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .elbo import elbo_terms, iw_log_likelihood_unchecked, kl_std_normal, seeded_generator
from .errors import InputError
from .inputs import check_images
from .model import VAE

ACTIVE_UNIT_THRESHOLD = 0.01  # Burda et al. (2015): Cov_x(E_q[z_d]) above this is "active"
COLLAPSE_KL_NATS = 0.1  # total KL below this (per image) is called posterior collapse


@dataclass
class Metrics:
    elbo: float  # mean ELBO over the examples, nats per image (negative)
    recon: float  # mean E_q[log p(x|z)], nats
    kl: float  # mean KL(q(z|x) || p(z)), nats
    iw_ll: float | None  # mean importance-weighted log p(x) with k samples, nats
    k: int  # importance samples used (0: not computed)
    n: int  # examples evaluated
    kl_per_dim: list[float]  # mean KL of each latent dimension, nats
    active_units: int  # dimensions whose posterior mean varies across x
    collapsed: bool  # total KL near zero: the decoder ignores z

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@torch.no_grad()
def evaluate(
    model: VAE,
    x: torch.Tensor,
    k: int = 500,
    batch: int = 500,
    seed: int = 0,
) -> Metrics:
    """Score `model` on x (N, D) in [0, 1]. k = 0 skips the importance-weighted estimate.

    Runs on the model's device; a fixed seed makes the Monte-Carlo estimates repeatable.
    """
    x = check_images(x, model.config.input_shape)
    if not isinstance(k, int) or not 0 <= k <= 100_000:
        raise InputError(f"k must be an integer from 0 to 100000, got {k!r}")
    if model.config.autoencoder:
        k = 0  # an autoencoder has no posterior to importance-sample: no log p(x) estimate
    model.eval()
    device = next(model.parameters()).device
    gen = seeded_generator(seed, device)
    sums = torch.zeros(3, device=device, dtype=torch.float64)
    iw_sum = torch.zeros((), device=device, dtype=torch.float64)
    kl_dims, mus = [], []
    for i in range(0, len(x), batch):
        xb = x[i : i + batch].to(device).flatten(1)
        terms = elbo_terms(model, xb, generator=gen)
        sums += torch.stack([terms.elbo.sum(), terms.recon.sum(), terms.kl.sum()]).double()
        mu, logvar = model.encode(xb)
        kl_dims.append(kl_std_normal(mu, logvar).sum(0) * (not model.config.autoencoder))
        mus.append(mu)
        if k > 0:
            iw_sum += iw_log_likelihood_unchecked(model, xb, k, gen).double().sum()
    n = len(x)
    mu_all = torch.cat(mus)
    kl_per_dim = (torch.stack(kl_dims).sum(0) / n).tolist()
    elbo, recon, kl = (sums / n).tolist()
    active = int((mu_all.var(0, unbiased=False) > ACTIVE_UNIT_THRESHOLD).sum()) if n > 1 else 0
    return Metrics(
        elbo=elbo,
        recon=recon,
        kl=kl,
        iw_ll=float(iw_sum / n) if k > 0 else None,
        k=k,
        n=n,
        kl_per_dim=kl_per_dim,
        active_units=active,
        collapsed=kl < COLLAPSE_KL_NATS and not model.config.autoencoder,
    )


@torch.no_grad()
def encode(model: VAE, x: torch.Tensor, batch: int = 5000) -> tuple[torch.Tensor, torch.Tensor]:
    """Posterior parameters for many images: mu, logvar, each (N, latent_dim), on the CPU.

    x: (N, D) or (N, C, H, W) pixels in [0, 1]; raises InputError otherwise.
    """
    x = check_images(x, model.config.input_shape)
    device = next(model.parameters()).device
    mus, logvars = [], []
    for i in range(0, len(x), batch):
        mu, logvar = model.encode(x[i : i + batch].to(device))
        mus.append(mu.cpu())
        logvars.append(logvar.cpu())
    return torch.cat(mus), torch.cat(logvars)
