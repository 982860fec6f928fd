"""Report section "Customer value": purchase model, holdout fit, P(alive), CLV, at risk."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from valuemax.clv import ONE_RATE, limit_effect, same_expected_spend
from valuemax.clv._prior_only import PRIOR_ONLY_DAYS, prior_only
from valuemax.decide import AT_RISK_SEGMENTS, high_value_at_risk, value_at_risk_summary
from valuemax.report import _plots as plots
from valuemax.report._format import count, fmt_int, fmt_num, fmt_pct
from valuemax.report._html import (
    alert,
    caveats_block,
    diagnostics,
    figure,
    grid2,
    kv,
    note,
    notes_list,
    plain_text,
    section,
    split_notes,
    sub,
    table,
)
from valuemax.report._sections_data import skip_note

if TYPE_CHECKING:  # type only: the report renders the pipeline's record, never imports it
    from valuemax.pipeline import AnalysisResult, ValueResult

Subs = list[tuple[str, str]]
_UNIT = {"D": "days", "W": "weeks"}
_SHOWN = ("customer_id", "segment", "n_orders", "total_spend", "recency_days", "p_alive")
#: CLV below this (one cent) is not drawn on the log-scale histogram.
_MIN_DRAWN = 0.01


def value_section(result: AnalysisResult, *,
                  title: str = "Customer value") -> tuple[str, Subs]:
    """Customer value: model choice, parameters, holdout plots, P(alive), CLV, value at risk.

    Reads ``result.value`` (:class:`valuemax.pipeline.ValueResult` or None, then a note
    with the reason of ``result.stages["value"]``) and ``result.customers`` (with
    ``p_alive`` and ``clv_<h>``).
    """
    lead = ("What each customer is worth over the next months and who is quietly leaving: a "
            "buy-till-you-die purchase model (chosen on a holdout) gives P(alive) and expected "
            "purchases, the Gamma-Gamma model the expected spend per purchase; CLV is their "
            "discounted product.")
    value = result.value
    if value is None:
        lead = ("What each customer is worth over the next months and who is quietly leaving "
                "would be estimated here from a purchase model and a spend model; this step "
                "did not run on this log, so no model was fitted or chosen.")
        return section("value", title, lead, skip_note(
            result.stages["value"], "value", what="Customer value was skipped",
            default="the value step did not run.")), []
    unit = _UNIT.get(value.time_unit, value.time_unit)
    h = value.horizon_months
    if value.validation is None or _one_rate(value) or _equal_holdout(value):
        lead = lead.replace(" (chosen on a holdout)", "")
    parts: list[str] = []
    subs: Subs = []
    diag: list[str] = []

    def head(anchor: str, text: str) -> None:
        parts.append(sub(anchor, text))
        subs.append((anchor, text))

    # CLV not computed: its reason only, no formula
    skipped = getattr(value, "clv_skipped", None)
    clv_facts = [] if skipped else [
        ("CLV horizon", f"{h} months (30.4375 days each)"),
        ("monthly discount rate", fmt_pct(value.discount_rate)),
        ("margin", fmt_pct(value.margin))]
    parts.append(kv([("purchase model", value.model_name), ("time unit", unit), *clv_facts,
                     ("calibration end", value.calibration_end or "— (no holdout)")]))
    parts.append(note(_choice(value) if skipped else (
        "CLV = margin × expected spend per purchase × Σ over months m = 1..H of "
        "the expected purchases in month m / (1 + monthly discount rate)^m "
        "(Fader, Hardie & Lee 2005). " + _choice(value))))
    diag.append(notes_list([value.rule], title="How the purchase model was chosen"))
    cust = result.customers
    parts.extend(_cautions(result, value, cust, diag))

    head("value-models", "Model choice")
    parts.append(_models(value, diag))
    head("value-holdout", "Holdout validation")
    parts.append(_holdout(value))
    head("value-alive", "Who is still active: P(alive)")
    alive = _alive(value, cust, unit)
    if value.p_alive_informative:
        parts.append(alive)
    else:  # a grid of equal values would mislead: keep it for the analyst only
        parts.append(note("P(alive) is not drawn here: this log does not let the model tell "
                          "active customers from lost ones (see the warning above). Use the "
                          "RFM segments and the days since the last purchase instead; the "
                          "P(alive) figures are in the Model diagnostics part below.",
                          warn=True))
        diag.append(alive)
    col = f"clv_{h}"
    head("value-clv", f"{h}-month CLV")
    if col not in cust:
        why = skipped or "no spend model was fitted"
        parts.append(note(f"CLV not computed: {why[:1].lower() + why[1:]}", warn=True))
    else:
        parts.append(_clv_caveats(value, cust))
        parts.append(_clv(cust, col, h, value.time_unit))
    head("value-risk", "High value at risk")
    parts.append(_at_risk(cust, col, value.p_alive_informative))
    parts.append(diagnostics(diag, what="fits, parameters and optimiser messages"))
    return section("value", title, lead, "".join(parts)), subs


def _cautions(result: AnalysisResult, value: Any, cust: pd.DataFrame,
              diag: list[str]) -> list[str]:
    """What to read with care above the value figures: the plain "What to trust" verdict,
    P(alive)'s warning box when it cannot rank, the run's value caveats (the list every
    surface shows) and the value step's notes; the technical texts go to ``diag``."""
    parts: list[str] = []
    verdict = _verdict(value, cust)
    if verdict:
        parts.append(note(verdict))
    if not value.p_alive_informative:
        shown, raw = plain_text(value.p_alive_warning, fallback=(
            "the fitted purchase model's drop-out part sits at a limit or is not pinned "
            "down by this log, so its P(alive) cannot tell active customers from lost ones; "
            "rank customers by recency and the RFM segments instead."))
        head = "P(alive) cannot rank customers in this log"
        body = shown[len(head):].lstrip(": ") if shown.startswith(head) else shown
        parts.append(alert(f"{head}: ", body))  # the warning opens with the same words
        diag.append(notes_list([raw], title="Why P(alive) cannot rank customers"))
    # the run's caveats of this step (the list every surface shows; P(alive)'s in its box)
    caveats = [c for c in getattr(result, "caveats", ()) if getattr(c, "step", None) == "value"]
    box, raw = caveats_block(caveats, "value", shown_apart=("p_alive",))
    parts.append(box)
    diag.append(raw)
    # each caveat once: the step's notes saying what a caveat already says are left out
    shown, technical = split_notes(_no_bare_t(n) for n in value.notes
                                   if n != value.p_alive_warning
                                   and not said_by_caveat(n, caveats))
    parts.append(notes_list(shown, title="What to keep in mind"))
    diag.append(notes_list(technical, title="Notes of the value step"))
    return parts


