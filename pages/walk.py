import numpy as np
import streamlit as st

from explorer import latent_plane as plane
from explorer import links, session, state
from explorer.i18n import tr
from explorer.layout import page_setup
from explorer.widgets import plain_path_walk, plain_walker, set_z, test_image_details

PLANE = session.WALK  # the plane's z and pick are the page's, whichever form it takes

act = page_setup("Walk", "잠재 공간 걷기")

ckpt = act.ckpt
d = ckpt.config.latent_dim
mu, logvar, labels = state.sample_latents(act.key, ckpt)
st.title(tr("Walk the latent space", "잠재 공간 걷기"))

if session.WALK_MODEL.get() != act.key:  # a new model: start at the origin
    session.WALK_MODEL.set(act.key)
    plane.set_z(PLANE, np.zeros(d))  # and no selected test image
    set_z(np.zeros(d))


def _to_origin() -> None:
    plane.set_z(PLANE, np.zeros(d))


@st.fragment
def plane_view() -> None:
    plane.latent_plane(PLANE, act.key, ckpt, mu, logvar, labels, hide=session.HIDE.get())
    links.write_address("walk", "walk")
    # One z on screen: the plane's readout. The server's copy goes into the address (Share this view),
    # not into a second readout that lags a drag or, after a failover, disagrees until the next click.
    st.button(tr("Back to the origin", "원점으로"), key="walk_origin", on_click=_to_origin)
    test_image_details(ckpt, mu, logvar, labels, plane.get_pick(PLANE))


if plane.available():
    st.caption(
        tr(
            "The decoder runs in your browser: drag on the plane (or touch, or the arrow keys), move a slider, "
            "or click a test point; every way moves the same z. A path plays in the browser too.",
            "디코더가 브라우저에서 실행됩니다. 평면을 끌거나(터치, 화살표 키도 됩니다) 슬라이더를 움직이거나 "
            "테스트 점을 클릭하세요. 어느 방법이든 같은 z가 움직입니다. 경로 재생도 브라우저에서 합니다.",
        )
    )
    if d > 2:
        st.caption(
            tr(
                "The plane shows z₁ and z₂; the sliders move every dimension.",
                "평면은 z₁과 z₂를 보여 주고, 슬라이더는 모든 차원을 움직입니다.",
            )
        )
    plane_view()
else:  # no JavaScript component here (AppTest): the same page with plain widgets
    st.fragment(plain_walker)(ckpt, mu, logvar, labels)
    if len(mu):
        st.fragment(plain_path_walk)(ckpt, mu)
if not len(mu):
    st.info(
        tr(
            "This checkpoint stores no test images, so there are no points to click or interpolate.",
            "이 체크포인트에는 테스트 이미지가 없어 클릭하거나 보간할 점이 없습니다.",
        )
    )
