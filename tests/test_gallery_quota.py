"""The gallery cannot be emptied by one save, and names cannot impersonate one another.

The attack from the field: with a 1 MB quota and 20 models, one save of a 2.4 MB model deleted
every unpinned model, two of them saved seconds earlier. Now a save takes room only from models
older than the grace period, at most evict_max() of them and only what it needs, within its
student's share, or it is refused and nothing else is deleted.
"""

import json
import time

import pytest
import torch

from explorer import models
from explorer.plain import plain, public
from vae_core.checkpoint import MAX_CHECKPOINT_BYTES, loadable, save_checkpoint
from vae_core.errors import ConfigError
from vae_core.model import VAE, VAEConfig

HOUR = 3600.0


def put(name: str, created: float, hidden: int = 8, who: str = "Mina", owner: str | None = None) -> int:
    """A real tiny checkpoint saved and described as the app does; returns its gallery bytes."""
    torch.manual_seed(0)
    model = VAE(VAEConfig(input_shape=(1, 8, 8), hidden=(hidden,)))
    meta = {"dataset": {"name": "digits"}, "train": {"beta": 1.0}, "history": [{}], "metrics": {}}
    path = save_checkpoint(models.model_path(name), model, meta)
    models.describe(path, who, created, owner=owner)
    return next(e.bytes for e in models.gallery() if e.name == name)


def class_of_20(now: float) -> tuple[int, list[str], list[str]]:
    """20 models: 10 saved in the last hours (within the grace period), 10 saved days ago."""
    young = [f"young-{i:02d}" for i in range(10)]
    old = [f"old-{i:02d}" for i in range(10)]
    size = 0
    for i, name in enumerate(old):
        size = put(name, now - (72 - i) * HOUR)
    for i, name in enumerate(young):
        put(name, now - (10 - i) * 60)
    return size, young, old


def test_one_large_save_loses_no_model_younger_than_the_grace_period(monkeypatch):
    now = time.time()
    size, young, old = class_of_20(now)
    monkeypatch.setenv("VAE_EXPLORER_QUOTA_MB", str(20.5 * size / 1e6))  # full
    big = put("big", now, hidden=512)  # ~ 40 small models' worth: the issue's 512,512 save
    with pytest.raises(models.QuotaFull) as refused:
        models.admit("big", now=now)
    names = {e.name for e in models.gallery()}
    assert names == set(young) | set(old)  # nothing deleted, and the big model was not kept
    assert big > 3 * size and "Nothing was deleted" in refused.value.text[0] and refused.value.text[1]
    assert models.evictions() == []


def test_the_attack_through_the_app_a_large_digits_save_is_refused_and_deletes_nothing(monkeypatch):
    # the scenario end to end: the Train page's own path (train, score, save, admit)
    from explorer import training
    from vae_core.train import TrainConfig

    now = time.time()
    size, young, old = class_of_20(now)
    monkeypatch.setenv("VAE_EXPLORER_QUOTA_MB", str(20.5 * size / 1e6))
    cfg = TrainConfig(epochs=1, batch_size=64, device="cpu")
    job = training.submit(training.TrainingJob("digits", {"hidden": (512, 512)}, cfg, "big-save", "Jun"))
    job.thread.join(120)
    assert job.status == "failed" and job.message[0].startswith("Not saved") and job.message[1]
    assert {e.name for e in models.gallery()} == set(young) | set(old)


def test_a_save_takes_only_the_room_it_needs_from_the_oldest_models_past_the_grace_period(monkeypatch):
    now = time.time()
    size, young, old = class_of_20(now)
    monkeypatch.setenv("VAE_EXPLORER_QUOTA_MB", str(20.5 * size / 1e6))
    put("new", now)  # one more small model: one old model must go
    models.set_pin("old-00")  # the oldest, but pinned
    assert models.admit("new", now=now) == ["old-01"]
    names = {e.name for e in models.gallery()}
    assert names == set(young) | set(old) - {"old-01"} | {"new"}
    log = models.evictions()
    assert [(r["name"], r["for"], r["who"]) for r in log] == [("old-01", "new", "Mina")]


def test_at_most_evict_max_models_go_for_one_save(monkeypatch):
    now = time.time()
    size, _, old = class_of_20(now)
    monkeypatch.setenv("VAE_EXPLORER_QUOTA_MB", str(20.5 * size / 1e6))
    monkeypatch.setenv("VAE_EXPLORER_EVICT_MAX", "2")
    put("four", now, hidden=32)  # needs 3 small models' room
    with pytest.raises(models.QuotaFull, match="more than 2 models"):
        models.admit("four", now=now)
    assert len(models.gallery()) == 20
    monkeypatch.setenv("VAE_EXPLORER_GRACE_HOURS", "0")  # the teacher may shorten the grace period
    put("four", now, hidden=16)  # needs 2
    assert models.admit("four", now=now) == ["old-00", "old-01"]


