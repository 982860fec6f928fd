"""The report's plotly figures, built from small pre-aggregated arrays: one plots module.

The house style and the generic charts come first (histograms, bars, heat map, selection
line, projection, dendrogram), then the figures of one section each (customer value, what
goes with value, who buys next), in the order of the report. The basket section's lift heat
map stays in ``_plots_basket.py`` beside that section's own work.

plotly is imported inside the functions (``import valuemax.report`` loads no plotly). Every
builder returns ``None`` when it has nothing to draw, so no empty figure is ever emitted; the
caller shows a note instead. Histograms are binned here with numpy, so the page holds bin
counts, never one value per customer. User text that ends up in a figure (category names) is
HTML-escaped, since plotly interprets a subset of HTML in labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from valuemax.report._format import esc, fmt_pct

PALETTE = ("#2b6cb0", "#dd6b20", "#38a169", "#d53f8c", "#805ad5", "#319795", "#d69e2e",
           "#e53e3e", "#4a5568", "#718096", "#975a16", "#2c7a7b")
MAX_BINS = 60
MAX_POINTS = 5000
#: Legends sit under the plot, at the bottom of the figure, so the plotly toolbar (top
#: right) never covers them; the bottom margin grows to hold them.
LEGEND = {"orientation": "h", "xanchor": "left", "x": 0, "yref": "container",
          "yanchor": "bottom", "y": 0.01}


def _go() -> Any:
    import plotly.graph_objects as go

    return go


def _white(fig: Any) -> None:
    """Give ``fig`` plotly's registered ``plotly_white`` template the way plotly gives a new
    figure its default one (``BaseFigure._initialize_layout_template``): a registered
    template is valid already, so it is set without plotly re-validating its ~1,000
    properties on every figure (about half of the report's rendering time on a small log;
    the figure's JSON is the same)."""
    import plotly.io as pio

    layout = fig.layout
    validate = layout._validate
    layout._validate = False
    try:
        layout.template = pio.templates["plotly_white"]
    finally:
        layout._validate = validate


def _style(fig: Any, *, x_title: str, y_title: str, height: int = 360, **layout: Any) -> Any:
    _white(fig)
    fig.update_layout(
        height=height, margin={"l": 60, "r": 20, "t": 30, "b": 55},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, Noto Sans, "
                        "Noto Sans CJK SC, Microsoft YaHei, sans-serif", "size": 12},
        legend=LEGEND,
        hoverlabel={"namelength": -1}, **layout,
    )
    # thousands separators on every numeric axis (category axes ignore tickformat)
    fig.update_xaxes(title_text=x_title, automargin=True, tickformat=",")
    fig.update_yaxes(title_text=y_title, automargin=True, tickformat=",")
    return fig


def legend_below(fig: Any, *, height: int) -> Any:
    """A taller figure with the legend under the x axis, clear of the plotly toolbar."""
    fig.update_layout(height=height, legend=LEGEND)
    return fig


def _finite(values: Any) -> np.ndarray:
    arr = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return arr[np.isfinite(arr)]


def _edges(arr: np.ndarray, *, integer: bool) -> np.ndarray:
    lo, hi = float(arr.min()), float(arr.max())
    if lo == hi:
        return np.array([lo - 0.5, hi + 0.5])
    edges = np.histogram_bin_edges(arr, bins="auto")
    if len(edges) > MAX_BINS + 1:
        edges = np.linspace(lo, hi, MAX_BINS + 1)
    if integer:
        width = max(1.0, np.ceil((hi - lo + 1) / (len(edges) - 1)))
        edges = np.arange(np.floor(lo) - 0.5, hi + width, width)
    return edges


