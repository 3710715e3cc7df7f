"""VAE latent explorer: `streamlit run app.py`. This file only routes to the pages in pages/."""

from explorer.routing import run_app

run_app()
