"""Batched training: M models of one architecture trained together as one job (a class's sweep).

Each member has its own seed, β, KL warm-up, learning rate (and its schedule), epochs, pixel
handling, Gaussian σ and, optionally, training-set size. The M networks' weights are stacked along a
leading dimension and every layer is one batched matrix product (`torch.baddbmm`), so one step of M
models costs a few large kernels instead of M small ones; Adam runs on one flat (M, P) buffer.

A member's result is the one `vae_core.train` gives it alone on its plain float32 path (same weight
initialisation, minibatch order and ε draws from its own generator, same maths; equal to float
rounding, tests/test_batched.py states the tolerance). A member whose loss becomes NaN or infinite
is stopped with its last good weights and reported; the others go on.

Settings that change the shapes of the weights or of a step (hidden, latent_dim, batch_size,
n_samples, a learned Gaussian variance) cannot differ inside a job: `check_members` refuses them.
Settings that change the step's graph but not its shapes (activation, likelihood, model kind,
estimator) are allowed: `train_batched` trains one batched job per group of equal graphs.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace

import torch
import torch.nn.functional as F

from .data import Dataset, binarize, eval_pixels
from .elbo import LOG_2PI, seeded_generator
from .errors import ConfigError
from .model import POINT_LOGVAR, VAE, VAEConfig
from .train import (
    EVAL_BATCH,
    FLUSH_EVERY,
    EpochReport,
    TrainConfig,
    TrainResult,
    default_batch_size,
    flush_tiny_optimizer_state,
    kl_weight,
    learning_rate,
    report_to_dict,
    resolve_device,
    use_cpu_bf16,
)

# Settings that must be equal across a job's members, and why.
SHAPE_SETTINGS = {
    "input_shape": "the input size",
    "hidden": "the weights' shapes",
    "latent_dim": "the weights' shapes",
    "batch_size": "the shape of every step",
    "n_samples": "the shape of every step",
}
# Settings of the job as a whole, not of a member.
JOB_SETTINGS = ("device", "cuda_graph", "cpu_bf16")
# Settings that change the step's graph, not its shapes: one batched job per distinct combination.
GRAPH_SETTINGS = ("activation", "likelihood", "gaussian_variance", "kind", "estimator")
STATUSES = ("done", "stopped", "diverged")


@dataclass
class Member:
    """One model of a batched job: its network, how to train it, and optionally on how many of
    the training images (the first n_train; None = all)."""

    model: VAEConfig
    train: TrainConfig
    n_train: int | None = None


@dataclass
class MemberResult:
    member: Member
    status: str  # "done", "stopped" (the callback asked) or "diverged"
    result: TrainResult  # the trained model (last good weights if diverged) and its history
    error: str | None = None  # why it diverged, in words


# callback(member index, its epoch report) -> "stop" to stop that member after this epoch
BatchedCallback = Callable[[int, EpochReport], "str | None"]


def sweepable_settings() -> list[str]:
    """The user settings a sweep may vary (every one but those that change shapes or belong to the job)."""
    from .settings import user_settings

    return [n for n in user_settings() if n not in SHAPE_SETTINGS and n not in JOB_SETTINGS] + ["n_train"]


def member_data(data: Dataset, n_train: int | None) -> Dataset:
    """The dataset a member trains on: the first n_train training images (all when None)."""
    if n_train is None or n_train == len(data.x_train):
        return data
    return replace(
        data, x_train=data.x_train[:n_train], y_train=data.y_train[:n_train], extra={**data.extra, "n_train": n_train}
    )


def _batch_of(member: Member, n_train: int, device: torch.device) -> int:
    return member.train.batch_size or min(default_batch_size(device), n_train)


def check_members(members: list[Member], data: Dataset | None = None) -> None:
    """Raise ConfigError, naming the setting, when members cannot be trained as one job."""
    if not members:
        raise ConfigError("a batched job needs at least one member")
    first = members[0]
    for i, m in enumerate(members):
        for name in SHAPE_SETTINGS:
            owner_a = first.model if hasattr(first.model, name) else first.train
            owner_b = m.model if hasattr(m.model, name) else m.train
            a, b = getattr(owner_a, name), getattr(owner_b, name)
            if a != b:
                raise ConfigError(
                    f"member {i}: {name} is {b!r} but member 0 has {a!r}; {name} changes {SHAPE_SETTINGS[name]}, "
                    "so it must be the same for every model of a batched job"
                )
        if m.model.learned_variance != first.model.learned_variance:
            raise ConfigError(
                f"member {i}: a learned Gaussian variance adds a layer (changes the weights' shapes); "
                "likelihood and gaussian_variance must give every member the same layers"
            )
        for name in JOB_SETTINGS:
            a, b = getattr(first.train, name), getattr(m.train, name)
            if a != b:
                raise ConfigError(
                    f"member {i}: {name} is {b!r} but member 0 has {a!r}; {name} is a setting of the whole batched job"
                )
        if data is not None:
            if tuple(m.model.input_shape) != tuple(data.image_shape):
                raise ConfigError(f"model input {m.model.input_shape} does not match data {data.image_shape}")
            n = len(data.x_train) if m.n_train is None else m.n_train
            if isinstance(m.n_train, bool) or not isinstance(n, int) or not 1 <= n <= len(data.x_train):
                raise ConfigError(f"member {i}: n_train must be from 1 to {len(data.x_train)}, got {m.n_train!r}")
            m.train.validate(n)
            batch = _batch_of(m, n, resolve_device(m.train.device))
            if batch > n:
                raise ConfigError(f"member {i}: batch size {batch} is larger than its training set ({n} images)")
    if data is not None:
        device = resolve_device(first.train.device)
        batches = {_batch_of(m, m.n_train or len(data.x_train), device) for m in members}
        if len(batches) > 1:
            raise ConfigError(
                f"the members' automatic batch sizes differ ({sorted(batches)}) because their training sets are "
                "smaller than the default batch; set batch_size explicitly"
            )


class _Layer:
    """Where one stacked nn.Linear lives in the flat (M, P) parameter buffer: its weight stored
    transposed, (in, out) per member, so x @ W needs no transpose and neither does its gradient
    (a transposed copy of the weight gradient took as long as the matrix product)."""

    def __init__(self, name: str, out_f: int, in_f: int, offset: int):
        self.name, self.out_f, self.in_f = name, out_f, in_f
        self.w = slice(offset, offset + out_f * in_f)
        self.b = slice(self.w.stop, self.w.stop + out_f)
        self.end = self.b.stop


class StackedVAE:
    """M VAEs of one architecture as one flat parameter buffer (M, P) and batched layers.

    Views of the buffer are leaf tensors that share its storage; `backward` writes their gradients
    into one flat (M, P) buffer, so Adam is a few ops on (M, P).
    """

    def __init__(self, models: list[VAE], device: torch.device, bf16: bool = False):
        cfg = models[0].config
        self.config, self.m, self.device = cfg, len(models), device
        self.dtype = torch.bfloat16 if bf16 else torch.float32  # what the layers compute in
        names = [n for n, _ in models[0].named_parameters()]
        self.layers: list[_Layer] = []
        offset = 0
        for n in names:
            if n.endswith(".weight"):
                out_f, in_f = dict(models[0].named_parameters())[n].shape
                layer = _Layer(n[: -len(".weight")], out_f, in_f, offset)
                self.layers.append(layer)
                offset = layer.end
        self.n_params = offset
        self.flat = torch.zeros(self.m, offset, device=device)
        for i, model in enumerate(models):
            self.load_member(i, model)
        self.grad = torch.zeros_like(self.flat)
        # The bf16 path (as vae_core.train's on CPUs with bf16 instructions): forward and backward on
        # a bf16 copy of the float32 weights, refreshed after each Adam step; Adam on the float32 ones.
        self.work = self.flat if not bf16 else self.flat.to(torch.bfloat16)
        self.weights, self.biases = [], []
        for layer in self.layers:
            w = self.work[:, layer.w].view(self.m, layer.in_f, layer.out_f).detach().requires_grad_()
            b = self.work[:, layer.b].detach().requires_grad_()
            self.weights.append(w)
            self.biases.append(b)
        by_name = {layer.name: i for i, layer in enumerate(self.layers)}
        n_hidden = len(cfg.hidden)
        self.enc = [by_name[f"encoder.{2 * k}"] for k in range(n_hidden)]
        self.enc_out = by_name["enc_out"]
        self.dec = [by_name[f"decoder.{2 * k}"] for k in range(n_hidden)]
        self.dec_out = by_name["dec_out"]
        self.dec_logvar = by_name.get("dec_logvar")

    def load_member(self, i: int, model: VAE) -> None:
        params = dict(model.named_parameters())
        with torch.no_grad():
            for layer in self.layers:
                self.flat[i, layer.w] = params[layer.name + ".weight"].detach().t().flatten().to(self.device)
                self.flat[i, layer.b] = params[layer.name + ".bias"].detach().to(self.device)

    def state_of(self, i: int) -> dict[str, torch.Tensor]:
        """Member i's weights as an nn.Module state_dict (CPU copies)."""
        row = self.flat[i].detach().cpu()
        out = {}
        for layer in self.layers:
            out[layer.name + ".weight"] = row[layer.w].view(layer.in_f, layer.out_f).t().contiguous()
            out[layer.name + ".bias"] = row[layer.b].clone()
        return out

    def backward(self, loss: torch.Tensor) -> None:
        """The gradient of `loss` with respect to every member's weights, into self.grad."""
        params = [p for pair in zip(self.weights, self.biases) for p in pair]
        grads = torch.autograd.grad(loss, params)
        if self.work is self.flat:
            torch.cat([g.reshape(self.m, -1) for g in grads], dim=1, out=self.grad)
        else:
            self.grad.copy_(torch.cat([g.reshape(self.m, -1) for g in grads], dim=1))

    @torch.no_grad()
    def weights_changed(self) -> None:
        """After the float32 weights changed: refresh the bf16 copy the layers compute with."""
        if self.work is not self.flat:
            self.work.copy_(self.flat)

    def linear(self, k: int, x: torch.Tensor) -> torch.Tensor:
        """x (M, N, in) -> (M, N, out) through stacked layer k."""
        return torch.baddbmm(self.biases[k].unsqueeze(1), x, self.weights[k])

    def act(self, h: torch.Tensor) -> torch.Tensor:
        return torch.relu(h) if self.config.activation == "relu" else torch.tanh(h)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (M, B, D) -> mu, logvar, each (M, B, latent_dim), float32."""
        h = x.to(self.dtype)
        for k in self.enc:
            h = self.act(self.linear(k, h))
        mu, logvar = self.linear(self.enc_out, h).float().chunk(2, dim=-1)
        if self.config.autoencoder:
            logvar = torch.full_like(mu, POINT_LOGVAR)
        return mu, logvar

    def decode_logits(self, z: torch.Tensor, min_std: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """z (M, N, latent_dim) -> x_logits (M, N, D) and the learned log-variance or None."""
        h = z.to(self.dtype)
        for k in self.dec:
            h = self.act(self.linear(k, h))
        logits = self.linear(self.dec_out, h).float()
        if self.dec_logvar is None:
            return logits, None
        floor = (2 * torch.log(min_std)).view(-1, 1, 1).expand_as(logits)
        return logits, torch.logaddexp(self.linear(self.dec_logvar, h).float(), floor)


@dataclass
class _Job:
    """Per-member scalars of one job, as (M,) tensors on the device where the step needs them."""

    gaussian_std: torch.Tensor
    gaussian_min_std: torch.Tensor
    beta: torch.Tensor = field(init=False)  # this epoch's KL weight

    def __post_init__(self) -> None:
        self.beta = torch.zeros_like(self.gaussian_std)


def _terms(net: StackedVAE, job: _Job, x: torch.Tensor, eps: torch.Tensor, estimator: str):
    """Per-example (recon, kl) of each member: x (M, B, D), eps (M, L, B, d) -> each (M, B).

    The maths of vae_core.elbo.terms_from_output, member by member."""
    cfg = net.config
    m, b, _ = x.shape
    n_l = eps.shape[1]
    mu, logvar = net.encode(x)  # (M, B, d)
    if cfg.autoencoder:
        z = mu.unsqueeze(1).expand(m, n_l, b, mu.shape[-1])
    else:
        z = mu.unsqueeze(1) + torch.exp(0.5 * logvar).unsqueeze(1) * eps  # (M, L, B, d)
    logits, x_logvar = net.decode_logits(z.reshape(m, n_l * b, -1), job.gaussian_min_std)
    logits = logits.view(m, n_l, b, -1)
    xe = x.unsqueeze(1).expand_as(logits)
    if cfg.likelihood == "bernoulli":
        recon = -F.binary_cross_entropy_with_logits(logits, xe, reduction="none").sum(-1)
    elif x_logvar is None:
        std = job.gaussian_std.view(m, 1, 1, 1)
        mean = torch.sigmoid(logits)
        recon = -0.5 * (((xe - mean) ** 2) / std**2 + LOG_2PI + 2 * torch.log(std)).sum(-1)
    else:
        mean, x_logvar = torch.sigmoid(logits), x_logvar.view_as(logits)
        recon = -0.5 * (LOG_2PI + x_logvar + (xe - mean) ** 2 * torch.exp(-x_logvar)).sum(-1)
    recon = recon.mean(1)  # (M, B)
    if cfg.autoencoder:
        kl = torch.zeros_like(recon)
    elif estimator == "analytic":
        kl = (-0.5 * (1 + logvar - mu**2 - torch.exp(logvar))).sum(-1)
    else:
        mu1, lv1 = mu.unsqueeze(1), logvar.unsqueeze(1)
        log_q = -0.5 * (LOG_2PI + lv1 + (z - mu1) ** 2 * torch.exp(-lv1)).sum(-1)
        log_p = -0.5 * (LOG_2PI + z**2).sum(-1)
        kl = (log_q - log_p).mean(1)
    return recon, kl


class _Adam:
    """torch.optim.Adam (fused, as vae_core.train makes it) over the members' rows of the flat buffer:
    one param group per member, so each has its own learning rate and step count, and every
    element sees the very kernel it sees when its model trains alone. A member not stepping this
    step is left out of the step (its weights and moments unchanged)."""

    def __init__(self, net: StackedVAE, lrs: list[float]):
        self.rows = [net.flat[i] for i in range(net.m)]  # (P,) views; leaves (flat needs no grad)
        for row, g in zip(self.rows, net.grad):
            row.grad = g
        self.opt = torch.optim.Adam([{"params": [row], "lr": lr} for row, lr in zip(self.rows, lrs)], fused=True)
        self.groups = list(self.opt.param_groups)

    def set_lr(self, lrs: list[float]) -> None:
        for group, lr in zip(self.groups, lrs):
            group["lr"] = lr

    @torch.no_grad()
    def step(self, stepping: list[bool] | None) -> None:
        if stepping is None:
            self.opt.step()
            return
        self.opt.param_groups = [g for g, on in zip(self.groups, stepping) if on]
        try:
            if self.opt.param_groups:
                self.opt.step()
        finally:
            self.opt.param_groups = self.groups

    def reset_member(self, i: int) -> None:
        """Forget member i's moments (after its weights were set back)."""
        self.opt.state.pop(self.rows[i], None)


