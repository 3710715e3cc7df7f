"""vae_core's protocols, correct in every setting and reproducible on a shared server: no global random
state, bounded learned variance, the dynamic-binarisation protocol, honest score names, warm-up, exact
digits samples, validated grids, the fast evaluation."""

import re
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch
from helpers import ROOT, SHIPPED

from vae_core.checkpoint import load_checkpoint
from vae_core.data import binarize, encoder_input, eval_pixels, eval_protocol
from vae_core.elbo import elbo_terms, iw_log_likelihood, recon_log_prob, seeded_generator
from vae_core.errors import InputError
from vae_core.evaluate import evaluate
from vae_core.manifold import latent_grid
from vae_core.model import VAE, VAEConfig
from vae_core.pipeline import finish_training
from vae_core.scores import SCORE, likelihood_is_normalised, score_name, score_name_for
from vae_core.train import TrainConfig, train

# ---- no global random state, no global settings -------------------------------------------


def test_library_code_never_seeds_or_configures_torch_globally():
    for path in (ROOT / "vae_core").glob("*.py"):
        text = path.read_text()
        assert not re.search(r"torch\.(cuda\.|random\.)?manual_seed\(", text), path
        assert not re.search(r"torch\.(random\.)?(set_rng_state|seed)\(", text), path
        if path.name != "__main__.py":  # the CLI owns its process and may set TF32 on CUDA
            assert "set_float32_matmul_precision" not in text, path


def test_init_comes_from_the_generator_not_the_global_rng():
    cfg = VAEConfig(input_shape=(1, 4, 4), hidden=(8,))
    before = torch.get_rng_state()
    a = VAE(cfg, generator=seeded_generator(5))
    torch.manual_seed(999)  # a different global state must not matter
    b = VAE(cfg, generator=seeded_generator(5))
    c = VAE(cfg, generator=seeded_generator(6))
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa) and not torch.equal(sa["dec_out.weight"], sc["dec_out.weight"])
    torch.set_rng_state(before)
    # PyTorch's default init distribution: weights within +-1/sqrt(fan_in) (Kaiming-uniform, a = sqrt 5)
    w = VAE(VAEConfig(input_shape=(1, 28, 28), hidden=(256,))).encoder[0].weight
    assert w.abs().max() <= 1 / 28 and w.std() > 0.5 / 28 / np.sqrt(3)


def test_training_and_evaluation_leave_the_global_rng_alone(digits, tmp_path):
    state = torch.get_rng_state()
    model = VAE(VAEConfig(input_shape=digits.image_shape, hidden=(16,)))
    cfg = TrainConfig(epochs=2, batch_size=128, device="cpu", pixels="dynamic", estimator="mc")
    result = train(model, digits, cfg, want_latents=True)
    finish_training(tmp_path / "m.safetensors", result, digits, cfg, eval_k=3)
    iw_log_likelihood(model, digits.x_test[:10], 3)
    elbo_terms(model, digits.x_test[:10])
    assert torch.equal(state, torch.get_rng_state())


def _train_in_thread(digits, out: dict, key: str) -> None:
    model = VAE(VAEConfig(input_shape=digits.image_shape, hidden=(32,)), generator=seeded_generator(3))
    train(model, digits, TrainConfig(epochs=3, batch_size=64, device="cpu", seed=3, pixels="dynamic"))
    out[key] = model.state_dict()


