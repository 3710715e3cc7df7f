"""Fig. 2 and Fig. 5 of the paper as files: CSV and JSON of the curves, PNGs drawn with PIL.

Fig. 2's layout is the paper's: one row of panels per dataset, one panel per N_z, the bound per
datapoint against training samples evaluated on a log axis, AEVB and wake-sleep, train solid and
test dashed.
"""

from __future__ import annotations

import csv
import io
import math
import platform
import subprocess

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from .manifold import legible_tile
from .paper import Curve

COLORS = {"aevb": (200, 30, 30), "wake-sleep": (20, 140, 40)}
LABELS = {"aevb": "AEVB", "wake-sleep": "Wake-Sleep"}
PANEL_W, PANEL_H = 300, 230
MARGIN_L, MARGIN_B, MARGIN_T = 62, 44, 28


def machine() -> str:
    """The CPU's model name (`lscpu`), or the platform's processor string."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return platform.processor() or platform.machine()


def csv_text(curves: list[Curve]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(
        ["dataset", "n_train", "n_test", "latent_dim", "algorithm", "step_size", "samples", "train_bound", "test_bound"]
    )
    for c in curves:
        for samples, train, test in c.points:
            w.writerow(
                [
                    c.dataset,
                    c.n_train,
                    c.n_test,
                    c.latent_dim,
                    c.algorithm,
                    c.lr,
                    int(samples),
                    f"{train:.4f}",
                    f"{test:.4f}",
                ]
            )
    return buf.getvalue()


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()


def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = hi - lo
    if span <= 0:
        return [lo]
    step = 10 ** math.floor(math.log10(span / n))
    for m in (1, 2, 5, 10):
        if span / (step * m) <= n:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _y_range(curves: list[Curve], x_max: float) -> tuple[float, float]:
    """From the lowest value in the last two decades to the highest: the early, very low bounds
    (and a wake-sleep run far below AEVB) would otherwise flatten every curve into a line."""
    vals = [v for c in curves for p in c.points if p[0] >= x_max / 100 for v in p[1:] if math.isfinite(v)]
    if not vals:
        vals = [v for c in curves for p in c.points for v in p[1:] if math.isfinite(v)] or [0.0, 1.0]
    best = max(vals)
    # A curve far below the others keeps at most 3x the spread of the best ones on the panel.
    top = sorted(vals, reverse=True)[: max(1, len(vals) // 2)]
    lo = max(min(vals), best - 3 * max(best - min(top), 1.0))
    pad = 0.06 * max(best - lo, 1.0)
    return lo - pad, best + pad


def _dashed(draw: ImageDraw.ImageDraw, pts: list[tuple[float, float]], fill, width: int, dash: float = 7.0) -> None:
    on, left = True, dash
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
        seg = math.hypot(x1 - x0, y1 - y0)
        t = 0.0
        while t < seg:
            step = min(left, seg - t)
            if on:
                a, b = t / seg, (t + step) / seg
                draw.line(
                    [(x0 + (x1 - x0) * a, y0 + (y1 - y0) * a), (x0 + (x1 - x0) * b, y0 + (y1 - y0) * b)], fill, width
                )
            t += step
            left -= step
            if left <= 1e-9:
                on, left = not on, dash


def _panel(draw, ox: int, oy: int, curves: list[Curve], title: str, x_lo: float, x_hi: float) -> None:
    font, small = _font(14), _font(11)
    x0, y0 = ox + MARGIN_L, oy + MARGIN_T
    w, h = PANEL_W - MARGIN_L - 12, PANEL_H - MARGIN_T - MARGIN_B
    draw.rectangle([x0, y0, x0 + w, y0 + h], outline=(0, 0, 0))
    draw.text((x0 + w / 2, oy + 6), title, fill=(0, 0, 0), font=font, anchor="mt")
    y_lo, y_hi = _y_range(curves, x_hi)
    lx_lo, lx_hi = math.log10(x_lo), math.log10(x_hi)

    def px(s: float, v: float) -> tuple[float, float]:
        fx = (math.log10(s) - lx_lo) / max(lx_hi - lx_lo, 1e-9)
        fy = (min(max(v, y_lo), y_hi) - y_lo) / (y_hi - y_lo)
        return x0 + fx * w, y0 + h - fy * h

    for e in range(math.ceil(lx_lo), math.floor(lx_hi) + 1):
        x = px(10**e, y_lo)[0]
        draw.line([(x, y0 + h), (x, y0 + h + 4)], fill=(0, 0, 0))
        draw.text((x - 1, y0 + h + 8), "10", fill=(0, 0, 0), font=small, anchor="rt")
        draw.text((x, y0 + h + 4), str(e), fill=(0, 0, 0), font=_font(9), anchor="lt")  # superscript
    for t in _nice_ticks(y_lo, y_hi):
        y = px(x_lo, t)[1]
        draw.line([(x0 - 4, y), (x0, y)], fill=(0, 0, 0))
        draw.line([(x0 + 1, y), (x0 + w - 1, y)], fill=(232, 232, 232))
        draw.text((x0 - 6, y), f"{t:g}", fill=(0, 0, 0), font=small, anchor="rm")
    draw.text((x0 + w / 2, y0 + h + 22), "# training samples evaluated", fill=(0, 0, 0), font=small, anchor="mt")
    for c in curves:
        pts = [p for p in c.points if p[0] >= x_lo]
        if len(pts) < 2:
            continue
        color = COLORS[c.algorithm]
        draw.line([px(p[0], p[1]) for p in pts], fill=color, width=2)
        _dashed(draw, [px(p[0], p[2]) for p in pts], color, 2)


def fig2_png(curves: list[Curve], x_lo: float | None = None) -> bytes:
    """The Fig. 2 grid as PNG bytes: rows = datasets (in the order given), columns = N_z."""
    rows: dict[str, dict[int, list[Curve]]] = {}
    for c in curves:
        rows.setdefault(c.title, {}).setdefault(c.latent_dim, []).append(c)
    ncol = max(len(r) for r in rows.values())
    x_hi = max(p[0] for c in curves for p in c.points)
    x_lo = x_lo or max(
        min(p[0] for c in curves for p in c.points), x_hi / 1e3
    )  # the last three decades, as in the paper
    legend_h = 34
    img = Image.new("RGB", (ncol * PANEL_W + 40, len(rows) * (PANEL_H + 24) + legend_h + 10), "white")
    draw = ImageDraw.Draw(img)
    for r, (title, by_nz) in enumerate(rows.items()):
        oy = r * (PANEL_H + 24)
        draw.text((10, oy + 2), title.replace("×", "x"), fill=(0, 0, 0), font=_font(15))  # the font has no ×
        for col, nz in enumerate(sorted(by_nz)):
            _panel(draw, 20 + col * PANEL_W, oy + 20, by_nz[nz], f"N_z = {nz}", x_lo, x_hi)
        draw.text((14, oy + 20 + MARGIN_T + 60), "L", fill=(0, 0, 0), font=_font(15))
    ly, lx = img.height - legend_h, 30
    for alg in ("aevb", "wake-sleep"):
        for split, dashed in (("train", False), ("test", True)):
            seg = [(lx, ly + 10), (lx + 36, ly + 10)]
            if dashed:
                _dashed(draw, seg, COLORS[alg], 2)
            else:
                draw.line(seg, fill=COLORS[alg], width=2)
            text = f"{LABELS[alg]} ({split})"
            draw.text((lx + 42, ly + 10), text, fill=(0, 0, 0), font=_font(13), anchor="lm")
            lx += 60 + int(draw.textlength(text, font=_font(13)))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def fig5_png(samples: dict[int, torch.Tensor], ncol: int = 10) -> bytes:
    """Fig. 5: a mosaic of prior samples per N_z, side by side, each titled. samples: N_z ->
    (n, C, H, W) floats in [0, 1]."""
    mosaics = {
        nz: legible_tile((x.clamp(0, 1) * 255).round().to(torch.uint8), ncol, gap=True) for nz, x in samples.items()
    }
    scale = max(1, 160 // max(m.shape[1] for m in mosaics.values()))
    tiles = {
        nz: Image.fromarray(np.asarray(m)).resize((m.shape[1] * scale, m.shape[0] * scale), Image.NEAREST)
        for nz, m in mosaics.items()
    }
    w = sum(t.width for t in tiles.values()) + 20 * (len(tiles) + 1)
    h = max(t.height for t in tiles.values()) + 50
    img = Image.new("RGB", (w, h), "white")
    draw, x = ImageDraw.Draw(img), 20
    for nz, t in tiles.items():
        draw.text((x + t.width / 2, 8), f"(N_z = {nz})", fill=(0, 0, 0), font=_font(16), anchor="mt")
        img.paste(t.convert("RGB"), (x, 34))
        x += t.width + 20
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
