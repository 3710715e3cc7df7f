"""Datasets as single tensors: images flattened to (N, D) float32 in [0, 1], labels (N,).

`digits` (scikit-learn's bundled 8x8 digits) needs nothing. `mnist`, `fashion-mnist` and
`kmnist` are read from raw IDX files already on disk (a folder given by the user, the
torchvision layout under it, or the usual places), and downloaded through torchvision only
when none is found. `freyface` is one MATLAB file (variable `ff`, 560 x 1965 uint8), found the
same way and downloaded from its public address when absent.
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .datasets import DATASETS as REGISTRY
from .datasets import NAMES, system_dirs
from .errors import DataUnavailableError

DATASETS = NAMES  # every dataset's name; the entries are in vae_core.datasets.DATASETS
PIXELS = ("continuous", "static", "dynamic")
EVAL_DRAW_SEED = 0  # dynamic binarisation: the seed of the one Bernoulli draw of held-out images
_IDX_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
DEFAULT_CACHE = Path(os.environ.get("VAE_CORE_DATA", Path.home() / ".cache" / "vae_core" / "data"))


@dataclass
class Dataset:
    name: str  # "digits", "mnist", ...
    x_train: torch.Tensor  # (N, D) float32 in [0, 1]
    y_train: torch.Tensor  # (N,) int64 class labels
    x_test: torch.Tensor  # (M, D)
    y_test: torch.Tensor  # (M,)
    image_shape: tuple[int, int, int]  # (C, H, W)
    class_names: list[str]
    source: str  # where the pixels came from, for the checkpoint's metadata
    extra: dict = field(default_factory=dict)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into a numpy array of uint8."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DataUnavailableError(f"{path} is not an IDX file of unsigned bytes")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    offset = 4 + 4 * ndim
    n = int(np.prod(shape))
    if len(data) - offset < n:
        raise DataUnavailableError(f"{path} is truncated: expected {n} values of shape {shape}")
    return np.frombuffer(data, dtype=np.uint8, count=n, offset=offset).reshape(shape)


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def _idx_folder(folder: Path, tv_name: str) -> Path | None:
    """The folder holding the four IDX files: `folder` itself or torchvision's layout in it."""
    for candidate in (folder, folder / tv_name / "raw", folder / "raw"):
        stems = [s for pair in _IDX_FILES.values() for s in pair]
        if all(_find_idx(candidate, s) for s in stems):
            return candidate
    return None


def search_paths(name: str, data_dir: str | Path | None) -> list[Path]:
    """Where `load_dataset` looks for the raw files of `name`, in order."""
    paths = [Path(data_dir)] if data_dir else []
    paths += [DEFAULT_CACHE, Path("data"), *system_dirs(name)]
    return paths


def _load_idx_dataset(name: str, data_dir: str | Path | None, download: bool) -> Dataset:
    info = REGISTRY[name]
    tv_name, class_names, how = info.torchvision_name, list(info.class_names), info.how_to_get
    tried = search_paths(name, data_dir)
    folder = next((f for f in (_idx_folder(p, tv_name) for p in tried) if f), None)
    download = download and os.environ.get("VAE_CORE_OFFLINE", "") not in ("1", "true", "yes")
    if folder is None and download and not data_dir:
        folder = _download(name, tv_name)
    if folder is None:
        where = ", ".join(str(p) for p in tried)
        raise DataUnavailableError(
            f"dataset {name!r} is not available offline: looked for its four IDX files in {where}"
            f"{'' if download and not data_dir else ' (no download attempted)'}. To get it: {how}."
        )
    arrays = {}
    for split, (img, lab) in _IDX_FILES.items():
        arrays[split] = (read_idx(_find_idx(folder, img)), read_idx(_find_idx(folder, lab)))
    (xtr, ytr), (xte, yte) = arrays["train"], arrays["test"]
    h, w = xtr.shape[1:]
    return Dataset(
        name=name,
        x_train=torch.from_numpy(xtr.reshape(len(xtr), -1).astype(np.float32) / 255.0),
        y_train=torch.from_numpy(ytr.astype(np.int64)),
        x_test=torch.from_numpy(xte.reshape(len(xte), -1).astype(np.float32) / 255.0),
        y_test=torch.from_numpy(yte.astype(np.int64)),
        image_shape=(1, h, w),
        class_names=class_names,
        source=str(folder.resolve()),
    )


def _download(name: str, tv_name: str) -> Path | None:
    """Download through torchvision into the cache; None when offline."""
    try:
        import torchvision.datasets as tvd

        cls = getattr(tvd, tv_name)
        DEFAULT_CACHE.mkdir(parents=True, exist_ok=True)
        for train in (True, False):
            cls(str(DEFAULT_CACHE), train=train, download=True)
    except Exception:  # offline, blocked, or a partial download: report as unavailable
        return None
    return _idx_folder(DEFAULT_CACHE, tv_name)


def _load_digits() -> Dataset:
    from sklearn.datasets import load_digits

    info = REGISTRY["digits"]
    bunch = load_digits()
    x = torch.from_numpy(bunch.data.astype(np.float32) / info.levels)  # (1797, 64), values k / 16
    y = torch.from_numpy(bunch.target.astype(np.int64))
    perm = torch.from_numpy(np.random.default_rng(0).permutation(len(x)))
    n_test = info.n_test  # a fixed 80/20 split
    test, train = perm[:n_test], perm[n_test:]
    return Dataset(
        name="digits",
        x_train=x[train],
        y_train=y[train],
        x_test=x[test],
        y_test=y[test],
        image_shape=info.image_shape,
        class_names=list(info.class_names),
        source="sklearn.datasets.load_digits (bundled with scikit-learn)",
    )


