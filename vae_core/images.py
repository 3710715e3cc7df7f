"""Turn a user's image (PNG/JPEG bytes or an array) into the model's input, like the training data.

The datasets here are light ink on a dark background, grayscale. A photo or a drawing is converted
the way its dataset was made (docs/drawings.md), from the dataset's registry entry: grayscale,
polarity (auto: a light background is inverted), cropped to its content's bounding box, scaled
keeping its aspect so that the longer side fills the dataset's box (MNIST: 20 of 28 pixels) with
area averaging (the anti-aliasing that gives MNIST its grey edges), and placed by the content's
centre of mass (MNIST) or its box's centre (Fashion-MNIST). A drawing's strokes are first made as
wide as the dataset's (MNIST: 1.8-3.6 pixels after scaling), whatever the pen and the drawing's size.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from PIL import Image, ImageOps

from .datasets import dataset_info
from .errors import ImageError

MAX_IMAGE_BYTES = 20 * 1024 * 1024  # uploads larger than this are refused unread
MAX_IMAGE_PIXELS = 40_000_000  # width * height; more is refused before decoding (bombs)
POLARITIES = ("auto", "keep", "invert")
CENTRES = ("box", "mass")


def open_image(data: bytes) -> Image.Image:
    """Open and fully decode an image within the limits, as 8-bit grayscale on white for transparency."""
    if not isinstance(data, (bytes, bytearray)) or len(data) == 0:
        raise ImageError("the file is empty; choose a PNG or JPEG image")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageError(f"the image file is {len(data) / 2**20:.1f} MiB; the limit is {MAX_IMAGE_BYTES // 2**20} MiB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > MAX_IMAGE_PIXELS:
                raise ImageError(
                    f"the image is {w}x{h} pixels; the limit is {MAX_IMAGE_PIXELS // 1_000_000} megapixels"
                )
            if img.format not in ("PNG", "JPEG", "MPO", "WEBP", "BMP", "GIF"):
                raise ImageError(f"{img.format or 'this'} images are not supported; use PNG or JPEG")
            if img.format in ("JPEG", "MPO"):
                img.draft("L", (512, 512))  # decode big photos at a reduced size: fast and small
            img.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("the image declares an enormous size (a decompression bomb?); refused") from None
    except Exception as exc:  # PIL raises many types for broken files
        raise ImageError(f"the file is not a readable image ({type(exc).__name__}); use a PNG or JPEG") from None
    return _to_gray(img)


def _to_gray(img: Image.Image) -> Image.Image:
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(img, dtype=np.float64)
        hi = a.max() if a.size and a.max() > 0 else 1.0
        return Image.fromarray((a / hi * 255).astype(np.uint8))
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA") or "transparency" in img.info:
        img = img.convert("RGBA")
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(white, img)
    return img.convert("L")  # also CMYK, RGB, 1-bit, float modes


def to_model_input(
    image: Image.Image | np.ndarray,
    shape: tuple[int, int, int],
    polarity: str = "auto",
    fit: float = 0.72,
    crop: bool = True,
    centre: str = "box",
    stroke: tuple[float, float] | None = None,
) -> torch.Tensor:
    """A grayscale image -> (1, C*H*W) float32 in [0, 1], light content on dark.

    fit: the share of the output side the content's longer side fills (MNIST: 20 of 28 pixels).
    centre: "mass" places the content's centre of mass at the image's centre (MNIST), "box" its
    bounding box's centre. stroke: (lo, hi) stroke widths in output pixels; a drawing whose strokes
    would come out thinner or thicker is thickened or thinned to that range first (None: untouched).
    """
    if polarity not in POLARITIES:
        raise ImageError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
    if centre not in CENTRES:
        raise ImageError(f"centre must be one of {CENTRES}, got {centre!r}")
    try:
        with np.errstate(over="ignore"):  # huge values become inf, then are clipped below
            a = np.asarray(image, dtype=np.float32)
    except (TypeError, ValueError, OverflowError):
        raise ImageError(f"expected an image or an array of numbers, got {type(image).__name__}") from None
    if a.size == 0:
        raise ImageError(f"the image is empty (shape {a.shape})")
    if a.ndim == 3:
        a = a[..., :3].mean(-1)
    if a.ndim != 2:
        raise ImageError(f"expected a 2-D grayscale image, got an array of shape {a.shape}")
    a = np.nan_to_num(a, nan=0.0, posinf=255.0, neginf=0.0)
    a = np.clip(a, -1e6, 1e6)
    a = a / 255.0 if a.max() > 1.0 else a
    a = np.clip(a, 0.0, 1.0)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    if polarity == "invert" or (polarity == "auto" and border.mean() > 0.5):
        a = 1.0 - a
    c, h, w = shape
    box = max(1, round(min(h, w) * fit))  # the content's longer side, in output pixels
    if crop:
        a = _crop_to_content(a)
    if stroke is not None:
        a = _crop_to_content(restroke(a, box / max(a.shape), *stroke))
    small = _resize_keeping_aspect(a, box)
    out = _place(small, (h, w), centre)
    x = torch.from_numpy(out).unsqueeze(0).repeat(c, 1, 1)
    return x.reshape(1, -1)


def _resize_keeping_aspect(a: np.ndarray, box: int) -> np.ndarray:
    """A (box, box) image: `a` centred in a square (so its aspect and its box's centre are kept to
    a fraction of a pixel), then resized, with area averaging when shrinking."""
    side = max(a.shape)
    square = np.zeros((side, side), np.float32)
    y0, x0 = (side - a.shape[0]) // 2, (side - a.shape[1]) // 2
    square[y0 : y0 + a.shape[0], x0 : x0 + a.shape[1]] = a
    resample = Image.Resampling.BOX if box < side else Image.Resampling.BILINEAR
    img = Image.fromarray(square).resize((box, box), resample)
    return np.clip(np.asarray(img, np.float32), 0.0, 1.0)


def _place(small: np.ndarray, hw: tuple[int, int], centre: str) -> np.ndarray:
    """`small` pasted into an (h, w) black image: its centre of mass or its box's centre at the middle."""
    h, w = hw
    sh, sw = small.shape
    if centre == "mass" and small.sum() > 0:
        cy, cx = centre_of_mass(small)
        oy, ox = round(h / 2 - cy), round(w / 2 - cx)  # MNIST's mass centre is at (14, 14) of 28 x 28
    else:
        oy, ox = (h - sh) // 2, (w - sw) // 2
    out = np.zeros((h, w), np.float32)
    ys, xs = slice(max(0, oy), min(h, oy + sh)), slice(max(0, ox), min(w, ox + sw))
    out[ys, xs] = small[ys.start - oy : ys.stop - oy, xs.start - ox : xs.stop - ox]
    return out


