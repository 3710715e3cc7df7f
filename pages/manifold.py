import streamlit as st

from explorer import state
from explorer.layout import page_setup
from explorer.widgets import cached_manifold_figure, cached_png
from vae_core.errors import VAECoreError
from vae_core.manifold import MAX_GRID, data_range

act = page_setup("Manifold", "매니폴드")

ckpt = act.ckpt
st.title("Learned manifold")
st.caption(
    "Images decoded over a grid of latent values (the paper's Fig. 4). With *inverse CDF* spacing the grid is "
    "even over the unit square and mapped through Φ⁻¹, so each cell holds equal prior mass."
)
mu, _, labels = state.sample_latents(act.key, ckpt)

c1, c2, c3 = st.columns([1, 1, 1])
n = c1.slider("Grid size n", 5, MAX_GRID, 20, key="manifold_n")
spacing = c2.radio(
    "Spacing",
    ["icdf", "linear"],
    horizontal=True,
    key="manifold_spacing",
    format_func={"icdf": "inverse Gaussian CDF", "linear": "linear"}.get,
)
overlay = c3.checkbox("Overlay the test set's latent means", value=True, key="manifold_overlay")

lo, hi = (-3.0, -3.0), (3.0, 3.0)
if spacing == "linear":
    dlo, dhi = data_range(mu) if len(mu) else (lo, hi)
    st.caption("Range defaults to where 98% of the encoded test sample lies (1% and 99% quantiles).")
    r = st.columns(4)
    lo = (
        r[0].number_input("z₁ from", value=round(dlo[0], 2), step=0.1, key="lin_z1lo"),
        r[2].number_input("z₂ from", value=round(dlo[1], 2), step=0.1, key="lin_z2lo"),
    )
    hi = (
        r[1].number_input("z₁ to", value=round(dhi[0], 2), step=0.1, key="lin_z1hi"),
        r[3].number_input("z₂ to", value=round(dhi[1], 2), step=0.1, key="lin_z2hi"),
    )
rest = ()
if ckpt.config.latent_dim > 2:
    st.caption("Dimensions beyond the first two are held at 0 (the prior's mean).")

try:
    mosaic, z1, z2 = state.cached_manifold(act.key, ckpt, n, spacing, tuple(lo), tuple(hi), rest)
except VAECoreError as exc:
    st.error(str(exc))
    st.stop()
st.session_state["manifold_shape"] = mosaic.shape
grid = (n, spacing, tuple(lo), tuple(hi), rest)
fig = cached_manifold_figure(act, grid, mosaic, z1, z2, spacing, overlay, mu, labels)
st.plotly_chart(fig, width="stretch", key="manifold_chart")
scale = max(1, 840 // mosaic.shape[0])
st.download_button(
    "Download PNG",
    cached_png((act.key, *grid), mosaic, scale),
    file_name=f"{act.ref.name}-manifold-{n}x{n}.png",
    mime="image/png",
    key="manifold_download",
)