FREY_SHAPE = (28, 20)  # (H, W) of a Frey Face frame; the file stores 560 = 28 * 20 pixels per column


def read_frey_mat(path: Path) -> np.ndarray:
    """frey_rawface.mat -> (N, 28, 20) uint8 frames. The file is MATLAB v5 with one variable
    `ff` of shape (560, N), each column one frame in row-major 28 x 20 order."""
    from scipy.io import loadmat

    try:
        ff = loadmat(str(path))["ff"]
    except Exception as exc:  # not a MAT file, or no variable ff
        raise DataUnavailableError(
            f"{path} is not the Frey Face file (a MATLAB file with a variable ff): {exc}"
        ) from None
    h, w = FREY_SHAPE
    if ff.ndim != 2 or ff.shape[0] != h * w or ff.dtype != np.uint8:
        raise DataUnavailableError(f"{path}: ff must be ({h * w}, N) uint8, got {ff.shape} {ff.dtype}")
    return np.ascontiguousarray(ff.T).reshape(-1, h, w)


def _find_file(name: str, data_dir: str | Path | None) -> tuple[Path | None, list[Path]]:
    filename = REGISTRY[name].filename
    tried = search_paths(name, data_dir)
    for folder in tried:
        for candidate in (folder / filename, folder / name / filename):
            if candidate.is_file():
                return candidate, tried
    return None, tried


def _download_file(name: str) -> Path | None:
    """Download a single-file dataset into the cache (torchvision's downloader); None when offline."""
    info = REGISTRY[name]
    try:
        from torchvision.datasets.utils import download_url

        download_url(info.url, str(DEFAULT_CACHE), info.filename)
    except Exception:  # offline, blocked, or a partial download: report as unavailable
        return None
    path = DEFAULT_CACHE / info.filename
    return path if path.is_file() else None


def _load_frey(data_dir: str | Path | None, download: bool) -> Dataset:
    info = REGISTRY["freyface"]
    path, tried = _find_file("freyface", data_dir)
    download = download and os.environ.get("VAE_CORE_OFFLINE", "") not in ("1", "true", "yes")
    if path is None and download and not data_dir:
        path = _download_file("freyface")
    if path is None:
        where = ", ".join(str(p) for p in tried)
        raise DataUnavailableError(
            f"dataset 'freyface' is not available offline: looked for {info.filename} in {where}"
            f"{'' if download and not data_dir else ' (no download attempted)'}. To get it: {info.how_to_get}."
        )
    frames = read_frey_mat(path)
    x = torch.from_numpy(frames.reshape(len(frames), -1).astype(np.float32) / 255.0)
    perm = torch.from_numpy(np.random.default_rng(0).permutation(len(x)))
    n_test = round(len(x) * info.n_test / (info.n_train + info.n_test))  # 400 of the full 1,965
    test, train = perm[:n_test], perm[n_test:]
    y = torch.zeros(len(x), dtype=torch.int64)
    return Dataset(
        name="freyface",
        x_train=x[train],
        y_train=y[train],
        x_test=x[test],
        y_test=y[test],
        image_shape=info.image_shape,
        class_names=list(info.class_names),
        source=str(path.resolve()),
    )


def load_dataset(name: str, data_dir: str | Path | None = None, download: bool = True) -> Dataset:
    """Load a dataset by name. Raises DataUnavailableError (with where it looked) when absent."""
    if name == "digits":
        return _load_digits()
    if name == "freyface":
        return _load_frey(data_dir, download)
    if name in REGISTRY and REGISTRY[name].is_idx:
        return _load_idx_dataset(name, data_dir, download)
    raise DataUnavailableError(f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")


def eval_pixels(x: torch.Tensor, pixels: str) -> torch.Tensor:
    """Held-out images as a model trained with `pixels` is scored on them.

    continuous: unchanged. static: thresholded at 0.5, as in training. dynamic: one Bernoulli
    draw of each image from a generator seeded with EVAL_DRAW_SEED (on the CPU, so the draw is
    the same on every device), the usual protocol for dynamically binarised data; scoring the
    thresholded images instead would be several nats too optimistic.
    """
    if pixels == "dynamic":
        g = torch.Generator().manual_seed(EVAL_DRAW_SEED)
        return torch.bernoulli(x.detach().cpu().float(), generator=g).to(x.device, x.dtype)
    return binarize(x, pixels)


def eval_protocol(pixels: str) -> str:
    """How held-out images are scored, in words, for checkpoints' metadata and the docs."""
    return {
        "continuous": "continuous pixels, as stored",
        "static": "pixels thresholded at 0.5 (static binarisation)",
        "dynamic": f"one Bernoulli draw of each image (torch.Generator seeded {EVAL_DRAW_SEED}, on the CPU)",
    }[pixels]


def encoder_input(x: torch.Tensor, pixels: str) -> torch.Tensor:
    """What the encoder of a model trained with `pixels` expects from a user's image x in [0, 1].

    continuous: x itself. static and dynamic: the model only ever saw 0/1 pixels, so x is
    thresholded at 0.5 (for dynamic, the most likely draw; deterministic, so the same drawing
    always lands on the same z).
    """
    return binarize(x, "continuous" if pixels == "continuous" else "static")


def binarize(x: torch.Tensor, mode: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Pixel handling: 'continuous' keeps x; 'static' thresholds at 0.5; 'dynamic' samples."""
    if mode == "continuous":
        return x
    if mode == "static":
        return (x > 0.5).to(x.dtype)
    if mode == "dynamic":
        return torch.bernoulli(x, generator=generator)
    raise ValueError(f"pixels must be one of {PIXELS}, got {mode!r}")