def centre_of_mass(a: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted mean of pixel indices; a must have some ink."""
    total = float(a.sum())
    return (float(a.sum(1) @ np.arange(a.shape[0])) / total, float(a.sum(0) @ np.arange(a.shape[1])) / total)


def stroke_width(ink: np.ndarray) -> float:
    """The mean width of the strokes of a boolean ink mask, in its pixels (0 when there is no ink).

    Across a stroke of width w the distance to the nearest background pixel rises from 1 to w/2 and
    falls again, so its mean over the ink is about (w/2 + 1)/2: w = 4 * mean - 2.
    """
    if not ink.any():
        return 0.0
    from scipy.ndimage import distance_transform_edt

    return max(1.0, 4.0 * float(distance_transform_edt(ink)[ink].mean()) - 2.0)


def restroke(a: np.ndarray, scale: float, lo: float, hi: float, steps: int = 4) -> np.ndarray:
    """Thicken or thin the strokes of ink `a` so that, once scaled by `scale`, they are lo..hi pixels
    wide (a mouse line across a big canvas comes out thin, a small drawing's thick). Returns `a`
    unchanged when its strokes already are; otherwise a 0/1 image (padded when thickened). Thinning a
    blob narrows it less than the width removed, so the width is measured again, up to `steps` times."""
    from scipy.ndimage import distance_transform_edt

    ink, changed = a > 0.5, False
    for _ in range(steps):
        width = stroke_width(ink) * scale  # in output pixels
        if width == 0 or lo <= width <= hi:
            break
        grow = (min(max(width, lo), hi) - width) / scale / 2  # source pixels to add (remove) on each side
        if grow > 0:
            ink = np.pad(ink, int(np.ceil(grow)) + 1)  # room to grow beyond the crop
            new = distance_transform_edt(~ink) <= grow
        else:
            new = distance_transform_edt(ink) > -grow
            if new.sum() < 0.25 * ink.sum():  # thinning would erase the drawing: keep what there is
                break
        ink, changed = new, True
    return ink.astype(np.float32) if changed else a


def _crop_to_content(a: np.ndarray, threshold: float = 0.2) -> np.ndarray:
    rows, cols = np.flatnonzero((a > threshold).any(1)), np.flatnonzero((a > threshold).any(0))
    if len(rows) == 0:
        return a  # blank: nothing to crop to
    return a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def image_bytes_to_input(
    data: bytes,
    shape: tuple[int, int, int],
    polarity: str = "auto",
    dataset: str | None = None,
    drawing: bool = False,
) -> torch.Tensor:
    """Bytes of a PNG/JPEG -> model input (1, D), converted the way `dataset`'s images were made.

    drawing: the image is strokes drawn with a pen (the canvas): they are made as wide as the
    dataset's strokes, when its registry entry gives their range.
    """
    info = dataset_info(dataset) if dataset else None
    if info is None:
        return to_model_input(open_image(data), shape, polarity, fit=0.9)
    stroke = info.stroke_width if drawing else None
    return to_model_input(open_image(data), shape, polarity, fit=info.content_fit, centre=info.centre, stroke=stroke)
