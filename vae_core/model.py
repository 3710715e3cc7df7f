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
from .fields import MAX_HIDDEN, MAX_LAYERS, parse_ints, setting, spec_of, validate_fields

LIKELIHOODS = ("bernoulli", "gaussian")
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}
GAUSSIAN_VARIANCES = ("fixed", "learned")
KINDS = ("vae", "autoencoder")
POINT_LOGVAR = -30.0  # an autoencoder's "posterior" log-variance: sigma = e^-15, a point at any scale


@dataclass(frozen=True)
class VAEConfig:
    """The network. Each field's help, choices and bounds are its metadata (vae_core.fields)."""

    input_shape: tuple[int, ...] = setting(
        (1, 28, 28), "Input shape", "(C, H, W) of one image; pixels in [0, 1]", ge=1, le=4096, max_len=3, user=False
    )
    hidden: tuple[int, ...] = setting(
        (512, 256),
        "Hidden sizes",
        "encoder hidden widths, e.g. 512,256; the decoder mirrors them",
        ge=1,
        le=MAX_HIDDEN,
        max_len=MAX_LAYERS,
    )
    latent_dim: int = setting(
        2, "Latent size", "size of z; the explorer plots the first two dimensions", ge=1, le=512, ui_le=16
    )
    activation: str = setting(
        "relu",
        "Activation",
        "hidden-layer nonlinearity (the paper used tanh)",
        choices=tuple(ACTIVATIONS),
        advanced=True,
    )
    likelihood: str = setting(
        "bernoulli", "Likelihood", "p(x|z): bernoulli (logits) or gaussian (sigmoid mean)", choices=LIKELIHOODS
    )
    gaussian_variance: str = setting(
        "fixed",
        "Gaussian variance",
        "gaussian only: fixed (sigma = gaussian_std) or learned per pixel (floored at gaussian_min_std)",
        choices=GAUSSIAN_VARIANCES,
        advanced=True,
    )
    gaussian_std: float = setting(
        0.1,
        "Gaussian σ",
        "gaussian, fixed variance only: the observation std, in pixel units",
        gt=0,
        le=10,
        advanced=True,
    )
    gaussian_min_std: float = setting(
        0.01,
        "Gaussian σ floor",
        "gaussian, learned variance only: the smallest std the decoder can give a pixel (keeps the likelihood bounded)",
        gt=0,
        le=1,
        advanced=True,
    )

    kind: str = setting(
        "vae",
        "Model kind",
        "vae: z ~ N(μ, diag(σ²)) and a KL term; autoencoder: z = μ, no noise, no KL (the classic contrast)",
        choices=KINDS,
        advanced=True,
    )

    def __post_init__(self) -> None:
        validate_fields(self)

    @property
    def autoencoder(self) -> bool:
        return self.kind == "autoencoder"

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


def parse_hidden(text: str) -> tuple[int, ...]:
    """'512,256' -> (512, 256): the one parser of hidden sizes (CLI, app), capped at MAX_HIDDEN."""
    return parse_ints("hidden", text, spec_of(next(f for f in fields(VAEConfig) if f.name == "hidden")))


def param_shapes(config: VAEConfig) -> dict[str, tuple[int, ...]]:
    """The state_dict's tensor shapes of `VAE(config)`, by arithmetic alone (nothing allocated),
    so a checkpoint's declared network can be sized before it is built."""
    h, d, k = list(config.hidden), config.input_dim, config.latent_dim
    shapes: dict[str, tuple[int, ...]] = {}

    def linear(prefix: str, w_in: int, w_out: int) -> None:
        shapes[f"{prefix}.weight"], shapes[f"{prefix}.bias"] = (w_out, w_in), (w_out,)

    for i, (w_in, w_out) in enumerate(zip([d, *h][:-1], h)):
        linear(f"encoder.{2 * i}", w_in, w_out)  # each Linear is followed by its activation
    linear("enc_out", h[-1], 2 * k)
    rev = list(reversed(h))
    for i, (w_in, w_out) in enumerate(zip([k, *rev][:-1], rev)):
        linear(f"decoder.{2 * i}", w_in, w_out)
    linear("dec_out", h[0], d)
    if config.learned_variance:
        linear("dec_logvar", h[0], d)
    return shapes


