"""How vae_core's training time grows with the training set and with the batch size.

For each size (the Fashion-MNIST training set cut to N, or repeated to reach N) and each
batch size, train --epochs epochs and report the median seconds per epoch after the first
(which includes warm-up), and the throughput in images per second.

    python -m bench.scaling --data-dir /usr/share/datasets/fashion-mnist [--sizes 1000 10000 60000 600000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench.common import report  # noqa: E402
from vae_core.data import load_dataset  # noqa: E402
from vae_core.model import VAE, VAEConfig  # noqa: E402
from vae_core.train import TrainConfig, train  # noqa: E402


def epoch_seconds(data, n: int, batch: int, epochs: int, device: str) -> dict:
    x, y = data.x_train, data.y_train
    reps = -(-n // len(x))
    data.x_train, data.y_train = x.repeat(reps, 1)[:n], y.repeat(reps)[:n]
    secs = []
    cfg = TrainConfig(epochs=epochs, batch_size=min(batch, n), device=device, seed=0)
    train(VAE(VAEConfig(input_shape=data.image_shape)), data, cfg, lambda r: secs.append(r.seconds))
    data.x_train, data.y_train = x, y
    steady = statistics.median(secs[1:] if len(secs) > 1 else secs)
    return {
        "n": n,
        "batch": min(batch, n),
        "seconds_per_epoch": steady,
        "images_per_second": n / steady,
        "microseconds_per_image": 1e6 * steady / n,
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 60000, 600000])
    p.add_argument("--batches", type=int, nargs="+", default=[64, 128, 256, 512, 1024, 2048])
    p.add_argument("--batch-n", type=int, default=60000, help="training-set size for the batch sweep")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--out")
    a = p.parse_args(argv)
    device = "cuda" if a.device == "auto" and torch.cuda.is_available() else ("cpu" if a.device == "auto" else a.device)
    data = load_dataset("fashion-mnist", a.data_dir, download=False)
    data.x_test, data.y_test = data.x_test[:2000], data.y_test[:2000]
    default_batch = TrainConfig().batch_size or (512 if device == "cuda" else 256)
    by_size = []
    for n in a.sizes:
        by_size.append(epoch_seconds(data, n, default_batch, a.epochs, device))
        print(by_size[-1], flush=True)
    by_batch = []
    for b in a.batches:
        by_batch.append(epoch_seconds(data, a.batch_n, b, a.epochs, device))
        print(by_batch[-1], flush=True)
    results = {"device": device, "by_size": by_size, "by_batch": by_batch}
    report("scaling", results, a.out)
    return results


if __name__ == "__main__":
    main()
