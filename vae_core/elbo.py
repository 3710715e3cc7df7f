"""SGVB estimators of the ELBO and the importance-weighted estimate of log p(x).

All quantities are per example and in nats per image (summed over pixels and latent
dimensions), never averaged over pixels.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F

from .errors import InputError
from .inputs import check_images
from .model import VAE, VAEOutput

LOG_2PI = math.log(2 * math.pi)
ESTIMATORS = ("analytic", "mc")


class ELBOTerms(NamedTuple):
    recon: torch.Tensor  # (B,) E_q[log p(x|z)], nats
    kl: torch.Tensor  # (B,) KL(q(z|x) || p(z)) (analytic) or its MC estimate, nats
    elbo: torch.Tensor  # (B,) recon - kl, nats


def log_normal_diag(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log N(z; mu, diag(exp(logvar))), summed over the last dimension."""
    return -0.5 * (LOG_2PI + logvar + (z - mu) ** 2 * torch.exp(-logvar)).sum(-1)


def log_std_normal(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last dimension."""
    return -0.5 * (LOG_2PI + z**2).sum(-1)


def kl_std_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per dimension (the paper's appendix B)."""
    return -0.5 * (1 + logvar - mu**2 - torch.exp(logvar))


def recon_log_prob(model: VAE, x: torch.Tensor, x_logits: torch.Tensor, x_logvar: torch.Tensor | None) -> torch.Tensor:
    """log p(x|z), summed over pixels. x (B, D); x_logits (..., B, D) -> (..., B)."""
    cfg = model.config
    x = x.flatten(1).expand_as(x_logits)
    if cfg.likelihood == "bernoulli":
        # Cross-entropy with continuous targets, as in the paper's MNIST runs and most code.
        return -F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").sum(-1)
    mean = torch.sigmoid(x_logits)
    if x_logvar is None:
        var_log = 2 * math.log(cfg.gaussian_std)
        return -0.5 * (((x - mean) ** 2) / cfg.gaussian_std**2 + LOG_2PI + var_log).sum(-1)
    return log_normal_diag(x, mean, x_logvar)


def elbo_terms(
    model: VAE,
    x: torch.Tensor,
    estimator: str = "analytic",
    n_samples: int = 1,
    generator: torch.Generator | None = None,
) -> ELBOTerms:
    """Per-example SGVB estimate of the ELBO with L = n_samples draws of z from `generator`
    (default: a new generator seeded with 0 on x's device; the global RNG is never used).

    estimator "analytic" is the paper's estimator B (analytic KL + MC reconstruction);
    "mc" is estimator A (MC average of log p(x, z) - log q(z|x)).
    """
    gen = generator if generator is not None else seeded_generator(0, x.device)
    return terms_from_output(model, x, model(x, n_samples, gen), estimator)


def seeded_generator(seed: int = 0, device: torch.device | str = "cpu") -> torch.Generator:
    """A new torch.Generator on `device`, seeded. Every random draw in vae_core comes from one
    (a public function given none uses seed 0); torch's global RNG is never used."""
    return torch.Generator(device=device).manual_seed(seed)


def terms_from_output(model: VAE, x: torch.Tensor, out: VAEOutput, estimator: str = "analytic") -> ELBOTerms:
    """elbo_terms from a forward pass already made (the trainer's bf16 path runs its own)."""
    recon = recon_log_prob(model, x, out.x_logits, out.x_logvar).mean(0)  # (B,)
    if estimator == "analytic":
        kl = kl_std_normal(out.mu, out.logvar).sum(-1)
    elif estimator == "mc":
        kl = (log_normal_diag(out.z, out.mu, out.logvar) - log_std_normal(out.z)).mean(0)
    else:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    return ELBOTerms(recon, kl, recon - kl)


Decoder = Callable[[torch.Tensor], tuple[torch.Tensor, "torch.Tensor | None"]]


@torch.no_grad()
def iw_log_likelihood(
    model: VAE, x: torch.Tensor, k: int = 500, chunk: int = 100, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Importance-weighted estimate of log p(x) per example (B,), nats: log-mean-exp over k.

    Its expectation is a lower bound on log p(x) that is >= the ELBO and rises with k
    (Burda et al., 2015). Samples are drawn in chunks of `chunk` to bound memory.
    """
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 100_000:
        raise InputError(f"k must be an integer from 1 to 100000, got {k!r}")
    x = check_images(x, model.config.input_shape).to(next(model.parameters()).device)
    gen = generator if generator is not None else seeded_generator(0, x.device)
    mu, logvar = model.encode(x)
    return iw_from_posterior(model, x, mu, logvar, k, gen, chunk=chunk)


@torch.no_grad()
def iw_from_posterior(
    model: VAE,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    k: int,
    generator: torch.Generator,
    decoder: Decoder | None = None,
    chunk: int = 100,
) -> torch.Tensor:
    """iw_log_likelihood for x (B, D) already validated and encoded (mu, logvar), on one device.

    Draws z in chunks of `chunk` per example; `decoder` maps z to (x_logits, x_logvar) in
    float32 (default: the model's own; evaluate passes a bf16 one). The log weights
    log p(x, z) - log q(z|x) are always computed in float32.
    """
    std, parts = torch.exp(0.5 * logvar), []
    for i in range(0, k, chunk):
        eps = torch.randn((min(chunk, k - i), *mu.shape), device=mu.device, dtype=mu.dtype, generator=generator)
        z = mu + std * eps  # (chunk, B, latent_dim)
        x_logits, x_logvar = (decoder or model.decode_logits)(z)
        log_px_z = recon_log_prob(model, x, x_logits, x_logvar)
        parts.append(log_px_z + log_std_normal(z) - log_normal_diag(z, mu, logvar))  # (chunk, B)
    return torch.logsumexp(torch.cat(parts, 0), dim=0) - math.log(k)
