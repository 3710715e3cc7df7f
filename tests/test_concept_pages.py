"""The Concepts pages under AppTest, with every shipped model active: they run, and show what they
claim (draws added, the ladder on shared axes, the autoencoder's trade-off, A and B measured)."""

import pytest
from helpers import ROOT, picker
from streamlit.testing.v1 import AppTest

from explorer.concept_models import autoencoder_pair, beta_ladder
from explorer.models import shipped_models

CONCEPTS = [
    "pages/concept_reparam.py",
    "pages/concept_beta.py",
    "pages/concept_autoencoder.py",
    "pages/concept_estimators.py",
    "pages/concept_textbook.py",
]
# pytest -m "not slow" tries every page with two of them; the whole suite with all of them
QUICK = ("digits", "digits-beta4")
MODELS = [r.name if r.name in QUICK else pytest.param(r.name, marks=pytest.mark.slow) for r in shipped_models()]


@pytest.fixture
def app(models_dir):
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180).run()


def with_model(at: AppTest, name: str) -> AppTest:
    box = picker(at)
    assert any(label.startswith(name + " ") for label in box.options)
    return box.set_value(f"shipped:{name}").run()


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("page", CONCEPTS)
def test_every_concept_page_runs_with_every_shipped_model(app, page, model):
    at = with_model(app, model).switch_page(page).run()
    no_errors(at)
    assert at.session_state["active_model"].name == model
    assert at.title and not at.error


def test_the_shipped_ladder_and_autoencoder_exist():
    betas = [float(r.name.rsplit("beta", 1)[1]) for r in beta_ladder()]
    assert {0.5, 1.0, 2.0, 4.0, 8.0} <= set(betas)
    assert autoencoder_pair() is not None


def test_reparam_draws_one_then_clears(app):
    at = app.switch_page("pages/concept_reparam.py").run()
    at.button(key="rep_one").click().run()
    at.button(key="rep_one").click().run()
    no_errors(at)
    assert "2 draws" in " ".join(c.value for c in at.caption)
    assert any("∂/∂μ" in m.value for m in at.markdown)  # the gradient of the newest draw
    at.button(key="rep_burst").click().run()
    assert at.session_state["rep_target"] == 52  # the burst's end; the browser test watches it run
    at.button(key="rep_clear").click().run()
    assert at.session_state["rep_eps"] == [] and at.info  # "Draw ε to see samples of z."


def test_reparam_from_encode_uses_the_encoded_posterior(app):
    app.session_state["encoded_mu"] = [2.5, -1.0]
    app.session_state["encoded_logvar"] = [-2.0, -2.0]
    at = app.switch_page("pages/concept_reparam.py").run()
    at.radio(key="rep_source").set_value("encode").run()
    at.button(key="rep_one").click().run()
    no_errors(at)
    z = [float(v) for v in at.markdown[-1].value.split("z = (")[1].split(")")[0].split(",")]
    assert abs(z[0] - 2.5) < 4 * 0.37 and abs(z[1] + 1.0) < 4 * 0.37  # within 4 sigma = exp(-1)


def test_beta_page_warns_about_collapse_and_uses_plain_nats(app):
    at = app.switch_page("pages/concept_beta.py").run()
    no_errors(at)
    assert at.warning and "collapse" in at.warning[0].value.lower()
    for chart in at.get("plotly_chart"):
        assert '"exponentformat":"SI"' not in chart.proto.spec.replace(" ", "")


def test_autoencoder_page_shows_prior_samples_covering_fewer_classes(app):
    """The shipped pair: prior samples of the autoencoder cover clearly fewer classes, and the
    page's conclusion quotes the numbers it shows."""
    at = app.switch_page("pages/concept_autoencoder.py").run()
    no_errors(at)
    values = [float(m.value.split(" / ")[0]) for m in at.metric]
    ae_err, ae_classes, vae_err, vae_classes = values
    assert ae_classes < vae_classes - 1
    assert f"{ae_classes:.1f} of the 10 classes, against {vae_classes:.1f}" in at.markdown[-1].value


def test_estimators_page_measures_three_L(app):
    at = app.switch_page("pages/concept_estimators.py").run()
    at.slider(key="est_images").set_value(20)
    at.slider(key="est_repeats").set_value(20)
    at = next(b for b in at.button if b.label == "Measure").click().run()  # the form's submit button
    no_errors(at)
    df = at.dataframe[0].value
    assert list(df.iloc[:, 0]) == [1, 4, 16]  # L
    var_a = df.iloc[:, 3].tolist()
    assert all(v > 0 for v in var_a) and var_a[2] < var_a[0]
    assert "Measured on the model in use, at L = 1" in (at.info or at.success)[0].value  # what it shows, in words


def test_textbook_page_columns_agree(app):
    at = app.switch_page("pages/concept_textbook.py").run()
    no_errors(at)
    df = at.dataframe[0].value
    assert (abs(df.iloc[:, 1] - df.iloc[:, 2]) < 1e-2).all() and (abs(df.iloc[:, 1] - df.iloc[:, 3]) < 1e-2).all()


def test_textbook_preset_fills_the_train_form(app):
    from vae_core.presets import PRESETS
    from vae_core.settings import build_configs

    at = app.switch_page("pages/train.py").run()
    at.selectbox(key="tr_dataset").set_value("fashion-mnist").run()
    at.selectbox(key="train_preset").set_value("textbook").run()
    no_errors(at)
    assert at.text_input(key="tr_hidden").value == "200"
    assert at.number_input(key="tr_lr").value == pytest.approx(3e-4)
    assert at.number_input(key="tr_batch_size").value == 32 and at.number_input(key="tr_epochs").value == 30
    assert at.selectbox(key="tr_likelihood").value == "gaussian"
    assert any("textbook" in c.value for c in at.caption)
    model, train = build_configs("fashion-mnist", PRESETS["textbook-20"].values)
    assert model.input_dim == 784 and model.hidden == (200,) and model.latent_dim == 20
    assert model.gaussian_std == 1.0 and train.beta == 1.0 and train.lr_final_frac == 1.0


def test_latent_squares_show_exactly_the_range_their_caption_states():
    """With equal axis scales plotly widens one axis to fill a wide chart (and again after a window
    resize), so the square would not be the one the caption gives; constrained, it is, at any width."""
    import numpy as np

    from explorer.concept_figures import codes_figure, posterior_plane

    mu, labels = np.zeros((3, 2)), np.arange(3)
    figs = [
        (codes_figure(mu, labels, ["a", "b", "c"], 14.2, "codes"), (-14.2, 14.2)),
        (posterior_plane(np.array([1.0, -1.0]), np.zeros(2), np.zeros((1, 2)), "t", ("μ", "draws", "z")), None),
    ]
    for fig, wanted in figs:
        x, y = fig.layout.xaxis, fig.layout.yaxis
        assert y.scaleanchor == "x" and x.constrain == y.constrain == "domain"
        if wanted:
            assert tuple(x.range) == tuple(y.range) == wanted
