"""Make sure every run goes through app.py's st.navigation router.

Streamlit keeps a relic of its first multipage API: when a `pages/` folder sits beside the
main script, a session's first run (or any run until st.navigation has been called once in
the process) builds a navigation from that folder and runs a deep-linked page file directly,
without app.py: no sidebar model picker, the wrong menu. Each page calls ensure_router() first;
under the relic it switches the relic off and reruns, which then goes through app.py.
"""

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager


def ensure_router() -> None:
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
