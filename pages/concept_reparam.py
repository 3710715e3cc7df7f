import numpy as np
import streamlit as st
import torch

from explorer import session, state
from explorer.concept_figures import mu_sigma_bars, posterior_plane
from explorer.i18n import tr
from explorer.layout import page_setup
from explorer.shared import shared
from explorer.widgets import show_image
from vae_core.concepts import draw_eps, reparam_gradients, reparameterise
from vae_core.manifold import decode_images, legible_tile

act = page_setup("Reparameterisation", "재매개변수화")
ckpt, cfg = act.ckpt, act.ckpt.config

EPS, TARGET = session.REP_EPS, session.REP_TARGET  # the draws of ε so far; where a burst ends
BURST, FRAME = 50, 3  # draws per burst, draws added per animation frame
st.title(tr("The reparameterisation trick, step by step", "재매개변수화 트릭, 한 단계씩"))
st.markdown(
    tr(
        "The encoder gives a Gaussian q(z|x) = N(μ, diag(σ²)). Sampling z from it directly would block the "
        "gradient, so the VAE draws noise **ε ~ N(0, I)** and computes **z = μ + σ ⊙ ε**: the randomness is an "
        "input, and μ and σ stay inside a differentiable computation.",
        "인코더는 가우시안 q(z|x) = N(μ, diag(σ²))를 내놓습니다. 여기서 z를 그대로 뽑으면 그래디언트가 끊기므로, "
        "VAE는 잡음 **ε ~ N(0, I)**를 뽑아 **z = μ + σ ⊙ ε**를 계산합니다. 무작위성은 입력으로 빠지고, "
        "μ와 σ는 미분 가능한 계산 안에 남습니다.",
    )
)

if cfg.autoencoder:
    st.info(
        tr(
            "The active model is a plain autoencoder: σ = 0, so every draw is μ. Choose a VAE in the sidebar.",
            "사용 중인 모델은 평범한 오토인코더입니다. σ = 0이라 어떻게 뽑아도 μ입니다. 사이드바에서 VAE를 고르세요.",
        )
    )
    st.stop()
x_sample = ckpt.sample_x()
encoded_mu, encoded_logvar = session.ENCODED_MU.get(), session.ENCODED_LOGVAR.get()
sources = ["test"] + (["encode"] if encoded_mu is not None and encoded_logvar is not None else [])
source_labels = {"test": tr("a test image", "테스트 이미지"), "encode": tr("from Encode", "인코딩 페이지에서")}
left, right = st.columns([1, 2])
with left:
    source = st.radio(
        tr("Image", "이미지"),
        sources,
        horizontal=True,
        key="rep_source",
        format_func=source_labels.get,
        on_change=EPS.clear,
    )
    if source == "test" and x_sample is not None:
        idx = st.number_input(
            tr("Test image #", "테스트 이미지 번호"),
            0,
            len(x_sample) - 1,
            0,
            key="rep_index",
            on_change=EPS.clear,
        )
        x = x_sample[int(idx)]
        with torch.no_grad():
            mu_t, logvar_t = (t[0] for t in ckpt.model.encode(x.unsqueeze(0)))
    elif source == "encode" and len(encoded_mu) == cfg.latent_dim:
        x = None
        mu_t = torch.tensor(encoded_mu)
        logvar_t = torch.tensor(encoded_logvar)
        st.caption(
            tr("μ and σ of the image you encoded on the Encode page.", "인코딩 페이지에서 넣은 이미지의 μ와 σ입니다.")
        )
    else:
        st.info(
            tr(
                "This model stores no test images and nothing was encoded yet.",
                "이 모델에는 테스트 이미지가 없고, 아직 인코딩한 이미지도 없습니다.",
            )
        )
        st.stop()
    mu, sigma = mu_t.numpy(), np.exp(0.5 * logvar_t.numpy())
    if x is not None:
        show_image(
            (x.view(*cfg.input_shape)[0].numpy() * 255).round().astype("uint8"), tr("the image x", "이미지 x"), 140
        )
    st.plotly_chart(
        shared(mu_sigma_bars, mu, sigma, tr("encoder output: μ ± σ per dimension", "인코더 출력: 차원별 μ ± σ")),
        width="stretch",
        key="rep_bars",
    )

EPS.setdefault()
TARGET.setdefault()


def _draw(n: int) -> None:
    """Add n draws; each draw's generator is seeded by its index, so a replay gives the same ε."""
    have = EPS.setdefault()
    for i in range(len(have), len(have) + n):
        have.append(draw_eps(1, cfg.latent_dim, torch.Generator().manual_seed(i))[0].tolist())


def _one() -> None:
    _draw(1)
    TARGET.set(len(EPS.get()))


def _burst() -> None:
    TARGET.set(len(EPS.get()) + BURST)


def _clear() -> None:
    EPS.set([])
    TARGET.set(0)


