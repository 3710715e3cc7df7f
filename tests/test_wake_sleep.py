"""Wake-sleep and the paper's protocol: updates against a hand computation, both algorithms learn."""

from __future__ import annotations

import math

import pytest
import torch

from vae_core.elbo import seeded_generator
from vae_core.model import VAE, VAEConfig
from vae_core.paper import Protocol, eval_points, train_curve
from vae_core.wake_sleep import dream, sleep_loss, wake_loss, wake_sleep_loss

# A network small enough to differentiate by hand: one pixel, one tanh unit, one latent dimension.
TINY = VAEConfig(input_shape=(1, 1, 1), hidden=(1,), latent_dim=1, activation="tanh")
WEIGHTS = {  # name -> value; enc_out maps h to (mu, logvar)
    "encoder.0.weight": [[0.7]],
    "encoder.0.bias": [-0.2],
    "enc_out.weight": [[0.9], [-0.4]],
    "enc_out.bias": [0.1, 0.3],
    "decoder.0.weight": [[1.3]],
    "decoder.0.bias": [0.2],
    "dec_out.weight": [[-0.8]],
    "dec_out.bias": [0.5],
}


def tiny_model() -> VAE:
    model = VAE(TINY)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.tensor(WEIGHTS[name]))
    return model


def sigmoid(a: float) -> float:
    return 1 / (1 + math.exp(-a))


def hand_gradients(x_wake: float, z_wake: float, z_dream: float, x_dream: float) -> dict[str, list]:
    """d(loss)/d(weight) of -log p(x_wake|z_wake) - log q(z_dream|x_dream), by the chain rule."""
    w = {k: torch.tensor(v).flatten().tolist() for k, v in WEIGHTS.items()}
    # Wake: decoder h = tanh(a z + b), logit = c h + d, log p(x|z) = x logit - log(1 + e^logit).
    a, b, c, d = w["decoder.0.weight"][0], w["decoder.0.bias"][0], w["dec_out.weight"][0], w["dec_out.bias"][0]
    h = math.tanh(a * z_wake + b)
    dl = x_wake - sigmoid(c * h + d)  # d log p / d logit
    dh = dl * c * (1 - h * h)
    grads = {
        "dec_out.weight": [[-dl * h]],
        "dec_out.bias": [-dl],
        "decoder.0.weight": [[-dh * z_wake]],
        "decoder.0.bias": [-dh],
    }
    # Sleep: encoder u = tanh(e x + f), mu = g1 u + k1, logvar = g2 u + k2, log q = log N(z; mu, e^logvar).
    e, f = w["encoder.0.weight"][0], w["encoder.0.bias"][0]
    (g1, g2), (k1, k2) = w["enc_out.weight"], w["enc_out.bias"]
    u = math.tanh(e * x_dream + f)
    mu, logvar = g1 * u + k1, g2 * u + k2
    dmu = (z_dream - mu) * math.exp(-logvar)  # d log q / d mu
    dlv = -0.5 + 0.5 * (z_dream - mu) ** 2 * math.exp(-logvar)  # d log q / d logvar
    du = (dmu * g1 + dlv * g2) * (1 - u * u)
    grads |= {
        "enc_out.weight": [[-dmu * u], [-dlv * u]],
        "enc_out.bias": [-dmu, -dlv],
        "encoder.0.weight": [[-du * x_dream]],
        "encoder.0.bias": [-du],
    }
    return grads


def test_one_wake_sleep_step_matches_the_hand_computed_update():
    model, lr = tiny_model(), 0.1
    x_wake, z_wake, z_dream, x_dream = 1.0, 0.5, -0.3, 1.0
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loss = wake_loss(model, torch.tensor([[x_wake]]), torch.tensor([[z_wake]])) + sleep_loss(
        model, torch.tensor([[z_dream]]), torch.tensor([[x_dream]])
    )
    loss.backward()
    opt.step()
    grads = hand_gradients(x_wake, z_wake, z_dream, x_dream)
    for name, p in model.named_parameters():
        expected = torch.tensor(WEIGHTS[name]) - lr * torch.tensor(grads[name])
        assert torch.allclose(p.detach(), expected, atol=1e-6), name


