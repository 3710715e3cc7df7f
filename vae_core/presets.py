"""Named sets of settings a user can start from, applied over a dataset's defaults.

A preset is data, not code: the names of VAEConfig / TrainConfig fields and their values
(vae_core.settings.build_configs checks them like any other values).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Preset:
    name: str
    label_en: str
    label_ko: str
    note_en: str
    note_ko: str
    values: dict = field(default_factory=dict)  # setting name -> value


# The VAE chapter of the course textbook: an MLP 784-200-z with a sigmoid output, loss
# F.mse_loss(sum) - sum(1 + logvar - mu^2 - exp(logvar)), Adam 3e-4, batch 32, 30 epochs. That loss
# is 2 x (-ELBO) of a unit-variance Gaussian decoder minus a constant (vae_core.concepts), and
# Adam's steps do not depend on the loss's scale, so a Gaussian decoder with sigma = 1 and beta = 1
# trains the same model and its ELBO is reported in nats. Constant learning rate (no decay).
_TEXTBOOK = dict(
    hidden=(200,),
    activation="relu",
    likelihood="gaussian",
    gaussian_variance="fixed",
    gaussian_std=1.0,
    lr=3e-4,
    lr_final_frac=1.0,
    batch_size=32,
    epochs=30,
    beta=1.0,
    warmup_epochs=0,
    estimator="analytic",
    n_samples=1,
    pixels="continuous",
)
PRESETS = {
    p.name: p
    for p in (
        Preset(
            "textbook",
            "Textbook VAE (784-200-2)",
            "교재의 VAE (784-200-2)",
            "The course textbook's MLP, loss and optimiser, with a 2-D latent space so it can be drawn. "
            "MSE-sum + 2·KL is trained as the ELBO of a Gaussian decoder with σ = 1 (see Concepts: the "
            "textbook's loss). 30 epochs at batch 32 take a few minutes on a CPU for 60 000 images.",
            "교재의 MLP, 손실 함수, 최적화 설정을 그대로 쓰되, 그릴 수 있도록 잠재 공간을 2차원으로 했습니다. "
            "MSE 합 + 2·KL은 σ = 1인 가우시안 디코더의 ELBO로 학습됩니다 (개념: 교재의 손실 함수 참고). "
            "이미지 6만 장에서 배치 32로 30 에폭을 돌리면 CPU에서 몇 분 걸립니다.",
            {**_TEXTBOOK, "latent_dim": 2},
        ),
        Preset(
            "textbook-20",
            "Textbook VAE, as in the book (784-200-20)",
            "교재 그대로의 VAE (784-200-20)",
            "The same with the book's 20 latent dimensions: the pages then show the first two.",
            "같은 설정에 교재처럼 잠재 차원을 20으로 했습니다. 페이지에는 처음 두 차원이 보입니다.",
            {**_TEXTBOOK, "latent_dim": 20},
        ),
    )
}
