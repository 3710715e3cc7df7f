"""The latent plane (st.components.v2, inline HTML/CSS/JS, no CDN): one z, in the browser.

The browser owns the interaction and the server owns the truth. Dragging, touch, the arrow keys,
the per-dimension sliders, a click on a test point and path animation all move the same z in the
page, where the decoder runs; nothing reaches the server until the user lets go. Then the plane
sends its state "commit" ({z, pick, have, seq}), debounced; `_on_commit` validates it with
`vae_core.manifold.clean_z` and stores it, and the fragment around the plane reruns. A z set in
Python (a model switch, an encoded image, a reset) goes back to the plane as `z0` with a new
`z0_rev`, so the page never shows two z.

Two components share one JS module: a loader that receives the model as one binary blob
(`model_blob`: float16 matrices, float32 first layer and biases, the test points) and keeps it
in the browser, and the plane itself, whose data is a few hundred bytes. The loader is mounted
once per model and session (the blob stays in the page across page switches; a plane that finds
its model missing says so in its next commit and gets it again), so the weights cross the wire
once per model and browser session. Where no JavaScript component can run (AppTest, or a
Streamlit without st.components.v2) `available()` is False and pages use plain widgets.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import streamlit as st

from vae_core.checkpoint import Checkpoint
from vae_core.errors import VAECoreError
from vae_core.manifold import clean_z, decoder_layers

from .figures import PALETTE
from .i18n import both, class_names, lang, tr
from .session import SENT_MODELS, PlaneKeys
from .shared import of_model

PLANE_RANGE = 4.0  # the plane spans [-4, 4]^2 (99.99% of the prior per dimension) unless the data needs more
CALIBRATION_POINTS = 4096  # latent points used to choose each float16 weight's rounding

_JS = Path(__file__).with_name("latent_plane.js").read_text()
_CSS = """
.vp-host { container-type: inline-size; }
.vp { display: grid; grid-template-columns: minmax(0, 3fr) minmax(220px, 2fr); gap: 16px 24px;
      font-family: var(--st-font, sans-serif); font-size: 16px; color: var(--st-text-color, inherit); }
