"""Report section 3 (RFM segments) and the column order of the profile tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from valuemax.report import _plots as plots
from valuemax.report._format import fmt_num
from valuemax.report._html import (
    caveats_block,
    diagnostics,
    figure,
    note,
    notes_list,
    section,
    split_notes,
    sub,
    table,
)

if TYPE_CHECKING:  # type only: the report renders the pipeline's record, never imports it
    from valuemax.pipeline import AnalysisResult

Subs = list[tuple[str, str]]

_DIRECTION = {
    "recency": "fewer days since the last purchase -> higher R score",
    "frequency": "more orders -> higher F score",
    "monetary": "more spend -> higher M score",
}


#: Profile-table columns in display order: identity, size and value, means, levels.
PROFILE_ORDER = ("cluster", "name", "segment", "n_customers", "share_customers", "revenue",
                 "revenue_share", "mean_recency_days", "mean_n_orders", "mean_total_spend",
                 "r_level", "f_level", "m_level")
#: Long text shown on a wrapped line under each row (see ``table(detail=...)``).
PROFILE_DETAIL = ("action", "rationale", "top_countries")
#: Profile columns in the CSV download only (the rationale says it in words).
CSV_ONLY = ("share_same_action",)
#: Short recency/frequency/spend levels, merged into one displayed column.
LEVELS = ("r_level", "f_level", "m_level")


def profile_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Name, then the numbers, then short text; the long text (action, why) last.

    Parameters
    ----------
    df : pandas.DataFrame
        A segment or cluster profile (one row per group).

    Returns
    -------
    pandas.DataFrame
        The same columns reordered; pass ``detail=PROFILE_DETAIL`` to :func:`table`.
    """
    first = [c for c in PROFILE_ORDER if c in df.columns]
    last = [c for c in PROFILE_DETAIL if c in df.columns]
    return df[first + [c for c in df.columns if c not in first and c not in last] + last]


def profile_table(df: pd.DataFrame, *, csv_name: str, caption: str) -> str:
    """A segment or cluster profile table that fits 1,400 px without a horizontal scroll.

    Numbers come right after the name; the three R/F/M levels share one column
    ("high / low / low"); the action, its rationale and the top countries go on wrapped
    lines under each row. The CSV keeps every column under its machine name.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per segment or cluster (``segment_summary`` or a clustering ``profile``).
    csv_name : str
        File name of the download.
    caption : str
        What the table shows.

    Returns
    -------
    str
        HTML of the table block.
    """
    df = profile_columns(df)
    levels = [c for c in LEVELS if c in df.columns]
    extra = None
    show = [c for c in df.columns if c not in PROFILE_DETAIL and c not in CSV_ONLY]
    if len(levels) > 1:
        merged = df[levels].astype("string").fillna("—").agg(" / ".join, axis=1)
        extra = {"levels": merged.tolist()}
        at = show.index(levels[0])
        show = [c for c in show if c not in levels]
        show.insert(at, "levels")
    letters = "/".join({"r_level": "R", "f_level": "F", "m_level": "M"}[c] for c in levels)
    return table(df, csv_name=csv_name, show=show, detail=PROFILE_DETAIL, extra=extra,
                 labels={"levels": f"level ({letters})"}, caption=caption)


def frame_or_none(obj: Any) -> pd.DataFrame | None:
    """``obj`` if it is a non-empty DataFrame, else None."""
    return obj if isinstance(obj, pd.DataFrame) and len(obj) else None


#: Shown when the RFM scores have no M (a log without prices).
NO_M_NOTE = ("The log has no prices, so spend needs a price or amount column: M (monetary "
             "value) is not scored and the segments are named from R and F alone (the rule "
             "table read with M taken as F). Name the money column with --map amount=COL.")


