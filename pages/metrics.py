import time

import numpy as np
import streamlit as st
import torch

from explorer import heavy, session, state
from explorer.figures import kl_bar
from explorer.i18n import tr
from explorer.layout import main_figure, page_setup, presenting
from explorer.shared import of_model, shared
from explorer.sidebar import model_label
from explorer.widgets import show_image
from vae_core.evaluate import ACTIVE_KL_NATS, evaluate
from vae_core.manifold import LATENT_SQUARE, decode_images, legible_tile, png_bytes

act = page_setup("Samples and metrics", "샘플과 지표")

ckpt = act.ckpt
st.title(tr("Samples and metrics", "샘플과 지표"))


def _sample_metrics(ckpt, k: int, n: int) -> dict:
    x = ckpt.sample_x()[:n]
    params = sum(p.numel() for p in ckpt.model.parameters())
    with heavy.turn():  # a few heavy computations at once per server; the others wait
        t0 = time.perf_counter()
        out = evaluate(ckpt.model, x, k=k).as_dict()
        heavy.record("iw", len(x) * k, params, time.perf_counter() - t0)
    return out


def sample_metrics(key: str, ckpt, k: int, n: int) -> dict:
    return of_model(key, ckpt, _sample_metrics, k, n)


def _prior_samples(ckpt, n: int, seed: int) -> np.ndarray:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n * n, ckpt.config.latent_dim, generator=g)  # z ~ p(z) = N(0, I)
    return legible_tile(decode_images(ckpt.model, z), n, gap=True)  # 8x8 digits enlarged, with gaps


def prior_samples(key: str, ckpt, n: int, seed: int) -> np.ndarray:
    return of_model(key, ckpt, _prior_samples, n, seed)


def metrics_panel(act: state.Active, prefix: str, k: int) -> dict | None:
    ckpt = act.ckpt
    saved = ckpt.meta.get("metrics", {})
    c = st.columns(3)
    if saved.get("test_elbo") is not None:
        c[0].metric(
            tr("Test ELBO (nats)", "테스트 ELBO (nats)"),
            f"{saved['test_elbo']:.2f}",
            help=tr("On {n} test images. ", "테스트 이미지 {n}개 기준. ", n=saved.get("n_test")) + state.elbo_help(act),
        )
    iw_name, iw_help = state.iw_label(act)
    if saved.get("test_iw_ll") is not None:
        c[1].metric(f"{iw_name}, k={saved.get('k')}", f"{saved['test_iw_ll']:.2f}", help=iw_help)
    if ckpt.sample_levels is None:
        st.info(
            tr(
                "This checkpoint stores no test images: only its saved metrics are shown.",
                "이 체크포인트에는 테스트 이미지가 없어 저장된 지표만 보여 줍니다.",
            )
        )
        return None
    # One click costs the server at most heavy.click_seconds(): a large k scores fewer images.
    params = sum(p.numel() for p in ckpt.model.parameters())
    n_fit = heavy.fit_iw(500, k, params)
    seconds = max(1.0, heavy.estimate("iw", n_fit * k, params))
    with st.spinner(
        tr(
            "Scoring the stored test sample… (about {s:.0f} s)",
            "저장된 테스트 샘플을 평가하는 중… (약 {s:.0f}초)",
            s=seconds,
        )
    ):
        m = sample_metrics(act.key, ckpt, k, n_fit)
    if n_fit < min(500, len(ckpt.sample_x())):
        st.caption(
            tr(
                "With k = {k} on this model, {n} images are scored: one click may use at most {b:.0f} s of the "
                "server's time, shared by the class.",
                "이 모델에서 k = {k}이면 이미지 {n}개만 평가합니다. 서버는 반 전체가 함께 쓰므로 한 번 누를 때 최대 "
                "{b:.0f}초까지만 씁니다.",
                k=k,
                n=n_fit,
                b=heavy.click_seconds(),
            )
        )
    c[2].metric(
        tr("Active units", "활성 차원"),
        f"{m['active_units']} / {ckpt.config.latent_dim}",
        help=tr(
            "latent dimensions whose mean KL is above {t} nats: the ones that carry information about x",
            "평균 KL이 {t} nats보다 큰 잠재 차원, 곧 x에 대한 정보를 담는 차원",
            t=ACTIVE_KL_NATS,
        ),
    )
    if ckpt.config.autoencoder:  # no KL term and no posterior: no ELBO, no log p(x)
        st.caption(
            tr(
                "A plain autoencoder: log p(x|z = μ) {r:.2f} nats on {n} stored test images.",
                "일반 오토인코더: 저장된 테스트 이미지 {n}개에서 log p(x|z = μ) {r:.2f} nats.",
                r=m["recon"],
                n=m["n"],
            )
        )
    else:
        st.caption(
            tr(
                "Recomputed now on {n} stored test images with k = {k}: ELBO {e:.2f} = "
                "reconstruction {r:.2f} − KL {kl:.2f}; {name} {iw:.2f} nats.",
                "저장된 테스트 이미지 {n}개, k = {k}로 방금 다시 계산: ELBO {e:.2f} = "
                "재구성 {r:.2f} − KL {kl:.2f}; {name} {iw:.2f} nats.",
                name=iw_name,
                n=m["n"],
                k=k,
                e=m["elbo"],
                r=m["recon"],
                kl=m["kl"],
                iw=m["iw_ll"],
            )
        )
    st.plotly_chart(shared(kl_bar, tuple(m["kl_per_dim"])), width="stretch", key=f"{prefix}_kl")
    if m["collapsed"]:
        st.warning(
            tr(
                "Posterior collapse: the KL is only {kl:.3f} nats, so q(z|x) ≈ p(z) and the decoder ignores z. "
                "Try a smaller β, KL warm-up, or more epochs.",
                "사후분포 붕괴: KL이 {kl:.3f} nats뿐이라 q(z|x) ≈ p(z)이고 디코더가 z를 무시합니다. "
                "β를 줄이거나, KL 워밍업을 쓰거나, 에폭을 늘려 보세요.",
                kl=m["kl"],
            )
        )
    return m


