"""Every page under Streamlit's AppTest (no browser): runs, reacts to widgets, handles bad input."""

import pickle
from pathlib import Path

import pytest
from helpers import ROOT, RunsCode, checkpoint_with_meta, picker
from streamlit.testing.v1 import AppTest

PAGES = [
    "app.py",
    "pages/train.py",
    "pages/gallery.py",
    "pages/manifold.py",
    "pages/walk.py",
    "pages/encode.py",
    "pages/metrics.py",
]


@pytest.fixture
def app(models_dir):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    return at.run()


def goto(at: AppTest, page: str) -> AppTest:
    return at.switch_page(page).run()


def no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_with_the_shipped_model(app, page):
    at = goto(app, page)
    no_errors(at)
    assert at.session_state["active_model"].name == "fashion-mnist"
    assert at.title


def test_walk_sliders_change_the_decoded_z(app, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_PLAIN_WIDGETS", "1")  # the sliders of the page without the JS plane
    at = goto(app, "pages/walk.py")
    assert at.session_state["walk_z"] == [0.0, 0.0]
    before = at.image[0].proto.imgs[0].url
    at.slider(key="walk_z0").set_value(1.5).run()
    at.slider(key="walk_z1").set_value(-0.75).run()
    no_errors(at)
    assert at.session_state["walk_z"] == [1.5, -0.75]
    assert at.image[0].proto.imgs[0].url != before


def _manifold_image_size(at: AppTest) -> tuple[int, int]:
    """The size of the decoded grid the Manifold figure shows (its background image)."""
    import base64
    import io
    import json

    from PIL import Image

    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    source = spec["layout"]["images"][0]["source"]
    return Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1]))).size


def test_manifold_grid_size_and_linear_range(app):
    at = goto(app, "pages/manifold.py")
    at.slider(key="manifold_n").set_value(7).run()
    assert _manifold_image_size(at) == (7 * 28, 7 * 28)
    at.radio(key="manifold_spacing").set_value("linear").run()
    no_errors(at)
    lo = at.number_input(key="lin_z1lo").value
    at.number_input(key="lin_z1hi").set_value(lo - 1).run()  # an empty range: a message, no crash
    assert at.error and "upper bound" in at.error[0].value


def test_switching_model_in_the_sidebar(app):
    assert "digits (shipped)" in picker(app).options
    at = picker(app).set_value("shipped:digits").run()
    at = goto(at, "pages/walk.py")
    no_errors(at)
    assert at.session_state["active_model"].name == "digits"


def test_a_stale_picker_report_does_not_undo_a_model_made_active_elsewhere(app):
    """A browser may send the values of widgets it drew before the Train page made a new model
    active (its progress timer fires while the page that did it is on its way). Such a report names
    the old model; it must not switch back, and a choice made afterwards still counts."""
    from explorer import models

    old = picker(app)
    assert old.value == "shipped:fashion-mnist"
    app.session_state["active_model"] = models.ModelRef(
        "shipped", "digits", str(ROOT / "checkpoints/digits.safetensors")
    )
    app.run()  # the run that draws the new model (what st.rerun(scope="app") from the Train page does)
    assert picker(app).value == "shipped:digits"
    app.run()  # a later run: the widget drawn for the old model is gone from the server's state
    at = old.set_value("shipped:fashion-mnist").run()  # the old page's values: the stale report
    no_errors(at)
    assert at.session_state["active_model"].name == "digits"
    at = picker(at).set_value("shipped:fashion-mnist").run()  # a real choice from the current picker
    assert at.session_state["active_model"].name == "fashion-mnist"


def _nan_checkpoint(marker) -> bytes:
    import torch

    from vae_core.model import VAE, VAEConfig

    model = VAE(VAEConfig(input_shape=(1, 8, 8), hidden=(8,)))
    with torch.no_grad():
        model.dec_out.bias.fill_(float("nan"))
    return checkpoint_with_meta(model)


