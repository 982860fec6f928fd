"""Report section "What goes with value": correlations, the value regression, its caveats."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from valuemax.report import _plots as plots
from valuemax.report._format import explained_share, fmt_int, fmt_num, plain
from valuemax.report._html import (
    diagnostics,
    figure,
    grid2,
    kv,
    note,
    notes_list,
    section,
    split_notes,
    sub,
    table,
)
from valuemax.report._sections_data import skip_note

if TYPE_CHECKING:  # type only: the report renders the pipeline's record, never imports it
    from valuemax.pipeline import AnalysisResult
    from valuemax.stats import CorrelationMatrix, OLSResult, ValueDrivers

Subs = list[tuple[str, str]]

CAVEATS = (
    "Associations, not causes: customers who differ in one feature differ in others the "
    "model does not see, so pushing a feature up need not raise value.",
    "Outliers: a few very large customers can move least-squares estimates; the residual "
    "plots show how far the data stray from the model.",
    "Log scale: on a log outcome a coefficient is a percent change (a multiplication per unit, or an "
    "elasticity when the predictor is logged too), not a change in currency.",
)


def stars(p: float) -> str:
    """``***`` p < 0.001, ``**`` p < 0.01, ``*`` p < 0.05, else empty (NaN: empty)."""
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def fmt_p(p: Any) -> str:
    """A p-value for display: '< 0.001' below 0.001 (the CSV has the value), else 3 digits.

    >>> fmt_p(4.69e-296), fmt_p(0.0123), fmt_p(0.5)
    ('< 0.001', '0.0123', '0.5')
    """
    if p is None or not np.isfinite(float(p)):
        return "—"
    p = float(p)
    return "< 0.001" if p < 0.001 else f"{p:.3g}"


def stats_section(result: AnalysisResult, *,
                  title: str = "What goes with value") -> tuple[str, Subs]:
    """The statistics section: heat map, regression table, residual plots, reading.

    Parameters
    ----------
    result : valuemax.AnalysisResult
        Reads ``result.stats`` (a :class:`valuemax.stats.ValueDrivers` or None) and, when
        it is None, the reason of ``result.stages["stats"]``.
    title : str, default "What goes with value"
        Section heading (the report may number it, e.g. ``"3. What goes with value"``).

    Returns
    -------
    tuple of (str, list of (str, str))
        The section HTML and its (anchor, title) sub-entries for the table of contents.
    """
    lead = ("Which customer features go together with value, how strongly, and how sure we "
            "are: rank correlations with corrected p-values, and a regression on a log "
            "scale. Read them as associations, not causes.")
    vd = result.stats
    if vd is None:
        lead = ("Which customer features go together with value would be measured here; "
                "the statistics did not run on this log.")
        body = skip_note(result.stages["stats"], "stats", what="The statistics did not run",
                         default="no statistics result was recorded for this run.")
        return section("stats", title, lead, body), []
    parts: list[str] = [sub("stats-corr", "Correlations")]
    subs: Subs = [("stats-corr", "Correlations")]
    parts.append(_correlations(vd.correlations))
    parts.append(sub("stats-reg", "Regression of value"))
    subs.append(("stats-reg", "Regression"))
    reg = vd.regression
    if reg is None:
        why = "; ".join(n for n in vd.notes if "not fitted" in n)
        parts.append(note("No regression: " + (plain(why) if why and not split_notes([why])[1]
                                               else "it could not be fitted."), warn=True))
    else:
        parts.append(_regression(vd, reg))
    parts.append(sub("stats-reading", "Reading and caveats"))
    subs.append(("stats-reading", "Reading"))
    reading, tech_reading = split_notes(list(reg.reading) if reg is not None else [])
    parts.append(notes_list(reading, title="In plain words"))
    parts.append(notes_list(CAVEATS, title="Caveats"))
    chosen, tech_chosen = split_notes(vd.notes)
    parts.append(notes_list(chosen, title="What was chosen and why"))
    parts.append(diagnostics([notes_list(tech_reading + tech_chosen)],
                             what="how the statistics were computed"))
    return section("stats", title, lead, "".join(parts)), subs


def _correlations(cm: CorrelationMatrix) -> str:
    r = cm.r.to_numpy(dtype=float)
    padj = cm.p_adjusted.to_numpy(dtype=float)
    n = cm.n.to_numpy()
    labels = [plain(c) for c in cm.columns]
    text = [[("1" if i == j else "—" if not np.isfinite(r[i, j]) else
              f"{r[i, j]:.2f}{stars(padj[i, j])}") for j in range(len(labels))]
            for i in range(len(labels))]
    hover = [[f"r = {fmt_num(r[i, j])}, n = {fmt_int(n[i, j])}, adjusted p = "
              f"{fmt_p(padj[i, j])}" for j in range(len(labels))] for i in range(len(labels))]
    corrected = cm.adjust in ("holm", "fdr_bh")  # the method's name is in the CSV's p-values
    after = ("after correcting for the number of pairs tested" if corrected else
             "(not corrected for the number of pairs tested)")
    parts = []
    long = cm.long
    fig = plots.corr_heatmap(r, labels, text=text, hover=hover, title=f"{cm.method} r")
    if fig is None:
        parts.append(note("No correlation heat map: no pair could be computed.", warn=True))
    else:
        parts.append(figure(fig, (
            f"{cm.method.capitalize()} correlation of each pair of customer features (red: "
            "they rise together; blue: one rises as the other falls). Stars mark pairs still "
            f"significant {after} (* p < 0.05, ** p < 0.01, "
            "*** p < 0.001); " + _evidence(long))))
    parts.append(table(
        long, csv_name="correlations", show=["x", "y", "r", "ci_low", "ci_high", "n", "p_adj"],
        terms=("x", "y"),
        extra={"p_adj": [fmt_p(v) for v in long["p_adjusted"]]},
        labels={"p_adj": "adjusted p", "ci_low": "CI low", "ci_high": "CI high"},
        caption=(f"Every pair with its {cm.confidence:.0%} interval ({cm.ci_method}) and "
                 f"p-value {after}; n counts customers with both values.")))
    dropped, tech = split_notes(f"{c}: {why}" for c, why in cm.dropped.items())
    parts.append(notes_list(dropped, title="Columns left out of the correlations"))
    shown, tech2 = split_notes(cm.notes)
    parts.append(notes_list(shown))
    parts.append(diagnostics([notes_list(tech + tech2)], what="correlations"))
    return "".join(parts)


def _regression(vd: ValueDrivers, reg: OLSResult) -> str:
    coefs = reg.coefficients.merge(reg.vif, on="term", how="left")
    fit = explained_share(vd.target, reg.r_squared, vd.predictors)
    parts = [note(fit[:1].upper() + fit[1:] + "."), kv([
        ("outcome", plain(vd.target)), ("customers used", fmt_int(reg.n)),
        ("share of the spread explained (R² / adjusted R²)",
         f"{reg.r_squared:.3f} / {reg.adj_r_squared:.3f}"),
        ("standard errors", "robust to unequal variance" if reg.robust else "classical"),
    ])]
    parts.append(table(
        coefs, csv_name="value_regression",
        show=["term", "coef", "se", "ci_low", "ci_high", "p", "vif"], terms=("term",),
        extra={"p": [fmt_p(v) for v in coefs["p_value"]]},
        labels={"coef": "coefficient", "se": "SE", "ci_low": "CI low", "ci_high": "CI high",
                "p": "p-value", "vif": "overlap with other predictors"},
        caption=(f"OLS of {plain(vd.target)} with {reg.confidence:.0%} intervals. An overlap above 5 "
                 "flags a predictor largely explained by the others (its SE is inflated).")))
    excluded = vd.excluded
    if excluded:
        shown, tech = split_notes(f"{c}: {why}" for c, why in excluded.items())
        parts.append(notes_list(shown, title="Not used as predictors, and why"))
        parts.append(diagnostics([notes_list(tech)], what="predictors left out"))
    resid = np.asarray(reg.residuals, dtype=float)
    fig_r, shown = plots.residual_scatter(reg.fitted, resid, x_title=f"fitted {plain(vd.target)}",
                                          y_title="residual (observed − fitted)")
    fig_q = plots.qq_plot(resid)
    blocks = []
    if fig_r is not None:
        sample = "" if shown == resid.size else f" (a seeded sample of {shown:,} customers)"
        blocks.append(figure(fig_r, "Residuals against fitted values" + sample + ": a "
                                    "shapeless band around zero is what the model assumes; a "
                                    "funnel means unequal variance (hence the robust standard errors), a curve a "
                                    "missing term."))
    n_finite = int(np.isfinite(resid).sum())
    quantiles = ("" if n_finite <= plots.QQ_POINTS else
                 f" ({plots.QQ_POINTS:,} evenly spaced quantiles of the {n_finite:,})")
    if fig_q is not None:
        blocks.append(figure(fig_q, "Normal Q-Q plot of the standardised residuals"
                                    + quantiles + ": points "
                                    "on the dashed line are normal; ends bending away are "
                                    "heavy tails (outlying customers)."))
    if blocks:
        parts.append(grid2(*blocks) if len(blocks) == 2 else blocks[0])
    else:
        parts.append(note("No residual plots: the residuals are empty or constant."))
    return "".join(parts)


#: With at least this many customers even a weak correlation is significant.
LARGE_N = 1000
#: Under this many customers a correlation's interval is wide: the evidence is thin.
SMALL_N = 100


def _evidence(long: pd.DataFrame) -> str:
    """How to read significance for the number of customers behind the correlations.

    >>> _evidence(pd.DataFrame({"n": [40, 38]}))[:40]
    'with only 40 customers the evidence is t'
    >>> _evidence(pd.DataFrame({"n": [5000]}))[:29]
    'with 5,000 customers even wea'
    """
    n = int(pd.to_numeric(long.get("n"), errors="coerce").max()) if len(long) else 0
    if n >= LARGE_N:
        return (f"with {n:,} customers even weak correlations are significant, so read the "
                "size of r.")
    if n < SMALL_N:
        return (f"with only {n:,} customers the evidence is thin: the intervals are wide and "
                "only strong correlations can show, so treat every r here as a first hint.")
    return (f"with {n:,} customers only moderate or strong correlations reach significance; "
            "read the size of r and its interval together.")

