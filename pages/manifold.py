import streamlit as st

from explorer import links, session, state
from explorer.i18n import tr
from explorer.layout import figure_height, hidden, main_figure, page_setup, presenting
from explorer.plain import shown
from explorer.widgets import manifold_figure_of, manifold_png
from vae_core.errors import VAECoreError
from vae_core.manifold import LATENT_SQUARE, MAX_GRID, data_range

act = page_setup("Manifold", "매니폴드")

ckpt = act.ckpt
st.title(tr("Learned manifold", "학습된 매니폴드"))


def explain() -> None:
    st.caption(
        tr(
            "Images decoded over a grid of latent values (the paper's Fig. 4). With *inverse CDF* spacing the grid "
            "is even over the unit square and mapped through Φ⁻¹, so each cell holds equal prior mass.",
            "잠재 값의 격자 위에서 디코딩한 이미지들입니다(논문의 그림 4). *역 CDF* 간격에서는 단위 정사각형 위의 "
            "고른 격자를 Φ⁻¹로 옮기므로, 칸마다 사전분포의 확률 질량이 같습니다.",
        )
    )


@st.fragment
def grid_view() -> None:
    """The controls, the figure and its download: a change of grid reruns only this, not the sidebar."""
    # On a projector the figure comes right under the title (controls and explanation below it).
    figure_box = main_figure() if presenting() else None
    if not presenting():
        explain()
    mu, _, labels = state.sample_latents(act.key, ckpt)

    # Widgets start from their declared defaults (or a link's values), set before they render.
    for key in (session.MANIFOLD_N, session.MANIFOLD_SPACING, session.MANIFOLD_OVERLAY):
        key.setdefault()
    show_grid, show_layers = not hidden("grid"), not hidden("layers")
    c1, c2, c3 = st.columns([1, 1, 1]) if show_grid or show_layers else (None, None, None)
    n, spacing, overlay = session.MANIFOLD_N.get(), session.MANIFOLD_SPACING.get(), session.MANIFOLD_OVERLAY.get()
    if show_grid:
        n = c1.slider(tr("Grid size n", "격자 크기 n"), 5, MAX_GRID, key=session.MANIFOLD_N.name)
        spacing = c2.radio(
            tr("Spacing", "간격"),
            ["icdf", "linear"],
            horizontal=True,
            key=session.MANIFOLD_SPACING.name,
            format_func={"icdf": tr("inverse Gaussian CDF", "가우시안 역 CDF"), "linear": tr("linear", "균등")}.get,
        )
    if show_layers:
        overlay = c3.checkbox(
            tr("Overlay the test set's latent means", "테스트 세트의 잠재 평균 겹쳐 보기"),
            key=session.MANIFOLD_OVERLAY.name,
        )

    lo, hi = LATENT_SQUARE
    if spacing == "linear":
        dlo, dhi = data_range(mu) if len(mu) else (lo, hi)
        bounds = {"1lo": dlo[0], "2lo": dlo[1], "1hi": dhi[0], "2hi": dhi[1]}
        for suffix, v in bounds.items():  # the data's range, unless the session (a link) has one
            if not session.MANIFOLD_RANGE.of(suffix).is_set():
                session.MANIFOLD_RANGE.of(suffix).set(round(float(v), 2))
        box = {s: float(session.MANIFOLD_RANGE.of(s).get()) for s in bounds}
        lo, hi = (box["1lo"], box["2lo"]), (box["1hi"], box["2hi"])
    if spacing == "linear" and show_grid:
        st.caption(
            tr(
                "Range defaults to where 98% of the encoded test sample lies (1% and 99% quantiles).",
                "범위는 처음에 인코딩한 테스트 샘플의 98%가 놓인 곳(1%와 99% 분위수)으로 정해집니다.",
            )
        )
        r = st.columns(4)
        lo = (
            r[0].number_input(tr("z₁ from", "z₁ 시작"), step=0.1, key=session.MANIFOLD_RANGE.of("1lo").name),
            r[2].number_input(tr("z₂ from", "z₂ 시작"), step=0.1, key=session.MANIFOLD_RANGE.of("2lo").name),
        )
        hi = (
            r[1].number_input(tr("z₁ to", "z₁ 끝"), step=0.1, key=session.MANIFOLD_RANGE.of("1hi").name),
            r[3].number_input(tr("z₂ to", "z₂ 끝"), step=0.1, key=session.MANIFOLD_RANGE.of("2hi").name),
        )
    rest = ()
    if ckpt.config.latent_dim > 2:
        st.caption(
            tr(
                "Dimensions beyond the first two are held at 0 (the prior's mean).",
                "처음 두 차원 밖의 차원은 0(사전분포의 평균)에 고정합니다.",
            )
        )

    links.write_address("manifold", "manifold")
    try:
        mosaic, z1, z2 = state.cached_manifold(act.key, ckpt, n, spacing, tuple(lo), tuple(hi), rest)
    except VAECoreError as exc:
        st.error(tr("This grid cannot be drawn: ", "이 격자는 그릴 수 없습니다: ") + shown(exc))
        return
    grid = (n, spacing, tuple(lo), tuple(hi), rest)
    fig = manifold_figure_of(act, grid, overlay, presenting())
    with figure_box or main_figure():
        st.plotly_chart(fig, width="stretch", height=figure_height(), key="manifold_chart")
    if presenting():
        explain()
    scale = max(1, 840 // mosaic.shape[0])
    st.download_button(
        tr("Download PNG", "PNG 내려받기"),
        manifold_png(act, grid, scale),
        file_name=f"{act.ref.name}-manifold-{n}x{n}.png",
        mime="image/png",
        key="manifold_download",
    )


grid_view()
