"""The trainer of another git revision against this checkout's, alternating in one process.

For changes to vae_core's training speed: both trainers run the same data and configuration,
one after the other, `--rounds` times, so that drift in the machine's speed hits both alike.
The other revision is checked out into a temporary git worktree and imported under another
package name; nothing in this checkout changes.

    python -m bench.ab_trainer --base c0078b7^ [--dataset fashion-mnist --epochs 4 --rounds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runnable as a file or a module

from bench.common import ROOT, report  # noqa: E402


def import_as(name: str, package_dir: Path):
    """Import the package in `package_dir` under the module name `name`."""
    spec = importlib.util.spec_from_file_location(
        name, package_dir / "__init__.py", submodule_search_locations=[str(package_dir)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def run(package: str, data, device: str, epochs: int, seed: int) -> dict:
    train_mod, model_mod = sys.modules[f"{package}.train"], sys.modules[f"{package}.model"]
    model = model_mod.VAE(model_mod.VAEConfig(input_shape=data.image_shape))
    result = train_mod.train(model, data, train_mod.TrainConfig(device=device, seed=seed, epochs=epochs))
    return {
        "seconds": [h["seconds"] for h in result.history[1:]],  # the first epoch includes warm-up
        "test_elbo": result.history[-1]["test"]["elbo"],
        "precision": result.precision,
    }


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", required=True, help="the git revision to compare against (e.g. HEAD~1)")
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out")
    a = p.parse_args(argv)

    import vae_core
    from vae_core.data import load_dataset

    data = load_dataset(a.dataset, a.data_dir, download=False)
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(tree), a.base], cwd=ROOT, check=True)
        try:
            base_rev = subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True, check=True
            ).stdout.strip()
            import_as("vae_core_base", tree / "vae_core")
            runs = {"base": [], "this": []}
            for seed in range(a.rounds):
                for side, package in (("base", "vae_core_base"), ("this", vae_core.__name__)):
                    r = run(package, data, a.device, a.epochs, seed)
                    runs[side].append(r)
                    print(f"{side}: s/epoch {[round(s, 3) for s in r['seconds']]}, test ELBO {r['test_elbo']:.2f}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)

    def side(rs: list[dict]) -> dict:
        secs = [s for r in rs for s in r["seconds"]]
        return {
            "seconds_per_epoch_median": statistics.median(secs),
            "seconds_per_epoch_min": min(secs),
            "seconds_per_epoch_max": max(secs),
            "test_elbo": [r["test_elbo"] for r in rs],
            "precision": rs[0]["precision"],
        }

    results = {"base_revision": base_rev, "dataset": a.dataset, "epochs": a.epochs, "rounds": a.rounds}
    results["base"], results["this"] = side(runs["base"]), side(runs["this"])
    ratio = results["base"]["seconds_per_epoch_median"] / results["this"]["seconds_per_epoch_median"]
    results["ratio_base_over_this"] = ratio
    report("ab_trainer", results, a.out)
    print(f"seconds per epoch, {base_rev} / this checkout: {ratio:.2f}x")
    return results


if __name__ == "__main__":
    main()
