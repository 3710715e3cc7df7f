"""The sidebar: choose the active model once for all pages, or upload a checkpoint."""

from __future__ import annotations

import streamlit as st

from vae_core.checkpoint import MAX_CHECKPOINT_BYTES
from vae_core.errors import VAECoreError

from . import models, session, state
from .i18n import tr
from .plain import plain, public
from .settings_form import choice_text


def picker_key(model_id: str) -> str:
    """The picker's key: it names the model active when it was drawn (see _on_select)."""
    return session.PICKER.of(model_id).name


def model_label(ref: models.ModelRef) -> str:
    """How a model is named in menus, in the session's language."""
    if ref.kind == "shipped":
        return tr("{n} (shipped)", "{n} (기본 제공)", n=ref.name)
    if ref.kind == "upload":
        return tr("{n} (uploaded)", "{n} (업로드)", n=ref.name)
    return tr("{n} (class gallery)", "{n} (우리 반 갤러리)", n=ref.name)


def _on_select(drawn_for: str) -> None:
    # A browser can report a picker it drew before the active model changed elsewhere (the Train
    # page's progress timer sends every widget's value, and can do so while the page that made the
    # new model active is on its way). That report names the old model. A choice counts only from
    # the picker drawn for the model that is active now.
    if state.active_id() != drawn_for:
        return
    wanted = session.PICKER.of(drawn_for).get()
    for ref in state.available_models():
        if ref.id == wanted:
            state.set_active(ref)


def _on_upload() -> None:
    up = session.CKPT_UPLOAD.get()
    if up is None:
        return
    try:
        ref = state.add_upload(up.name, up.getvalue())
    except VAECoreError as exc:
        session.UPLOAD_ERROR.set(public(exc))
        return
    session.UPLOAD_ERROR.clear()
    state.set_active(ref)


def model_picker(show: bool = True, locked: bool = False) -> state.Active:
    """Render the picker and return the active model (the same on every page). A link may hide
    it (`hide=picker`) or lock it (`lock=model`: shown, disabled)."""
    current = state.active()
    if not show:
        return current
    labels = {m.id: model_label(m) for m in state.available_models()}  # formatted now, in this session's language
    labels.setdefault(current.ref.id, model_label(current.ref))  # e.g. a model saved a moment ago
    ids = list(labels)
    with st.sidebar:
        st.selectbox(
            tr("Active model", "사용할 모델"),
            ids,
            index=ids.index(current.ref.id),
            key=picker_key(current.ref.id),  # a new picker when the model changes elsewhere (Train, gallery)
            on_change=_on_select,
            args=(current.ref.id,),
            format_func=labels.get,
            disabled=locked,
            help=tr(
                "Shipped models, the class's models (see the gallery), and your uploads.",
                "기본 제공 모델, 우리 반이 학습한 모델(갤러리 참고), 직접 올린 모델입니다.",
            ),
        )
        cfg, meta = current.ckpt.config, current.ckpt.meta
        ds = meta.get("dataset", {})
        st.caption(
            tr(
                "{d} · {lik} · latent {z} · {e} epochs",
                "{d} · {lik} · 잠재 차원 {z} · {e} 에폭",
                d=plain(ds.get("name", "?")),
                lik=choice_text(cfg.likelihood),
                z=cfg.latent_dim,
                e=len(meta.get("history", [])),
            )
        )
        if locked:  # the link fixes the model: no upload either
            return state.active()
        with st.expander(tr("Upload a checkpoint", "체크포인트 올리기")):
            st.file_uploader(
                tr("vae_core checkpoint (.safetensors)", "vae_core 체크포인트 (.safetensors)"),
                type=["safetensors"],
                key=session.CKPT_UPLOAD.name,
                on_change=_on_upload,
                help=tr(
                    "Files saved by this app or `python -m vae_core train`, up to {m} MiB. "
                    "Loaded without running any code from the file.",
                    "이 앱이나 `python -m vae_core train` 으로 저장한 파일, 최대 {m} MiB. "
                    "파일 속 코드는 전혀 실행하지 않고 불러옵니다.",
                    m=MAX_CHECKPOINT_BYTES // 2**20,
                ),
            )
            if session.UPLOAD_ERROR.get() is not None:
                st.error(
                    tr("This file was not loaded: ", "이 파일은 불러오지 않았습니다: ")
                    + plain(session.UPLOAD_ERROR.get())
                )
    return state.active()
