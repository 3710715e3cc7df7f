"""User images: every awkward kind is converted sensibly or refused with a clear message."""

import io
import struct
import tracemalloc
import zlib

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from vae_core.errors import ImageError
from vae_core.images import MAX_IMAGE_BYTES, image_bytes_to_input, open_image, to_model_input

SHAPE = (1, 28, 28)


def encode(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def drawing(mode: str = "L", size=(200, 200), ink=0, paper=255) -> Image.Image:
    img = Image.new(mode, size, paper)
    ImageDraw.Draw(img).ellipse([50, 30, 150, 170], outline=ink, width=18)
    return img


def check_input(x: torch.Tensor) -> None:
    assert x.shape == (1, 784) and x.dtype == torch.float32
    assert 0 <= x.min() and x.max() <= 1 and torch.isfinite(x).all()


def test_dark_ink_on_white_is_inverted_centred_and_fitted():
    x = image_bytes_to_input(encode(drawing()), SHAPE, dataset="mnist").view(28, 28)
    check_input(x.view(1, -1))
    assert x[0].max() == 0 and x[:, 0].max() == 0  # background became black
    assert x[14, 4:24].max() > 0.5  # the ring crosses the middle row
    ys, xs = torch.nonzero(x > 0.2, as_tuple=True)
    assert 3 <= ys.min() and ys.max() <= 24  # fitted into the 20x20 box of MNIST


@pytest.mark.parametrize("polarity", ["keep", "invert"])
def test_polarity_can_be_forced(polarity):
    x = image_bytes_to_input(encode(drawing()), SHAPE, polarity=polarity)
    check_input(x)


@pytest.mark.parametrize(
    "case",
    [
        "rgba_transparent",
        "palette",
        "cmyk_jpeg",
        "sixteen_bit",
        "one_by_one",
        "large_photo_jpeg",
        "grayscale_jpeg",
        "binary",
    ],
)
def test_awkward_but_valid_images_are_converted(case):
    if case == "rgba_transparent":
        img = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
        ImageDraw.Draw(img).rectangle([10, 10, 50, 50], fill=(0, 0, 0, 255))
        data = encode(img)
    elif case == "palette":
        data = encode(drawing("RGB").convert("P", palette=Image.Palette.ADAPTIVE, colors=8))
    elif case == "cmyk_jpeg":
        data = encode(drawing("RGB", ink=(0, 0, 0), paper=(255, 255, 255)).convert("CMYK"), "JPEG")
    elif case == "sixteen_bit":
        a = (np.asarray(drawing(), np.uint16) * 257).astype(np.uint16)
        img16 = Image.fromarray(a)
        assert img16.mode.startswith("I;16")
        data = encode(img16)
    elif case == "one_by_one":
        data = encode(Image.new("L", (1, 1), 128))
    elif case == "large_photo_jpeg":
        rng = np.random.default_rng(0)
        photo = Image.fromarray(rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8))
        data = encode(photo, "JPEG", quality=70)
    elif case == "grayscale_jpeg":
        data = encode(drawing(), "JPEG")
    else:
        data = encode(drawing().convert("1"))
    check_input(image_bytes_to_input(data, SHAPE))


def declared_png(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height black 1-bit pixels, with a few rows of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1 bit, greyscale
    rows = zlib.compress(bytes(1 + (width + 7) // 8) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "case,message",
    [
        ("text", "not a readable image"),
        ("truncated", "not a readable image"),
        ("empty", "empty"),
        ("bomb", "megapixels|decompression bomb"),
        ("too_big_file", "limit"),
    ],
)
def test_bad_images_are_refused_with_a_message(case, message):
    if case == "text":
        data = b"Dear teacher, this is a text file renamed to .png"
    elif case == "truncated":
        data = encode(drawing())[:200]
    elif case == "empty":
        data = b""
    elif case == "bomb":  # a tiny file that declares 60000 x 60000 pixels
        data = declared_png(60000, 60000)
        assert len(data) < 200
    else:
        data = b"\x89PNG" + b"\0" * (MAX_IMAGE_BYTES + 1)
    tracemalloc.start()
    with pytest.raises(ImageError, match=message):
        image_bytes_to_input(data, SHAPE)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 3 * MAX_IMAGE_BYTES  # refused without decoding the pixels


def test_open_image_returns_grayscale():
    assert open_image(encode(drawing("RGB"))).mode == "L"


def test_arrays_in_any_range_and_blank_images():
    check_input(to_model_input(np.zeros((10, 10)), SHAPE))
    check_input(to_model_input(np.full((5, 7, 3), 300.0), SHAPE))
    check_input(to_model_input(np.array([[np.nan, np.inf], [-np.inf, 1.0]]), SHAPE))
    with pytest.raises(ImageError):
        to_model_input(np.zeros((2, 2, 2, 2)), SHAPE)
    with pytest.raises(ImageError):
        to_model_input(np.array(["a", "b"]), SHAPE)


def test_canvas_data_urls_are_validated():
    import base64

    from explorer.draw_canvas import png_from_data_url

    png = encode(drawing())
    assert png_from_data_url("data:image/png;base64," + base64.b64encode(png).decode()) == png
    assert png_from_data_url(None) is None
    for bad in ("data:text/html;base64,PGI+", "data:image/png;base64,@@@", "javascript:alert(1)"):
        with pytest.raises(ImageError):
            png_from_data_url(bad)