#: Value-step notes that say, in other words, what a caveat of this code says: the part
#: of the note that shows it (review: the report's value section said them twice).
NOTE_OF_CAVEAT = {
    "every_model_at_a_limit": "every purchase model reached a limit (",
    "indistinguishable": "fit the data equally well",
    "horizon": "months ahead from only",
}


def said_by_caveat(note_text: str, caveats: Iterable[Any]) -> bool:
    """Whether ``note_text`` (a value-step note) says what one of ``caveats`` says: the same
    text (but for the capital and the final period), or a note of the same fact
    (:data:`NOTE_OF_CAVEAT`).

    >>> from types import SimpleNamespace as C
    >>> cav = [C(code="short_holdout", text="The model was chosen on 1 day.")]
    >>> said_by_caveat("the model was chosen on 1 day", cav), said_by_caveat("other", cav)
    (True, False)
    """
    def norm(t: str) -> str:
        t = " ".join(str(t).split()).rstrip(".")
        return t[:1].lower() + t[1:]

    text = norm(note_text)
    for c in caveats:
        if norm(c.text) == text:
            return True
        part = NOTE_OF_CAVEAT.get(getattr(c, "code", ""))
        if part and part in text:
            return True
    return False


#: The top-CLV table's mark for a customer whose CLV is the population's prior.
NEW_FLAG = "new: prior only"
#: A customer with no repeat purchase first seen at most this many days before the
#: observation end has a CLV that is the population's prior (nothing observed yet).
NEW_CUSTOMER_DAYS = PRIOR_ONLY_DAYS
#: The CLV horizon is called an extrapolation when it is this many times the history.
EXTRAPOLATION_RATIO = 2.0


