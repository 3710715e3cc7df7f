"""Checkpoints: one safetensors file per model, its description as JSON in the header.

safetensors holds only raw tensors and a JSON header, so loading a file can never execute
code from it (a pickle can). Writes are atomic: a temporary file in the same folder, fsync,
then rename over the target, so an interrupted save leaves the old file or the new one.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import platform
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from .data import encoder_input, eval_pixels
from .errors import CheckpointError
from .fields import MAX_HIDDEN
from .header import SAMPLE_PREFIX, check_header
from .model import VAE, VAEConfig, weight_bytes


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Pixel means in [0, 1] -> uint8 0..255 (rounded)."""
    return (x.clamp(0, 1) * 255 + 0.5).to(torch.uint8)


def to_levels(x: torch.Tensor, levels: int) -> tuple[torch.Tensor, int]:
    """Pixels in [0, 1] -> (uint8 k, levels) with x = k / levels exactly, where x lies on that
    grid (digits: k / 16); otherwise rounded to 8 bits, (k, 255)."""
    k = (x.clamp(0, 1) * levels).round()
    if levels != 255 and not torch.allclose(k / levels, x, atol=1e-6):
        return to_levels(x, 255)
    return k.to(torch.uint8), levels


FORMAT = "vae_core.checkpoint/1"
MAX_CHECKPOINT_BYTES = 64 * 1024 * 1024  # larger files are refused before reading
MAX_HEADER_BYTES = 16 * 1024 * 1024
HEADER_ALLOWANCE = 1024 * 1024  # room kept for the JSON header (history, metrics, tensor table)


@dataclass
class Checkpoint:
    model: VAE  # in eval mode, on the CPU
    meta: dict  # dataset, pixels, train config, history, metrics, versions, created
    sample_levels: torch.Tensor | None = None  # (n, C, H, W) uint8: a test-set sample, pixel = k / levels
    sample_labels: torch.Tensor | None = None  # (n,) int64
    path: str | None = None

    @property
    def config(self) -> VAEConfig:
        return self.model.config

    @property
    def class_names(self) -> list[str]:
        return list(self.meta.get("dataset", {}).get("class_names", []))

    @property
    def levels(self) -> int:
        """The stored sample's divisor: 16 for digits (exact k/16), 255 for 8-bit data and old files."""
        return int(self.meta.get("dataset", {}).get("levels", 255))

    @property
    def pixels(self) -> str:
        return self.meta.get("dataset", {}).get("pixels", "continuous")

    @property
    def sample_images(self) -> torch.Tensor | None:
        """The stored test sample for display: (n, C, H, W) uint8 0..255."""
        if self.sample_levels is None or self.levels == 255:
            return self.sample_levels
        return to_uint8(self.sample_levels.float() / self.levels)

    def sample_x(self) -> torch.Tensor | None:
        """The stored test sample as the model is scored on test data: (n, D) floats in [0, 1]."""
        if self.sample_levels is None:
            return None
        return eval_pixels(self.sample_levels.flatten(1).float() / self.levels, self.pixels)

    def encoder_input(self, x: torch.Tensor) -> torch.Tensor:
        """A user's image x in [0, 1] as this model's encoder expects it (binarised models: 0/1)."""
        return encoder_input(x, self.pixels)


def checkpoint_bytes(config: VAEConfig, sample_images: int) -> int:
    """About how large the file of a model with `config` and a stored sample of `sample_images`
    test images is: float32 weights, uint8 images, int64 labels and the header's allowance."""
    return weight_bytes(config) + sample_images * (config.input_dim + 8) + HEADER_ALLOWANCE


def loadable(config: VAEConfig, sample_images: int) -> bool:
    """Whether such a checkpoint is within MAX_CHECKPOINT_BYTES, so the app can load it back."""
    return checkpoint_bytes(config, sample_images) <= MAX_CHECKPOINT_BYTES


def largest_loadable_width(config: VAEConfig, sample_images: int) -> int:
    """The widest hidden size w such that len(config.hidden) layers of w are loadable (0: none)."""
    lo, hi = 0, MAX_HIDDEN
    while lo < hi:  # loadable is monotone in w
        mid = (lo + hi + 1) // 2
        if loadable(dataclasses.replace(config, hidden=(mid,) * len(config.hidden)), sample_images):
            lo = mid
        else:
            hi = mid - 1
    return lo


def library_versions() -> dict[str, str]:
    import numpy
    import safetensors

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "safetensors": safetensors.__version__,
    }


def to_bytes(model: VAE, meta: dict, sample_images=None, sample_labels=None) -> bytes:
    """Serialise a model, its metadata and an optional test sample to safetensors bytes."""
    tensors = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    if sample_images is not None:
        tensors[SAMPLE_PREFIX + "images"] = sample_images.to("cpu", torch.uint8).contiguous()
        tensors[SAMPLE_PREFIX + "labels"] = sample_labels.to("cpu", torch.int64).contiguous()
    full = {
        "format": FORMAT,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": library_versions(),
        **meta,
        "config": model.config.to_dict(),
    }
    return st_save(tensors, metadata={"vae_core": json.dumps(full, allow_nan=False)})


