"""Training speed, side by side in one process: the loop a user would otherwise write against
vae_core's trainer, on the same data and the same model.

(a) reference: torchvision FashionMNIST + ToTensor, DataLoader(batch_size=128, shuffle=True),
    Adam 1e-3, loss.item() every step (the common PyTorch VAE example's shape);
(b) vae_core.train with its defaults.

The two alternate epoch by epoch in one process (one of ours, one of the reference's), so
that drift in the machine's speed over the run hits both alike. Both are scored after every
epoch by the same evaluator (test negative ELBO, analytic KL, one sample of z, nats per
image); evaluation time is not counted as training time.
Needs only torch and torchvision, and no network:

    python -m bench.train_speed --data-dir /usr/share/datasets/fashion-mnist [--device cpu|cuda]

--whole-process: what a user waits for. Times `python -m vae_core train --dataset fashion-mnist`
with its defaults (process start to exit: imports, data, training, the default evaluation,
saving), scores the checkpoint with the evaluator above, and then runs the reference loop as a
process of its own until it reaches that test -ELBO: its time is process start to the end of the
epoch that reaches it, less the time spent scoring it after each epoch.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a file or a module

import torch  # noqa: E402

from bench.common import ROOT, report  # noqa: E402
from vae_core.data import load_dataset  # noqa: E402
from vae_core.elbo import elbo_terms, seeded_generator  # noqa: E402
from vae_core.model import VAE, VAEConfig  # noqa: E402
from vae_core.train import TrainConfig, evaluate_split, train  # noqa: E402


def test_neg_elbo(model: VAE, x_test: torch.Tensor) -> float:
    """The same score for every model: z drawn from a generator with a fixed seed."""
    model.eval()
    sums, _ = evaluate_split(model, x_test, generator=seeded_generator(1234, x_test.device))
    model.train()
    return -float(sums[2]) / len(x_test)


def torchvision_root(data_dir: Path, tmp: Path) -> Path:
    """torchvision wants <root>/FashionMNIST/raw/<unpacked files>: build that from a plain folder."""
    raw = tmp / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for f in data_dir.iterdir():
        if f.name.endswith("-ubyte.gz"):
            with gzip.open(f) as src, open(raw / f.name[:-3], "wb") as dst:
                shutil.copyfileobj(src, dst)
        elif f.name.endswith("-ubyte"):
            shutil.copy(f, raw / f.name)
    return tmp


class Reference:
    """The reference loop, one epoch per call, so its epochs can alternate with vae_core's."""

    def __init__(self, root: Path, x_test: torch.Tensor, device: torch.device, n_train: int | None, seed: int):
        from torch.utils.data import DataLoader, Subset
        from torchvision import datasets, transforms

        torch.manual_seed(seed)
        ds = datasets.FashionMNIST(str(root), train=True, download=False, transform=transforms.ToTensor())
        if n_train:
            ds = Subset(ds, range(n_train))
        self.n = len(ds)
        self.loader = DataLoader(ds, batch_size=128, shuffle=True)
        self.model = VAE(VAEConfig()).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.x_test, self.device, self.history = x_test, device, []
        self.gen = seeded_generator(seed, device)  # eps; the DataLoader shuffles from the seeded global RNG
        self.rng = torch.get_rng_state()  # its own random stream, untouched by vae_core's epochs

    def epoch(self) -> None:
        outside = torch.get_rng_state()
        torch.set_rng_state(self.rng)
        sync(self.device)
        t0 = time.perf_counter()
        total = 0.0
        for x, _ in self.loader:
            x = x.to(self.device).view(x.size(0), -1)
            loss = -elbo_terms(self.model, x, generator=self.gen).elbo.mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            total += loss.item() * len(x)  # the per-step host sync of the common example
        sync(self.device)
        seconds = time.perf_counter() - t0
        self.rng = torch.get_rng_state()
        torch.set_rng_state(outside)
        t1 = time.perf_counter()
        score = test_neg_elbo(self.model, self.x_test)
        self.history.append(
            {
                "epoch": len(self.history) + 1,
                "seconds": seconds,
                "test_neg_elbo": score,
                "eval_seconds": time.perf_counter() - t1,
            }
        )
        print(f"reference epoch {len(self.history)}: {seconds:.2f} s, test -ELBO {score:.2f}", flush=True)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def run_ours(
    data,
    x_test: torch.Tensor,
    device: str,
    epochs: int | None,
    seed: int,
    between=None,
    **overrides,
) -> dict:
    """Train with vae_core's defaults; `between()` runs after each epoch (outside its timing)."""
    cfg = TrainConfig(device=device, seed=seed, **({"epochs": epochs} if epochs else {}), **overrides)
    model = VAE(VAEConfig(input_shape=data.image_shape))
    history = []

    def on_epoch(r):
        score = test_neg_elbo(model, x_test)
        history.append({"epoch": r.epoch, "seconds": r.seconds, "test_neg_elbo": score})
        print(f"vae_core epoch {r.epoch}: {r.seconds:.3f} s, test -ELBO {score:.2f}", flush=True)
        if between is not None:
            between()

    t0 = time.perf_counter()
    train(model, data, cfg, on_epoch)
    out = summarise(history, len(data.x_train))
    out["wall_seconds_incl_setup_and_eval"] = time.perf_counter() - t0
    out["config"] = {"batch_size": cfg.batch_size or "auto", "lr": cfg.lr, "epochs": cfg.epochs}
    return out


