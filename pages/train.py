import numpy as np
import streamlit as st
import torch

from explorer import state
from explorer.figures import history_figure, latent_scatter
from explorer.i18n import tr
from explorer.layout import page_setup
from explorer.models import checked_name, run_models, run_path
from explorer.settings_form import apply_defaults, configs_from_form, settings_widgets
from explorer.training import TrainingJob
from vae_core.datasets import DATASETS
from vae_core.errors import ConfigError

page_setup("Train", "학습")

JOB = "train_job"
st.title(tr("Train a VAE", "VAE 학습하기"))
job: TrainingJob | None = st.session_state.get(JOB)
busy = job is not None and job.running
cuda = torch.cuda.is_available()
st.caption(
    (
        tr("Device: CUDA GPU present ({gpu}).", "장치: CUDA GPU 있음({gpu}).", gpu=torch.cuda.get_device_name(0))
        if cuda
        else tr("Device: no CUDA GPU here; training runs on the CPU.", "장치: CUDA GPU가 없어 CPU에서 학습합니다.")
    )
    + " "
    + tr(
        "Digits trains in seconds; the 28×28 datasets need their files on disk (or a connection) and take minutes on a CPU.",
        "digits는 몇 초면 학습됩니다. 28×28 데이터셋은 파일이 디스크에 있어야 하고(또는 인터넷 연결) CPU에서 몇 분 걸립니다.",
    )
)


def _dataset_changed() -> None:
    name = st.session_state["tr_dataset"]
    apply_defaults(name)  # settings that train a good model quickly on this dataset
    st.session_state["tr_name"] = f"my-{name}"


if "tr_dataset" not in st.session_state:
    st.session_state["tr_dataset"] = "digits"
    _dataset_changed()
dataset = st.selectbox(
    tr("Dataset", "데이터셋"),
    list(DATASETS),
    key="tr_dataset",
    disabled=busy,
    on_change=_dataset_changed,
    format_func=lambda n: DATASETS[n].title,
    help=tr("Choosing a dataset fills in settings that suit it.", "데이터셋을 고르면 그에 맞는 설정이 채워집니다."),
)

with st.form("train_form", border=True):
    values = settings_widgets(dataset, disabled=busy)
    c = st.columns(4)
    name = c[0].text_input(tr("Save as", "저장 이름"), key="tr_name", disabled=busy)
    c[1].caption(
        tr("Trained models are saved for this browser session only.", "학습한 모델은 이 브라우저 세션에만 저장됩니다.")
    )
    submitted = c[3].form_submit_button(tr("Train", "학습"), type="primary", disabled=busy, width="stretch")

if submitted and not busy:
    try:
        model_cfg, cfg = configs_from_form(dataset, values)
        if cfg.device == "cuda" and not cuda:
            raise ConfigError("no CUDA GPU is present: choose auto or cpu")
        out = run_path(state.session_id(), checked_name(name))
        model_args = {k: v for k, v in model_cfg.to_dict().items() if k != "input_shape"}
        job = TrainingJob(dataset, model_args, cfg, out)
        st.session_state[JOB] = job
        job.start()
        busy = True
    except ValueError as exc:
        st.error(tr("Not started: {detail}", "시작하지 않았습니다: {detail}", detail=exc))


@st.fragment(run_every=1.0 if busy else None)
def progress() -> None:
    job: TrainingJob | None = st.session_state.get(JOB)
    if job is None:
        return
    total = job.train_cfg.epochs
    st.progress(len(job.history) / total, text=f"{job.status}: {job.message or 'starting…'}")
    if job.running and st.button(tr("Stop after this epoch", "이번 에폭 뒤에 멈추기"), key="tr_stop"):
        job.request_stop()
        st.toast(
            tr(
                "Stopping after the current epoch; the model will be saved.",
                "지금 에폭이 끝나면 멈추고 모델을 저장합니다.",
            )
        )
    if job.status == "failed":
        st.error(tr("Training failed: {msg}", "학습 실패: {msg}", msg=job.message))
    if job.history:
        st.plotly_chart(history_figure(job.history), width="stretch", key="tr_curves")
    if job.latents:
        last = len(job.latents)
        epoch = last
        if not job.running and last > 1:
            epoch = st.slider(
                tr("Replay the latent space at epoch", "잠재 공간 다시 보기: 에폭"), 1, last, last, key="tr_replay"
            )
        fig = latent_scatter(
            job.latents[epoch - 1],
            np.asarray(job.labels),
            job.class_names,
            title=tr("Test-set latent means after epoch {e}", "에폭 {e} 뒤 테스트 세트의 잠재 평균", e=epoch),
            height=480,
        )
        st.plotly_chart(fig, width="stretch", key="tr_latents")
    if not job.running and st.session_state.get("tr_finished") != str(job.out) + str(job.started):
        # The run just ended: make its model active and redraw the whole page once (form enabled).
        st.session_state["tr_finished"] = str(job.out) + str(job.started)
        if job.status == "done":
            ref = next(r for r in run_models(state.session_id()) if r.path == str(job.out))
            state.set_active(ref)
        st.rerun(scope="app")
    if job.status == "done":
        st.success(
            tr(
                "{msg}. It is now the active model: see it on the other pages.",
                "{msg}. 이제 활성 모델입니다. 다른 페이지에서 확인하세요.",
                msg=job.message,
            )
        )


progress()