def _group_key(member: Member) -> tuple:
    return tuple(getattr(member.model if hasattr(member.model, n) else member.train, n) for n in GRAPH_SETTINGS)


def train_batched(members: list[Member], data: Dataset, callback: BatchedCallback | None = None) -> list[MemberResult]:
    """Train every member on `data` (each on its first n_train images) and return their results
    in order. Members whose graphs differ (see GRAPH_SETTINGS) are trained in consecutive jobs."""
    check_members(members, data)
    groups: dict[tuple, list[int]] = {}
    for i, m in enumerate(members):
        groups.setdefault(_group_key(m), []).append(i)
    results: list[MemberResult | None] = [None] * len(members)
    for idx in groups.values():

        def cb(j: int, report: EpochReport, idx=idx):
            return callback(idx[j], report) if callback is not None else None

        for i, r in zip(idx, _train_group([members[i] for i in idx], data, cb)):
            results[i] = r
    return results  # type: ignore[return-value]


def _train_group(members: list[Member], data: Dataset, callback: BatchedCallback) -> list[MemberResult]:
    device = resolve_device(members[0].train.device)
    cfgs = [m.train for m in members]
    n_members = len(members)
    n_trains = [m.n_train or len(data.x_train) for m in members]
    batch = _batch_of(members[0], n_trains[0], device)
    n_l, latent = cfgs[0].n_samples, members[0].model.latent_dim
    estimator = cfgs[0].estimator

    # Each member's own stream, as vae_core.train draws it: shuffling, binarisation and eps.
    gens = [seeded_generator(c.seed, device) for c in cfgs]
    models = [VAE(m.model, generator=seeded_generator(c.seed)) for m, c in zip(members, cfgs)]
    bf16 = device.type == "cpu" and use_cpu_bf16(cfgs[0].cpu_bf16)
    net = StackedVAE(models, device, bf16)
    job = _Job(
        gaussian_std=torch.tensor([m.model.gaussian_std for m in members], device=device),
        gaussian_min_std=torch.tensor([m.model.gaussian_min_std for m in members], device=device),
    )
    adam = _Adam(net, [c.lr for c in cfgs])

    x_all = data.x_train.to(device)
    x_test_by_pixels = {p: eval_pixels(data.x_test.to(device), p) for p in {c.pixels for c in cfgs}}
    static = binarize(x_all, "static") if any(c.pixels == "static" for c in cfgs) else None
    n_steps = [n // batch for n in n_trains]
    n_seen = [s * batch for s in n_steps]
    max_steps = max(n_steps)
    shared_source = all(c.pixels != "dynamic" for c in cfgs) and len({c.pixels for c in cfgs}) == 1
    # One randn per member per epoch instead of one per step: the same numbers on the CPU when
    # each step draws a multiple of 16 values (torch fills normals in blocks of 16; the
    # equivalence test covers this path).
    pre_draw = device.type == "cpu" and (n_l * batch * latent) % 16 == 0
    draws = not members[0].model.autoencoder  # an autoencoder draws no eps (z = mu), alone or here
    pre_draw = pre_draw and draws
    flush = device.type == "cpu"

    t_start = time.perf_counter()
    histories: list[list[dict]] = [[] for _ in members]
    status = ["running"] * n_members
    errors: list[str | None] = [None] * n_members
    good = net.flat.detach().clone()
    seconds = [0.0] * n_members
    max_epochs = max(c.epochs for c in cfgs)
    for epoch in range(1, max_epochs + 1):
        live = [s == "running" and epoch <= c.epochs for s, c in zip(status, cfgs)]
        if not any(live):
            break
        with torch.no_grad():
            job.beta.copy_(torch.tensor([kl_weight(c, epoch) if lv else 0.0 for c, lv in zip(cfgs, live)]))
        adam.set_lr([learning_rate(c, epoch) for c in cfgs])
        sums = torch.zeros(n_members, 3, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        sources, perms, eps_epoch = [], [], []
        for i, (c, g) in enumerate(zip(cfgs, gens)):
            if not live[i]:
                sources.append(x_all)
                perms.append(torch.zeros(max_steps * batch, dtype=torch.long, device=device))
                eps_epoch.append(None)
                continue
            src = (
                binarize(x_all, "dynamic", g) if c.pixels == "dynamic" else (static if c.pixels == "static" else x_all)
            )
            sources.append(src)
            p = torch.randperm(n_trains[i], device=device, generator=g)[: n_steps[i] * batch]
            if n_steps[i] < max_steps:
                p = torch.cat([p, torch.zeros((max_steps - n_steps[i]) * batch, dtype=torch.long, device=device)])
            perms.append(p)
            if pre_draw:
                eps_epoch.append(
                    torch.randn((n_l, n_steps[i] * batch, latent), device=device, generator=g)
                    .view(n_l, n_steps[i], batch, latent)
                    .transpose(0, 1)
                )
        perm = torch.stack(perms).view(n_members, max_steps, batch)
        if pre_draw:
            zero = torch.zeros(max_steps, n_l, batch, latent, device=device)
            eps_all = torch.stack([e if e is not None and len(e) == max_steps else _pad(e, zero) for e in eps_epoch])
        all_live = all(live) and len(set(n_steps)) == 1
        for s in range(max_steps):
            stepping = [lv and s < n for lv, n in zip(live, n_steps)]
            idx = perm[:, s]  # (M, B)
            if shared_source:
                xb = sources[0][idx]  # (M, B, D)
            else:
                xb = torch.stack([src[idx[i]] for i, src in enumerate(sources)])
            if pre_draw:
                eps = eps_all[:, s]  # (M, L, B, d)
            elif not draws:
                eps = torch.zeros(n_members, n_l, batch, latent, device=device)
            else:
                eps = torch.stack(
                    [
                        torch.randn((n_l, batch, latent), device=device, generator=g)
                        if on
                        else torch.zeros(n_l, batch, latent, device=device)
                        for g, on in zip(gens, stepping)
                    ]
                )
            recon, kl = _terms(net, job, xb, eps, estimator)
            loss = -(recon - job.beta.view(-1, 1) * kl).mean(1)  # (M,)
            active = None if all_live else torch.tensor(stepping, device=device)
            total = loss.sum() if active is None else torch.where(active, loss, 0.0).sum()
            net.backward(total)
            adam.step(None if all_live else stepping)
            net.weights_changed()
            with torch.no_grad():
                part = torch.stack([recon.sum(1), kl.sum(1), (recon - kl).sum(1)], dim=1)
                sums += part if active is None else torch.where(active.view(-1, 1), part, 0.0)
            if flush and (s + 1) % FLUSH_EVERY == 0:
                flush_tiny_optimizer_state(adam.opt)
        train_sums = sums.tolist()  # the epoch's one host sync
        elapsed = time.perf_counter() - t0

        test_sums = _evaluate(net, job, x_test_by_pixels, cfgs, device)
        for i, c in enumerate(cfgs):
            if not live[i]:
                continue
            seconds[i] += elapsed
            if not all(math.isfinite(v) for v in train_sums[i]) or not all(math.isfinite(v) for v in test_sums[i]):
                with torch.no_grad():
                    net.flat[i] = good[i]
                net.weights_changed()
                status[i] = "diverged"
                errors[i] = (
                    f"training diverged in epoch {epoch}: the loss became NaN or infinite "
                    f"(learning rate {learning_rate(c, epoch):.3g}). The weights of the last good epoch were kept; "
                    "lower the learning rate and train again."
                )
                continue
            n_test = len(x_test_by_pixels[c.pixels])
            report = EpochReport(
                epoch=epoch,
                epochs=c.epochs,
                train={k: v / n_seen[i] for k, v in zip(("recon", "kl", "elbo"), train_sums[i])},
                test={k: v / n_test for k, v in zip(("recon", "kl", "elbo"), test_sums[i])},
                beta=kl_weight(c, epoch),
                lr=learning_rate(c, epoch),
                seconds=elapsed,
                images_per_second=n_seen[i] / elapsed if elapsed > 0 else float("inf"),
            )
            histories[i].append(report_to_dict(report))
            if callback(i, report) == "stop" and epoch < c.epochs:
                status[i] = "stopped"
            elif epoch == c.epochs:
                status[i] = "done"
        with torch.no_grad():
            ok = torch.tensor([s != "diverged" for s in status], device=device).view(-1, 1)
            good.copy_(torch.where(ok, net.flat, good))
    total_seconds = time.perf_counter() - t_start

    out = []
    for i, (m, model) in enumerate(zip(members, models)):
        model.load_state_dict(net.state_of(i))
        model.eval()
        result = TrainResult(
            model=model,
            history=histories[i],
            stopped_early=status[i] == "stopped",
            device=str(device),
            precision="bf16 compute, float32 weights" if bf16 else "float32",
            seconds=total_seconds,
        )
        out.append(MemberResult(m, status[i], result, errors[i]))
    return out


@torch.no_grad()
def _evaluate(net, job, x_test_by_pixels, cfgs, device) -> list[list[float]]:
    """Each member's summed (recon, kl, elbo) on its test set, with eps from a generator seeded
    seed + 1, as vae_core.train's per-epoch evaluation draws it."""
    n_members = len(cfgs)
    gens = [seeded_generator(c.seed + 1, device) for c in cfgs]
    n_test = len(next(iter(x_test_by_pixels.values())))
    one = len(x_test_by_pixels) == 1
    sums = torch.zeros(n_members, 3, device=device)
    n_l_eval = 1
    for start in range(0, n_test, EVAL_BATCH):
        stop = min(start + EVAL_BATCH, n_test)
        if one:
            x = next(iter(x_test_by_pixels.values()))[start:stop].expand(n_members, -1, -1)
        else:
            x = torch.stack([x_test_by_pixels[c.pixels][start:stop] for c in cfgs])
        eps = torch.stack(
            [torch.randn((n_l_eval, stop - start, net.config.latent_dim), device=device, generator=g) for g in gens]
        )
        recon, kl = _terms(net, job, x, eps, "analytic")  # as evaluate_split: estimator B, L = 1
        sums += torch.stack([recon.sum(1), kl.sum(1), (recon - kl).sum(1)], dim=1)
    return sums.tolist()


def _pad(e: torch.Tensor | None, zero: torch.Tensor) -> torch.Tensor:
    """A member's eps for an epoch (n_steps, L, B, d), padded with zeros to max_steps."""
    if e is None:
        return zero
    return torch.cat([e, zero[len(e) :]])


def parse_sweep(texts: dict[str, str]) -> list[dict]:
    """{"beta": "0.5,1", "seed": "0,1"} -> the grid of settings, one dict per member (every
    combination, the first setting varying slowest). Raises ConfigError naming the setting for an
    unknown setting, one that cannot be swept, or a value out of its field's bounds."""
    from itertools import product

    from .settings import user_settings

    settings = user_settings()
    sweepable = sweepable_settings()
    axes: list[tuple[str, list]] = []
    for name, text in texts.items():
        if name in SHAPE_SETTINGS and name in settings:
            raise ConfigError(
                f"{name} changes {SHAPE_SETTINGS[name]}, so it cannot be swept in one batched job; give it one value"
            )
        if name in JOB_SETTINGS:
            raise ConfigError(f"{name} is a setting of the whole batched job and cannot be swept")
        if name not in sweepable:
            raise ConfigError(f"unknown setting {name!r}; settings that can be swept: {', '.join(sweepable)}")
        parts = [p.strip() for p in str(text).split(",") if p.strip()]
        if not parts:
            raise ConfigError(f"{name}: no values given; write them separated by commas, like 0.5,1,2")
        values = [_parse_value(name, p, settings.get(name)) for p in parts]
        axes.append((name, list(dict.fromkeys(values))))
    names = [n for n, _ in axes]
    return [dict(zip(names, combo)) for combo in product(*(v for _, v in axes))]


def _parse_value(name: str, text: str, setting) -> object:
    if setting is None:  # n_train
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"n_train must be a whole number, got {text!r}") from None
        if value < 1:
            raise ConfigError(f"n_train must be >= 1, got {value}")
        return value
    convert = {"int": int, "float": float, "bool": _parse_bool}.get(setting.kind, str)
    try:
        value = convert(text)
    except ValueError:
        raise ConfigError(
            f"{name} must be {'a number' if setting.kind in ('int', 'float') else 'one of its choices'}, got {text!r}"
        ) from None
    return setting.check(value)


def _parse_bool(text: str) -> bool:
    if text.lower() in ("true", "yes", "on", "1"):
        return True
    if text.lower() in ("false", "no", "off", "0"):
        return False
    raise ValueError(text)


def member_settings(member: Member) -> dict:
    """The settings of a member as one flat dict (model and training fields, and n_train)."""
    out = {f.name: getattr(member.model, f.name) for f in fields(member.model)}
    out.update({f.name: getattr(member.train, f.name) for f in fields(member.train)})
    out["n_train"] = member.n_train
    return out
