"""VAE latent-space explorer: `streamlit run app.py`. This file only routes to the pages."""

import streamlit as st

from explorer.sidebar import model_picker

st.set_page_config(page_title="VAE latent explorer", page_icon=":material/blur_on:", layout="wide")
nav = st.navigation(
    [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
        st.Page("pages/manifold.py", title="Manifold", icon=":material/grid_on:"),
        st.Page("pages/walk.py", title="Walk", icon=":material/open_with:"),
        st.Page("pages/encode.py", title="Encode your own", icon=":material/draw:"),
        st.Page("pages/metrics.py", title="Samples and metrics", icon=":material/monitoring:"),
    ]
)
model_picker()
nav.run()