STALE_TEMP_SECONDS = 60.0  # a temporary file older than this is from a killed writer


def remove_stale_temps(folder: str | Path, older_than: float = STALE_TEMP_SECONDS) -> int:
    """Delete temporary files that writers killed mid-save left behind; returns how many."""
    now, removed = time.time(), 0
    for f in Path(folder).glob(".*.tmp"):
        try:
            if now - f.stat().st_mtime > older_than:
                f.unlink()
                removed += 1
        except OSError:
            pass  # another process removed or replaced it first
    return removed


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write bytes to `path` so that readers see the old file or the new one, never a part."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_checkpoint(path: str | Path, model: VAE, meta: dict, sample_images=None, sample_labels=None) -> Path:
    _check_finite(model, str(path))
    atomic_write(path, to_bytes(model, meta, sample_images, sample_labels))
    return Path(path)


def _check_finite(model: VAE, name: str) -> None:
    for key, v in model.state_dict().items():
        if not torch.isfinite(v).all():
            raise CheckpointError(f"{name}: weight {key!r} contains NaN or infinite values")


def _read_header(data: bytes, name: str) -> tuple[dict, dict, int]:
    """(tensor header, vae_core metadata, length of the data section), parsed and checked."""
    if len(data) == 0:
        raise CheckpointError(f"{name}: the file is empty (0 bytes); choose a vae_core checkpoint (.safetensors)")
    if len(data) < 8:
        raise CheckpointError(f"{name}: the file is too short ({len(data)} bytes) to be a checkpoint")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or n > len(data) - 8:
        hint = " (it may be truncated)" if n <= MAX_HEADER_BYTES else ""
        raise CheckpointError(
            f"{name}: not a vae_core checkpoint{hint}: it does not start with a safetensors header. "
            "Only files saved by vae_core (.safetensors) can be loaded; PyTorch pickles (.pt/.pth) are refused."
        )
    header = _json(data[8 : 8 + n], f"{name}: not a vae_core checkpoint: its header is not valid JSON")
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: not a vae_core checkpoint: its header is not a JSON object")
    extra = header.get("__metadata__")
    meta_raw = extra.get("vae_core") if isinstance(extra, dict) else None
    if not isinstance(meta_raw, str):
        raise CheckpointError(f"{name}: a safetensors file, but not one written by vae_core (no 'vae_core' metadata)")
    meta = _json(meta_raw, f"{name}: the vae_core metadata is not valid JSON")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else None
        raise CheckpointError(
            f"{name}: checkpoint format {found!r:.60} is not supported (this vae_core reads {FORMAT!r})"
        )
    return header, meta, len(data) - 8 - n


def _json(text: bytes | str, message: str):
    try:
        return json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):  # ValueError: also ints of over 4,300 digits
        raise CheckpointError(message) from None


def from_bytes(data: bytes, name: str = "checkpoint") -> Checkpoint:
    """Rebuild a checkpoint from its bytes alone, validating everything. Raises CheckpointError.

    The whole header (metadata types, the config's bounds and the size of the network it
    declares, every tensor's shape and offsets) is checked before any tensor or model is
    allocated (vae_core.header), so a crafted file costs no more memory than its own length."""
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"{name}: {len(data) / 2**20:.1f} MiB is over the {MAX_CHECKPOINT_BYTES // 2**20} MiB limit for checkpoints"
        )
    header, meta, data_bytes = _read_header(data, name)
    config = check_header(header, meta, data_bytes, MAX_CHECKPOINT_BYTES, name)
    try:
        tensors = st_load(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{name}: the tensor data is damaged or truncated ({exc})") from None
    model = VAE(config)
    model.load_state_dict({k: v.float() for k, v in tensors.items() if not k.startswith(SAMPLE_PREFIX)})
    _check_finite(model, name)
    model.eval()
    images, labels = tensors.get(SAMPLE_PREFIX + "images"), tensors.get(SAMPLE_PREFIX + "labels")
    if images is not None:
        levels = meta.get("dataset", {}).get("levels", 255)
        if images.numel() and int(images.max()) > levels:
            raise CheckpointError(f"{name}: its stored test sample has pixel values above its levels ({levels})")
        labels = labels.to(torch.int64)
    return Checkpoint(model=model, meta=meta, sample_levels=images, sample_labels=labels, path=name)


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load a checkpoint file without executing anything from it. Raises CheckpointError."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the file ({exc.strerror})") from None
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(
            f"{path}: {size / 2**20:.1f} MiB is over the {MAX_CHECKPOINT_BYTES // 2**20} MiB limit for checkpoints"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot read the file ({exc.strerror})") from None
    ckpt = from_bytes(data, str(path))
    ckpt.path = str(path)
    return ckpt
