"""The sidebar: choose the active model once for all pages, or upload a checkpoint."""

from __future__ import annotations

import streamlit as st

from vae_core.checkpoint import MAX_CHECKPOINT_BYTES
from vae_core.errors import VAECoreError

from . import state

SELECT = "model_select"


def _on_select() -> None:
    label = st.session_state[SELECT]
    for ref in state.available_models():
        if ref.label == label:
            state.set_active(ref)


def _on_upload() -> None:
    up = st.session_state.get("ckpt_upload")
    if up is None:
        return
    try:
        ref = state.add_upload(up.name, up.getvalue())
    except VAECoreError as exc:
        st.session_state["upload_error"] = str(exc)
        return
    st.session_state.pop("upload_error", None)
    state.set_active(ref)


def model_picker() -> state.Active:
    """Render the picker and return the active model (the same on every page)."""
    current = state.active()
    labels = [m.label for m in state.available_models()]
    st.session_state[SELECT] = current.ref.label  # follow changes made elsewhere (Train page)
    with st.sidebar:
        st.selectbox(
            "Active model",
            labels,
            key=SELECT,
            on_change=_on_select,
            help="Shipped models, models you trained in this session, and uploads.",
        )
        cfg, meta = current.ckpt.config, current.ckpt.meta
        ds = meta.get("dataset", {})
        st.caption(
            f"{ds.get('name', '?')} · {cfg.likelihood} · latent {cfg.latent_dim} · "
            f"{len(meta.get('history', []))} epochs"
        )
        with st.expander("Upload a checkpoint"):
            st.file_uploader(
                "vae_core checkpoint (.safetensors)",
                type=["safetensors"],
                key="ckpt_upload",
                on_change=_on_upload,
                help=f"Files saved by this app or `python -m vae_core train`, up to {MAX_CHECKPOINT_BYTES // 2**20} MiB. "
                "Loaded without running any code from the file.",
            )
            if "upload_error" in st.session_state:
                st.error(st.session_state["upload_error"])
    return state.active()
