"""Figures of the customer-value section: holdout fit, tracking, P(alive) grid."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuemax.report._format import esc
from valuemax.report._plots import PALETTE, _go, _style


def conditional_expectation(by_freq: pd.DataFrame, *, model: str) -> Any | None:
    """Mean holdout purchases by calibration frequency: actual, model, naive baseline."""
    if by_freq is None or by_freq.empty:
        return None
    go = _go()
    fig = go.Figure()
    x = [str(v) for v in by_freq["frequency_cal"]]
    for col, name, color, dash in (("actual_mean", "actual", PALETTE[4], "solid"),
                                   ("predicted_mean", esc(model), PALETTE[0], "dash"),
                                   ("naive_mean", "naive (calibration rate)", PALETTE[9],
                                    "dot")):
        if col in by_freq:
            fig.add_trace(go.Scatter(
                x=x, y=by_freq[col].astype(float).tolist(), mode="lines+markers", name=name,
                line={"color": color, "dash": dash},
                customdata=by_freq["n_customers"].astype(int).tolist(),
                hovertemplate=f"{name}<br>%{{x}} repeat purchases in calibration "
                              "(%{customdata:,} customers)<br>mean in holdout: %{y:.3f}"
                              "<extra></extra>",
            ))
    _style(fig, x_title="repeat purchases in the calibration period",
           y_title="mean purchases in the holdout")
    fig.update_xaxes(type="category")
    return fig


def tracking(df: pd.DataFrame, *, model: str) -> Any | None:
    """Cumulative repeat purchases per week, actual vs expected; holdout shaded."""
    if df is None or df.empty:
        return None
    go = _go()
    x = pd.to_datetime(df["week_end"]).dt.strftime("%Y-%m-%d").tolist()
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=x, y=df["actual"].tolist(), mode="lines", name="actual",
                             line={"color": PALETTE[4]},
                             hovertemplate="week ending %{x}<br>actual: %{y:,.0f}"
                                           "<extra></extra>"))
    fig.add_trace(go.Scatter(x=x, y=np.round(df["expected"], 1).tolist(), mode="lines",
                             name=esc(model), line={"color": PALETTE[0], "dash": "dash"},
                             hovertemplate="week ending %{x}<br>expected: %{y:,.1f}"
                                           "<extra></extra>"))
    hold = df.index[df["holdout"].astype(bool)]
    if len(hold):
        first = x[df.index.get_loc(hold[0])]
        fig.add_vrect(x0=first, x1=x[-1], fillcolor="#edf2f7", opacity=0.6, line_width=0,
                      layer="below", annotation_text="holdout", annotation_position="top left")
    _style(fig, x_title="week ending", y_title="cumulative repeat purchases")
    fig.update_xaxes(type="date", tickformat="%b %Y")
    return fig


def p_alive_grid(model: Any, *, max_frequency: int, T: float, unit_label: str,
                 n_recency: int = 10) -> tuple[Any | None, str]:
    """P(alive) over frequency (rows) x recency (columns) for a customer of age ``T``.

    Returns the figure and a caption fragment naming the grid.
    """
    go = _go()
    freqs = np.arange(0, max_frequency + 1)
    rec = np.linspace(0, T, n_recency + 1)[1:]
    xs, rs = np.meshgrid(freqs, rec, indexing="ij")
    rs = np.where(xs == 0, 0.0, rs)  # x = 0 means recency 0
    p = np.asarray(model.p_alive(xs.ravel(), rs.ravel(), np.full(xs.size, T))).reshape(xs.shape)
    labels = [f"{r:,.0f}" for r in rec]
    fig = go.Figure(go.Heatmap(
        z=np.round(p, 2).tolist(), x=labels, y=[str(f) for f in freqs], zmin=0, zmax=1,
        colorscale="RdYlGn", texttemplate="%{z:.2f}",
        hovertemplate=f"frequency %{{y}}, recency %{{x}} {esc(unit_label)}<br>P(alive) "
                      "%{z:.2f}<extra></extra>", colorbar={"title": {"text": "P(alive)"}},
    ))
    _style(fig, x_title=f"recency (first to last purchase, {unit_label})",
           y_title="frequency (repeat purchases)", height=420)
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig, f"a customer first seen {T:,.0f} {unit_label} before the observation end"
