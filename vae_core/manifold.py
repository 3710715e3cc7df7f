"""Latent grids and paths, decoding them, and tiling decoded images into one mosaic.

The paper's Fig. 4: "linearly spaced coordinates on the unit square were transformed
through the inverse CDF of the Gaussian to produce values of the latent variables z".
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch

from .checkpoint import to_uint8
from .errors import ConfigError, InputError
from .inputs import Z_LIMIT, check_latents
from .model import VAE

MIN_GRID, MAX_GRID = 2, 40
# The default latent square, (lo, hi) per dimension: ±3 prior standard deviations, 99.7% of its mass.
LATENT_SQUARE = ((-3.0, -3.0), (3.0, 3.0))
SPACINGS = ("icdf", "linear")
SMALL_IMAGE = 16  # images below this many pixels a side are enlarged and separated in mosaics
MIN_TILE = 28  # ...to at least this many pixels a side (8x8 digits -> 32x32)
GAP, GAP_VALUE = 2, 110  # pixels between enlarged tiles, and their grey (ink is light on dark)


def clean_z(z, latent_dim: int) -> torch.Tensor:
    """One latent vector from outside (a browser, a file): finite, right length, clamped.

    Returns a float32 tensor (latent_dim,); raises InputError for NaN or a wrong length.
    """
    t = check_latents(z, latent_dim)
    if t.shape[0] != 1:
        raise InputError(f"z must be one vector of {latent_dim} values, got {t.shape[0]}")
    return t[0]


def grid_axes(n: int, spacing: str = "icdf", lo=(-3.0, -3.0), hi=(3.0, 3.0)) -> tuple[np.ndarray, np.ndarray]:
    """The z1 and z2 values of an n x n grid, each (n,), ascending."""
    if not isinstance(n, int) or isinstance(n, bool) or not MIN_GRID <= n <= MAX_GRID:
        raise ConfigError(f"grid size must be an integer from {MIN_GRID} to {MAX_GRID}, got {n!r}")
    if spacing == "icdf":
        u = (np.arange(n) + 0.5) / n  # cell centres of the unit square: never 0 or 1
        v = math.sqrt(2) * _erfinv(2 * u - 1)
        return v, v.copy()
    if spacing == "linear":
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        if lo.shape != (2,) or hi.shape != (2,) or not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise ConfigError("linear spacing needs finite (z1, z2) bounds lo and hi")
        if (hi <= lo).any():
            raise ConfigError(f"each upper bound must exceed its lower bound, got lo={lo.tolist()} hi={hi.tolist()}")
        lo, hi = lo.clip(-Z_LIMIT, Z_LIMIT), hi.clip(-Z_LIMIT, Z_LIMIT)
        return np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    raise ConfigError(f"spacing must be one of {SPACINGS}, got {spacing!r}")


def _erfinv(y: np.ndarray) -> np.ndarray:
    return torch.erfinv(torch.as_tensor(y, dtype=torch.float64)).numpy()


def latent_grid(z1: np.ndarray, z2: np.ndarray, latent_dim: int = 2, rest=None) -> torch.Tensor:
    """Grid points (n2 * n1, latent_dim), row-major with the top row at the largest z2.

    Dimensions beyond the first two are held at `rest`: latent_dim - 2 finite numbers (default
    all 0, the prior's mean). Raises InputError for a `rest` of another length or with NaN/inf.
    """
    zz1, zz2 = np.meshgrid(z1, z2[::-1])  # image rows go down as z2 goes down
    z = np.zeros((zz1.size, latent_dim), np.float32)
    z[:, 0] = zz1.ravel()
    if latent_dim > 1:
        z[:, 1] = zz2.ravel()
    if rest is not None:
        z[:, 2:] = _check_rest(rest, latent_dim)
    return torch.from_numpy(z)


def _check_rest(rest, latent_dim: int) -> np.ndarray:
    n = max(0, latent_dim - 2)
    try:
        r = np.asarray(rest, np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"rest must be {n} numbers (the latent dimensions after the first two)") from None
    if r.size != n:
        raise InputError(f"rest must have {n} values for a {latent_dim}-D latent (dimensions 3..), got {r.size}")
    if not np.isfinite(r).all():
        raise InputError("rest contains NaN or infinite values; give finite numbers")
    return r.clip(-Z_LIMIT, Z_LIMIT).astype(np.float32)


def tile(images: torch.Tensor, ncol: int, pad: int = 0, pad_value: int = 255) -> np.ndarray:
    """(N, C, H, W) uint8 -> one mosaic (rows*H, ncol*W) (or (..., C) for C > 1) as numpy."""
    n, c, h, w = images.shape
    rows = math.ceil(n / ncol)
    if rows * ncol != n:
        blank = torch.full((rows * ncol - n, c, h, w), pad_value, dtype=images.dtype)
        images = torch.cat([images, blank])
    if pad:
        images = torch.nn.functional.pad(images, (0, pad, 0, pad), value=pad_value)
        h, w = h + pad, w + pad
    mosaic = images.view(rows, ncol, c, h, w).permute(0, 3, 1, 4, 2).reshape(rows * h, ncol * w, c)
    if pad:
        mosaic = mosaic[:-pad, :-pad]
    out = mosaic.numpy()
    return out[..., 0] if c == 1 else out


def legible_scale(h: int, w: int) -> int:
    """Nearest-neighbour enlargement that makes a small image readable as a tile (1: none)."""
    side = max(h, w)
    return 1 if side >= SMALL_IMAGE else math.ceil(MIN_TILE / side)


def legible_tile(images: torch.Tensor, ncol: int, gap: bool | None = None) -> np.ndarray:
    """tile() for mosaics people read: small images (8x8 digits) are enlarged by repeating pixels
    and separated by a grey gap, so neighbouring tiles cannot merge into stripes. Images of
    SMALL_IMAGE pixels or more a side are tiled as they are, with the gap only if `gap` is True
    (a gallery of separate samples, not a continuous manifold)."""
    s = legible_scale(*images.shape[-2:])
    if s > 1:
        images = images.repeat_interleave(s, -2).repeat_interleave(s, -1)
    if gap if gap is not None else s > 1:
        return tile(images, ncol, pad=GAP, pad_value=GAP_VALUE)
    return tile(images, ncol)


@torch.no_grad()
def decode_images(model: VAE, z: torch.Tensor, batch: int = 4096) -> torch.Tensor:
    """z (N, latent_dim) -> uint8 images (N, C, H, W) on the CPU. Raises InputError for bad z."""
    z = check_latents(z, model.config.latent_dim)
    device = next(model.parameters()).device
    out = [to_uint8(model.decode(z[i : i + batch].to(device))).cpu() for i in range(0, len(z), batch)]
    return torch.cat(out) if out else torch.empty(0, *model.config.input_shape, dtype=torch.uint8)


def manifold_image(
    model: VAE, n: int = 20, spacing: str = "icdf", lo=(-3.0, -3.0), hi=(3.0, 3.0), rest=None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Fig. 4 mosaic, uint8 (n*H, n*W) (small images: enlarged, with gaps; see legible_tile),
    and its axes z1, z2 (each ascending)."""
    z1, z2 = grid_axes(n, spacing, lo, hi)
    z = latent_grid(z1, z2, model.config.latent_dim, rest)
    return legible_tile(decode_images(model, z), n), z1, z2


def data_range(mu, q: float = 0.01) -> tuple[list[float], list[float]]:
    """Where encoded data lies: the q and 1-q quantiles of the first two dims of mu (N, d)."""
    m = torch.as_tensor(mu)[:, :2].double()
    if m.shape[1] == 1:
        m = torch.cat([m, torch.zeros_like(m)], 1)
    lo = torch.quantile(m, q, dim=0).tolist()
    hi = torch.quantile(m, 1 - q, dim=0).tolist()
    hi = [max(h, l_ + 1e-3) for l_, h in zip(lo, hi)]
    return lo, hi


def line_path(z_from, z_to, steps: int) -> torch.Tensor:
    """(steps, d) points linearly from z_from to z_to, both ends included."""
    a, b = torch.as_tensor(z_from, dtype=torch.float32), torch.as_tensor(z_to, dtype=torch.float32)
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    return (1 - t) * a + t * b


def circle_path(center, radius: float, steps: int) -> torch.Tensor:
    """(steps, d) points on a circle in the first two dims around center, other dims fixed."""
    c = torch.as_tensor(center, dtype=torch.float32)
    angle = torch.linspace(0, 2 * math.pi, steps + 1)[:-1]
    z = c.repeat(steps, 1)
    z[:, 0] += radius * torch.cos(angle)
    z[:, 1] += radius * torch.sin(angle)
    return z


def posterior_ellipse(mu, logvar, n_sigma: float = 2.0, points: int = 60) -> np.ndarray:
    """The mu +- n_sigma * sigma ellipse of q(z|x) in its first two dims: (points, 2)."""
    mu = np.pad(np.asarray(mu, float).ravel()[:2], (0, 2))[:2]
    sigma = np.pad(np.exp(0.5 * np.asarray(logvar, float).ravel()[:2]), (0, 2))[:2]  # 1-D: a segment on z2 = 0
    t = np.linspace(0, 2 * np.pi, points)
    return np.stack([mu[0] + n_sigma * sigma[0] * np.cos(t), mu[1] + n_sigma * sigma[1] * np.sin(t)], 1)


def png_bytes(image: np.ndarray, scale: int = 1) -> bytes:
    """Encode a uint8 (H, W) or (H, W, C) array as PNG, optionally enlarged by pixel repeats."""
    from PIL import Image

    if scale > 1:
        image = image.repeat(scale, 0).repeat(scale, 1)
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return buf.getvalue()


def decoder_layers(model: VAE) -> list[tuple[np.ndarray, np.ndarray]]:
    """The decoder's mean path as (W (out, in), b (out,)) float32 pairs, input to output.

    Every layer but the last is followed by the model's activation, the last by a sigmoid;
    this is all a client needs to run the decoder itself (the latent plane runs it in JS).
    """
    linears = [m for m in model.decoder if isinstance(m, torch.nn.Linear)] + [model.dec_out]
    return [
        (lin.weight.detach().cpu().float().numpy().copy(), lin.bias.detach().cpu().float().numpy().copy())
        for lin in linears
    ]
