"""Figure of the "Did it work?" section: each arm's lift against control, with its interval."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from valuemax.report._format import esc
from valuemax.report._plots import PALETTE, _go, _style

#: Colour of a lift that stays clear after the multiple-testing adjustment, and of one that
#: does not.
CLEAR, UNCLEAR = PALETTE[0], "#a0aec0"


def _finite(*values: Any) -> bool:
    return all(v is not None and isinstance(v, int | float) and math.isfinite(v)
               for v in values)


def lift_intervals(labels: Sequence[str], lift: Sequence[float], low: Sequence[float],
                   high: Sequence[float], clear: Sequence[bool], *,
                   confidence: float) -> Any | None:
    """Relative lift of each (metric, arm) against control with its interval, as dots and bars.

    Parameters
    ----------
    labels : sequence of str
        One label per row ("metric · arm"), drawn top to bottom.
    lift, low, high : sequence of float
        Relative lift and interval bounds as fractions of the control's mean (0.1 = +10%).
        Rows with a non-finite value are left out (the caller says how many).
    clear : sequence of bool
        True where the lift is significant after the multiple-testing adjustment.
    confidence : float
        The intervals' level, for the hover text.

    Returns
    -------
    plotly Figure or None
        None when no row has finite values.
    """
    rows = [(str(lab), float(v), float(lo), float(hi), bool(c))
            for lab, v, lo, hi, c in zip(labels, lift, low, high, clear, strict=True)
            if _finite(v, lo, hi)]
    if not rows:
        return None
    go = _go()
    fig = go.Figure()
    for flag, name in ((True, "clear after the adjustment"),
                       (False, "not clear (could be chance)")):
        part = [r for r in rows if r[4] is flag]
        if not part:
            continue
        fig.add_trace(go.Scatter(
            x=[100.0 * r[1] for r in part], y=[esc(r[0]) for r in part], mode="markers",
            name=name, marker={"size": 11, "color": CLEAR if flag else UNCLEAR},
            error_x={"type": "data", "symmetric": False,
                     "array": [100.0 * (r[3] - r[1]) for r in part],
                     "arrayminus": [100.0 * (r[1] - r[2]) for r in part],
                     "thickness": 2.2, "width": 6},
            customdata=[[100.0 * r[2], 100.0 * r[3]] for r in part],
            hovertemplate=(f"%{{y}}<br>lift %{{x:+.1f}}%<br>{confidence:.0%} interval "
                           "%{customdata[0]:+.1f}% to %{customdata[1]:+.1f}%<extra></extra>")))
    fig.add_vline(x=0, line={"color": "#4a5568", "dash": "dash", "width": 1})
    height = max(260, 90 + 42 * len(rows))
    _style(fig, x_title=f"lift against control, % of the control's mean ({confidence:.0%} "
                        "interval)", y_title="metric · arm", height=height)
    fig.update_xaxes(ticksuffix="%", tickformat="+,.0f", zeroline=False)
    fig.update_yaxes(type="category", autorange="reversed",
                     categoryorder="array", categoryarray=[esc(r[0]) for r in rows])
    return fig
