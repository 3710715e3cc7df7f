import functools
import json
import time

import numpy as np
import streamlit as st

from explorer import class_board as cb
from explorer import session, state
from explorer.class_store import Refused, StoreUnavailable, class_store
from explorer.i18n import both, class_names, tr
from explorer.layout import figure_height, main_figure, page_setup, presenting
from explorer.teacher import is_teacher, login
from explorer.widgets import show_image
from vae_core.latent_stats import answer_spread

act = page_setup("Class board", "우리 반 보드")
ckpt = act.ckpt
names = class_names(ckpt.class_names)
store = class_store()
BOARD = cb.BOARD
me = cb.my_hash()
teacher = is_teacher()
present = presenting()

st.title(tr("Class board", "우리 반 보드"))
try:
    board = store.board(BOARD)
    question = store.question(BOARD)
    subs = store.submissions(BOARD)
except StoreUnavailable as exc:
    st.error(cb.refusal_text(exc))
    st.stop()
cb.redrawn()
cb.watch(BOARD, board.versions, teacher or present)  # the projector redraws at once

s_mu, s_logvar, s_labels = state.sample_latents(act.key, ckpt)
places = cb.placements(act.key, ckpt, subs)
figure = main_figure()


def on_board_click() -> None:
    points = ((session.BOARD_CLICK.get() or {}).get("selection") or {}).get("points") or []
    ids = [p.get("customdata") for p in points if isinstance(p.get("customdata"), int)]
    if ids:
        session.BOARD_PICK.set(ids[0])


def on_answer_click(qid: int) -> None:
    points = ((session.BOARD_ANSWER_CLICK.get() or {}).get("selection") or {}).get("points") or []
    if not points or qid is None:
        return
    z = [points[0].get("x"), points[0].get("y")]
    try:
        store.answer(
            BOARD,
            qid,
            who=cb.owner.secret_hash(cb.owner.secret(write_cookie=False)),
            name=session.BOARD_NAME.get().strip(),
            value=z,
        )
    except (Refused, StoreUnavailable, TypeError) as exc:
        session.BOARD_ANSWER_SENT.set(("refused", cb.refusal_text(exc)))
        return
    session.BOARD_ANSWER_SENT.set(
        ("ok", tr("Answer saved; click again to move it.", "답을 저장했습니다. 다시 클릭하면 옮깁니다."))
    )


def draw_board() -> None:
    pick = session.BOARD_PICK.get()
    fig = cb.board_figure(
        ckpt,
        s_mu,
        s_labels,
        subs,
        places,
        me=None if teacher else me,
        names_hidden=board.names_hidden,
        pick=pick,
        presenting=present,
    )
    st.plotly_chart(
        fig,
        width="stretch",
        height=figure_height(),
        key=session.BOARD_CLICK.name,
        on_select=on_board_click,
        selection_mode="points",
        config={"scrollZoom": False, "displaylogo": False},
    )


def how_far(answers) -> None:
    """The reveal in words: how far the class's answers were from the true answer."""
    if target is not None and (s_labels == target).any():
        m = s_mu[s_labels == target][:, :2].mean(0)
        spread = answer_spread(np.array([cb._xy(a.value) for a in answers]).reshape(-1, 2), m)
        if spread["n"]:
            st.markdown(
                tr(
                    "**{n} answers.** The true answer is the mean of the test images of **{c}**, at ({x:.2f}, "
                    "{y:.2f}). A typical answer was **{d:.2f}** from it (median); the class's average answer "
                    "was **{a:.2f}** from it.",
                    "**답 {n}개.** 정답은 **{c}** 테스트 이미지들의 평균, ({x:.2f}, {y:.2f})입니다. 답은 보통 "
                    "정답에서 **{d:.2f}** 떨어져 있었고(중앙값), 반 전체 답의 평균은 정답에서 **{a:.2f}** "
                    "떨어져 있었습니다.",
                    n=spread["n"],
                    c=names[target],
                    x=m[0],
                    y=m[1],
                    d=spread["median"],
                    a=spread["of_mean"],
                )
            )
    else:
        st.markdown(tr("**{n} answers.**", "**답 {n}개.**", n=len(answers)))


