"""The training loop: the whole dataset on the device, no DataLoader, one host sync per epoch.

CUDA: fused capturable Adam, and the training step captured once as a CUDA graph and replayed
(TF32 matmuls only where the caller's process asks for them: the CLI does; library code never
changes a process-wide setting, since the app is a shared server). CPU: where the CPU
multiplies bf16 natively, forward and backward in bf16 on a copy of the float32 weights. Both report through the same per-epoch callback, so the
CLI prints a progress line and the app draws live charts.
"""

from __future__ import annotations

import copy
import functools
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .data import PIXELS, Dataset, binarize, eval_pixels
from .elbo import ESTIMATORS, ELBOTerms, elbo_terms, seeded_generator, terms_from_output
from .errors import ConfigError, TrainingDiverged
from .fields import setting, validate_fields
from .model import VAE, VAEOutput

EVAL_BATCH = 2500  # examples per forward pass when evaluating the test set
# Adam's moments of weights whose gradient is exactly 0 (dead ReLU units, always-black pixels) decay
# geometrically (x0.9 a step) into float32's subnormal range, where every CPU operation on them takes a
# slow microcode path: from epoch 4 of the Fashion-MNIST default more than half of exp_avg is subnormal
# and epochs take 1.8x as long. Every FLUSH_EVERY steps on a CPU, moments below STATE_FLOOR are set to 0
# (what flush-to-zero would do, without changing the process's floating-point mode). A moment just
# above the floor stays normal for FLUSH_EVERY steps (0.9**64 * 1e-30 > 1.2e-38), and zeroing one this
# small changes a step by at most lr * 1e-30 / eps = lr * 1e-22.
FLUSH_EVERY = 64
STATE_FLOOR = 1e-30


DEVICES = ("auto", "cpu", "cuda")
CPU_BF16 = ("auto", "on", "off")


@dataclass
class TrainConfig:
    """How to train. Each field's help, choices and bounds are its metadata (vae_core.fields);
    the config validates itself when made, and `validate()` checks it again (after edits)."""

    epochs: int = setting(30, "Epochs", "passes over the training set", ge=1, le=100_000, ui_le=500)
    batch_size: int = setting(
        0, "Batch size", "examples per step; 0 = auto (256 on CPU, 512 on CUDA)", ge=0, le=65536, ui_le=8192
    )
    lr: float = setting(
        2e-3, "Learning rate", "Adam's peak learning rate; decays by cosine to lr_final_frac x lr", gt=0
    )
    lr_final_frac: float = setting(
        0.05,
        "Final lr fraction",
        "the last epoch's learning rate as a fraction of lr; 1 = constant",
        gt=0,
        le=1,
        advanced=True,
    )
    beta: float = setting(
        1.0,
        "β (KL weight)",
        "weight of the KL term (beta-VAE); the paper's ELBO is beta = 1",
        ge=0,
        le=1000,
        ui_le=50,
        step=0.5,
    )
    warmup_epochs: int = setting(
        0,
        "KL warm-up epochs",
        "KL weight rises linearly from 0 (epoch 1) to beta (epoch W+1); 0 = no warm-up, 1 = one epoch at 0",
        ge=0,
        le=100_000,
        ui_le=500,
    )
    estimator: str = setting(
        "analytic", "Estimator", "analytic: the paper's estimator B (analytic KL); mc: estimator A", choices=ESTIMATORS
    )
    n_samples: int = setting(
        1, "L (samples of z)", "L, draws of z per example and step", ge=1, le=1000, ui_le=64, flag="--samples"
    )
    pixels: str = setting(
        "continuous",
        "Pixels",
        "continuous pixels, static (thresholded once) or dynamic (a Bernoulli draw each epoch) binarisation",
        choices=PIXELS,
    )
    seed: int = setting(
        0, "Seed", "seeds initialisation, shuffling and sampling; reproducible on one device", ge=0, le=2**31 - 1
    )
    device: str = setting("auto", "Device", "auto (CUDA if present), cpu or cuda", choices=DEVICES, advanced=True)
    cuda_graph: bool = setting(
        True, "CUDA graph", "CUDA only: capture the training step as a CUDA graph", advanced=True
    )
    cpu_bf16: str = setting(
        "auto",
        "CPU bf16",
        "CPU only: forward/backward in bf16 on a copy of the float32 weights; auto = where the CPU has bf16 instructions",
        choices=CPU_BF16,
        advanced=True,
    )

    def __post_init__(self) -> None:
        validate_fields(self)

    def validate(self, n_train: int | None = None) -> None:
        """Raise ConfigError, naming the setting, for anything out of range."""
        validate_fields(self)
        if n_train is not None and self.batch_size > n_train:
            raise ConfigError(
                f"batch_size {self.batch_size} is larger than the training set ({n_train} images); "
                f"choose at most {n_train}"
            )


