"""Figures of the "What sells together" section: the item lift heat map."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from valuemax.report._format import esc
from valuemax.report._plots import _go, _style

#: Plain lift values offered as colour-bar ticks (drawn on the log scale of the colours).
_LIFT_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
               200.0, 500.0, 1000.0)


def lift_colorbar(top: float) -> dict[str, Any]:
    """Colour bar for colours on log10(lift) in [-top, top], labelled in plain lift.

    The cells show plain lift, so the bar does too: its ticks sit at log10 of round lift
    values and read "0.5", "1", "2".

    >>> bar = lift_colorbar(1.0)
    >>> bar["title"]["text"], bar["ticktext"]
    ('lift (log scale)', ['0.1', '0.2', '0.5', '1', '2', '5', '10'])
    """
    ticks = [t for t in _LIFT_TICKS if abs(np.log10(t)) <= top + 1e-9]
    return {"title": {"text": "lift (log scale)"}, "tickmode": "array",
            "tickvals": [float(np.log10(t)) for t in ticks],
            "ticktext": [f"{t:g}" for t in ticks]}


def lift_heatmap(lift: np.ndarray, labels: Sequence[Any], *, hover: Sequence[Any] = ()
                 ) -> Any | None:
    """Lift among items (square, NaN where undefined) on a log scale centred on 1."""
    z = np.asarray(lift, dtype=float)
    if z.size == 0 or not np.isfinite(z).any():
        return None
    go = _go()
    names = [esc(v) for v in labels]
    full = [esc(v) for v in hover] if len(hover) == len(labels) else names
    logz = np.where(np.isfinite(z) & (z > 0), np.log10(np.where(z > 0, z, 1.0)), np.nan)
    top = float(np.nanmax(np.abs(logz))) or 1.0
    text = [["" if not np.isfinite(v) else f"{v:.1f}" for v in row] for row in z]
    custom = [[f"{full[i]} & {full[j]}" for j in range(len(names))] for i in range(len(names))]
    fig = go.Figure(go.Heatmap(
        z=np.where(np.isfinite(logz), np.round(logz, 4), None).tolist(), x=names, y=names,
        text=text, texttemplate="%{text}", customdata=custom, colorscale="RdBu_r",
        zmin=-top, zmax=top, colorbar=lift_colorbar(top),
        hovertemplate="%{customdata}<br>lift %{text}<extra></extra>"))
    _style(fig, x_title="product", y_title="product", height=560)
    fig.update_xaxes(type="category", tickangle=-45)
    fig.update_yaxes(type="category", autorange="reversed")
    return fig