def segments_section(result: AnalysisResult, *,
                     title: str = "Segments (RFM)") -> tuple[str, Subs]:
    """Section 3: RFM cut points, named segments with actions, the R x F heat map.

    The main job always scores RFM and names segments (``result.rfm``, ``result.segments``).
    """
    lead = ("RFM scores rank customers by recency, frequency and monetary value into "
            "quantile bins; named segments group the score cells and come with an action.")
    rfm, cust = result.rfm, result.customers
    parts: list[str] = [sub("seg-cuts", "RFM cut points")]
    subs: Subs = [("seg-cuts", "Cut points")]
    if rfm is not None:
        cuts = dict(rfm.cut_points)
        cols = rfm.columns
        if cuts and "monetary" not in cuts:
            parts.append(note(NO_M_NOTE, warn=True))
        if cuts:
            frame = pd.DataFrame({
                "dimension": list(cuts),
                "customer column": [cols.get(d, "—") for d in cuts],
                "bins": [len(v) + 1 for v in cuts.values()],
                "cut points": [cut_points(v, integer=_integer(cust, cols, d))
                               for d, v in cuts.items()],
                "scoring": [_DIRECTION.get(d, "") for d in cuts],
            })
            parts.append(table(frame, csv_name="rfm_cut_points", terms=("customer column",),
                               caption=(
                "The quintile boundaries used for the scores (each score holds about a "
                "fifth of the customers), in the column's unit (days, orders, currency); "
                "days and orders are whole numbers, so their boundaries are rounded to whole "
                "days and orders.")))
        rnotes = list(rfm.notes)
        shown, technical = split_notes(rnotes)
        parts.append(notes_list(shown, title="Collapsed bins and other notes")
                     if rnotes else note("No bins collapsed: every dimension kept its bins."))
        parts.append(diagnostics([notes_list(technical)], what="RFM scoring"))

    parts.append(sub("seg-named", "Named segments"))
    subs.append(("seg-named", "Named segments"))
    box, raw = caveats_block(getattr(result, "caveats", ()), "segments")
    parts.append(box)  # e.g. how far back the "recent" segments reach in this log
    if raw:
        parts.append(diagnostics([raw], what="caveats of the segments"))
    seg = frame_or_none(result.segments)
    if seg is not None:
        seg = seg.copy()
        if "n_customers" in seg and seg["n_customers"].sum() > 0:
            seg["share_customers"] = seg["n_customers"] / seg["n_customers"].sum()
        if "revenue" in seg and seg["revenue"].sum() > 0:
            seg["revenue_share"] = seg["revenue"] / seg["revenue"].sum()
        if "revenue" in seg:
            seg = seg.sort_values("revenue", ascending=False)
        series = {k: seg[c].tolist() for k, c in (("customers", "share_customers"),
                                                  ("revenue", "revenue_share")) if c in seg}
        fig = plots.hbar(seg["segment"].tolist(), series, x_title="share of the total (%)",
                         y_title="segment",
                         percent=True) if "segment" in seg else None
        money = "revenue" in seg  # absent for a log without prices
        if fig is not None:
            parts.append(figure(fig, "Share of customers and of revenue per named segment, "
                                     "largest revenue first. Segments whose revenue bar is "
                                     "longer than their customer bar are worth more than "
                                     "their head count." if money else
                                "Share of customers per named segment, largest first (no "
                                "revenue: the log has no prices)."))
        order = "largest revenue first" if money else "largest first"
        parts.append(profile_table(seg, csv_name="segments",
                                   caption=f"The {len(seg):,} named segments, {order}; "
                                           "under each, the recommended action and why."))

    parts.append(sub("seg-heat", "Recency × frequency"))
    subs.append(("seg-heat", "R × F heat map"))
    parts.append(_rf_heatmap(cust))
    return section("segments", title, lead, "".join(parts)), subs


def _rf_heatmap(cust: pd.DataFrame) -> str:
    if not {"r_score", "f_score"} <= set(cust.columns):
        return note("No R × F heat map: the customer table has no r_score/f_score.")
    r = pd.to_numeric(cust["r_score"], errors="coerce")
    f = pd.to_numeric(cust["f_score"], errors="coerce")
    ok = r.notna() & f.notna()
    if not ok.any():
        return note("No R × F heat map: every r_score/f_score is missing.")
    r, f = r[ok].astype(int), f[ok].astype(int)
    levels_r = np.arange(int(r.min()), int(r.max()) + 1)
    levels_f = np.arange(int(f.min()), int(f.max()) + 1)
    counts = pd.crosstab(r, f).reindex(index=levels_r, columns=levels_f, fill_value=0)
    extra = None
    if "total_spend" in cust:
        spend = pd.to_numeric(cust.loc[ok, "total_spend"], errors="coerce")
        extra = (pd.DataFrame({"r": r, "f": f, "s": spend}).pivot_table(
            index="r", columns="f", values="s", aggfunc="mean")
            .reindex(index=levels_r, columns=levels_f).to_numpy(dtype=float))
    fig = plots.heatmap(counts.to_numpy(dtype=float), x_labels=levels_f.tolist(),
                        y_labels=levels_r.tolist(), x_title="F score (higher = more orders)",
                        y_title="R score (higher = more recent)", z_title="customers",
                        extra=extra, extra_title="mean total spend (currency)")
    if fig is None:
        return note("No R × F heat map: no scored customer.")
    hover = "; hover for their mean spend" if extra is not None else ""
    return figure(fig, f"Customers per recency (rows) and frequency (columns) score{hover}. "
                       "The top-right corner holds recent, frequent buyers; "
                       "the bottom-left, lapsed one-off buyers.")


def _integer(cust: pd.DataFrame, cols: Mapping[str, str], dim: str) -> bool:
    """True when the customer column behind RFM dimension ``dim`` holds whole numbers."""
    col = cols.get(dim)
    if col not in cust.columns:
        return dim in ("recency", "frequency")
    values = pd.to_numeric(cust[col], errors="coerce").dropna().to_numpy(dtype=float)
    return bool(values.size) and bool(np.all(values == np.round(values)))


def cut_points(values: Any, *, integer: bool) -> str:
    """Quintile boundaries for the page: whole numbers when the data are whole numbers.

    >>> cut_points([3, 6.6, 19.8, 47.0], integer=True), cut_points([1, 2, 3, 4.2], integer=True)
    ('3, 7, 20, 47', '1, 2, 3, 4')
    >>> cut_points([49.31, 113.3], integer=False)
    '49.3, 113.3'
    """
    if integer:
        return ", ".join(f"{round(float(x)):,}" for x in values)
    return ", ".join(fmt_num(x) for x in values)

