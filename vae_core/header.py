"""A checkpoint's header checked in full before anything it declares is allocated.

A safetensors file is an 8-byte length, a JSON header (tensor name -> dtype, shape, byte
offsets, plus `__metadata__`) and the raw bytes. Everything a crafted file could use to make
the server spend memory or fail later is in that header: the model config (a network far
larger than the file), tensor shapes, and metadata fields that pages read (`"dataset":
"not-a-dict"`). `check_header` validates all of it with arithmetic only: the config against
the same field bounds as the Train form (vae_core.fields), the byte sizes it implies against
the file's length, every metadata field's type; the weights and the model are built only
after it passed, so their size is bounded by the file's. Every failure is one CheckpointError.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from .data import PIXELS
from .errors import CheckpointError, ConfigError
from .model import KINDS, VAEConfig, param_shapes, weight_bytes

SAMPLE_PREFIX = "sample."  # tensors of the stored test-set sample, beside the weights
FLOAT_DTYPES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}
DTYPE_BYTES = {**FLOAT_DTYPES, "U8": 1, "I8": 1, "I16": 2, "I32": 4, "I64": 8, "BOOL": 1}
MAX_TEXT = 10_000  # characters of any text field
MAX_ITEMS = 100_000  # entries of any list (history epochs, class names)


class _Bad(Exception):
    """A field failed its check: the message says which and why (turned into a CheckpointError)."""


# ---- type checks of metadata values: each returns nothing or raises _Bad ----


def _number(path: str, v: Any) -> None:
    if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
        raise _Bad(f"{path} must be a finite number")


def _opt_number(path: str, v: Any) -> None:
    if v is not None:
        _number(path, v)


def _int(lo: int = 0, hi: int | None = None) -> Callable[[str, Any], None]:
    def check(path: str, v: Any) -> None:
        if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
            raise _Bad(f"{path} must be a whole number from {lo}" + (f" to {hi}" if hi is not None else ""))

    return check


def _text(path: str, v: Any) -> None:
    if not isinstance(v, str) or len(v) > MAX_TEXT:
        raise _Bad(f"{path} must be text (at most {MAX_TEXT} characters)")


def _opt_text(path: str, v: Any) -> None:
    if v is not None:
        _text(path, v)


def _bool(path: str, v: Any) -> None:
    if not isinstance(v, bool):
        raise _Bad(f"{path} must be true or false")


def _choice(options) -> Callable[[str, Any], None]:
    def check(path: str, v: Any) -> None:
        if v not in options or not isinstance(v, str):
            raise _Bad(f"{path} must be one of {', '.join(options)}")

    return check


def _list_of(item: Callable[[str, Any], None]) -> Callable[[str, Any], None]:
    def check(path: str, v: Any) -> None:
        if not isinstance(v, list) or len(v) > MAX_ITEMS:
            raise _Bad(f"{path} must be a list (at most {MAX_ITEMS} entries)")
        for i, x in enumerate(v):
            item(f"{path}[{i}]", x)

    return check


def _scalar(path: str, v: Any) -> None:
    """A JSON value that is not a container (fields nothing reads, kept for people)."""
    if v is None or isinstance(v, bool):
        return
    if isinstance(v, str):
        return _text(path, v)
    if isinstance(v, numbers.Real):
        return _number(path, v)
    raise _Bad(f"{path} must be a number, text, true/false or null")


def _record(fields: dict[str, Callable[[str, Any], None]], other=_scalar) -> Callable[[str, Any], None]:
    """A JSON object whose known keys have their checks; other keys must pass `other`."""

    def check(path: str, v: Any) -> None:
        if not isinstance(v, dict):
            raise _Bad(f"{path} must be an object (a dict)")
        for key, value in v.items():
            fields.get(key, other)(f"{path}.{key}", value)

    return check


# The training settings as saved: what is read (beta, epochs) typed; the rest are scalars, as
# older files wrote some settings with other types (cpu_bf16 was a bool).
_TRAIN = _record(
    {
        "beta": _number,
        "lr": _number,
        "epochs": _int(0),
        "batch_size": _int(0),
        "warmup_epochs": _int(0),
        "n_samples": _int(0),
        "pixels": _choice(PIXELS),
    }
)


_SPLIT = _record({}, other=_opt_number)  # {"recon": ..., "kl": ..., "elbo": ...}
_EPOCH = _record(
    {
        "epoch": _int(0),
        "train": _SPLIT,
        "test": lambda p, v: v is None or _SPLIT(p, v),
        **dict.fromkeys(("beta", "lr", "seconds", "images_per_second"), _opt_number),
    }
)
_DATASET = _record(
    {
        "name": _text,
        "pixels": _choice(PIXELS),
        "n_train": _int(0),
        "n_test": _int(0),
        "class_names": _list_of(_text),
        "source": _opt_text,
        "levels": _int(1, 255),
        "note": _opt_text,
    }
)
_METRICS = _record(
    {
        **dict.fromkeys(("test_elbo", "test_recon", "test_kl", "test_iw_ll", "test_iw_se"), _opt_number),
        **dict.fromkeys(("iw_n_test", "k", "n_test", "active_units"), _int(0)),
        **dict.fromkeys(("score_name", "test_pixels", "device", "precision", "iw_precision"), _opt_text),
        "train_seconds": _opt_number,
        "kl_per_dim": _list_of(_number),
        "normalised": _bool,
    }
)
META_FIELDS: dict[str, Callable[[str, Any], None]] = {
    "format": _text,
    "created": _text,
    "versions": _record({}, other=_text),
    "config": _record({}, other=lambda p, v: None),  # checked as a VAEConfig below
    "dataset": _DATASET,
    "train": _TRAIN,
    "history": _list_of(_EPOCH),
    "metrics": _METRICS,
    "stopped_early": _bool,
    "command": _opt_text,
    "kind": _choice(KINDS),
    "beta": _number,
}


def check_meta(meta: dict, name: str) -> None:
    """Type-check every metadata field a page or the library reads. Raises CheckpointError."""
    try:
        _record(META_FIELDS, other=lambda p, v: None)("metadata", meta)
    except _Bad as exc:
        raise CheckpointError(f"{name}: its metadata is invalid: {exc}") from None


def _config(meta: dict, name: str) -> VAEConfig:
    try:
        return VAEConfig.from_dict(meta.get("config", {}))
    except (ConfigError, TypeError) as exc:
        raise CheckpointError(f"{name}: its model config is invalid: {exc}") from None


def _entry(key: str, entry: Any, name: str) -> tuple[str, tuple[int, ...], int, int]:
    """A tensor's header entry -> (dtype, shape, start, end), checked for types and consistency."""
    bad = CheckpointError(f"{name}: the header entry of tensor {key!r:.60} is damaged")
    if not isinstance(entry, dict):
        raise bad
    dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in DTYPE_BYTES:
        raise bad
    if not isinstance(shape, list) or not isinstance(offsets, list) or len(offsets) != 2:
        raise bad
    if len(shape) > 8 or any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in shape):
        raise bad
    if any(isinstance(o, bool) or not isinstance(o, int) or o < 0 for o in offsets):
        raise bad
    start, end = offsets
    if end - start != math.prod(shape) * DTYPE_BYTES[dtype]:
        raise bad
    return dtype, tuple(shape), start, end