@dataclass
class EpochReport:
    epoch: int  # 1-based
    epochs: int
    train: dict[str, float]  # mean recon / kl / elbo over the epoch, nats per image
    test: dict[str, float]  # the same on the test set (one sample of z per image)
    beta: float  # the KL weight used this epoch
    lr: float
    seconds: float  # wall time of this epoch's training steps (not the evaluation)
    images_per_second: float
    test_mu: torch.Tensor | None = None  # (M, latent_dim) on the CPU, when asked for


@dataclass
class TrainResult:
    model: VAE
    history: list[dict] = field(default_factory=list)
    stopped_early: bool = False
    device: str = "cpu"
    precision: str = "float32"  # or "bf16 compute, float32 weights" (the CPU's bf16 path)
    seconds: float = 0.0


Callback = Callable[[EpochReport], "str | None"]


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was asked for but no CUDA GPU is available; use auto or cpu")
    if name not in ("cpu", "cuda"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device(name)


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether the CPU multiplies bf16 natively (AVX512-BF16 or AMX); elsewhere bf16 is slower."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return any(f in flags for f in (" avx512_bf16", " amx_bf16"))


def use_cpu_bf16(setting: str) -> bool:
    return setting == "on" or (setting == "auto" and cpu_has_bf16())


def default_batch_size(device: torch.device) -> int:
    return 512 if device.type == "cuda" else 256


def kl_weight(cfg: TrainConfig, epoch: int) -> float:
    """The KL weight of `epoch` (1-based): beta * min(1, (epoch - 1) / W) for W = warmup_epochs.

    The warm-up starts at 0 in epoch 1 and reaches beta in epoch W + 1; so W = 1 means one
    epoch without the KL term, then beta. W = 0 means beta from the start.
    """
    if cfg.warmup_epochs <= 0:
        return cfg.beta
    return cfg.beta * min(1.0, (epoch - 1) / cfg.warmup_epochs)


def learning_rate(cfg: TrainConfig, epoch: int) -> float:
    """Cosine decay from lr (epoch 1) to lr * lr_final_frac (last epoch)."""
    if cfg.epochs <= 1:
        return cfg.lr
    t = (epoch - 1) / (cfg.epochs - 1)
    return cfg.lr * (cfg.lr_final_frac + (1 - cfg.lr_final_frac) * 0.5 * (1 + math.cos(math.pi * t)))


class _Step:
    """One optimisation step on a batch: loss = -(recon - beta * kl), mean over the batch.

    Also adds the batch's summed (recon, kl, elbo) to `sums` on the device, so nothing is
    read back to the host until the epoch ends.
    """

    precision = "float32"

    def __init__(
        self, model: VAE, opt: torch.optim.Optimizer, cfg: TrainConfig, device: torch.device, gen: torch.Generator
    ):
        self.model, self.opt, self.cfg, self.gen = model, opt, cfg, gen
        self.beta = torch.zeros((), device=device)  # a tensor so a captured graph sees updates
        self.sums = torch.zeros(3, device=device)

    def terms(self, xb: torch.Tensor) -> ELBOTerms:
        return elbo_terms(self.model, xb, self.cfg.estimator, self.cfg.n_samples, self.gen)

    def update(self) -> None:
        self.opt.step()
        self.opt.zero_grad(set_to_none=False)

    def __call__(self, xb: torch.Tensor) -> None:
        terms = self.terms(xb)
        loss = -(terms.recon - self.beta * terms.kl).mean()
        loss.backward()
        self.update()
        with torch.no_grad():
            self.sums += torch.stack([terms.recon.sum(), terms.kl.sum(), terms.elbo.sum()])


class _Bf16Step(_Step):
    """The CPU bf16 step: forward and backward run on a bf16 copy of the network; Adam updates
    the float32 weights, which are then copied into the bf16 copy (once per step).

    torch.autocast gives the same arithmetic but casts every weight on each use and casts its
    gradient back in the backward pass; this is 1.08x faster per epoch on a 2-core Zen 4
    (bench/ab_trainer.py, docs/benchmarks.md). The loss is computed in float32 from the outputs.
    """

    precision = "bf16 compute, float32 weights"

    def __init__(
        self, model: VAE, opt: torch.optim.Optimizer, cfg: TrainConfig, device: torch.device, gen: torch.Generator
    ):
        super().__init__(model, opt, cfg, device, gen)
        self.work = copy.deepcopy(model).to(torch.bfloat16)
        self.pairs = list(zip(model.parameters(), self.work.parameters()))
        for p, _ in self.pairs:
            p.grad = torch.zeros_like(p)

    def terms(self, xb: torch.Tensor) -> ELBOTerms:
        out = self.work(xb.to(torch.bfloat16), self.cfg.n_samples, self.gen)
        out = VAEOutput(*(t.float() if t is not None else None for t in out))
        return terms_from_output(self.model, xb, out, self.cfg.estimator)

    @torch.no_grad()
    def update(self) -> None:
        for p, w in self.pairs:
            if w.grad is None:  # a weight the loss did not reach
                p.grad.zero_()
            else:
                p.grad.copy_(w.grad)
                w.grad = None
        self.opt.step()
        for p, w in self.pairs:
            w.copy_(p)


class _GraphStep:
    """The same step captured once as a CUDA graph; replays read the batch from `self.x`.

    Follows PyTorch's whole-network capture recipe: warm up on a side stream, capture with
    static input and grads, then restore the weights and optimizer state the warm-up changed.
    """

    def __init__(self, step: _Step, x_example: torch.Tensor):
        self.step = step
        self.x = x_example.clone()
        params = [p for p in step.model.parameters()]
        saved = [p.detach().clone() for p in params]
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                step(self.x)
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        # The step draws eps from the trainer's own generator, not the default one: the graph must
        # know it, so that each replay advances it (needs torch >= 2.5; else train() goes eager).
        # Not yet run on a GPU: none was available when this was written (the CUDA tests skip).
        self.graph.register_generator_state(step.gen)
        with torch.cuda.graph(self.graph):
            step(self.x)
        with torch.no_grad():  # undo the warm-up and capture updates, in place
            for p, s in zip(params, saved):
                p.copy_(s)
            for state in step.opt.state.values():
                for v in state.values():
                    if torch.is_tensor(v):
                        v.zero_()
            step.sums.zero_()

    def __call__(self, xb: torch.Tensor) -> None:
        self.x.copy_(xb)
        self.graph.replay()


@torch.no_grad()
def evaluate_split(
    model: VAE,
    x: torch.Tensor,
    estimator: str = "analytic",
    n_samples: int = 1,
    want_mu: bool = False,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Summed (recon, kl, elbo) over x on its device, and optionally all mu (M, latent_dim).

    z is drawn from `generator` (default: a new one seeded with 0 on x's device).
    """
    gen = generator if generator is not None else seeded_generator(0, x.device)
    sums = torch.zeros(3, device=x.device)
    mus = []
    for i in range(0, len(x), EVAL_BATCH):
        terms = elbo_terms(model, x[i : i + EVAL_BATCH], estimator, n_samples, gen)
        sums += torch.stack([terms.recon.sum(), terms.kl.sum(), terms.elbo.sum()])
        if want_mu:
            mus.append(model.encode(x[i : i + EVAL_BATCH])[0])
    return sums, (torch.cat(mus) if want_mu else None)


def report_to_dict(report: EpochReport) -> dict:
    """The JSON-able part of a report, as stored in a checkpoint's history."""
    keys = ("epoch", "train", "test", "beta", "lr", "seconds", "images_per_second")
    return {k: getattr(report, k) for k in keys}


@torch.no_grad()
def flush_tiny_optimizer_state(opt: torch.optim.Optimizer, floor: float = STATE_FLOOR) -> int:
    """Set every float entry of the optimizer's state with 0 < |v| < floor to 0; returns how many."""
    flushed = 0
    for state in opt.state.values():
        for v in state.values():
            if torch.is_tensor(v) and v.is_floating_point() and v.dim() > 0:
                tiny = (v.abs() < floor) & (v != 0)
                flushed += int(tiny.sum())
                v.masked_fill_(tiny, 0.0)
    return flushed


def _as_metrics(sums: list[float], n: int) -> dict[str, float]:
    return {"recon": sums[0] / n, "kl": sums[1] / n, "elbo": sums[2] / n}


def train(
    model: VAE,
    data: Dataset,
    cfg: TrainConfig,
    callback: Callback | None = None,
    want_latents: bool = False,
) -> TrainResult:
    """Train `model` in place on `data`. The callback may return "stop" to end after an epoch.

    Raises TrainingDiverged (with the last good weights restored in `model`) if the loss
    becomes NaN or infinite.
    """
    cfg.validate(len(data.x_train))
    device = resolve_device(cfg.device)
    batch = cfg.batch_size or min(default_batch_size(device), len(data.x_train))
    if tuple(model.config.input_shape) != tuple(data.image_shape):
        raise ConfigError(f"model input {model.config.input_shape} does not match data {data.image_shape}")

    gen = seeded_generator(cfg.seed, device)  # shuffling, binarisation and eps: this run's own stream
    model.to(device).train()
    x_all = data.x_train.to(device)
    x_test = eval_pixels(data.x_test.to(device), cfg.pixels)
    x_static = binarize(x_all, cfg.pixels) if cfg.pixels == "static" else x_all
    n_steps = len(x_all) // batch  # drop the ragged remainder; the shuffle varies it per epoch
    n_seen = n_steps * batch

    use_graph = device.type == "cuda" and cfg.cuda_graph
    lr_t = torch.tensor(cfg.lr, device=device) if use_graph else cfg.lr
    # Fused Adam: one kernel per step instead of several passes over the weights (CPU too).
    opt_kwargs = {"fused": True, "capturable": True} if use_graph else {"fused": True}
    opt = torch.optim.Adam(model.parameters(), lr=lr_t, **opt_kwargs)
    bf16 = device.type == "cpu" and use_cpu_bf16(cfg.cpu_bf16)
    step = (_Bf16Step if bf16 else _Step)(model, opt, cfg, device, gen)
    runner: Callable[[torch.Tensor], None] = step
    if use_graph and not hasattr(torch.cuda.CUDAGraph, "register_generator_state"):
        warnings.warn("this torch cannot capture a custom generator in a CUDA graph; training eagerly", stacklevel=2)
    elif use_graph:
        try:
            runner = _GraphStep(step, x_static[:batch])
        except Exception as exc:  # capture is an optimisation: fall back to eager, loudly
            warnings.warn(f"CUDA graph capture failed ({exc}); training eagerly", stacklevel=2)
            runner = step

    flush_state = device.type == "cpu"  # GPUs compute on subnormals at full speed
    result = TrainResult(model=model, device=str(device), precision=step.precision)
    good_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    t_start = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        beta, lr = kl_weight(cfg, epoch), learning_rate(cfg, epoch)
        step.beta.fill_(beta)
        for group in opt.param_groups:
            if torch.is_tensor(group["lr"]):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr
        step.sums.zero_()
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        x_epoch = binarize(x_all, "dynamic", gen) if cfg.pixels == "dynamic" else x_static
        perm = torch.randperm(len(x_all), device=device, generator=gen)
        for s in range(n_steps):
            runner(x_epoch[perm[s * batch : (s + 1) * batch]])
            if flush_state and (s + 1) % FLUSH_EVERY == 0:
                flush_tiny_optimizer_state(opt)
        train_sums = step.sums.tolist()  # the epoch's one host sync
        seconds = time.perf_counter() - t0

        if not all(math.isfinite(v) for v in train_sums):
            model.load_state_dict(good_state)
            err = TrainingDiverged(
                f"training diverged in epoch {epoch}: the loss became NaN or infinite "
                f"(learning rate {lr:.3g}). The weights of the last good epoch were kept; "
                "lower the learning rate and train again."
            )
            err.history = result.history
            raise err
        model.eval()
        # The same eps every epoch (a fresh generator), so the test curve is not MC-jittered.
        test_sums, test_mu = evaluate_split(
            model, x_test, want_mu=want_latents, generator=seeded_generator(cfg.seed + 1, device)
        )
        model.train()
        good_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        report = EpochReport(
            epoch=epoch,
            epochs=cfg.epochs,
            train=_as_metrics(train_sums, n_seen),
            test=_as_metrics(test_sums.tolist(), len(x_test)),
            beta=beta,
            lr=lr,
            seconds=seconds,
            images_per_second=n_seen / seconds if seconds > 0 else float("inf"),
            test_mu=test_mu.float().cpu() if test_mu is not None else None,
        )
        result.history.append(report_to_dict(report))
        if callback is not None and callback(report) == "stop":
            result.stopped_early = epoch < cfg.epochs
            break
    result.seconds = time.perf_counter() - t_start
    model.eval()
    return result
