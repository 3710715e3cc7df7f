"""The floor under one training epoch: its FLOPs, and the device's measured matmul rate.

Counts the multiply-adds of one epoch of the default model (forward, and backward at twice
the forward), measures a large matrix product on the device (float32, bf16, and TF32 on
CUDA), and prints the time one epoch would take at that rate: no trainer can go much below.
Then times the epoch's own matrix products alone (the ones autograd runs, at the trainer's
default batch size, back to back): the part of an epoch that is arithmetic, so that what a
measured epoch takes beyond it is the rest (elementwise work, autograd, Adam, launches).

    python -m bench.floor [--device cpu|cuda] [--n-train 60000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.common import report  # noqa: E402
from vae_core.model import VAE, VAEConfig  # noqa: E402


def epoch_flops(cfg: VAEConfig, n: int) -> float:
    """2 FLOPs per multiply-add, x3 for forward + backward (grad wrt inputs and weights)."""
    model = VAE(cfg)
    macs = sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear))
    return 3 * 2 * macs * n


def matmul_rate(device: str, dtype: torch.dtype, size: int, repeats: int) -> float:
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * size**3 * repeats / (time.perf_counter() - t0)


def step_products(cfg: VAEConfig, batch: int, device: str, dtype: torch.dtype):
    """The matrix products of one training step: for each layer, the forward product, the
    weight gradient, and the input gradient (not for the first layer: x needs no gradient)."""
    model = VAE(cfg)
    widths = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    first = widths[0]
    ops = []
    for i, (w_in, w_out) in enumerate(widths):
        x = torch.randn(batch, w_in, device=device, dtype=dtype)
        w = torch.randn(w_out, w_in, device=device, dtype=dtype)
        g = torch.randn(batch, w_out, device=device, dtype=dtype)
        ops += [(x, w.t()), (g.t(), x)] + ([(g, w)] if i > 0 or (w_in, w_out) != first else [])
    return ops


def step_matmul_seconds(ops, device: str, repeats: int) -> float:
    """Median seconds for one step's products, run back to back."""
    import statistics

    times = []
    for _ in range(repeats + 3):
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for a, b in ops:
            a @ b
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times[3:])


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--n-train", type=int, default=60000)
    p.add_argument("--size", type=int, default=0, help="matmul side (default 2048 CPU, 8192 CUDA)")
    p.add_argument("--out")
    a = p.parse_args(argv)
    device = "cuda" if a.device == "auto" and torch.cuda.is_available() else ("cpu" if a.device == "auto" else a.device)
    size = a.size or (8192 if device == "cuda" else 2048)
    repeats = 20 if device == "cuda" else 5
    flops = epoch_flops(VAEConfig(), a.n_train)
    rates = {
        "float32": matmul_rate(device, torch.float32, size, repeats),
        "bfloat16": matmul_rate(device, torch.bfloat16, size, repeats),
    }
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        rates["tf32"] = matmul_rate(device, torch.float32, size, repeats)
    batch = 512 if device == "cuda" else 256  # the trainer's defaults
    steps = max(1, a.n_train // batch)
    products = {}
    fp32_name = "tf32" if device == "cuda" else "float32"  # TF32 is on for CUDA from here
    for name, dtype in ((fp32_name, torch.float32), ("bfloat16", torch.bfloat16)):
        ops = step_products(VAEConfig(), batch, device, dtype)
        products[name] = 1000 * steps * step_matmul_seconds(ops, device, 50 if device == "cuda" else 20)
    results = {
        "device": device,
        "epoch_tflop": flops / 1e12,
        "matmul_tflops": {k: v / 1e12 for k, v in rates.items()},
        "epoch_floor_ms": {k: 1000 * flops / v for k, v in rates.items()},
        "matmul_size": size,
        "epoch_products_alone_ms": products,  # the epoch's own products, back to back
        "batch": batch,
        "steps_per_epoch": steps,
    }
    report("floor", results, a.out)
    return results


if __name__ == "__main__":
    main()