def weight_bytes(config: VAEConfig) -> int:
    """Bytes of the network's float32 weights (as checkpoints store them)."""
    return 4 * sum(math.prod(s) for s in param_shapes(config).values())


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
    """Encoder and decoder MLPs. Weights are drawn from `generator` (default: a new generator
    seeded with 0, so `VAE(config)` is the same network every time); torch's global RNG is
    never touched, which matters on a server where many sessions train at once.
    """

    def __init__(self, config: VAEConfig = VAEConfig(), generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.config = config
        h = list(config.hidden)
        with torch.device("meta"):  # no default init (it would draw from the global RNG)
            self.encoder = mlp([config.input_dim, *h], config.activation)
            self.enc_out = nn.Linear(h[-1], 2 * config.latent_dim)  # -> (mu, logvar)
            self.decoder = mlp([config.latent_dim, *reversed(h)], config.activation)
            self.dec_out = nn.Linear(h[0], config.input_dim)  # -> logits (or pre-sigmoid mean)
            self.dec_logvar = nn.Linear(h[0], config.input_dim) if config.learned_variance else None
        self.to_empty(device="cpu")
        init_weights(self, generator if generator is not None else torch.Generator().manual_seed(0))

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, D) or (B, C, H, W) in [0, 1] -> mu, logvar, each (B, latent_dim).

        An autoencoder's encoder is deterministic: its logvar is POINT_LOGVAR everywhere (the
        layer keeps the VAE's shape, so both kinds have the same architecture)."""
        mu, logvar = self.enc_out(self.encoder(x.flatten(1))).chunk(2, dim=-1)
        if self.config.autoencoder:
            logvar = torch.full_like(mu, POINT_LOGVAR)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """z (..., latent_dim) -> (x_logits, x_logvar), each (..., D).

        The learned Gaussian log-variance is floored smoothly: sigma^2 = gaussian_min_std^2 +
        exp(raw). Without a floor, pixels that are constant in the data (sklearn digits has three
        always-0 pixels) let sigma go to 0 and the density to infinity: the ELBO grows without
        bound and training diverges. A floor (rather than a bounded range) keeps large variances
        free and reads as "at least this much observation noise"; the sum stays smooth, so
        gradients do not vanish at the floor as they would with a clamp.
        """
        h = self.decoder(z)
        if self.dec_logvar is None:
            return self.dec_out(h), None
        floor = 2 * math.log(self.config.gaussian_min_std)
        return self.dec_out(h), torch.logaddexp(
            self.dec_logvar(h), torch.full((), floor, dtype=h.dtype, device=h.device)
        )

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim) -> pixel means in [0, 1], shape (B, C, H, W)."""
        logits, _ = self.decode_logits(z)
        return torch.sigmoid(logits).view(-1, *self.config.input_shape)

    def forward(self, x: torch.Tensor, n_samples: int = 1, generator: torch.Generator | None = None) -> VAEOutput:
        """Encode, draw n_samples z per example with eps from `generator`, decode.

        vae_core always passes a generator; None falls back to torch's global RNG (for
        interactive use only).
        """
        mu, logvar = self.encode(x)
        if self.config.autoencoder:  # z = mu: nothing is drawn
            z = mu.expand(n_samples, *mu.shape)
        else:
            eps = torch.randn((n_samples, *mu.shape), device=mu.device, dtype=mu.dtype, generator=generator)
            z = mu + torch.exp(0.5 * logvar) * eps  # the reparameterisation trick
        x_logits, x_logvar = self.decode_logits(z)
        return VAEOutput(mu, logvar, z, x_logits, x_logvar)


@torch.no_grad()
def init_weights(model: nn.Module, generator: torch.Generator) -> None:
    """PyTorch's default nn.Linear initialisation (Kaiming-uniform weights, uniform biases in
    +-1/sqrt(fan_in)), drawn from `generator` instead of the global RNG."""
    for m in model.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            bound = 1 / math.sqrt(m.in_features)
            nn.init.uniform_(m.bias, -bound, bound, generator=generator)
