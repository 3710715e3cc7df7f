"""Disk use of the class gallery under its quota after many trainings (not a timing).

    python -m bench.gallery_quota --runs 50 --quota-mb 5 --out docs/bench-results/gallery_quota.json

Trains `--runs` small digits models one after the other through the app's own path
(explorer.training: train, score, save the checkpoint and its description atomically, admit it
under the quota) into a temporary models folder, with no grace period and one student's share
the whole quota (the runs are seconds apart and from one trainer, so the default 24 h grace
period would rightly refuse them once the gallery is full), with the first model pinned by the teacher, and
records the folder's disk use after each run. Checks the quota held after every save, the
pinned model survived, the newest models are the ones kept, and the shipped checkpoints were
not touched.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
from pathlib import Path

from bench.common import ROOT, report


def shipped_digest() -> str:
    h = hashlib.sha256()
    for f in sorted((ROOT / "checkpoints").glob("*")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=50)
    p.add_argument("--quota-mb", type=float, default=5.0, help="quota of the gallery, megabytes (10**6 bytes)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--hidden", default="256,128", help="the Train page's default for digits")
    p.add_argument("--out")
    args = p.parse_args(argv)

    from explorer import models

    names = ("VAE_EXPLORER_QUOTA_MB", "VAE_EXPLORER_GRACE_HOURS", "VAE_EXPLORER_QUOTA_SHARE")
    saved_dir, saved_env = models.MODELS_DIR, {n: os.environ.get(n) for n in names}
    try:
        os.environ.update({"VAE_EXPLORER_GRACE_HOURS": "0", "VAE_EXPLORER_QUOTA_SHARE": "1"})
        results = _run(args)
    finally:  # leave the process as it was (the smoke test runs this inside pytest)
        models.MODELS_DIR = saved_dir
        for n, value in saved_env.items():
            if value is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = value
    report("gallery_quota", results, args.out)
    return results


def _run(args) -> dict:
    from explorer import models, training
    from vae_core.train import TrainConfig

    before = shipped_digest()
    hidden = tuple(int(h) for h in args.hidden.split(","))
    with tempfile.TemporaryDirectory(prefix="gallery-quota-") as folder:
        models.MODELS_DIR = Path(folder)
        os.environ["VAE_EXPLORER_QUOTA_MB"] = str(args.quota_mb)
        quota = models.quota_bytes()
        after, kept, sizes = [], [], []
        for i in range(args.runs):
            cfg = TrainConfig(epochs=args.epochs, batch_size=64, device="cpu", seed=i)
            job = training.submit(training.TrainingJob("digits", {"hidden": hidden}, cfg, f"run-{i:03d}", "bench"))
            job.thread.join()
            if job.status != "done":
                raise SystemExit(f"run {i} failed: {job.message[0]}")
            if i == 0:
                models.set_pin(job.name)  # the teacher pins the first model: it must never be removed
            entries = models.gallery()
            sizes.append(next(e.bytes for e in entries if e.name == job.name))
            after.append(models.disk_use())
            kept.append(len(entries))
            names = {e.name for e in entries}
            if sum(e.bytes for e in entries) > quota and len(entries) > 2:
                raise SystemExit(f"quota broken after run {i}: {sum(e.bytes for e in entries)} > {quota}")
            if "run-000" not in names:
                raise SystemExit(f"the pinned model was removed at run {i}")
        final = sorted(e.name for e in models.gallery())
        newest_kept = final[1:] == [f"run-{i:03d}" for i in range(args.runs - len(final) + 1, args.runs)]
    return {
        "runs": args.runs,
        "quota_bytes": quota,
        "model_bytes_median": sorted(sizes)[len(sizes) // 2],
        "disk_use_bytes_max": max(after),
        "disk_use_bytes_final": after[-1],
        "models_kept_final": kept[-1],
        "kept_models": final,
        "pinned_kept": "run-000" in final,
        "newest_kept": newest_kept,
        "shipped_untouched": shipped_digest() == before,
        "disk_use_after_each_run": after,
    }


if __name__ == "__main__":
    main()
