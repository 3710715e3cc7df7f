"""Batched training (vae_core.batched) against training each model alone, and the sweep CLI."""

import csv
import json
import math

import pytest
import torch

from vae_core import VAE, build_configs, load_checkpoint, load_dataset, train
from vae_core.batched import Member, check_members, parse_sweep, sweepable_settings, train_batched
from vae_core.elbo import seeded_generator
from vae_core.errors import ConfigError

# Float tolerance of the equivalence: the same kernels in a different order of summation (a batched
# product instead of one per model) differ by rounding, which a few hundred Adam steps grow to ~1e-5.
WEIGHT_ATOL = 1e-4
ELBO_ATOL = 1e-3  # nats per image


@pytest.fixture(scope="module")
def digits():
    data = load_dataset("digits")
    # A small slice keeps the quick suite quick: 256 training and 100 test images.
    data.x_train, data.y_train = data.x_train[:256], data.y_train[:256]
    data.x_test, data.y_test = data.x_test[:100], data.y_test[:100]
    return data


def small(**values):
    base = {"hidden": (32, 16), "epochs": 3, "batch_size": 32, "warmup_epochs": 1, "device": "cpu", "cpu_bf16": "off"}
    return Member(*build_configs("digits", {**base, **values}))


def alone(member: Member, data):
    from vae_core.batched import member_data

    model = VAE(member.model, generator=seeded_generator(member.train.seed))
    return model, train(model, member_data(data, member.n_train), member.train)


def assert_same(result, model, reference) -> None:
    assert result.status == "done"
    for (name, a), b in zip(model.state_dict().items(), result.result.model.state_dict().values()):
        assert torch.allclose(a, b, atol=WEIGHT_ATOL, rtol=0), name
    ours, theirs = result.result.history, reference.history
    assert len(ours) == len(theirs)
    for e_ours, e_theirs in zip(ours, theirs):
        for split in ("train", "test"):
            assert math.isclose(e_ours[split]["elbo"], e_theirs[split]["elbo"], abs_tol=ELBO_ATOL)
        assert e_ours["beta"] == e_theirs["beta"] and e_ours["lr"] == e_theirs["lr"]


def test_each_member_equals_training_it_alone(digits):
    members = [small(seed=0, beta=1.0), small(seed=1, beta=0.25, lr=5e-3), small(seed=2, warmup_epochs=0)]
    members += [small(seed=3, pixels="dynamic"), small(seed=4)]
    members[-1].n_train = 100  # fewer steps per epoch than the others: masked out of the rest
    results = train_batched(members, digits)
    for member, result in zip(members, results):
        model, reference = alone(member, digits)
        assert_same(result, model, reference)


# Each sweepable setting, one value away from the default, batched beside a default member.
SWEEP_VALUES = {
    "activation": "tanh",
    "likelihood": "gaussian",
    "gaussian_std": 0.3,
    "gaussian_min_std": 0.05,
    "gaussian_variance": "learned",  # beside likelihood bernoulli: no extra layer, so allowed
    "kind": "autoencoder",
    "epochs": 2,
    "lr": 4e-3,
    "lr_final_frac": 1.0,
    "beta": 2.0,
    "warmup_epochs": 0,
    "estimator": "mc",
    "pixels": "dynamic",
    "seed": 7,
    "n_train": 100,
}


def test_every_sweepable_setting_has_a_test():
    assert set(SWEEP_VALUES) == set(sweepable_settings())


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SWEEP_VALUES))
def test_sweeping_a_setting_matches_training_alone(name, digits):
    value = SWEEP_VALUES[name]
    if name == "n_train":
        varied = small(epochs=2)
        varied.n_train = value
    else:
        varied = small(**{"epochs": 2, name: value})
    members = [small(epochs=2), varied]
    results = train_batched(members, digits)
    for member, result in zip(members, results):
        model, reference = alone(member, digits)
        assert_same(result, model, reference)


@pytest.mark.slow
def test_learned_gaussian_variance_and_odd_batch_match(digits):
    # A batch of 20 draws 40 normals a step (not a multiple of 16): eps is drawn step by step.
    members = [small(likelihood="gaussian", gaussian_variance="learned", batch_size=20, seed=s) for s in (0, 1)]
    for member, result in zip(members, train_batched(members, digits)):
        model, reference = alone(member, digits)
        assert_same(result, model, reference)


