"""The Train page's parts that outlive a browser tab: who trains, the run, its progress.

The settings form is the page's; this module asks for the trainer's display name (once per
session), starts a run in the process-wide registry (explorer.training), remembers its id in the
session and in the URL (`?run=<id>`), and draws its place in the queue and its progress. A
reloaded page finds the run by the URL, or by the trainer's name once it is given again.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from vae_core.errors import ConfigError

from . import models, session, state, training
from .figures import history_figure, latent_scatter
from .i18n import class_names, tr, tr_text

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
                w=who,
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
        st.error(tr("Name not accepted: ", "이름을 쓸 수 없습니다: ") + session.TRAINER_ERROR.get())
    return None


def current_job() -> training.TrainingJob | None:
    """This session's run: from session state, the URL (after a reload), or the trainer's latest."""
    for run_id in (RUN.get(), st.query_params.get("run")):
        job = training.find(run_id)
        if job is not None:
            RUN.set(job.run_id)
            if not WHO.is_set():
                WHO.set(job.who)
            return job
    who = WHO.get()
    mine = training.jobs_of(who) if who else []
    if mine and mine[0].running:
        RUN.set(mine[0].run_id)
        st.query_params["run"] = mine[0].run_id
        return mine[0]
    return None


def start(job: training.TrainingJob) -> None:
    """Register and start the run; raises ConfigError when its name is taken."""
    training.submit(job)
    RUN.set(job.run_id)
    st.query_params["run"] = job.run_id
    # Seen whatever the scroll position (on a projector the progress may be below the fold).
    st.toast(
        tr(
            "Training {m} started: its progress is below the settings.",
            "{m} 학습을 시작했습니다. 진행 상황은 설정 아래에 있습니다.",
            m=job.name,
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
}


def progress(job: training.TrainingJob) -> None:
    """Queue place, progress, curves and the latent space of the run (redraw every second while it runs)."""
    total = job.train_cfg.epochs
    if job.status == "queued":
        st.info(_wait_text(job))
    text = tr_text(job.message) or tr("starting…", "시작하는 중…")
    st.progress(len(job.history) / total, text=f"{tr_text(STATUS[job.status])}: {text}")
    if job.running and st.button(tr("Stop after this epoch", "이번 에폭 뒤에 멈추기"), key="tr_stop"):
        job.request_stop()
        st.toast(
            tr(
                "Stopping after the current epoch; the model will be saved.",
                "이번 에폭이 끝나면 멈추고 모델을 저장합니다.",
            )
        )
    if job.status == "failed":
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