def new_customers(cust: pd.DataFrame, time_unit: str) -> pd.Series:
    """Boolean mask of the customers whose CLV is only the population's prior
    (:func:`valuemax.clv._prior_only.prior_only`: no repeat purchase, first seen at most
    :data:`NEW_CUSTOMER_DAYS` days before the observation end).

    >>> f = pd.DataFrame({"frequency": [0, 0, 2], "T": [0.0, 30.0, 1.0]})
    >>> new_customers(f, "D").tolist()
    [True, False, False]
    """
    if not {"frequency", "T"} <= set(cust.columns):
        return pd.Series(False, index=cust.index, dtype=bool)
    return pd.Series(prior_only(cust["frequency"], cust["T"], time_unit), index=cust.index)


def _no_bare_t(text: str) -> str:
    """``text`` without the bare field name T ("(T = 0)" is said in words around it).

    >>> _no_bare_t("2 customers first bought on the observation end (T = 0): no time")
    '2 customers first bought on the observation end: no time'
    """
    return re.sub(r"\s*\(T\s*=\s*0\)", "", str(text))


def _one_rate(value: ValueResult) -> bool:
    """True when the chosen purchase model, fitted on the whole period, is at its limit of
    no purchase-rate heterogeneity: every customer buys at the population's average rate."""
    return ONE_RATE in tuple(getattr(value.model, "boundary_", ()))


def _choice(value: ValueResult) -> str:
    """How the purchase model was chosen, in plain words (the exact rule is in diagnostics)."""
    if _one_rate(value):
        return ("No purchase model could be chosen on buying patterns: "
                f"{value.model_name} is at its limit of {ONE_RATE}, so every customer buys "
                "at the population's average purchase rate while active.")
    if value.validation is None:
        return ("The span is too short to keep a holdout back, so the model that fits the "
                "whole period best was taken.")
    limit = (" Every purchase model reached a limit of what this log shows; the holdout "
             "error still compares them (see below)." if value.degenerate else "")
    return ("The model with the smallest error on the holdout was chosen (the best fit among "
            "models about as accurate)." + limit)


def _equal_holdout(value: ValueResult) -> bool:
    """True when the fitted purchase models have the same holdout error (to 4 digits)."""
    if value.comparison is None:
        return False
    comp = value.comparison.table
    if "holdout_mae" not in comp or len(comp) < 2:
        return False
    mae = comp["holdout_mae"].astype(float).dropna()
    return len(mae) >= 2 and bool(np.allclose(mae, mae.iloc[0], rtol=1e-4, atol=1e-9))


