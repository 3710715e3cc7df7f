import streamlit as st

from explorer import state
from explorer.concept_figures import ladder_bars, ladder_scatters, rate_distortion_figure
from explorer.concept_models import beta_ladder, beta_of
from explorer.i18n import class_names, tr
from explorer.layout import page_setup
from explorer.shared import shared
from explorer.widgets import show_image
from vae_core.concepts import rate_distortion
from vae_core.evaluate import ACTIVE_KL_NATS, COLLAPSE_KL_NATS, count_active
from vae_core.manifold import LATENT_SQUARE

act = page_setup("β and posterior collapse", "β와 사후분포 붕괴")

PER_ROW = 4  # models per row of small multiples
LIMIT = 4.0  # every scatter spans [-4, 4]^2: 99.99% of the prior's mass per dimension
st.title(tr("β and posterior collapse", "β와 사후분포 붕괴"))
st.markdown(
    tr(
        "A β-VAE maximises E[log p(x|z)] − **β**·KL(q(z|x) ‖ p(z)); β = 1 is the paper's ELBO. The KL is the "
        "price, in nats, of what z says about x. Raise β and z says less; past some β it says nothing: "
        "q(z|x) = p(z) for every x, the decoder draws one average image, and the latent space is empty. "
        "This is **posterior collapse**.",
        "β-VAE는 E[log p(x|z)] − **β**·KL(q(z|x) ‖ p(z))를 최대화합니다. β = 1이 논문의 ELBO입니다. KL은 z가 x에 "
        "대해 담는 정보의 값(nats)입니다. β를 키우면 z가 담는 정보가 줄고, 어느 β를 넘으면 아무것도 담지 "
        "않습니다. 모든 x에 대해 q(z|x) = p(z)가 되고, 디코더는 평균 이미지 하나만 그리며, 잠재 공간은 "
        "비어 버립니다. 이것이 **사후분포 붕괴**입니다.",
    )
)

ladder = beta_ladder()
if len(ladder) < 2:
    st.info(
        tr("The β ladder's shipped models are missing from checkpoints/.", "checkpoints/에 β 사다리 모델이 없습니다.")
    )
    st.stop()
models = [state.resolve(ref) for ref in ladder]
betas = [f"{beta_of(m.ref):g}" for m in models]
names = [f"β = {b}" for b in betas]
metrics = [m.ckpt.meta.get("metrics", {}) for m in models]
first = models[0].ckpt
st.caption(
    tr(
        "{n} shipped models trained by the CLI on {data} with the same settings except β (files {files}). "
        "Every plot below shares its axes across models.",
        "{data}에서 β만 바꾸고 나머지 설정은 같게 CLI로 학습한 모델 {n}개입니다 (파일 {files}). "
        "아래 그림은 모두 모델끼리 같은 축을 씁니다.",
        n=len(models),
        data=first.meta.get("dataset", {}).get("name", "?"),
        files=", ".join(m.ref.name for m in models),
    )
)

st.subheader(tr("Latent means of the test images, same axes", "테스트 이미지의 잠재 평균, 같은 축"))
scatters = []
for name, m in zip(names, models):
    mu, _, labels = state.sample_latents(m.key, m.ckpt)
    scatters.append((name, mu, labels))
st.plotly_chart(
    shared(ladder_scatters, scatters, class_names(first.class_names), LIMIT, PER_ROW),
    width="stretch",
    key="beta_scatters",
)
st.caption(
    tr(
        "Each model's decoder over the same 8 × 8 grid of z (inverse-CDF spacing): a collapsed model draws one "
        "average digit everywhere.",
        "같은 8 × 8 z 격자(역 CDF 간격)에서 각 모델의 디코더가 그린 그림입니다. 붕괴한 모델은 어디서나 평균 숫자 "
        "하나만 그립니다.",
    )
)
for row in range(0, len(models), PER_ROW):
    cols = st.columns(PER_ROW)
    for col, name, m in zip(cols, names[row : row + PER_ROW], models[row : row + PER_ROW]):
        mosaic, _, _ = state.cached_manifold(m.key, m.ckpt, 8, "icdf", *LATENT_SQUARE, ())
        show_image(mosaic, name, 260, container=col)

