"""A bound on what one click may cost the server: the heavy page computations (Estimators, IW evaluation).

A student's slider can ask for far more than a lesson needs (200 images × 100 repeats on the Estimators
page was half a minute of server CPU per click). Their cost is close to proportional to
`units × parameters` (images × repeats × ΣL, or images × k, times the model's weights), so a page asks
`fit_*()` for the largest request that fits in `click_seconds()` (`VAE_EXPLORER_CLICK_SECONDS`, default 5)
at this server's measured speed, and tells the student when it asked for less. `turn()` lets at most
`VAE_EXPLORER_HEAVY_AT_ONCE` (default 2) of them run at once per server process; the others wait.

The speed starts from a conservative figure (docs/benchmarks.md, "Heavy clicks") and follows what this
process measures (`record`), so `estimate()` says about how long a click will take here.

Streamlit-free.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

CLICK_SECONDS_ENV = "VAE_EXPLORER_CLICK_SECONDS"
AT_ONCE_ENV = "VAE_EXPLORER_HEAVY_AT_ONCE"
# Seconds per (unit × parameter), per kind of work, at the start: a little above one CPU thread's figure in
# docs/benchmarks.md. Estimators: a unit is one image × repeat × L; IW: one image × importance sample.
START_RATE = {"estimators": 1.2e-10, "iw": 6e-10}
_rate = dict(START_RATE)
_lock = threading.Lock()
_sem: threading.BoundedSemaphore | None = None
_sem_n = 0


def _env_float(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


def click_seconds() -> float:
    """The most server time one click may ask for (default 5 s)."""
    return _env_float(CLICK_SECONDS_ENV, 5.0)


def at_once() -> int:
    return max(1, int(_env_float(AT_ONCE_ENV, 2)))


def estimate(kind: str, units: int, params: int) -> float:
    """About how many seconds `units` of work on a model with `params` weights take here."""
    return units * params * _rate[kind]


def record(kind: str, units: int, params: int, seconds: float) -> None:
    """Follow this server's measured speed (a running average, so one slow click moves it only a little)."""
    if units <= 0 or params <= 0 or not seconds > 0:
        return
    with _lock:
        _rate[kind] = 0.7 * _rate[kind] + 0.3 * seconds / (units * params)


def fit_estimators(images: int, repeats: int, Ls, params: int) -> tuple[int, int]:
    """(images, repeats) within the click's budget: repeats lowered first (to 10), then images (to 10)."""
    per = sum(Ls) * params * _rate["estimators"]  # seconds per image × repeat
    budget = click_seconds()
    if images * repeats * per <= budget:
        return images, repeats
    r = max(10, min(repeats, int(budget / (images * per))))
    if images * r * per <= budget:
        return images, r
    return max(10, min(images, int(budget / (r * per)))), r


def fit_iw(images: int, k: int, params: int) -> int:
    """How many images the importance-weighted evaluation with k samples may score in one click (≥ 20)."""
    per = k * params * _rate["iw"]
    return max(20, min(images, int(click_seconds() / per)))


@contextmanager
def turn() -> Iterator[float]:
    """Wait for one of the process's few places for heavy work and hold it; yields the seconds waited."""
    global _sem, _sem_n
    with _lock:
        if _sem is None or _sem_n != at_once():
            _sem, _sem_n = threading.BoundedSemaphore(at_once()), at_once()
        sem = _sem
    t0 = time.perf_counter()
    with sem:
        yield time.perf_counter() - t0
