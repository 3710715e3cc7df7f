"""The real-time latent pad (st.components.v2): the decoder runs in the browser on every
pointer move; the chosen z comes back to Python on release and on keyboard moves.

Everything is inline (no CDN), so it works offline. The payload is constant per model, so
Streamlit's message cache sends the weights once per browser session and model.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import numpy as np
import streamlit as st

from vae_core.checkpoint import Checkpoint
from vae_core.manifold import decoder_layers

from .figures import PALETTE

PAD_RANGE = 4.0  # the pad spans [-4, 4] in both dimensions
PAD_PIXELS = 360
_JS = (Path(__file__).with_name("latent_pad.js")).read_text()
_HTML = f"""
<div class="latent-pad">
  <canvas class="pad" width="{PAD_PIXELS}" height="{PAD_PIXELS}" tabindex="0"
          aria-label="Latent plane: drag, or use the arrow keys (Shift for bigger steps), to move z"></canvas>
  <div class="side">
    <canvas class="decoded" width="224" height="224" aria-label="decoded image"></canvas>
    <div class="zlabel"></div>
    <div class="hint">Drag on the plane (or focus it and use the arrow keys). The decoder runs in your browser.</div>
  </div>
</div>
"""
_CSS = """
.latent-pad { display: flex; gap: 16px; align-items: flex-start; flex-wrap: wrap; font-family: sans-serif; }
.latent-pad .pad { border: 1px solid #ccc; cursor: crosshair; touch-action: none; max-width: 100%; }
.latent-pad .pad:focus { outline: 2px solid var(--st-primary-color, #ff4b4b); }
.latent-pad .decoded { border: 1px solid #ccc; image-rendering: pixelated; background: #000; }
.latent-pad .zlabel { font-family: monospace; margin-top: 6px; }
.latent-pad .hint { color: #777; font-size: 12px; max-width: 224px; margin-top: 6px; }
"""
_component = st.components.v2.component("vae_latent_pad", html=_HTML, css=_CSS, js=_JS)


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


@st.cache_data(max_entries=32, show_spinner=False)
def pad_payload(key: str, _ckpt: Checkpoint, mu: np.ndarray, labels: np.ndarray) -> dict:
    """Everything the pad needs for one model, as JSON (float32 arrays in base64)."""
    layers = [
        {"w": _b64(w.astype(np.float32)), "b": _b64(b.astype(np.float32)), "rows": w.shape[0], "cols": w.shape[1]}
        for w, b in decoder_layers(_ckpt.model)
    ]
    pts = mu[:, :2] if mu.shape[1] >= 2 else np.c_[mu[:, :1], np.zeros(len(mu))]
    cfg = _ckpt.config
    return {
        "model_key": key,
        "layers": layers,
        "activation": cfg.activation,
        "shape": list(cfg.input_shape),
        "latent_dim": cfg.latent_dim,
        "points": _b64(pts.astype(np.float32)),
        "labels": _b64(labels.astype(np.uint8)),
        "colors": PALETTE,
        "range": PAD_RANGE,
    }


def payload_bytes(payload: dict) -> int:
    """Size of the weights as sent (base64 text), in bytes."""
    return sum(len(layer["w"]) + len(layer["b"]) for layer in payload["layers"])


def latent_pad(
    key: str,
    ckpt: Checkpoint,
    model_key: str,
    mu: np.ndarray,
    labels: np.ndarray,
    rest: list[float],
    on_change: Callable[[], None] | None = None,
):
    """Mount the pad; returns the component's result (its `z` is the last committed z, or None)."""
    data = {**pad_payload(model_key, ckpt, mu, labels), "rest": list(rest), "instance": key}
    return _component(key=key, data=data, default={"z": None}, on_z_change=on_change or (lambda: None))
