"""Command line: `python -m vae_core train|eval|manifold ...` (see --help of each)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .errors import VAECoreError


def _parser() -> argparse.ArgumentParser:
    from .datasets import NAMES
    from .pipeline import DEFAULT_EVAL_IMAGES, DEFAULT_EVAL_K, FULL_EVAL_K
    from .settings import add_arguments

    p = argparse.ArgumentParser(prog="python -m vae_core", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    tr = sub.add_parser(
        "train",
        help="train a VAE and save a checkpoint",
        description="Train a VAE and save a checkpoint. Every setting left out takes the dataset's default.",
    )
    tr.add_argument("--dataset", required=True, choices=NAMES)
    tr.add_argument("--out", required=True, help="checkpoint file to write (.safetensors)")
    tr.add_argument("--data-dir", help="folder with the dataset's raw IDX files")
    add_arguments(tr)  # one option per field of VAEConfig and TrainConfig
    tr.add_argument(
        "--eval-k", type=int, default=DEFAULT_EVAL_K, help="importance samples for the final IW estimate (0: none)"
    )
    tr.add_argument(
        "--eval-n",
        type=int,
        default=DEFAULT_EVAL_IMAGES,
        help="test images for the IW estimate, the first n (0: all); its standard error is printed",
    )
    tr.add_argument(
        "--full-eval",
        action="store_true",
        help=f"the full evaluation: k={FULL_EVAL_K} on every test image (overrides --eval-k and --eval-n)",
    )
    tr.add_argument("--sample-size", type=int, default=2000, help="test images stored in the checkpoint")

    ev = sub.add_parser("eval", help="test ELBO and importance-weighted log-likelihood of a checkpoint")
    ev.add_argument("path")
    ev.add_argument("--k", type=int, default=500, help="importance samples per image")
    ev.add_argument(
        "--precision",
        default="float32",
        choices=["float32", "bf16", "auto"],
        help="the IW decoder passes: float32, bf16 (densities stay float32), or auto (bf16 where the CPU has it)",
    )
    ev.add_argument("--data-dir")
    ev.add_argument("--on-sample", action="store_true", help="use the test sample stored in the file (offline)")
    ev.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])

    mf = sub.add_parser("manifold", help="draw the learned manifold (the paper's Fig. 4) as PNG")
    mf.add_argument("path")
    mf.add_argument("--out", required=True)
    mf.add_argument("--n", type=int, default=20)
    mf.add_argument("--spacing", default="icdf", choices=["icdf", "linear"])
    mf.add_argument(
        "--range",
        type=float,
        nargs=4,
        metavar=("Z1LO", "Z1HI", "Z2LO", "Z2HI"),
        help="linear spacing bounds; default: where the stored test sample lies",
    )
    mf.add_argument("--scale", type=int, default=1, help="enlarge each pixel this many times")
    return p


def cmd_train(a: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .data import load_dataset
    from .elbo import seeded_generator
    from .model import VAE
    from .pipeline import FULL_EVAL_K, finish_training
    from .settings import build_configs, values_from_args
    from .train import resolve_device, train

    model_cfg, train_cfg = build_configs(a.dataset, values_from_args(a))  # refuse bad settings before loading data
    if a.eval_k < 0 or a.eval_n < 0 or a.sample_size < 0:
        raise VAECoreError("--eval-k, --eval-n and --sample-size must be >= 0")
    eval_k, eval_n = (FULL_EVAL_K, 0) if a.full_eval else (a.eval_k, a.eval_n)
    device = resolve_device(train_cfg.device)
    if device.type == "cuda":
        import torch

        torch.set_float32_matmul_precision("high")  # TF32: this process is ours to configure
    data = load_dataset(a.dataset, a.data_dir)
    model = VAE(model_cfg, generator=seeded_generator(train_cfg.seed))
    print(
        f"{data.name}: {len(data.x_train)} train / {len(data.x_test)} test images from {data.source}; device {device}"
    )
    bar = tqdm(total=train_cfg.epochs, unit="epoch", file=sys.stderr, disable=None)

    def on_epoch(r):
        bar.update(1)
        tqdm.write(
            f"epoch {r.epoch:3d}/{r.epochs}  train -elbo {-r.train['elbo']:8.2f}  test -elbo {-r.test['elbo']:8.2f}"
            f"  recon {-r.test['recon']:8.2f}  kl {r.test['kl']:6.2f}  beta {r.beta:.2f}"
            f"  {r.seconds:6.2f}s  {r.images_per_second:9.0f} img/s"
        )

    t0 = time.perf_counter()
    result = train(model, data, train_cfg, on_epoch)
    bar.close()
    n_iw = min(eval_n or len(data.x_test), len(data.x_test))
    print(f"trained in {time.perf_counter() - t0:.1f} s; evaluating (k={eval_k} on {n_iw} test images) ...")
    ckpt_path, metrics = finish_training(
        a.out,
        result,
        data,
        train_cfg,
        eval_k=eval_k,
        sample_size=a.sample_size,
        command="python -m vae_core " + " ".join(sys.argv[1:]),
        eval_images=eval_n or None,
        precision="auto",
    )
    print(f"test ELBO {metrics['test_elbo']:.2f} nats ({metrics['n_test']} test images; {metrics['test_pixels']})")
    if metrics["test_iw_ll"] is not None:
        se = f" ± {metrics['test_iw_se']:.2f} (standard error over images)" if metrics["test_iw_se"] else ""
        print(
            f"{metrics['score_name']}, k={metrics['k']}, {metrics['iw_n_test']} of {metrics['n_test']} test images: "
            f"{metrics['test_iw_ll']:.2f}{se} nats"
        )
        if metrics["iw_n_test"] < metrics["n_test"] or metrics["k"] < FULL_EVAL_K:
            print(f"  (the full evaluation: --full-eval, or later: python -m vae_core eval {a.out})")
    print(f"saved {ckpt_path}")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    from .checkpoint import load_checkpoint
    from .data import eval_pixels, eval_protocol, load_dataset
    from .evaluate import evaluate
    from .scores import score_name
    from .train import resolve_device

    ckpt = load_checkpoint(a.path)
    ds = ckpt.meta.get("dataset", {})
    if a.on_sample:
        x = ckpt.sample_x()
        if x is None:
            raise VAECoreError(f"{a.path} stores no test sample; drop --on-sample and give --data-dir")
        name = f"{ds.get('name')} (stored sample)"
    else:
        data = load_dataset(ds.get("name", "?"), a.data_dir)
        x = eval_pixels(data.x_test, ds.get("pixels", "continuous"))
        name = data.name
    device = resolve_device(a.device)
    ckpt.model.to(device)
    print(f"evaluating {a.path} on {len(x)} images of {name} with k={a.k} on {device} ...", file=sys.stderr)
    m = evaluate(ckpt.model, x, k=a.k, precision=a.precision)
    out = {
        "test_elbo": m.elbo,
        "test_iw_ll": m.iw_ll,
        "test_iw_se": m.iw_se,
        "score_name": score_name(ckpt.meta),
        "test_pixels": eval_protocol(ckpt.pixels),
        "precision": m.precision,
        "k": m.k,
        "dataset": name,
        "n_test": m.n,
        "recon": m.recon,
        "kl": m.kl,
        "kl_per_dim": m.kl_per_dim,
        "active_units": m.active_units,
    }
    print(json.dumps(out))
    return 0


def cmd_manifold(a: argparse.Namespace) -> int:
    from .checkpoint import atomic_write, load_checkpoint
    from .evaluate import encode
    from .manifold import data_range, manifold_image, png_bytes

    ckpt = load_checkpoint(a.path)
    lo, hi = (-3.0, -3.0), (3.0, 3.0)
    if a.spacing == "linear":
        if a.range:
            lo, hi = (a.range[0], a.range[2]), (a.range[1], a.range[3])
        elif ckpt.sample_x() is not None:
            lo, hi = data_range(encode(ckpt.model, ckpt.sample_x())[0])
    if not 1 <= a.scale <= 16:
        raise VAECoreError(f"--scale must be from 1 to 16, got {a.scale}")
    image, _, _ = manifold_image(ckpt.model, a.n, a.spacing, lo, hi)
    atomic_write(a.out, png_bytes(image, a.scale))
    print(f"wrote {a.out} ({image.shape[1] * a.scale}x{image.shape[0] * a.scale} pixels, {a.n}x{a.n} grid)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = {"train": cmd_train, "eval": cmd_eval, "manifold": cmd_manifold}[args.command]
    try:
        return handler(args)
    except VAECoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; nothing was saved", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
