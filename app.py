"""Entry point and Home page: `streamlit run app.py`. The other pages are the files in pages/."""

import streamlit as st

from explorer import state
from explorer.i18n import tr
from explorer.layout import page_setup
from explorer.widgets import show_image

act = page_setup("Home", "홈")

st.title("Explore the latent space of a Variational Autoencoder")
st.markdown(
    """
A **Variational Autoencoder** (Kingma & Welling, *Auto-Encoding Variational Bayes*, 2013) learns two networks
at once: an **encoder** that maps an image $x$ to a Gaussian $q_\\phi(z\\mid x)=\\mathcal N(\\mu,\\operatorname{diag}(\\sigma^2))$ over a
small latent code $z$, and a **decoder** $p_\\theta(x\\mid z)$ that turns a code back into an image.
Here $z$ has **two dimensions**, so the whole latent space fits on the screen: every point of the plane is an image.

Both networks are trained together by maximising the **evidence lower bound** (ELBO) on $\\log p(x)$:
"""
)
st.latex(
    r"\mathcal L(x) = \mathbb E_{q_\phi(z\mid x)}\big[\log p_\theta(x\mid z)\big]"
    r" - \mathrm{KL}\big(q_\phi(z\mid x)\,\|\,\mathcal N(0, I)\big) \;\le\; \log p_\theta(x)"
)
st.markdown(
    "The expectation is estimated with samples drawn by the **reparameterisation trick**, which lets "
    "gradients flow through the sampling step:"
)
st.latex(r"z = \mu_\phi(x) + \sigma_\phi(x)\odot\varepsilon,\qquad \varepsilon\sim\mathcal N(0, I)")
st.markdown(
    """
**Pages** — *Manifold*: the paper's Fig. 4, images decoded over a grid of $z$. *Walk*: move through $z$ and watch the
decoder follow. *Encode your own*: see where your drawing lands. *Train*: train a model and watch the latent space
organise itself. *Samples and metrics*: samples from the prior, the ELBO and the importance-weighted $\\log p(x)$.
"""
)

st.subheader(tr("Start here: a first lesson", "여기서 시작: 첫 수업"))
for i, (path, en, ko) in enumerate(
    [
        ("pages/manifold.py", "See what the decoder learned: the manifold", "디코더가 배운 것 보기: 매니폴드"),
        (
            "pages/concept_reparam.py",
            "How z is sampled: the reparameterisation trick",
            "z를 뽑는 법: 재매개변수화 트릭",
        ),
        (
            "pages/concept_autoencoder.py",
            "Why the KL term: autoencoder vs VAE",
            "KL 항이 왜 필요한가: 오토인코더와 VAE",
        ),
        ("pages/concept_beta.py", "Too much KL: β and posterior collapse", "KL이 지나치면: β와 사후분포 붕괴"),
        ("pages/train.py", "Train your own on digits (seconds)", "digits로 직접 학습하기 (몇 초)"),
    ],
    start=1,
):
    st.page_link(path, label=f"{i}. {tr(en, ko)}")

cfg, meta = act.ckpt.config, act.ckpt.meta
ds, metrics = meta.get("dataset", {}), meta.get("metrics", {})
st.subheader(f"Active model: {act.ref.label}")
card, picture = st.columns([3, 2])
with card:
    c = st.columns(2)
    c[0].metric("Dataset", ds.get("name", "?"), help=ds.get("note") or ds.get("source"))
    c[1].metric("Likelihood", cfg.likelihood)
    c = st.columns(2)
    c[0].metric("Latent size", cfg.latent_dim)
    c[1].metric("Epochs", len(meta.get("history", [])))
    elbo, iw = metrics.get("test_elbo"), metrics.get("test_iw_ll")
    c = st.columns(2)
    c[0].metric("Test ELBO (nats)", f"{elbo:.2f}" if elbo is not None else "–")
    c[1].metric(
        f"log p(x), k={metrics.get('k', '?')} (nats)",
        f"{iw:.2f}" if iw is not None else "–",
        help="importance-weighted estimate of the marginal likelihood",
    )
    st.caption(
        f"Encoder/decoder hidden layers {list(cfg.hidden)} ({cfg.activation}); input {list(cfg.input_shape)}; "
        f"pixels {ds.get('pixels', '?')}; {ds.get('n_train', '?')} training / {metrics.get('n_test', '?')} test "
        "images. " + (f"Note: {ds['note']}." if ds.get("note") else "")
    )
with picture:
    mosaic, _, _ = state.cached_manifold(act.key, act.ckpt, 15, "icdf", (-3.0, -3.0), (3.0, 3.0), ())
    show_image(mosaic, "its learned manifold (15 × 15, inverse-CDF grid): more on the Manifold page", 420)
