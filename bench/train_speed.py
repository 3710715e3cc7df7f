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
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a file or a module

import torch  # noqa: E402

from bench.common import report  # noqa: E402
from vae_core.data import load_dataset  # noqa: E402
from vae_core.elbo import elbo_terms  # noqa: E402
from vae_core.model import VAE, VAEConfig  # noqa: E402
from vae_core.train import TrainConfig, evaluate_split, train  # noqa: E402


def test_neg_elbo(model: VAE, x_test: torch.Tensor) -> float:
    """The same score for every model: z drawn from a fixed seed, the caller's CPU RNG untouched."""
    model.eval()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1234)
        sums, _ = evaluate_split(model, x_test)
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
        self.rng = torch.get_rng_state()  # its own random stream, untouched by vae_core's epochs

    def epoch(self) -> None:
        outside = torch.get_rng_state()
        torch.set_rng_state(self.rng)
        sync(self.device)
        t0 = time.perf_counter()
        total = 0.0
        for x, _ in self.loader:
            x = x.to(self.device).view(x.size(0), -1)
            loss = -elbo_terms(self.model, x).elbo.mean()
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
            total += loss.item() * len(x)  # the per-step host sync of the common example
        sync(self.device)
        seconds = time.perf_counter() - t0
        self.rng = torch.get_rng_state()
        torch.set_rng_state(outside)
        score = test_neg_elbo(self.model, self.x_test)
        self.history.append({"epoch": len(self.history) + 1, "seconds": seconds, "test_neg_elbo": score})
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
    a = p.parse_args(argv)
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
