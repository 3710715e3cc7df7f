"""Declarative settings: the config fields validate themselves, and the CLI and the Train form
are generated from the same fields and start from the same per-dataset defaults."""

import argparse
import math

import pytest
from helpers import ROOT

from explorer.settings_form import KO, PREFIX
from vae_core.__main__ import _parser
from vae_core.data import load_dataset
from vae_core.datasets import DATASETS
from vae_core.errors import ConfigError
from vae_core.fields import MAX_HIDDEN, specs
from vae_core.model import VAEConfig, parse_hidden
from vae_core.settings import build_configs, defaults_for, user_settings, values_from_args
from vae_core.train import TrainConfig

# The train command's options that are not model or training settings (where data and results go).
RUN_OPTIONS = {"help", "dataset", "out", "data_dir", "eval_k", "eval_n", "full_eval", "sample_size"}


def train_subparser() -> argparse.ArgumentParser:
    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def test_setting_names_are_unique_across_configs_and_documented():
    model, train = set(specs(VAEConfig)), set(specs(TrainConfig))
    assert not model & train  # one namespace for the CLI and the form
    for name, s in user_settings().items():
        assert s.spec.label and len(s.spec.help) > 10, name
        assert name in KO and all(KO[name]), f"{name} has no Korean label/help in explorer/settings_form.py"
    assert set(KO) == set(user_settings())  # nothing stale either


def test_the_cli_exposes_every_setting_once():
    dests = {a.dest for a in train_subparser()._actions}
    assert set(user_settings()) <= dests
    assert "input_shape" not in dests  # taken from the data
    flags = [f for a in train_subparser()._actions for f in a.option_strings]
    assert len(flags) == len(set(flags))
    assert "--samples" in flags and "--no-cuda-graph" in flags  # the flags of earlier versions still work


@pytest.fixture
def train_page(models_dir):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at = at.switch_page("pages/train.py").run()
    at = at.text_input(key="trainer_input").set_value("Mina").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_train_form_exposes_the_same_settings_as_the_cli(train_page):
    at = train_page
    widgets = [*at.number_input, *at.text_input, *at.selectbox, *at.checkbox]
    form_keys = {w.key[len(PREFIX) :] for w in widgets if w.key and w.key.startswith(PREFIX)}
    cli = {a.dest for a in train_subparser()._actions} - RUN_OPTIONS
    assert form_keys - {"dataset", "name"} == cli == set(user_settings())
    # and the form starts at the dataset's defaults, the same the CLI uses
    digits = defaults_for("digits")
    assert at.number_input(key="tr_epochs").value == digits["epochs"] == 30
    assert at.text_input(key="tr_hidden").value == "256,128"


def test_cli_and_api_use_the_dataset_defaults_and_given_values_win():
    a = train_subparser().parse_args(["--dataset", "digits", "--out", "x.safetensors", "--lr", "0.01"])
    model, cfg = build_configs("digits", values_from_args(a))
    assert (cfg.epochs, cfg.batch_size, cfg.warmup_epochs, cfg.lr) == (30, 32, 10, 0.01)
    assert model.hidden == (256, 128) and model.input_shape == (1, 8, 8)
    a = train_subparser().parse_args(["--dataset", "fashion-mnist", "--out", "x", "--hidden", "64", "--no-cuda-graph"])
    model, cfg = build_configs("fashion-mnist", values_from_args(a))
    assert model.hidden == (64,) and model.input_shape == (1, 28, 28) and cfg.cuda_graph is False
    with pytest.raises(ConfigError, match="unknown settings"):
        build_configs("digits", {"dropout": 0.1})
    with pytest.raises(ConfigError, match="unknown dataset"):
        build_configs("cifar")


def _bad_values(s):
    """Values each setting must refuse, derived from its own metadata."""
    if s.spec.choices is not None:
        yield "not-a-choice"
    if s.kind == "bool":
        yield "yes"
    if s.kind in ("int", "float"):
        yield "3"  # a string is not a number
        if s.spec.ge is not None:
            yield type(s.default)(s.spec.ge - 1)
        if s.spec.gt is not None:
            yield type(s.default)(s.spec.gt)
        if s.spec.le is not None:
            yield type(s.default)(s.spec.le * 2 + 1)
    if s.kind == "float":
        yield math.nan
    if s.kind == "int":
        yield 1.5
    if s.kind == "ints":
        yield ()
        yield (0,)
        yield "1,x"


@pytest.mark.parametrize("name", sorted(user_settings()))
def test_every_setting_refuses_what_its_metadata_forbids(name):
    s = user_settings()[name]
    assert s.check(s.default) == s.default
    for bad in _bad_values(s):
        with pytest.raises(ConfigError, match=name):
            build_configs("digits", {name: bad})


def test_one_hidden_parser_with_one_cap():
    assert parse_hidden(" 512, 256 ") == (512, 256)
    assert parse_hidden(str(MAX_HIDDEN)) == (MAX_HIDDEN,)
    for bad in (f"{MAX_HIDDEN + 1}", "0", "", "a,b", "1,2,3,4,5,6,7,8,9"):
        with pytest.raises(ConfigError, match="hidden"):
            parse_hidden(bad)
    with pytest.raises(ConfigError):
        VAEConfig(hidden=(MAX_HIDDEN + 1,))
    with pytest.raises(SystemExit):  # the CLI refuses it with argparse's usage message
        train_subparser().parse_args(["--dataset", "digits", "--out", "x", "--hidden", str(MAX_HIDDEN + 1)])


def test_the_form_refuses_a_hidden_size_over_the_cap(train_page):
    at = train_page
    at.text_input(key="tr_hidden").set_value(f"{MAX_HIDDEN + 1},8")
    at = at.form_submit_button[0].click().run()
    assert "train_run" not in at.session_state
    assert "hidden" in at.error[0].value and str(MAX_HIDDEN) in at.error[0].value


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_registered_dataset_has_valid_defaults(name):
    info = DATASETS[name]
    model, cfg = build_configs(name)
    assert model.input_shape == info.image_shape and len(info.class_names) in (1, 10)  # Frey Face: one
    assert 0 < info.content_fit <= 1 and info.levels in (16, 255) and info.n_train > info.n_test > 0


def test_the_digits_loader_agrees_with_its_registry_entry():
    info, data = DATASETS["digits"], load_dataset("digits")
    assert data.image_shape == info.image_shape and len(data.x_train) == info.n_train
    assert len(data.x_test) == info.n_test and data.class_names == list(info.class_names)
    levels = data.x_train * info.levels
    assert (levels == levels.round()).all()  # pixel values are exactly k / levels
