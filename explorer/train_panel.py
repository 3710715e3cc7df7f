"""The Train page's parts that outlive a browser tab: who trains, the run, its progress.

The settings form is the page's; this module asks for the trainer's display name (once per
session), starts a run in the process-wide registry (explorer.training), remembers its id in the
session and in the URL (`?run=<id>`), and draws its place in the queue and its progress. A
reloaded page finds the run by the URL, or as this browser's latest run (by its owner secret,
explorer/owner.py; never by the display name, which anyone can type).

Anyone with a run's link may watch it; its Stop button is drawn only for the browser that started
it and for the teacher (`controls_for`), and `training.cancel` checks the secret again.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core.errors import ConfigError

from . import models, owner, session, state, teacher, training
from .figures import history_figure, latent_scatter
from .i18n import class_names, tr, tr_text
from .plain import plain

RUN, WHO, WHO_INPUT = session.TRAIN_RUN, session.TRAINER, session.TRAINER_INPUT


def _on_who() -> None:
    try:
        WHO.set(models.checked_trainer(WHO_INPUT.get()))
        session.TRAINER_ERROR.clear()
    except ConfigError as exc:
        session.TRAINER_ERROR.set(str(exc))


def trainer_name() -> str | None:
    """Ask once per session for the name shown in the gallery; returns it once valid."""
    who = WHO.get()
    if who:
        st.caption(
            tr(
                "Your models are saved in the class gallery as **{w}**.",
                "모델은 **{w}** 이름으로 우리 반 갤러리에 저장됩니다.",
                w=plain(who),
            )
        )
        return who
    WHO_INPUT.setdefault()
    st.text_input(
        tr("Your name (shown in the class gallery)", "이름 (우리 반 갤러리에 표시)"),
        key=WHO_INPUT.name,
        on_change=_on_who,
        max_chars=30,
        placeholder=tr("for example Mina", "예: 김민아"),
    )
    if session.TRAINER_ERROR.get() is not None:
        st.error(tr("Name not accepted: ", "이름을 쓸 수 없습니다: ") + plain(session.TRAINER_ERROR.get()))
    return None


def current_job() -> training.TrainingJob | None:
    """This session's run: from session state, the URL (after a reload), or this browser's latest running one.
    A run someone else started may be watched (by its link), but its trainer name is not taken over."""
    me = owner.secret(write_cookie=False)
    for run_id in (RUN.get(), st.query_params.get("run")):
        job = training.find(run_id)
        if job is not None:
            RUN.set(job.run_id)
            if not WHO.is_set() and job.owned_by(me):
                WHO.set(job.who)
            return job
    mine = training.jobs_of(owner.secret_hash(me))
    if mine and mine[0].running:
        RUN.set(mine[0].run_id)
        st.query_params["run"] = mine[0].run_id
        if not WHO.is_set():
            WHO.set(mine[0].who)
        return mine[0]
    return None


def is_teacher() -> bool:
    """A teacher key is set on the server and this session gave it (explorer/teacher.py)."""
    return bool(teacher.is_teacher())


def controls_for(job: training.TrainingJob, secret: str | None) -> bool:
    """Whether this session may stop the run: the browser that started it, or the teacher."""
    return job.owned_by(secret) or is_teacher()


def start(job: training.TrainingJob) -> None:
    """Register and start the run as this browser's; raises ConfigError when its name is taken and
    training.Refused (a ConfigError) when a fair-share limit is reached."""
    job.owner = owner.my_hash()
    training.submit(job, teacher=is_teacher())
    RUN.set(job.run_id)
    st.query_params["run"] = job.run_id
    # Seen whatever the scroll position (on a projector the progress may be below the fold).
    st.toast(
        tr(
            "Training {m} started: its progress is below the settings.",
            "{m} 학습을 시작했습니다. 진행 상황은 설정 아래에 있습니다.",
            m=plain(job.name),
        )
    )


def _wait_text(job: training.TrainingJob) -> str:
    place = job.place_in_queue()
    wait = job.estimated_wait()
    if wait is None:
        return tr(
            "Waiting for a free training slot: number {p} in the queue (wait not known yet).",
            "학습 자리를 기다리는 중: 대기 순서 {p}번 (예상 대기 시간은 아직 모릅니다).",
            p=place,
        )
    return tr(
        "Waiting for a free training slot: number {p} in the queue, about {m:.0f} min {s:.0f} s.",
        "학습 자리를 기다리는 중: 대기 순서 {p}번, 약 {m:.0f}분 {s:.0f}초.",
        p=place,
        m=wait // 60,
        s=wait % 60,
    )


STATUS = {
    "queued": ("queued", "대기 중"),
    "loading": ("loading", "불러오는 중"),
    "training": ("training", "학습 중"),
    "evaluating": ("evaluating", "평가 중"),
    "done": ("done", "완료"),
    "failed": ("failed", "실패"),
    "cancelled": ("cancelled", "취소됨"),
}


def progress(job: training.TrainingJob) -> None:
    """Queue place, progress, curves and the latent space of the run (redraw every second while it runs)."""
    total = job.train_cfg.epochs
    if job.status == "queued":
        st.info(_wait_text(job))
    text = tr_text(job.message) or tr("starting…", "시작하는 중…")
    st.progress(len(job.history) / total, text=f"{tr_text(STATUS[job.status])}: {text}")
    me = owner.secret(write_cookie=False)
    if job.running and controls_for(job, me):
        queued = job.status == "queued"
        label = (
            tr("Cancel (leave the queue)", "취소 (대기열에서 빼기)")
            if queued
            else tr("Stop after this epoch", "이번 에폭 뒤에 멈추기")
        )
        if st.button(label, key="tr_stop") and training.cancel(job.run_id, me, teacher=is_teacher()):
            st.toast(
                tr("Cancelled: the run leaves the queue.", "취소했습니다. 이 실행은 대기열에서 빠집니다.")
                if queued
                else tr(
                    "Stopping after the current epoch; the model will be saved.",
                    "이번 에폭이 끝나면 멈추고 모델을 저장합니다.",
                )
            )
    elif job.running:
        st.caption(
            tr(
                "You are watching a run another browser started: only its trainer (or the teacher) can stop it.",
                "다른 브라우저에서 시작한 실행을 보고 있습니다. 시작한 학생(또는 교사)만 멈출 수 있습니다.",
            )
        )
    if job.status in ("failed", "cancelled"):
        st.error(tr_text(job.message))
    if job.history:
        st.plotly_chart(history_figure(job.history), width="stretch", key="tr_curves")
    if job.latents:
        last = len(job.latents)
        epoch = last
        if not job.running and last > 1:
            epoch = st.slider(
                tr("Replay the latent space at epoch", "이 에폭의 잠재 공간 다시 보기"), 1, last, last, key="tr_replay"
            )
        fig = latent_scatter(
            job.latents[epoch - 1],
            np.asarray(job.labels),
            class_names(job.class_names),
            title=tr("Test-set latent means after epoch {e}", "에폭 {e} 뒤 테스트 세트의 잠재 평균", e=epoch),
            height=480,
        )
        st.plotly_chart(fig, width="stretch", key="tr_latents")
    if not job.running and session.TRAIN_FINISHED.get() != job.run_id:
        # The run just ended: make its model active and redraw the whole page once (form enabled).
        session.TRAIN_FINISHED.set(job.run_id)
        if job.status == "done" and job.out is not None:
            state.set_active(models.ModelRef("class", job.name, str(job.out)))
        st.rerun(scope="app")
    if job.status == "done":
        st.success(
            tr(
                "{m}. It is now the active model, and in the class gallery: see it on the other pages.",
                "{m}. 이제 사용 중인 모델이며 우리 반 갤러리에도 있습니다. 다른 페이지에서 살펴보세요.",
                m=tr_text(job.message),
            )
        )


def run_controls(teacher: bool) -> None:
    """The gallery's list of runs queued or training now; the teacher can cancel any of them."""
    running = training.active_jobs()
    if not running:
        return
    st.subheader(tr("Training now", "지금 학습 중"))
    for job in running:
        c = st.columns([5, 1]) if teacher else [st.container()]
        # names are what students typed: plain text, never markdown
        c[0].text(
            tr(
                "{m} by {w}: {s}, {e}/{n} epochs",
                "{m} ({w}): {s}, {e}/{n} 에폭",
                m=job.name,
                w=job.who,
                s=tr_text(STATUS[job.status]),
                e=len(job.history),
                n=job.train_cfg.epochs,
            )
        )
        if teacher and c[1].button(
            tr("Cancel", "취소"),
            key=f"cancel_{job.run_id}",
            help=tr(
                "A queued run leaves the queue; a training run stops after this epoch and is saved.",
                "대기 중인 실행은 대기열에서 빠지고, 학습 중인 실행은 이번 에폭 뒤에 멈춘 뒤 저장됩니다.",
            ),
            width="stretch",
        ):
            training.cancel(job.run_id, teacher=True)
            st.rerun()
