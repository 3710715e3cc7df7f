"""What every page runs first: page config, the sidebar (menu, language, active model, presenter
mode, sharing with the class).

Pages are Streamlit's own `pages/` convention: `app.py` is the Home page and each file in
`pages/` is a page (its URL is the file name, so /walk deep-links to pages/walk.py). Streamlit's
generated menu is hidden (`client.showSidebarNavigation = false` in .streamlit/config.toml)
and this module draws the menu with `st.page_link`, so its labels follow the language.

Presenter mode (sidebar toggle, or `?present=1` in the URL) is for a projector: larger type,
figures as wide as the screen, the sidebar collapsed, less space above the first figure. It is
CSS injected here, so every page gets it; a page that lays itself out differently for a
projector asks `presenting()`. No internal Streamlit API is used.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from . import address, lessons, links, session, state
from .i18n import LANGS, lang, tr

# The language and presenter switches have widget keys of their own (session.LANG_WIDGET,
# session.PRESENT_WIDGET), set from session.LANG and session.PRESENT on each run and writing them
# back in their callbacks: a plain key is kept across page switches whatever happens to widget state.


@dataclass(frozen=True)
class PageEntry:
    path: str  # the script, relative to app.py
    en: str  # menu label in English
    ko: str  # menu label in Korean
    icon: str


# The menu, in order. A new page file is added here too (tests/test_app.py checks they match).
PAGES = [
    PageEntry("app.py", "Home", "홈", ":material/home:"),
    PageEntry("pages/train.py", "Train", "학습", ":material/model_training:"),
    PageEntry("pages/gallery.py", "Class gallery", "우리 반 갤러리", ":material/photo_library:"),
    PageEntry("pages/manifold.py", "Manifold", "매니폴드", ":material/grid_on:"),
    PageEntry("pages/walk.py", "Walk", "잠재 공간 걷기", ":material/open_with:"),
    PageEntry("pages/encode.py", "Encode your own", "내 그림 인코딩", ":material/draw:"),
    PageEntry("pages/class_board.py", "Class board", "우리 반 보드", ":material/hub:"),
    PageEntry("pages/metrics.py", "Samples and metrics", "샘플과 지표", ":material/monitoring:"),
    # Concepts: the paper's ideas made visible.
    PageEntry("pages/concept_reparam.py", "Concepts: reparameterisation", "개념: 재매개변수화", ":material/casino:"),
    PageEntry("pages/concept_beta.py", "Concepts: β and collapse", "개념: β와 붕괴", ":material/stacked_line_chart:"),
    PageEntry(
        "pages/concept_autoencoder.py", "Concepts: autoencoder vs VAE", "개념: 오토인코더와 VAE", ":material/compare:"
    ),
    PageEntry(
        "pages/concept_estimators.py", "Concepts: estimators A and B", "개념: 추정량 A와 B", ":material/functions:"
    ),
    PageEntry(
        "pages/concept_textbook.py", "Concepts: the textbook's loss", "개념: 교재의 손실 함수", ":material/menu_book:"
    ),
]

# Streamlit sizes its type in rem, so a larger root font scales every text; the rest makes room.
PRESENTER_CSS = """
<style>
html { font-size: 22px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding: 2.2rem 1.6rem 2rem 1.6rem; }
[data-testid="stMainBlockContainer"] h1 { font-size: 1.9rem; padding: 0 0 0.3rem 0; }
[data-testid="stMainBlockContainer"] h2, [data-testid="stMainBlockContainer"] h3 { font-size: 1.35rem; }
[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"] p { font-size: 0.85rem; }
[data-testid="stMainBlockContainer"] [data-testid="stWidgetLabel"] p { font-size: 1rem; }
[data-testid="stMainBlockContainer"] [data-testid="stImage"] { width: 100%; }
[data-testid="stMainBlockContainer"] [data-testid="stImage"] img { width: 100% !important; height: auto !important; }
[data-testid="stHeader"] { background: transparent; }
/* A page's main figure (layout.main_figure), right under the title, takes the height left. */
.st-key-main_figure { height: calc(100vh - 8rem) !important; min-height: 300px; flex: none !important; }
.st-key-main_figure [data-testid="stPlotlyChart"] { height: 100%; }
.st-key-main_figure [data-testid="stImage"] img {
  width: 100% !important; height: auto !important; max-height: calc(100vh - 10.5rem); object-fit: contain;
}
</style>
"""


# Korean breaks lines between words, not inside them ("이미/지로"): keep-all, and a very long word may
# still wrap rather than overflow a narrow phone screen.
KOREAN_CSS = "<style>body, p, li, span, label, h1, h2, h3 { word-break: keep-all; overflow-wrap: break-word; }</style>"


def presenting() -> bool:
    """Whether the page is shown on a projector (sidebar toggle or `?present=1`)."""
    present = session.PRESENT.get()
    if present is None:
        present = st.query_params.get("present", "") in ("1", "true", "yes", "on")
        session.PRESENT.set(present)
    return present


def main_figure():
    """The container of a page's main figure. In presenter mode it is sized to the screen under the
    title, so the figure is whole above the fold: create it right after the title (fill it later,
    after the controls, which then come below it) and draw a plotly chart in it with
    `height=figure_height()`; an image in it is scaled to fit."""
    return st.container(key="main_figure")


def figure_height(normal: int | str = "content") -> int | str:
    """The height to give st.plotly_chart inside `main_figure()`: fill it when presenting."""
    return "stretch" if presenting() else normal


def _on_lang() -> None:
    session.LANG.set(session.LANG_WIDGET.get())


def _on_present_toggle() -> None:
    session.PRESENT.set(session.PRESENT_WIDGET.get())  # the address follows (links.write_address)


ROOT = Path(__file__).resolve().parents[1]
HIDE_SIDEBAR_CSS = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"]
{ display: none !important; }
</style>"""


def _page_script(depth: int = 2) -> str:
    """The running page's script relative to app.py ("pages/walk.py"), from the caller's file."""
    try:
        file = sys._getframe(depth).f_globals.get("__file__", "")
        return Path(file).resolve().relative_to(ROOT).as_posix()
    except (ValueError, OSError):
        return "app.py"


def hidden(name: str) -> bool:
    """Whether the link hides a control (explorer.address.HIDEABLE: "picker", "sliders", "grid" …)."""
    return name in session.HIDE.get()


def page_setup(title_en: str, title_ko: str) -> state.Active:
    """Configure the page, draw the sidebar, and return the active model (the same on every page).

    On a session's first run the address's view is opened first (links.read_address), and a
    lesson step on another page switches there."""
    script = _page_script()
    page = address.page_path(script)
    links.read_address(page)
    goto = session.LESSON_GOTO.pop()
    if goto is not None and goto != script:
        st.switch_page(goto)
    present = presenting()
    st.set_page_config(
        page_title=f"{tr(title_en, title_ko)} · VAE",
        page_icon=":material/blur_on:",
        layout="wide",
        initial_sidebar_state="collapsed" if present else "auto",
    )
    lang()  # settle the language before any text is drawn
    if present:
        st.html(PRESENTER_CSS)
    if lang() == "ko":
        st.html(KOREAN_CSS)
    if hidden("sidebar"):
        st.html(HIDE_SIDEBAR_CSS)
    with st.sidebar:
        if not hidden("menu"):
            for p in PAGES:
                st.page_link(p.path, label=p.ko if lang() == "ko" else p.en, icon=p.icon)
            st.divider()
    from .sidebar import model_picker

    active = model_picker(show=not hidden("picker"), locked="model" in session.LOCK.get())
    with st.sidebar:
        session.LANG_WIDGET.set(lang())
        if not hidden("lang"):
            st.radio(
                tr("Language", "언어"),
                list(LANGS),
                format_func=LANGS.get,
                key=session.LANG_WIDGET.name,
                on_change=_on_lang,
                horizontal=True,
            )
        session.PRESENT_WIDGET.set(present)
        if not hidden("present"):
            st.toggle(
                tr("Presenter mode", "발표 모드"),
                key=session.PRESENT_WIDGET.name,
                on_change=_on_present_toggle,
                help=tr(
                    "Large type and full-width figures for a projector; the sidebar starts collapsed. "
                    "Add ?present=1 to a page's address to open it this way.",
                    "프로젝터용으로 글자를 키우고 그림을 화면 폭에 맞춥니다. 사이드바는 접힌 채로 시작합니다. "
                    "주소 끝에 ?present=1을 붙이면 처음부터 이 모드로 열립니다.",
                ),
            )
        if not hidden("share"):
            # Dialogs, drawn only when asked for, over whatever page is shown: the app's address for
            # joining, and the link to this very view.
            share = tr("Share with the class", "반 학생들과 공유")
            if st.button(share, icon=":material/qr_code_2:", key="share_open", width="stretch"):
                from .join import join_screen

                st.dialog(share, width="large")(join_screen)()
            view = tr("Share this view", "이 화면 공유")
            if st.button(view, icon=":material/link:", key="share_view", width="stretch"):
                st.dialog(view, width="large")(links.share_panel)(page, present)
        links.write_address(page, "sidebar")
    links.ignored_notice()
    lessons.lesson_bar(page)
    return active