def test_two_trainings_with_one_seed_in_two_threads_are_bit_identical(digits):
    out = {}
    threads = [threading.Thread(target=_train_in_thread, args=(digits, out, k)) for k in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    a, b = out["a"], out["b"]
    assert all(torch.equal(a[k], b[k]) for k in a)


# ---- the learned-variance Gaussian is bounded ---------------------------------------------


def test_learned_variance_has_a_floor_and_a_bounded_likelihood():
    cfg = VAEConfig(input_shape=(1, 4, 4), hidden=(8,), likelihood="gaussian", gaussian_variance="learned")
    model = VAE(cfg)
    with torch.no_grad():
        model.dec_logvar.bias.fill_(-100.0)  # what an unbounded decoder drifts to on constant pixels
    logits, logvar = model.decode_logits(torch.zeros(3, 2))
    floor = 2 * np.log(cfg.gaussian_min_std)
    assert (logvar >= floor - 1e-5).all() and (logvar <= floor + 1e-4).all()
    x = torch.sigmoid(logits)  # the best case: every pixel exactly at the mean
    best = recon_log_prob(model, x, logits.unsqueeze(0), logvar.unsqueeze(0))
    bound = 16 * (-0.5 * np.log(2 * np.pi) - np.log(cfg.gaussian_min_std))
    assert torch.isfinite(best).all() and (best <= bound + 1e-3).all()


@pytest.mark.slow
def test_learned_variance_gaussian_trains_on_digits_without_diverging(tmp_path):
    out = tmp_path / "x.safetensors"
    cmd = "train --dataset digits --likelihood gaussian --gaussian-variance learned --epochs 40 --batch-size 64"
    cmd += " --hidden 256,128 --device cpu --eval-k 0 --warmup-epochs 0"  # no warm-up: the harder case
    r = subprocess.run(
        [sys.executable, "-m", "vae_core", *cmd.split(), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    history = load_checkpoint(out).meta["history"]
    assert len(history) == 40 and all(np.isfinite(h["test"]["elbo"]) for h in history)
    # with the floor, the ELBO is bounded: 64 pixels x (-log sigma_min - log sqrt(2 pi)) = 236 nats at most
    assert history[-1]["test"]["elbo"] < 64 * (np.log(100) - 0.5 * np.log(2 * np.pi))


# ---- dynamic binarisation and honest names ------------------------------------------------


def test_dynamic_binarisation_is_scored_on_a_fixed_bernoulli_draw(digits, tmp_path):
    x = digits.x_test
    d1, d2 = eval_pixels(x, "dynamic"), eval_pixels(x, "dynamic")
    assert torch.equal(d1, d2) and set(d1.unique().tolist()) <= {0.0, 1.0}
    assert not torch.equal(d1, binarize(x, "static"))
    assert abs(d1.mean() - x.mean()) < 0.01  # a draw with the pixels' own probabilities
    model = VAE(VAEConfig(input_shape=digits.image_shape, hidden=(32,)))
    cfg = TrainConfig(epochs=2, batch_size=128, device="cpu", pixels="dynamic")
    result = train(model, digits, cfg)
    path, summary = finish_training(tmp_path / "d.safetensors", result, digits, cfg, eval_k=5)
    assert summary["test_elbo"] == evaluate(model, d1, k=0).elbo
    assert summary["test_elbo"] != evaluate(model, binarize(x, "static"), k=0).elbo
    assert summary["test_pixels"] == eval_protocol("dynamic") and "Bernoulli draw" in summary["test_pixels"]
    assert summary["score_name"] == "IW log p(x)" and summary["normalised"]
    assert result.history[-1]["test"]["elbo"] == pytest.approx(summary["test_elbo"], abs=1.0)


@pytest.mark.parametrize(
    "likelihood,pixels,normalised",
    [("bernoulli", "continuous", False), ("bernoulli", "static", True), ("bernoulli", "dynamic", True)]
    + [("gaussian", p, True) for p in ("continuous", "static")],
)
def test_score_names_say_whether_the_number_is_a_log_likelihood(likelihood, pixels, normalised):
    assert likelihood_is_normalised(likelihood, pixels) is normalised
    name = score_name_for(likelihood, pixels)
    assert (name == SCORE) is (not normalised)
    meta = {"config": {"likelihood": likelihood}, "dataset": {"pixels": pixels}}
    assert score_name(meta) == name


def test_shipped_fashion_model_is_named_a_score():
    assert score_name(load_checkpoint(SHIPPED / "fashion-mnist.safetensors").meta) == SCORE


def test_encoder_input_binarises_for_binarised_models():
    x = torch.tensor([[0.0, 0.3, 0.5, 0.51, 1.0]])
    assert torch.equal(encoder_input(x, "continuous"), x)
    for pixels in ("static", "dynamic"):
        assert encoder_input(x, pixels).tolist() == [[0.0, 0.0, 0.0, 1.0, 1.0]]


# ---- exact digits samples, validated grids --------------------------------------------------


def test_digits_sample_is_stored_exactly_and_old_files_still_load(digits, tmp_path):
    model = VAE(VAEConfig(input_shape=digits.image_shape, hidden=(16,)))
    cfg = TrainConfig(epochs=1, batch_size=128, device="cpu")
    result = train(model, digits, cfg)
    path, _ = finish_training(tmp_path / "d.safetensors", result, digits, cfg, eval_k=0, sample_size=100)
    ckpt = load_checkpoint(path)
    assert ckpt.levels == 16 and torch.equal(ckpt.sample_x(), digits.x_test[:100])  # k/16, not rounded to 8 bits
    shown = ckpt.sample_images  # for display: 0..255
    assert shown.dtype == torch.uint8 and shown.max() > 200
    assert evaluate(ckpt.model, ckpt.sample_x(), k=0).elbo == evaluate(model.cpu(), digits.x_test[:100], k=0).elbo
    old = load_checkpoint(SHIPPED / "digits.safetensors")  # written before levels existed: 8-bit
    assert old.levels == 255 and 0 <= old.sample_x().min() and old.sample_x().max() <= 1


def test_latent_grid_validates_rest():
    z1 = z2 = np.array([-1.0, 1.0])
    assert latent_grid(z1, z2, 4, rest=[0.5, -0.5])[:, 2:].tolist() == [[0.5, -0.5]] * 4
    assert latent_grid(z1, z2, 2, rest=[]).shape == (4, 2)
    for bad in ([0.5], [0.5, 0.5, 0.5], [np.nan, 0.0], ["a", "b"], [[1.0, 2.0], [3.0, 4.0]]):
        with pytest.raises(InputError, match="rest"):
            latent_grid(z1, z2, 4, rest=bad)


# ---- fast evaluation ------------------------------------------------------------------------


def test_bf16_iw_estimate_agrees_with_float32_within_monte_carlo_noise():
    ckpt = load_checkpoint(SHIPPED / "fashion-mnist.safetensors")
    x = ckpt.sample_x()[:200]
    slow = evaluate(ckpt.model, x, k=50, precision="float32")
    fast = evaluate(ckpt.model, x, k=50, precision="bf16")
    assert fast.precision == "bf16" and slow.precision == "float32"
    assert fast.elbo == slow.elbo  # the ELBO is always float32
    # The same draws of z: the difference is bf16 rounding alone, far below the estimate's noise.
    assert abs(fast.iw_ll - slow.iw_ll) < 0.2 * slow.iw_se, (fast.iw_ll, slow.iw_ll, slow.iw_se)


def test_iw_subset_and_standard_error():
    ckpt = load_checkpoint(SHIPPED / "digits.safetensors")
    x = ckpt.sample_x()
    m = evaluate(ckpt.model, x, k=20, iw_images=50)
    assert (m.iw_n, m.n) == (50, len(x)) and m.iw_se > 0
    head = evaluate(ckpt.model, x[:50], k=20)
    assert head.iw_ll == pytest.approx(m.iw_ll, abs=1e-9)  # the first 50, the same draws
    assert m.iw_ll > m.elbo - 3 * m.iw_se
