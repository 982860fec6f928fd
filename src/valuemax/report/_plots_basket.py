"""Figures of the "What sells together" section: the item lift heat map."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from valuemax.report._format import esc
from valuemax.report._plots import _go, _style


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
        zmin=-top, zmax=top, colorbar={"title": {"text": "log10 lift"}},
        hovertemplate="%{customdata}<br>lift %{text}<extra></extra>"))
    _style(fig, x_title="product", y_title="product", height=560)
    fig.update_xaxes(type="category", tickangle=-45)
    fig.update_yaxes(type="category", autorange="reversed")
    return fig