def _foreign_architecture(marker) -> bytes:
    from vae_core.model import VAE, VAEConfig

    model = VAE(VAEConfig(input_shape=(1, 8, 8), hidden=(8,)))
    return checkpoint_with_meta(model, config=VAEConfig(input_shape=(1, 8, 8), hidden=(9,)).to_dict())


BAD_UPLOADS = {
    "evil.safetensors": lambda marker: pickle.dumps(RunsCode(marker)),
    "empty.safetensors": lambda marker: b"",
    "noise.safetensors": lambda marker: bytes(range(256)) * 20,
    "truncated.safetensors": lambda marker: (ROOT / "checkpoints" / "digits.safetensors").read_bytes()[:100_000],
    "nan.safetensors": _nan_checkpoint,
    "foreign.safetensors": _foreign_architecture,
    "future.safetensors": lambda marker: checkpoint_with_meta(_tiny(), format="vae_core.checkpoint/2"),
    "huge.safetensors": lambda marker: b"\0" * (64 * 2**20 + 1),
}


def _tiny():
    from vae_core.model import VAE, VAEConfig

    return VAE(VAEConfig(input_shape=(1, 8, 8), hidden=(8,)))


# AppTest drops sidebar widgets from its tree on reruns under st.navigation, so each upload
# uses a fresh app and the checks read session state (the browser test sees the message).
@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_bad_checkpoint_uploads_are_refused_and_keep_the_active_model(app, tmp_path, name):
    marker = tmp_path / "PWNED"
    app.file_uploader(key="ckpt_upload").set_value((name, BAD_UPLOADS[name](marker), "application/octet-stream"))
    at = app.run()
    no_errors(at)
    assert name in at.session_state["upload_error"]
    assert at.session_state["active_model"].name == "fashion-mnist"
    assert not marker.exists()


def test_good_checkpoint_upload_becomes_active(app):
    data = (ROOT / "checkpoints" / "digits.safetensors").read_bytes()
    app.file_uploader(key="ckpt_upload").set_value(("mine.safetensors", data, "application/octet-stream"))
    at = goto(app.run(), "pages/manifold.py")
    no_errors(at)
    ref = at.session_state["active_model"]
    assert (ref.kind, ref.name) == ("upload", "mine")


@pytest.mark.slow
def trainer(at: AppTest, who: str = "Mina") -> AppTest:
    return at.text_input(key="trainer_input").set_value(who).run()


def test_train_page_trains_digits_and_activates_the_model(app, models_dir):
    from explorer import training

    at = trainer(goto(app, "pages/train.py"))
    at.number_input(key="tr_epochs").set_value(2)
    at.text_input(key="tr_name").set_value("tiny")
    at = at.form_submit_button[0].click().run()
    no_errors(at)
    job = training.find(at.session_state["train_run"])
    job.thread.join(timeout=120)
    assert job.status == "done", job.message
    at = at.run()
    no_errors(at)
    ref = at.session_state["active_model"]
    assert (ref.kind, ref.name) == ("class", "tiny")
    assert Path(ref.path).is_file() and Path(ref.path).parent == models_dir
    assert len(job.history) == 2 and len(job.latents) == 2
    assert at.query_params["run"] == job.run_id  # in the URL, so a reloaded page finds the run


@pytest.mark.parametrize(
    "name,message", [("../escape", "not allowed"), ("fashion-mnist", "shipped"), ("/etc/passwd", "not allowed")]
)
def test_train_page_refuses_bad_names(app, name, message):
    at = trainer(goto(app, "pages/train.py"))
    at.text_input(key="tr_name").set_value(name)
    at = at.form_submit_button[0].click().run()
    no_errors(at)
    assert "train_run" not in at.session_state
    assert message in at.error[0].value


def test_encode_page_encodes_an_upload_and_refuses_a_non_image(app):
    from io import BytesIO

    from PIL import Image, ImageDraw

    img = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(img).rectangle([30, 20, 90, 100], outline=0, width=10)
    buf = BytesIO()
    img.save(buf, format="PNG")
    at = goto(app, "pages/encode.py")
    assert at.radio(key="enc_mode").value == "draw" and at.info  # an empty canvas: a hint, no error
    at = at.radio(key="enc_mode").set_value("upload").run()
    at.file_uploader(key="enc_upload").set_value(("box.png", buf.getvalue(), "image/png"))
    at = at.run()
    no_errors(at)
    assert len(at.session_state["encoded_mu"]) == 2
    at.file_uploader(key="enc_upload").set_value(("notes.png", b"this is text, not a PNG", "image/png"))
    at = at.run()
    no_errors(at)
    assert "not a readable image" in at.error[0].value


