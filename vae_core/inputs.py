"""Validation of arrays that reach the public functions from outside (users, browsers, files).

Each check returns a clean float32 tensor or raises InputError saying what was wrong.
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import InputError

Z_LIMIT = 10.0  # |z| beyond this is clamped: the prior puts ~1e-23 of its mass there
MAX_BATCH = 1_000_000


def _as_tensor(a, what: str) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        t = a.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(a))
        except (TypeError, ValueError, RuntimeError):
            raise InputError(f"{what} must be an array of numbers, got {type(a).__name__}") from None
    if t.dtype == torch.bool or not (
        t.dtype.is_floating_point or t.dtype in (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)
    ):
        raise InputError(f"{what} must hold real numbers, got dtype {t.dtype}")
    return t


def check_images(x, input_shape: tuple[int, ...]) -> torch.Tensor:
    """(N, D) or (N, C, H, W) pixels in [0, 1] -> (N, D) float32. NaN or inf is refused."""
    t = _as_tensor(x, "images")
    d = int(np.prod(input_shape))
    if t.ndim == 0 or t.ndim > 4 or t.numel() == 0:
        raise InputError(f"images must be a non-empty batch of shape (N, {d}) or (N, *{tuple(input_shape)})")
    if t.ndim == 1 or tuple(t.shape[-len(input_shape) :]) == tuple(input_shape) and t.ndim == len(input_shape):
        t = t.reshape(1, -1)  # a single image
    t = t.reshape(t.shape[0], -1)
    if t.shape[1] != d:
        raise InputError(f"each image must have {d} pixels {tuple(input_shape)}, got {t.shape[1]}")
    if t.shape[0] > MAX_BATCH:
        raise InputError(f"at most {MAX_BATCH} images at once, got {t.shape[0]}")
    t = t.float()
    if not torch.isfinite(t).all():
        raise InputError("images contain NaN or infinite pixels")
    if t.min() < 0 or t.max() > 1:
        raise InputError(f"pixels must lie in [0, 1], got values from {t.min():.3g} to {t.max():.3g}")
    return t


def check_latents(z, latent_dim: int) -> torch.Tensor:
    """(N, latent_dim) or (latent_dim,) -> (N, latent_dim) float32, clamped to +-Z_LIMIT. NaN is refused."""
    t = _as_tensor(z, "z")
    if t.ndim == 1:
        t = t.unsqueeze(0)
    if t.ndim != 2 or t.shape[1] != latent_dim or t.shape[0] == 0:
        raise InputError(f"z must have shape (N, {latent_dim}), got {tuple(t.shape)}")
    if t.shape[0] > MAX_BATCH:
        raise InputError(f"at most {MAX_BATCH} latent vectors at once, got {t.shape[0]}")
    t = t.double()
    if torch.isnan(t).any():
        raise InputError("z contains NaN; give finite numbers")
    return t.clamp(-Z_LIMIT, Z_LIMIT).float()
