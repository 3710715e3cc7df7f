"""The class gallery: the shared models folder (quota, pin, teacher key), training runs that outlive a
tab and are listed there, and the rest of what a class shares on Home (presenter mode, the join panel).
Logic under AppTest and plain calls; the real-browser side is in tests/test_gallery_browser.py."""

import hashlib
import os
import shutil
from pathlib import Path

import pytest
import torch
from helpers import ROOT, SHIPPED, picker, shown_texts, untranslated, wait_for
from streamlit.testing.v1 import AppTest

from explorer import join, models, training
from vae_core.checkpoint import save_checkpoint
from vae_core.errors import ConfigError
from vae_core.model import VAE, VAEConfig
from vae_core.train import TrainConfig

# ---- the shared models folder ----


def put_model(name: str, who: str = "Mina", created: float | None = None, hidden: int = 8, beta: float = 1.0) -> Path:
    """A real (tiny, untrained) checkpoint saved in the gallery the way the app saves one."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(1, 8, 8), hidden=(hidden,)))
    meta = {
        "dataset": {"name": "digits"},
        "train": {"beta": beta},
        "history": [{}, {}],
        "metrics": {"test_elbo": -31.5},
    }
    path = save_checkpoint(models.model_path(name), model, meta)
    models.describe(path, who, created)
    return path


def shipped_digest() -> str:
    h = hashlib.sha256()
    for f in sorted(SHIPPED.glob("*")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def test_models_dir_comes_from_the_environment_and_tests_never_use_the_repository(models_dir):
    assert models.models_dir() == models_dir and models_dir != ROOT / "models"
    assert models.model_path("abc").parent == models_dir.resolve()


@pytest.mark.parametrize("who", ["Mina", "김민아", "Jean-Luc O'Neil", "A", "학생 7"])
def test_trainer_names_of_any_script_are_accepted(who):
    assert models.checked_trainer(f"  {who} ") == who


@pytest.mark.parametrize("who", ["", "   ", "../etc", "<script>", "a" * 31, "-lead", "zero\u200bwidth", "x/y", "nul\0"])
def test_bad_trainer_names_are_refused_with_a_reason(who):
    with pytest.raises(ConfigError, match="display name"):
        models.checked_trainer(who)


def test_gallery_lists_models_newest_first_with_their_description(models_dir):
    put_model("older", who="Mina", created=1000.0)
    put_model("newer", who="민준", created=2000.0, beta=4.0)
    entries = models.gallery()
    assert [e.name for e in entries] == ["newer", "older"]
    e = entries[0]
    assert (e.who, e.dataset, e.beta, e.epochs, e.test_elbo) == ("민준", "digits", 4.0, 2, -31.5)
    assert e.bytes == sum(f.stat().st_size for f in models_dir.glob("newer.*"))
    assert models.name_taken("newer") and not models.name_taken("other")


def test_quota_removes_the_oldest_unpinned_models_first_and_never_shipped_ones(models_dir, monkeypatch):
    before = shipped_digest()
    for i in range(6):
        put_model(f"m{i}", created=1000.0 + i)  # all far older than the grace period
    size = models.gallery()[0].bytes
    models.set_pin("m0")  # the oldest, but pinned
    monkeypatch.setenv("VAE_EXPLORER_QUOTA_MB", str((3 * size + size // 2) / 1e6))  # room for 3
    removed = models.admit("m5")  # the new one: only what it needs goes, at most evict_max()
    assert removed == ["m1", "m2", "m3"]
    assert sorted(e.name for e in models.gallery()) == ["m0", "m4", "m5"]
    assert sum(e.bytes for e in models.gallery()) <= 3 * size + size // 2
    assert shipped_digest() == before
    assert models.pinned() == "m0"


def test_quota_comes_from_the_environment_and_bad_values_are_explained(monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_QUOTA_MB", "2.5")
    assert models.quota_bytes() == 2_500_000
    monkeypatch.delenv("VAE_EXPLORER_QUOTA_MB")
    assert models.quota_bytes() == 500_000_000
    for bad in ("lots", "-1", "0"):
        monkeypatch.setenv("VAE_EXPLORER_QUOTA_MB", bad)
        with pytest.raises(ConfigError, match="VAE_EXPLORER_QUOTA_MB"):
            models.quota_bytes()


def test_pin_is_written_atomically_and_refuses_unknown_models(models_dir):
    put_model("mine")
    models.set_pin("mine")
    assert models.pinned() == "mine" and not list(models_dir.glob(".*.tmp"))
    with pytest.raises(ConfigError, match="no model named"):
        models.set_pin("ghost")
    models.set_pin("digits")  # a shipped model can be pinned too
    assert models.pinned() == "digits"
    models.set_pin("mine")
    models.delete_model("mine")  # deleting the pinned model unpins it
    assert models.pinned() is None and not list(models_dir.glob("mine.*"))
    with pytest.raises(ConfigError, match="shipped"):
        models.delete_model("digits")
    assert (SHIPPED / "digits.safetensors").is_file()


def test_teacher_key_must_be_set_and_match():
    assert not models.teacher_key_matches("anything", None)
    assert not models.teacher_key_matches("", "")
    assert not models.teacher_key_matches("wrong", "s3cret")
    assert models.teacher_key_matches("s3cret", "s3cret")


# ---- pages under AppTest ----


def app(page: str = "app.py", owner_secret: str | None = None, **query) -> AppTest:
    """A new session (a new tab); `owner_secret`: the browser secret its cookie would carry (the same browser)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if owner_secret is not None:
        at.session_state["owner_secret"] = owner_secret
    at.query_params.update(query)
    at.run()
    return at.switch_page(page).run() if page != "app.py" else at


