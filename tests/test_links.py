"""Links in the app (explorer/links.py), without a browser: the address opens its view, a hostile
one gives one notice and the default view, and the view on screen is what a link would carry."""

import pytest
from helpers import ROOT
from streamlit.testing.v1 import AppTest

HOSTILE = [
    {"z": "nan,1e308"},
    {"model": "../../x"},
    {"n": "100000"},
    {"hide": "<script>alert(1)</script>"},
    {"n": ["30"] * 500},
    {"z": "1" * 100_000},
]


def _open(page: str, query: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(page)  # before the first run: the session opens on `page`, with the address
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def test_a_link_opens_its_manifold_view(models_dir):
    at = _open(
        "pages/manifold.py", {"n": "30", "spacing": "linear", "box": "-2,2,-1,1.5", "layers": "none", "lang": "ko"}
    )
    assert not at.exception, [e.value for e in at.exception]
    assert at.slider[0].value == 30 and at.radio(key="manifold_spacing").value == "linear"
    assert [at.number_input(key=f"lin_z{k}").value for k in ("1lo", "1hi", "2lo", "2hi")] == [-2, 2, -1, 1.5]
    assert at.checkbox(key="manifold_overlay").value is False and at.title[0].value == "학습된 매니폴드"
    assert not at.warning


def test_hide_and_lock(models_dir):
    at = _open("pages/manifold.py", {"hide": "grid,menu", "lock": "model"})
    assert not at.exception and not at.slider and at.checkbox(key="manifold_overlay")
    assert at.selectbox[0].disabled


@pytest.mark.parametrize("query", HOSTILE, ids=lambda q: next(iter(q)))
def test_a_hostile_address_gives_one_notice_and_the_default_view(models_dir, query):
    at = _open("pages/manifold.py", query)
    assert not at.exception, [e.value for e in at.exception]
    notices = [w.value for w in at.warning]
    assert len(notices) == 1 and next(iter(query)) in notices[0], notices
    assert "<script>" not in notices[0] and "Traceback" not in notices[0]
    assert at.slider[0].value == 20 and at.title[0].value == "Learned manifold"


def test_ten_thousand_parameters_open_the_default_view(models_dir):
    # Streamlit drops such an address before Python sees it; the browser names it (test_links_browser).
    at = _open("pages/manifold.py", {"n": ["30"] * 10_000})
    assert not at.exception and at.slider[0].value == 20
