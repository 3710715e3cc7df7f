import logging
import os
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from explorer import models, session, state, train_panel
from explorer.i18n import tr
from explorer.layout import page_setup
from explorer.plain import plain
from explorer.widgets import show_image
from vae_core.errors import VAECoreError
from vae_core.manifold import LATENT_SQUARE

act = page_setup("Class gallery", "우리 반 갤러리")

TEACHER = session.TEACHER_OK  # this session gave the right teacher key
log = logging.getLogger("explorer.gallery")


def teacher_key() -> str | None:
    """The key set by whoever started the server (environment first, then .streamlit/secrets.toml)."""
    key = os.environ.get("VAE_EXPLORER_TEACHER_KEY")
    if key:
        return key
    try:
        return st.secrets.get("teacher_key") or None
    except Exception:  # no secrets file at all: Streamlit raises rather than returning nothing
        return None


def _on_key() -> None:
    given = session.TEACHER_KEY_INPUT.get()
    session.TEACHER_KEY_INPUT.set("")
    session.TEACHER_TRIED.set(True)
    if time.time() < session.TEACHER_WAIT_UNTIL.get():  # throttled: not even checked
        return
    ok = models.teacher_key_matches(given, teacher_key())
    TEACHER.set(ok)
    fails = 0 if ok else session.TEACHER_FAILS.get() + 1
    session.TEACHER_FAILS.set(fails)
    session.TEACHER_WAIT_UNTIL.set(time.time() + models.key_wait_seconds(fails))
    if not ok:
        log.warning("wrong teacher key (%d in this session)", fails)


@st.cache_data(max_entries=256, show_spinner=False)
def thumbnail(path: str, mtime_ns: int):
    ckpt = state._load_file(path, mtime_ns)
    mosaic, _, _ = state.cached_manifold(f"{path}@{mtime_ns}", ckpt, 10, "icdf", *LATENT_SQUARE, ())
    return mosaic


def when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


st.title(tr("Class gallery", "우리 반 갤러리"))
st.caption(
    tr(
        "Every model trained in this app, by everyone in the class, newest first. Make one active to explore it "
        "on the other pages, or download its checkpoint file.",
        "이 앱에서 우리 반 모두가 학습한 모델입니다(최신순). 사용할 모델로 고르면 다른 페이지에서 살펴볼 수 있고, "
        "체크포인트 파일을 내려받을 수도 있습니다.",
    )
)

key_set = teacher_key() is not None
teacher = key_set and TEACHER.get()
entries = models.gallery()
pin = models.pinned()
used, quota = sum(e.bytes for e in entries), models.quota_bytes()

train_panel.run_controls(teacher)  # runs queued or training now; the teacher can cancel them

if not entries:
    st.info(
        tr(
            "No model in the gallery yet: train one on the Train page and it appears here for everyone.",
            "아직 갤러리에 모델이 없습니다. 학습 페이지에서 모델을 학습하면 여기에 모두에게 보입니다.",
        )
    )
if pin:
    st.caption(tr("Pinned for everyone: **{p}**", "모두에게 고정된 모델: **{p}**", p=plain(pin)))

COLS = 3
for row in range(0, len(entries), COLS):
    cols = st.columns(COLS)
    for col, e in zip(cols, entries[row : row + COLS]):
        with col.container(border=True):
            badge = " 📌" if e.name == pin else ""
            st.subheader(plain(e.name) + badge)
            readable = not models.too_big(e)
            try:
                if readable:
                    show_image(thumbnail(e.path, os.stat(e.path).st_mtime_ns), size=260)
            except (OSError, VAECoreError) as exc:
                log.warning("gallery model %s cannot be read: %s", e.name, exc)  # the detail stays in the log
                readable = False
            if not readable:
                st.warning(
                    tr(
                        "This model cannot be read (damaged, or too large for the app). The teacher can delete it.",
                        "이 모델을 읽을 수 없습니다(손상되었거나 앱에서 쓰기에 너무 큽니다). 선생님이 지울 수 있습니다.",
                    )
                )
            st.markdown(
                tr(
                    "by **{w}** · {d} · β = {b} · {n} epochs  \ntest ELBO {v} nats · {t}",
                    "**{w}** · {d} · β = {b} · {n} 에폭  \n테스트 ELBO {v} nats · {t}",
                    w=plain(e.who),
                    d=plain(e.dataset),
                    b="?" if e.beta is None else f"{e.beta:g}",
                    n=e.epochs,
                    v="–" if e.test_elbo is None else f"{e.test_elbo:.2f}",
                    t=when(e.created),
                )
            )
            is_active = act.ref.kind == "class" and act.ref.name == e.name
            b = st.columns(2)
            if readable and b[0].button(
                tr("Active", "사용 중") if is_active else tr("Make active", "사용하기"),
                key=f"use_{e.name}",
                disabled=is_active,
                width="stretch",
            ):
                state.set_active(e.ref)
                st.rerun()
            if readable:
                b[1].download_button(
                    tr("Download", "내려받기"),
                    data=lambda p=e.path: Path(p).read_bytes(),
                    file_name=f"{e.name}.safetensors",
                    mime="application/octet-stream",
                    key=f"dl_{e.name}",
                    width="stretch",
                )
            if teacher:
                t = st.columns(2)
                if e.name == pin:
                    if t[0].button(tr("Unpin", "고정 해제"), key=f"unpin_{e.name}", width="stretch"):
                        models.set_pin(None)
                        st.rerun()
                elif t[0].button(tr("Pin for everyone", "모두에게 고정"), key=f"pin_{e.name}", width="stretch"):
                    models.set_pin(e.name)
                    st.rerun()
                if t[1].button(tr("Delete", "삭제"), key=f"del_{e.name}", type="secondary", width="stretch"):
                    models.delete_model(e.name)
                    if is_active:
                        state.forget_active()
                    st.rerun()

