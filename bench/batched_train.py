"""A class of models: one batched job (vae_core.batched) against training them one by one.

    python -m bench.batched_train --dataset digits --models 30 --epochs 30
    python -m bench.batched_train --dataset fashion-mnist --data-dir /usr/share/datasets/fashion-mnist --models 30 --epochs 3
    python -m bench.batched_train --dataset digits --scaling 1,2,4,8,16,32 --epochs 3 --skip-alone
    python -m bench.batched_train --dataset digits --models 30 --gradient-steps 20 --skip-alone --epochs 1

(a) batched: the M models (seeds 0..M-1, betas cycling over 0.25 .. 4, the dataset's defaults
    otherwise) trained by vae_core.batched.train_batched in one job;
(b) today's path, approximated: the same M runs through vae_core.train, two at a time (two
    threads, as the app's two training slots run them; not through the app's queue itself).
Both in one process, one after the other; wall time for the whole class and each model's final
test ELBO. --scaling times the batched job for each M. --gradient-steps compares, per step,
the gradient of M stacked models by batched products (vae_core.batched) and by
torch.func.stack_module_state + vmap(grad).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a file or a module

import torch  # noqa: E402

from bench.common import report  # noqa: E402
from vae_core import VAE, build_configs, load_dataset, train  # noqa: E402
from vae_core.batched import Member, StackedVAE, _Job, _terms, train_batched  # noqa: E402
from vae_core.elbo import seeded_generator  # noqa: E402

BETAS = (0.25, 0.5, 1.0, 2.0, 4.0)


def class_members(dataset: str, m: int, epochs: int, device: str, cpu_bf16: str) -> list[Member]:
    return [
        Member(
            *build_configs(
                dataset,
                {"seed": i, "beta": BETAS[i % len(BETAS)], "epochs": epochs, "device": device, "cpu_bf16": cpu_bf16},
            )
        )
        for i in range(m)
    ]


def run_batched(members, data) -> dict:
    t0 = time.perf_counter()
    results = train_batched(members, data)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "statuses": [r.status for r in results],
        "test_elbo": [r.result.history[-1]["test"]["elbo"] for r in results],
        "precision": results[0].result.precision,
    }


def run_alone_two_at_a_time(members, data) -> dict:
    def one(member):
        model = VAE(member.model, generator=seeded_generator(member.train.seed))
        r = train(model, data, member.train)
        return r.history[-1]["test"]["elbo"], r.precision

    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        out = list(pool.map(one, members))
    return {"seconds": time.perf_counter() - t0, "test_elbo": [e for e, _ in out], "precision": out[0][1]}


class _NegELBO(torch.nn.Module):
    """-ELBO of one Bernoulli VAE on a batch with given eps, as a module for functional_call."""

    def __init__(self, vae: VAE):
        super().__init__()
        self.vae = vae

    def forward(self, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        mu, logvar = self.vae.encode(x)
        logits, _ = self.vae.decode_logits(mu + torch.exp(0.5 * logvar) * eps[0])
        recon = -torch.nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
        kl = (-0.5 * (1 + logvar - mu**2 - torch.exp(logvar))).sum(-1)
        return -(recon - kl).mean()


def gradient_steps(members, data, steps: int) -> dict:
    """Seconds per gradient of M stacked models: batched products vs vmap over a functional call."""
    from torch.func import functional_call, grad, stack_module_state, vmap

    device = torch.device("cpu")
    m = len(members)
    models = [VAE(x.model, generator=seeded_generator(x.train.seed)) for x in members]
    batch = members[0].train.batch_size or 256
    g = torch.Generator().manual_seed(0)
    x = data.x_train[torch.randint(len(data.x_train), (m, batch), generator=g)]
    eps = torch.randn(m, 1, batch, members[0].model.latent_dim, generator=g)

    net = StackedVAE(models, device)
    job = _Job(torch.full((m,), 0.1), torch.full((m,), 0.01))
    job.beta.fill_(1.0)

    def stacked():
        recon, kl = _terms(net, job, x, eps, "analytic")
        net.backward(-(recon - kl).mean(1).sum())

    params, _ = stack_module_state(models)
    loss_module = _NegELBO(models[0])
    params = {"vae." + k: v for k, v in params.items()}
    vgrad = vmap(grad(lambda p, xb, e: functional_call(loss_module, p, (xb, e))))

    def vmapped():
        vgrad(params, x, eps)

    out = {}
    for name, fn in (("batched_products", stacked), ("vmap", vmapped)):
        for _ in range(3):
            fn()
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        out[name] = {"median_ms": 1000 * statistics.median(times), "steps": steps}
    out["ratio_vmap_over_batched"] = out["vmap"]["median_ms"] / out["batched_products"]["median_ms"]
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--data-dir")
    p.add_argument("--models", type=int, default=30)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--cpu-bf16", default="auto", choices=["auto", "on", "off"])
    p.add_argument("--n-train", type=int, default=0, help="use only the first n training images (0: all)")
    p.add_argument("--skip-alone", action="store_true", help="do not run the one-by-one comparison")
    p.add_argument("--scaling", default="", help="comma-separated M to time the batched job at, e.g. 1,2,4,8")
    p.add_argument("--gradient-steps", type=int, default=0, help="also compare batched products with vmap")
    p.add_argument("--json", help="also write the results to this file")
    a = p.parse_args(argv)

    data = load_dataset(a.dataset, a.data_dir)
    if a.n_train:
        data.x_train, data.y_train = data.x_train[: a.n_train], data.y_train[: a.n_train]
    members = class_members(a.dataset, a.models, a.epochs, a.device, a.cpu_bf16)
    out: dict = {"dataset": a.dataset, "models": a.models, "epochs": a.epochs, "n_train": len(data.x_train)}
    # Warm up both paths first (the first optimizer step of a process imports and sets up for seconds).
    warm = class_members(a.dataset, 2, 1, a.device, a.cpu_bf16)
    run_batched(warm, data)
    run_alone_two_at_a_time(warm, data)
    out["batched"] = run_batched(members, data)
    if not a.skip_alone:
        out["alone_two_at_a_time"] = run_alone_two_at_a_time(members, data)
        diffs = [abs(x - y) for x, y in zip(out["batched"]["test_elbo"], out["alone_two_at_a_time"]["test_elbo"])]
        out["max_abs_elbo_difference"] = max(diffs)
        out["ratio_alone_over_batched"] = out["alone_two_at_a_time"]["seconds"] / out["batched"]["seconds"]
    if a.scaling:
        out["scaling"] = {}
        for m in (int(v) for v in a.scaling.split(",")):
            r = run_batched(class_members(a.dataset, m, a.epochs, a.device, a.cpu_bf16), data)
            out["scaling"][m] = {"seconds": r["seconds"], "seconds_per_model": r["seconds"] / m}
    if a.gradient_steps:
        out["gradient"] = gradient_steps(members, data, a.gradient_steps)
    report("batched_train", out, a.json)
    return out


if __name__ == "__main__":
    main()