def _verdict(value: ValueResult, cust: pd.DataFrame) -> str:
    """What to trust, in plain sentences, from the holdout check, the models' limits,
    the history's length and the customers too new to score.

    The holdout check (the chosen model's error against each customer's past purchase rate)
    is said whenever there is one. When the models cannot be told apart
    (``value.indistinguishable`` or the same holdout error) the choice among them carries
    no information. Only when the chosen model is at its limit of no purchase-rate
    heterogeneity (:data:`valuemax.clv.ONE_RATE`) does CLV rest on one purchase rate for
    everyone; another limit is said in its own terms (:func:`valuemax.clv.limit_effect`).
    """
    v = value.validation
    h = value.horizon_months
    tied = _equal_holdout(value) or any(value.model_name in g and len(g) > 1
                                        for g in value.indistinguishable)
    one_rate = _one_rate(value)
    new = new_customers(cust, value.time_unit)
    n_new = int(new.sum())
    caveat = ("" if not n_new else
              f" {count(n_new, 'customer')} first seen in the last {NEW_CUSTOMER_DAYS} days, "
              f"with purchases on one day only, {'has' if n_new == 1 else 'have'} just the "
              "population's average as CLV (marked "
              "\"new: prior only\" where they appear in the top-CLV table): do not rank "
              "them by CLV.")
    rank = "rank customers" + (" (except the new ones, see below)" if n_new else "")
    text = "What to trust:"
    if tied:
        text += (" no purchase model is better than the others ("
                 + ("they fit the data equally well" if not _equal_holdout(value) else
                    "they predict the holdout equally well")
                 + "), so the choice among them carries no information.")
    if v is None:
        text += (" no holdout could be kept back, so the purchase model is unchecked"
                 + ("." if one_rate else f"; use CLV to {rank}, not as an amount to budget on."))
    elif v.mae < v.naive_mae:
        text += (f" {value.model_name} predicts the holdout better than each "
                 f"customer's past purchase rate (error {fmt_num(v.mae)} against "
                 f"{fmt_num(v.naive_mae)} purchases per customer)"
                 + ("." if one_rate else f", so CLV can {rank}{_budget_words(v)}"
                    + ("." if value.p_alive_informative else "; P(alive) cannot (see below).")))
    else:
        text += (f" {value.model_name} does not predict the holdout better than each "
                 f"customer's past purchase rate (error {fmt_num(v.mae)} against "
                 f"{fmt_num(v.naive_mae)} purchases per customer): read CLV as a rough "
                 "ranking, not as an amount to budget on.")
    if one_rate:
        text += (f" {value.model_name} is at its limit of {ONE_RATE}: every customer buys at "
                 "the population's average purchase rate while active, so CLV rests on that "
                 "one rate times spend, not on individual buying patterns. Use it as a rough "
                 "size of value; rank customers by the RFM segments instead.")
    else:
        effect = limit_effect(getattr(value.model, "boundary_", ()))
        if effect:
            text += f" {value.model_name} is at a limit of its model: {effect}."
    span = value.history_days
    if span is not None and h * 365.25 / 12 >= EXTRAPOLATION_RATIO * max(span, 1):
        text += (f" The {h}-month figures are extrapolations: the log covers only "
                 f"{count(span, 'day')} of history.")
    return text + caveat


#: The holdout total the model predicts must be within this share of the actual total, on
#: at least :data:`BUDGET_MIN_CUSTOMERS` holdout customers, for the page to say that CLV can
#: size budgets (a ranking can be right with a total far off).
BUDGET_TOLERANCE = 0.20
BUDGET_MIN_CUSTOMERS = 200


def _budget_words(v: Any) -> str:
    """" and size budgets (...)" when the holdout total predicted is within
    :data:`BUDGET_TOLERANCE` of the actual on at least :data:`BUDGET_MIN_CUSTOMERS`
    customers; else why CLV is not an amount to budget on (the total over- or
    under-forecast by how much, or too few holdout customers to tell)."""
    pred, act, n = float(v.predicted_total), float(v.actual_total), len(v.customers)
    totals = f"{fmt_num(pred)} predicted against {fmt_num(act)} actual holdout purchases"
    if act > 0 and n >= BUDGET_MIN_CUSTOMERS and abs(pred / act - 1) <= BUDGET_TOLERANCE:
        return (f" and size budgets (its holdout total is within "
                f"{BUDGET_TOLERANCE:.0%}: {totals})")
    if act > 0 and abs(pred / act - 1) > BUDGET_TOLERANCE:
        word = "over" if pred > act else "under"
        return (f", but it {word}-forecasts the holdout total by {abs(pred / act - 1):.0%} "
                f"({totals}, {count(n, 'customer')}): do not budget on the CLV amounts")
    return (f", but with only {count(n, 'customer')} in the holdout check its total cannot "
            f"be trusted ({totals}; at least {BUDGET_MIN_CUSTOMERS} customers needed): do not "
            "budget on the CLV amounts")


