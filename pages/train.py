import streamlit as st
import torch

from explorer import owner, session, train_panel
from explorer.i18n import tr, tr_text
from explorer.layout import page_setup
from explorer.models import checked_name, size_refusal
from explorer.plain import plain
from explorer.settings_form import apply_defaults, apply_values, configs_from_form, settings_widgets
from explorer.training import Refused, TrainingJob, runs_per_student
from vae_core.datasets import DATASETS
from vae_core.errors import ConfigError
from vae_core.presets import PRESETS

page_setup("Train", "학습")

st.title(tr("Train a VAE", "VAE 학습하기"))
owner.secret()  # this browser's secret (its runs are its own); kept in a cookie from the first page
job: TrainingJob | None = train_panel.current_job()
busy = job is not None and job.running  # redraw the progress every second; the form stays usable
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
who = train_panel.trainer_name()


def _dataset_changed() -> None:
    name = session.TRAIN_DATASET.get()
    apply_defaults(name)  # settings that train a good model quickly on this dataset
    if session.TRAIN_PRESET.get() in PRESETS:  # a chosen preset stays over the new defaults
        apply_values(PRESETS[session.TRAIN_PRESET.get()].values)
    session.TRAIN_NAME.set(f"my-{name}")


if not session.TRAIN_DATASET.is_set():
    session.TRAIN_DATASET.set("digits")
    _dataset_changed()
dataset = st.selectbox(
    tr("Dataset", "데이터셋"),
    list(DATASETS),
    key=session.TRAIN_DATASET.name,
    on_change=_dataset_changed,
    format_func=lambda n: DATASETS[n].title,
    help=tr("Choosing a dataset fills in settings that suit it.", "데이터셋을 고르면 그에 맞는 설정이 채워집니다."),
)


def _preset_chosen() -> None:
    preset = PRESETS.get(session.TRAIN_PRESET.get())
    apply_defaults(session.TRAIN_DATASET.get())
    if preset is not None:
        apply_values(preset.values)


# labels made here, in the session: AppTest calls format_func outside it
preset_labels = {"": tr("none", "없음")} | {n: tr_text((p.label_en, p.label_ko)) for n, p in PRESETS.items()}
st.selectbox(
    tr("Preset", "프리셋"),
    ["", *PRESETS],
    key=session.TRAIN_PRESET.name,
    on_change=_preset_chosen,
    format_func=preset_labels.get,
    help=tr(
        "Fill in a known setup over the dataset's defaults; you can still change any setting.",
        "데이터셋 기본값 위에 알려진 설정을 채웁니다. 채운 뒤에도 어떤 설정이든 바꿀 수 있습니다.",
    ),
)
if session.TRAIN_PRESET.get() in PRESETS:
    preset = PRESETS[session.TRAIN_PRESET.get()]
    st.caption(tr_text((preset.note_en, preset.note_ko)))

with st.form("train_form", border=True):
    values = settings_widgets(dataset)
    c = st.columns(4)
    name = c[0].text_input(tr("Save as", "저장 이름"), key=session.TRAIN_NAME.name)
    c[1].caption(
        tr(
            "Trained models are saved in the class gallery, for everyone.",
            "학습한 모델은 우리 반 갤러리에 저장되어 모두가 볼 수 있습니다.",
        )
    )
    c[2].caption(
        tr(
            "Each student may have {k} run(s) queued or training at a time.",
            "학생마다 한 번에 {k}개까지 대기하거나 학습할 수 있습니다.",
            k=runs_per_student(),
        )
    )
    submitted = c[3].form_submit_button(tr("Train", "학습"), type="primary", width="stretch")

if submitted and who is None:
    st.error(
        tr(
            "Not started: first type your name above the settings.",
            "시작하지 않았습니다. 먼저 설정 위에 이름을 입력하세요.",
        )
    )
elif submitted:
    try:
        model_cfg, cfg = configs_from_form(dataset, values)
        if cfg.device == "cuda" and not cuda:
            raise ConfigError("no CUDA GPU is present: choose auto or cpu")
        too_big = size_refusal(model_cfg)  # a file the app could not load back is never trained
        if too_big is not None:
            st.error(tr_text(too_big))
        else:
            model_args = {k: v for k, v in model_cfg.to_dict().items() if k != "input_shape"}
            job = TrainingJob(dataset, model_args, cfg, checked_name(name), who)
            train_panel.start(job)
            busy = True
    except Refused as exc:  # a fair-share limit: its message says which, in both languages
        st.error(tr_text(exc.text))
    except ValueError as exc:  # the detail may echo what was typed: shown as plain text
        st.error(tr("Not started: {detail}", "시작하지 않았습니다: {detail}", detail=plain(str(exc))))


@st.fragment(run_every=1.0 if busy else None)
def progress() -> None:
    job = train_panel.current_job()
    if job is not None:
        train_panel.progress(job)


progress()
