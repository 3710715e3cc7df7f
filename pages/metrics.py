import numpy as np
import streamlit as st
import torch

from explorer import state
from explorer.figures import kl_bar
from explorer.layout import page_setup
from explorer.widgets import show_image
from vae_core.evaluate import evaluate
from vae_core.manifold import decode_images, legible_tile

act = page_setup("Samples and metrics", "샘플과 지표")

ckpt = act.ckpt
st.title("Samples and metrics")


@st.cache_data(max_entries=64, show_spinner="Scoring the stored test sample…")
def sample_metrics(key: str, _ckpt, k: int, n: int) -> dict:
    x = _ckpt.sample_x()[:n]
    return evaluate(_ckpt.model, x, k=k).as_dict()


@st.cache_data(max_entries=64, show_spinner=False)
def prior_samples(key: str, _ckpt, n: int, seed: int) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n * n, _ckpt.config.latent_dim, generator=g)  # z ~ p(z) = N(0, I)
    return legible_tile(decode_images(_ckpt.model, z), n, gap=True)  # 8x8 digits enlarged, with gaps


def metrics_panel(act: state.Active, prefix: str, k: int) -> dict | None:
    ckpt = act.ckpt
    saved = ckpt.meta.get("metrics", {})
    c = st.columns(3)
    if saved.get("test_elbo") is not None:
        c[0].metric("Test ELBO (nats)", f"{saved['test_elbo']:.2f}", help=f"on {saved.get('n_test')} test images")
    if saved.get("test_iw_ll") is not None:
        c[1].metric(f"IW log p(x), k={saved.get('k')}", f"{saved['test_iw_ll']:.2f}")
    if ckpt.sample_x() is None:
        st.info("This checkpoint stores no test images: only its saved metrics are shown.")
        return None
    m = sample_metrics(act.key, ckpt, k, 500)
    c[2].metric(
        "Active units",
        f"{m['active_units']} / {ckpt.config.latent_dim}",
        help="dimensions whose posterior mean varies across images (variance > 0.01)",
    )
    if ckpt.config.autoencoder:  # no KL term and no posterior: no ELBO, no log p(x)
        st.caption(f"A plain autoencoder: log p(x|z = μ) {m['recon']:.2f} nats on {m['n']} stored test images.")
    else:
        st.caption(
            f"Recomputed now on {m['n']} stored test images with k = {k}: ELBO {m['elbo']:.2f} = "
            f"reconstruction {m['recon']:.2f} − KL {m['kl']:.2f}; IW log p(x) {m['iw_ll']:.2f} nats."
        )
    st.plotly_chart(kl_bar(m["kl_per_dim"]), width="stretch", key=f"{prefix}_kl")
    if m["collapsed"]:
        st.warning(
            f"Posterior collapse: the KL is only {m['kl']:.3f} nats, so q(z|x) ≈ p(z) and the decoder ignores z. "
            "Try a smaller β, KL warm-up, or more epochs."
        )
    return m


c1, c2 = st.columns([1, 1])
n = c1.slider("Samples per side", 4, 16, 10, key="prior_n")
seed = c2.number_input("Seed", 0, 10_000, 0, key="prior_seed")
k = st.select_slider(
    "Importance samples k",
    [1, 10, 50, 100, 500],
    100,
    key="metrics_k",
    help="log p(x) ≈ log (1/k) Σ p(x, zᵢ)/q(zᵢ|x); larger k gives a tighter bound (and takes longer).",
)
left, right = st.columns([1, 1])
with left:
    st.subheader("Samples from the prior")
    st.image(prior_samples(act.key, ckpt, n, int(seed)), width="stretch", caption="z ~ N(0, I), decoded (Fig. 5 style)")
with right:
    st.subheader("Metrics")
    st.session_state["metrics_active"] = metrics_panel(act, "a", k)

st.divider()
st.subheader("Compare two models")
st.caption(
    "For example β = 1 against β = 4 on the same data: a larger β trades reconstruction for a posterior closer to the prior (digits-beta4 collapses: its decoder ignores z)."
)
models = state.available_models()
labels = [m.label for m in models]
cols = st.columns(2)
for i, col in enumerate(cols):
    with col:
        # By default: the shipped digits model with beta = 1 against the same with beta = 4.
        wanted = ("digits", "digits-beta4")[i]
        default = next(
            (j for j, m in enumerate(models) if m.kind == "shipped" and m.name == wanted), min(i, len(labels) - 1)
        )
        label = st.selectbox(f"Model {'AB'[i]}", labels, index=default, key=f"cmp_{i}")
        other = state.resolve(models[labels.index(label)])
        meta = other.ckpt.meta.get("train", {})
        st.caption(
            f"β = {meta.get('beta', '?')}, {len(other.ckpt.meta.get('history', []))} epochs, "
            f"latent {other.ckpt.config.latent_dim}"
        )
        mosaic, _, _ = state.cached_manifold(other.key, other.ckpt, 15, "icdf", (-3.0, -3.0), (3.0, 3.0), ())
        show_image(mosaic, "manifold (inverse-CDF grid)", 420)
        metrics_panel(other, f"cmp{i}", min(k, 100))