def _models(value: ValueResult, diag: list[str]) -> str:
    out = []
    if value.comparison is not None:
        comp = value.comparison.table.copy()
        show = [c for c in ("model", "holdout_mae", "predicted_total", "actual_total",
                            "chosen") if c in comp]
        out.append(table(comp, csv_name="clv_models", show=show, caption=(
            "Each purchase model fitted on the calibration period and scored on the holdout: "
            "the mean error of each customer's predicted against actual holdout purchases "
            "(lower is better), and the predicted against actual holdout total.")))
        fit_cols = [c for c in ("model", "loglik", "bic", "holdout_rmse") if c in comp]
        diag.append(table(comp, csv_name="clv_models_fit", show=fit_cols, caption=(
            "Fit on the calibration period: log-likelihood and BIC (lower is better) and the "
            "holdout RMSE (the CSV adds AIC and the optimiser's convergence flag).")))
        failed = dict(value.comparison.failures)
        if failed:
            out.append(note(f"{', '.join(failed)} could not be fitted reliably on this log and "
                            "took no part in the choice.", warn=True))
            diag.append(notes_list([f"{k}: {v}" for k, v in failed.items()],
                                   title="Models that failed"))
    frames = [value.model.summary().to_frame().reset_index(names="parameter")
              .assign(model=value.model_name)]
    if value.spend_model is not None:
        frames.append(value.spend_model.summary().to_frame().reset_index(names="parameter")
                      .assign(model="Gamma-Gamma"))
    params = pd.concat(frames, ignore_index=True)
    params = params[["model", *[c for c in params.columns if c != "model"]]]
    diag.append(table(params, csv_name="clv_parameters", caption=(
        "Parameters refitted on the whole observation period, with standard errors from "
        "the observed information and 95% confidence intervals. The purchase-rate scale "
        f"(alpha) is in {_UNIT.get(value.time_unit, value.time_unit)}; Gamma-Gamma's gamma is "
        "in the currency of the log.")))
    check = value.spend_check or {}
    if check.get("message"):
        text, raw = plain_text(check["message"], fallback=(
            "Average spend per purchase is related to how often customers buy, against the "
            "spend model's assumption: read CLV as a ranking more than as exact amounts."
            if check.get("material") else "Average spend per purchase is about independent "
            "of how often customers buy, as the spend model assumes."))
        out.append(alert("Spend model assumption", text) if check.get("material")
                   else note(text))
        diag.append(notes_list([raw], title="Spend model check"))
    return "".join(out)


def _holdout(value: ValueResult) -> str:
    v = value.validation
    if v is None:
        return note("No holdout: the observation span is too short to keep one back, so "
                    "the model that fits the whole period best was chosen.", warn=True)
    out = [kv([("customers scored", fmt_int(len(v.customers))),
               ("holdout purchases: actual", fmt_num(v.actual_total)),
               (f"predicted by {value.model_name}", fmt_num(v.predicted_total)),
               ("naive baseline (calibration rate)", fmt_num(v.naive_total)),
               ("average error per customer (purchases): model / naive",
                f"{fmt_num(v.mae)} / {fmt_num(v.naive_mae)}")])]
    if v.mae >= v.naive_mae:
        peak = holdout_peak(value.tracking)
        out.append(alert("The naive baseline predicts the holdout as well as the model", (
            f"Each customer's calibration purchase rate gives a holdout error of "
            f"{fmt_num(v.naive_mae)} purchases per customer against the model's "
            f"{fmt_num(v.mae)}. The purchase "
            "models assume steady purchase rates, which seasonality, growth or a changing "
            "customer mix break" + (f"; {peak}" if peak else ".") + " Read CLV and P(alive) "
            "as a ranking of customers more than as exact amounts.")))
    figs = []
    fig = plots.conditional_expectation(v.by_frequency, model=value.model_name)
    if fig is not None:
        figs.append(figure(fig, "Conditional expectations: mean purchases in the holdout by "
                                "the number of repeat purchases in the calibration period, "
                                "actual against the model and the naive rate."))
    fig = plots.tracking(value.tracking, model=value.model_name)
    if fig is not None:
        figs.append(figure(fig, "Tracking: cumulative repeat purchases of the customers "
                                "acquired by the calibration end, week by week, actual "
                                "against the model's expectation; the shaded weeks are the "
                                "holdout."))
    if figs:
        out.append(grid2(*figs))
    return "".join(out)