collapsed = [n for n, mt in zip(names, metrics) if mt.get("test_kl", 1.0) < COLLAPSE_KL_NATS]
active = [count_active(mt.get("kl_per_dim", [])) for mt in metrics]
partial = [n for n, m, a in zip(names, models, active) if 0 < a < m.ckpt.config.latent_dim]
if collapsed:
    st.warning(
        tr(
            "Posterior collapse at {which}: the KL is below {t} nats, so z carries (almost) nothing about x and "
            "every code decodes to the same average image.",
            "{which}에서 사후분포 붕괴: KL이 {t} nats보다 작아 z가 x에 대해 (거의) 아무 정보도 담지 않고, "
            "모든 코드가 같은 평균 이미지로 재구성됩니다.",
            which=", ".join(collapsed),
            t=COLLAPSE_KL_NATS,
        )
    )
if partial:
    st.info(
        tr(
            "Collapse starts dimension by dimension: at {which} only some latent units are still active.",
            "붕괴는 차원마다 따로 시작됩니다. {which}에서는 활성 차원이 일부만 남아 있습니다.",
            which=", ".join(partial),
        )
    )

st.subheader(tr("Rate and distortion", "레이트(rate)와 왜곡(distortion)"))
left, right = st.columns([3, 2])
points = [(n, *rate_distortion(mt)) for n, mt in zip(names, metrics)]
left.plotly_chart(
    shared(
        rate_distortion_figure,
        points,
        tr("each model at (KL, −E[log p(x|z)])", "각 모델의 (KL, −E[log p(x|z)])"),
        (
            tr("rate: KL (nats)", "레이트: KL (nats)"),
            tr("distortion: −E[log p(x|z)] (nats)", "왜곡: −E[log p(x|z)] (nats)"),
        ),
        "ELBO = {elbo:.1f}",
    ),
    width="stretch",
    key="beta_rd",
)
right.markdown(
    tr(
        "−ELBO = distortion + rate, so the dotted lines join points of **equal ELBO**. β = 1 finds the lowest "
        "line it can reach; β > 1 pays for every nat of rate β times, so it slides up-left along the curve, to less "
        "rate and more distortion, and ends at rate 0.",
        "−ELBO = 왜곡 + 레이트이므로, 점선은 **ELBO가 같은** 점들을 잇습니다. β = 1은 닿을 수 있는 가장 낮은 "
        "선을 찾습니다. β > 1은 레이트 1 nat마다 β배를 치르므로 곡선을 따라 왼쪽 위로, 곧 레이트는 줄고 왜곡은 "
        "늘어나는 쪽으로 미끄러지다가 레이트 0에서 멈춥니다.",
    )
)
c = st.columns(3)
c[0].plotly_chart(
    shared(
        ladder_bars,
        betas,
        [mt.get("test_elbo", 0.0) for mt in metrics],
        tr("test ELBO", "테스트 ELBO"),
        "nats",
        line=True,
    ),
    width="stretch",
    key="beta_elbo",
)
c[1].plotly_chart(
    shared(ladder_bars, betas, [mt.get("test_kl", 0.0) for mt in metrics], tr("test KL", "테스트 KL"), "nats"),
    width="stretch",
    key="beta_kl",
)
c[2].plotly_chart(
    shared(
        ladder_bars,
        betas,
        active,
        tr("active units (of {d})", "활성 차원 ({d}개 중)", d=first.config.latent_dim),
        tr("units", "개"),
    ),
    width="stretch",
    key="beta_active",
)
st.caption(
    tr(
        "From each file's metadata, measured on the whole test set when it was trained. A unit (latent dimension) is active when "
        "its mean KL is above {t} nats: it carries information about x.",
        "각 파일의 메타데이터에 있는 값으로, 학습 직후 테스트 세트 전체에서 측정했습니다. 평균 KL이 {t} nats보다 "
        "큰 잠재 차원, 곧 x에 대한 정보를 담는 차원을 활성 차원이라고 합니다.",
        t=ACTIVE_KL_NATS,
    )
)
