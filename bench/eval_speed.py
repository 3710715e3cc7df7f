"""The importance-weighted evaluation, float32 against bf16 decoder passes, side by side.

Times vae_core.evaluate on a checkpoint's test set with k importance samples per image in
each precision (alternating, `--rounds` times each) and reports the estimates and their
difference, so the speed and the agreement come from the same run:

    python -m bench.eval_speed --checkpoint checkpoints/fashion-mnist.safetensors --k 500
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a file or a module

from bench.common import report  # noqa: E402
from vae_core.checkpoint import load_checkpoint  # noqa: E402
from vae_core.data import eval_pixels, load_dataset  # noqa: E402
from vae_core.evaluate import evaluate  # noqa: E402


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/fashion-mnist.safetensors")
    p.add_argument("--data-dir", default=None, help="the dataset's files (default: where vae_core finds them)")
    p.add_argument("--on-sample", action="store_true", help="use the test sample stored in the checkpoint")
    p.add_argument("--k", type=int, default=500)
    p.add_argument("--n", type=int, default=0, help="the first n test images (0: all)")
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--out", help="write the JSON results here")
    a = p.parse_args(argv)
    ckpt = load_checkpoint(a.checkpoint)
    if a.on_sample:
        x = ckpt.sample_x()
    else:
        x = eval_pixels(load_dataset(ckpt.meta["dataset"]["name"], a.data_dir, download=False).x_test, ckpt.pixels)
    x = x[: a.n] if a.n else x
    runs: dict[str, list] = {"float32": [], "bf16": []}
    for _ in range(a.rounds):
        for precision in runs:
            t0 = time.perf_counter()
            m = evaluate(ckpt.model, x, k=a.k, precision=precision)
            runs[precision].append({"seconds": time.perf_counter() - t0, "iw": m.iw_ll, "se": m.iw_se})
            print(f"{precision}: {runs[precision][-1]['seconds']:.2f} s, IW {m.iw_ll:.3f} ± {m.iw_se:.3f}", flush=True)
    med = {p: statistics.median(r["seconds"] for r in rs) for p, rs in runs.items()}
    results = {
        "checkpoint": a.checkpoint,
        "k": a.k,
        "n_images": len(x),
        "runs": runs,
        "median_seconds": med,
        "ratio_float32_over_bf16": med["float32"] / med["bf16"],
        "iw_difference_bf16_minus_float32": runs["bf16"][0]["iw"] - runs["float32"][0]["iw"],
        "iw_standard_error": runs["float32"][0]["se"],
    }
    report("eval_speed", results, a.out)
    return results


if __name__ == "__main__":
    main()