animating = TARGET.get() > len(EPS.get())
with right:  # outside the fragment: a click reruns the page, which starts or stops its timer
    b = st.columns(3)
    b[0].button(tr("Draw one ε", "ε 하나 뽑기"), key="rep_one", on_click=_one, disabled=animating, width="stretch")
    b[1].button(
        tr("Burst of 50", "ε 50개 한꺼번에 뽑기"), key="rep_burst", on_click=_burst, disabled=animating, width="stretch"
    )
    b[2].button(tr("Clear", "지우기"), key="rep_clear", on_click=_clear, width="stretch")


@st.fragment(run_every=0.3 if animating else None)
def samples_view() -> None:
    """The plane, the decoded draws and the gradients; during a burst it adds FRAME draws per run
    and reruns only itself, and when the burst is done it reruns the page once to stop the timer."""
    eps_list = EPS.get()
    running = TARGET.get() > len(eps_list)
    if running:
        _draw(min(FRAME, TARGET.get() - len(eps_list)))
    eps = torch.tensor(EPS.get()).view(-1, cfg.latent_dim)
    z = reparameterise(mu_t, logvar_t, eps)
    st.caption(tr("{n} draws of ε so far", "지금까지 뽑은 ε: {n}개", n=len(eps)))
    fig = shared(
        posterior_plane,
        mu,
        logvar_t.numpy(),
        z.numpy(),
        tr("z = μ + σ ⊙ ε in the latent plane", "잠재 평면 위의 z = μ + σ ⊙ ε"),
        (tr("μ (the mean)", "μ (평균)"), "", tr("earlier draws", "이전 샘플")),
    )
    st.plotly_chart(fig, width="stretch", key="rep_plane")
    c = st.columns([1, 3])
    show_image(state.decode_one(ckpt, mu), tr("decoded μ", "μ를 디코딩한 이미지"), 120, container=c[0])
    if len(eps):
        shown = z[-BURST:]
        mosaic = legible_tile(decode_images(ckpt.model, shown), 10, gap=True)
        show_image(
            mosaic, tr("decoded draws z (newest last)", "뽑은 z를 디코딩한 이미지 (마지막이 최신)"), 420, container=c[1]
        )
        last = eps[-1]
        st.markdown(
            tr(
                "Newest draw: ε = ({eps}) → z = ({z}).",
                "최신 샘플: ε = ({eps}) → z = ({z}).",
                eps=", ".join(f"{v:.2f}" for v in last.tolist()),
                z=", ".join(f"{v:.2f}" for v in z[-1].tolist()),
            )
        )
        if x is not None:
            d_mu, d_sigma = reparam_gradients(ckpt.model, x, mu_t, logvar_t, last)
            st.markdown(
                tr(
                    "Gradients of log p(x|z) for this draw: ∂/∂μ = ({gm}), ∂/∂σ = ({gs}) (= ∂/∂z ⊙ ε). "
                    "ε itself gets no gradient: it was sampled, not computed.",
                    "이 샘플에서 log p(x|z)의 그래디언트: ∂/∂μ = ({gm}), ∂/∂σ = ({gs}) (= ∂/∂z ⊙ ε). "
                    "ε에는 그래디언트가 없습니다. 계산된 값이 아니라 뽑은 값이기 때문입니다.",
                    gm=", ".join(f"{v:.2f}" for v in d_mu.tolist()),
                    gs=", ".join(f"{v:.2f}" for v in d_sigma.tolist()),
                )
            )
    else:
        c[1].info(tr("Draw ε to see samples of z.", "ε를 뽑으면 z의 샘플이 보입니다."))
    if running and len(EPS.get()) >= TARGET.get():
        st.rerun(scope="app")  # the burst is done: one full run turns the timer off


with right:  # the fragment draws only inside its own container
    samples_view()

st.subheader(tr("What is computed, what is sampled", "계산되는 것과 뽑히는 것"))
ENCODER, DECODER = tr("encoder", "인코더"), tr("decoder", "디코더")
st.graphviz_chart(
    """digraph {
  rankdir=LR; node [shape=box, style=rounded, fontname="sans-serif"];
  x -> enc -> mu; enc -> sigma; mu -> z; sigma -> z; eps -> z [style=dashed]; z -> dec -> px;"""
    f'  enc [label="{ENCODER}"]; dec [label="{DECODER}"];'
    """ mu [label="μ", color="#1f77b4", penwidth=2];
  sigma [label="σ", color="#1f77b4", penwidth=2]; z [label="z = μ + σ ⊙ ε"];
  eps [label="ε ~ N(0, I)", shape=ellipse, style=dashed]; px [label="log p(x|z)"];
}""",
    width="content",
)
st.caption(
    tr(
        "Solid arrows carry gradients back from log p(x|z) to the encoder: ∂z/∂μ = 1 and ∂z/∂σ = ε. "
        "The dashed ε is drawn from N(0, I) outside the network, so nothing is learned about it.",
        "실선 화살표를 따라 log p(x|z)의 그래디언트가 인코더까지 돌아갑니다: ∂z/∂μ = 1, ∂z/∂σ = ε. "
        "점선의 ε는 네트워크 밖에서 N(0, I)로부터 뽑으므로, 그에 대해 학습되는 것은 없습니다.",
    )
)