def test_wake_phase_moves_only_the_decoder_and_sleep_only_the_encoder():
    model = tiny_model()
    wake_loss(model, torch.tensor([[1.0]]), torch.tensor([[0.5]])).backward()
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith("enc"))
    assert all(p.grad.abs().sum() > 0 for n, p in model.named_parameters() if n.startswith("dec"))
    model.zero_grad(set_to_none=True)
    sleep_loss(model, torch.tensor([[-0.3]]), torch.tensor([[1.0]])).backward()
    assert all(p.grad is None for n, p in model.named_parameters() if n.startswith("dec"))
    assert all(p.grad.abs().sum() > 0 for n, p in model.named_parameters() if n.startswith("enc"))


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian"])
def test_dreams_come_from_the_generative_model(likelihood):
    model = VAE(VAEConfig(input_shape=(1, 2, 2), hidden=(4,), latent_dim=3, likelihood=likelihood))
    z, x = dream(model, 4000, seeded_generator(0))
    assert z.shape == (4000, 3) and x.shape == (4000, 4)
    assert abs(float(z.mean())) < 0.05 and abs(float(z.std()) - 1) < 0.05  # z ~ N(0, I)
    mean = model.decode(z).flatten(1)
    if likelihood == "bernoulli":
        assert set(x.unique().tolist()) <= {0.0, 1.0}
        assert abs(float(x.mean() - mean.mean())) < 0.02
    else:  # x = mean + sigma * eps with the fixed sigma
        assert abs(float((x - mean).std()) - model.config.gaussian_std) < 0.005


def test_wake_sleep_loss_uses_the_generator_only():
    model = tiny_model()
    x = torch.tensor([[1.0], [0.0]])
    a = wake_sleep_loss(model, x, seeded_generator(3))
    b = wake_sleep_loss(model, x, seeded_generator(3))
    assert torch.equal(a, b) and torch.isfinite(a)


def test_eval_points_are_log_spaced_whole_batches_up_to_the_budget():
    pts = eval_points(1_000_000, 100)
    assert pts[0] == 100 and pts[-1] == 1_000_000 and pts == sorted(set(pts))
    assert all(p % 100 == 0 for p in pts)
    assert 30 <= len(pts) <= 8 * 4 + 2  # 8 a decade over 4 decades


SMALL = Protocol(hidden=64, select_samples=1000, eval_n=1000)


@pytest.mark.parametrize("algorithm", ["aevb", "wake-sleep"])
def test_both_algorithms_raise_the_bound_on_digits(digits, algorithm):
    curve = train_curve(digits, algorithm, 2, SMALL, 20_000)
    first, last = curve.points[0], curve.points[-1]
    assert last[0] == 20_000 and not curve.diverged
    assert curve.lr in SMALL.step_sizes and set(curve.lr_scores) == {repr(s) for s in SMALL.step_sizes}
    # From about -44 nats (64 pixels at p = 1/2) to well above it, on the training and the test set.
    assert last[1] > first[1] + 8 and last[2] > first[2] + 8, curve.points


def test_a_curve_resumed_from_its_work_folder_is_the_uninterrupted_one(digits, tmp_path):
    protocol = Protocol(hidden=16, select_samples=300, eval_n=200, step_sizes=(0.02, 0.1))
    whole = train_curve(digits, "wake-sleep", 2, protocol, 3000)
    train_curve(digits, "wake-sleep", 2, protocol, 1500, work_dir=tmp_path)
    resumed = train_curve(digits, "wake-sleep", 2, protocol, 3000, work_dir=tmp_path)
    last = {p[0]: p for p in resumed.points}
    assert {p[0] for p in whole.points} <= set(last) and 1500 in last  # plus the first run's last point
    for p in whole.points:
        assert p[1:] == pytest.approx(last[p[0]][1:], abs=1e-4), p[0]
    assert resumed.points[-1][0] == 3000 and resumed.lr == whole.lr