st.divider()
st.caption(
    tr(
        "Storage: {u:.1f} MB of {q:.0f} MB. When the gallery is full, a new model takes the room it needs from the "
        "oldest models that are not pinned, only ones older than {g:g} hours and at most {k} per save; otherwise it "
        "is not saved. One student's models may use at most {s:.1f} MB. The shipped models are never removed.",
        "저장 공간: {q:.0f} MB 중 {u:.1f} MB 사용. 갤러리가 가득 차면 새 모델은 고정되지 않은 가장 오래된 모델 중 "
        "{g:g}시간이 지난 것만, 한 번에 {k}개까지 지워 필요한 자리만 만듭니다. 그럴 수 없으면 새 모델을 저장하지 "
        "않습니다. 학생 한 명의 모델은 모두 합쳐 {s:.1f} MB까지입니다. 기본 제공 모델은 지우지 않습니다.",
        u=used / 1e6,
        q=quota / 1e6,
        g=models.grace_seconds() / 3600,
        k=models.evict_max(),
        s=models.share_bytes() / 1e6,
    )
)


def teacher_usage() -> None:
    """Who uses how much of the quota, and the models the quota removed."""
    use = models.usage()
    st.markdown(tr("**Storage by student**", "**학생별 저장 공간**"))
    student = tr("Student", "학생")
    st.table(  # an HTML table; its cells are markdown, so names go through plain()
        pd.DataFrame(
            {
                student: [plain(who) for who, _, _ in use.by_student.values()],
                tr("Models", "모델 수"): [n for _, n, _ in use.by_student.values()],
                "MB": [f"{b / 1e6:.2f}" for _, _, b in use.by_student.values()],
            }
        ).set_index(student)
    )
    st.markdown(tr("**Removed by the quota**", "**저장 공간 규칙으로 지운 모델**"))
    removed = models.evictions()
    if not removed:
        st.caption(tr("No model has been removed.", "지운 모델이 없습니다."))
    else:
        name = tr("Model", "모델")
        st.table(
            pd.DataFrame(
                {
                    name: [plain(r.get("name")) for r in removed],
                    tr("Trained by", "학습한 사람"): [plain(r.get("who")) for r in removed],
                    tr("Removed", "지운 때"): [when(float(r.get("when") or 0)) for r in removed],
                    tr("For", "대신 저장된 모델"): [plain(r.get("for")) for r in removed],
                }
            ).set_index(name)
        )


with st.expander(tr("Teacher", "교사용")):
    if not key_set:
        st.caption(
            tr(
                "No teacher key is set on this server, so nobody can pin or delete models. Whoever starts the server "
                "sets one with the environment variable VAE_EXPLORER_TEACHER_KEY (or teacher_key in "
                ".streamlit/secrets.toml).",
                "이 서버에는 교사 키가 없어 아무도 모델을 고정하거나 지울 수 없습니다. 서버를 시작하는 사람이 환경 변수 "
                "VAE_EXPLORER_TEACHER_KEY (또는 .streamlit/secrets.toml의 teacher_key)로 정합니다.",
            )
        )
    elif teacher:
        st.success(
            tr(
                "Teacher actions are on: pin a model for everyone (new visitors start with it), delete models, or "
                "cancel a run under Training now.",
                "교사 기능이 켜졌습니다. 모델을 모두에게 고정(새로 접속한 학생이 이 모델로 시작)하거나 지울 수 있고, "
                "'지금 학습 중'의 실행을 취소할 수 있습니다.",
            )
        )
        teacher_usage()
        if pin and pin not in {e.name for e in entries}:
            if st.button(tr("Unpin {p}", "{p} 고정 해제", p=plain(pin)), key="unpin_shipped"):
                models.set_pin(None)
                st.rerun()
        shipped = [r.name for r in models.shipped_models()]
        choice = st.selectbox(tr("Pin a shipped model", "기본 제공 모델 고정"), shipped, key="pin_shipped")
        if st.button(tr("Pin for everyone", "모두에게 고정"), key="pin_shipped_go"):
            models.set_pin(choice)
            st.rerun()
    else:
        st.text_input(
            tr("Teacher key", "교사 키"),
            type="password",
            key=session.TEACHER_KEY_INPUT.name,
            on_change=_on_key,
        )
        wait = session.TEACHER_WAIT_UNTIL.get() - time.time()
        if wait > 0:
            st.error(
                tr(
                    "That is not the teacher key. Too many tries: wait {s:.0f} seconds before the next one.",
                    "교사 키가 맞지 않습니다. 너무 여러 번 시도했습니다. {s:.0f}초 뒤에 다시 입력하세요.",
                    s=max(1.0, wait),
                )
            )
        elif session.TEACHER_TRIED.get():
            st.error(tr("That is not the teacher key.", "교사 키가 맞지 않습니다."))