#: A holdout week with this many times the median weekly repeat purchases of the
#: calibration period is called a peak.
PEAK_RATIO = 1.5


def holdout_peak(tracking: pd.DataFrame | None) -> str:
    """A sentence naming the holdout's busiest week when it is a clear peak, else "".

    Weekly repeat purchases are the differences of the cumulative ``actual`` column; the
    busiest holdout week is a peak when it has at least :data:`PEAK_RATIO` times the median
    week of the calibration period (weeks with no purchase at the very start excluded).
    """
    if tracking is None or tracking.empty or not {"actual", "holdout", "week_end"} <= set(
            tracking.columns):
        return ""
    weekly = tracking["actual"].astype(float).diff().fillna(tracking["actual"].iloc[0])
    hold = tracking["holdout"].astype(bool).to_numpy()
    cal = weekly[~hold]
    cal = cal[cal.cumsum() > 0]
    if not hold.any() or cal.empty or float(cal.median()) <= 0:
        return ""
    busiest = int(np.argmax(np.where(hold, weekly.to_numpy(), -np.inf)))
    ratio = float(weekly.iloc[busiest]) / float(cal.median())
    if ratio < PEAK_RATIO:
        return ""
    week = pd.Timestamp(tracking["week_end"].iloc[busiest]).date().isoformat()
    return (f"this log's holdout has such a peak: the week ending {week} had {ratio:.1f} "
            "times the typical weekly repeat purchases of the calibration period.")


def _alive(value: ValueResult, cust: pd.DataFrame, unit: str) -> str:
    cap = int(min(max(np.quantile(cust["frequency"], 0.95), 3), 30))
    age = float(cust["T"].max())
    fig, where = plots.p_alive_grid(value.model, max_frequency=cap, T=age, unit_label=unit)
    out = [figure(fig, f"P(alive) by frequency and recency for {where}: customers who bought "
                       "often but not lately (top left) are the likeliest to have left. "
                       "Frequency 0 has recency 0 by definition: one value across its row.")]
    if "p_alive" in cust:
        fig = plots.histogram(cust["p_alive"], x_title="P(alive)", unit="",
                              bins=np.linspace(0.0, 1.0, 21))
        if fig is not None:
            out.append(figure(fig, "P(alive) of every customer at the observation end."))
    return grid2(*out) if len(out) == 2 else "".join(out)


def top_rows(frame: pd.DataFrame, col: str, n: int) -> pd.DataFrame:
    """``frame.sort_values(col, ascending=False, kind="stable").head(n)``, sorting only the
    rows at or above the n-th largest value (a million customers: a few hundred rows sorted,
    not the whole table): the same rows in the same order, ties in table order.

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_rows, n_columns)
        The table; not modified.
    col : str
        A numeric column (NaN sorts last, as in ``sort_values``).
    n : int
        Rows wanted (>= 1).

    Returns
    -------
    pandas.DataFrame of shape (min(n, n_rows), n_columns)
    """
    v = frame[col].to_numpy(dtype=float, na_value=np.nan)
    ok = ~np.isnan(v)
    if int(ok.sum()) <= n:
        return frame.sort_values(col, ascending=False, kind="stable").head(n)
    cut = np.partition(v[ok], -n)[-n]  # the n-th largest: every row of the head is >= it
    return frame[v >= cut].sort_values(col, ascending=False, kind="stable").head(n)


def top_share(values: pd.Series, share: float = 0.1) -> float:
    """The share of the total held by the ``ceil(share · n)`` largest values (at least one),
    summed in descending order as ``values.sort_values(ascending=False).head(k).sum()``
    sums them; NaN when the total is not positive."""
    total = float(values.sum())
    if not total > 0:
        return float("nan")
    v = values.to_numpy(dtype=float, na_value=np.nan)
    k = max(1, int(np.ceil(share * len(v))))
    desc = np.concatenate([np.sort(v[~np.isnan(v)])[::-1], v[np.isnan(v)]])
    return float(pd.Series(desc[:k]).sum() / total)


