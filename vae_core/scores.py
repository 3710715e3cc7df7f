"""What the importance-weighted number of a model is: a log-likelihood, or only a score.

A Bernoulli decoder on binary pixels (static or dynamic binarisation) gives a normalised
probability of the binary image, so its IW estimate is a lower bound on log p(x) in nats,
comparable with published figures. On continuous pixels the same formula is a cross-entropy
that omits the normaliser of the continuous Bernoulli (Loaiza-Ganem & Cunningham, 2019): it is
not a log density (the omitted term, `omitted_normaliser`, is measured per model: hundreds of
nats for a 28x28 image, a few dozen for 8x8 digits), so it is named a score, and so is the ELBO. A Gaussian decoder gives a log density on R^D (normalised there, though pixels
live in [0, 1]); it is not comparable with log-probabilities of binary images.
"""

from __future__ import annotations

import math

import torch

LOG_LIKELIHOOD = "IW log p(x)"
DENSITY = "IW log p(x) (a density)"
SCORE = "IW score (not a normalised density)"


def likelihood_is_normalised(likelihood: str, pixels: str) -> bool:
    """Whether exp(IW estimate) is a normalised probability or density of what the model saw."""
    return likelihood != "bernoulli" or pixels != "continuous"


def score_name_for(likelihood: str, pixels: str) -> str:
    """The honest name of the IW number for a model with this likelihood trained on these pixels."""
    if likelihood == "bernoulli":
        return LOG_LIKELIHOOD if pixels != "continuous" else SCORE
    return DENSITY


def score_name(meta: dict) -> str:
    """score_name_for a checkpoint, from its metadata (Checkpoint.meta)."""
    likelihood = meta.get("config", {}).get("likelihood", "bernoulli")
    pixels = meta.get("dataset", {}).get("pixels", "continuous")
    return score_name_for(likelihood, pixels)


def continuous_bernoulli_log_norm(logits: torch.Tensor) -> torch.Tensor:
    """log C(lambda) of the continuous Bernoulli, elementwise, for lambda = sigmoid(logits), in nats.

    p(x | lambda) = C(lambda) lambda^x (1 - lambda)^(1 - x) on [0, 1], with
    C(lambda) = 2 artanh(1 - 2 lambda) / (1 - 2 lambda) = l / tanh(l / 2) for l = logit(lambda);
    C = 2 at l = 0 and grows like |l| as a pixel becomes sure. Always >= log 2 > 0."""
    a = logits.abs()
    small = a < 1e-3  # l / tanh(l / 2) = 2 (1 + l^2 / 12 + O(l^4)) near 0, where the ratio is 0/0
    safe = torch.where(small, torch.ones_like(a), a)
    exact = torch.log(safe) - torch.log(torch.tanh(safe / 2))
    return torch.where(small, math.log(2.0) + a * a / 12, exact)


@torch.no_grad()
def omitted_normaliser(model, x: torch.Tensor) -> float:
    """What a Bernoulli decoder's log-probability leaves out on continuous pixels, nats per image.

    The sum over pixels of log C(lambda) at the decoder's output for z = mu(x), averaged over the
    images x (N, ...). Adding it would turn the cross-entropy into the continuous Bernoulli's
    log-density; it is why the ELBO and IW numbers of such a model are scores, not log p(x)."""
    mu, _ = model.encode(x.flatten(1))
    logits, _ = model.decode_logits(mu)
    return float(continuous_bernoulli_log_norm(logits).sum(-1).mean())
