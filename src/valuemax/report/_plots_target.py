"""Figures of the "Whom to contact" section: Qini and uplift curves, the profit curve.

Curves are thinned to at most :data:`MAX_CURVE_POINTS` points (a Qini curve has one point per
distinct score, a profit curve one per customer), always keeping both ends and the chosen
point, so the page stays small on millions of customers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from valuemax.report._format import esc
from valuemax.report._plots import PALETTE, _go, _style

MAX_CURVE_POINTS = 400


def thin(n: int, keep: int | None = None, *, limit: int = MAX_CURVE_POINTS) -> np.ndarray:
    """Indices ``0..n-1`` thinned to about ``limit`` evenly spaced ones, ends and ``keep`` kept.

    >>> thin(5).tolist(), thin(1001, keep=7, limit=4).tolist()
    ([0, 1, 2, 3, 4], [0, 7, 333, 667, 1000])
    """
    if n <= limit:
        return np.arange(n)
    idx = np.unique(np.round(np.linspace(0, n - 1, limit)).astype(np.int64))
    if keep is not None and 0 <= keep < n:
        idx = np.unique(np.r_[idx, keep])
    return idx


def uplift_lines(curves: Mapping[str, Any], *, kind: str, names: Mapping[str, str],
                 unit: str) -> Any | None:
    """Qini (``kind="qini"``) or uplift curves of several models beside random targeting.

    Parameters
    ----------
    curves : mapping of str to mapping of str to Curve
        ``UpliftEvaluation.curves``: ``{model: {"qini": Curve, "uplift": Curve}}``.
    kind : {"qini", "uplift"}
    names : mapping of str to str
        Page name of each model code.
    unit : str
        What the curve counts per customer of the base (e.g. "extra visits").

    Returns
    -------
    plotly Figure or None
    """
    if not curves:
        return None
    go = _go()
    fig = go.Figure()
    last = None
    for i, (model, pair) in enumerate(curves.items()):
        c = pair[kind]
        idx = thin(len(c.share_targeted))
        x, y = c.share_targeted[idx], c.value[idx]
        name = esc(names.get(model, model))
        fig.add_trace(go.Scatter(
            x=x.tolist(), y=y.tolist(), mode="lines", name=name,
            line={"color": PALETTE[i % len(PALETTE)], "width": 2.2},
            hovertemplate=(f"{name}<br>top %{{x:.0%}} contacted<br>%{{y:,.4g}} {esc(unit)} "
                           "per customer of the base<extra></extra>")))
        last = c
    if last is not None:
        fig.add_trace(go.Scatter(
            x=[0.0, 1.0], y=[0.0, float(last.value[-1])], mode="lines",
            name="random targeting", line={"color": "#a0aec0", "dash": "dash"},
            hoverinfo="skip"))
    _style(fig, x_title="share of customers contacted, highest score first",
           y_title=f"{unit} per customer of the base", height=420)
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    return fig


def profit_line(curve: Any, *, chosen: int, confidence: float | None = None,
                label: str = "chosen list") -> Any | None:
    """Expected incremental profit against the customers contacted, the chosen point marked.

    Parameters
    ----------
    curve : pandas.DataFrame
        ``TargetResult.curve``: ``n_contacted``, ``expected_profit`` and optionally
        ``ci_low``/``ci_high``.
    chosen : int
        Row of the chosen point.
    confidence : float, optional
        Level of the band, for the legend.
    label : str, default "chosen list"

    Returns
    -------
    plotly Figure or None
    """
    if curve is None or not len(curve):
        return None
    go = _go()
    idx = thin(len(curve), keep=chosen)
    part = curve.iloc[idx]
    x = part["n_contacted"].to_numpy(dtype=float).tolist()
    fig = go.Figure()
    if {"ci_low", "ci_high"} <= set(curve.columns):
        lo = part["ci_low"].to_numpy(dtype=float)
        hi = part["ci_high"].to_numpy(dtype=float)
        if np.isfinite(lo).all() and np.isfinite(hi).all():
            fig.add_trace(go.Scatter(x=x, y=hi.tolist(), mode="lines", line={"width": 0},
                                     showlegend=False, hoverinfo="skip"))
            fig.add_trace(go.Scatter(
                x=x, y=lo.tolist(), mode="lines", line={"width": 0}, fill="tonexty",
                fillcolor="rgba(43,108,176,0.15)", hoverinfo="skip",
                name=f"{confidence:.0%} interval" if confidence else "interval"))
    fig.add_trace(go.Scatter(
        x=x, y=part["expected_profit"].to_numpy(dtype=float).tolist(), mode="lines",
        name="expected incremental profit", line={"color": PALETTE[0], "width": 2.2},
        hovertemplate="%{x:,} contacted<br>expected profit %{y:,.2f}<extra></extra>"))
    point = curve.iloc[chosen]
    fig.add_trace(go.Scatter(
        x=[float(point["n_contacted"])], y=[float(point["expected_profit"])],
        mode="markers+text", name=esc(label), text=[esc(label)], textposition="top center",
        cliponaxis=False, marker={"size": 15, "color": "#e53e3e", "symbol": "star"},
        hovertemplate=(f"{esc(label)}<br>%{{x:,}} contacted<br>expected profit %{{y:,.2f}}"
                       "<extra></extra>")))
    _style(fig, x_title="customers contacted (best first)",
           y_title="expected incremental profit (currency)", height=420)
    fig.update_layout(margin={"t": 40})
    return fig
