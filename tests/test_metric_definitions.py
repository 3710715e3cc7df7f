"""The numbers a student reads mean what their labels say: active units by their KL, the missing
normaliser of a Bernoulli decoder on continuous pixels measured per model, and the pages that say so."""

import math

import pytest
import torch
from helpers import ROOT, SHIPPED
from streamlit.testing.v1 import AppTest

from vae_core.checkpoint import load_checkpoint
from vae_core.evaluate import ACTIVE_KL_NATS, COLLAPSE_KL_NATS, count_active, evaluate
from vae_core.scores import continuous_bernoulli_log_norm, omitted_normaliser


@pytest.mark.parametrize("logit", [0.0, 1e-5, -3e-4, 0.5, 2.0, -5.0, 20.0, -60.0])
def test_the_log_normaliser_is_minus_the_log_of_the_integral(logit):
    lam = torch.sigmoid(torch.tensor(logit, dtype=torch.float64))
    x = torch.linspace(0, 1, 400_001, dtype=torch.float64)
    integral = torch.trapezoid(lam**x * (1 - lam) ** (1 - x), x)  # ∫ λ^x (1−λ)^(1−x) dx = 1 / C(λ)
    got = continuous_bernoulli_log_norm(torch.tensor([logit], dtype=torch.float64))
    assert float(got) == pytest.approx(-math.log(float(integral)), abs=1e-6)


def test_the_missing_normaliser_grows_with_the_image():
    digits = load_checkpoint(SHIPPED / "digits.safetensors")
    fashion = load_checkpoint(SHIPPED / "fashion-mnist.safetensors")
    small, large = (omitted_normaliser(c.model, c.sample_x()) for c in (digits, fashion))
    assert small >= 64 * math.log(2) and large >= 784 * math.log(2)  # log C(λ) ≥ log 2 for every pixel
    assert large > 5 * small  # 784 pixels against 64: one number for every dataset would be wrong for one of them


def test_active_units_are_counted_by_their_kl():
    assert count_active([0.0, ACTIVE_KL_NATS, 0.02, 3.0]) == 2
    model = load_checkpoint(SHIPPED / "digits.safetensors")
    m = evaluate(model.model, model.sample_x()[:200], k=0)
    assert m.active_units == count_active(m.kl_per_dim) == 2


def test_a_collapsed_model_has_no_active_unit():
    """β = 3 is collapsed (total KL under the threshold): it must not also count an active unit."""
    meta = load_checkpoint(SHIPPED / "digits-beta3.safetensors").meta["metrics"]
    assert meta["test_kl"] < COLLAPSE_KL_NATS
    assert count_active(meta["kl_per_dim"]) == 0


@pytest.fixture
def app(models_dir):
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()


def test_home_says_the_elbo_of_a_continuous_bernoulli_model_is_a_score(app):
    assert not app.exception
    captions = " ".join(c.value for c in app.caption)
    assert "its ELBO is a score" in captions  # the shipped fashion-mnist model: continuous pixels, Bernoulli


def test_the_beta_page_does_not_call_a_collapsed_model_partly_active(app):
    at = app.switch_page("pages/concept_beta.py").run()
    assert not at.exception
    collapsed = " ".join(w.value for w in at.warning)
    partly = " ".join(i.value for i in at.info)
    assert "β = 3" in collapsed and "β = 3" not in partly
    rd = " ".join(m.value for m in at.markdown)
    assert "up-left" in rd and "down-left" not in rd


def test_the_textbook_page_shows_both_snippets_and_checks_the_identities(app):
    at = app.switch_page("pages/concept_textbook.py").run()
    assert not at.exception
    assert len(at.code) == 2 and "-0.5 *" in at.code[1].value and "-0.5" not in at.code[0].value
    text = " ".join(m.value for m in at.markdown)
    assert "*negative* log-likelihood" in text
    table = at.dataframe[0].value
    assert not [c for c in table.columns if "_" in c]  # no literal underscore in a header
    book, unit, half, copied, copied_elbo = (table[c].to_numpy() for c in table.columns[1:])
    assert abs(book - unit).max() < 1e-2 and abs(book - half).max() < 1e-2 and abs(copied - copied_elbo).max() < 1e-2
    assert "identity checked on numbers" in " ".join(c.value for c in at.caption)


def test_training_curves_say_loss_and_use_no_si_prefix():
    from explorer.figures import history_figure, kl_bar

    row = {"elbo": -100.0, "recon": -90.0, "kl": 0.00003}
    fig = history_figure([{"epoch": 1, "train": row, "test": row}])
    assert "loss" in fig.layout.annotations[0].text
    axes = [fig.layout[a] for a in fig.layout if a.startswith("yaxis")] + [kl_bar([0.00003, 2.0]).layout.yaxis]
    assert axes and all(a.exponentformat == "none" for a in axes)  # no "30µ" on an axis in nats


def test_the_estimators_page_reports_what_it_measured_with_units(app):
    at = app.switch_page("pages/concept_estimators.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert all("(" in c and ")" in c for c in table.columns), list(table.columns)  # a unit on every column
    verdicts = [b.value for b in (*at.success, *at.info) if b.value.startswith("Measured on the model in use")]
    assert len(verdicts) == 1 and "at L = 1:" in verdicts[0] and "theorem" not in verdicts[0]
    assert "typically has less variance than the generic estimator" in " ".join(c.value for c in at.caption)