TARGETS = (270.0, 265.0, 262.0, 260.0, 258.0)


def times_to_targets(history: list[dict], targets=TARGETS) -> dict:
    """Training seconds (cumulative, evaluation excluded) until each target is first reached."""
    out, total = {}, 0.0
    for h in history:
        total += h["seconds"]
        for t in targets:
            if h["test_neg_elbo"] <= t and str(float(t)) not in out:
                out[str(float(t))] = {"epoch": h["epoch"], "train_seconds": total}
    return out


def ratios(ref: dict, ours: dict, target: float) -> dict:
    """reference / vae_core: seconds per epoch, and training time to `target` when both reach it."""
    out = {"seconds_per_epoch": ref["seconds_per_epoch_median"] / ours["seconds_per_epoch_median"]}
    r, o = (times_to_targets(h["history"], (target,)).get(str(float(target))) for h in (ref, ours))
    out["time_to_target"] = r["train_seconds"] / o["train_seconds"] if r and o else None
    out["reference_time_to_target"], out["vae_core_time_to_target"] = r, o
    return out


def summarise(history: list[dict], n: int) -> dict:
    import statistics

    secs = [h["seconds"] for h in history]
    steady = secs[1:] if len(secs) > 1 else secs  # the first epoch includes warm-up
    return {
        "n_train": n,
        "epochs": len(history),
        "seconds_per_epoch_median": statistics.median(steady),
        "seconds_per_epoch_min": min(steady),
        "seconds_per_epoch_max": max(steady),
        "images_per_second": n / statistics.median(steady),
        "times_to_targets": times_to_targets(history),
        "final_test_neg_elbo": history[-1]["test_neg_elbo"],
        "best_test_neg_elbo": min(h["test_neg_elbo"] for h in history),
        "history": history,
    }


def reference_process(a) -> None:
    """The reference loop as a process of its own (started by whole_process): train until the
    test -ELBO reaches a.target or a.ref_epochs have run; print one JSON line with the wall time
    from a.t0 (the parent's clock before it started this process) to that epoch's end, less the
    time spent scoring after each epoch."""
    import json

    device = torch.device(a.device if a.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    x_test = load_dataset("fashion-mnist", a.data_dir, download=False).x_test
    if a.n_test:
        x_test = x_test[: a.n_test]
    ref = Reference(Path(a.tv_root), x_test.to(device), device, a.n_train, a.seed)
    eval_seconds, reached = 0.0, None
    while len(ref.history) < a.ref_epochs:
        ref.epoch()
        done = time.time()
        h = ref.history[-1]
        if h["test_neg_elbo"] <= a.target:
            reached = {"epoch": h["epoch"], "seconds": done - a.t0 - eval_seconds, "test_neg_elbo": h["test_neg_elbo"]}
            break
        eval_seconds += h["eval_seconds"]
    print(json.dumps({"reached": reached, "history": ref.history, "epochs_run": len(ref.history)}))


def run_cli(args: list[str], timeout: float) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} failed:\n{r.stderr[-3000:]}")
    return seconds, r


