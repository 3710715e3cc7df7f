"""Drawings that land where they should: real test images drawn onto the Encode page's canvas and
sent through the page's conversion (vae_core.images.image_bytes_to_input), against the originals.

    python -m bench.drawings [--n 500] [--seed 0] [--out docs/bench-results/drawings.json]

For MNIST (the shipped mnist-10k model; files in ../shared/data/mnist-10k or --mnist-dir) and
Fashion-MNIST (the shipped model; /usr/share/datasets/fashion-mnist or --fashion-dir):

- `traced`: each test image drawn onto the 280 x 280 canvas as the canvas gives it (dark ink on white,
  a PNG), its content's box 0.4-0.9 of the canvas at a random place; MNIST's ink is solid (a pen),
  Fashion-MNIST keeps its grey levels. Reported: the mean absolute pixel error against the original
  (pixels in [0, 1]), the distance from the drawing's μ to the original's μ, and the rank of the
  original's μ among all test μ by distance from the drawing's (0: its own is the nearest).
- `pen` (MNIST): each digit redrawn with the canvas's own pen (its strokes' middle lines drawn 20 px
  wide) at three sizes; reported: how often the 10 nearest training μ vote for the digit's label
  (the test images themselves give the ceiling).

Each is run with the conversion of today ("now") and with the one it replaced ("before": the content
padded to a square, resized with Lanczos to the dataset's box and centred by its box; no stroke
correction), so the two stand side by side. Not a timing: no machine figures matter but the pixels.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from bench.common import ROOT, report  # noqa: E402
from vae_core.checkpoint import load_checkpoint  # noqa: E402
from vae_core.data import load_dataset  # noqa: E402
from vae_core.datasets import dataset_info  # noqa: E402
from vae_core.images import _crop_to_content, image_bytes_to_input, open_image  # noqa: E402

CANVAS = 280  # explorer.draw_canvas.SIZE (vae_core and bench do not import the app)
PEN = 20  # explorer.draw_canvas.PEN
SHAPE = (1, 28, 28)


def png(ink: np.ndarray) -> bytes:
    """Ink in [0, 1] as the canvas sends it: a PNG of dark ink on white."""
    buf = io.BytesIO()
    Image.fromarray(((1.0 - ink) * 255).round().astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _content(a: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(a.any(1)), np.flatnonzero(a.any(0))
    return a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _enlarge(a: np.ndarray, longer: float) -> np.ndarray:
    k = longer / max(a.shape)
    size = (max(1, round(a.shape[1] * k)), max(1, round(a.shape[0] * k)))
    return np.asarray(Image.fromarray((a * 255).astype(np.uint8)).resize(size, Image.Resampling.BILINEAR)) / 255.0


def _put(canvas: np.ndarray, part: np.ndarray, rng: np.random.Generator, margin: int = 0) -> None:
    h, w = part.shape
    y = rng.integers(margin, canvas.shape[0] - h - margin + 1)
    x = rng.integers(margin, canvas.shape[1] - w - margin + 1)
    canvas[y : y + h, x : x + w] = np.maximum(canvas[y : y + h, x : x + w], part)


def traced(image: np.ndarray, rng: np.random.Generator, solid: bool, size: tuple[float, float] = (0.4, 0.9)) -> bytes:
    """A 28 x 28 test image (light on dark, [0, 1]) drawn onto the canvas, as the canvas sends it."""
    part = _enlarge(_content(image), rng.uniform(*size) * CANVAS)
    if solid:
        part = (part > 0.5).astype(np.float64)
    canvas = np.zeros((CANVAS, CANVAS))
    _put(canvas, part, rng)
    return png(canvas)


def pen_drawn(image: np.ndarray, rng: np.random.Generator, size: tuple[float, float], pen: int = PEN) -> bytes:
    """A digit redrawn with the canvas's pen: the middle lines of its strokes, drawn `pen` px wide."""
    from scipy.ndimage import distance_transform_edt, maximum_filter

    ink = _enlarge(_content(image), rng.uniform(*size) * (CANVAS - pen)) > 0.5
    depth = distance_transform_edt(ink)
    middle = (depth >= maximum_filter(depth, size=3)) & ink  # the ridge of each stroke
    lines = np.zeros((CANVAS, CANVAS))
    _put(lines, middle.astype(np.float64), rng, margin=pen // 2)
    return png((distance_transform_edt(lines == 0) <= pen / 2).astype(np.float64))


def before(data: bytes, dataset: str) -> torch.Tensor:
    """The conversion this replaced (revision 7d7dbd4), for the side-by-side figures."""
    a = 1.0 - np.asarray(open_image(data), np.float32) / 255.0
    a = _crop_to_content(a)
    side = max(a.shape)
    square = np.zeros((side, side), np.float32)
    y0, x0 = (side - a.shape[0]) // 2, (side - a.shape[1]) // 2
    square[y0 : y0 + a.shape[0], x0 : x0 + a.shape[1]] = a
    inner = max(1, round(28 * dataset_info(dataset).content_fit))
    small = Image.fromarray((square * 255).astype(np.uint8)).resize((inner, inner), Image.Resampling.LANCZOS)
    out = np.zeros((28, 28), np.float32)
    o = (28 - inner) // 2
    out[o : o + inner, o : o + inner] = np.asarray(small, np.float32) / 255.0
    return torch.from_numpy(out).reshape(1, -1)


def now(data: bytes, dataset: str) -> torch.Tensor:
    return image_bytes_to_input(data, SHAPE, "auto", dataset, drawing=True)


CONVERSIONS = {"before": before, "now": now}


def own_mu(model, x: torch.Tensor, drawn: torch.Tensor) -> dict:
    """How near each drawing's μ is to its original's, and the original's rank among all test μ."""
    with torch.no_grad():
        mu0, mu = model.encode(x)[0], model.encode(drawn)[0]
    d = (mu - mu0).norm(dim=1)
    rank = (torch.cdist(mu, mu0) < d[:, None]).sum(1).float()
    err = (drawn - x).abs().mean(1)
    return {
        "pixel_abs_error_mean": err.mean().item(),
        "pixel_abs_error_median": err.median().item(),
        "mu_distance_median": d.median().item(),
        "mu_distance_p90": d.quantile(0.9).item(),
        "own_mu_rank_median": rank.median().item(),
        "own_mu_nearest_share": (rank == 0).float().mean().item(),
    }


def measure_traced(name: str, ds, model, n: int, seed: int, solid: bool) -> dict:
    x = ds.x_test[:n]
    out = {}
    for label, convert in CONVERSIONS.items():
        rng = np.random.default_rng(seed)
        drawn = torch.cat([convert(traced(a, rng, solid), name) for a in x.view(-1, 28, 28).numpy()])
        out[label] = own_mu(model, x, drawn)
    return out


def measure_pen(ds, model, n: int, seed: int) -> dict:
    with torch.no_grad():
        ref = model.encode(ds.x_train)[0]
    x, y = ds.x_test[:n], ds.y_test[:n]

    def vote(mu: torch.Tensor) -> float:
        near = torch.cdist(mu, ref).topk(10, largest=False).indices
        return (torch.mode(ds.y_train[near], dim=1).values == y).float().mean().item()

    with torch.no_grad():
        out = {"test_images_themselves": vote(model.encode(x)[0])}
    for lo, hi in ((0.25, 0.45), (0.45, 0.7), (0.7, 0.95)):
        for label, convert in CONVERSIONS.items():
            rng = np.random.default_rng(seed)
            drawn = torch.cat([convert(pen_drawn(a, rng, (lo, hi)), "mnist") for a in x.view(-1, 28, 28).numpy()])
            with torch.no_grad():
                out[f"size_{lo}-{hi}_{label}"] = vote(model.encode(drawn)[0])
    return out


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=500, help="test images per dataset")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mnist-dir", default=str(ROOT.parent / "shared" / "data" / "mnist-10k"))
    p.add_argument("--mnist-checkpoint", default=str(ROOT / "checkpoints" / "mnist-10k.safetensors"))
    p.add_argument("--fashion-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--fashion-checkpoint", default=str(ROOT / "checkpoints" / "fashion-mnist.safetensors"))
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    results = {"n": args.n, "seed": args.seed}
    mnist = load_dataset("mnist", data_dir=args.mnist_dir, download=False)
    model = load_checkpoint(args.mnist_checkpoint).model
    results["mnist_traced"] = measure_traced("mnist", mnist, model, args.n, args.seed, solid=True)
    results["mnist_pen_knn_label"] = measure_pen(mnist, model, args.n, args.seed)
    fashion = load_dataset("fashion-mnist", data_dir=args.fashion_dir, download=False)
    model = load_checkpoint(args.fashion_checkpoint).model
    results["fashion_traced"] = measure_traced("fashion-mnist", fashion, model, args.n, args.seed, solid=False)
    report("drawings", results, args.out)
    return results


if __name__ == "__main__":
    main()
