"""The Train page's settings form, generated from the config fields (vae_core.settings).

One widget per user setting, chosen from its metadata: a select box for a fixed set of choices,
a checkbox for a switch, a number box with the setting's bounds for numbers, a text box for
lists of sizes. Labels and help are the metadata's English beside the Korean kept here (KO):
adding a setting to VAEConfig or TrainConfig adds it to the CLI and to this form, and
tests/test_settings.py fails until it has a Korean label here.
Widget keys are `tr_<field name>`; their values are checked by vae_core when the form is sent.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from vae_core.settings import Setting, build_configs, defaults_for, user_settings
from vae_core.train import TrainConfig

from . import session
from .i18n import tr, tr_text

PREFIX = session.SETTING.pattern.partition("{}")[0]  # "tr_": every setting's widget key starts with it

# field name -> (Korean label, Korean help). English comes from the field's metadata.
KO: dict[str, tuple[str, str]] = {
    "hidden": ("은닉층 크기", "인코더 은닉층의 너비(예: 512,256). 디코더는 그 역순을 씁니다"),
    "latent_dim": ("잠재 차원", "z의 크기. 탐색기는 처음 두 차원을 그립니다"),
    "activation": ("활성화 함수", "은닉층의 비선형 함수(논문은 tanh를 썼습니다)"),
    "likelihood": ("우도", "p(x|z): 베르누이(로짓) 또는 가우시안(시그모이드 평균)"),
    "gaussian_variance": (
        "가우시안 분산",
        "가우시안일 때만: fixed(σ = 가우시안 σ) 또는 픽셀마다 학습(가우시안 σ 하한 아래로는 내려가지 않음)",
    ),
    "gaussian_std": ("가우시안 σ", "가우시안·고정 분산일 때만: 관측 표준편차(픽셀 단위)"),
    "gaussian_min_std": (
        "가우시안 σ 하한",
        "가우시안·학습 분산일 때만: 디코더가 픽셀에 줄 수 있는 가장 작은 표준편차(우도가 무한히 커지지 않게 함)",
    ),
    "kind": (
        "모델 종류",
        "vae: z ~ N(μ, diag(σ²))와 KL 항, autoencoder: z = μ, 잡음도 KL도 없음(비교용 고전적 오토인코더)",
    ),
    "epochs": ("에폭 수", "학습 데이터를 몇 번 훑을지"),
    "batch_size": ("배치 크기", "한 스텝(미니배치)에 쓰는 샘플 수. 0이면 자동(CPU 256, CUDA 512)"),
    "lr": ("학습률", "Adam의 최대 학습률. 코사인으로 lr × 최종 비율까지 줄어듭니다"),
    "lr_final_frac": ("최종 학습률 비율", "마지막 에폭의 학습률을 lr에 대한 비율로. 1이면 일정"),
    "beta": ("β (KL 가중치)", "KL 항의 가중치(β-VAE). 논문의 ELBO는 β = 1"),
    "warmup_epochs": (
        "KL 워밍업 에폭",
        "KL 가중치가 0(1번째 에폭)에서 β(W+1번째 에폭)까지 선형으로 커집니다. 0이면 워밍업 없음, 1이면 한 에폭만 0",
    ),
    "estimator": ("추정량", "analytic: 논문의 추정량 B(해석적 KL), mc: 추정량 A(몬테카를로)"),
    "n_samples": ("L (z 샘플 수)", "샘플과 스텝마다 뽑는 z의 개수 L"),
    "pixels": (
        "픽셀",
        "연속 픽셀, 정적 이진화(한 번 임계값 처리), 동적 이진화(에폭마다 베르누이 추출)",
    ),
    "seed": ("시드", "초기화·섞기·샘플링의 시드. 같은 장치에서 재현됩니다"),
    "device": ("장치", "auto(CUDA가 있으면 CUDA), cpu, cuda"),
    "cuda_graph": ("CUDA 그래프", "CUDA에서만: 학습 스텝을 CUDA 그래프로 캡처"),
    "cpu_bf16": (
        "CPU bf16 연산",
        "CPU에서만: float32 가중치의 bf16 사본으로 순전파·역전파. auto는 CPU에 bf16 명령어가 있을 때",
    ),
}
# Choice values shown in Korean (values not listed are shown as they are).
CHOICES_KO = {
    "bernoulli": "베르누이",
    "gaussian": "가우시안",
    "fixed": "고정",
    "learned": "학습",
    "continuous": "연속값",
    "relu": "ReLU",
    "static": "정적 이진화",
    "dynamic": "동적 이진화",
    "autoencoder": "오토인코더",
    "analytic": "B: 해석적 KL",
    "mc": "A: 몬테카를로",
    "auto": "자동",
    "on": "켬",
    "off": "끔",
}
CHOICES_EN = {"analytic": "B: analytic KL", "mc": "A: Monte-Carlo", "relu": "ReLU"}
COLUMNS = 4


def key(name: str) -> str:
    """The widget key of one setting (session.SETTING)."""
    return session.SETTING.of(name).name


def _widget_value(s: Setting, value: Any) -> Any:
    return ",".join(map(str, value)) if s.kind == "ints" else value


def apply_defaults(dataset: str) -> None:
    """Fill every setting's widget with `dataset`'s defaults (call before the widgets are drawn)."""
    settings = user_settings()
    session.update({session.SETTING.of(n): _widget_value(settings[n], v) for n, v in defaults_for(dataset).items()})


def apply_values(values: dict[str, Any]) -> None:
    """Fill the named settings' widgets (a preset over the dataset's defaults); before they are drawn."""
    settings = user_settings()
    session.update({session.SETTING.of(n): _widget_value(settings[n], v) for n, v in values.items()})


def _label(s: Setting) -> tuple[str, str]:
    ko_label, ko_help = KO.get(s.name, (s.spec.label, s.spec.help))
    return tr_text((s.spec.label, ko_label)), tr_text((s.spec.help, ko_help))


def choice_text(value) -> str:
    """A setting's value as a student reads it, in the session's language ("bernoulli" -> "베르누이")."""
    return tr_text((CHOICES_EN.get(value, str(value)), CHOICES_KO.get(value, str(value))))


def _step(s: Setting) -> float:
    if s.spec.step is not None:
        return s.spec.step
    d = abs(float(s.default))
    return 10 ** math.floor(math.log10(d)) if d > 0 else 0.1


def _widget(container, s: Setting, disabled: bool) -> Any:
    label, help_text = _label(s)
    k = key(s.name)
    if s.spec.choices is not None:
        shown = {c: choice_text(c) for c in s.spec.choices}  # now: AppTest calls format_func outside the session
        return container.selectbox(
            label, s.spec.choices, key=k, help=help_text, disabled=disabled, format_func=shown.get
        )
    if s.kind == "bool":
        return container.checkbox(label, key=k, help=help_text, disabled=disabled)
    if s.kind == "ints":
        return container.text_input(label, key=k, help=help_text, disabled=disabled)
    if s.kind == "str":
        return container.text_input(label, key=k, help=help_text, disabled=disabled)
    low = s.spec.ge if s.spec.ge is not None else s.spec.gt
    high = s.spec.ui_le if s.spec.ui_le is not None else s.spec.le
    if s.kind == "int":
        low, high = (int(v) if v is not None else None for v in (low, high))
        return container.number_input(label, low, high, step=1, key=k, help=help_text, disabled=disabled)
    low, high = (float(v) if v is not None else None for v in (low, high))
    return container.number_input(
        label, low, high, step=_step(s), format="%g", key=k, help=help_text, disabled=disabled
    )


def _grid(items: list[Setting], disabled: bool) -> dict[str, Any]:
    values = {}
    for i in range(0, len(items), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, s in zip(cols, items[i : i + COLUMNS]):
            values[s.name] = _widget(col, s, disabled)
    return values


def settings_widgets(dataset: str, disabled: bool = False) -> dict[str, Any]:
    """Draw one widget per user setting (inside the caller's st.form); returns name -> value.

    The main settings come first, the advanced ones in an expander. Widgets not yet in session
    state start at `dataset`'s defaults.
    """
    # Training settings first (epochs, batch size, ...), then the network's.
    settings = sorted(user_settings().values(), key=lambda s: s.owner is not TrainConfig)
    if any(not session.SETTING.of(s.name).is_set() for s in settings):
        defaults = defaults_for(dataset)
        for s in settings:
            session.SETTING.of(s.name, default=_widget_value(s, defaults[s.name])).setdefault()
    values = _grid([s for s in settings if not s.spec.advanced], disabled)
    with st.expander(tr("Advanced settings", "고급 설정")):
        values.update(_grid([s for s in settings if s.spec.advanced], disabled))
    return values


def configs_from_form(dataset: str, values: dict[str, Any]):
    """(VAEConfig, TrainConfig) from the form's values; raises ConfigError naming a bad setting."""
    return build_configs(dataset, values)
