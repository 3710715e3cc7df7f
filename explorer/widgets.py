"""UI pieces that return values, shared by pages."""

from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core.manifold import png_bytes

Z_SLIDER = 4.0  # sliders span [-4, 4]: 99.99% of the prior's mass per dimension


def z_key(i: int) -> str:
    return f"walk_z{i}"


def set_z(z) -> None:
    """Move the latent sliders (call from a callback, before the sliders render)."""
    for i, v in enumerate(np.asarray(z, float)):
        st.session_state[z_key(i)] = float(np.clip(round(v, 2), -Z_SLIDER, Z_SLIDER))


def latent_sliders(latent_dim: int, container=None) -> list[float]:
    """One slider per latent dimension; returns the current z."""
    box = container or st
    z = []
    for i in range(latent_dim):
        st.session_state.setdefault(z_key(i), 0.0)
        z.append(box.slider(f"z{i + 1}", -Z_SLIDER, Z_SLIDER, step=0.01, key=z_key(i)))
    return z


def show_image(img: np.ndarray, caption: str | None = None, size: int = 224, container=None) -> None:
    """Show a small image enlarged with square pixels (no browser blur)."""
    scale = max(1, size // max(img.shape[:2]))
    (container or st).image(png_bytes(img, scale), caption=caption)
