"""Figures of the "Who buys next" section: calibration curve, cumulative gains."""

from __future__ import annotations

from typing import Any

import pandas as pd

from valuemax.report._format import esc
from valuemax.report._plots import PALETTE, _go, _style


def calibration_lines(frame: pd.DataFrame, *, chosen: str | None = None,
                      names: dict[str, str] | None = None) -> Any | None:
    """Reliability diagram: observed buyer share by mean predicted probability, per model.

    ``frame`` has ``model``, ``mean_predicted``, ``fraction_positive`` (one row per bin); the
    diagonal is perfect calibration; ``names`` gives the legend name of each model key.
    """
    names = names or {}
    if frame is None or not len(frame):
        return None
    go = _go()
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration",
                               line={"color": "#a0aec0", "dash": "dash"}, hoverinfo="skip"))
    for i, (name, g) in enumerate(frame.groupby("model", sort=False)):
        shown = names.get(str(name), str(name))
        label = f"{shown} (chosen)" if name == chosen else shown
        fig.add_trace(go.Scatter(
            x=g["mean_predicted"].tolist(), y=g["fraction_positive"].tolist(),
            mode="lines+markers", name=esc(label), line={"color": PALETTE[i % len(PALETTE)]},
            hovertemplate=(f"{esc(label)}<br>predicted %{{x:.1%}}<br>observed %{{y:.1%}}"
                           "<extra></extra>")))
    _style(fig, x_title="mean predicted probability of buying", y_title="observed share who bought",
           height=460)
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return fig


def gains_lines(frame: pd.DataFrame, *, names: dict[str, str] | None = None) -> Any | None:
    """Cumulative gain: share of buyers captured by the top share of customers, per model.

    ``frame`` has ``model``, ``customer_share``, ``buyer_share`` (deciles); the diagonal is a
    random order; ``names`` gives the legend name of each model key.
    """
    names = names or {}
    if frame is None or not len(frame):
        return None
    go = _go()
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="random order",
                               line={"color": "#a0aec0", "dash": "dash"}, hoverinfo="skip"))
    for i, (name, g) in enumerate(frame.groupby("model", sort=False)):
        xs = [0.0, *g["customer_share"].tolist()]
        ys = [0.0, *g["buyer_share"].tolist()]
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines+markers", name=esc(names.get(str(name), str(name))),
            line={"color": PALETTE[i % len(PALETTE)]},
            hovertemplate=(f"{esc(names.get(str(name), str(name)))}<br>top %{{x:.0%}} of customers<br>"
                           "%{y:.1%} of the buyers<extra></extra>")))
    _style(fig, x_title="share of customers, highest score first",
           y_title="share of buyers captured", height=460)
    fig.update_xaxes(range=[0, 1], tickformat=".0%")
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return fig
