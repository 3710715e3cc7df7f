import time

import pandas as pd
import streamlit as st
import torch

from explorer import heavy
from explorer.concept_figures import variance_figure
from explorer.i18n import tr
from explorer.layout import figure_height, main_figure, page_setup, presenting
from explorer.plain import shown
from explorer.shared import shared
from vae_core.errors import VAECoreError
from vae_core.estimators import DEFAULT_LS, measure

act = page_setup("Estimators A and B", "추정량 A와 B")
ckpt = act.ckpt

st.title(tr("Estimators A and B, measured", "추정량 A와 B, 직접 재 보기"))
# On a projector the two variance plots come right under the title (filled after the controls).
figure_box = main_figure() if presenting() else None
st.markdown(
    tr(
        "The paper gives two Monte-Carlo estimates of the ELBO from L draws z⁽ˡ⁾ = μ + σ ⊙ ε⁽ˡ⁾. "
        "**A** averages log p(x, z⁽ˡ⁾) − log q(z⁽ˡ⁾|x); **B** computes the KL term exactly and samples only "
        "the reconstruction. Both have the same mean; the paper says B *typically* has less variance. "
        "Here both are drawn many times, with the same ε for A and B, on the active model.",
        "논문은 L개의 샘플 z⁽ˡ⁾ = μ + σ ⊙ ε⁽ˡ⁾로 ELBO를 추정하는 두 방법을 제시합니다. **A**는 "
        "log p(x, z⁽ˡ⁾) − log q(z⁽ˡ⁾|x)를 평균하고, **B**는 KL 항을 정확히 계산하고 재구성 항만 샘플로 "
        "추정합니다. 두 추정량의 평균은 같고, 논문은 B의 분산이 *대개* 더 작다고 말합니다. 여기서는 사용 중인 "
        "모델에서 A와 B를 같은 ε로 여러 번 뽑아 직접 비교합니다.",
    )
)
st.latex(
    r"\tilde{\mathcal L}^A = \frac1L\sum_l \big[\log p(x, z^{(l)}) - \log q(z^{(l)}|x)\big],\qquad"
    r"\tilde{\mathcal L}^B = -\mathrm{KL}(q(z|x)\,\|\,p(z)) + \frac1L\sum_l \log p(x|z^{(l)})"
)

x_all = ckpt.sample_x()
if x_all is None:
    st.info(tr("This model stores no test images to measure on.", "이 모델에는 측정할 테스트 이미지가 없습니다."))
    st.stop()
if ckpt.config.autoencoder:
    st.info(
        tr(
            "This model is a plain autoencoder: z = μ with no noise, so there is nothing to estimate. "
            "Choose a VAE in the sidebar.",
            "이 모델은 평범한 오토인코더입니다. z = μ이고 잡음이 없으니 추정할 것이 없습니다. 사이드바에서 VAE를 "
            "고르세요.",
        )
    )
    st.stop()

with st.form("est_form"):
    c = st.columns(3)
    n_images = c[0].slider(
        tr("Test images", "테스트 이미지 수"), 10, min(500, len(x_all)), min(100, len(x_all)), 10, key="est_images"
    )
    repeats = c[1].slider(tr("Repeats per image", "이미지당 반복 횟수"), 10, 200, 50, 10, key="est_repeats")
    seed = c[2].number_input(tr("Seed", "시드"), 0, 10_000, 0, key="est_seed")
    st.form_submit_button(tr("Measure", "측정하기"), type="primary")


