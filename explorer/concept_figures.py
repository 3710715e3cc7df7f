"""Plotly figures of the Concepts pages. Pure functions of arrays: no Streamlit, no model maths.

Every axis that shows nats uses plain number formatting: plotly's default SI prefixes would
write 0.00002 as "20μ", which reads as the posterior mean μ.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from vae_core.manifold import posterior_ellipse

from .figures import PALETTE, PLAIN, scatter_traces
from .i18n import tr

MARGIN = dict(l=10, r=10, t=50, b=10)


def posterior_plane(mu, logvar, z: np.ndarray, title: str, labels: tuple[str, str, str]) -> go.Figure:
    """q(z|x) in its first two dims: the mean, the mu +- 1 sigma and 2 sigma ellipses, and the
    draws z (the newest one marked). The axes are fixed at mu +- 4 sigma so an animation does
    not rescale them. labels: names of (the mean, the ellipses' prefix, the draws)."""
    mu2 = np.pad(np.asarray(mu, float)[:2], (0, 2))[:2]
    sigma = np.pad(np.exp(0.5 * np.asarray(logvar, float)[:2]), (0, 2), constant_values=1.0)[:2]
    half = 4 * float(sigma.max())
    fig = go.Figure()
    for k, dash in ((1, "solid"), (2, "dash")):
        e = posterior_ellipse(mu, logvar, n_sigma=k)
        fig.add_trace(
            go.Scatter(
                x=e[:, 0], y=e[:, 1], mode="lines", name=f"{labels[1]} μ ± {k}σ", line=dict(color="black", dash=dash)
            )
        )
    pts = np.zeros((0, 2)) if len(z) == 0 else np.c_[z[:, :1], z[:, 1:2] if z.shape[1] > 1 else np.zeros(len(z))]
    fig.add_trace(
        go.Scatter(
            x=pts[:-1, 0],
            y=pts[:-1, 1],
            mode="markers",
            name=labels[2],
            marker=dict(size=9, color=PALETTE[0], opacity=0.6),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=pts[-1:, 0],
            y=pts[-1:, 1],
            mode="markers",
            name="z = μ + σ ⊙ ε",
            marker=dict(size=16, color=PALETTE[3], line=dict(color="white", width=1)),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=[mu2[0]],
            y=[mu2[1]],
            mode="markers",
            name=labels[0],
            marker=dict(symbol="x", size=14, color="black"),
        )
    )
    # constrain="domain": the square shown is the range asked for, at any width (plotly would widen it)
    fig.update_xaxes(range=[mu2[0] - half, mu2[0] + half], title="z₁", constrain="domain", **PLAIN)
    fig.update_yaxes(
        range=[mu2[1] - half, mu2[1] + half], title="z₂", scaleanchor="x", scaleratio=1, constrain="domain", **PLAIN
    )
    fig.update_layout(title=title, height=460, margin=MARGIN, legend=dict(orientation="h", y=-0.15))
    return fig


def mu_sigma_bars(mu, sigma, title: str) -> go.Figure:
    """μ of each latent dimension with a ±σ bar: what the encoder outputs for this image."""
    names = [f"z{i + 1}" for i in range(len(mu))]
    fig = go.Figure(go.Bar(x=names, y=mu, error_y=dict(type="data", array=sigma, visible=True), name="μ ± σ"))
    fig.update_yaxes(**PLAIN)
    fig.update_layout(title=title, height=260, margin=MARGIN)
    return fig


def codes_figure(mu: np.ndarray, labels: np.ndarray, class_names, half: float, title: str) -> go.Figure:
    """Latent means on the square [-half, half]^2 with the prior's 3σ circle (dotted)."""
    fig = go.Figure(scatter_traces(mu, labels, class_names))
    t = np.linspace(0, 2 * np.pi, 100)
    fig.add_trace(
        go.Scatter(
            x=3 * np.cos(t), y=3 * np.sin(t), mode="lines", name="N(0, I): 3σ", line=dict(color="black", dash="dot")
        )
    )
    fig.update_xaxes(range=[-half, half], title="z₁", constrain="domain", **PLAIN)  # exactly the square asked for
    fig.update_yaxes(range=[-half, half], title="z₂", scaleanchor="x", scaleratio=1, constrain="domain", **PLAIN)
    fig.update_layout(title=title, height=420, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def ladder_scatters(
    models: list[tuple[str, np.ndarray, np.ndarray]], class_names, limit: float, per_row: int = 4
) -> go.Figure:
    """One latent scatter per model, `per_row` to a row, all on the same fixed axes
    [-limit, limit]^2, so a collapsed posterior shows as the dot it is instead of an autoscaled cloud."""
    rows = -(-len(models) // per_row)
    fig = make_subplots(
        rows=rows,
        cols=per_row,
        subplot_titles=[m[0] for m in models],
        horizontal_spacing=0.03,
        vertical_spacing=0.12,
    )
    for i, (_, mu, labels) in enumerate(models):
        row, col = divmod(i, per_row)
        for t in scatter_traces(mu, labels, class_names):
            t.marker.size = 3
            t.showlegend = i == 0
            t.legendgroup = t.name
            fig.add_trace(t, row=row + 1, col=col + 1)
        axis = "x" if i == 0 else f"x{i + 1}"
        fig.update_xaxes(range=[-limit, limit], row=row + 1, col=col + 1, constrain="domain", **PLAIN)
        fig.update_yaxes(range=[-limit, limit], row=row + 1, col=col + 1, scaleanchor=axis, constrain="domain", **PLAIN)
    fig.update_layout(height=300 * rows + 40, margin=MARGIN, legend=dict(itemsizing="constant"))
    return fig


def rate_distortion_figure(
    points: list[tuple[str, float, float]], title: str, axes: tuple[str, str], iso_label: str
) -> go.Figure:
    """One point per model at (rate = KL, distortion = -E[log p(x|z)]) with dotted lines of equal
    ELBO (rate + distortion = c): moving along one trades reconstruction for KL at no cost."""
    rates = np.array([p[1] for p in points])
    dists = np.array([p[2] for p in points])
    x_hi = max(1.0, rates.max() * 1.15)
    y_lo, y_hi = dists.min() - 0.15 * np.ptp(dists) - 1, dists.max() + 0.15 * np.ptp(dists) + 1
    distortion = tr("distortion", "왜곡")
    fig = go.Figure()
    elbos = rates + dists
    for c in np.linspace(elbos.min(), elbos.max(), 4) if np.ptp(elbos) > 0 else elbos[:1]:
        fig.add_trace(
            go.Scatter(
                x=[0, x_hi],
                y=[c, c - x_hi],
                mode="lines",
                line=dict(color="lightgray", dash="dot"),
                name=iso_label.format(elbo=-c),
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=rates,
            y=dists,
            mode="markers+text",
            text=[p[0] for p in points],
            textposition="top right",
            marker=dict(size=12, color=PALETTE[0]),
            showlegend=False,
            hovertemplate="%{text}<br>KL %{x:.3f} nats<br>" + distortion + " %{y:.2f} nats<extra></extra>",
        )
    )
    fig.update_xaxes(range=[-0.05 * x_hi, x_hi], title=axes[0], **PLAIN)
    fig.update_yaxes(range=[y_lo, y_hi], title=axes[1], **PLAIN)
    fig.update_layout(title=title, height=420, margin=MARGIN)
    return fig


def ladder_bars(betas: list[str], values: list[float], title: str, y_title: str, line: bool = False) -> go.Figure:
    """One value per model of the ladder against β: bars, or a line where the values are far from 0."""
    text = [f"{v:.3g}" for v in values]
    if line:
        trace = go.Scatter(x=betas, y=values, mode="lines+markers+text", text=text, textposition="top center")
    else:
        trace = go.Bar(x=betas, y=values, text=text, textposition="outside", cliponaxis=False)
    fig = go.Figure(trace)
    fig.update_traces(marker_color=PALETTE[0])
    fig.update_xaxes(title="β", type="category")
    fig.update_yaxes(title=y_title, **PLAIN)
    fig.update_layout(title=title, height=300, margin=MARGIN)
    return fig


def variance_figure(L: list[int], series: dict[str, list[float]], title: str, y_title: str) -> go.Figure:
    """Variance against L on log-log axes, one line per estimator (1/L would be a slope of -1)."""
    fig = go.Figure()
    for i, (name, values) in enumerate(series.items()):
        fig.add_trace(go.Scatter(x=L, y=values, mode="lines+markers", name=name, line=dict(color=PALETTE[i])))
    fig.update_xaxes(type="log", title="L", tickvals=L, **PLAIN)
    fig.update_yaxes(type="log", title=y_title, dtick="D2", **PLAIN)  # ticks at 1, 2, 5 x 10^k only
    fig.update_layout(title=title, height=340, margin=MARGIN)
    return fig