def test_a_diverging_member_is_stopped_and_the_others_finish(digits):
    members = [small(seed=0), small(seed=1, lr=1e12), small(seed=2)]
    results = train_batched(members, digits)
    assert results[1].status == "diverged"
    assert results[0].status == results[2].status == "done"
    assert "diverged" in results[1].error and "learning rate" in results[1].error
    assert all(torch.isfinite(v).all() for v in results[1].result.model.state_dict().values())  # last good weights
    for i in (0, 2):
        model, reference = alone(members[i], digits)
        assert_same(results[i], model, reference)


def test_the_callback_stops_one_member(digits):
    members = [small(seed=0), small(seed=1)]
    results = train_batched(members, digits, callback=lambda i, r: "stop" if i == 0 and r.epoch == 1 else None)
    assert results[0].status == "stopped" and len(results[0].result.history) == 1
    assert results[1].status == "done" and len(results[1].result.history) == 3


@pytest.mark.parametrize(
    "values, words",
    [
        ({"hidden": (32, 8)}, "hidden"),
        ({"latent_dim": 3}, "latent_dim"),
        ({"batch_size": 16}, "batch_size"),
        ({"n_samples": 2}, "n_samples"),
        ({"likelihood": "gaussian", "gaussian_variance": "learned"}, "learned Gaussian variance"),
        ({"cpu_bf16": "on"}, "cpu_bf16"),
    ],
)
def test_members_whose_shapes_differ_are_refused(values, words, digits):
    with pytest.raises(ConfigError, match=words):
        check_members([small(), small(**values)], digits)


def test_bf16_members_stay_close_to_float32(digits):
    f32 = train_batched([small(seed=0)], digits)[0].result.history[-1]["test"]["elbo"]
    b16 = train_batched([small(seed=0, cpu_bf16="on")], digits)[0].result.history[-1]["test"]["elbo"]
    assert abs(f32 - b16) < 0.1  # nats per image: bf16 rounding, not a different model


@pytest.mark.parametrize(
    "text, words",
    [
        ("colour=1,2", "unknown setting"),
        ("beta=-1", "beta must be >= 0"),
        ("lr=0", "lr must be > 0"),
        ("hidden=32,16", "changes"),
        ("latent_dim=2,3", "changes"),
        ("batch_size=16", "changes"),
        ("device=cpu", "whole batched job"),
        ("beta=abc", "beta"),
        ("beta=", "no values"),
    ],
)
def test_bad_sweep_values_are_refused(text, words):
    name, _, values = text.partition("=")
    with pytest.raises(ConfigError, match=words):
        parse_sweep({name: values})


def test_parse_sweep_makes_the_grid():
    grid = parse_sweep({"beta": "0.5,1", "seed": "0,1,2"})
    assert len(grid) == 6 and {"beta": 0.5, "seed": 2} in grid


def test_sweep_cli_writes_checkpoints_and_results(tmp_path):
    from vae_core.__main__ import main

    out = tmp_path / "sweep"
    rc = main(
        ["sweep", "--dataset", "digits", "--beta", "0.5,2", "--seeds", "0,1", "--epochs", "1", "--hidden", "16"]
        + ["--eval-k", "5", "--out", str(out), "--device", "cpu"]
    )
    assert rc == 0
    rows = list(csv.DictReader((out / "results.csv").open()))
    table = json.loads((out / "results.json").read_text())
    assert len(rows) == len(table["members"]) == 4
    assert {(float(r["beta"]), int(r["seed"])) for r in rows} == {(0.5, 0), (0.5, 1), (2.0, 0), (2.0, 1)}
    for row in rows:
        assert row["status"] == "done"
        ckpt = load_checkpoint(out / row["checkpoint"])
        assert ckpt.meta["train"]["beta"] == float(row["beta"]) and ckpt.meta["train"]["seed"] == int(row["seed"])
        assert math.isclose(ckpt.meta["metrics"]["test_elbo"], float(row["test_elbo"]), rel_tol=1e-6)
        assert ckpt.meta["history"] and ckpt.meta["dataset"]["name"] == "digits"


def test_sweep_cli_refuses_a_bad_value_with_a_message(tmp_path, capsys):
    from vae_core.__main__ import main

    rc = main(["sweep", "--dataset", "digits", "--beta", "0.5,-1", "--out", str(tmp_path / "x")])
    assert rc == 2
    assert "beta must be >= 0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
