"""Decode latency on the CPU with a shipped model: one z; a 30 x 30 manifold grid decoded and
tiled into one uint8 image; encoding the 10,000-image test set. Median and p95 after warm-up.

    python -m bench.decode_latency [--checkpoint checkpoints/fashion-mnist.safetensors] [--repeats 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.common import ROOT, report, summary  # noqa: E402
from vae_core.checkpoint import load_checkpoint  # noqa: E402
from vae_core.evaluate import encode  # noqa: E402
from vae_core.manifold import decode_images, manifold_image  # noqa: E402


def timed(fn, repeats: int, warmup: int = 5) -> dict:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return summary(out)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default=str(ROOT / "checkpoints" / "fashion-mnist.safetensors"))
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--grid", type=int, default=30)
    p.add_argument("--n-encode", type=int, default=10_000)
    p.add_argument("--out")
    a = p.parse_args(argv)
    ckpt = load_checkpoint(a.checkpoint)
    model = ckpt.model
    z1 = torch.randn(1, model.config.latent_dim)
    x = torch.rand(a.n_encode, model.config.input_dim)  # encoding cost does not depend on pixel values
    results = {
        "checkpoint": Path(a.checkpoint).name,
        "single_z_decode_to_uint8": timed(lambda: decode_images(model, z1), a.repeats),
        f"grid_{a.grid}x{a.grid}_decode_and_tile": timed(
            lambda: manifold_image(model, a.grid), max(20, a.repeats // 4)
        ),
        f"encode_{a.n_encode}": timed(lambda: encode(model, x), max(5, a.repeats // 20), warmup=2),
    }
    report("decode_latency", results, a.out)
    return results


if __name__ == "__main__":
    main()