present = presenting()
if present:  # on a projector the samples come first, right under the title, and the controls below
    left, right = st.columns([1, 1])
    with left:
        samples_box = main_figure()
    controls = left.container()
else:
    controls = st.container()
c1, c2 = controls.columns([1, 1])
n = c1.slider(tr("Samples per side", "한 변의 샘플 수"), 4, 16, 10, key="prior_n")
seed = c2.number_input(tr("Seed", "시드"), 0, 10_000, 0, key="prior_seed")
k = controls.select_slider(
    tr("Importance samples k", "중요도 샘플 수 k"),
    [1, 10, 50, 100, 500],
    100,
    key="metrics_k",
    help=tr(
        "log p(x) ≈ log (1/k) Σ p(x, zᵢ)/q(zᵢ|x); larger k gives a tighter bound (and takes longer).",
        "log p(x) ≈ log (1/k) Σ p(x, zᵢ)/q(zᵢ|x); k가 클수록 하한이 log p(x)에 더 가까워지지만 시간이 더 걸립니다.",
    ),
)
if not present:
    left, right = st.columns([1, 1])
    with left:
        st.subheader(tr("Samples from the prior", "사전분포에서 뽑은 샘플"))
        samples_box = st.container()
with samples_box:
    st.image(
        shared(png_bytes, prior_samples(act.key, ckpt, n, int(seed)), 1),
        width="stretch",
        output_format="PNG",
        caption=tr("z ~ N(0, I), decoded (Fig. 5 style)", "N(0, I)에서 뽑은 z를 디코딩한 이미지 (그림 5 방식)"),
    )
with right:
    st.subheader(tr("Metrics", "지표"))
    metrics_panel(act, "a", k)

st.divider()
st.subheader(tr("Compare two models", "두 모델 비교"))
st.caption(
    tr(
        "For example β = 1 against β = 4 on the same data: a larger β trades reconstruction for a posterior closer "
        "to the prior (digits-beta4 collapses: its decoder ignores z).",
        "예를 들어 같은 데이터에서 β = 1과 β = 4를 비교해 보세요. β가 클수록 재구성을 내주고 사후분포를 사전분포에 "
        "더 가깝게 만듭니다(digits-beta4는 붕괴해서 디코더가 z를 무시합니다).",
    )
)
models = {m.id: m for m in state.available_models()}
labels = {i: model_label(m) for i, m in models.items()}
ids = list(models)
cols = st.columns(2)
for i, col in enumerate(cols):
    with col:
        # By default: the shipped digits model with beta = 1 against the same with beta = 4. The
        # picker's options are model ids (its labels follow the language; its value must not).
        wanted = ("shipped:digits", "shipped:digits-beta4")[i]
        default = ids.index(wanted) if wanted in ids else min(i, len(ids) - 1)
        picker = session.COMPARE.of("ab"[i])
        if picker.get() not in models:
            picker.clear()  # a model deleted from the gallery since it was picked
        chosen = st.selectbox(
            tr("Model {x}", "모델 {x}", x="AB"[i]), ids, index=default, key=picker.name, format_func=labels.get
        )
        other = state.resolve(models[chosen])
        meta = other.ckpt.meta.get("train", {})
        st.caption(
            tr(
                "β = {b}, {e} epochs, latent {z}",
                "β = {b}, {e} 에폭, 잠재 차원 {z}",
                b=meta.get("beta", "?"),
                e=len(other.ckpt.meta.get("history", [])),
                z=other.ckpt.config.latent_dim,
            )
        )
        mosaic, _, _ = state.cached_manifold(other.key, other.ckpt, 15, "icdf", *LATENT_SQUARE, ())
        show_image(mosaic, tr("manifold (inverse-CDF grid)", "매니폴드 (역 CDF 격자)"), 420)
        metrics_panel(other, f"cmp{i}", min(k, 100))
