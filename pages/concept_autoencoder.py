import numpy as np
import streamlit as st
import torch

from explorer import state
from explorer.concept_figures import codes_figure
from explorer.concept_models import autoencoder_pair
from explorer.i18n import class_names, tr
from explorer.layout import page_setup
from explorer.shared import of_model, shared
from explorer.widgets import show_image
from vae_core.concepts import prior_coverage, prior_samples, reconstruction_error
from vae_core.manifold import LATENT_SQUARE, data_range, legible_tile, to_uint8

page_setup("Autoencoder vs VAE", "오토인코더와 VAE")

GRID, SAMPLES = 12, 64  # manifold grid side; prior samples shown (8 x 8)
st.title(tr("Autoencoder vs VAE", "오토인코더와 VAE"))
st.markdown(
    tr(
        "A plain **autoencoder** has the same encoder and decoder, but its code is the point z = μ(x): no σ, "
        "no noise, and no KL term, only reconstruction. Nothing asks its codes to fill N(0, I), so they "
        "spread out as they like, with gaps between classes. The VAE's KL term pulls every q(z|x) towards "
        "N(0, I) and its noise makes nearby codes decode to similar images: so points drawn from N(0, I) "
        "land where the decoder has learned to draw.",
        "평범한 **오토인코더**도 인코더와 디코더는 같지만, 코드가 점 z = μ(x) 하나입니다. σ도, 잡음도, KL 항도 "
        "없고 재구성만 학습합니다. 코드가 N(0, I)를 채우도록 요구하는 것이 없으니 코드는 제멋대로 퍼지고, "
        "클래스 사이에 빈틈이 생깁니다. VAE의 KL 항은 모든 q(z|x)를 N(0, I) 쪽으로 끌어당기고, 잡음 덕분에 "
        "가까운 코드는 비슷한 이미지로 재구성됩니다. 그래서 N(0, I)에서 뽑은 점이 디코더가 그릴 줄 아는 곳에 "
        "떨어집니다.",
    )
)
pair = autoencoder_pair()
if pair is None:
    st.info(
        tr(
            "The shipped autoencoder or its VAE twin is missing from checkpoints/.",
            "checkpoints/에 오토인코더나 짝이 되는 VAE가 없습니다.",
        )
    )
    st.stop()
ae, vae = (state.resolve(r) for r in pair)
titles = (
    tr("autoencoder ({name})", "오토인코더 ({name})", name=ae.ref.name),
    f"VAE ({vae.ref.name})",
)


def _prior_mosaic(ckpt, n: int, seed: int) -> np.ndarray:
    x = prior_samples(ckpt.model, n, torch.Generator().manual_seed(seed))
    return legible_tile(to_uint8(x).view(n, *ckpt.config.input_shape), int(np.sqrt(n)), gap=True)


def prior_mosaic(key: str, ckpt, n: int, seed: int) -> np.ndarray:
    return of_model(key, ckpt, _prior_mosaic, n, seed)


def _scores(ckpt, seed: int) -> tuple[float, float]:
    x, y = ckpt.sample_x(), ckpt.sample_labels
    coverage = prior_coverage(ckpt.model, x, y, 500, torch.Generator().manual_seed(seed))
    return reconstruction_error(ckpt.model, x), coverage


def scores(key: str, ckpt, seed: int) -> tuple[float, float]:
    return of_model(key, ckpt, _scores, seed)


