"""The class board's Streamlit side: what Encode sends, where the projector places it, the live timer.

The store (explorer/class_store.py) keeps the drawings with the μ and σ each student's model gave;
the board places every drawing again with the model on the board's own screen, so the stars share
one plane with its test set whatever model a student used (a drawing is re-encoded once per model
and cached). A page keeps the `Versions` it drew and `watch()` asks the store for the counters every
POLL_SECONDS, in a fragment that draws nothing: one indexed read, and a full rerun only when
something it shows changed. The projector redraws on any change; a student's page redraws at once
for a question and at most every STUDENT_REDRAW_SECONDS for new drawings (thirty students redrawing
for each of thirty drawings would be 900 page runs).
"""

from __future__ import annotations

import html
import io
import time

import numpy as np
import plotly.graph_objects as go
import streamlit as st
import torch

from vae_core.checkpoint import Checkpoint
from vae_core.data import encoder_input
from vae_core.errors import VAECoreError
from vae_core.images import image_bytes_to_input
from vae_core.latent_stats import class_means, nearest_class
from vae_core.manifold import posterior_ellipse

from . import owner, session
from .class_store import DEFAULT_BOARD, Refused, StoreUnavailable, Submission, Versions, class_store
from .figures import PALETTE, _square, scatter_traces
from .i18n import class_names, tr, tr_text

BOARD = DEFAULT_BOARD  # one board per server: the lesson's (the teacher clears it between lessons)
POLL_SECONDS = 1.5  # how often a live page asks the store whether anything changed
STUDENT_REDRAW_SECONDS = 10.0  # a student's board redraws for new drawings at most this often
ANSWER_GRID = 49  # clickable points a side on the answer plane (plotly reports clicks on points only)
NO_LABEL = "#9E9E9E"


def my_hash() -> str:
    """This browser's owner hash (what the store keeps with its submissions and answers)."""
    return owner.my_hash()


def refusal_text(exc: Exception) -> str:
    """A store's refusal in the session's language; never exception text from elsewhere."""
    if isinstance(exc, (Refused, StoreUnavailable)):
        return tr_text(exc.text)
    return tr("The class board could not take this.", "반 보드가 이것을 받을 수 없습니다.")


# ---- sending (Encode) ----


def _on_name() -> None:
    session.BOARD_NAME.set(session.BOARD_NAME_INPUT.get().strip())


def name_input(container=None) -> None:
    """The student's display name, kept across pages (a widget's own key is dropped on a page without it)."""
    session.BOARD_NAME_INPUT.set(session.BOARD_NAME.get())
    (container or st).text_input(
        tr("Your name", "내 이름"), key=session.BOARD_NAME_INPUT.name, on_change=_on_name, max_chars=30
    )


def send(image: np.ndarray, mu, sigma) -> None:
    """Widget callback of "Send to the class": the store refuses what breaks a rule, and the page says why."""
    label = session.BOARD_LABEL.get() or None
    try:
        class_store().submit(
            BOARD,
            who=owner.secret_hash(owner.secret(write_cookie=False)),
            name=session.BOARD_NAME.get().strip(),
            image=image,
            mu=mu,
            sigma=sigma,
            label=label,
        )
    except (Refused, StoreUnavailable) as exc:
        session.BOARD_SENT.set(("refused", refusal_text(exc)))
        return
    session.BOARD_SENT.set(("ok", tr("Sent to the class board.", "반 보드에 보냈습니다.")))


def send_panel(ckpt: Checkpoint, image: np.ndarray, mu, sigma) -> None:
    """Name, an optional label and the send button, under an encoded drawing."""
    owner.secret()  # mounts the cookie writer in the page's run, so the callback finds the same secret
    raw = [str(n) for n in ckpt.class_names]
    shown = dict(zip(raw, class_names(raw)))
    with st.container(border=True):
        st.markdown("**" + tr("Send to the class board", "반 보드에 보내기") + "**")
        cols = st.columns(2)
        name_input(cols[0])
        cols[1].selectbox(
            tr("This is a … (optional)", "이것은 … (선택)"),
            ["", *raw],
            key=session.BOARD_LABEL.name,
            format_func=lambda n: (
                shown.get(n, tr("(no label)", "(라벨 없음)")) if n else tr("(no label)", "(라벨 없음)")
            ),
        )
        st.button(
            tr("Send to the class", "반에 보내기"),
            icon=":material/send:",
            key="board_send",
            on_click=send,
            args=(image, np.asarray(mu, float).tolist(), np.asarray(sigma, float).tolist()),
        )
        sent = session.BOARD_SENT.pop()
        if sent:
            (st.success if sent[0] == "ok" else st.error)(sent[1])


