"""Which shipped models the Concepts pages compare: the beta ladder and the autoencoder.

The ladder is every shipped `<dataset>-beta<beta>` file (trained by the CLI with the same settings
but beta); the autoencoder is `<dataset>-autoencoder`, the twin of `<dataset>-beta1`.
"""

from __future__ import annotations

import re

from .models import ModelRef, shipped_models

LADDER_RE = re.compile(r"^(?P<dataset>[a-z0-9-]+?)-beta(?P<beta>[0-9]+(?:\.[0-9]+)?)$")
AUTOENCODER_SUFFIX = "-autoencoder"


def beta_of(ref: ModelRef) -> float | None:
    m = LADDER_RE.match(ref.name)
    return float(m["beta"]) if m else None


def beta_ladder(dataset: str = "digits") -> list[ModelRef]:
    """The shipped beta ladder of one dataset, by increasing beta."""
    refs = [r for r in shipped_models() if (m := LADDER_RE.match(r.name)) and m["dataset"] == dataset]
    return sorted(refs, key=beta_of)


def autoencoder_pair(dataset: str = "digits") -> tuple[ModelRef, ModelRef] | None:
    """(the shipped autoencoder, its VAE twin with beta = 1), or None when either is missing."""
    refs = {r.name: r for r in shipped_models()}
    ae, vae = refs.get(dataset + AUTOENCODER_SUFFIX), refs.get(f"{dataset}-beta1")
    return (ae, vae) if ae and vae else None
