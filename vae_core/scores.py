"""What the importance-weighted number of a model is: a log-likelihood, or only a score.

A Bernoulli decoder on binary pixels (static or dynamic binarisation) gives a normalised
probability of the binary image, so its IW estimate is a lower bound on log p(x) in nats,
comparable with published figures. On continuous pixels the same formula is a cross-entropy
that omits the normaliser of the continuous Bernoulli (Loaiza-Ganem & Cunningham, 2019): it is
not a log density (the omitted term is about +1,100 nats per Fashion-MNIST image), so it is
named a score. A Gaussian decoder gives a log density on R^D (normalised there, though pixels
live in [0, 1]); it is not comparable with log-probabilities of binary images.
"""

from __future__ import annotations

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
