"""The teacher key, for pages other than the gallery: is it set, did this session give it, a box to give it.

The key is set by whoever starts the server (VAE_EXPLORER_TEACHER_KEY, or teacher_key in
.streamlit/secrets.toml); without one, every teacher control is off. A session that typed the right
key keeps `session.TEACHER_OK` (the same flag the Class gallery sets), so one login serves every page.
"""

from __future__ import annotations

import os

import streamlit as st

from . import models, session
from .i18n import Text, tr, tr_text

KEY_ENV = "VAE_EXPLORER_TEACHER_KEY"


def teacher_key() -> str | None:
    """The key set by whoever started the server (environment first, then .streamlit/secrets.toml)."""
    key = os.environ.get(KEY_ENV)
    if key:
        return key
    try:
        return st.secrets.get("teacher_key") or None
    except Exception:  # no secrets file at all: Streamlit raises rather than returning nothing
        return None


def is_teacher() -> bool:
    """True only when a key is set on the server and this session gave it."""
    return teacher_key() is not None and session.TEACHER_OK.get()


def _on_key() -> None:
    session.TEACHER_OK.set(models.teacher_key_matches(session.TEACHER_KEY_INPUT.get(), teacher_key()))
    session.TEACHER_KEY_INPUT.set("")
    session.TEACHER_TRIED.set(True)


def login(what: Text) -> bool:
    """The teacher key box (or why there is none); True when this session is the teacher's."""
    if teacher_key() is None:
        st.caption(
            tr(
                "No teacher key is set on this server, so nobody can {w}. Whoever starts the server sets one with "
                "the environment variable VAE_EXPLORER_TEACHER_KEY (or teacher_key in .streamlit/secrets.toml).",
                "이 서버에는 교사 키가 없어 아무도 {w} 수 없습니다. 서버를 시작하는 사람이 환경 변수 "
                "VAE_EXPLORER_TEACHER_KEY (또는 .streamlit/secrets.toml의 teacher_key)로 정합니다.",
                w=tr_text(what),
            )
        )
        return False
    if session.TEACHER_OK.get():
        return True
    st.text_input(tr("Teacher key", "교사 키"), type="password", key=session.TEACHER_KEY_INPUT.name, on_change=_on_key)
    if session.TEACHER_TRIED.get():
        st.error(tr("That is not the teacher key.", "교사 키가 맞지 않습니다."))
    return False
