"""Declarative settings: each config field carries its help, choices and bounds as metadata.

A config dataclass declares a field once, with `setting(...)`; `validate_fields` checks every
field from that metadata (called from the dataclass's `__post_init__`), and the CLI
(`vae_core.settings.add_arguments`) and the app's Train form (`explorer/settings_form.py`) are
generated from the same fields. Adding a setting therefore touches one place.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ConfigError

MAX_HIDDEN = 4096  # widest hidden layer anywhere (CLI, app, checkpoints): one cap
MAX_LAYERS = 8  # most hidden layers


@dataclass(frozen=True)
class Spec:
    """What a setting is, for validation, the CLI and forms."""

    label: str  # short English label (forms); the CLI flag comes from the field name
    help: str  # one sentence, English (the app translates it in explorer/)
    choices: tuple | None = None  # allowed values, if a fixed set
    ge: float | None = None  # bounds (numbers; for tuples: each element)
    gt: float | None = None
    le: float | None = None
    flag: str | None = None  # CLI flag when not --field-name
    ui_le: float | None = None  # the app's form offers at most this (a shared server)
    advanced: bool = False  # the form puts it under "Advanced"
    max_len: int | None = None  # tuples: most elements
    step: float | None = None  # forms: the +/- step of a number box (default: from the default's magnitude)
    user: bool = True  # False: set from the data (e.g. input_shape), not offered in the CLI or forms


def setting(default: Any, label: str, help: str, **spec: Any) -> Any:
    """A dataclass field whose metadata holds its Spec (tuple defaults are stored as tuples)."""
    return field(default=default, metadata={"spec": Spec(label, help, **spec)})


def spec_of(f) -> Spec | None:
    return f.metadata.get("spec")


def specs(cls) -> dict[str, tuple[Any, Spec]]:
    """name -> (default, Spec) for every declared setting of a config class, in field order."""
    return {f.name: (f.default, spec_of(f)) for f in fields(cls) if spec_of(f) is not None}


def kind_of(default: Any) -> str:
    """The kind of value a setting holds, from its default: bool, int, float, str or ints."""
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, tuple):
        return "ints"
    return "str"


def check_value(name: str, value: Any, default: Any, spec: Spec) -> Any:
    """Coerce a value to its setting's kind and check it, or raise ConfigError naming the setting."""
    kind = kind_of(default)
    if kind == "ints":
        return _check_ints(name, value, spec)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ConfigError(f"{name} must be an integer, got {value!r}")
        value = int(value)
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, got {value!r}")
        value = float(value)
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"{name} must be one of {', '.join(map(str, spec.choices))}; got {value!r}")
    _check_bounds(name, value, spec)
    return value


def _check_bounds(name: str, value, spec: Spec) -> None:
    if spec.ge is not None and value < spec.ge:
        raise ConfigError(f"{name} must be >= {spec.ge:g}, got {value}")
    if spec.gt is not None and value <= spec.gt:
        raise ConfigError(f"{name} must be > {spec.gt:g}, got {value}")
    if spec.le is not None and value > spec.le:
        raise ConfigError(f"{name} must be <= {spec.le:g}, got {value}")


def _check_ints(name: str, value, spec: Spec) -> tuple[int, ...]:
    # Checkpoints store the config as JSON, so lists come back where tuples went in.
    if isinstance(value, str):
        return parse_ints(name, value, spec)
    try:
        items = list(value)
    except TypeError:
        raise ConfigError(f"{name} must be a list of integers, got {value!r}") from None
    if not items or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in items):
        raise ConfigError(f"{name} must be a non-empty list of integers, got {value!r}")
    if spec.max_len is not None and len(items) > spec.max_len:
        raise ConfigError(f"{name} may have at most {spec.max_len} entries, got {len(items)}")
    out = tuple(int(v) for v in items)
    for v in out:
        _check_bounds(name, v, spec)
    return out


def parse_ints(name: str, text: str, spec: Spec) -> tuple[int, ...]:
    """'512, 256' -> (512, 256), checked against the setting's bounds."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        raise ConfigError(f"{name} must be whole numbers separated by commas, like 512,256; got {text!r}") from None
    return _check_ints(name, values, spec)


def validate_fields(obj) -> None:
    """Check and coerce every declared setting of a dataclass instance in place."""
    for name, (default, spec) in specs(type(obj)).items():
        object.__setattr__(obj, name, check_value(name, getattr(obj, name), default, spec))
