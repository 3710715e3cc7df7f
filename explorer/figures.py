"""Plotly figures the pages draw: functions of arrays, no model maths; texts in the session's language."""

from __future__ import annotations

import base64

import numpy as np
import plotly.graph_objects as go
import torch

from vae_core.manifold import png_bytes

from .i18n import tr

# Ten classes, told apart with common colour-vision deficiencies (Okabe-Ito's eight without black,
# plus Paul Tol's wine and teal), and visible on light and dark backgrounds.
# Axes in nats read as plain numbers: Plotly's SI prefixes write 0.00003 as "30µ", which a student
# reads as the posterior mean μ, and 20000 as "20k".
PLAIN = dict(tickformat="~g", exponentformat="none")

PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999", "#AA4499", "#44AA99"]


def ndtr(x: np.ndarray) -> np.ndarray:
    """The standard normal CDF, elementwise."""
    return torch.special.ndtr(torch.as_tensor(x, dtype=torch.float64)).numpy()


def _square(fig: go.Figure, title: str, x: str = "z₁", y: str = "z₂", height: int = 520) -> go.Figure:
    fig.update_layout(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),
        legend=dict(itemsizing="constant"),
        xaxis_title=x,
        yaxis_title=y,
        dragmode="pan",
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


def scatter_traces(mu: np.ndarray, labels: np.ndarray, class_names: list[str], transform=None) -> list:
    """One WebGL scatter per class; customdata carries each point's index in the sample."""
    pts = mu[:, :2] if mu.shape[1] > 1 else np.c_[mu[:, :1], np.zeros(len(mu))]
    if transform is not None:
        pts = transform(pts)
    traces = []
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        name = class_names[c] if c < len(class_names) else str(c)
        traces.append(
            go.Scattergl(
                x=pts[idx, 0],
                y=pts[idx, 1],
                mode="markers",
                name=name,
                customdata=idx,
                marker=dict(size=5, color=PALETTE[int(c) % len(PALETTE)], opacity=0.75),
                hovertemplate=f"{name}<br>#%{{customdata}}<br>z=(%{{x:.2f}}, %{{y:.2f}})<extra></extra>",
            )
        )
    return traces


def latent_scatter(
    mu: np.ndarray,
    labels: np.ndarray,
    class_names: list[str],
    z=None,
    ellipse=None,
    title: str | None = None,
    height: int = 520,
) -> go.Figure:
    """The test sample's posterior means, the current z (star) and an optional posterior ellipse.

    The ellipse and the star are WebGL traces added after the points: plotly draws every WebGL
    trace above every SVG one, so as SVG they would hide under a dense cluster."""
    fig = go.Figure(scatter_traces(mu, labels, class_names))
    if ellipse is not None:
        for color, width in (("white", 5), ("black", 2.5)):  # a halo keeps it visible on any colour
            fig.add_trace(
                go.Scattergl(
                    x=ellipse[:, 0],
                    y=ellipse[:, 1],
                    mode="lines",
                    name="μ ± 2σ",
                    showlegend=color == "black",
                    hoverinfo="skip",
                    line=dict(color=color, width=width),
                )
            )
    if z is not None:
        z2 = [z[0], z[1] if len(z) > 1 else 0.0]
        fig.add_trace(
            go.Scattergl(
                x=[z2[0]],
                y=[z2[1]],
                mode="markers",
                name=tr("current z", "현재 z"),
                marker=dict(symbol="star", size=20, color="#FFD400", line=dict(color="black", width=1.5)),
            )
        )
    return _square(fig, title or tr("Latent space", "잠재 공간"), height=height)


def manifold_figure(
    mosaic: np.ndarray,
    z1: np.ndarray,
    z2: np.ndarray,
    spacing: str,
    mu: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    class_names: list[str] | None = None,
) -> go.Figure:
    """The decoded grid as a background image with axes in z (linear) or Φ(z) (icdf) units,
    optionally with the test sample's latent means on the same axes."""
    n1, n2 = len(z1), len(z2)
    if spacing == "icdf":  # grid cells are equal squares in the unit square u = Φ(z)
        x0, x1, y0, y1 = 0.0, 1.0, 0.0, 1.0
        transform, axes = ndtr, ("Φ(z₁)", "Φ(z₂)")
    else:
        dx = (z1[-1] - z1[0]) / max(n1 - 1, 1)
        dy = (z2[-1] - z2[0]) / max(n2 - 1, 1)
        x0, x1, y0, y1 = z1[0] - dx / 2, z1[-1] + dx / 2, z2[0] - dy / 2, z2[-1] + dy / 2
        transform, axes = None, ("z₁", "z₂")
    uri = "data:image/png;base64," + base64.b64encode(png_bytes(mosaic)).decode()
    fig = go.Figure()
    fig.add_layout_image(
        source=uri, xref="x", yref="y", x=x0, y=y1, sizex=x1 - x0, sizey=y1 - y0, sizing="stretch", layer="below"
    )
    if mu is not None and len(mu):
        for t in scatter_traces(mu, labels, class_names or [], transform):
            t.marker.size = 4
            fig.add_trace(t)
    else:  # an invisible trace so the axes exist
        fig.add_trace(
            go.Scatter(
                x=[x0, x1], y=[y0, y1], mode="markers", marker=dict(opacity=0), showlegend=False, hoverinfo="skip"
            )
        )
    fig.update_xaxes(
        range=[x0, x1], showgrid=False, constrain="domain"
    )  # a wide box shrinks the square, never widens the range
    fig.update_yaxes(range=[y0, y1], showgrid=False, constrain="domain")
    return _square(fig, tr("Learned manifold", "학습된 매니폴드"), *axes, height=640)


def history_figure(history: list[dict]) -> go.Figure:
    """Negative ELBO, reconstruction and KL per epoch, train and test, in nats per image."""
    from plotly.subplots import make_subplots

    epochs = [h["epoch"] for h in history]
    titles = (tr("−ELBO (loss, nats)", "−ELBO (손실, nats)"), "−E[log p(x|z)] (nats)", "KL (nats)")
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles)
    for col, key, sign in ((1, "elbo", -1), (2, "recon", -1), (3, "kl", 1)):
        for split, dash in (("train", "solid"), ("test", "dash")):
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=[sign * h[split][key] for h in history],
                    mode="lines+markers",
                    name=tr("train", "학습") if split == "train" else tr("test", "테스트"),
                    line=dict(dash=dash, color=PALETTE[0] if split == "train" else PALETTE[1]),
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text=tr("epoch", "에폭"))
    fig.update_yaxes(**PLAIN)
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def kl_bar(kl_per_dim: list[float]) -> go.Figure:
    fig = go.Figure(go.Bar(x=[f"z{i + 1}" for i in range(len(kl_per_dim))], y=kl_per_dim))
    fig.update_layout(
        title=tr("KL per latent dimension (nats)", "잠재 차원별 KL (nats)"),
        height=260,
        margin=dict(l=10, r=10, t=40, b=10),
    )
    fig.update_yaxes(**PLAIN)
    return fig