def whole_process(a) -> dict:
    """vae_core's CLI with its defaults, then the reference as a process, to the CLI's test -ELBO."""
    import json
    import shlex

    from vae_core.checkpoint import load_checkpoint

    x_test = load_dataset("fashion-mnist", a.data_dir, download=False).x_test
    if a.n_test:
        x_test = x_test[: a.n_test]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ours.safetensors"
        ours_args = ["-m", "vae_core", "train", "--dataset", "fashion-mnist", "--data-dir", a.data_dir]
        ours_args += ["--out", str(out), "--seed", str(a.seed), *shlex.split(a.train_args)]
        ours_seconds, r = run_cli(ours_args, timeout=3600)
        ckpt = load_checkpoint(out)
        target = a.target_override or test_neg_elbo(ckpt.model, x_test)
        tv_root = torchvision_root(Path(a.data_dir), Path(tmp) / "tv")  # prepared outside the timing
        ref_args = ["-m", "bench.train_speed", "--reference-process", "--data-dir", a.data_dir]
        ref_args += ["--tv-root", str(tv_root), "--seed", str(a.seed), "--device", a.device]
        ref_args += ["--ref-epochs", str(a.ref_epochs), "--target", repr(target)]
        ref_args += ["--n-train", str(a.n_train)] if a.n_train else []
        ref_args += ["--n-test", str(a.n_test)] if a.n_test else []
        t0 = time.time()
        _, rr = run_cli([*ref_args, "--t0", repr(t0)], timeout=3600)
        ref = json.loads(rr.stdout.strip().splitlines()[-1])
    ours = {
        "command": "python -m vae_core train --dataset fashion-mnist --data-dir DIR --out FILE "
        + f"--seed {a.seed} {a.train_args}".strip(),
        "wall_seconds": ours_seconds,
        "test_neg_elbo": target,
        "printed": [line for line in r.stdout.splitlines() if "test ELBO" in line or "IW" in line],
        "epochs": len(ckpt.meta["history"]),
        "train_seconds": ckpt.meta["metrics"]["train_seconds"],
    }
    reached = ref["reached"]
    result = {
        "mode": "whole_process",
        "vae_core_cli": ours,
        "reference_process": {"reached": reached, "epochs_run": ref["epochs_run"], "history": ref["history"]},
        "ratio_reference_over_ours": reached["seconds"] / ours_seconds if reached else None,
    }
    if not reached:
        result["note"] = f"the reference did not reach {target:.2f} in {ref['epochs_run']} epochs"
    return result


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--target", type=float, default=262.0, help="test negative ELBO to reach, nats")
    p.add_argument("--ref-epochs", type=int, default=10)
    p.add_argument("--epochs", type=int, default=None, help="vae_core epochs (default: its own default)")
    p.add_argument("--n-train", type=int, default=None, help="use only the first N training images")
    p.add_argument("--n-test", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-reference", action="store_true")
    p.add_argument(
        "--check",
        action="store_true",
        help="also train vae_core's plain path (CUDA: eager, no graph; CPU: float32, no bf16) to compare ELBO",
    )
    p.add_argument("--out", help="write the JSON results here")
    p.add_argument(
        "--whole-process", action="store_true", help="time the CLI with its defaults and the reference as processes"
    )
    p.add_argument("--train-args", default="", help="--whole-process: extra arguments for vae_core train")
    p.add_argument("--target-override", type=float, help="--whole-process: a target instead of the CLI's -ELBO")
    p.add_argument("--reference-process", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--tv-root", help=argparse.SUPPRESS)
    p.add_argument("--t0", type=float, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.reference_process:
        reference_process(a)
        return {}
    if a.whole_process:
        results = whole_process(a)
        report("train_speed_whole_process", results, a.out)
        r = results["ratio_reference_over_ours"]
        ours, ref = results["vae_core_cli"], results["reference_process"]["reached"]
        print(
            f"vae_core CLI: {ours['wall_seconds']:.1f} s to test -ELBO {ours['test_neg_elbo']:.2f}; reference process: "
            + (f"{ref['seconds']:.1f} s (epoch {ref['epoch']}); ratio {r:.1f}x" if ref else "did not reach it")
        )
        return results
    device = torch.device(
        "cuda" if a.device == "auto" and torch.cuda.is_available() else ("cpu" if a.device == "auto" else a.device)
    )
    data = load_dataset("fashion-mnist", a.data_dir, download=False)
    if a.n_train:
        data.x_train, data.y_train = data.x_train[: a.n_train], data.y_train[: a.n_train]
    if a.n_test:
        data.x_test, data.y_test = data.x_test[: a.n_test], data.y_test[: a.n_test]
    x_test = data.x_test.to(device)
    results = {"device": str(device), "target_neg_elbo": a.target}
    with tempfile.TemporaryDirectory() as tmp:
        ref = None
        if not a.skip_reference:
            ref = Reference(torchvision_root(Path(a.data_dir), Path(tmp)), x_test, device, a.n_train, a.seed)

        def reference_epoch():  # alternate with vae_core's epochs: drift in the machine's speed hits both
            if ref is not None and len(ref.history) < a.ref_epochs:
                ref.epoch()

        results["vae_core"] = run_ours(data, x_test, str(device), a.epochs, a.seed, between=reference_epoch)
        while ref is not None and len(ref.history) < a.ref_epochs:
            ref.epoch()
    if a.check:
        plain = {"cuda_graph": False} if device.type == "cuda" else {"cpu_bf16": "off"}
        results["vae_core_plain"] = run_ours(data, x_test, str(device), a.epochs, a.seed, **plain)
        results["vae_core_plain"]["path"] = plain
    if ref is not None:
        results["reference"] = summarise(ref.history, ref.n)
        results["ratio_reference_over_ours"] = ratios(results["reference"], results["vae_core"], a.target)
    report("train_speed", results, a.out)
    if "ratio_reference_over_ours" in results:
        r = results["ratio_reference_over_ours"]
        print(
            f"ratio (reference / ours): seconds per epoch {r['seconds_per_epoch']:.1f}x"
            + (
                f", time to {a.target:g} nats {r['time_to_target']:.1f}x"
                if r.get("time_to_target")
                else ", time to target: not reached by both"
            )
        )
    return results


if __name__ == "__main__":
    main()