def _clv(cust: pd.DataFrame, col: str, h: int, time_unit: str = "D") -> str:
    total = float(cust[col].sum())
    top = top_rows(cust, col, 50)
    share10 = top_share(cust[col])
    out = [kv([("total CLV", fmt_num(total)), ("median per customer",
                                                fmt_num(float(cust[col].median()))),
               ("share of the top 10% of customers", fmt_pct(share10))])]
    drawn = cust[col] >= _MIN_DRAWN
    fig, _ = plots.log_histogram(cust.loc[drawn, col], x_title=f"{h}-month CLV (log scale)",
                                 unit="currency")
    n_small = int((~drawn).sum())
    if fig is not None:
        out.append(figure(fig, f"Distribution of {h}-month CLV, log scale"
                               + (f"; {n_small:,} customers with a CLV under {_MIN_DRAWN} "
                                  "(almost surely gone) are not drawn." if n_small else ".")))
    show = [c for c in (*_SHOWN, f"expected_purchases_{h}", "expected_avg_value", col)
            if c in top]
    shown = _readable(top[show].head(50))
    new = new_customers(top.head(50), time_unit)
    flag = ""
    if new.any():
        shown["new_flag"] = np.where(new.to_numpy(), NEW_FLAG, "")
        flag = (f" {count(int(new.sum()), 'customer')} in this table first bought in the last "
                f"{NEW_CUSTOMER_DAYS} days with purchases on one day only: their CLV is only the "
                f"population's prior (\"{NEW_FLAG}\"), not a sign that they are worth more.")
    out.append(table(shown, csv_name=f"top_customers_clv_{h}",
                     labels={**_labels(h), "new_flag": "note"}, caption=(
        f"The 50 customers with the highest {h}-month CLV (every customer's value is in "
        "customers.csv)." + flag)))
    return "".join(out)


def _at_risk(cust: pd.DataFrame, col: str, informative: bool = True) -> str:
    if "p_alive" not in cust or "total_spend" not in cust:
        return note("Needs P(alive) and past spend; not available.")
    by_segment = not informative and "segment" in cust
    risk = high_value_at_risk(cust, segments=AT_RISK_SEGMENTS if by_segment else None)
    summary = value_at_risk_summary(risk, cust, col)
    rule = (f"RFM segment {' or '.join(AT_RISK_SEGMENTS)} (P(alive) cannot rank "
            "customers here)" if by_segment else f"P(alive) < {summary['p_alive_below']:g}")
    out = [kv([("high past spend", f"top 20% by total spend (≥ "
                                   f"{fmt_num(summary['spend_threshold'])})"),
               ("at risk", rule),
               ("customers", f"{fmt_int(summary['n_customers'])} of "
                             f"{fmt_int(summary['n_high_value'])} high spenders"),
               ("their past spend", f"{fmt_num(summary['past_spend'])} "
                                    f"({fmt_pct(summary['past_spend_share'])} of all)")])]
    one_day = _one_day_note(cust, risk) if col in cust else ""
    if risk.empty:
        out.append(note(f"No high spender is at risk by this rule ({rule})."))
        return "".join(out) + one_day
    action, why = risk["action"].iloc[0], risk["rationale"].iloc[0]
    out.append(alert("Action", f"{action} Why: {why}"))
    show = [c for c in (*_SHOWN, col) if c in risk]
    out.append(table(_readable(risk[show]), csv_name="high_value_at_risk", max_rows=AT_RISK_SHOWN,
                     labels=_labels(int(col.split("_")[-1])), caption=_at_risk_caption(
                         len(risk), by_segment)))
    out.append(one_day)
    return "".join(out)