.vp-main { min-width: 0; }
.vp-plane { display: block; cursor: crosshair; touch-action: none; border-radius: 4px; }
.vp-plane:focus-visible { outline: 3px solid var(--st-primary-color, #ff4b4b); }
.vp-legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin-top: 6px; font-size: 15px; }
.vp-key { display: inline-flex; align-items: center; gap: 6px; }
.vp-swatch { width: 13px; height: 13px; border-radius: 2px; display: inline-block;
             outline: 1px solid var(--st-text-color, #333); outline-offset: 0; }
.vp-side { display: flex; flex-direction: column; gap: 10px; min-width: 0; }
.vp-imgbox { width: min(100%, 280px); }
.vp-decoded { width: 100%; aspect-ratio: 1; image-rendering: pixelated; background: #000; display: block;
              border-radius: 4px; }
.vp-z { font-family: var(--st-code-font, monospace); font-size: 16px; overflow-wrap: anywhere; }
.vp-pick { font-size: 15px; opacity: 0.85; }
.vp-sliders { display: flex; flex-direction: column; gap: 4px; }
.vp-slider { display: grid; grid-template-columns: 2.6em 1fr 3.6em; align-items: center; gap: 8px; }
.vp-slider input { width: 100%; height: 28px; accent-color: var(--st-primary-color, #ff4b4b); }
.vp-sval { font-family: var(--st-code-font, monospace); text-align: right; }
.vp-check { display: inline-flex; align-items: center; gap: 8px; min-height: 32px; }
.vp-check input { width: 20px; height: 20px; accent-color: var(--st-primary-color, #ff4b4b); }
.vp-path { grid-column: 1 / -1; display: flex; flex-direction: column; gap: 8px; }
.vp-prow { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 16px; }
.vp-path select, .vp-path input[type=number], .vp-play {
  font: inherit; font-size: 16px; min-height: 36px; padding: 2px 8px; border-radius: 6px;
  color: var(--st-text-color, inherit); background: var(--st-secondary-background-color, transparent);
  border: 1px solid var(--st-border-color, #bbb); }
.vp-num { display: inline-flex; align-items: center; gap: 6px; }
.vp-num input { width: 5.5em; }
.vp-play { min-width: 8em; cursor: pointer; }
.vp-strip { width: 100%; display: block; cursor: pointer; }
.vp-msg { grid-column: 1 / -1; font-size: 15px; }
.vp-msg:empty { display: none; }
@container (max-width: 640px) {
  .vp { grid-template-columns: minmax(0, 1fr); }
  .vp-side { display: grid; grid-template-columns: 40% minmax(0, 1fr); gap: 8px 12px; align-items: start; }
  .vp-imgbox { width: 100%; grid-row: span 3; }
  .vp-sliders, .vp-check { grid-column: 1 / -1; }
}
"""

try:
    _plane = st.components.v2.component(
        "vae_latent_plane",
        html='<div class="vp-host"><div class="vp" aria-label="latent plane"></div></div>',
        css=_CSS,
        js=_JS,
    )
    _loader = st.components.v2.component("vae_latent_plane_model", html="", js=_JS)
except AttributeError:  # a Streamlit without st.components.v2
    _plane = _loader = None


PLAIN_WIDGETS_ENV = "VAE_EXPLORER_PLAIN_WIDGETS"  # "1": plain widgets instead of the JS plane


def available() -> bool:
    """Whether pages mount the JS plane. False without st.components.v2, or when the operator
    (or a test: AppTest runs no JavaScript) sets VAE_EXPLORER_PLAIN_WIDGETS=1; pages then use
    plain Streamlit widgets."""
    return _plane is not None and os.environ.get(PLAIN_WIDGETS_ENV) != "1"


# ---- the model, as the browser receives it -------------------------------------------------


def round_to_float16(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    """float16 values for the weights w (out, in) that keep x @ w.T close to the float32 result.

    Plain rounding of each weight loses up to 2e-3 per pixel on the output of a 784-wide decoder;
    here each column is rounded in turn and its rounding error is pushed onto the columns not yet
    rounded, weighted by how the inputs x (n, in) co-vary (the GPTQ scheme), which keeps the
    decoded images within about 2e-4 of PyTorch's.
    """
    w = w.astype(np.float64).copy()
    h = x.T @ x / max(len(x), 1)
    h += np.eye(len(h)) * (1e-2 * float(np.mean(np.diag(h))) + 1e-8)
    u = np.linalg.cholesky(np.linalg.inv(h)).T  # upper triangular, (in, in)
    q = np.empty(w.shape, np.float16)
    for c in range(w.shape[1]):
        q[:, c] = w[:, c].astype(np.float16)
        err = (w[:, c] - q[:, c].astype(np.float64)) / u[c, c]
        w[:, c + 1 :] -= np.outer(err, u[c, c + 1 :])
    return q


def _activate(x: np.ndarray, activation: str) -> np.ndarray:
    return np.maximum(x, 0) if activation == "relu" else np.tanh(x)


def float16_decoder(ckpt: Checkpoint, z_range: float = PLANE_RANGE) -> list[tuple[np.ndarray, np.ndarray]]:
    """The decoder as sent: the first layer and all biases float32, the other matrices float16."""
    layers = decoder_layers(ckpt.model)
    d = ckpt.config.latent_dim
    rng = np.random.default_rng(0)  # a local generator: the server's global RNG is not touched
    x = rng.uniform(-z_range, z_range, (CALIBRATION_POINTS, d))
    out = [(layers[0][0].astype(np.float32), layers[0][1].astype(np.float32))]
    for i, (w, b) in enumerate(layers):
        if i > 0:
            out.append((round_to_float16(w, x), b.astype(np.float32)))
        x = _activate(x @ w.T.astype(np.float64) + b, ckpt.config.activation)
    return out


def decode_like_the_browser(layers, activation: str, z: np.ndarray) -> np.ndarray:
    """What the JS decoder computes (float64 sums of the sent weights): (N, C*H*W) pixel means."""
    x = np.asarray(z, np.float64)
    for i, (w, b) in enumerate(layers):
        x = x @ w.astype(np.float64).T + b.astype(np.float64)
        x = 1 / (1 + np.exp(-x)) if i == len(layers) - 1 else _activate(x, activation)
    return x


def plane_range(mu: np.ndarray) -> float:
    """The half-width of the plane: 4, or more when over 1% of the test points lie beyond it."""
    if not len(mu):
        return PLANE_RANGE
    q = float(np.quantile(np.abs(mu[:, :2]), 0.99))
    return float(max(PLANE_RANGE, np.ceil(q)))


def _plane_range(model_key: str, ckpt: Checkpoint) -> float:
    """plane_range of the model's test means, computed once per model (a quantile over every point)."""
    return of_model(model_key, ckpt, _range_of, model_key)


def _range_of(ckpt: Checkpoint, key: str) -> float:
    from .state import sample_latents

    return plane_range(sample_latents(key, ckpt)[0])


def model_blob(key: str, ckpt: Checkpoint) -> bytes:
    """The model as the browser receives it (encode_blob of its test sample), once per model."""
    return of_model(key, ckpt, _blob_of, key)


def _blob_of(ckpt: Checkpoint, key: str) -> bytes:
    from .state import sample_latents

    return encode_blob(key, ckpt, *sample_latents(key, ckpt))


def encode_blob(key: str, _ckpt: Checkpoint, mu: np.ndarray, logvar: np.ndarray, labels: np.ndarray) -> bytes:
    """One model for the browser: a little-endian uint32 header length, a JSON header (padded to
    4 bytes), then the arrays it lists (offsets from the header's end, 4-byte aligned): decoder weights, test means (N, d), log-variances
    of the first two dims (N, 2) and labels (N,)."""
    cfg = _ckpt.config
    d = cfg.latent_dim
    arrays: list[tuple[str, np.ndarray]] = []
    for i, (w, b) in enumerate(float16_decoder(_ckpt, plane_range(mu))):
        arrays += [(f"w{i}", w), (f"b{i}", b)]
    lv2 = np.zeros((len(logvar), 2), np.float16)
    lv2[:, : min(d, 2)] = logvar[:, :2]
    arrays += [("mu", mu.astype(np.float16)), ("logvar2", lv2), ("labels", labels.astype(np.uint8))]
    layers = [{"rows": int(w.shape[0]), "cols": int(w.shape[1])} for name, w in arrays if name.startswith("w")]
    specs, offset = [], 0
    for name, a in arrays:  # offsets from the end of the (padded) header
        specs.append({"name": name, "dtype": {2: "f2", 4: "f4", 1: "u1"}[a.dtype.itemsize], "size": int(a.size)})
        specs[-1]["offset"] = offset
        offset += -(-a.nbytes // 4) * 4
    head = {"model_key": key, "activation": cfg.activation, "shape": list(cfg.input_shape), "latent_dim": d}
    text = json.dumps({**head, "layers": layers, "arrays": specs}).encode()
    text += b" " * (-len(text) % 4)
    parts = [len(text).to_bytes(4, "little"), text]
    for _, a in arrays:
        raw = np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes()
        parts.append(raw + b"\0" * (-len(raw) % 4))
    return b"".join(parts)


def weight_bytes(ckpt: Checkpoint) -> int:
    """Bytes of decoder weights in the blob (float16 matrices, float32 first layer and biases)."""
    return sum(w.nbytes + b.nbytes for w, b in float16_decoder(ckpt))


# ---- state: the z the server holds (its keys: session.PlaneKeys) -------------------------


def get_z(keys: PlaneKeys) -> list[float] | None:
    return keys.z.get()


def get_pick(keys: PlaneKeys) -> int | None:
    return keys.pick.get()


def set_z(keys: PlaneKeys, z, pick: int | None = None) -> None:
    """Python moves z (the plane follows: a new z0_rev)."""
    keys.z.set([float(v) for v in np.asarray(z, np.float64).ravel()])
    keys.pick.set(pick)
    keys.rev.set(keys.rev.get() + 1)


def parse_commit(commit, latent_dim: int, n_points: int) -> tuple[list[float], int | None, list[str]]:
    """Validate what the browser sent: (z, pick, models it has). Raises VAECoreError for a bad z."""
    if not isinstance(commit, dict) or "z" not in commit:
        raise VAECoreError("the plane sent no z; move the crosshair again")
    z = clean_z(commit["z"], latent_dim).tolist()
    pick = commit.get("pick")
    pick = int(pick) if isinstance(pick, int) and not isinstance(pick, bool) and 0 <= pick < n_points else None
    have = [h for h in commit.get("have") or [] if isinstance(h, str)][:8]
    return z, pick, have


PATH_DEFAULT = {"kind": "none", "from": 0, "to": 1, "radius": 1.5, "frames": 12, "fps": 6, "loop": True}


def _bounded(value, kind: type, lo: float, hi: float, default):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        return default
    return kind(min(max(value, lo), hi))


def clean_path(path, n_points: int) -> dict:
    """The plane's path settings from the browser (or a link), each field checked; a bad field
    takes its default. Keys as in PATH_DEFAULT (the JS plane's names)."""
    path = path if isinstance(path, dict) else {}
    top = max(n_points - 1, 0)
    kind = path.get("kind")
    return {
        "kind": kind if kind in ("none", "line", "circle") else "none",
        "from": _bounded(path.get("from"), int, 0, top, 0),
        "to": _bounded(path.get("to"), int, 0, top, min(1, top)),
        "radius": _bounded(path.get("radius"), float, 0.1, 3.0, 1.5),
        "frames": _bounded(path.get("frames"), int, 2, 60, 12),
        "fps": _bounded(path.get("fps"), int, 1, 30, 6),
        "loop": path.get("loop") if isinstance(path.get("loop"), bool) else True,
    }


def set_view(keys: PlaneKeys, path: dict | None, grid: bool | None) -> None:
    """Python (a link, a lesson step) sets the path and the background layer (the plane follows)."""
    if path is not None:
        keys.path.set(path)
    if grid is not None:
        keys.grid.set(grid)
    keys.view_rev.set(keys.view_rev.get() + 1)


def _on_commit(keys: PlaneKeys, latent_dim: int, n_points: int) -> None:
    value = keys.component.get() or {}
    try:
        z, pick, have = parse_commit(value.get("commit") if hasattr(value, "get") else None, latent_dim, n_points)
    except VAECoreError as exc:
        keys.error.set(str(exc))
        return
    keys.z.set(z)
    keys.pick.set(pick)
    commit = value.get("commit") or {}
    if "path" in commit:
        keys.path.set(clean_path(commit["path"], n_points))
    if isinstance(commit.get("grid"), bool):
        keys.grid.set(commit["grid"])
    # The browser says which models it holds: one it lacks (a failed load) is sent again.
    SENT_MODELS.set([m for m in SENT_MODELS.get() if m in have])
    keys.echo.set(True)  # the browser already shows this z


# The plane's labels, (English, Korean); the session's language is picked on each run.
TEXTS = {
    "grid": both("Decoded manifold as background", "배경에 디코딩된 매니폴드 표시"),
    "loading": both("Loading the model into your browser…", "모델을 브라우저로 불러오는 중…"),
    "picked": both("Selected: test image #{i} ({name})", "선택: 테스트 이미지 #{i} ({name})"),
    "click_hint": both(
        "Drag on the plane, use the arrow keys or the sliders, or click a point.",
        "평면을 끌거나, 화살표 키나 슬라이더를 쓰거나, 점을 클릭하세요.",
    ),
    "path": both("Path", "경로"),
    "path_none": both("none", "없음"),
    "path_line": both("line between two test images", "두 테스트 이미지 사이의 직선"),
    "path_circle": both("circle around z", "z 둘레의 원"),
    "from": both("from #", "시작 #"),
    "to": both("to #", "끝 #"),
    "radius": both("radius", "반지름"),
    "frames": both("frames", "프레임 수"),
    "fps": both("frames/s", "초당 프레임"),
    "loop": both("loop", "반복"),
    "play": both("Play", "재생"),
    "pause": both("Pause", "일시 정지"),
    "strip": both("decoded frames along the path", "경로를 따라 디코딩한 프레임"),
}


def _texts() -> dict:
    i = 1 if lang() == "ko" else 0
    return {k: v[i] for k, v in TEXTS.items()}


def latent_plane(
    keys: PlaneKeys,
    model_key: str,
    ckpt: Checkpoint,
    mu: np.ndarray,
    logvar: np.ndarray,
    labels: np.ndarray,
    *,
    star: dict | None = None,
    paths: bool = True,
    hide: frozenset[str] = frozenset(),
) -> None:
    """Mount the plane (and, when the browser lacks this model, its loader).

    Call inside an `st.fragment`: a commit reruns only that fragment. Read the result with
    `get_z(keys)` and `get_pick(keys)`; move it from Python with `set_z(keys, ...)`.
    `star`: {"mu": [...], "logvar": [...]} of an encoded image, drawn as a star and its ellipse.
    """
    d = ckpt.config.latent_dim
    if get_z(keys) is None or len(get_z(keys)) != d:
        set_z(keys, np.zeros(d))
    sent = SENT_MODELS.setdefault()
    if model_key not in sent:  # once per model and session: the page keeps it across page switches
        _loader(key=keys.loader.name, data=model_blob(model_key, ckpt), height="content")
        sent.append(model_key)
    rev = keys.rev.get()
    z0, pick = get_z(keys), get_pick(keys)
    last = keys.sent.get()
    if keys.echo.pop() and last and last[0] == (model_key, rev):
        # After a commit the plane already shows z: send the same data as before, so the element
        # is byte-identical and Streamlit sends the browser a reference to it, not its 40 kB again.
        z0, pick = last[1], last[2]
    keys.sent.set(((model_key, rev), z0, pick))
    data = {
        "instance": keys.instance,
        "model_key": model_key,
        "z0": z0,
        "z0_rev": rev,
        "pick": pick,
        "star": star,
        "paths": paths and len(mu) > 0,
        "range": _plane_range(model_key, ckpt),
        "class_names": class_names(ckpt.class_names),
        "colors": PALETTE,
        "texts": _texts(),
        "path0": keys.path.get(),
        "grid0": keys.grid.get(),
        "view_rev": keys.view_rev.get(),
        "hide": sorted(hide),
    }
    _plane(
        key=keys.component.name,
        data=data,
        default={"commit": None},
        on_commit_change=functools.partial(_on_commit, keys, d, len(mu)),
    )
    error = keys.error.pop()
    if error is not None:
        st.warning(tr("The plane sent a z that was refused: ", "평면에서 보낸 z를 받아들일 수 없었습니다: ") + error)