def histogram(values: Any, *, x_title: str, unit: str, integer: bool = False,
              color: str = PALETTE[0], bins: Sequence[float] | None = None) -> Any | None:
    """Histogram of ``values`` on a linear axis (bins chosen by numpy's "auto", <= 60).

    ``bins`` fixes the bin edges (e.g. 20 bins over [0, 1] for a probability, so a pile of
    values near 1 never gives ticks such as 0.9999998).
    """
    arr = _finite(values)
    if arr.size == 0:
        return None
    edges = np.asarray(bins, dtype=float) if bins is not None else _edges(arr, integer=integer)
    counts, edges = np.histogram(arr, bins=edges)
    go = _go()
    fig = go.Figure(go.Bar(
        x=((edges[:-1] + edges[1:]) / 2).tolist(), y=counts.tolist(),
        width=np.diff(edges).tolist(), marker={"color": color, "line": {"width": 0}},
        customdata=np.column_stack([edges[:-1], edges[1:]]).tolist(),
        hovertemplate=f"%{{customdata[0]:,.4~g}} to %{{customdata[1]:,.4~g}} {esc(unit)}"
                      "<br>%{y:,} customers<extra></extra>",
    ))
    return _style(fig, x_title=x_title, y_title="customers (count)", bargap=0.02)


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    vals, text = [], []
    for k in range(int(np.floor(lo)) - 1, int(np.ceil(hi)) + 1):
        for m in (1, 2, 5):
            v = m * 10.0 ** k
            if lo - 1e-9 <= np.log10(v) <= hi + 1e-9:
                vals.append(float(np.log10(v)))
                text.append(f"{v:,.10g}" if v < 1e3 else f"{v / 1e3:,.10g}k"
                            if v < 1e6 else f"{v / 1e6:,.10g}M")
    if len(vals) > 12:  # keep the powers of ten only
        keep = [i for i, v in enumerate(vals) if abs(v - round(v)) < 1e-9]
        vals, text = [vals[i] for i in keep], [text[i] for i in keep]
    return vals, text


def log_histogram(values: Any, *, x_title: str, unit: str,
                  color: str = PALETTE[2]) -> tuple[Any | None, int]:
    """Histogram of the positive ``values`` in log10 bins, ticks in the original unit.

    Returns the figure (None if no positive value) and the number of values left out (<= 0).
    """
    arr = _finite(values)
    pos = arr[arr > 0]
    n_out = int(arr.size - pos.size)
    if pos.size == 0:
        return None, n_out
    logs = np.log10(pos)
    edges = _edges(logs, integer=False)
    if len(edges) > 41:
        edges = np.linspace(edges[0], edges[-1], 41)
    counts, edges = np.histogram(logs, bins=edges)
    tickvals, ticktext = _log_ticks(float(edges[0]), float(edges[-1]))
    go = _go()
    fig = go.Figure(go.Bar(
        x=((edges[:-1] + edges[1:]) / 2).tolist(), y=counts.tolist(),
        width=np.diff(edges).tolist(), marker={"color": color, "line": {"width": 0}},
        customdata=np.column_stack([10 ** edges[:-1], 10 ** edges[1:]]).tolist(),
        hovertemplate=f"%{{customdata[0]:,.4~g}} to %{{customdata[1]:,.4~g}} {esc(unit)}"
                      "<br>%{y:,} customers<extra></extra>",
    ))
    _style(fig, x_title=x_title, y_title="customers (count)", bargap=0.02)
    if tickvals:
        fig.update_xaxes(tickmode="array", tickvals=tickvals, ticktext=ticktext)
    return fig, n_out


def count_bars(values: Any, *, x_title: str, unit: str, cap: int,
               color: str = PALETTE[1]) -> Any | None:
    """Bars of integer counts 1..cap, the last bar holding every value >= cap."""
    arr = _finite(values)
    if arr.size == 0:
        return None
    lo = min(int(max(0, np.floor(arr.min()))), cap)
    clipped = np.clip(np.round(arr).astype(np.int64), lo, cap)
    counts = np.bincount(clipped - lo, minlength=cap - lo + 1)
    labels = [str(v) for v in range(lo, cap + 1)]
    if arr.max() > cap:
        labels[-1] = f"≥{cap}"
    go = _go()
    fig = go.Figure(go.Bar(
        x=labels, y=counts.tolist(), marker={"color": color},
        hovertemplate=f"%{{x}} {esc(unit)}<br>%{{y:,}} customers<extra></extra>",
    ))
    _style(fig, x_title=x_title, y_title="customers (count)", bargap=0.08)
    fig.update_xaxes(type="category")
    return fig


