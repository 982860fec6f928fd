"""Plotly figure specs (plain dicts) of the dashboard, binned on the server.

Distributions are binned here (numpy) so a page carries at most ``bins`` bars whatever the
number of customers; plotly.js only draws them.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

_BLUE, _RED = "#3b6ea5", "#d64545"
_RISK_COLOURS = {"Low": "#3f9142", "Medium": "#f0b429", "High": _RED}


def histogram(values: np.ndarray, *, title: str, x_title: str, bins: int = 40,
              clip_quantile: float | None = 0.99, x_range: tuple[float, float] | None = None
              ) -> dict[str, Any]:
    """Counts of ``values`` in ``bins`` equal bins, drawn as bars.

    Parameters
    ----------
    values : ndarray of shape (n,)
        Finite values (NaN and inf are left out and counted in the title).
    title, x_title : str
        Figure and x-axis titles.
    bins : int, default 40
        Number of bins.
    clip_quantile : float or None, default 0.99
        Values above this quantile are counted in the last bar (a long right tail, as CLV
        has, would otherwise squeeze every other bar into one); the title says so.
    x_range : (float, float), optional
        Fixed bin range (e.g. (0, 1) for a probability); no clipping then.

    Returns
    -------
    dict
        ``{"data": [bar], "layout": {...}}``; ``bar.y`` sums to the finite values.

    Examples
    --------
    >>> fig = histogram(np.array([0.1, 0.2, 0.9]), title="t", x_title="x", bins=2,
    ...                 x_range=(0, 1))
    >>> fig["data"][0]["y"], fig["data"][0]["x"]
    ([2, 1], [0.25, 0.75])
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    notes = []
    if x_range is not None:
        lo, hi = x_range
    else:
        lo = float(v.min()) if len(v) else 0.0
        hi = float(np.quantile(v, clip_quantile)) if len(v) and clip_quantile else \
            (float(v.max()) if len(v) else 1.0)
        if hi <= lo:
            hi = float(v.max()) if len(v) and v.max() > lo else lo + 1.0
        n_above = int((v > hi).sum())
        if n_above:
            notes.append(f"{n_above:,} above {hi:,.4g} counted in the last bar")
    counts, edges = np.histogram(np.clip(v, lo, hi), bins=bins, range=(lo, hi))
    centers = (edges[:-1] + edges[1:]) / 2
    full = title + (f" ({'; '.join(notes)})" if notes else "")
    return {"data": [{"type": "bar", "x": [round(float(c), 10) for c in centers],
                      "y": [int(c) for c in counts], "width": float(edges[1] - edges[0]),
                      "marker": {"color": _BLUE}, "name": x_title,
                      "hovertemplate": "%{x:,.4g}: %{y:,} customers<extra></extra>"}],
            "layout": {"title": {"text": full, "font": {"size": 14}},
                       "xaxis": {"title": {"text": x_title}},
                       "yaxis": {"title": {"text": "customers"}}, "bargap": 0.02}}


def churn_bars(counts: pd.DataFrame) -> dict[str, Any]:
    """Customers per churn-risk level (``churn_risk``, ``n``)."""
    levels = [str(x) for x in counts["churn_risk"]]
    return {"data": [{"type": "bar", "x": levels, "y": [int(n) for n in counts["n"]],
                      "marker": {"color": [_RISK_COLOURS.get(x, _BLUE) for x in levels]},
                      "hovertemplate": "%{x}: %{y:,} customers<extra></extra>"}],
            "layout": {"title": {"text": "Churn risk (from P(buy again within the horizon))",
                                 "font": {"size": 14}},
                       "xaxis": {"title": {"text": "churn risk"}},
                       "yaxis": {"title": {"text": "customers"}}}}


def segment_bars(seg: pd.DataFrame) -> dict[str, Any]:
    """Share of customers and of revenue per RFM segment, side by side."""
    names = [str(s) for s in seg["segment"]]
    return {"data": [
        {"type": "bar", "name": "share of customers", "x": names,
         "y": [float(x) for x in seg["share_customers"]], "marker": {"color": "#9fb3c8"}},
        {"type": "bar", "name": "share of revenue", "x": names,
         "y": [float(x) for x in seg["revenue_share"].fillna(0.0)],
         "marker": {"color": _BLUE}}],
        "layout": {"title": {"text": "Segments: share of customers and of revenue",
                             "font": {"size": 14}}, "barmode": "group",
                   "yaxis": {"tickformat": ".0%"}, "legend": {"orientation": "h", "y": 1.1}}}


def rules_scatter(rules: pd.DataFrame) -> dict[str, Any]:
    """Support against confidence of each rule, coloured by lift."""
    text = [f"{a} → {c}" for a, c in zip(rules["antecedents"], rules["consequents"],
                                          strict=True)]
    return {"data": [{"type": "scatter", "mode": "markers",
                      "x": [float(x) for x in rules["support"]],
                      "y": [float(x) for x in rules["confidence"]], "text": text,
                      "marker": {"color": [float(x) for x in rules["lift"]],
                                 "colorscale": "Viridis", "showscale": True, "size": 9,
                                 "colorbar": {"title": {"text": "lift"}}},
                      "hovertemplate": "%{text}<br>support %{x:.3f}, confidence %{y:.2f}"
                                       "<extra></extra>"}],
            "layout": {"title": {"text": "Association rules: support, confidence and lift",
                                 "font": {"size": 14}},
                       "xaxis": {"title": {"text": "support (share of baskets)"}},
                       "yaxis": {"title": {"text": "confidence"}}}}


def profit_curve(targets: pd.DataFrame) -> dict[str, Any]:
    """Cumulative expected incremental profit by target rank."""
    t = targets.sort_values("rank")
    return {"data": [{"type": "scatter", "mode": "lines",
                      "x": [int(r) for r in t["rank"]],
                      "y": [float(x) for x in t["expected_incremental_profit"].cumsum()],
                      "line": {"color": _BLUE},
                      "hovertemplate": "top %{x:,}: %{y:,.2f}<extra></extra>"}],
            "layout": {"title": {"text": "Cumulative expected incremental profit by rank",
                                 "font": {"size": 14}},
                       "xaxis": {"title": {"text": "customers contacted (by rank)"}},
                       "yaxis": {"title": {"text": "expected incremental profit"}}}}


def arm_bars(targets: pd.DataFrame) -> dict[str, Any]:
    """Targets and their expected incremental profit per arm."""
    g = targets.groupby("arm", sort=True)["expected_incremental_profit"].agg(["size", "sum"])
    names = [str(a) for a in g.index]
    return {"data": [{"type": "bar", "x": names, "y": [int(n) for n in g["size"]],
                      "name": "customers", "marker": {"color": _BLUE},
                      "customdata": [float(s) for s in g["sum"]],
                      "hovertemplate": "%{x}: %{y:,} customers, profit %{customdata:,.2f}"
                                       "<extra></extra>"}],
            "layout": {"title": {"text": "Targets per arm", "font": {"size": 14}},
                       "yaxis": {"title": {"text": "customers"}}}}
