import numpy as np
import streamlit as st
import torch

from explorer import state
from explorer.figures import history_figure, latent_scatter
from explorer.layout import page_setup
from explorer.models import checked_name, run_models, run_path
from explorer.training import TrainingJob
from vae_core.data import DATASETS, PIXELS
from vae_core.errors import ConfigError
from vae_core.train import TrainConfig

page_setup("Train", "학습")

JOB = "train_job"
st.title("Train a VAE")
job: TrainingJob | None = st.session_state.get(JOB)
busy = job is not None and job.running
cuda = torch.cuda.is_available()
st.caption(
    f"Device: {'CUDA GPU present (' + torch.cuda.get_device_name(0) + ')' if cuda else 'no CUDA GPU here; training runs on the CPU'}. "
    "Digits trains in seconds; the 28×28 datasets need their files on disk (or a connection) and take minutes on a CPU."
)

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
    c[2].caption("Trained models are saved for this browser session only.")
    submitted = c[3].form_submit_button("Train", type="primary", disabled=busy, width="stretch")

if submitted and not busy:
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
        out = run_path(state.session_id(), checked_name(name))
        job = TrainingJob(dataset, dict(hidden=sizes, latent_dim=int(latent), likelihood=likelihood), cfg, out)
        st.session_state[JOB] = job
        job.start()
        busy = True
    except ValueError as exc:
        st.error(f"Not started: {exc}")


@st.fragment(run_every=1.0 if busy else None)
def progress() -> None:
    job: TrainingJob | None = st.session_state.get(JOB)
    if job is None:
        return
    total = job.train_cfg.epochs
    st.progress(len(job.history) / total, text=f"{job.status}: {job.message or 'starting…'}")
    if job.running and st.button("Stop after this epoch", key="tr_stop"):
        job.request_stop()
        st.toast("Stopping after the current epoch; the model will be saved.")
    if job.status == "failed":
        st.error(job.message)
    if job.history:
        st.plotly_chart(history_figure(job.history), width="stretch", key="tr_curves")
    if job.latents:
        last = len(job.latents)
        epoch = last
        if not job.running and last > 1:
            epoch = st.slider("Replay the latent space at epoch", 1, last, last, key="tr_replay")
        fig = latent_scatter(
            job.latents[epoch - 1],
            np.asarray(job.labels),
            job.class_names,
            title=f"Test-set latent means after epoch {epoch}",
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
        st.success(f"{job.message}. It is now the active model: see it on the other pages.")


progress()