# ---- placing the drawings with the board's model ----


@st.cache_data(max_entries=8192, show_spinner=False)
def _drawing(board: str, submission: int) -> bytes | None:
    """A submission's PNG (immutable once sent: ids are never reused)."""
    return class_store().drawing(board, submission)


@st.cache_data(max_entries=8192, show_spinner=False)
def _placed(model_key: str, _ckpt: Checkpoint, submission: int, png: bytes) -> tuple[list, list] | None:
    """(μ, log σ²) of a drawing under the board's model, or None when it cannot be read as its input."""
    cfg = _ckpt.config
    dataset = _ckpt.meta.get("dataset", {})
    try:
        x = image_bytes_to_input(png, cfg.input_shape, "keep", dataset.get("name"))
    except VAECoreError:
        return None
    if dataset.get("pixels", "continuous") in ("static", "dynamic"):
        x = encoder_input(x, dataset["pixels"])
    with torch.no_grad():
        mu, logvar = (t[0].numpy() for t in _ckpt.model.encode(x))
    return mu.tolist(), logvar.tolist()


def placements(model_key: str, ckpt: Checkpoint, subs: list[Submission]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Submission id -> (μ, log σ²) under the board's model; the student's own μ, σ when the drawing
    cannot be re-encoded but its length fits."""
    out = {}
    d = ckpt.config.latent_dim
    for s in subs:
        png = _drawing(BOARD, s.id)
        got = _placed(model_key, ckpt, s.id, png) if png else None
        if got is not None:
            out[s.id] = (np.asarray(got[0]), np.asarray(got[1]))
        elif len(s.mu) == d:
            out[s.id] = (np.asarray(s.mu), 2 * np.log(np.asarray(s.sigma)))
    return out


def label_index(label: str | None, ckpt: Checkpoint) -> int | None:
    raw = [str(n) for n in ckpt.class_names]
    return raw.index(label) if label in raw else None


def _xy(v) -> tuple[float, float]:
    v = np.asarray(v, float).ravel()
    return float(v[0]), float(v[1]) if len(v) > 1 else 0.0


# ---- figures ----


def _present(fig: go.Figure, presenting: bool) -> go.Figure:
    if presenting:  # the box sets the height; title, ticks and legend large enough for the back of the room
        fig.update_layout(height=None, margin=dict(t=50, b=10, l=10, r=10), font=dict(size=18))
    return fig


def board_figure(
    ckpt: Checkpoint,
    s_mu: np.ndarray,
    s_labels: np.ndarray,
    subs: list[Submission],
    places: dict,
    *,
    me: str | None,
    names_hidden: bool,
    pick: int | None,
    presenting: bool,
) -> go.Figure:
    """The test set faintly, each drawing a ★ in the colour of its label (grey: none), outlined red when
    the nearest class mean is another class; this browser's own ★ ringed; the picked one's ellipse."""
    names = class_names(ckpt.class_names)
    fig = go.Figure(scatter_traces(s_mu, s_labels, names))
    fig.update_traces(marker=dict(size=5, opacity=0.5))
    means = class_means(s_mu, s_labels, len(names))
    groups: dict[str, list] = {"agree": [], "disagree": []}
    for s in subs:
        if s.id not in places:
            continue
        mu, _ = places[s.id]
        c = label_index(s.label, ckpt)
        near = int(nearest_class(mu[None], means)[0]) if len(s_mu) else -1
        groups["agree" if c is None or near < 0 or near == c else "disagree"].append((s, mu, c, near))
    for kind, rows in groups.items():
        if not rows:
            continue
        hover = []
        for s, _mu, c, near in rows:
            who = tr("(name hidden)", "(이름 숨김)") if names_hidden else html.escape(s.name)
            said = html.escape(names[c]) if c is not None else tr("no label", "라벨 없음")
            enc = names[near] if 0 <= near < len(names) else "?"
            hover.append(
                tr("{w}: says {s}, nearest class {e}", "{w}: {s}라고 함, 가장 가까운 클래스 {e}", w=who, s=said, e=enc)
            )
        fig.add_trace(
            go.Scatter(
                x=[_xy(r[1])[0] for r in rows],
                y=[_xy(r[1])[1] for r in rows],
                mode="markers+text" if not names_hidden else "markers",
                text=[html.escape(r[0].name) for r in rows] if not names_hidden else None,
                textposition="top center",
                textfont=dict(size=20 if presenting else 15, color="#111111"),
                customdata=[r[0].id for r in rows],
                hovertext=hover,
                hoverinfo="text",
                name=tr("drawings", "그림") if kind == "agree" else tr("encoder disagrees", "인코더와 다름"),
                marker=dict(
                    symbol="star",
                    size=22 if presenting else 18,
                    color=[PALETTE[r[2] % len(PALETTE)] if r[2] is not None else NO_LABEL for r in rows],
                    line=dict(color="black" if kind == "agree" else "#D00000", width=1.5 if kind == "agree" else 4),
                ),
            )
        )
    mine = [places[s.id][0] for s in subs if me and s.mine(me) and s.id in places]
    if mine:
        fig.add_trace(
            go.Scatter(
                x=[_xy(m)[0] for m in mine],
                y=[_xy(m)[1] for m in mine],
                mode="markers",
                name=tr("mine", "내 그림"),
                hoverinfo="skip",
                marker=dict(symbol="circle-open", size=34, color="#111111", line=dict(width=3)),
            )
        )
    if pick in places:
        ell = posterior_ellipse(*places[pick])
        fig.add_trace(
            go.Scatter(
                x=ell[:, 0], y=ell[:, 1], mode="lines", name="μ ± 2σ", hoverinfo="skip", line=dict(color="black")
            )
        )
    title = tr("The class board: {n} drawings", "반 보드: 그림 {n}개", n=len(subs))
    return _present(_square(fig, title, height=620), presenting)


def plane_half_width(s_mu: np.ndarray) -> float:
    from .latent_plane import plane_range

    return plane_range(s_mu)


def answer_figure(half: float, mine: tuple[float, float] | None, presenting: bool = False) -> go.Figure:
    """An empty plane to answer on: a grid of invisible points reports where it was clicked."""
    t = np.linspace(-half, half, ANSWER_GRID)
    gx, gy = np.meshgrid(t, t)
    fig = go.Figure(
        go.Scatter(
            x=gx.ravel(),
            y=gy.ravel(),
            mode="markers",
            marker=dict(size=max(6, 360 // ANSWER_GRID), color="rgba(128,128,128,0.04)"),
            hovertemplate="z=(%{x:.2f}, %{y:.2f})<extra></extra>",
            showlegend=False,
        )
    )
    if mine is not None:
        fig.add_trace(
            go.Scatter(
                x=[mine[0]],
                y=[mine[1]],
                mode="markers",
                name=tr("my answer", "내 답"),
                hoverinfo="skip",
                marker=dict(symbol="x", size=24, color="#D55E00", line=dict(color="black", width=2)),
            )
        )
    fig.update_xaxes(range=[-half, half], zeroline=True)
    fig.update_yaxes(range=[-half, half], zeroline=True)
    fig = _square(fig, tr("Click where you think it lands", "어디에 놓일지 생각하는 곳을 클릭하세요"), height=480)
    fig.update_layout(dragmode=False, clickmode="event+select", showlegend=mine is not None)
    return _present(fig, presenting)


def reveal_figure(
    ckpt: Checkpoint,
    s_mu: np.ndarray,
    s_labels: np.ndarray,
    answers: list,
    target: int | None,
    *,
    me: str | None,
    presenting: bool,
) -> go.Figure:
    """Every answer (×), the test points of the true class in its colour (the rest grey) and their mean (◆)."""
    names = class_names(ckpt.class_names)
    pts = s_mu[:, :2] if s_mu.shape[1] > 1 else np.c_[s_mu[:, :1], np.zeros(len(s_mu))]
    fig = go.Figure()
    if len(pts):
        fig.add_trace(
            go.Scattergl(
                x=pts[:, 0],
                y=pts[:, 1],
                mode="markers",
                name=tr("test set", "테스트 세트"),
                hoverinfo="skip",
                marker=dict(size=4, color="#BBBBBB", opacity=0.4),
            )
        )
    if target is not None and len(pts):
        idx = s_labels == target
        color = PALETTE[target % len(PALETTE)]
        fig.add_trace(
            go.Scattergl(
                x=pts[idx, 0],
                y=pts[idx, 1],
                mode="markers",
                name=tr("{c} (test set)", "{c} (테스트 세트)", c=names[target]),
                hoverinfo="skip",
                marker=dict(size=6, color=color, opacity=0.8),
            )
        )
    xs = [_xy(a.value) for a in answers]
    fig.add_trace(
        go.Scatter(
            x=[p[0] for p in xs],
            y=[p[1] for p in xs],
            mode="markers",
            name=tr("answers", "답"),
            hoverinfo="skip",
            marker=dict(symbol="x", size=16, color="#222222", line=dict(color="white", width=1)),
        )
    )
    own = [p for p, a in zip(xs, answers) if me and a.who == me]
    if own:
        fig.add_trace(
            go.Scatter(
                x=[own[0][0]],
                y=[own[0][1]],
                mode="markers",
                name=tr("my answer", "내 답"),
                hoverinfo="skip",
                marker=dict(symbol="circle-open", size=30, color="#D55E00", line=dict(width=3)),
            )
        )
    if target is not None and len(pts) and (s_labels == target).any():
        m = pts[s_labels == target].mean(0)
        fig.add_trace(
            go.Scatter(
                x=[m[0]],
                y=[m[1]],
                mode="markers",
                name=tr("true answer: their mean", "정답: 그 평균"),
                hoverinfo="skip",
                marker=dict(symbol="diamond", size=26, color=PALETTE[target % len(PALETTE)], line=dict(width=3)),
            )
        )
    return _present(_square(fig, tr("The answers", "답"), height=620), presenting)


def board_png(
    ckpt: Checkpoint, s_mu: np.ndarray, s_labels: np.ndarray, subs: list[Submission], places: dict, size: int = 900
) -> bytes:
    """The board as a PNG for the teacher to keep: test set, each ★ with its submission number (names are
    in the JSON, which a PNG font could not show in every script)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    half = plane_half_width(s_mu)

    def px(v) -> tuple[float, float]:
        x, y = _xy(v)
        return (x + half) / (2 * half) * size, (half - y) / (2 * half) * size

    d.line([px((-half, 0)), px((half, 0))], fill="#CCCCCC")
    d.line([px((0, -half)), px((0, half))], fill="#CCCCCC")
    for p, c in zip(s_mu, s_labels):
        x, y = px(p)
        d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=PALETTE[int(c) % len(PALETTE)])
    for s in subs:
        if s.id not in places:
            continue
        x, y = px(places[s.id][0])
        c = label_index(s.label, ckpt)
        r, pts = 12, []
        for k in range(10):
            a = np.pi / 2 + k * np.pi / 5
            rr = r if k % 2 == 0 else r * 0.45
            pts.append((x + rr * np.cos(a), y - rr * np.sin(a)))
        d.polygon(pts, fill=PALETTE[c % len(PALETTE)] if c is not None else NO_LABEL, outline="black")
        d.text((x + r, y - r), f"#{s.id}", fill="black")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


# ---- live updates ----


def redrawn() -> None:
    """Call once per full run of a live page: a student's board redraws for drawings from then on."""
    session.BOARD_LAST_POLL.set(time.time())


@st.fragment(run_every=POLL_SECONDS)
def watch(board: str, drawn: Versions, projector: bool) -> None:
    """Rerun the page when the store changed what it shows (one indexed read per tick, nothing drawn)."""
    try:
        now = class_store().versions(board)
    except StoreUnavailable:
        return
    if now == drawn:
        return
    if projector or now.question != drawn.question or now.view != drawn.view:
        st.rerun()
    if now.board != drawn.board and time.time() - session.BOARD_LAST_POLL.get() >= STUDENT_REDRAW_SECONDS:
        st.rerun()
