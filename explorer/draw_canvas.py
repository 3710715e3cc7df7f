"""A drawing canvas (st.components.v2, inline, offline): draw with the mouse, a finger or a pen;
the drawing comes back to Python as PNG bytes when a stroke ends."""

from __future__ import annotations

import base64
import binascii

import streamlit as st

from vae_core.errors import ImageError
from vae_core.images import MAX_IMAGE_BYTES

from .i18n import tr

PREFIX = "data:image/png;base64,"
SIZE = 280  # the canvas's side in pixels
# The pen's width in canvas pixels: a digit drawn over half to two thirds of the canvas comes out with
# MNIST's median stroke (about 2.5 of 28 pixels); vae_core.images.restroke corrects the rest.
PEN = 20

_HTML = f"""
<div class="draw">
  <canvas width="{SIZE}" height="{SIZE}"></canvas>
  <button type="button"></button>
</div>
"""
_CSS = """
.draw { display: flex; flex-direction: column; gap: 6px; align-items: flex-start; }
.draw canvas { border: 1px solid #ccc; background: #fff; cursor: crosshair; touch-action: none; }
.draw button { font: inherit; padding: 2px 12px; }
"""
_JS = (
    f"const PEN = {PEN};\n"
    + """
export default function (component) {
  const { setStateValue, parentElement, data } = component;
  const canvas = parentElement.querySelector(".draw canvas");
  const button = parentElement.querySelector(".draw button");
  if (!canvas) return;
  button.textContent = data.clear;  // in the session's language, on every render
  canvas.setAttribute("aria-label", data.label);
  if (canvas.__ready) return;
  canvas.__ready = true;
  const ctx = canvas.getContext("2d");
  const clear = () => { ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height); };
  clear();
  ctx.strokeStyle = "#000"; ctx.lineWidth = PEN; ctx.lineCap = "round"; ctx.lineJoin = "round";
  let drawing = false;
  const at = (e) => { const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  canvas.addEventListener("pointerdown", (e) => { drawing = true; canvas.setPointerCapture(e.pointerId);
    const [x, y] = at(e); ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 0.1, y); ctx.stroke(); });
  canvas.addEventListener("pointermove", (e) => { if (!drawing) return; const [x, y] = at(e); ctx.lineTo(x, y); ctx.stroke(); });
  const end = () => { if (!drawing) return; drawing = false; setStateValue("png", canvas.toDataURL("image/png")); };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  button.addEventListener("click", () => { clear(); setStateValue("png", null); });
}
"""
)
_component = st.components.v2.component("vae_draw_canvas", html=_HTML, css=_CSS, js=_JS)


def png_from_data_url(url: str | None) -> bytes | None:
    """The PNG bytes of a canvas data URL, validated; None for an empty canvas."""
    if not url:
        return None
    if not isinstance(url, str) or not url.startswith(PREFIX) or len(url) > 2 * MAX_IMAGE_BYTES:
        raise ImageError("the drawing did not arrive as a PNG; clear the canvas and draw again")
    try:
        return base64.b64decode(url[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ImageError("the drawing arrived damaged; clear the canvas and draw again") from None


def draw_canvas(key: str) -> bytes | None:
    """Mount the canvas; returns the latest drawing as PNG bytes (None before the first stroke)."""
    texts = {"clear": tr("Clear", "지우기"), "label": tr("drawing canvas", "그림 그리는 곳")}
    result = _component(key=key, data=texts, default={"png": None}, on_png_change=lambda: None)
    return png_from_data_url(result.get("png") if hasattr(result, "get") else getattr(result, "png", None))
