import hashlib

import numpy as np
import streamlit as st
import torch

from explorer import class_board, session, state
from explorer import latent_plane as plane
from explorer.draw_canvas import draw_canvas
from explorer.figures import latent_scatter
from explorer.i18n import class_names, tr
from explorer.layout import page_setup
from explorer.plain import shown
from explorer.widgets import show_image
from vae_core.data import encoder_input
from vae_core.errors import VAECoreError
from vae_core.images import MAX_IMAGE_BYTES, image_bytes_to_input
from vae_core.manifold import posterior_ellipse

PLANE = session.ENC

act = page_setup("Encode your own", "내 그림 인코딩")

ckpt = act.ckpt
cfg = ckpt.config
dataset_meta = ckpt.meta.get("dataset", {})
dataset = dataset_meta.get("name")
pixels = dataset_meta.get("pixels", "continuous")
st.title(tr("Encode your own image", "내 그림 인코딩"))
st.caption(
    tr(
        "Draw, upload or photograph a picture. It is converted like the {dataset} training images: "
        "grayscale, light on dark, cropped and centred, {h}×{w} pixels. PNG or JPEG, up to {mib} MiB.",
        "그림을 그리거나, 파일을 올리거나, 사진을 찍으세요. {dataset} 학습 이미지와 같은 방식으로 바꿉니다: "
        "흑백, 어두운 바탕에 밝은 획, 잘라서 가운데 맞춤, {h}×{w} 픽셀. PNG 또는 JPEG, 최대 {mib} MiB.",
        dataset=dataset,
        h=cfg.input_shape[1],
        w=cfg.input_shape[2],
        mib=MAX_IMAGE_BYTES // 2**20,
    )
)

modes = {"draw": tr("Draw", "그리기"), "upload": tr("Upload a file", "파일 올리기"), "camera": tr("Camera", "카메라")}
polarities = {"auto": tr("auto", "자동"), "keep": tr("keep", "그대로"), "invert": tr("invert", "반전")}
s_mu, s_logvar, s_labels = state.sample_latents(act.key, ckpt)
left, right = st.columns([2, 3], gap="large")


def read_image() -> torch.Tensor | None:
    """The user's image as the model's input (1, C*H*W), or None (with a hint or a message)."""
    mode = st.radio(
        tr("Image from", "이미지 출처"), list(modes), horizontal=True, key="enc_mode", format_func=modes.get
    )
    polarity = st.radio(
        tr("Polarity", "명암"),
        list(polarities),
        horizontal=True,
        key="enc_polarity",
        format_func=polarities.get,
        help=tr(
            "auto inverts images with a light background, so ink becomes light on dark as in the data.",
            "자동은 밝은 바탕의 이미지를 반전해, 데이터처럼 어두운 바탕에 밝은 획이 되게 합니다.",
        ),
    )
    name = None
    try:
        if mode == "draw":
            st.caption(
                tr(
                    "Draw in the box (mouse, finger or pen); it is encoded when you lift the pointer.",
                    "상자 안에 그리세요(마우스, 손가락, 펜). 손을 떼면 인코딩합니다.",
                )
            )
            name, data = tr("drawing", "그림"), draw_canvas("enc_canvas")
        elif mode == "upload":
            up = st.file_uploader(tr("Image file", "이미지 파일"), type=["png", "jpg", "jpeg"], key="enc_upload")
            name, data = (up.name, up.getvalue()) if up else (None, None)
        else:
            shot = st.camera_input(tr("Take a photo", "사진 찍기"), key="enc_camera")
            name, data = (tr("photo", "사진"), shot.getvalue()) if shot else (None, None)
        if data is None:
            st.info(
                tr(
                    "Draw, upload or photograph an image to see where it lands in the latent space.",
                    "이미지를 그리거나 올리거나 찍으면 잠재 공간의 어디에 놓이는지 보여 줍니다.",
                )
            )
            return None
        x = image_bytes_to_input(data, cfg.input_shape, polarity, dataset, drawing=mode == "draw")
    except VAECoreError as exc:
        st.error(tr("This image could not be used: ", "이 이미지는 쓸 수 없습니다: ") + shown(f"{name or ''}: {exc}"))
        return None
    if pixels in ("static", "dynamic"):  # the model saw 0/1 pixels only: give it the same
        x = encoder_input(x, pixels)
        st.caption(
            tr(
                "This model was trained on black-and-white pixels, so the image is thresholded at 0.5.",
                "이 모델은 흑백(0/1) 픽셀로 학습했으므로 이미지를 0.5에서 이진화합니다.",
            )
        )
    return x


with left:
    x = read_image()
star = None
if x is not None:
    with torch.no_grad():
        mu, logvar = (t[0].numpy() for t in ckpt.model.encode(x))
    session.ENCODED_MU.set(mu.tolist())  # for the Reparameterisation page
    session.ENCODED_LOGVAR.set(logvar.tolist())
    digest = hashlib.sha256(x.numpy().tobytes()).hexdigest()[:16] + act.key
    if session.ENC_DIGEST.get() != digest:  # a new image: the plane moves to its μ
        session.ENC_DIGEST.set(digest)
        plane.set_z(PLANE, mu)
    star = {"mu": mu.tolist(), "logvar": logvar.tolist()}
    sigma = np.exp(0.5 * logvar)
    with left:
        a, b = st.columns(2)
        seen = (x.view(*cfg.input_shape)[0].numpy() * 255).round().astype("uint8")
        show_image(seen, tr("what the encoder sees", "인코더가 보는 이미지"), 140, a)
        show_image(state.decode_one(ckpt, mu), tr("reconstruction (decoded μ)", "재구성 (μ를 디코딩)"), 140, b)
        st.markdown(f"μ = ({', '.join(f'{v:.2f}' for v in mu)})  \nσ = ({', '.join(f'{v:.3f}' for v in sigma)})")
        class_board.send_panel(ckpt, seen, mu, sigma)
with right:
    if star:
        st.caption(
            tr(
                "Your image is the yellow ★, its posterior μ ± 2σ the yellow ellipse, among the test set. "
                "Drag on the plane to decode the z around it.",
                "노란 ★이 내 이미지, 노란 타원이 그 사후분포의 μ ± 2σ이며, 점들은 테스트 세트입니다. "
                "평면을 끌면 주변 z를 디코딩합니다.",
            )
        )
    if plane.available():
        st.fragment(plane.latent_plane)(PLANE, act.key, ckpt, s_mu, s_logvar, s_labels, star=star, paths=False)
    elif star:  # no JavaScript component here (AppTest): a plotly figure
        fig = latent_scatter(
            s_mu,
            s_labels,
            class_names(ckpt.class_names),
            z=mu,
            ellipse=posterior_ellipse(mu, logvar),
            title=tr("Your image (★) with its posterior μ ± 2σ", "내 이미지(★)와 사후분포 μ ± 2σ"),
        )
        st.plotly_chart(fig, width="stretch", key="enc_scatter")
