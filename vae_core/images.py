"""Turn a user's image (PNG/JPEG bytes or an array) into the model's input, like the training data.

The datasets here are light ink on a dark background, centred, grayscale. A photo or a drawing
is converted the same way: grayscale, polarity (auto: a light background is inverted),
cropped to its content, fitted into the image with a margin, and resized.
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
) -> torch.Tensor:
    """A grayscale image -> (1, C*H*W) float32 in [0, 1], light content on dark, centred.

    fit: the share of the output side the content's longer side fills (MNIST: 20 of 28 pixels).
    """
    if polarity not in POLARITIES:
        raise ImageError(f"polarity must be one of {POLARITIES}, got {polarity!r}")
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
    if crop:
        a = _crop_to_content(a)
    side = max(a.shape)
    canvas = np.zeros((side, side), np.float32)  # pad to a square, content centred
    y0, x0 = (side - a.shape[0]) // 2, (side - a.shape[1]) // 2
    canvas[y0 : y0 + a.shape[0], x0 : x0 + a.shape[1]] = a
    inner = max(1, round(min(h, w) * fit))
    small = Image.fromarray((canvas * 255).astype(np.uint8)).resize((inner, inner), Image.Resampling.LANCZOS)
    out = np.zeros((h, w), np.float32)
    oy, ox = (h - inner) // 2, (w - inner) // 2
    out[oy : oy + inner, ox : ox + inner] = np.asarray(small, np.float32) / 255.0
    x = torch.from_numpy(out).unsqueeze(0).repeat(c, 1, 1)
    return x.reshape(1, -1)


def _crop_to_content(a: np.ndarray, threshold: float = 0.2) -> np.ndarray:
    rows, cols = np.flatnonzero((a > threshold).any(1)), np.flatnonzero((a > threshold).any(0))
    if len(rows) == 0:
        return a  # blank: nothing to crop to
    return a[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def image_bytes_to_input(
    data: bytes, shape: tuple[int, int, int], polarity: str = "auto", dataset: str | None = None
) -> torch.Tensor:
    """Bytes of a PNG/JPEG -> model input (1, D), converted the way `dataset` looks."""
    info = dataset_info(dataset) if dataset else None  # how much of the frame content fills there
    return to_model_input(open_image(data), shape, polarity, fit=info.content_fit if info else 0.9)
