"""The dataset registry: everything vae_core and the app know about a dataset, in one entry.

Name, image shape, class names, full sizes, where its files are found and how to get them,
per-dataset training defaults (used by the CLI and the app's Train form alike) and display
options. Adding a dataset is one entry here (plus a loader in data.py if it is a new format).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType


@dataclass(frozen=True)
class DatasetInfo:
    name: str  # the key: "digits", "mnist", ...
    title: str  # how people call it, for displays
    image_shape: tuple[int, int, int]  # (C, H, W)
    class_names: tuple[str, ...]
    n_train: int  # images in the full training split
    n_test: int  # images in the full test split
    levels: int  # pixel values in the files are k / levels, k = 0..levels (digits: 16, 8-bit: 255)
    content_fit: float  # share of the frame the content's longer side fills (for converting user images)
    centre: str = "box"  # how content is placed: "mass" (centre of mass, as MNIST) or "box" (its box's centre)
    stroke_width: tuple[float, float] | None = None  # strokes' widths in pixels (10th, 90th percentile)
    torchvision_name: str | None = None  # IDX datasets: torchvision's class (and folder) name
    search_dirs: tuple[str, ...] = ()  # system folders that may hold the files, after the user's
    how_to_get: str = ""  # what to do when the files are missing
    url: str = ""  # single-file datasets: the file's public address (downloaded into the cache)
    filename: str = ""  # single-file datasets: the file's name (looked for in each search folder)
    defaults: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # setting -> value

    @property
    def is_idx(self) -> bool:
        return self.torchvision_name is not None


def _defaults(**values) -> MappingProxyType:
    return MappingProxyType(values)


def _online_or_folder(what: str) -> str:
    return (
        "run once on a machine that is online (torchvision downloads it), or pass --data-dir "
        f"with the four {what} *-idx?-ubyte(.gz) files"
    )


_DIGITS = tuple(str(i) for i in range(10))
# The 28x28 datasets share these; digits (1,437 images) needs small batches and a KL warm-up so
# that its posterior does not collapse in a short run.
_LARGE = _defaults(epochs=10, batch_size=0, warmup_epochs=0, hidden=(512, 256))  # batch 0: auto

DATASETS: dict[str, DatasetInfo] = {
    d.name: d
    for d in (
        DatasetInfo(
            name="digits",
            title="sklearn digits (8×8)",
            image_shape=(1, 8, 8),
            class_names=_DIGITS,
            n_train=1437,
            n_test=360,
            levels=16,
            content_fit=1.0,
            how_to_get="it ships with scikit-learn: `pip install scikit-learn`",
            defaults=_defaults(epochs=30, batch_size=32, warmup_epochs=10, hidden=(256, 128)),
        ),
        DatasetInfo(
            name="mnist",
            title="MNIST",
            image_shape=(1, 28, 28),
            class_names=_DIGITS,
            n_train=60000,
            n_test=10000,
            levels=255,
            content_fit=20 / 28,  # digits in a 20x20 box of 28x28
            centre="mass",  # "centered in a 28x28 image by computing the center of mass of the pixels"
            stroke_width=(1.8, 3.6),  # measured on the test images (tests/test_drawings.py checks it)
            torchvision_name="MNIST",
            search_dirs=("/usr/share/datasets/mnist",),
            how_to_get=_online_or_folder("MNIST"),
            defaults=_LARGE,
        ),
        DatasetInfo(
            name="fashion-mnist",
            title="Fashion-MNIST",
            image_shape=(1, 28, 28),
            class_names=(
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ),
            n_train=60000,
            n_test=10000,
            levels=255,
            content_fit=1.0,
            torchvision_name="FashionMNIST",
            search_dirs=("/usr/share/datasets/fashion-mnist",),
            how_to_get="on Debian/Ubuntu: `apt-get install dataset-fashion-mnist` (files go to "
            "/usr/share/datasets/fashion-mnist); or run once online; or pass --data-dir",
            defaults=_LARGE,
        ),
        DatasetInfo(
            name="freyface",
            title="Frey Face (28×20)",
            image_shape=(1, 28, 20),
            class_names=("face",),  # one person's face: no classes
            n_train=1565,
            n_test=400,  # a fixed random split of the 1,965 frames (the paper gives none)
            levels=255,
            content_fit=1.0,
            search_dirs=("/usr/share/datasets/freyface",),
            url="https://cs.nyu.edu/~roweis/data/frey_rawface.mat",
            filename="frey_rawface.mat",
            how_to_get="download https://cs.nyu.edu/~roweis/data/frey_rawface.mat on a machine that is online "
            "and put it in a folder given with --data-dir (or in ~/.cache/vae_core/data)",
            # The paper's decoder for it: a Gaussian whose mean goes through a sigmoid, variance learned.
            defaults=_defaults(
                epochs=100,
                batch_size=100,
                warmup_epochs=0,
                hidden=(200,),
                likelihood="gaussian",
                gaussian_variance="learned",
            ),
        ),
        DatasetInfo(
            name="kmnist",
            title="Kuzushiji-MNIST",
            image_shape=(1, 28, 28),
            class_names=("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
            n_train=60000,
            n_test=10000,
            levels=255,
            content_fit=0.9,
            torchvision_name="KMNIST",
            search_dirs=("/usr/share/datasets/kmnist",),
            how_to_get=_online_or_folder("KMNIST"),
            defaults=_LARGE,
        ),
    )
}
NAMES = tuple(DATASETS)


def dataset_info(name: str) -> DatasetInfo | None:
    """The registry entry of `name`, or None for a dataset vae_core does not know."""
    return DATASETS.get(name)


def system_dirs(name: str) -> list[Path]:
    info = DATASETS.get(name)
    return [Path(p) for p in (info.search_dirs if info else ())]
