import streamlit as st
import torch

from explorer import train_panel
from explorer.i18n import tr
from explorer.layout import page_setup
from explorer.models import checked_name
from explorer.training import TrainingJob
from vae_core.data import DATASETS, PIXELS
from vae_core.errors import ConfigError
from vae_core.train import TrainConfig

page_setup("Train", "학습")

st.title("Train a VAE")
job: TrainingJob | None = train_panel.current_job()
busy = job is not None and job.running
cuda = torch.cuda.is_available()
st.caption(
    f"Device: {'CUDA GPU present (' + torch.cuda.get_device_name(0) + ')' if cuda else 'no CUDA GPU here; training runs on the CPU'}. "
    "Digits trains in seconds; the 28×28 datasets need their files on disk (or a connection) and take minutes on a CPU."
)
who = train_panel.trainer_name()

# Settings that train a good model quickly on each dataset (digits: small, so small batches and
# a KL warm-up, which keeps its posterior from collapsing in a short run).
DEFAULTS = {
    "digits": dict(tr_epochs=30, tr_batch=32, tr_warmup=10, tr_hidden="256,128"),
    "mnist": dict(tr_epochs=10, tr_batch=256, tr_warmup=0, tr_hidden="512,256"),
    "fashion-mnist": dict(tr_epochs=10, tr_batch=256, tr_warmup=0, tr_hidden="512,256"),
    "kmnist": dict(tr_epochs=10, tr_batch=256, tr_warmup=0, tr_hidden="512,256"),
}


def _apply_defaults() -> None:
    name = st.session_state["tr_dataset"]
    st.session_state.update(DEFAULTS[name], tr_name=f"my-{name}")


if "tr_epochs" not in st.session_state:
    st.session_state["tr_dataset"] = "digits"
    _apply_defaults()
dataset = st.selectbox(
    "Dataset",
    DATASETS,
    key="tr_dataset",
    disabled=busy,
    on_change=_apply_defaults,
    help="Choosing a dataset fills in settings that suit it.",
)

with st.form("train_form", border=True):
    c = st.columns(4)
    epochs = c[0].number_input("Epochs", 1, 500, key="tr_epochs", disabled=busy)
    batch = c[1].number_input("Batch size", 1, 8192, key="tr_batch", disabled=busy)
    lr = c[2].number_input("Learning rate", 1e-6, 1.0, 2e-3, format="%.4f", key="tr_lr", disabled=busy)
    beta = c[3].number_input("β (KL weight)", 0.0, 50.0, 1.0, step=0.5, key="tr_beta", disabled=busy)
    c = st.columns(4)
    warmup = c[0].number_input("KL warm-up epochs", 0, 500, key="tr_warmup", disabled=busy)
    hidden = c[1].text_input("Hidden sizes", key="tr_hidden", disabled=busy)
    latent = c[2].number_input("Latent size", 1, 16, 2, key="tr_latent", disabled=busy)
    likelihood = c[3].selectbox("Likelihood", ["bernoulli", "gaussian"], key="tr_lik", disabled=busy)
    c = st.columns(4)
    estimator = c[0].selectbox(
        "Estimator",
        ["analytic", "mc"],
        key="tr_est",
        disabled=busy,
        format_func={"analytic": "B: analytic KL", "mc": "A: Monte-Carlo"}.get,
    )
    samples = c[1].number_input("L (samples of z)", 1, 64, 1, key="tr_L", disabled=busy)
    seed = c[2].number_input("Seed", 0, 2**31 - 1, 0, key="tr_seed", disabled=busy)
    pixels = c[3].selectbox("Pixels", PIXELS, key="tr_pixels", disabled=busy)
    c = st.columns(4)
    device = c[0].selectbox(
        "Device",
        ["auto", "cpu", "cuda"],
        key="tr_device",
        disabled=busy,
        format_func=lambda d: d if d != "cuda" or cuda else "cuda (not present)",
    )
    name = c[1].text_input("Save as", key="tr_name", disabled=busy)
    c[2].caption("Trained models are saved in the class gallery, for everyone.")
    submitted = c[3].form_submit_button("Train", type="primary", disabled=busy, width="stretch")

if submitted and not busy and who is None:
    st.error(
        tr(
            "Not started: first type your name above the settings.",
            "시작하지 않았습니다. 먼저 설정 위에 이름을 입력하세요.",
        )
    )
elif submitted and not busy:
    try:
        sizes = tuple(int(v) for v in hidden.split(",") if v.strip())
        if not sizes or any(s < 1 or s > 4096 for s in sizes):
            raise ConfigError("hidden sizes must be 1 to 4096 each, like 256,128")
        cfg = TrainConfig(
            epochs=int(epochs),
            batch_size=int(batch),
            lr=float(lr),
            beta=float(beta),
            warmup_epochs=int(warmup),
            estimator=estimator,
            n_samples=int(samples),
            pixels=pixels,
            seed=int(seed),
            device=device,
        )
        cfg.validate()
        if device == "cuda" and not cuda:
            raise ConfigError("no CUDA GPU is present: choose auto or cpu")
        model_cfg = dict(hidden=sizes, latent_dim=int(latent), likelihood=likelihood)
        job = TrainingJob(dataset, model_cfg, cfg, checked_name(name), who)
        train_panel.start(job)
        busy = True
    except ValueError as exc:
        st.error(f"Not started: {exc}")


@st.fragment(run_every=1.0 if busy else None)
def progress() -> None:
    job = train_panel.current_job()
    if job is not None:
        train_panel.progress(job)


progress()
