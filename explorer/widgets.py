"""UI pieces that return values, shared by pages; and the plain-widget views used where the
latent plane's JavaScript cannot run (AppTest)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core.checkpoint import Checkpoint
from vae_core.manifold import circle_path, decode_images, line_path, png_bytes, posterior_ellipse, tile

from . import session, state
from .figures import latent_scatter, manifold_figure
from .i18n import tr
from .shared import of_model, shared

Z_SLIDER = 4.0  # sliders span [-4, 4]: 99.99% of the prior's mass per dimension


def set_z(z) -> None:
    """Move the latent sliders (call from a callback, before the sliders render)."""
    for i, v in enumerate(np.asarray(z, float)):
        session.WALK_SLIDER.of(i).set(float(np.clip(round(v, 2), -Z_SLIDER, Z_SLIDER)))


def latent_sliders(latent_dim: int, container=None) -> list[float]:
    """One slider per latent dimension; returns the current z."""
    box = container or st
    z = []
    for i in range(latent_dim):
        slider = session.WALK_SLIDER.of(i, default=0.0)
        slider.setdefault()
        z.append(box.slider(f"z{i + 1}", -Z_SLIDER, Z_SLIDER, step=0.01, key=slider.name))
    return z


def show_image(img: np.ndarray, caption: str | None = None, size: int = 224, container=None) -> None:
    """Show a small image enlarged with square pixels (no browser blur), as a PNG encoded once per
    distinct image (st.image would otherwise serve an opaque PNG re-encoded as JPEG, blurring pixel art)."""
    scale = max(1, size // max(img.shape[:2]))
    (container or st).image(shared(png_bytes, img, scale), caption=caption, output_format="PNG")


def _manifold_figure(ckpt: Checkpoint, key: str, grid: tuple, overlay: bool, presenting: bool):
    mosaic, z1, z2 = state.cached_manifold(key, ckpt, *grid)
    mu, _, labels = state.sample_latents(key, ckpt)
    points = (mu, labels, ckpt.class_names) if overlay else ()
    fig = manifold_figure(mosaic, z1, z2, grid[1], *points)
    if presenting:  # no fixed height, no title (the page's title says it): the figure fills its box
        # and its ticks and legend are large enough for the back of a room
        fig.update_layout(title_text=None, height=None, margin=dict(t=10, b=10), font=dict(size=18))
    return fig


def manifold_figure_of(act, grid: tuple, overlay: bool, presenting: bool = False):
    """The Manifold page's figure, built once per model, grid, overlay, language and mode, and
    shared by every session (plotly_chart copies a figure before it serialises it; nothing mutates it).
    `grid` is (n, spacing, lo, hi, rest) as given to state.cached_manifold."""
    return of_model(act.key, act.ckpt, _manifold_figure, act.key, grid, overlay, presenting)


def _grid_png(ckpt: Checkpoint, key: str, grid: tuple, scale: int) -> bytes:
    return png_bytes(state.cached_manifold(key, ckpt, *grid)[0], scale)


def manifold_png(act, grid: tuple, scale: int = 1) -> bytes:
    """PNG bytes of a model's grid (`grid` as for manifold_figure_of), encoded once."""
    return of_model(act.key, act.ckpt, _grid_png, act.key, grid, scale)


def decoded_caption(z) -> str:
    return tr("decoded z = ({z})", "z = ({z}) 디코딩", z=", ".join(f"{v:.2f}" for v in z))


def test_image_details(ckpt: Checkpoint, mu, logvar, labels, pick: int | None, size: int = 140) -> None:
    """A selected test image: its posterior, the original and the server's reconstruction."""
    if pick is None:
        return
    sigma = np.exp(0.5 * logvar[pick])
    st.markdown(
        tr(
            "**Test image #{i}** ({name}): μ = ({mu}), σ = ({sigma}); the dashed ellipse is μ ± 2σ of q(z|x).",
            "**테스트 이미지 #{i}** ({name}): μ = ({mu}), σ = ({sigma}); 점선 타원은 q(z|x)의 μ ± 2σ입니다.",
            i=pick,
            name=state.class_name(ckpt, int(labels[pick])),
            mu=", ".join(f"{v:.2f}" for v in mu[pick]),
            sigma=", ".join(f"{v:.3f}" for v in sigma),
        )
    )
    a, b, _ = st.columns([1, 1, 2])
    show_image(ckpt.sample_images[pick][0].numpy(), tr("original", "원본"), size, a)
    show_image(state.decode_one(ckpt, mu[pick]), tr("reconstruction (decoded μ)", "재구성 (μ를 디코딩)"), size, b)


def plain_walker(ckpt: Checkpoint, mu: np.ndarray, logvar: np.ndarray, labels: np.ndarray) -> None:
    """Walk with Streamlit widgets: sliders, the server's decoded image, a clickable scatter."""

    def on_pick() -> None:
        points = session.WALK_SCATTER.get().selection.get("points", [])
        idx = next((p.get("customdata") for p in points if p.get("customdata") is not None), None)
        if idx is not None and 0 <= int(idx) < len(mu):
            session.WALK.pick.set(int(idx))
            set_z(mu[int(idx)])

    d = ckpt.config.latent_dim
    left, right = st.columns([1, 2])
    with left:
        st.caption(
            tr(
                "Drag a slider: the decoder turns z into an image. Click a point on the right to jump to it.",
                "슬라이더를 움직이면 디코더가 z를 이미지로 바꿉니다. 오른쪽 점을 클릭하면 그 점으로 이동합니다.",
            )
        )
        z = latent_sliders(d)
        session.WALK.z.set(z)
        show_image(state.decode_one(ckpt, z), decoded_caption(z))
    pick = session.WALK.pick.get()
    ellipse = posterior_ellipse(mu[pick], logvar[pick]) if pick is not None else None
    with right:
        fig = latent_scatter(mu, labels, ckpt.class_names, z=z, ellipse=ellipse, title=tr("Latent space", "잠재 공간"))
        st.plotly_chart(fig, key=session.WALK_SCATTER.name, on_select=on_pick, selection_mode="points", width="stretch")
    test_image_details(ckpt, mu, logvar, labels, pick)


def plain_path_walk(ckpt: Checkpoint, mu: np.ndarray) -> None:
    """A path decoded on the server: a line between two test images or a circle around z."""
    d = ckpt.config.latent_dim
    st.subheader(tr("Walk a path", "경로 따라 걷기"))
    kinds = {
        "line": tr("between two test images", "두 테스트 이미지 사이"),
        "circle": tr("circle around z", "z 둘레의 원"),
    }
    kind = st.radio(tr("Path", "경로"), list(kinds), format_func=kinds.get, horizontal=True, key="path_kind")
    steps = st.slider(tr("Steps", "단계 수"), 5, 30, 12, key="path_steps")
    n = len(mu)
    if kind == "line":
        c = st.columns(2)
        i = int(c[0].number_input(tr("from test image #", "시작 테스트 이미지 #"), 0, n - 1, 0, key="path_from"))
        j = int(c[1].number_input(tr("to test image #", "끝 테스트 이미지 #"), 0, n - 1, min(1, n - 1), key="path_to"))
        path = line_path(mu[i], mu[j], steps)  # linear in z between the two posterior means
    else:
        radius = st.slider(tr("Radius", "반지름"), 0.1, 3.0, 1.5, key="path_radius")
        path = circle_path(session.WALK.z.get() or [0.0] * d, radius, steps)
    frames = decode_images(ckpt.model, path)
    st.image(tile(frames, steps, pad=1), width="stretch", caption=tr("decoded along the path", "경로를 따라 디코딩"))
