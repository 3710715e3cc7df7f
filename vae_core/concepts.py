"""The maths behind the Concepts pages: drawing eps, the textbook's loss as an ELBO, the
rate-distortion view of beta, and how good prior samples are.

Every function takes its randomness from a `torch.Generator` passed in (no global RNG).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .elbo import kl_std_normal
from .inputs import check_images
from .model import VAE

LOG_2PI = math.log(2 * math.pi)


def draw_eps(n: int, latent_dim: int, generator: torch.Generator) -> torch.Tensor:
    """n draws of eps ~ N(0, I): (n, latent_dim). The only random step of the reparameterisation."""
    return torch.randn((n, latent_dim), generator=generator)


def reparameterise(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with sigma = exp(logvar / 2): differentiable in mu and logvar."""
    return mu + torch.exp(0.5 * logvar) * eps


def textbook_loss(x: torch.Tensor, x_mean: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The textbook chapter's loss per image (B,): F.mse_loss(x_mean, x, reduction="sum") plus
    -sum(1 + logvar - mu^2 - exp(logvar)), i.e. MSE-sum + 2 KL, written the way the book writes it."""
    mse = F.mse_loss(x_mean.flatten(1), x.flatten(1), reduction="none").sum(-1)
    return mse - (1 + logvar - mu**2 - torch.exp(logvar)).sum(-1)


def copied_loss(x: torch.Tensor, x_mean: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The widely copied loss per image (B,): MSE-sum plus -0.5 * sum(1 + logvar - mu^2 - exp(logvar)),
    i.e. MSE-sum + KL with the paper's factor 1/2 (PyTorch's examples, vae/main.py, write the KL this
    way beside a binary cross-entropy; many copies put MSE-sum beside it)."""
    mse = F.mse_loss(x_mean.flatten(1), x.flatten(1), reduction="none").sum(-1)
    return mse - 0.5 * (1 + logvar - mu**2 - torch.exp(logvar)).sum(-1)


def gaussian_neg_elbo(
    x: torch.Tensor, x_mean: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, variance: float, beta: float = 1.0
) -> torch.Tensor:
    """-log N(x; x_mean, variance I) + beta KL(q || N(0, I)) per image (B,), nats: the (beta-)
    negative ELBO of a Gaussian decoder with fixed pixel variance, for one z (x_mean = decoded z)."""
    d = x.flatten(1).shape[1]
    nll = ((x.flatten(1) - x_mean.flatten(1)) ** 2).sum(-1) / (2 * variance) + 0.5 * d * (LOG_2PI + math.log(variance))
    return nll + beta * kl_std_normal(mu, logvar).sum(-1)


def textbook_constants(d: int) -> dict[str, float]:
    """The constants in the two readings of the textbook loss, for d pixels (nats):

    textbook = 2 * neg_elbo(variance 1, beta 1) - d log(2 pi)
    textbook = neg_elbo(variance 1/2, beta 2) - (d / 2) log(pi)
    copied   = neg_elbo(variance 1/2, beta 1) - (d / 2) log(pi)   (the same constant)
    """
    return {"unit_variance": d * LOG_2PI, "half_variance_beta2": 0.5 * d * math.log(math.pi)}


def rate_distortion(metrics: dict) -> tuple[float, float]:
    """(rate, distortion) of a checkpoint's test metrics, nats per image: KL and -E[log p(x|z)].
    The ELBO is -(rate + distortion), so lines rate + distortion = c are lines of equal ELBO."""
    return float(metrics["test_kl"]), -float(metrics["test_recon"])


@torch.no_grad()
def reconstruction_error(model: VAE, x: torch.Tensor) -> float:
    """Mean over images of the summed squared error between x and the decoding of its mean code mu."""
    x = check_images(x, model.config.input_shape)
    mu, _ = model.encode(x)
    return float(((model.decode(mu).flatten(1) - x) ** 2).sum(-1).mean())


@torch.no_grad()
def prior_samples(model: VAE, n: int, generator: torch.Generator) -> torch.Tensor:
    """Decoded pixel means of n draws z ~ N(0, I): (n, D) in [0, 1]."""
    z = torch.randn((n, model.config.latent_dim), generator=generator)
    return model.decode(z).flatten(1)


@torch.no_grad()
def class_coverage(samples: torch.Tensor, x_ref: torch.Tensor, y_ref: torch.Tensor) -> float:
    """How many classes generated images cover: each sample takes the label of its nearest
    (Euclidean) image in x_ref, and the result is exp(entropy) of those labels, the effective
    number of classes (10 when all ten digits come up equally often, 1 when one class does)."""
    nearest = torch.cdist(samples.flatten(1).double(), x_ref.flatten(1).double()).argmin(1)
    p = torch.bincount(y_ref[nearest]).double() / len(samples)
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def prior_coverage(model: VAE, x_ref: torch.Tensor, y_ref: torch.Tensor, n: int, generator: torch.Generator) -> float:
    """class_coverage of n decoded samples z ~ N(0, I): does sampling the prior give the data's
    variety? A VAE's KL term makes its codes fill N(0, I); an autoencoder's codes go where they
    like, so N(0, I) hits a few classes only (or blends between them)."""
    x_ref = check_images(x_ref, model.config.input_shape)
    return class_coverage(prior_samples(model, n, generator), x_ref, torch.as_tensor(y_ref))


def reparam_gradients(
    model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the gradient of log p(x|z) goes for one draw z = mu + sigma * eps: its derivatives
    with respect to mu and to sigma, each (latent_dim,). dz/dmu = 1 and dz/dsigma = eps, so both
    receive a gradient; eps is an input drawn outside the network and receives none.

    x (D,) or (1, D) pixels; mu, logvar, eps (latent_dim,).
    """
    from .elbo import recon_log_prob

    x = check_images(x, model.config.input_shape)
    mu = mu.detach().clone().requires_grad_(True)
    sigma = torch.exp(0.5 * logvar.detach()).requires_grad_(True)
    z = mu + sigma * eps
    logits, x_logvar = model.decode_logits(z.unsqueeze(0))
    log_px = recon_log_prob(model, x, logits, x_logvar).sum()
    d_mu, d_sigma = torch.autograd.grad(log_px, (mu, sigma))
    return d_mu, d_sigma
