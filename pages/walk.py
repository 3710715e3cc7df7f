import time

import numpy as np
import streamlit as st

from explorer import state
from explorer.figures import latent_scatter
from explorer.latent_pad import latent_pad
from explorer.layout import page_setup
from explorer.widgets import latent_sliders, set_z, show_image, z_key
from vae_core.errors import VAECoreError
from vae_core.manifold import circle_path, clean_z, decode_images, line_path, posterior_ellipse, tile

act = page_setup("Walk", "잠재 공간 걷기")

ckpt = act.ckpt
d = ckpt.config.latent_dim
mu, logvar, labels = state.sample_latents(act.key, ckpt)
st.title("Walk the latent space")

if st.session_state.get("walk_model") != act.key:  # a new model: start at the origin
    st.session_state["walk_model"] = act.key
    st.session_state.pop("walk_pick", None)
    set_z(np.zeros(d))


def _on_pick() -> None:
    points = st.session_state["walk_scatter"].selection.get("points", [])
    idx = next((p.get("customdata") for p in points if p.get("customdata") is not None), None)
    if idx is not None and 0 <= int(idx) < len(mu):
        st.session_state["walk_pick"] = int(idx)
        set_z(mu[int(idx)])


def _on_pad() -> None:
    """The pad committed a z (release or keyboard): validate it, then move the sliders there."""
    value = st.session_state.get("latent_pad") or {}
    raw = value.get("z") if hasattr(value, "get") else None
    if raw is None:
        return
    try:
        set_z(clean_z(raw, d).tolist())
    except VAECoreError as exc:
        st.session_state["pad_error"] = str(exc)


if st.toggle(
    "Real-time latent pad",
    value=True,
    key="use_pad",
    help="Runs the decoder in your browser at every pointer move. Turn off to use only the sliders.",
):
    rest = [st.session_state.get(z_key(i), 0.0) for i in range(2, d)]
    latent_pad("latent_pad", ckpt, act.key, mu, labels, rest, on_change=_on_pad)
    if d > 2:
        st.caption(f"The pad moves z1 and z2; z3…z{d} are held at the slider values below.")
    if "pad_error" in st.session_state:
        st.warning(f"The pad sent an invalid z and it was ignored: {st.session_state.pop('pad_error')}")


@st.fragment
def walker() -> None:
    left, right = st.columns([1, 2])
    with left:
        st.caption("Drag a slider: the decoder turns z into an image. Click a point on the right to jump to it.")
        z = latent_sliders(d)
        st.session_state["walk_z"] = z
        show_image(state.decode_one(ckpt, z), f"decoded z = ({', '.join(f'{v:.2f}' for v in z)})")
    pick = st.session_state.get("walk_pick")
    ellipse = posterior_ellipse(mu[pick], logvar[pick]) if pick is not None else None
    with right:
        fig = latent_scatter(mu, labels, ckpt.class_names, z=z, ellipse=ellipse)
        st.plotly_chart(fig, key="walk_scatter", on_select=_on_pick, selection_mode="points", width="stretch")
    if pick is not None:
        sigma = np.exp(0.5 * logvar[pick])
        st.markdown(
            f"**Test example #{pick}** ({state.class_name(ckpt, int(labels[pick]))}): "
            f"μ = ({', '.join(f'{v:.2f}' for v in mu[pick])}), σ = ({', '.join(f'{v:.3f}' for v in sigma)}); "
            "the ellipse is μ ± 2σ of q(z|x)."
        )
        a, b, _ = st.columns([1, 1, 2])
        original = ckpt.sample_images[pick]
        show_image(original[0].numpy(), "original", 160, a)
        show_image(state.decode_one(ckpt, mu[pick]), "reconstruction (decoded μ)", 160, b)


walker()


@st.fragment
def path_walk() -> None:
    st.subheader("Walk a path")
    kind = st.radio(
        "Path", ["between two test images", "circle around the current z"], horizontal=True, key="path_kind"
    )
    steps = st.slider("Steps", 5, 30, 12, key="path_steps")
    n = len(mu)
    ends = None
    if kind.startswith("between"):
        c = st.columns(2)
        i = int(c[0].number_input("from test image #", 0, max(n - 1, 0), 0, key="path_from"))
        j = int(c[1].number_input("to test image #", 0, max(n - 1, 0), min(1, n - 1), key="path_to"))
        path = line_path(mu[i], mu[j], steps)  # linear in z between the two posterior means
        ends = (i, j)
    else:
        radius = st.slider("Radius", 0.1, 3.0, 1.5, key="path_radius")
        path = circle_path(st.session_state.get("walk_z", [0.0] * d), radius, steps)
    frames = decode_images(ckpt.model, path)
    strip = tile(frames, steps, pad=1)
    if ends:
        originals = ckpt.sample_images[list(ends)]
        c = st.columns([1, 8, 1])
        show_image(originals[0][0].numpy(), f"#{ends[0]}", 64, c[0])
        c[1].image(strip, width="stretch", caption="decoded along the path")
        show_image(originals[1][0].numpy(), f"#{ends[1]}", 64, c[2])
    else:
        st.image(strip, width="stretch", caption="decoded along the path")
    st.session_state["path_z"] = path.tolist()
    if st.button("▶ Animate", key="path_animate"):
        frame = st.empty()
        for k in range(steps):
            img = frames[k, 0].numpy() if frames.shape[1] == 1 else frames[k].permute(1, 2, 0).numpy()
            with frame.container():
                show_image(img, f"step {k + 1}/{steps}: z = ({', '.join(f'{v:.2f}' for v in path[k].tolist())})")
            time.sleep(0.08)


if len(mu):
    path_walk()
else:
    st.info("This checkpoint stores no test images, so there are no points to click or interpolate.")
