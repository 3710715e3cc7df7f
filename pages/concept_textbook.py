import pandas as pd
import streamlit as st
import torch

from explorer.i18n import tr
from explorer.layout import main_figure, page_setup, presenting
from vae_core.concepts import copied_loss, gaussian_neg_elbo, textbook_constants, textbook_loss

act = page_setup("The textbook's loss", "교재의 손실 함수")
ckpt = act.ckpt

st.title(tr("The textbook's loss is an ELBO", "교재의 손실 함수도 ELBO입니다"))
# On a projector the identity itself comes right under the title; the code and the words follow.
identity_box = main_figure() if presenting() else None
st.markdown(
    tr(
        "Many textbooks train a VAE on MNIST with a 784-200-z MLP, Adam (lr 3·10⁻⁴), batch 32, 30 epochs, "
        "and **snippet 1**, the textbook's loss:",
        "많은 교재는 784-200-z MLP, Adam(학습률 3·10⁻⁴), 배치 32, 30 에폭으로 MNIST에서 VAE를 학습하며, "
        "손실 함수는 **코드 1**, 곧 교재의 손실 함수입니다:",
    )
)
st.code(
    "recon = F.mse_loss(x_hat, x, reduction='sum')\n"
    "kld = -torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n"
    "loss = recon + kld",
    language="python",
)
st.markdown(
    tr(
        "**Snippet 2**, the widely copied version, has the paper's factor −0.5 on the KL (PyTorch's examples, "
        "`vae/main.py`, write it beside a binary cross-entropy; many copies put the MSE sum beside it):",
        "**코드 2**는 널리 복사된 형태로, KL 앞에 논문의 인수 −0.5가 붙어 있습니다(PyTorch 예제의 `vae/main.py`는 "
        "이진 교차 엔트로피 옆에 쓰고, 많은 사본은 MSE 합 옆에 씁니다):",
    )
)
st.code(
    "recon = F.mse_loss(x_hat, x, reduction='sum')\n"
    "kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())\n"
    "loss = recon + kld",
    language="python",
)
st.markdown(
    tr(
        "Snippet 1's `kld` is **twice** the KL of the paper (which has a factor ½); snippet 2's is the paper's. "
        "The MSE sum is a Gaussian *negative* log-likelihood in disguise. With D pixels, snippet 1 has two "
        "exact readings:",
        "코드 1의 `kld`는 논문의 KL(앞에 ½이 붙음)의 **두 배**이고, 코드 2의 `kld`는 논문의 KL 그대로입니다. "
        "MSE 합은 모양만 바꾼 가우시안 *음의* 로그 우도입니다. 픽셀이 D개일 때 코드 1은 다음 두 해석이 모두 "
        "정확히 성립합니다:",
    )
)
with identity_box or st.container():
    st.latex(
        r"\begin{aligned}"
        r"\underbrace{\lVert x-\hat x\rVert^2 + 2\,\mathrm{KL}}_{\text{textbook}}"
        r"&= 2\Big[\underbrace{-\log\mathcal N(x;\hat x, I) + \mathrm{KL}}_{-\mathcal L,\ \sigma^2 = 1,\ \beta = 1}\Big]"
        r" - D\log 2\pi \\"
        r"&= \underbrace{-\log\mathcal N(x;\hat x, \tfrac12 I) + 2\,\mathrm{KL}}_{\sigma^2 = \frac12,\ \beta = 2}"
        r" - \tfrac D2\log\pi"
        r"\end{aligned}"
    )
st.markdown(
    tr(
        "1. **Unit-variance Gaussian decoder, β = 1**: the book minimises 2 × the negative ELBO plus a constant. "
        "Adam's steps do not change when the loss is multiplied by a constant (up to its ε = 10⁻⁸), so training "
        "on −ELBO gives the same run. "
        "This is how the Train page's *textbook* preset trains it, and why the app can report its ELBO in nats "
        "like any other model's.\n"
        "2. **Gaussian decoder with variance ½, β = 2**: the same loss is a β-VAE objective with β = 2: "
        "the book's model is pushed towards a smaller KL than the paper's.",
        "1. **분산이 1인 가우시안 디코더, β = 1**: 교재는 음의 ELBO의 2배에 상수를 더한 값을 최소화합니다. "
        "Adam의 한 걸음은 손실에 상수를 곱해도 (ε = 10⁻⁸ 정도의 차이를 빼면) 달라지지 않으므로, −ELBO로 학습해도 "
        "같은 결과가 나옵니다. "
        "학습 페이지의 *교재* 프리셋이 이렇게 학습하며, 그래서 앱은 다른 모델처럼 ELBO를 nats로 보여 줄 수 있습니다.\n"
        "2. **분산이 ½인 가우시안 디코더, β = 2**: 같은 손실을 β = 2인 β-VAE 목적 함수로 읽을 수도 있습니다. "
        "이렇게 보면 교재의 모델은 논문보다 KL을 더 작게 하도록 밀립니다.",
    )
)
st.markdown(
    tr(
        "Snippet 2 is the negative ELBO itself, of a Gaussian decoder with variance ½ and β = 1, up to the "
        "constant (D/2) log π.",
        "코드 2는 분산이 ½인 가우시안 디코더와 β = 1의 음의 ELBO 그 자체입니다(상수 (D/2) log π를 빼면).",
    )
)

x = ckpt.sample_x()
if x is not None:
    st.subheader(tr("The identities, checked on numbers", "항등식을 숫자로 확인하기"))
    x = x[:5]
    with torch.no_grad():
        mu, logvar = ckpt.model.encode(x)
        x_hat = ckpt.model.decode(mu).flatten(1)
    d = x.shape[1]
    const = textbook_constants(d)
    book = textbook_loss(x, x_hat, mu, logvar)
    unit = 2 * gaussian_neg_elbo(x, x_hat, mu, logvar, variance=1.0) - const["unit_variance"]
    half = gaussian_neg_elbo(x, x_hat, mu, logvar, variance=0.5, beta=2.0) - const["half_variance_beta2"]
    copied = copied_loss(x, x_hat, mu, logvar)
    copied_elbo = gaussian_neg_elbo(x, x_hat, mu, logvar, variance=0.5) - const["half_variance_beta2"]
    st.dataframe(
        pd.DataFrame(
            {
                tr("test image", "테스트 이미지"): range(len(x)),
                tr("snippet 1 (textbook)", "코드 1 (교재)"): book.numpy(),
                "2·(−ℒ, σ² = 1) − D log 2π": unit.numpy(),
                "−ℒ(β = 2, σ² = ½) − (D/2) log π": half.numpy(),
                tr("snippet 2 (copied)", "코드 2 (복사본)"): copied.numpy(),
                "−ℒ(β = 1, σ² = ½) − (D/2) log π": copied_elbo.numpy(),
            }
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        tr(
            "An algebraic identity checked on numbers from the model in use, not a test of training: for {n} stored "
            "test images, x̂ = the decoding of μ (one z, as one training step would use), D = {d}. Snippet 1 equals "
            "the next two columns and snippet 2 the last one, to rounding.",
            "사용 중인 모델의 숫자로 대수적 항등식을 확인한 것이며, 학습을 시험한 것은 아닙니다. 저장된 테스트 이미지 "
            "{n}개에 대해 x̂는 μ를 디코딩한 이미지(학습 한 스텝이 쓰는 z 하나), D = {d}입니다. 반올림 오차 안에서 코드 1은 "
            "다음 두 열과, 코드 2는 마지막 열과 같습니다.",
            n=len(x),
            d=d,
        )
    )
