import numpy as np
import streamlit as st
import torch

from explorer import state
from explorer.draw_canvas import draw_canvas
from explorer.figures import latent_scatter
from explorer.layout import page_setup
from explorer.widgets import show_image
from vae_core.errors import VAECoreError
from vae_core.images import MAX_IMAGE_BYTES, image_bytes_to_input
from vae_core.manifold import posterior_ellipse

act = page_setup("Encode your own", "내 그림 인코딩")

ckpt = act.ckpt
cfg = ckpt.config
dataset = ckpt.meta.get("dataset", {}).get("name")
st.title("Encode your own image")
st.caption(
    f"Draw, upload or photograph a picture. It is converted like the {dataset} training images: "
    f"grayscale, light on dark, cropped and centred, {cfg.input_shape[1]}×{cfg.input_shape[2]} pixels. "
    f"PNG or JPEG, up to {MAX_IMAGE_BYTES // 2**20} MiB."
)

mode = st.radio(
    "Image from",
    ["draw", "upload", "camera"],
    horizontal=True,
    key="enc_mode",
    format_func={"draw": "Draw", "upload": "Upload a file", "camera": "Camera"}.get,
)
polarity = st.radio(
    "Polarity",
    ["auto", "keep", "invert"],
    horizontal=True,
    key="enc_polarity",
    help="auto inverts images with a light background, so ink becomes light on dark as in the data.",
)
try:
    if mode == "draw":
        st.caption("Draw in the box (mouse, finger or pen); it is encoded when you lift the pointer.")
        name, data = "drawing", draw_canvas("enc_canvas")
    elif mode == "upload":
        up = st.file_uploader("Image file", type=["png", "jpg", "jpeg"], key="enc_upload")
        name, data = (up.name, up.getvalue()) if up else (None, None)
    else:
        shot = st.camera_input("Take a photo", key="enc_camera")
        name, data = ("photo", shot.getvalue()) if shot else (None, None)
    if data is None:
        st.info("Draw, upload or photograph an image to see where it lands in the latent space.")
        st.stop()
    x = image_bytes_to_input(data, cfg.input_shape, polarity, dataset)
except VAECoreError as exc:
    st.error(f"{name or 'image'}: {exc}")
    st.stop()

with torch.no_grad():
    mu, logvar = (t[0].numpy() for t in ckpt.model.encode(x))
st.session_state["encoded_mu"] = mu.tolist()
st.session_state["encoded_logvar"] = logvar.tolist()  # for the Reparameterisation page
sigma = np.exp(0.5 * logvar)
left, right = st.columns([1, 2])
with left:
    show_image((x.view(*cfg.input_shape)[0].numpy() * 255).round().astype("uint8"), "what the encoder sees", 180)
    show_image(state.decode_one(ckpt, mu), "reconstruction (decoded μ)", 180)
    st.markdown(f"μ = ({', '.join(f'{v:.2f}' for v in mu)})  \nσ = ({', '.join(f'{v:.3f}' for v in sigma)})")
with right:
    s_mu, _, s_labels = state.sample_latents(act.key, ckpt)
    fig = latent_scatter(
        s_mu,
        s_labels,
        ckpt.class_names,
        z=mu,
        ellipse=posterior_ellipse(mu, logvar),
        title="Your image (★) with its posterior μ ± 2σ, among the test set",
    )
    st.plotly_chart(fig, width="stretch", key="enc_scatter")
