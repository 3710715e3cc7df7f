"""Estimator A versus estimator B, measured: how much the SGVB estimate moves between draws of eps.

Kingma & Welling (2013), section 2.3: estimator A averages log p(x, z) - log q(z|x) over L draws
z = mu + sigma * eps; estimator B computes the KL term analytically and samples only the
reconstruction term. Both are unbiased for the same ELBO; the paper notes B "typically" has less
variance. This module measures, for one model and a set of images, over repeated independent draws:

- the per-image ELBO estimate: its mean and its variance across draws (nats, nats^2), averaged
  over images;
- the gradient of that estimate with respect to the encoder's outputs (mu, log sigma^2) of the same
  image: the total variance across draws (trace of its covariance, nats^2 per unit^2), averaged
  over images. Every encoder weight's gradient is a fixed linear map of this one, so it is the
  part of the encoder's gradient noise that the estimator decides.

All randomness comes from the `torch.Generator` passed in; no global RNG is touched.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from .elbo import kl_std_normal, log_normal_diag, log_std_normal, recon_log_prob
from .errors import InputError
from .inputs import check_images
from .model import VAE

DEFAULT_LS = (1, 4, 16)
MAX_ROWS = 40_000  # decoder rows (repeats x L x images) per pass, to bound memory


@dataclass
class EstimatorStats:
    L: list[int]  # samples of z per estimate
    mean_elbo_a: list[float]  # mean over draws and images of estimator A, nats per image
    mean_elbo_b: list[float]
    var_elbo_a: list[float]  # variance across draws of the per-image estimate, mean over images, nats^2
    var_elbo_b: list[float]
    var_grad_a: list[float]  # trace of Cov(d estimate / d (mu, logvar)), mean over images
    var_grad_b: list[float]
    images: int  # images the statistics average over
    repeats: int  # independent draws per image and L

    def as_dict(self) -> dict:
        return asdict(self)


def estimate_with_grad(
    model: VAE, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor, L: int, repeats: int, generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """`repeats` independent estimates of both estimators for each image, with their gradients.

    x (B, D), mu and logvar (B, d) detached -> elbo_a, elbo_b (R, B) and grads (2, R, B, 2d):
    the gradient of each single estimate with respect to its own image's (mu, logvar).
    The two estimators share the draws, so their difference is not blurred by sampling luck.
    """
    shape = (repeats, *mu.shape)
    m = mu.expand(shape).clone().requires_grad_(True)  # (R, B, d): one leaf per repeat
    lv = logvar.expand(shape).clone().requires_grad_(True)
    eps = torch.randn((L, *shape), generator=generator, dtype=mu.dtype, device=mu.device)
    z = m + torch.exp(0.5 * lv) * eps  # (L, R, B, d)
    logits, x_logvar = model.decode_logits(z)
    recon = recon_log_prob(model, x, logits, x_logvar).mean(0)  # (R, B)
    kl_mc = (log_normal_diag(z, m, lv) - log_std_normal(z)).mean(0)
    kl_exact = kl_std_normal(m, lv).sum(-1)
    elbo_a, elbo_b = recon - kl_mc, recon - kl_exact
    grads = []
    for i, est in enumerate((elbo_a, elbo_b)):
        g = torch.autograd.grad(est.sum(), (m, lv), retain_graph=i == 0)
        grads.append(torch.cat(g, -1))
    return elbo_a.detach(), elbo_b.detach(), torch.stack(grads)


def measure(
    model: VAE,
    x: torch.Tensor,
    Ls=DEFAULT_LS,
    repeats: int = 200,
    generator: torch.Generator | None = None,
) -> EstimatorStats:
    """Mean and variance of estimators A and B (value and gradient) over `repeats` draws per image.

    x: (N, D) or (N, C, H, W) pixels in [0, 1], as the model saw its data. Raises InputError for
    bad sizes. Without a generator, a fresh one seeded with 0 is used (repeatable).
    """
    if not isinstance(repeats, int) or isinstance(repeats, bool) or not 2 <= repeats <= 10_000:
        raise InputError(f"repeats must be an integer from 2 to 10000, got {repeats!r}")
    Ls = [int(v) for v in Ls]
    if not Ls or any(v < 1 or v > 1000 for v in Ls):
        raise InputError(f"each L must be from 1 to 1000, got {Ls}")
    x = check_images(x, model.config.input_shape).flatten(1)
    if len(x) < 1:
        raise InputError("need at least one image")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    model.eval()
    with torch.no_grad():
        mu, logvar = model.encode(x)
    out = {k: [] for k in ("mean_elbo_a", "mean_elbo_b", "var_elbo_a", "var_elbo_b", "var_grad_a", "var_grad_b")}
    for L in Ls:
        chunk = max(1, MAX_ROWS // (L * repeats))  # images per pass
        parts = [
            estimate_with_grad(model, x[i : i + chunk], mu[i : i + chunk], logvar[i : i + chunk], L, repeats, gen)
            for i in range(0, len(x), chunk)
        ]
        ea, eb = torch.cat([p[0] for p in parts], 1).double(), torch.cat([p[1] for p in parts], 1).double()
        g = torch.cat([p[2] for p in parts], 2).double()  # (2, R, N, 2d)
        out["mean_elbo_a"].append(ea.mean().item())
        out["mean_elbo_b"].append(eb.mean().item())
        out["var_elbo_a"].append(ea.var(0).mean().item())
        out["var_elbo_b"].append(eb.var(0).mean().item())
        gv = g.var(1).sum(-1).mean(-1)  # (2,)
        out["var_grad_a"].append(gv[0].item())
        out["var_grad_b"].append(gv[1].item())
    return EstimatorStats(L=Ls, images=len(x), repeats=repeats, **out)


def measure_checkpoint(path: str, images: int = 500, repeats: int = 200, seed: int = 0) -> dict:
    """The `estimators` CLI command: measure() on the first `images` test images stored in a
    checkpoint. Returns a JSON-able dict with the file, L and every statistic."""
    from .checkpoint import load_checkpoint

    if not isinstance(images, int) or images < 1:
        raise InputError(f"--images must be a positive integer, got {images!r}")
    ckpt = load_checkpoint(path)
    x = ckpt.sample_x()
    if x is None:
        raise InputError(f"{path} stores no test images to measure on; retrain it with --sample-size > 0")
    if ckpt.config.autoencoder:
        raise InputError(f"{path} is a plain autoencoder (z = mu, no noise): there is nothing to estimate")
    stats = measure(ckpt.model, x[:images], DEFAULT_LS, repeats, torch.Generator().manual_seed(seed))
    return {"path": str(path), "seed": seed, **stats.as_dict()}
