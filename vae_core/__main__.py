"""Command line: `python -m vae_core train|sweep|eval|manifold|estimators|paper ...` (see --help of each)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .errors import VAECoreError


def _parser() -> argparse.ArgumentParser:
    from .datasets import NAMES
    from .pipeline import DEFAULT_EVAL_IMAGES, DEFAULT_EVAL_K, FULL_EVAL_K
    from .settings import add_arguments, add_sweep_arguments

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

    sw = sub.add_parser(
        "sweep",
        help="train many models of one architecture as one batched job (a class experiment)",
        description="Train one model per combination of the swept values, as one batched job, and write a "
        "checkpoint per model and results.csv / results.json. A swept setting takes values separated by "
        "commas (--beta 0.5,1,2); every combination is trained. Settings that change shapes "
        "(hidden, latent size, batch size, L) take one value.",
    )
    sw.add_argument("--dataset", required=True, choices=NAMES)
    sw.add_argument("--out", required=True, help="folder to write the checkpoints and results into")
    sw.add_argument("--data-dir", help="folder with the dataset's raw IDX files")
    add_sweep_arguments(sw)
    sw.add_argument("--eval-k", type=int, default=0, help="importance samples for each model's IW estimate (0: none)")
    sw.add_argument("--eval-n", type=int, default=DEFAULT_EVAL_IMAGES, help="test images for the IW estimate")
    sw.add_argument("--sample-size", type=int, default=2000, help="test images stored in each checkpoint")

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

    es = sub.add_parser(
        "estimators",
        help="variance of estimators A and B (ELBO and gradient) for L = 1, 4, 16; last line JSON",
    )
    es.add_argument("path")
    es.add_argument("--images", type=int, default=500, help="stored test images to average over")
    es.add_argument("--repeats", type=int, default=200, help="independent draws of eps per image and L")
    es.add_argument("--seed", type=int, default=0, help="seed of the torch.Generator that draws eps")

    pa = sub.add_parser(
        "paper",
        help="the paper's Fig. 2 (AEVB vs wake-sleep) and Fig. 5 (prior samples), as PNG, CSV and JSON",
        description="Reproduce Kingma & Welling's Fig. 2 or Fig. 5 under the paper's protocol (vae_core/paper.py). "
        "Curves are saved in --work as they grow: run again to resume, or with a larger --samples to extend them.",
    )
    pa.add_argument("figure", choices=["fig2", "fig5"])
    pa.add_argument(
        "--datasets", nargs="+", default=["mnist"], choices=NAMES, metavar="NAME", help="rows of the figure"
    )
    pa.add_argument("--data-dir", action="append", default=[], metavar="[NAME=]DIR", help="folder of a dataset's files")
    pa.add_argument(
        "--latent",
        action="append",
        default=[],
        metavar="[NAME=]N,N,...",
        help="latent sizes N_z (default: the paper's, fig2 MNIST 3,5,10,20,200, Frey Face 2,5,10,20; fig5 2,5,10,20)",
    )
    pa.add_argument(
        "--samples",
        action="append",
        default=[],
        metavar="[NAME=]N",
        help="the budget: training samples evaluated per curve (default 1000000; the paper went to 10^8)",
    )
    pa.add_argument("--algorithms", nargs="+", default=["aevb", "wake-sleep"], choices=["aevb", "wake-sleep"])
    pa.add_argument("--hidden", type=int, help="hidden units (default: the paper's, 500; Frey Face 200)")
    pa.add_argument("--step-sizes", default="0.01,0.02,0.1", help="Adagrad step sizes to choose from")
    pa.add_argument(
        "--select-samples", type=int, default=10_000, help="training samples per step size before the choice"
    )
    pa.add_argument("--eval-n", type=int, default=10_000, help="images of each split the bound is estimated on")
    pa.add_argument("--seed", type=int, default=0)
    pa.add_argument("--images", type=int, default=100, help="fig5: prior samples per model")
    pa.add_argument("--out", default="docs/paper", help="folder for fig2.png/.csv/.json (or fig5.png/.json)")
    pa.add_argument("--work", help="folder of the resumable curve states (default: ~/.cache/vae_core/paper)")
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
    if metrics["test_elbo"] is None:  # an autoencoder: no KL, no bound on log p(x)
        print(f"autoencoder: test log p(x|z=mu) {metrics['test_recon']:.2f} nats (no ELBO: no KL term)")
    else:
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


def cmd_sweep(a: argparse.Namespace) -> int:
    from .batched import Member, parse_sweep, train_batched
    from .data import load_dataset
    from .settings import build_configs, sweep_texts_from_args, values_from_args
    from .sweep import write_results
    from .train import resolve_device

    fixed = values_from_args(a)
    grid = parse_sweep(sweep_texts_from_args(a))  # refuse bad values before loading data
    if a.eval_k < 0 or a.eval_n < 0 or a.sample_size < 0:
        raise VAECoreError("--eval-k, --eval-n and --sample-size must be >= 0")
    members = []
    for point in grid:
        values = {k: v for k, v in {**fixed, **point}.items() if k != "n_train"}
        members.append(Member(*build_configs(a.dataset, values), n_train=point.get("n_train")))
    device = resolve_device(members[0].train.device)
    if device.type == "cuda":
        import torch

        torch.set_float32_matmul_precision("high")  # TF32: this process is ours to configure
    data = load_dataset(a.dataset, a.data_dir)
    print(f"{data.name}: {len(members)} models as one batched job on {device}", file=sys.stderr)
    done = [0]

    def on_epoch(i, r):
        if r.epoch == r.epochs:
            done[0] += 1
            print(f"model {i:3d} done: test -elbo {-r.test['elbo']:8.2f} ({done[0]}/{len(members)})", file=sys.stderr)

    t0 = time.perf_counter()
    results = train_batched(members, data, on_epoch)
    seconds = time.perf_counter() - t0
    print(f"trained {len(members)} models in {seconds:.1f} s; scoring and saving ...", file=sys.stderr)
    table = write_results(
        a.out,
        results,
        data,
        swept=[k for k in (grid[0] if grid else {})],
        command="python -m vae_core " + " ".join(sys.argv[1:]),
        eval_k=a.eval_k,
        eval_images=a.eval_n or None,
        sample_size=a.sample_size,
        train_seconds=seconds,
    )
    for row in table["members"]:
        elbo = "-" if row["test_elbo"] is None else f"{row['test_elbo']:.2f}"
        swept = " ".join(f"{k}={row[k]}" for k in table["swept"])
        print(f"{row['index']:3d} {row['status']:8s} test ELBO {elbo:>8s}  {swept}")
    print(f"wrote {len(table['members'])} rows to {a.out}/results.csv and results.json")
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


def cmd_estimators(a: argparse.Namespace) -> int:
    from .estimators import measure_checkpoint

    print(f"measuring {a.path}: {a.images} images x {a.repeats} repeats x L = 1, 4, 16 ...", file=sys.stderr)
    r = measure_checkpoint(a.path, a.images, a.repeats, a.seed)
    for i, L in enumerate(r["L"]):
        print(
            f"L={L:3d}  Var A {r['var_elbo_a'][i]:10.4g}  Var B {r['var_elbo_b'][i]:10.4g} nats^2   "
            f"grad Var A {r['var_grad_a'][i]:10.4g}  grad Var B {r['var_grad_b'][i]:10.4g}"
        )
    print(json.dumps(r))
    return 0


def _per_dataset(values: list[str], names: list[str], parse, what: str) -> dict:
    """'[NAME=]VALUE' options -> {name: parsed value}; a value without a name applies to all."""
    out = {}
    for v in values:
        name, sep, rest = v.partition("=")
        if sep and name not in names:
            raise VAECoreError(f"{what} {v!r} names {name!r}, which is not among --datasets ({' '.join(names)})")
        try:
            parsed = parse(rest if sep else v)
        except ValueError:
            raise VAECoreError(f"{what} {v!r} is not valid") from None
        out.update({name: parsed} if sep else dict.fromkeys(names, parsed))
    return out


def _ints(text: str) -> tuple[int, ...]:
    values = tuple(int(t) for t in text.split(",") if t.strip())
    if not values or any(not 1 <= v <= 512 for v in values):
        raise ValueError(text)
    return values


def cmd_paper(a: argparse.Namespace) -> int:
    import dataclasses
    import datetime
    from pathlib import Path

    import torch
    from tqdm import tqdm

    from . import paper
    from .checkpoint import atomic_write, library_versions
    from .data import DEFAULT_CACHE, load_dataset
    from .paper_figures import csv_text, fig2_png, fig5_png, machine

    names = list(dict.fromkeys(a.datasets))
    dirs = _per_dataset(a.data_dir, names, str, "--data-dir")
    latents = _per_dataset(a.latent, names, _ints, "--latent")
    budget = _per_dataset(a.samples, names, int, "--samples")
    try:
        steps = tuple(float(t) for t in a.step_sizes.split(","))
    except ValueError:
        raise VAECoreError(f"--step-sizes must be numbers separated by commas, got {a.step_sizes!r}") from None
    base = paper.Protocol(step_sizes=steps, select_samples=a.select_samples, eval_n=a.eval_n, seed=a.seed)
    algorithms = list(dict.fromkeys(a.algorithms)) if a.figure == "fig2" else ["aevb"]
    plan = []  # (data, protocol, latent, algorithm, samples)
    for name in names:
        data = load_dataset(name, dirs.get(name))
        protocol = dataclasses.replace(base, hidden=a.hidden or paper.paper_hidden(name))
        samples = budget.get(name, 1_000_000)
        if not 100 <= samples <= 10**9:
            raise VAECoreError(f"--samples must be from 100 to 10^9, got {samples}")
        default_nz = paper.paper_latents(name) if a.figure == "fig2" else paper.FIG5_LATENTS
        for nz in latents.get(name, default_nz):
            plan += [(data, protocol, nz, alg, samples) for alg in algorithms]
        print(f"{data.name}: {len(data.x_train)} train / {len(data.x_test)} test images from {data.source}")
    work = Path(a.work) if a.work else DEFAULT_CACHE.parent / "paper"
    bar = tqdm(
        total=sum(paper.curve_cost(p, s) for _, p, _, _, s in plan),
        unit="sample",
        unit_scale=True,
        file=sys.stderr,
        disable=None,
    )
    t0, curves = time.perf_counter(), []
    for data, protocol, nz, alg, samples in plan:
        bar.set_description(f"{data.name} N_z={nz} {alg}")
        before = bar.n
        c = paper.train_curve(data, alg, nz, protocol, samples, work, on_step=bar.update)
        bar.update(max(0, before + paper.curve_cost(protocol, samples) - bar.n))  # a resumed curve: the rest
        last = c.points[-1] if c.points else [0, float("nan"), float("nan")]
        tqdm.write(
            f"{data.name} N_z={nz:3d} {alg:10s} step {c.lr:g}: after {int(last[0])} samples "
            f"train {last[1]:8.2f} test {last[2]:8.2f} nats{'  (diverged)' if c.diverged else ''}"
        )
        curves.append(c)
    bar.close()
    out = Path(a.out)
    meta = {
        "figure": a.figure,
        "command": "python -m vae_core " + " ".join(a.argv),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "threads": torch.get_num_threads(),
        "versions": library_versions(),
        "protocols": {name: dataclasses.asdict(p) for name, p in {d.name: p for d, p, *_ in plan}.items()},
        "budget_samples": {d.name: s for d, _, _, _, s in plan},
        "seconds_this_run": round(time.perf_counter() - t0, 1),  # a resumed run: only what was left
        "training_seconds": round(sum(c.seconds for c in curves), 1),  # the chosen runs', all sessions
    }
    if a.figure == "fig2":
        atomic_write(out / "fig2.png", fig2_png(curves))
        atomic_write(out / "fig2.csv", csv_text(curves).encode())
        doc = {**meta, "curves": [c.as_dict() for c in curves]}
        atomic_write(out / "fig2.json", (json.dumps(doc, indent=1) + "\n").encode())
        print(f"wrote {out / 'fig2.png'}, fig2.csv and fig2.json ({len(curves)} curves)")
        return 0
    for name in names:
        models = {c.latent_dim: c.model for c in curves if c.dataset == name}
        images = {nz: paper.prior_samples(m, a.images, seed=a.seed) for nz, m in models.items()}
        suffix = "" if len(names) == 1 else f"-{name}"
        atomic_write(out / f"fig5{suffix}.png", fig5_png(images))
        doc = {**meta, "curves": [c.as_dict() for c in curves if c.dataset == name]}
        atomic_write(out / f"fig5{suffix}.json", (json.dumps(doc, indent=1) + "\n").encode())
        print(f"wrote {out / f'fig5{suffix}.png'} and its .json ({len(images)} models)")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    handler = {
        "train": cmd_train,
        "sweep": cmd_sweep,
        "eval": cmd_eval,
        "manifold": cmd_manifold,
        "estimators": cmd_estimators,
        "paper": cmd_paper,
    }[args.command]
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
