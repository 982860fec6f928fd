"""Figures of the "What goes with value" section: correlation heat map, residuals, Q-Q."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from valuemax.report._format import esc
from valuemax.report._plots import MAX_POINTS, PALETTE, _go, _style


def corr_heatmap(r: np.ndarray, labels: Sequence[Any], *, text: Sequence[Sequence[str]],
                 hover: Sequence[Sequence[str]], title: str = "r") -> Any | None:
    """Correlation heat map on a fixed -1..1 diverging scale, ``text`` printed in each cell."""
    if r.size == 0 or not np.isfinite(r).any():
        return None
    go = _go()
    names = [esc(v) for v in labels]
    fig = go.Figure(go.Heatmap(
        z=np.where(np.isfinite(r), r, None).tolist(), x=names, y=names, zmin=-1.0, zmax=1.0,
        zmid=0.0, colorscale="RdBu", reversescale=True, text=[list(t) for t in text],
        texttemplate="%{text}", customdata=[list(h) for h in hover],
        hovertemplate="%{y} × %{x}<br>%{customdata}<extra></extra>",
        colorbar={"title": {"text": esc(title)}},
    ))
    _style(fig, x_title="customer feature", y_title="customer feature",
           height=max(380, 60 + 46 * len(names)))
    fig.update_xaxes(type="category", tickangle=-35)
    fig.update_yaxes(type="category", autorange="reversed")
    return fig


def residual_scatter(fitted: Any, residuals: Any, *, x_title: str,
                     y_title: str) -> tuple[Any | None, int]:
    """Residuals against fitted values (seeded sample of <= 5,000 points), zero line."""
    f = np.asarray(fitted, dtype=float)
    e = np.asarray(residuals, dtype=float)
    ok = np.isfinite(f) & np.isfinite(e)
    f, e = f[ok], e[ok]
    if f.size == 0:
        return None, 0
    if f.size > MAX_POINTS:
        pick = np.sort(np.random.default_rng(0).choice(f.size, MAX_POINTS, replace=False))
        f, e = f[pick], e[pick]
    go = _go()
    fig = go.Figure(go.Scatter(
        x=np.round(f, 4).tolist(), y=np.round(e, 4).tolist(), mode="markers",
        marker={"size": 4, "opacity": 0.5, "color": PALETTE[0]}, name="customers",
        hovertemplate="fitted %{x:.3f}<br>residual %{y:.3f}<extra></extra>",
    ))
    fig.add_hline(y=0.0, line={"color": "#e53e3e", "width": 1.5, "dash": "dash"})
    _style(fig, x_title=x_title, y_title=y_title, height=360, showlegend=False)
    return fig, int(f.size)


def qq_plot(residuals: Any, *, max_points: int = 2000) -> Any | None:
    """Normal Q-Q plot of standardised residuals (at most ``max_points`` quantiles), y = x."""
    from scipy.stats import norm

    e = np.asarray(residuals, dtype=float)
    e = np.sort(e[np.isfinite(e)])
    if e.size < 3 or np.std(e) == 0:
        return None
    z = (e - e.mean()) / e.std(ddof=1)
    theo = norm.ppf((np.arange(1, e.size + 1) - 0.5) / e.size)
    if e.size > max_points:
        pick = np.unique(np.linspace(0, e.size - 1, max_points).round().astype(int))
        z, theo = z[pick], theo[pick]
    go = _go()
    lim = [float(min(theo.min(), z.min())), float(max(theo.max(), z.max()))]
    fig = go.Figure([
        go.Scatter(x=lim, y=lim, mode="lines", name="normal", hoverinfo="skip",
                   line={"color": "#e53e3e", "dash": "dash", "width": 1.5}),
        go.Scatter(x=np.round(theo, 4).tolist(), y=np.round(z, 4).tolist(), mode="markers",
                   name="residuals", marker={"size": 4, "color": PALETTE[0]},
                   hovertemplate="normal %{x:.2f}<br>residual %{y:.2f} sd<extra></extra>"),
    ])
    _style(fig, x_title="normal quantile (standard deviations)",
           y_title="standardised residual (standard deviations)", height=360,
           showlegend=False)
    return fig
