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

from dataclasses import dataclass

import streamlit as st

from . import state
from .i18n import LANG, LANGS, lang, tr

PRESENT = "present"  # session-state key of presenter mode
# The widgets have keys of their own, set from the state above on each run and writing it back
# in their callbacks: a plain key is kept across page switches whatever happens to widget state.
LANG_WIDGET, PRESENT_WIDGET = "lang_switch", "present_switch"


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
    PageEntry("pages/metrics.py", "Samples and metrics", "샘플과 지표", ":material/monitoring:"),
]

# Streamlit sizes its type in rem, so a larger root font scales every text; the rest makes room.
PRESENTER_CSS = """
<style>
html { font-size: 22px; }
[data-testid="stMainBlockContainer"] { max-width: 100%; padding: 0.6rem 1.6rem 2rem 1.6rem; }
[data-testid="stMainBlockContainer"] h1 { font-size: 1.9rem; padding: 0 0 0.3rem 0; }
[data-testid="stMainBlockContainer"] h2, [data-testid="stMainBlockContainer"] h3 { font-size: 1.35rem; }
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] p,
[data-testid="stMainBlockContainer"] [data-testid="stMarkdownContainer"] li { font-size: 1rem; }
[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"] p { font-size: 0.85rem; }
[data-testid="stMainBlockContainer"] [data-testid="stImage"] img { width: 100% !important; height: auto !important; }
[data-testid="stHeader"] { background: transparent; }
</style>
"""


def presenting() -> bool:
    """Whether the page is shown on a projector (sidebar toggle or `?present=1`)."""
    if PRESENT not in st.session_state:
        st.session_state[PRESENT] = st.query_params.get("present", "") in ("1", "true", "yes", "on")
    return bool(st.session_state[PRESENT])


def _on_lang() -> None:
    st.session_state[LANG] = st.session_state[LANG_WIDGET]


def _on_present_toggle() -> None:
    st.session_state[PRESENT] = st.session_state[PRESENT_WIDGET]
    # Keep the URL in step, so a reload (or a copied link) stays in the chosen mode.
    if st.session_state[PRESENT]:
        st.query_params["present"] = "1"
    else:
        st.query_params.pop("present", None)


def page_setup(title_en: str, title_ko: str) -> state.Active:
    """Configure the page, draw the sidebar, and return the active model (the same on every page)."""
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
    with st.sidebar:
        for p in PAGES:
            st.page_link(p.path, label=p.ko if lang() == "ko" else p.en, icon=p.icon)
        st.divider()
    from .sidebar import model_picker

    active = model_picker()
    with st.sidebar:
        st.session_state[LANG_WIDGET] = lang()
        st.radio(
            tr("Language", "언어"),
            list(LANGS),
            format_func=LANGS.get,
            key=LANG_WIDGET,
            on_change=_on_lang,
            horizontal=True,
        )
        st.session_state[PRESENT_WIDGET] = present
        st.toggle(
            tr("Presenter mode", "발표 모드"),
            key=PRESENT_WIDGET,
            on_change=_on_present_toggle,
            help=tr(
                "Large type and full-width figures for a projector; the sidebar starts collapsed. "
                "Add ?present=1 to a page's address to open it this way.",
                "프로젝터용으로 글자를 키우고 그림을 화면 폭에 맞춥니다. 사이드바는 접힌 채로 시작합니다. "
                "주소 끝에 ?present=1 을 붙이면 처음부터 이 모드로 열립니다.",
            ),
        )
        from .join import share_panel

        with st.expander(tr("Share with the class", "반 학생들과 공유")):
            share_panel(size=200)
    return active