def hbar(labels: Sequence[Any], series: dict[str, Sequence[float]], *, x_title: str,
         y_title: str, percent: bool = False) -> Any | None:
    """Horizontal bars, one trace per entry of ``series``, first label on top."""
    if len(labels) == 0 or not series:
        return None
    go = _go()
    fig = go.Figure()
    ylab = [esc(v) for v in labels]
    single = len(series) == 1
    for i, (name, vals) in enumerate(series.items()):
        raw = [float(v) for v in vals]
        xs = [100.0 * v for v in raw] if percent else raw
        text = [esc(fmt_pct(v)) if percent else f"{v:,.10g}" for v in raw]
        fig.add_trace(go.Bar(
            y=ylab, x=xs, name=esc(name), orientation="h",
            marker={"color": PALETTE[i % len(PALETTE)]}, customdata=text,
            texttemplate="%{customdata}" if single else None,
            textposition="outside" if single else None, cliponaxis=False,
            hovertemplate=f"%{{y}}<br>{esc(name)}: %{{customdata}}<extra></extra>",
        ))
    height = max(260, 70 + 26 * len(labels) * max(1, len(series)) ** 0.6)
    _style(fig, x_title=x_title, y_title=y_title, height=int(height), barmode="group",
           showlegend=len(series) > 1)
    fig.update_layout(margin={"r": 60})
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def heatmap(z: np.ndarray, *, x_labels: Sequence[Any], y_labels: Sequence[Any], x_title: str,
            y_title: str, z_title: str, extra: np.ndarray | None = None,
            extra_title: str = "") -> Any | None:
    """Annotated heat map of ``z`` (rows = y_labels, columns = x_labels)."""
    if z.size == 0 or not np.isfinite(z).any():
        return None
    go = _go()
    custom = None if extra is None else np.where(np.isfinite(extra), np.round(extra, 2),
                                                 None).tolist()
    hover = f"{esc(y_title)} %{{y}}, {esc(x_title)} %{{x}}<br>{esc(z_title)}: %{{z:,}}"
    if custom is not None:
        hover += f"<br>{esc(extra_title)}: %{{customdata:,.2f}}"
    fig = go.Figure(go.Heatmap(
        z=z.tolist(), x=[esc(v) for v in x_labels], y=[esc(v) for v in y_labels],
        colorscale="Blues", texttemplate="%{z:,}", customdata=custom,
        hovertemplate=hover + "<extra></extra>", colorbar={"title": {"text": esc(z_title)}},
    ))
    _style(fig, x_title=x_title, y_title=y_title, height=400)
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


