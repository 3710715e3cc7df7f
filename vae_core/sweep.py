"""A sweep's outputs: one ordinary checkpoint per model and a table of results (CSV and JSON)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

from .batched import MemberResult, member_data, member_settings
from .checkpoint import atomic_write
from .data import Dataset
from .pipeline import finish_training

METRICS = ("test_elbo", "test_recon", "test_kl", "active_units", "test_iw_ll", "test_iw_se")


def member_name(index: int, point: dict) -> str:
    """A checkpoint file name from the member's index and swept values, e.g. m03-beta0.5-seed1."""
    parts = [f"m{index:02d}"] + [f"{k}{v}" for k, v in point.items()]
    return re.sub(r"[^A-Za-z0-9._-]", "_", "-".join(parts)) + ".safetensors"


def write_results(
    out: str | Path,
    results: list[MemberResult],
    data: Dataset,
    swept: list[str],
    command: str | None = None,
    eval_k: int = 0,
    eval_images: int | None = None,
    sample_size: int = 2000,
    train_seconds: float | None = None,
) -> dict:
    """Score and save every model that did not diverge into folder `out`, then write
    results.csv and results.json there (one row per member, in order). Returns the table."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, r in enumerate(results):
        settings = member_settings(r.member)
        row = {"index": i, "status": r.status, "checkpoint": None, **{k: settings[k] for k in swept}}
        row.update(dict.fromkeys(METRICS))
        row["epochs_trained"] = len(r.result.history)
        row["error"] = r.error
        if r.status != "diverged":
            name = member_name(i, {k: settings[k] for k in swept})
            _, metrics = finish_training(
                folder / name,
                r.result,
                member_data(data, r.member.n_train),
                r.member.train,
                eval_k=eval_k,
                sample_size=sample_size,
                command=command,
                eval_images=eval_images,
            )
            row["checkpoint"] = name
            row.update({k: metrics.get(k) for k in METRICS})
        row["settings"] = {k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()}
        rows.append(row)
    table = {"dataset": data.name, "command": command, "swept": swept, "train_seconds": train_seconds, "members": rows}
    atomic_write(folder / "results.json", json.dumps(table, indent=1).encode())
    buf = io.StringIO()
    columns = [c for c in rows[0] if c != "settings"] if rows else []
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in columns})
    atomic_write(folder / "results.csv", buf.getvalue().encode())
    return table
