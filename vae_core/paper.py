"""The paper's experiments: AEVB against wake-sleep (Kingma & Welling 2013, Fig. 2) and samples
from models of several latent sizes (Fig. 5).

The paper's protocol (section 5): an encoder and a decoder with one hidden layer (500 units for
MNIST, 200 for Frey Face; tanh), minibatches of M = 100, L = 1, parameters initialised from
N(0, 0.01) (read here as a standard deviation of 0.01), Adagrad with a global step size chosen
from {0.01, 0.02, 0.1} by the bound after the first iterations, and a weight decay that is the
gradient of a prior p(theta) = N(0, I) on the parameters. Both algorithms run the same
protocol; each curve is the estimated ELBO per datapoint (vae_core.evaluate.evaluate, the same
for both) on the training and the test set against the number of training samples evaluated.

A curve is resumable: its state (weights, Adagrad's sums, the generator, the points so far) is
saved in a work folder at every evaluation point, and a run with a larger budget continues it.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .data import PIXELS, Dataset, binarize, eval_pixels
from .datasets import DATASETS
from .elbo import elbo_terms, seeded_generator
from .errors import ConfigError
from .evaluate import evaluate
from .model import VAE, VAEConfig
from .wake_sleep import wake_sleep_loss

ALGORITHMS = ("aevb", "wake-sleep")
STEP_SIZES = (0.01, 0.02, 0.1)  # the paper's choices of Adagrad's global step size
PAPER_LATENTS = {"mnist": (3, 5, 10, 20, 200), "freyface": (2, 5, 10, 20)}  # Fig. 2's N_z
OTHER_LATENTS = (3, 5, 10, 20, 200)  # datasets the paper did not use: MNIST's
FIG5_LATENTS = (2, 5, 10, 20)
PAPER_HIDDEN = {"freyface": 200}  # every other dataset: 500, as for MNIST
POINTS_PER_DECADE = 8  # evaluation points on the log axis of training samples


@dataclass(frozen=True)
class Protocol:
    """How one curve is trained and scored (the paper's values by default)."""

    hidden: int = 500  # units of the one hidden layer (tanh), encoder and decoder
    batch_size: int = 100  # M
    step_sizes: tuple[float, ...] = STEP_SIZES  # Adagrad's global step size is chosen from these
    select_samples: int = 10_000  # training samples each step size runs before the choice
    init_std: float = 0.01  # parameters ~ N(0, init_std^2)
    weight_decay: bool = True  # the gradient of log N(theta; 0, I), per datapoint: theta / N
    pixels: str = "auto"  # auto: a Bernoulli draw per step for a bernoulli decoder, continuous for gaussian
    eval_n: int = 10_000  # images of each split the bound is estimated on (the first eval_n)
    seed: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.hidden <= 4096 or not 1 <= self.batch_size <= 10_000:
            raise ConfigError("hidden must be from 1 to 4096 and batch_size from 1 to 10000")
        if not self.step_sizes or any(not (0 < s <= 10) for s in self.step_sizes):
            raise ConfigError(f"step sizes must be in (0, 10], got {self.step_sizes}")
        if self.select_samples < self.batch_size or self.eval_n < 1 or self.init_std <= 0:
            raise ConfigError("select_samples must be >= batch_size, eval_n >= 1, init_std > 0")
        if self.pixels not in ("auto", *PIXELS):
            raise ConfigError(f"pixels must be auto or one of {PIXELS}, got {self.pixels!r}")

    def pixels_for(self, config: VAEConfig) -> str:
        """Binary decoders see a Bernoulli draw of each image per step (the sleep phase dreams 0/1
        pixels, so its recognition model must meet 0/1 data); gaussian ones continuous pixels."""
        if self.pixels != "auto":
            return self.pixels
        return "dynamic" if config.likelihood == "bernoulli" else "continuous"

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:10]


def paper_hidden(dataset: str) -> int:
    return PAPER_HIDDEN.get(dataset, 500)


def paper_latents(dataset: str) -> tuple[int, ...]:
    return PAPER_LATENTS.get(dataset, OTHER_LATENTS)