def _clv_caveats(value: ValueResult, cust: pd.DataFrame) -> str:
    """Beside the CLV total: the chosen model no better than each customer's past purchase
    rate on the holdout, and the same expected spend for everyone (Gamma-Gamma at its
    limit: CLV then ranks by expected purchases alone)."""
    out = []
    v = value.validation
    if v is not None and not v.mae < v.naive_mae:
        out.append(note(
            f"{value.model_name} does not predict the holdout better than each customer's "
            f"past purchase rate (error {fmt_num(v.mae)} against {fmt_num(v.naive_mae)} "
            "purchases per customer; predicted "
            f"{fmt_num(v.predicted_total)} against {fmt_num(v.actual_total)} actual holdout "
            "purchases): read the CLV total and each customer's CLV as a rough size, not as "
            "an amount to budget on.", warn=True))
    same = (same_expected_spend(cust["expected_avg_value"])
            if "expected_avg_value" in cust else None)
    if same is not None:
        out.append(alert("CLV ranks by expected purchases alone", (
            f"Every customer's expected spend per purchase is about the same ({fmt_num(same[0])}"
            f" to {fmt_num(same[1])}): the Gamma-Gamma spend model sees no spread in average "
            "spend between customers in this log, so it gives everyone the population's mean. "
            "CLV is then that one amount times the expected purchases, and ranks customers "
            "by how often they are expected to buy, not by what they spend; use the past "
            "spend (total spend, RFM monetary score) for that.")))
    return "".join(out)


def _one_day_note(cust: pd.DataFrame, risk: pd.DataFrame) -> str:
    """A note on the high spenders with every order on one day (``frequency`` 0): the spend
    model never sees their spend and values them at the population's mean spend per
    purchase (Gamma-Gamma's prior), whatever they spent; ``risk`` is the at-risk table."""
    need = {"frequency", "total_spend", "expected_avg_value", "customer_id"}
    if not need <= set(cust.columns) or not len(cust):
        return ""
    threshold = float(cust["total_spend"].quantile(0.8))
    one_day = (cust["frequency"] <= 0) & (cust["total_spend"] >= threshold)
    n = int(one_day.sum())
    if not n:
        return ""
    ids = cust.loc[one_day, "customer_id"]
    has = "customer_id" in risk and len(risk)
    in_risk = int(ids.isin(risk["customer_id"]).sum()) if has else 0
    # the table shows the first AT_RISK_SHOWN rows of ``risk``: count those, not the CSV's
    in_shown = int(ids.isin(risk["customer_id"].head(AT_RISK_SHOWN)).sum()) if has else 0
    where = (f"; {fmt_int(in_shown)} of them in the table above" if len(risk) <= AT_RISK_SHOWN
             else f"; {fmt_int(in_shown)} of them among the {AT_RISK_SHOWN} rows shown above, "
                  f"{fmt_int(in_risk)} in the whole at-risk list (CSV)")
    prior = float(cust.loc[one_day, "expected_avg_value"].median())
    own = float(cust.loc[one_day, "total_spend"].median())
    return note(
        f"{count(n, 'high spender')} (top 20% by total spend"
        + (where if len(risk) else "")
        + ") bought on one day only: with no repeat purchase the spend model "
        f"cannot learn their spend, so their CLV uses the population's mean spend per "
        f"purchase ({fmt_num(prior)}), not their own (their median total spend is "
        f"{fmt_num(own)}). Read them by their past spend, not by CLV.", warn=True)


#: Rows of the high-value-at-risk table shown on the page (the CSV has them all).
AT_RISK_SHOWN = 50


def _at_risk_caption(n: int, by_segment: bool) -> str:
    """The at-risk table's caption: its rule and how many rows it shows (at most 50)."""
    who = (f"in the RFM segments {' or '.join(AT_RISK_SEGMENTS)}" if by_segment
           else "low P(alive)")
    shown = ("the 50 largest shown, every one in the CSV" if n > 50
             else f"all {fmt_int(n)} shown (also in the CSV)")
    return f"High past spend, {who}, by past spend: {shown}."


def _labels(h: int) -> dict[str, str]:
    return {"recency_days": "days since last purchase", "p_alive": "P(alive)",
            f"expected_purchases_{h}": f"expected purchases, {h} months",
            "expected_avg_value": "expected spend per purchase", f"clv_{h}": f"CLV, {h} months"}


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Probabilities to 3 decimals, money and counts to 2: no 7e-15 in a marketer's table."""
    out = frame.copy()
    for c in out.columns:
        if c == "p_alive":
            out[c] = out[c].round(3)
        elif pd.api.types.is_float_dtype(out[c]):
            out[c] = out[c].round(2)
    return out
