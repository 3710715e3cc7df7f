"""The router (app.py's body), and a guard that makes every run go through it.

Streamlit keeps a relic of its first multipage API: when a `pages/` folder sits beside the
main script, runs before st.navigation has been called once in the process build a menu
from that folder and run a deep-linked page file directly, without app.py: no sidebar model
picker, the wrong menu. Each page calls ensure_router() first; under the relic it runs the
real router within the same run (so clicks and form submits are not lost), then stops.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

PAGES = [
    ("pages/home.py", "Home", ":material/home:"),
    ("pages/train.py", "Train", ":material/model_training:"),
    ("pages/manifold.py", "Manifold", ":material/grid_on:"),
    ("pages/walk.py", "Walk", ":material/open_with:"),
    ("pages/encode.py", "Encode your own", ":material/draw:"),
    ("pages/metrics.py", "Samples and metrics", ":material/monitoring:"),
]


def run_app() -> None:
    from .sidebar import model_picker

    st.set_page_config(page_title="VAE latent explorer", page_icon=":material/blur_on:", layout="wide")
    nav = st.navigation(
        [st.Page(path, title=title, icon=icon, default=i == 0) for i, (path, title, icon) in enumerate(PAGES)]
    )
    model_picker()
    nav.run()


def ensure_router() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        run_app()
        st.stop()