def check_header(header: dict, meta: dict, data_bytes: int, max_weight_bytes: int, name: str) -> VAEConfig:
    """Validate a parsed header: its vae_core metadata `meta`, the model config it declares
    (field bounds, then at most `max_weight_bytes` of float32 weights) and its tensor table
    against a data section of `data_bytes` bytes. Returns the config; allocates nothing it declares."""
    check_meta(meta, name)
    config = _config(meta, name)
    need = weight_bytes(config)
    if need > max_weight_bytes:
        raise CheckpointError(
            f"{name}: its config declares a network of {need / 2**20:,.0f} MiB of weights, over the "
            f"{max_weight_bytes / 2**20:.0f} MiB a checkpoint may hold"
        )
    kl = meta.get("metrics", {}).get("kl_per_dim")
    if kl is not None and len(kl) != config.latent_dim:  # pages draw one bar per latent dimension
        raise CheckpointError(f"{name}: its metadata is invalid: metrics.kl_per_dim must have latent_dim entries")
    tensors = {k: _entry(k, v, name) for k, v in header.items() if k != "__metadata__"}
    position = 0
    for start, end in sorted((start, end) for _, _, start, end in tensors.values()):
        if start != position:  # safetensors' own rule: the tensors tile the data section exactly
            raise CheckpointError(f"{name}: the tensor data is damaged or truncated (its offsets do not tile it)")
        position = end
    if position != data_bytes:
        raise CheckpointError(
            f"{name}: the tensor data is damaged or truncated ({data_bytes} bytes, {position} declared)"
        )
    expected = param_shapes(config)
    weights = {k: v for k, v in tensors.items() if not k.startswith(SAMPLE_PREFIX)}
    missing, unexpected = sorted(set(expected) - set(weights)), sorted(set(weights) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{name}: weights do not match its config (missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for k, (dtype, shape, _, _) in weights.items():
        if shape != expected[k] or dtype not in FLOAT_DTYPES:
            raise CheckpointError(
                f"{name}: weight {k!r} has shape {shape} {dtype}, the config needs {expected[k]} float"
            )
    _check_sample(tensors, config, name)
    return config


def _check_sample(tensors: dict, config: VAEConfig, name: str) -> None:
    images, labels = tensors.get(SAMPLE_PREFIX + "images"), tensors.get(SAMPLE_PREFIX + "labels")
    extra = set(tensors) - set(param_shapes(config)) - {SAMPLE_PREFIX + "images", SAMPLE_PREFIX + "labels"}
    if extra or (images is None) != (labels is None):
        raise CheckpointError(f"{name}: its stored test sample does not match the model's input shape")
    if images is None:
        return
    (idt, ishape, _, _), (ldt, lshape, _, _) = images, labels
    ok = (
        idt == "U8"
        and ldt in ("I64", "I32")
        and len(ishape) == 4
        and ishape[1:] == tuple(config.input_shape)
        and lshape == (ishape[0],)
    )
    if not ok:
        raise CheckpointError(f"{name}: its stored test sample does not match the model's input shape")