def no_errors(at):
    assert not at.exception, [e.value for e in at.exception]


def buttons(at) -> set[str]:
    return {b.key for b in at.button if b.key}


def test_a_pinned_model_is_the_default_for_new_visitors_only(models_dir):
    put_model("class-pick")
    earlier = app()
    assert earlier.session_state["active_model"].name == "fashion-mnist"
    models.set_pin("class-pick")
    fresh = app("pages/manifold.py")
    no_errors(fresh)
    assert fresh.session_state["active_model"].id == "class:class-pick"
    assert earlier.run().session_state["active_model"].name == "fashion-mnist"  # a choice already made stays


def test_gallery_without_teacher_key_has_no_teacher_actions(models_dir, monkeypatch):
    monkeypatch.delenv("VAE_EXPLORER_TEACHER_KEY", raising=False)
    put_model("a")
    at = app("pages/gallery.py")
    no_errors(at)
    assert {"use_a", "dl_a"} <= {*buttons(at), *(d.key for d in at.get("download_button"))}
    assert not {k for k in buttons(at) if k.startswith(("pin_", "del_", "unpin_"))}
    assert not at.text_input  # nothing to type a key into
    assert any("VAE_EXPLORER_TEACHER_KEY" in c.value for c in at.caption)


def test_gallery_with_teacher_key_pins_and_deletes(models_dir, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_TEACHER_KEY", "s3cret")
    put_model("a", created=1.0)
    put_model("b", created=2.0)
    at = app("pages/gallery.py")
    at = at.text_input(key="teacher_key_input").set_value("guess").run()
    no_errors(at)
    assert "not the teacher key" in at.error[0].value
    assert not {k for k in buttons(at) if k.startswith(("pin_", "del_"))}
    at = at.text_input(key="teacher_key_input").set_value("s3cret").run()
    assert {"pin_a", "pin_b", "del_a", "del_b"} <= buttons(at)
    at = at.button(key="pin_a").click().run()
    assert models.pinned() == "a" and "unpin_a" in buttons(at)
    at = at.button(key="del_b").click().run()
    no_errors(at)
    assert [e.name for e in models.gallery()] == ["a"] and not list(models_dir.glob("b.*"))
    assert "use_b" not in buttons(at)


def test_gallery_make_active_and_korean_mode(models_dir, monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_TEACHER_KEY", "s3cret")
    put_model("b")
    at = app("pages/gallery.py", lang="ko")
    at = at.text_input(key="teacher_key_input").set_value("s3cret").run()
    at = at.button(key="use_b").click().run()
    no_errors(at)
    assert at.session_state["active_model"].id == "class:b"
    shown = [t for root in (at.main, at.sidebar) for t in shown_texts(root)]
    assert not [t for t in shown if untranslated(t[1])], shown
    assert any("우리 반 갤러리" in t for _, t in shown)


def test_presenter_mode_from_the_url_and_the_toggle():
    at = app("pages/manifold.py", present="1")
    no_errors(at)
    css = [h.proto.body for h in at.get("html") if "font-size" in h.proto.body]
    assert css and "html { font-size: 22px; }" in css[0]
    at = app("pages/manifold.py")
    assert not [h for h in at.get("html") if "font-size: 22px" in h.proto.body]
    at = at.toggle(key="present_switch").set_value(True).run()
    # The address follows in the browser (explorer/links.py writes it; tests/test_links_browser.py checks it).
    assert at.session_state["present"] is True
    assert [h for h in at.get("html") if "font-size: 22px" in h.proto.body]


def test_presenting_is_what_pages_ask(monkeypatch):
    from explorer import session

    at = app("pages/manifold.py", present="1")
    assert at.session_state[session.PRESENT.name] is True


# ---- joining ----


def test_share_url_uses_the_lan_address_when_the_browser_is_on_localhost(monkeypatch):
    monkeypatch.delenv("VAE_EXPLORER_PUBLIC_URL", raising=False)
    assert join.share_url("http://localhost:8501/gallery?x=1", "192.168.1.20") == "http://192.168.1.20:8501/"
    assert join.share_url("https://127.0.0.1:8443/", "10.0.0.5") == "https://10.0.0.5:8443/"
    assert join.share_url("http://192.168.1.20:8501/walk", None) == "http://192.168.1.20:8501/"
    assert join.share_url("http://vae.school.kr/", None) == "http://vae.school.kr/"
    assert join.share_url("http://localhost:8501/", None) is None  # offline: nothing students could reach
    assert join.share_url(None, "10.0.0.5", 8600) == "http://10.0.0.5:8600/"
    monkeypatch.setenv("VAE_EXPLORER_PUBLIC_URL", "https://class.example/")
    assert join.share_url("http://localhost:8501/", "10.0.0.5") == "https://class.example/"


def test_lan_address_is_a_non_loopback_ipv4_or_none():
    ip = join.lan_address()
    assert ip is None or (len(ip.split(".")) == 4 and not ip.startswith("127."))


def test_qr_code_is_a_black_and_white_png_of_the_symbol():
    from io import BytesIO

    import numpy as np
    import segno
    from PIL import Image

    url = "http://192.168.1.20:8501/"
    img = np.asarray(Image.open(BytesIO(join.qr_png(url, scale=10))).convert("L"))
    n = segno.make(url, error="m").symbol_size(scale=10, border=4)[0]
    assert img.shape == (n, n) and set(np.unique(img)) == {0, 255}
    assert (img[:40] == 255).all()  # the quiet zone (4 modules) is white
    matrix = np.array(segno.make(url, error="m").matrix, dtype=bool)
    assert (img[40:-40:10, 40:-40:10] == 0).tolist() == matrix.tolist()  # module for module


def test_join_panel_shows_the_address_and_code(monkeypatch):
    monkeypatch.setenv("VAE_EXPLORER_PUBLIC_URL", "http://10.1.2.3:8501/")
    at = app()
    no_errors(at)
    assert any("http://10.1.2.3:8501/" in m.value for m in at.markdown)  # Home's panel
    assert len(at.image) == 2  # its QR code, and the model's manifold
    at = app("pages/manifold.py")
    assert not any("http://10.1.2.3:8501/" in m.value for m in at.markdown)
    at = at.button(key="share_open").click().run()  # the sidebar's button opens it over any page
    no_errors(at)
    assert any("http://10.1.2.3:8501/" in m.value for m in at.markdown)


# ---- training runs that outlive a tab ----


def test_a_reloaded_train_page_finds_its_run_and_the_gallery_lists_it(models_dir):
    at = app("pages/train.py")
    at = at.text_input(key="trainer_input").set_value("Mina").run()
    at.number_input(key="tr_epochs").set_value(2)
    at.text_input(key="tr_hidden").set_value("32")
    at.text_input(key="tr_name").set_value("mina-digits")
    at = at.form_submit_button[0].click().run()
    no_errors(at)
    run_id = at.query_params["run"]
    secret = at.session_state["owner_secret"]
    reloaded = app("pages/train.py", owner_secret=secret, run=run_id)  # a new session of the same browser: a reload
    assert reloaded.session_state["train_run"] == run_id and reloaded.session_state["trainer"] == "Mina"
    other = app("pages/train.py", run=run_id)  # another browser with the link watches; its name is not taken over
    assert other.session_state["train_run"] == run_id and "trainer" not in other.session_state
    job = training.find(run_id)
    job.thread.join(120)
    assert job.status == "done", job.message
    reloaded = reloaded.run()
    no_errors(reloaded)
    assert any("mina-digits" in s.value for s in reloaded.success)
    assert reloaded.session_state["active_model"].id == "class:mina-digits"
    gallery = app("pages/gallery.py")
    assert gallery.subheader[0].value.startswith("mina-digits") and any("Mina" in m.value for m in gallery.markdown)
    same_name = app("pages/train.py")  # the name is the class's now: a second model cannot take it
    same_name = same_name.text_input(key="trainer_input").set_value("Jun").run()
    same_name.text_input(key="tr_name").set_value("mina-digits")
    same_name = same_name.form_submit_button[0].click().run()
    assert "already exists" in same_name.error[0].value


def test_runs_wait_their_turn_with_place_and_estimated_wait(models_dir, monkeypatch):
    monkeypatch.setattr(training, "SLOTS", training.LocalSlots(1))
    cfg = dict(batch_size=64, device="cpu")
    first = training.submit(training.TrainingJob("digits", {"hidden": (32,)}, TrainConfig(epochs=40, **cfg), "q1", "A"))
    second = training.submit(training.TrainingJob("digits", {"hidden": (32,)}, TrainConfig(epochs=1, **cfg), "q2", "B"))
    third = training.submit(training.TrainingJob("digits", {"hidden": (32,)}, TrainConfig(epochs=1, **cfg), "q3", "C"))
    try:
        assert wait_for(lambda: len(first.history) >= 2 or not first.running, timeout=60)
        assert first.running, first.message  # two epochs of 40 done, the others still queued behind it
        assert (second.status, third.status) == ("queued", "queued")
        assert (first.place_in_queue(), second.place_in_queue(), third.place_in_queue()) == (0, 1, 2)
        w2, w3 = second.estimated_wait(), third.estimated_wait()
        assert w2 is not None and 0 < w2 <= first.remaining_seconds() + 1e-6
        assert w3 is not None and w3 > w2  # the third waits for the first and then the second
        page = app("pages/train.py", run=second.run_id)
        assert any("number 1 in the queue" in i.value for i in page.info)
    finally:
        first.request_stop()
        for job in (first, second, third):
            job.thread.join(120)
    assert [j.status for j in (first, second, third)] == ["done", "done", "done"]


def test_the_menus_listing_follows_saves_and_deletes(models_dir):
    """class_models() is reused while the folder is unchanged, and sees a new or deleted model at once."""
    models_dir.mkdir(parents=True, exist_ok=True)
    assert models.class_models() == []
    src = ROOT / "checkpoints" / "digits.safetensors"
    for name in ("first", "second"):
        shutil.copy(src, models_dir / f"{name}.safetensors.tmp")
        os.replace(models_dir / f"{name}.safetensors.tmp", models_dir / f"{name}.safetensors")  # as atomic_write does
        models.describe(models_dir / f"{name}.safetensors", "Ada")
        assert name in {r.name for r in models.class_models()}
    models.delete_model("first")
    assert {r.name for r in models.class_models()} == {"second"}


def test_the_picker_keeps_a_model_saved_a_moment_ago_even_before_the_listing_has_it(models_dir, monkeypatch):
    """A model just trained is active at once; a listing that does not have it yet must not unseat it."""
    models_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "checkpoints" / "digits.safetensors", models_dir / "just-saved.safetensors")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at.session_state["active_model"] = models.ModelRef(
        "class", "just-saved", str(models_dir / "just-saved.safetensors")
    )
    monkeypatch.setattr(models, "class_models", lambda: [])  # the listing lags behind the save
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["active_model"].name == "just-saved"
    assert any("just-saved" in s.value for s in at.subheader), [s.value for s in at.subheader]
    # The picker offers it: a browser handed a value that is not among the options puts the first
    # option back, which would make another model active.
    box = picker(at)
    assert box.value == "class:just-saved" and any(o.startswith("just-saved") for o in box.options)