def test_one_students_share_of_the_quota(monkeypatch):
    now = time.time()
    size = put("a1", now - 100 * HOUR, owner="a" * 64)
    put("b1", now - 100 * HOUR, owner="b" * 64)
    monkeypatch.setenv("VAE_EXPLORER_QUOTA_MB", str(10.5 * size / 1e6))
    monkeypatch.setenv("VAE_EXPLORER_QUOTA_SHARE", "0.2")  # two models each
    put("a2", now, owner="a" * 64)
    assert models.admit("a2", now=now) == []
    put("a3", now, owner="a" * 64)
    with pytest.raises(models.QuotaFull, match="share"):
        models.admit("a3", now=now)
    put("b2", now, owner="b" * 64)  # another student is not held back by a's models
    assert models.admit("b2", now=now) == []
    assert {e.name for e in models.gallery()} == {"a1", "a2", "b1", "b2"}
    use = models.usage()
    assert sorted((n, b) for _, n, b in use.by_student.values()) == [(2, 2 * size)] * 2


def test_limits_come_from_the_environment_and_bad_values_are_explained(monkeypatch):
    assert (models.grace_seconds(), models.evict_max()) == (24 * HOUR, 3)
    assert models.share_bytes() == int(0.25 * models.quota_bytes())
    for var, bad in [("VAE_EXPLORER_GRACE_HOURS", "-1"), ("VAE_EXPLORER_EVICT_MAX", "x")]:
        monkeypatch.setenv(var, bad)
        with pytest.raises(ConfigError, match=var):
            models.grace_seconds() if "GRACE" in var else models.evict_max()
        monkeypatch.delenv(var)
    monkeypatch.setenv("VAE_EXPLORER_QUOTA_SHARE", "2")
    with pytest.raises(ConfigError, match="fraction"):
        models.share_bytes()


def test_the_form_refuses_a_model_the_app_could_not_load_back():
    digits = dict(input_shape=(1, 8, 8))
    assert models.size_refusal(VAEConfig(**digits, hidden=(512, 512))) is None
    en, ko = models.size_refusal(VAEConfig(**digits, hidden=(4096,) * 8))
    allowed = en.split("at most ")[-1].rstrip(".")
    widths = tuple(int(w) for w in allowed.split(","))
    assert len(widths) == 8 and allowed in ko and "64 MiB" in en
    assert loadable(VAEConfig(**digits, hidden=widths), models.SAMPLE_IMAGES)
    assert not loadable(VAEConfig(**digits, hidden=tuple(w + 1 for w in widths)), models.SAMPLE_IMAGES)


def test_an_over_size_file_is_listed_for_the_teacher_to_delete(models_dir):
    put("fine", time.time())
    (models_dir / "huge.safetensors").write_bytes(b"\0" * (MAX_CHECKPOINT_BYTES + 1))
    over = models.usage().unreadable
    assert [e.name for e in over] == ["huge"] and models.too_big(over[0])
    models.delete_model("huge")
    assert [e.name for e in models.gallery()] == ["fine"]


# ---- names ----


@pytest.mark.parametrize(
    "first, second",
    [("Mina", "Ｍｉｎａ"), ("Case-Test", "case-test"), ("mina", "MINA")],
)
def test_model_names_are_unique_ignoring_case_and_width(first, second):
    put(first, time.time())
    assert models.name_taken(second)
    assert models.checked_name("Ｍｉｎａ") == "Mina"


@pytest.mark.parametrize("name", ["Digits", "DIGITS", "ｄｉｇｉｔｓ", "Fashion-MNIST"])
def test_no_model_may_take_a_shipped_models_name_in_any_case(name):
    with pytest.raises(ConfigError, match="shipped"):
        models.checked_name(name)


def test_display_names_are_normalised():
    assert models.checked_trainer("Ｍｉｎａ") == "Mina"


def test_plain_text_keeps_markdown_and_katex_from_rendering():
    assert plain("_italic_ __bold__") == r"\_italic\_ \_\_bold\_\_"
    assert plain("$x$ :red[y] `z`") == r"\$x\$ \:red\[y\] \`z\`"
    assert plain("- a\nb") == r"\- a b"
    assert plain("mina-digits") == "mina-digits"


def test_server_paths_leave_messages_but_file_names_stay():
    msg = "/srv/app/models/huge.safetensors: too big; looked in /usr/share/datasets/mnist, see https://x.org/a"
    assert public(msg) == "huge.safetensors: too big; looked in mnist, see https://x.org/a"


def test_teacher_key_tries_wait_longer_after_a_few_failures():
    waits = [models.key_wait_seconds(n) for n in range(10)]
    assert waits[: models.FREE_TRIES] == [0.0] * models.FREE_TRIES
    assert waits[models.FREE_TRIES :] == sorted(waits[models.FREE_TRIES :]) and waits[-1] <= models.MAX_WAIT_SECONDS
    assert waits[models.FREE_TRIES] > 0


def test_the_eviction_log_survives_a_damaged_line(models_dir):
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / models.EVICTION_LOG).write_text('{"name": "a"}\nnot json\n' + json.dumps({"name": "b"}) + "\n")
    assert [r["name"] for r in models.evictions()] == ["b", "a"]