def selection_line(k: Sequence[Any], y: Sequence[Any], *, chosen: Any, y_title: str,
                   color: str) -> Any | None:
    """A metric by k (line + markers) with the chosen k marked."""
    kk = pd.to_numeric(pd.Series(list(k)), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    yy = pd.to_numeric(pd.Series(list(y)), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    ok = np.isfinite(kk) & np.isfinite(yy)
    if not ok.any():
        return None
    kk, yy = kk[ok], yy[ok]
    go = _go()
    fig = go.Figure(go.Scatter(
        x=kk.tolist(), y=yy.tolist(), mode="lines+markers", name=esc(y_title),
        line={"color": color}, marker={"size": 7},
        hovertemplate=f"k = %{{x}}<br>{esc(y_title)}: %{{y:,.4g}}<extra></extra>",
    ))
    at = np.flatnonzero(kk == float(chosen)) if chosen is not None else np.array([])
    if at.size:
        pos = ("top right" if at[0] == 0 else "top left" if at[0] == kk.size - 1
               else "top center")
        fig.add_trace(go.Scatter(
            x=[float(kk[at[0]])], y=[float(yy[at[0]])], mode="markers+text",
            name="chosen k", text=[f"chosen k = {int(kk[at[0]])}"], textposition=pos,
            cliponaxis=False,
            marker={"size": 15, "color": "#e53e3e", "symbol": "star"},
            hovertemplate="chosen k = %{x}<extra></extra>",
        ))
    _style(fig, x_title="number of clusters k", y_title=y_title, height=320, showlegend=False)
    fig.update_layout(margin={"t": 40})
    pad = 0.12 * (float(yy.max() - yy.min()) or abs(float(yy.max())) or 1.0)
    fig.update_yaxes(range=[float(yy.min()) - pad / 2, float(yy.max()) + pad])
    fig.update_xaxes(dtick=1)
    return fig


def projection_scatter(proj: pd.DataFrame, centers: pd.DataFrame | None,
                       names: dict[Any, str]) -> tuple[Any | None, int]:
    """PCA scatter (pc1, pc2) coloured by cluster name, centroids as crosses.

    At most 5,000 points (seeded sample); returns the figure and the number of points drawn.
    """
    if proj is None or len(proj) == 0 or not {"pc1", "pc2", "cluster"} <= set(proj.columns):
        return None, 0
    if len(proj) > MAX_POINTS:
        proj = proj.sample(n=MAX_POINTS, random_state=0)
    go = _go()
    fig = go.Figure()
    for i, (cl, part) in enumerate(proj.groupby("cluster", sort=True)):
        label = esc(names.get(cl, names.get(int(cl), f"cluster {cl}")))
        fig.add_trace(go.Scatter(
            x=part["pc1"].round(4).tolist(), y=part["pc2"].round(4).tolist(),
            mode="markers", name=label, marker={"size": 5, "opacity": 0.6,
                                                "color": PALETTE[i % len(PALETTE)]},
            hovertemplate=f"{label}<br>pc1 %{{x:.2f}}, pc2 %{{y:.2f}}<extra></extra>",
        ))
    if centers is not None and len(centers) and {"pc1", "pc2"} <= set(centers.columns):
        cl = centers["cluster"].tolist() if "cluster" in centers else [None] * len(centers)
        text = [esc(names.get(c, f"cluster {c}")) for c in cl]
        fig.add_trace(go.Scatter(
            x=centers["pc1"].tolist(), y=centers["pc2"].tolist(), mode="markers",
            name="centroids", text=text,
            marker={"symbol": "x", "size": 14, "color": "#1a202c", "line": {"width": 2}},
            hovertemplate="centroid of %{text}<extra></extra>",
        ))
    _style(fig, x_title="principal component 1 (standardised units)",
           y_title="principal component 2 (standardised units)")
    legend_below(fig, height=520)
    return fig, len(proj)


def dendrogram(icoord: Any, dcoord: Any, ivl: Sequence[Any], *, y_title: str) -> Any | None:
    """A dendrogram from scipy's ``dendrogram(no_plot=True)`` coordinates, as line segments."""
    ic = np.asarray(icoord, dtype=float)
    dc = np.asarray(dcoord, dtype=float)
    if ic.ndim != 2 or ic.shape[0] == 0 or ic.shape != dc.shape:
        return None
    gap = np.full((ic.shape[0], 1), np.nan)
    x = np.hstack([ic, gap]).ravel()
    y = np.hstack([dc, gap]).ravel()
    go = _go()
    fig = go.Figure(go.Scatter(
        x=np.where(np.isnan(x), None, x).tolist(), y=np.where(np.isnan(y), None, y).tolist(),
        mode="lines", line={"color": PALETTE[0], "width": 1.4}, connectgaps=False,
        hovertemplate="merge height %{y:,.3g}<extra></extra>", name="merges",
    ))
    _style(fig, x_title="customers (leaves; a number in brackets = merged group size)",
           y_title=y_title, height=420, showlegend=False)
    n = len(ivl)
    fig.update_xaxes(range=[0.0, 10.0 * n] if n else None, zeroline=False)
    fig.update_yaxes(range=[0.0, float(np.nanmax(dc)) * 1.06 or 1.0], rangemode="tozero")
    if 0 < n <= 80:
        fig.update_xaxes(tickmode="array", tickvals=(5.0 + 10.0 * np.arange(n)).tolist(),
                         ticktext=[esc(v) for v in ivl], tickangle=-60, showgrid=False)
    else:
        fig.update_xaxes(showticklabels=False, showgrid=False)
    return fig


# --- Customer value: holdout fit, tracking, P(alive) grid -----------------------------------------

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


# --- What goes with value: correlation heat map, residuals, Q-Q -----------------------------------

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


#: Most points of a Q-Q plot: above it, this many evenly spaced quantiles of all residuals.
QQ_POINTS = 2000


def qq_plot(residuals: Any, *, max_points: int = QQ_POINTS) -> Any | None:
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


# --- Who buys next: calibration curve, cumulative gains -------------------------------------------

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
