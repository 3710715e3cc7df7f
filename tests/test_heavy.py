"""One click costs the server a bounded time (explorer/heavy.py): requests are fitted to the budget, and only a
few heavy computations run at once."""

import threading
import time

import pytest
from helpers import ROOT
from streamlit.testing.v1 import AppTest

from explorer import heavy
from vae_core.estimators import DEFAULT_LS

FASHION_PARAMS, DIGITS_PARAMS = 1_068_820, 99_908  # the shipped models' sizes


@pytest.fixture(autouse=True)
def starting_speed(monkeypatch):
    """Each test starts from the server's starting speed: pages that other tests ran in this process have
    moved the measured one (faster on a quiet machine, slower on a busy one)."""
    monkeypatch.setattr(heavy, "_rate", dict(heavy.START_RATE))


@pytest.mark.parametrize("params", [DIGITS_PARAMS, FASHION_PARAMS, 10_000_000])
@pytest.mark.parametrize("asked", [(10, 10), (100, 50), (200, 100), (500, 200)])
def test_a_fitted_estimators_request_stays_in_the_budget(params, asked):
    n, r = heavy.fit_estimators(*asked, DEFAULT_LS, params)
    assert 10 <= n <= asked[0] and 10 <= r <= asked[1]
    within = heavy.estimate("estimators", n * r * sum(DEFAULT_LS), params) <= heavy.click_seconds()
    assert within or (n, r) == (10, 10)  # the smallest request is always allowed
    if heavy.estimate("estimators", asked[0] * asked[1] * sum(DEFAULT_LS), params) <= heavy.click_seconds():
        assert (n, r) == asked  # what fits is never cut


def test_the_worst_estimators_click_is_cut_and_the_default_on_digits_is_not():
    assert heavy.fit_estimators(100, 50, DEFAULT_LS, DIGITS_PARAMS) == (100, 50)
    n, r = heavy.fit_estimators(500, 200, DEFAULT_LS, FASHION_PARAMS)
    assert n * r < 500 * 200 / 20


@pytest.mark.parametrize("k", [1, 10, 100, 500])
def test_iw_scores_fewer_images_for_a_large_k(k):
    n = heavy.fit_iw(500, k, FASHION_PARAMS)
    assert 20 <= n <= 500
    assert heavy.estimate("iw", n * k, FASHION_PARAMS) <= heavy.click_seconds() or n == 20
    assert heavy.fit_iw(500, 500, FASHION_PARAMS) <= heavy.fit_iw(500, 10, FASHION_PARAMS)


def test_the_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(heavy.CLICK_SECONDS_ENV, "50")
    big = heavy.fit_estimators(500, 200, DEFAULT_LS, FASHION_PARAMS)
    monkeypatch.setenv(heavy.CLICK_SECONDS_ENV, "0.5")
    small = heavy.fit_estimators(500, 200, DEFAULT_LS, FASHION_PARAMS)
    assert small[0] * small[1] < big[0] * big[1]
    monkeypatch.setenv(heavy.CLICK_SECONDS_ENV, "not-a-number")
    assert heavy.click_seconds() == 5.0


def test_only_a_few_heavy_computations_run_at_once(monkeypatch):
    monkeypatch.setenv(heavy.AT_ONCE_ENV, "2")
    inside, peak, lock = [0], [0], threading.Lock()

    def work():
        with heavy.turn():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert peak[0] == 2


def test_the_estimators_page_says_when_it_measures_less_than_asked(monkeypatch):
    monkeypatch.setenv(heavy.CLICK_SECONDS_ENV, "0.2")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at = at.switch_page("pages/concept_estimators.py").run()
    at.slider(key="est_images").set_value(at.slider(key="est_images").max)
    at.slider(key="est_repeats").set_value(200)
    at = at.form_submit_button[0].click().run()
    assert not at.exception
    info = [i.value for i in at.info if "instead" in i.value]
    assert info, [i.value for i in at.info]
    assert "× 10 repeats" in info[0] and "about 1 s" in info[0]
