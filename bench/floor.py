"""The floor under one training epoch: its FLOPs, and the device's measured matmul rate.

Counts the multiply-adds of one epoch of the default model (forward, and backward at twice
the forward), measures a large matrix product on the device (float32, bf16, and TF32 on
CUDA), and prints the time one epoch would take at that rate: no trainer can go much below.

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
    results = {
        "device": device,
        "epoch_tflop": flops / 1e12,
        "matmul_tflops": {k: v / 1e12 for k, v in rates.items()},
        "epoch_floor_ms": {k: 1000 * flops / v for k, v in rates.items()},
        "matmul_size": size,
    }
    report("floor", results, a.out)
    return results


if __name__ == "__main__":
    main()