latents = [state.sample_latents(m.key, m.ckpt) for m in (ae, vae)]
ranges = [data_range(mu) for mu, _, _ in latents]
lo = tuple(min(r[0][i] for r in ranges) for i in range(2))
hi = tuple(max(r[1][i] for r in ranges) for i in range(2))
half = max(3.0, *(abs(v) for v in lo + hi))  # a square view that holds both clouds and N(0, I)'s ±3
st.caption(
    tr(
        "The scatters share their axes (z₁, z₂ from {lo:.1f} to {hi:.1f}, wide enough for both clouds); the dotted "
        "circle is radius 3. The grids below decode the same square for both, z₁, z₂ from −3 to 3: where N(0, I) "
        "puts 99.7% of each coordinate, so where samples from the prior land.",
        "두 산점도는 같은 축을 씁니다 (z₁, z₂ 모두 {lo:.1f}부터 {hi:.1f}까지, 두 점구름이 다 들어가는 범위). 점선 원은 "
        "반지름 3입니다. 아래 격자는 두 모델 모두 같은 정사각형 z₁, z₂ ∈ [−3, 3]을 디코딩합니다. N(0, I)가 좌표마다 "
        "99.7%를 두는 곳, 즉 사전분포에서 뽑은 샘플이 떨어지는 곳입니다.",
        lo=-half,
        hi=half,
    )
)
cols = st.columns(2)
for col, m, title, (mu, _, labels) in zip(cols, (ae, vae), titles, latents):
    with col:
        st.subheader(title)
        fig = shared(
            codes_figure,
            mu,
            labels,
            class_names(m.ckpt.class_names),
            half,
            tr("test images' codes", "테스트 이미지의 코드"),
        )
        st.plotly_chart(fig, width="stretch", key=f"ae_scatter_{m.ref.name}")
        mosaic, _, _ = state.cached_manifold(m.key, m.ckpt, GRID, "linear", *LATENT_SQUARE, ())
        show_image(
            mosaic,
            tr("decoded {n} × {n} grid, z in [−3, 3]²", "[−3, 3]² 범위 {n} × {n} 격자를 디코딩한 이미지", n=GRID),
            420,
        )
        show_image(
            prior_mosaic(m.key, m.ckpt, SAMPLES, 0),
            tr("decoded samples z ~ N(0, I)", "N(0, I)에서 뽑은 z를 디코딩한 이미지"),
            420,
        )
        err, coverage = scores(m.key, m.ckpt, 0)
        c = st.columns(2)
        c[0].metric(
            tr("reconstruction error", "재구성 오차"),
            f"{err:.2f}",
            help=tr(
                "Summed squared pixel error of decoding each stored test image's μ, mean over images. Lower is better.",
                "저장된 테스트 이미지마다 μ를 디코딩했을 때 픽셀 제곱 오차의 합, 이미지 평균. 낮을수록 좋습니다.",
            ),
        )
        c[1].metric(
            tr("classes among prior samples", "사전분포 샘플의 클래스 수"),
            f"{coverage:.1f} / {len(m.ckpt.class_names)}",
            help=tr(
                "Decode 500 samples z ~ N(0, I) and label each by its nearest stored test image: the effective "
                "number of classes among them, exp(entropy). Higher means sampling the prior gives the data's variety.",
                "N(0, I)에서 z 500개를 뽑아 디코딩하고, 가장 가까운 저장된 테스트 이미지의 클래스를 붙입니다. 그 클래스들의 "
                "유효 개수 exp(엔트로피). 높을수록 사전분포에서 뽑은 샘플이 데이터의 다양성을 보여 줍니다.",
            ),
        )
(ae_err, ae_classes), (vae_err, vae_classes) = (scores(m.key, m.ckpt, 0) for m in (ae, vae))
recon = (
    tr(
        "The autoencoder reconstructs better ({a:.2f} vs {v:.2f}): it spends nothing on keeping codes near N(0, I).",
        "오토인코더가 재구성을 더 잘합니다 ({a:.2f} 대 {v:.2f}). 코드를 N(0, I) 근처에 두는 데 아무것도 쓰지 않기 때문입니다.",
        a=ae_err,
        v=vae_err,
    )
    if ae_err < 0.9 * vae_err
    else tr(
        "Here both reconstruct about as well ({a:.2f} vs {v:.2f}): two latent dimensions limit both alike.",
        "여기서는 두 모델의 재구성이 비슷합니다 ({a:.2f} 대 {v:.2f}). 잠재 차원이 둘뿐이라 둘 다 같은 한계에 걸립니다.",
        a=ae_err,
        v=vae_err,
    )
)
st.markdown(
    tr("**What the KL term buys.**", "**KL 항이 주는 것.**")
    + " "
    + recon
    + " "
    + tr(
        "But the autoencoder is not a generative model: its codes do not follow N(0, I), so samples from N(0, I) "
        "cover {ac:.1f} of the {n} classes, against {vc:.1f} for the VAE, and fall between the clouds as blends. "
        "The VAE pays for a latent space it can sample from.",
        "하지만 오토인코더는 생성 모델이 아닙니다. 코드가 N(0, I)를 따르지 않으니, N(0, I)에서 뽑은 샘플은 {n}개 "
        "클래스 중 {ac:.1f}개만 다루고(VAE는 {vc:.1f}개) 점구름 사이에 떨어져 섞인 모양이 됩니다. VAE는 그 값을 "
        "치르고 샘플을 뽑을 수 있는 잠재 공간을 얻습니다.",
        ac=ae_classes,
        vc=vae_classes,
        n=len(vae.ckpt.class_names),
    )
)