@pytest.mark.parametrize("latent_dim", [1, 3])
def test_every_page_works_with_other_latent_sizes(app, tmp_path, monkeypatch, latent_dim):
    from vae_core.data import load_dataset
    from vae_core.model import VAE, VAEConfig
    from vae_core.pipeline import finish_training
    from vae_core.train import TrainConfig, train

    data = load_dataset("digits")
    cfg = TrainConfig(epochs=2, batch_size=128, device="cpu")
    result = train(VAE(VAEConfig(input_shape=data.image_shape, hidden=(32,), latent_dim=latent_dim)), data, cfg)
    path, _ = finish_training(tmp_path / f"d{latent_dim}.safetensors", result, data, cfg, eval_k=3)
    app.file_uploader(key="ckpt_upload").set_value((path.name, path.read_bytes(), "application/octet-stream"))
    at = app.run()
    assert at.session_state["active_model"].name == f"d{latent_dim}"
    for page in PAGES:
        at = goto(at, page)
        no_errors(at)
    assert len(at.session_state["walk_z"]) == latent_dim  # the plane's z
    monkeypatch.setenv("VAE_EXPLORER_PLAIN_WIDGETS", "1")  # and the plain sliders
    at = goto(at, "pages/walk.py")
    assert len(at.session_state["walk_z"]) == latent_dim
    at.slider(key=f"walk_z{latent_dim - 1}").set_value(1.25).run()
    no_errors(at)
    assert at.session_state["walk_z"][-1] == 1.25


def test_the_menu_lists_every_page_file_and_no_file_uses_streamlit_internals():
    from explorer.layout import PAGES as MENU

    files = {"app.py"} | {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert {p.path for p in MENU} == files
    for path in ROOT.glob("**/*.py"):
        if ".venv" in path.parts or "site-packages" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        assert "streamlit.runtime" not in text.replace('"streamlit.runtime"', ""), path


def test_home_writes_the_posterior_covariance_as_diagonal(app):
    text = " ".join(m.value for m in app.markdown)
    assert r"\mathcal N(\mu,\operatorname{diag}(\sigma^2))" in text


@pytest.mark.parametrize("page", ["app.py", "pages/metrics.py"])
def test_a_continuous_pixel_model_shows_an_iw_score_not_a_log_likelihood(app, page):
    """Fashion-MNIST's pixels are continuous: its IW number is labelled a score, with why, on every page."""
    at = goto(app, page) if page != "app.py" else app
    no_errors(at)
    labels = [m.label for m in at.metric]
    assert any(label.startswith("IW score, k=") for label in labels), labels
    assert not any("log p(x)" in label for label in labels), labels
    score = next(m for m in at.metric if m.label.startswith("IW score"))
    assert "not a log-likelihood" in score.help


def test_the_compare_pickers_keep_their_models_across_a_language_switch(app):
    """The Metrics page's two pickers hold model ids, not labels: a label changes with the language."""
    at = goto(app, "pages/metrics.py")
    a, b = at.selectbox(key="compare_a"), at.selectbox(key="compare_b")
    assert (a.value, b.value) == ("shipped:digits", "shipped:digits-beta4")
    at = b.set_value("shipped:mnist-10k").run()
    at = at.radio(key="lang_switch").set_value("ko").run()
    no_errors(at)
    assert at.session_state["lang"] == "ko"
    a, b = at.selectbox(key="compare_a"), at.selectbox(key="compare_b")
    assert (a.value, b.value) == ("shipped:digits", "shipped:mnist-10k")
    assert "기본 제공" in a.format_func(a.value)  # shown by its label in the session's language