@st.cache_data(max_entries=32, show_spinner=False)
def measured(key: str, _ckpt, n: int, repeats: int, seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    params = sum(p.numel() for p in _ckpt.model.parameters())
    with heavy.turn():  # a few heavy computations at once per server; the others wait
        t0 = time.perf_counter()
        out = measure(_ckpt.model, _ckpt.sample_x()[:n], DEFAULT_LS, repeats, g).as_dict()
        heavy.record("estimators", n * repeats * sum(DEFAULT_LS), params, time.perf_counter() - t0)
    return out


# One click costs the server at most heavy.click_seconds(): a larger request is measured with fewer repeats.
params = sum(p.numel() for p in ckpt.model.parameters())
n_fit, repeats_fit = heavy.fit_estimators(int(n_images), int(repeats), DEFAULT_LS, params)
seconds = heavy.estimate("estimators", n_fit * repeats_fit * sum(DEFAULT_LS), params)
if (n_fit, repeats_fit) != (int(n_images), int(repeats)):
    st.info(
        tr(
            "Measured on {n} images × {r} repeats instead (about {s:.0f} s): one click may use at most {b:.0f} s of "
            "the server's time, shared by the class.",
            "대신 이미지 {n}개 × 반복 {r}번으로 측정합니다(약 {s:.0f}초). 서버는 반 전체가 함께 쓰므로 한 번 누를 때 "
            "최대 {b:.0f}초까지만 씁니다.",
            n=n_fit,
            r=repeats_fit,
            s=max(1.0, seconds),
            b=heavy.click_seconds(),
        )
    )

try:
    with st.spinner(tr("Drawing ε… (about {s:.0f} s)", "ε를 뽑는 중… (약 {s:.0f}초)", s=max(1.0, seconds))):
        r = measured(act.key, ckpt, n_fit, repeats_fit, int(seed))
except VAECoreError as exc:
    st.error(tr("Could not measure: {e}", "측정할 수 없습니다: {e}", e=shown(exc)))
    st.stop()

table = pd.DataFrame(
    {
        tr("L (z per estimate)", "L (추정값 하나에 쓰는 z 수)"): r["L"],
        tr("mean A (nats)", "A 평균 (nats)"): r["mean_elbo_a"],
        tr("mean B (nats)", "B 평균 (nats)"): r["mean_elbo_b"],
        tr("Var A (nats²)", "A 분산 (nats²)"): r["var_elbo_a"],
        tr("Var B (nats²)", "B 분산 (nats²)"): r["var_elbo_b"],
        tr("grad Var A (nats², trace)", "그래디언트 분산 A (nats², 대각합)"): r["var_grad_a"],
        tr("grad Var B (nats², trace)", "그래디언트 분산 B (nats², 대각합)"): r["var_grad_b"],
    }
)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    column_config={c: st.column_config.NumberColumn(format="%.4g") for c in table.columns[1:]},
)
with figure_box or st.container():
    c = st.columns(2)
    c[0].plotly_chart(
        shared(
            variance_figure,
            r["L"],
            {"A": r["var_elbo_a"], "B": r["var_elbo_b"]},
            tr("variance of the per-image ELBO estimate", "이미지별 ELBO 추정값의 분산"),
            "nats²",
        ),
        width="stretch",
        height=figure_height(),
        key="est_var_elbo",
    )
    c[1].plotly_chart(
        shared(
            variance_figure,
            r["L"],
            {"A": r["var_grad_a"], "B": r["var_grad_b"]},
            tr("variance of its gradient w.r.t. (μ, log σ²)", "(μ, log σ²)에 대한 그래디언트의 분산"),
            tr("trace of covariance", "공분산의 대각합"),
        ),
        width="stretch",
        height=figure_height(),
        key="est_var_grad",
    )
st.caption(
    tr(
        "Averaged over {n} stored test images, {r} independent draws each. The gradient is that of one "
        "image's estimate with respect to its own encoder outputs (μ, log σ²); every encoder weight's "
        "gradient is a fixed linear map of it. Variance falls like 1/L for both (slope −1 on these axes).",
        "저장된 테스트 이미지 {n}개에 대해, 이미지마다 {r}번씩 독립적으로 뽑아 평균한 값입니다. 그래디언트는 한 "
        "이미지의 추정값을 그 이미지의 인코더 출력 (μ, log σ²)로 미분한 것이며, 인코더 가중치의 그래디언트는 "
        "모두 이것의 고정된 선형 변환입니다. 두 분산 모두 1/L처럼 줄어듭니다(이 축에서 기울기 −1).",
        n=r["images"],
        r=r["repeats"],
    )
)
ratio = r["var_elbo_a"][0] / max(r["var_elbo_b"][0], 1e-30)
g_ratio = r["var_grad_a"][0] / max(r["var_grad_b"][0], 1e-30)
value = (
    tr(
        "The ELBO estimate of **B** varies less than A's (variance ratio A/B = {q:.2f}).",
        "ELBO 추정값의 분산은 **B**가 A보다 작습니다(분산 비 A/B = {q:.2f}).",
        q=ratio,
    )
    if ratio >= 1
    else tr(
        "The ELBO estimate of **A** varies *less* than B's (variance ratio A/B = {q:.2f}). The sampled KL term "
        "rises and falls with the sampled reconstruction term, so subtracting it cancels part of the noise.",
        "ELBO 추정값의 분산은 **A**가 B보다 *작습니다*(분산 비 A/B = {q:.2f}). 샘플로 추정한 KL 항이 재구성 "
        "항과 함께 오르내립니다. 그래서 그것을 빼면 잡음 일부가 상쇄됩니다.",
        q=ratio,
    )
)
grad = tr(
    "Its gradient with respect to (μ, log σ²) has {g:.2f} times the variance with A as with B.",
    "(μ, log σ²)에 대한 그래디언트의 분산은 A가 B의 {g:.2f}배입니다.",
    g=g_ratio,
)
box = st.success if ratio >= 1 and g_ratio >= 1 else st.info
box(
    tr("Measured on the model in use, at L = 1:", "사용 중인 모델에서 L = 1일 때 측정한 결과입니다.")
    + " "
    + value
    + " "
    + grad
)
st.caption(
    tr(
        'The paper (section 2.3) says of B that it "typically has less variance than the generic estimator" A. '
        "What is above is what we measured here, on this model and these images.",
        '논문(2.3절)은 B가 일반적인 추정량 A보다 "대개 분산이 더 작다"고 말합니다. 위의 결과는 이 모델과 이 '
        "이미지들에서 여기서 측정한 값입니다.",
    )
)
