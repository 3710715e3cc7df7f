"""The wake-sleep algorithm (Hinton, Dayan, Frey & Neal, 1995) for the VAE's encoder and decoder.

The baseline of Kingma & Welling (2013), Fig. 2: the same recognition model q(z|x) (the encoder)
and generative model p(z) p(x|z) (the prior N(0, I) and the decoder), trained without the
reparameterisation trick:

- wake phase: for data x, draw z ~ q(z|x) and raise log p(x|z) in the decoder's weights; z is a
  sample, not a function of the encoder's weights, so no gradient reaches the encoder;
- sleep phase: dream z ~ p(z) and x ~ p(x|z) from the generative model and raise log q(z|x) in
  the encoder's weights; the dream is a sample, so no gradient reaches the decoder.

The two losses touch disjoint weights, so one backward pass of their sum gives both phases'
gradients and one optimiser step applies them. The bound the two algorithms are compared on is
the same ELBO (vae_core.evaluate.evaluate) for both.
"""

from __future__ import annotations

import torch

from .elbo import log_normal_diag, recon_log_prob
from .model import VAE


@torch.no_grad()
def wake_sample(model: VAE, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """z ~ q(z|x) for data x (B, D): (B, latent_dim), detached from the encoder's weights."""
    mu, logvar = model.encode(x)
    eps = torch.randn(mu.shape, device=mu.device, dtype=mu.dtype, generator=generator)
    return mu + torch.exp(0.5 * logvar) * eps


@torch.no_grad()
def dream(model: VAE, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(z, x) from the generative model: z ~ N(0, I) (n, latent_dim), x ~ p(x|z) (n, D).

    Bernoulli decoder: x is a draw of 0/1 pixels. Gaussian decoder: x = mean + sigma * eps, with
    the fixed or learned sigma of the model's likelihood.
    """
    p = next(model.parameters())
    cfg = model.config
    z = torch.randn((n, cfg.latent_dim), device=p.device, dtype=p.dtype, generator=generator)
    logits, x_logvar = model.decode_logits(z)
    if cfg.likelihood == "bernoulli":
        return z, torch.bernoulli(torch.sigmoid(logits), generator=generator)
    std = torch.exp(0.5 * x_logvar) if x_logvar is not None else torch.full_like(logits, cfg.gaussian_std)
    eps = torch.randn(logits.shape, device=p.device, dtype=p.dtype, generator=generator)
    return z, torch.sigmoid(logits) + std * eps


def wake_loss(model: VAE, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """-mean log p(x|z) over the batch, nats per image: the wake phase's loss (decoder only)."""
    x_logits, x_logvar = model.decode_logits(z.detach())
    return -recon_log_prob(model, x, x_logits, x_logvar).mean()


def sleep_loss(model: VAE, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-mean log q(z|x) over dreamed pairs, nats: the sleep phase's loss (encoder only)."""
    mu, logvar = model.encode(x.detach())
    return -log_normal_diag(z.detach(), mu, logvar).mean()


def wake_sleep_loss(
    model: VAE, x: torch.Tensor, generator: torch.Generator, n_dreams: int | None = None
) -> torch.Tensor:
    """Both phases' losses summed, for one backward pass: the wake phase on the batch x (B, D),
    the sleep phase on n_dreams dreamed pairs (default: as many as the batch).

    Draws the wake samples first, then the dreams, from `generator`."""
    z_wake = wake_sample(model, x, generator)
    z_dream, x_dream = dream(model, n_dreams or len(x), generator)
    return wake_loss(model, x, z_wake) + sleep_loss(model, z_dream, x_dream)