def model_config(data: Dataset, latent_dim: int, hidden: int) -> VAEConfig:
    """The paper's network for `data`: one tanh hidden layer; the dataset's likelihood."""
    info = DATASETS.get(data.name)
    defaults = dict(info.defaults) if info else {}
    keep = ("likelihood", "gaussian_variance", "gaussian_std", "gaussian_min_std")
    return VAEConfig(
        input_shape=data.image_shape,
        hidden=(hidden,),
        latent_dim=latent_dim,
        activation="tanh",
        **{k: defaults[k] for k in keep if k in defaults},
    )


@torch.no_grad()
def paper_init(model: VAE, generator: torch.Generator, std: float = 0.01) -> VAE:
    """Every weight and bias drawn from N(0, std^2), from `generator`."""
    for p in model.parameters():
        p.normal_(0.0, std, generator=generator)
    return model


def eval_points(max_samples: int, batch: int) -> list[int]:
    """Training-sample counts where a curve is evaluated: POINTS_PER_DECADE per decade from one
    batch, rounded to whole batches, up to and including max_samples."""
    points, e = set(), 0
    while True:
        n = batch * max(1, round(10 ** (e / POINTS_PER_DECADE)))
        if n > max_samples:
            break
        points.add(n)
        e += 1
    points.add(max(batch, max_samples // batch * batch))
    return sorted(points)


def _loss(algorithm: str, model: VAE, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    if algorithm == "aevb":
        return -elbo_terms(model, x, "analytic", 1, gen).elbo.mean()  # estimator B, L = 1
    return wake_sleep_loss(model, x, gen)


class Run:
    """One model trained by one algorithm at one step size: the state a curve resumes from."""

    def __init__(self, algorithm: str, config: VAEConfig, protocol: Protocol, lr: float, n_train: int):
        if algorithm not in ALGORITHMS:
            raise ConfigError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
        self.algorithm, self.protocol, self.lr = algorithm, protocol, lr
        self.pixels = protocol.pixels_for(config)
        gen = seeded_generator(protocol.seed)
        self.model = paper_init(VAE(config, generator=gen), gen, protocol.init_std)
        decay = 1.0 / n_train if protocol.weight_decay else 0.0
        self.opt = torch.optim.Adagrad(self.model.parameters(), lr=lr, weight_decay=decay)
        self.gen = seeded_generator(protocol.seed + 1)  # minibatches, binarisation, z and dreams
        self.perm = torch.randperm(n_train, generator=self.gen)
        self.pos = 0  # next index into perm
        self.seen = 0  # training samples evaluated so far
        self.points: list[list[float]] = []  # [samples, train bound, test bound], nats per image
        self.diverged = False
        self.seconds = 0.0  # training time (not evaluation)

    def train_to(self, x_train: torch.Tensor, samples: int, on_step: Callable[[int], None] | None = None) -> None:
        """Steps of one minibatch until `samples` training samples have been evaluated."""
        m = self.protocol.batch_size
        self.model.train()
        t0 = time.perf_counter()
        while self.seen + m <= samples and not self.diverged:
            if self.pos + m > len(self.perm):
                self.perm, self.pos = torch.randperm(len(x_train), generator=self.gen), 0
            xb = x_train[self.perm[self.pos : self.pos + m]]
            self.pos += m
            xb = binarize(xb, self.pixels, self.gen)
            loss = _loss(self.algorithm, self.model, xb, self.gen)
            if not torch.isfinite(loss):
                self.diverged = True
                break
            self.opt.zero_grad(set_to_none=True)
            loss.backward()
            self.opt.step()
            self.seen += m
            if on_step:
                on_step(m)
        self.seconds += time.perf_counter() - t0
        self.model.eval()

    def bound(self, x: torch.Tensor) -> float:
        """The estimated ELBO per image on x (nats), or -inf where the model has diverged."""
        if self.diverged:
            return -math.inf
        value = evaluate(self.model, x, k=0, seed=self.protocol.seed + 2).elbo
        return value if math.isfinite(value) else -math.inf

    def state(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "opt": self.opt.state_dict(),
            "gen": self.gen.get_state(),
            "perm": self.perm,
            "pos": self.pos,
            "seen": self.seen,
            "points": self.points,
            "diverged": self.diverged,
            "seconds": self.seconds,
            "lr": self.lr,
        }

    def load(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.opt.load_state_dict(state["opt"])
        self.gen.set_state(state["gen"])
        self.perm, self.pos, self.seen = state["perm"], state["pos"], state["seen"]
        self.points, self.diverged, self.seconds = state["points"], state["diverged"], state["seconds"]


@dataclass
class Curve:
    dataset: str  # registry name
    title: str  # for the figure, with the sizes of the splits
    n_train: int
    n_test: int
    latent_dim: int
    algorithm: str
    lr: float  # the chosen step size
    lr_scores: dict[str, float]  # step size -> training bound after select_samples
    points: list[list[float]]  # [samples, train bound, test bound]
    diverged: bool
    seconds: float  # training time of the chosen run, selection excluded
    model: VAE | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d.pop("model")
        return d


def dataset_title(data: Dataset) -> str:
    info = DATASETS.get(data.name)
    return f"{info.title if info else data.name} ({len(data.x_train)}/{len(data.x_test)})"


def train_curve(
    data: Dataset,
    algorithm: str,
    latent_dim: int,
    protocol: Protocol,
    samples: int,
    work_dir: str | Path | None = None,
    on_step: Callable[[int], None] | None = None,
) -> Curve:
    """Train (or resume, from `work_dir`) one curve to `samples` training samples.

    Without a saved state, each step size of the protocol is tried for select_samples
    samples from the same initialisation; the one with the highest training bound goes on.
    """
    config = model_config(data, latent_dim, protocol.hidden)
    pixels = protocol.pixels_for(config)
    x_train = data.x_train
    x_eval_train = eval_pixels(x_train[: protocol.eval_n], pixels)  # the first eval_n, one fixed draw
    x_eval_test = eval_pixels(data.x_test[: protocol.eval_n], pixels)
    tag = f"{data.name}-{len(data.x_train)}-{algorithm}-nz{latent_dim}-{protocol.key()}"
    path = Path(work_dir) / f"{tag}.pt" if work_dir else None
    points_at = eval_points(samples, protocol.batch_size)

    def advance(run: Run, until: int, save: bool = True) -> None:
        for n in points_at:
            if run.seen < n <= until and not run.diverged:
                run.train_to(x_train, n, on_step)
                if run.seen == n:
                    run.points.append([n, run.bound(x_eval_train), run.bound(x_eval_test)])
                    if path and save:
                        save_state(path, {"run": run.state(), "lr_scores": lr_scores})

    lr_scores: dict[str, float] = {}
    saved = load_state(path) if path and path.is_file() else None
    if saved is not None:
        lr_scores = saved["lr_scores"]
        run = Run(algorithm, config, protocol, saved["run"]["lr"], len(x_train))
        run.load(saved["run"])
    else:
        runs = []
        for lr in protocol.step_sizes:
            r = Run(algorithm, config, protocol, lr, len(x_train))
            advance(r, min(samples, protocol.select_samples), save=False)
            lr_scores[repr(lr)] = r.bound(x_eval_train)
            runs.append(r)
        run = max(runs, key=lambda r: lr_scores[repr(r.lr)])
        if path:
            save_state(path, {"run": run.state(), "lr_scores": lr_scores})
    advance(run, samples)
    return Curve(
        dataset=data.name,
        title=dataset_title(data),
        n_train=len(data.x_train),
        n_test=len(data.x_test),
        latent_dim=latent_dim,
        algorithm=algorithm,
        lr=run.lr,
        lr_scores=lr_scores,
        points=[p for p in run.points if p[0] <= samples],
        diverged=run.diverged,
        seconds=run.seconds,
        model=run.model,
    )


def save_state(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)  # atomic: an interrupted run leaves the last whole state


def load_state(path: Path) -> dict | None:
    try:
        return torch.load(path, weights_only=True)
    except Exception:  # a state from another version or a damaged file: start the curve again
        return None


def curve_cost(protocol: Protocol, samples: int) -> int:
    """Training samples one curve costs from scratch, the step-size selection included."""
    select = min(samples, protocol.select_samples)
    return samples + (len(protocol.step_sizes) - 1) * select


@torch.no_grad()
def prior_samples(model: VAE, n: int, seed: int = 0) -> torch.Tensor:
    """Decoder means of n draws z ~ N(0, I) (Fig. 5): (n, C, H, W) in [0, 1]."""
    gen = seeded_generator(seed, next(model.parameters()).device)
    z = torch.randn((n, model.config.latent_dim), generator=gen, device=next(model.parameters()).device)
    return model.decode(z).cpu()
