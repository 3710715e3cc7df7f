"""Each refusal a student can cause, under AppTest: the page says why in plain words, shows no server
path, traceback or exception text, and renders names as the characters typed (no markdown/KaTeX).

`rendered(at)` gathers every text the page rendered; `assert_no_internals` scans it.
"""

import re
import time

import pytest
import torch
from helpers import ROOT, shown_texts, wait_for
from streamlit.testing.v1 import AppTest

from explorer import models, training
from vae_core.checkpoint import MAX_CHECKPOINT_BYTES, save_checkpoint
from vae_core.model import VAE, VAEConfig

TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "text", "error", "warning", "info", "success")
SERVER_PATH = re.compile(r"(?<![\w:/.\\])/(?:[\w.~-]+/)+[\w.~-]*")  # /usr/share/..., not T-shirt/top or URLs
INTERNALS = [SERVER_PATH, re.compile(r"Traceback"), re.compile(r"\b\w+(Error|Exception):")]


def rendered(at: AppTest) -> list[str]:
    out = [str(el.value) for kind in TEXT_ELEMENTS for el in getattr(at, kind)]
    out += [str(el.label) for el in at.button] + [str(t.value) for t in at.toast]
    return out + [text for root in (at.main, at.sidebar) for _, text in shown_texts(root)]


def assert_no_internals(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    for text in rendered(at):
        for pattern in INTERNALS:
            assert not pattern.search(text), f"{pattern.pattern!r} in {text!r}"


def app(page: str, **query) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params.update(query)
    at.run()
    return at.switch_page(page).run()


def put(name: str, who: str = "Mina", created: float | None = None) -> None:
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(1, 8, 8), hidden=(8,)))
    meta = {"dataset": {"name": "digits"}, "train": {"beta": 1.0}, "history": [{}], "metrics": {}}
    models.describe(save_checkpoint(models.model_path(name), model, meta), who, created)


def teacher(at: AppTest, key: str) -> AppTest:
    return at.text_input(key="teacher_key_input").set_value(key).run()


def test_names_render_as_typed_on_the_gallery(models_dir):
    put("plain-test", who="a _italic_ __bold__")
    at = app("pages/gallery.py")
    assert_no_internals(at)
    card = next(m.value for m in at.markdown if "italic" in m.value)
    assert r"a \_italic\_ \_\_bold\_\_" in card  # escaped: shows the underscores, no emphasis


def test_an_over_size_file_shows_no_path_and_the_teacher_can_delete_it(models_dir, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_TEACHER_KEY", "s3cret")
    put("fine")
    (models_dir / "huge.safetensors").write_bytes(b"\0" * (MAX_CHECKPOINT_BYTES + 1))
    (models_dir / "broken.safetensors").write_bytes(b"not a checkpoint")
    at = app("pages/gallery.py")
    assert_no_internals(at)
    assert not any(str(models_dir) in t for t in rendered(at))
    assert sum("cannot be read" in w.value for w in at.warning) == 2
    assert not {"use_huge", "use_broken"} & {b.key for b in at.button}
    at = teacher(at, "s3cret")
    at = at.button(key="del_huge").click().run()
    assert_no_internals(at)
    assert not (models_dir / "huge.safetensors").exists() and (models_dir / "fine.safetensors").exists()


def test_the_teacher_reads_usage_and_the_eviction_log(models_dir, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_TEACHER_KEY", "s3cret")
    now = time.time()
    put("old-one", who="Jun", created=now - 100 * 3600)
    size = next(e.bytes for e in models.gallery())
    monkeypatch.setenv("VAE_EXPLORER_QUOTA_MB", str(1.5 * size / 1e6))
    monkeypatch.setenv("VAE_EXPLORER_QUOTA_SHARE", "1")
    put("new-one", created=now)
    assert models.admit("new-one") == ["old-one"]
    at = teacher(app("pages/gallery.py"), "s3cret")
    assert_no_internals(at)
    tables = [t.value.reset_index().to_string() for t in at.table]
    assert any("old-one" in t and "new-one" in t and "Jun" in t for t in tables)  # the log
    assert any("Mina" in t for t in tables)  # usage by student


def test_teacher_key_guesses_are_slowed_after_a_few(models_dir, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_TEACHER_KEY", "s3cret")
    at = app("pages/gallery.py")
    for _ in range(models.FREE_TRIES - 1):
        at = teacher(at, "guess")
        assert "not the teacher key" in at.error[0].value and "wait" not in at.error[0].value
    at = teacher(at, "guess")  # the last free try: the next one waits
    assert "wait" in at.error[0].value
    at = teacher(at, "s3cret")  # while the session waits, even the right key is not checked
    assert "wait" in at.error[0].value and not any(b.key and b.key.startswith("pin_") for b in at.button)
    assert_no_internals(at)


def train_page(**fields) -> AppTest:
    at = app("pages/train.py")
    at = at.text_input(key="trainer_input").set_value(fields.pop("who", "Mina")).run()
    for key, value in fields.items():
        widget = at.text_input(key=key) if key in ("tr_hidden", "tr_name") else at.number_input(key=key)
        widget.set_value(value)
    return at


def test_the_form_refuses_a_model_the_app_could_not_load(models_dir):
    at = train_page(tr_hidden=",".join(["4096"] * 8), tr_name="huge")
    at = at.form_submit_button[0].click().run()
    assert_no_internals(at)
    assert "at most" in at.error[0].value and "64 MiB" in at.error[0].value
    assert not training.active_jobs()


@pytest.mark.parametrize("name", ["$\\sum$_x_", "Digits", "../etc"])
def test_a_refused_model_name_is_echoed_as_plain_text(models_dir, name):
    at = train_page(tr_name=name)
    at = at.form_submit_button[0].click().run()
    assert_no_internals(at)
    error = at.error[0].value
    assert "Not started" in error and "$" not in error.replace("\\$", "")


def test_a_dataset_missing_on_the_server_is_said_without_folders(models_dir):
    at = app("pages/train.py")
    at.selectbox(key="tr_dataset").set_value("mnist").run()
    at = train_page(tr_name="no-data", tr_epochs=1)
    at.selectbox(key="tr_dataset").set_value("mnist")
    at = at.form_submit_button[0].click().run()
    job = training.find(at.query_params["run"])
    job.thread.join(60)
    assert job.status == "failed"
    assert wait_for(lambda: any("not on this server" in e.value for e in at.run().error), 20)
    assert_no_internals(at)