target = (question.target or {}).get("class") if question else None
target = target if isinstance(target, int) and 0 <= target < len(names) else None
with figure:
    if question is not None:
        st.subheader(question.prompt, anchor=False)  # plain text: a header, not markdown of the typed text
    if question is not None and question.state == "revealed":
        answers = store.answers(BOARD, question.id)
        how_far(answers)  # above the figure: what the back of the room reads first
        st.plotly_chart(
            cb.reveal_figure(ckpt, s_mu, s_labels, answers, target, me=None if teacher else me, presenting=present),
            width="stretch",
            height=figure_height(),
            key="board_reveal",
        )
    elif question is not None and question.state == "open" and not teacher:
        mine = next((a.value for a in store.answers(BOARD, question.id) if a.who == me), None)
        cb.name_input()
        st.plotly_chart(
            cb.answer_figure(cb.plane_half_width(s_mu), cb._xy(mine) if mine is not None else None, present),
            width="stretch",
            height=figure_height(),
            key=session.BOARD_ANSWER_CLICK.name,
            on_select=functools.partial(on_answer_click, question.id),
            selection_mode="points",
            config={"scrollZoom": False, "displaylogo": False, "displayModeBar": False},
        )
        sent = session.BOARD_ANSWER_SENT.pop()
        if sent:
            (st.success if sent[0] == "ok" else st.error)(sent[1])
        elif mine is None:
            st.info(tr("Answer mode: click once on the plane.", "답하기: 평면을 한 번 클릭하세요."))
    else:
        if question is not None and question.state == "open":
            st.metric(tr("Answers so far", "지금까지 받은 답"), question.answers)
        elif question is not None:
            st.caption(tr("The question is closed.", "질문을 마감했습니다."))
        draw_board()

pick = session.BOARD_PICK.get()
if question is None or question.state != "open" or teacher:
    options = [s.id for s in subs if s.id in places]
    if options:

        def label_of(sid: int) -> str:
            s = next(x for x in subs if x.id == sid)
            who = tr("(name hidden)", "(이름 숨김)") if board.names_hidden else s.name
            mine = tr(" (mine)", " (내 그림)") if s.mine(me) and not teacher else ""
            return f"#{sid} {who}{mine}"

        chosen = st.selectbox(
            tr("Look at a drawing (or click its ★)", "그림 보기 (★을 클릭해도 됩니다)"),
            [None, *options],
            index=([None, *options].index(pick) if pick in options else 0),
            format_func=lambda sid: tr("(none)", "(없음)") if sid is None else label_of(sid),
            key="board_look",
        )
        if chosen != pick:
            session.BOARD_PICK.set(chosen)
            pick = chosen
    if pick in places:
        s = next(x for x in subs if x.id == pick)
        mu, logvar = places[pick]
        cols = st.columns(3)
        png = cb._drawing(BOARD, pick)
        if png:
            cols[0].image(png, caption=tr("the drawing", "그림"), width=160)
        show_image(state.decode_one(ckpt, mu), tr("its reconstruction", "재구성"), 160, cols[1])
        c = cb.label_index(s.label, ckpt)
        cols[2].text(
            (tr("name hidden", "이름 숨김") if board.names_hidden else s.name)
            + "\n"
            + tr("label: {l}", "라벨: {l}", l=names[c] if c is not None else (s.label or "–"))
            + "\nμ = ("
            + ", ".join(f"{v:.2f}" for v in mu)
            + ")\nσ = ("
            + ", ".join(f"{v:.3f}" for v in np.exp(0.5 * logvar))
            + ")"
        )
    if not subs:
        st.info(
            tr(
                "No drawing on the board yet. On Encode your own, draw something and press Send to the class.",
                "아직 보드에 그림이 없습니다. 내 그림 인코딩에서 그림을 그리고 '반에 보내기'를 누르세요.",
            )
        )
