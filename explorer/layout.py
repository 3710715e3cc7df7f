"""What every page runs first: page config, the sidebar (menu, language, active model).

Pages are Streamlit's own `pages/` convention: `app.py` is the Home page and each file in
`pages/` is a page (its URL is the file name, so /walk deep-links to pages/walk.py). Streamlit's
generated menu is hidden (`client.showSidebarNavigation = false` in .streamlit/config.toml)
and this module draws the menu with `st.page_link`, so its labels follow the language.
No internal Streamlit API is used.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from . import state
from .i18n import LANG, LANGS, lang, tr


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
    PageEntry("pages/manifold.py", "Manifold", "매니폴드", ":material/grid_on:"),
    PageEntry("pages/walk.py", "Walk", "잠재 공간 걷기", ":material/open_with:"),
    PageEntry("pages/encode.py", "Encode your own", "내 그림 인코딩", ":material/draw:"),
    PageEntry("pages/metrics.py", "Samples and metrics", "샘플과 지표", ":material/monitoring:"),
    # Concepts: the paper's ideas made visible (issue 13).
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


def page_setup(title_en: str, title_ko: str) -> state.Active:
    """Configure the page, draw the sidebar, and return the active model (the same on every page)."""
    st.set_page_config(page_title=f"{tr(title_en, title_ko)} · VAE", page_icon=":material/blur_on:", layout="wide")
    lang()  # settle the language before any text is drawn
    with st.sidebar:
        for p in PAGES:
            st.page_link(p.path, label=p.ko if lang() == "ko" else p.en, icon=p.icon)
        st.divider()
    from .sidebar import model_picker

    active = model_picker()
    with st.sidebar:
        st.radio(tr("Language", "언어"), list(LANGS), format_func=LANGS.get, key=LANG, horizontal=True)
    return active
