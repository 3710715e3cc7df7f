"""Entry point and Home page: `streamlit run app.py`. The other pages are the files in pages/."""

import streamlit as st

from explorer import state
from explorer.i18n import tr
from explorer.join import join_screen
from explorer.layout import main_figure, page_setup, presenting
from explorer.lessons import lesson_list
from explorer.plain import plain
from explorer.settings_form import choice_text
from explorer.sidebar import model_label
from explorer.widgets import show_image
from vae_core.manifold import LATENT_SQUARE

act = page_setup("Home", "홈")

st.title(tr("Explore the latent space of a Variational Autoencoder", "변분 오토인코더(VAE)의 잠재 공간 탐험"))
if presenting():  # on the projector, Home is where the class joins: the address and code come first
    with main_figure():
        join_screen("stretch")
else:
    with st.expander(tr("Share with the class", "반 학생들과 공유")):
        join_screen()
st.markdown(
    tr(
        """
A **Variational Autoencoder** (Kingma & Welling, *Auto-Encoding Variational Bayes*, 2013) learns two networks
at once: an **encoder** that maps an image $x$ to a Gaussian $q_\\phi(z\\mid x)=\\mathcal N(\\mu,{cov})$ over a
small latent code $z$, and a **decoder** $p_\\theta(x\\mid z)$ that turns a code back into an image.
Here $z$ has **two dimensions**, so the whole latent space fits on the screen: every point of the plane is an image.

Both networks are trained together by maximising the **evidence lower bound** (ELBO) on $\\log p(x)$:
""",
        """
**변분 오토인코더**(Kingma & Welling, *Auto-Encoding Variational Bayes*, 2013)는 두 신경망을 함께 학습합니다.
**인코더**는 이미지 $x$를 작은 잠재 코드 $z$ 위의 가우시안 분포 $q_\\phi(z\\mid x)=\\mathcal N(\\mu,{cov})$로 보내고,
**디코더** $p_\\theta(x\\mid z)$는 코드를 다시 이미지로 바꿉니다.
여기서 $z$는 **2차원**이어서 잠재 공간 전체가 화면 하나에 들어옵니다. 평면 위의 모든 점이 하나의 이미지입니다.

두 신경망은 $\\log p(x)$의 **증거 하한**(ELBO)을 최대화하도록 함께 학습됩니다.
""",
        cov=r"\operatorname{diag}(\sigma^2)",  # a sigma per dimension: the covariance is diagonal
    )
)
st.latex(
    r"\mathcal L(x) = \mathbb E_{q_\phi(z\mid x)}\big[\log p_\theta(x\mid z)\big]"
    r" - \mathrm{KL}\big(q_\phi(z\mid x)\,\|\,\mathcal N(0, I)\big) \;\le\; \log p_\theta(x)"
)
if state.score_only(act):
    st.caption(
        tr(
            "For the model in use the ≤ holds only up to a missing term: its pixels are continuous and its Bernoulli "
            "decoder is not a normalised density on them, so its ELBO is a score (see the model card below).",
            "사용 중인 모델에서는 이 부등식이 빠진 항만큼 어긋납니다. 픽셀이 연속값이고 베르누이 디코더가 그 위의 "
            "정규화된 밀도가 아니어서, 이 모델의 ELBO는 점수입니다(아래 모델 카드 참고).",
        )
    )
st.markdown(
    tr(
        "The expectation is estimated with samples drawn by the **reparameterisation trick**, which lets "
        "gradients flow through the sampling step:",
        "기댓값은 **재매개변수화 트릭**으로 뽑은 샘플로 추정합니다. 이 트릭 덕분에 그래디언트가 샘플을 뽑는 단계를 "
        "지나 흐를 수 있습니다.",
    )
)
st.latex(r"z = \mu_\phi(x) + \sigma_\phi(x)\odot\varepsilon,\qquad \varepsilon\sim\mathcal N(0, I)")
st.markdown(
    tr(
        """
**Pages** — *Train*: train a model and watch the latent space organise itself; it is saved in the *Class gallery*
for everyone. *Manifold*: the paper's Fig. 4, images decoded over a grid of $z$. *Walk*: move through $z$ and watch
the decoder follow. *Encode your own*: see where your drawing lands. *Samples and metrics*: samples from the prior,
the ELBO and the importance-weighted $\\log p(x)$.
""",
        """
**페이지 안내** — *학습*: 모델을 학습하며 잠재 공간이 정리되는 모습을 봅니다. 학습한 모델은 *우리 반 갤러리*에 모두를 위해
저장됩니다. *매니폴드*: 논문의 그림 4처럼 $z$ 격자 위에서 디코딩한 이미지들. *잠재 공간 걷기*: $z$를 움직이며 디코더의
반응을 봅니다. *내 그림 인코딩*: 내가 그린 그림이 잠재 공간의 어디에 놓이는지 봅니다. *샘플과 지표*: 사전분포에서 뽑은
샘플, ELBO, 중요도 가중 $\\log p(x)$.
""",
    )
)

st.subheader(tr("Start here: a first lesson", "여기서 시작: 첫 수업"))
lesson_list()

cfg, meta = act.ckpt.config, act.ckpt.meta
ds, metrics = meta.get("dataset", {}), meta.get("metrics", {})
st.subheader(tr("Active model: {m}", "사용 중인 모델: {m}", m=model_label(act.ref)))
card, picture = st.columns([3, 2])
with card:
    c = st.columns(2)
    c[0].metric(tr("Dataset", "데이터셋"), ds.get("name", "?"), help=ds.get("note") or ds.get("source"))
    c[1].metric(tr("Likelihood", "우도"), choice_text(cfg.likelihood))
    c = st.columns(2)
    c[0].metric(tr("Latent size", "잠재 차원"), cfg.latent_dim)
    c[1].metric(tr("Epochs", "에폭"), len(meta.get("history", [])))
    elbo, iw = metrics.get("test_elbo"), metrics.get("test_iw_ll")
    c = st.columns(2)
    c[0].metric(
        tr("Test ELBO (nats)", "테스트 ELBO (nats)"),
        f"{elbo:.2f}" if elbo is not None else "–",
        help=state.elbo_help(act),
    )
    iw_name, iw_help = state.iw_label(act)
    c[1].metric(f"{iw_name}, k={metrics.get('k', '?')} (nats)", f"{iw:.2f}" if iw is not None else "–", help=iw_help)
    st.caption(
        tr(
            "Encoder/decoder hidden layers {h} ({a}); input {i}; pixels {p}; {n} training / {t} test images. ",
            "인코더/디코더 은닉층 {h} ({a}); 입력 {i}; 픽셀 {p}; 학습 이미지 {n}개 / 테스트 이미지 {t}개. ",
            h=list(cfg.hidden),
            a=choice_text(cfg.activation),
            i=list(cfg.input_shape),
            p=choice_text(ds.get("pixels", "?")),
            n=ds.get("n_train", "?"),
            t=metrics.get("n_test", "?"),
        )
        + (tr("Note: {x}.", "참고: {x}.", x=plain(ds["note"])) if ds.get("note") else "")
    )
with picture:
    mosaic, _, _ = state.cached_manifold(act.key, act.ckpt, 15, "icdf", *LATENT_SQUARE, ())
    show_image(
        mosaic,
        tr(
            "its learned manifold (15 × 15, inverse-CDF grid): more on the Manifold page",
            "학습된 매니폴드 (15 × 15, 역 CDF 격자): 자세한 것은 매니폴드 페이지에서",
        ),
        420,
    )