st.caption(
    tr(
        "Every ★ is a drawing sent from Encode your own, placed by the model on this screen over its test set; "
        "its colour is the class the student named (grey: none), a red outline says the nearest class mean is "
        "another class.{f}",
        "★ 하나하나가 내 그림 인코딩에서 보낸 그림이며, 이 화면의 모델로 테스트 세트 위에 놓았습니다. 색은 학생이 "
        "고른 클래스(회색: 없음)이고, 빨간 테두리는 가장 가까운 클래스 평균이 다른 클래스라는 뜻입니다.{f}",
        f=tr(" The board is frozen: nothing new can be sent.", " 보드가 고정되어 새 그림을 보낼 수 없습니다.")
        if board.frozen
        else "",
    )
)


# ---- the teacher's controls (only with the teacher key) ----


def _teacher_only(action, *args) -> None:
    if not is_teacher():  # a callback checks again: a widget message alone is not the key
        return
    try:
        action(*args)
    except (Refused, StoreUnavailable) as exc:
        session.BOARD_SENT.set(("refused", cb.refusal_text(exc)))


def _start() -> None:
    t = session.BOARD_TARGET.get()
    store.start_question(
        BOARD, session.BOARD_PROMPT.get().strip(), target={"class": t} if t is not None and t >= 0 else None
    )


with st.expander(tr("Teacher", "교사용"), expanded=teacher and not present):
    if login(both("clear, freeze or ask the class", "보드를 비우거나 고정하거나 질문할")):
        c = st.columns(3)
        c[0].button(
            tr("Clear the board", "보드 비우기"), key="board_clear", on_click=_teacher_only, args=(store.clear, BOARD)
        )
        c[1].button(
            tr("Show names", "이름 보이기") if board.names_hidden else tr("Hide names", "이름 숨기기"),
            key="board_hide",
            on_click=_teacher_only,
            args=(store.set_names_hidden, BOARD, not board.names_hidden),
        )
        c[2].button(
            tr("Unfreeze", "고정 풀기") if board.frozen else tr("Freeze", "보드 고정"),
            key="board_freeze",
            on_click=_teacher_only,
            args=(store.set_frozen, BOARD, not board.frozen),
        )
        st.text_input(tr("Ask the class", "반에 질문하기"), key=session.BOARD_PROMPT.name, max_chars=200)
        st.selectbox(
            tr("The true answer is the class", "정답 클래스"),
            [-1, *range(len(names))],
            format_func=lambda i: tr("(none)", "(없음)") if i < 0 else names[i],
            key=session.BOARD_TARGET.name,
        )
        q = st.columns(3)
        q[0].button(tr("Start the question", "질문 시작"), key="board_ask", on_click=_teacher_only, args=(_start,))
        if question is not None and question.state == "open":
            q[1].button(
                tr("Close", "마감"),
                key="board_close",
                on_click=_teacher_only,
                args=(store.close_question, BOARD, question.id),
            )
        if question is not None and question.state != "revealed":
            q[2].button(
                tr("Reveal", "공개"),
                key="board_reveal_go",
                on_click=_teacher_only,
                args=(store.reveal_question, BOARD, question.id),
            )
        d = st.columns(2)
        d[0].download_button(
            tr("Download the board (PNG)", "보드 내려받기 (PNG)"),
            data=lambda: cb.board_png(ckpt, s_mu, s_labels, subs, places),
            file_name=f"class-board-{time.strftime('%Y%m%d-%H%M')}.png",
            mime="image/png",
            key="board_png",
        )
        d[1].download_button(
            tr("Download the board (JSON)", "보드 내려받기 (JSON)"),
            data=lambda: json.dumps(store.snapshot(BOARD), ensure_ascii=False, indent=1),
            file_name=f"class-board-{time.strftime('%Y%m%d-%H%M')}.json",
            mime="application/json",
            key="board_json",
        )
        sent = session.BOARD_SENT.pop()
        if sent:
            st.error(sent[1])
