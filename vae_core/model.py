"""The AEVB model: an MLP encoder q(z|x) = N(mu, diag(sigma^2)) and an MLP decoder p(x|z).

Kingma & Welling (2013), appendix C: both are MLPs with one (here: any number of) hidden
layers; the prior is p(z) = N(0, I).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

import torch
from torch import nn

from .errors import ConfigError

LIKELIHOODS = ("bernoulli", "gaussian")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
GAUSSIAN_VARIANCES = ("fixed", "learned")


@dataclass(frozen=True)
class VAEConfig:
    input_shape: tuple[int, ...] = (1, 28, 28)  # (C, H, W) of one image; pixels in [0, 1]
    hidden: tuple[int, ...] = (512, 256)  # encoder hidden widths; the decoder mirrors them
    latent_dim: int = 2  # size of z; the explorer plots the first two dimensions
    activation: str = "relu"  # "relu" or "tanh" (the paper used tanh)
    likelihood: str = "bernoulli"  # p(x|z): "bernoulli" (logits) or "gaussian" (sigmoid mean)
    gaussian_variance: str = "fixed"  # gaussian only: "fixed" (sigma = gaussian_std) or "learned"
    gaussian_std: float = 0.1  # gaussian only: the fixed observation std, in pixel units

    def __post_init__(self) -> None:
        # Checkpoints store the config as JSON, so lists come back where tuples went in.
        object.__setattr__(self, "input_shape", _int_tuple("input_shape", self.input_shape))
        object.__setattr__(self, "hidden", _int_tuple("hidden", self.hidden))
        if not isinstance(self.latent_dim, int) or isinstance(self.latent_dim, bool):
            raise ConfigError(f"latent_dim must be an integer, got {self.latent_dim!r}")
        if not 1 <= self.latent_dim <= 512:
            raise ConfigError(f"latent_dim must be between 1 and 512, got {self.latent_dim}")
        if self.activation not in ACTIVATIONS:
            raise ConfigError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if self.likelihood not in LIKELIHOODS:
            raise ConfigError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if self.gaussian_variance not in GAUSSIAN_VARIANCES:
            raise ConfigError(f"gaussian_variance must be one of {GAUSSIAN_VARIANCES}, got {self.gaussian_variance!r}")
        std = float(self.gaussian_std)
        if not (math.isfinite(std) and std > 0):
            raise ConfigError(f"gaussian_std must be a positive number, got {self.gaussian_std!r}")
        object.__setattr__(self, "gaussian_std", std)

    @property
    def input_dim(self) -> int:
        return math.prod(self.input_shape)

    @property
    def learned_variance(self) -> bool:
        return self.likelihood == "gaussian" and self.gaussian_variance == "learned"

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict) -> VAEConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown model config keys {unknown}; this file needs a newer vae_core")
        return cls(**d)


def _int_tuple(name: str, value) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a list of positive integers, got {value!r}") from None
    if not out or any(v < 1 or v > 65536 for v in out):
        raise ConfigError(f"{name} must be a non-empty list of integers in 1..65536, got {value!r}")
    return out


class VAEOutput(NamedTuple):
    mu: torch.Tensor  # (B, latent_dim) posterior mean
    logvar: torch.Tensor  # (B, latent_dim) posterior log-variance
    z: torch.Tensor  # (L, B, latent_dim) reparameterised samples
    x_logits: torch.Tensor  # (L, B, D) decoder output before the sigmoid
    x_logvar: torch.Tensor | None  # (L, B, D) learned Gaussian log-variance, else None


def mlp(widths: list[int], activation: str) -> nn.Sequential:
    """Linear layers between consecutive widths, each followed by the activation."""
    layers: list[nn.Module] = []
    for w_in, w_out in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(w_in, w_out), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


class VAE(nn.Module):
    def __init__(self, config: VAEConfig = VAEConfig()) -> None:
        super().__init__()
        self.config = config
        h = list(config.hidden)
        self.encoder = mlp([config.input_dim, *h], config.activation)
        self.enc_out = nn.Linear(h[-1], 2 * config.latent_dim)  # -> (mu, logvar)
        self.decoder = mlp([config.latent_dim, *reversed(h)], config.activation)
        self.dec_out = nn.Linear(h[0], config.input_dim)  # -> logits (or pre-sigmoid mean)
        self.dec_logvar = nn.Linear(h[0], config.input_dim) if config.learned_variance else None

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, D) or (B, C, H, W) in [0, 1] -> mu, logvar, each (B, latent_dim)."""
        mu, logvar = self.enc_out(self.encoder(x.flatten(1))).chunk(2, dim=-1)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """z (..., latent_dim) -> (x_logits, x_logvar), each (..., D)."""
        h = self.decoder(z)
        return self.dec_out(h), (self.dec_logvar(h) if self.dec_logvar is not None else None)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim) -> pixel means in [0, 1], shape (B, C, H, W)."""
        logits, _ = self.decode_logits(z)
        return torch.sigmoid(logits).view(-1, *self.config.input_shape)

    def forward(self, x: torch.Tensor, n_samples: int = 1) -> VAEOutput:
        mu, logvar = self.encode(x)
        eps = torch.randn((n_samples, *mu.shape), device=mu.device, dtype=mu.dtype)
        z = mu + torch.exp(0.5 * logvar) * eps  # the reparameterisation trick
        x_logits, x_logvar = self.decode_logits(z)
        return VAEOutput(mu, logvar, z, x_logits, x_logvar)
