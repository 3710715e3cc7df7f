"""Shared pieces of the benchmarks: timing statistics and a description of the machine."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def summary(seconds: list[float]) -> dict:
    """Median, p95, min and max of a list of durations, in milliseconds."""
    ms = sorted(1000 * s for s in seconds)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return {"n": len(ms), "median_ms": statistics.median(ms), "p95_ms": p95, "min_ms": ms[0], "max_ms": ms[-1]}


def machine() -> dict:
    import torch

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    try:
        import torchvision

        info["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    try:
        import streamlit

        info["streamlit"] = streamlit.__version__
    except ImportError:
        pass
    return info


def git_revision() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except OSError:
        return "?"


def report(name: str, results: dict, out: str | None = None) -> None:
    """Print the results as JSON (last line) and optionally write them to a file."""
    full = {"benchmark": name, "machine": machine(), "revision": git_revision(), **results}
    text = json.dumps(full, indent=None, default=float)
    if out:
        Path(out).write_text(json.dumps(full, indent=2, default=float))
    print(text)
