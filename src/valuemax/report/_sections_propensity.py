"""Report section "Who buys next": buy-again propensity, its baselines and churn risk."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from valuemax.decide import AT_RISK_SEGMENTS
from valuemax.propensity import CHURN_THRESHOLDS
from valuemax.report import _plots as plots
from valuemax.report._format import plain
from valuemax.report._html import (
    caveats_block,
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
from valuemax.report._part import PartReport
from valuemax.report._sections_data import skip_note

if TYPE_CHECKING:  # type only: the report renders the pipeline's record, never imports it
    from valuemax.pipeline import AnalysisResult
    from valuemax.propensity import PropensityResult

Subs = list[tuple[str, str]]

_WHAT = {
    "logit": "logistic regression (calibrated)",
    "hgb": "gradient boosting (calibrated)",
    "recency": "baseline: recency alone (fewer days since the last purchase ranks higher)",
    "btyd_expected_purchases": "baseline: BG/NBD expected purchases in the horizon",
    "btyd_p_alive": "baseline: BG/NBD probability of being alive",
}


#: Short names of the models and baselines, as the page shows them.
NAMES = {
    "logit": "logistic regression",
    "hgb": "gradient boosting",
    "recency": "recency alone",
    "btyd_expected_purchases": "BG/NBD expected purchases",
    "btyd_p_alive": "BG/NBD P(alive)",
}


def model_name(key: Any) -> str:
    """The page name of a model key ("hgb" -> "gradient boosting")."""
    return NAMES.get(str(key), plain(key))


def _metrics_frame(res: Any) -> pd.DataFrame:
    m = res.metrics.copy()
    m.insert(1, "what", [_WHAT.get(k, "") for k in m["model"]])
    return m


#: A ranking with a holdout ROC AUC at or below this is no better than chance for targeting.
USELESS_AUC = 0.55


def _verdict(res: Any, purchase_model: str | None = None) -> str:
    """The model against its baselines, in plain sentences, and what to do.

    The BTYD baselines are BG/NBD's, fitted at the holdout cutoff: when the CLV step chose
    another purchase model (``purchase_model``), the page says so, so that a weak BG/NBD
    baseline is not read as a verdict on the P(alive) delivered in the customer files.

    A baseline with a holdout AUC below 0.5 ranks worse than chance: beating it proves
    nothing, so the model is compared with the best baseline at or above 0.5 (and the
    uninformative ones are named as such). When the chosen model's AUC is at most
    :data:`USELESS_AUC` or does not beat recency, the page says not to target with it.
    """
    m = res.metrics.set_index("model")
    auc = float(m.loc[res.chosen_model, "roc_auc"])
    parts = [f"The chosen model ({model_name(res.chosen_model)}) has a holdout ROC AUC of "
             f"{auc:.3f} (0.5 is chance, 1 a perfect ranking)."]
    bases = {k: float(m.loc[k, "roc_auc"]) for k in m.index if k not in ("logit", "hgb")}
    useful = {k: b for k, b in bases.items() if np.isfinite(b) and b >= 0.5}
    weak = [k for k in bases if k not in useful]
    if useful:
        best = max(useful, key=useful.get)
        word = "beats" if auc > useful[best] else "does NOT beat"
        parts.append(f"It {word} the best baseline, {model_name(best)} "
                     f"(AUC {useful[best]:.3f}).")
    if weak:
        names = " and ".join(f"{model_name(k)} (AUC {bases[k]:.3f})" for k in weak)
        backwards = all(np.isfinite(bases[k]) and bases[k] < 0.5 for k in weak)
        parts.append(f"The baseline{'s' if len(weak) > 1 else ''} {names} rank"
                     f"{'' if len(weak) > 1 else 's'} "
                     + ("worse than chance on this log (an AUC below 0.5: the higher the "
                        "score, the less likely the purchase)" if backwards else
                        "no better than chance on this log")
                     + ", so beating them means nothing.")
    btyd = [k for k in bases if k.startswith("btyd_")]
    if btyd and purchase_model and purchase_model != "BG/NBD":
        parts.append(f"The BG/NBD baselines are BG/NBD's, fitted at the holdout cutoff, not "
                     f"those of {purchase_model}, the purchase model the CLV step chose: "
                     "they say nothing about the P(alive) in the customer files.")
    no_recency = "recency" in bases and auc <= bases["recency"]
    if auc <= USELESS_AUC or no_recency:
        why = (f"an AUC of {auc:.3f} is about chance" if auc <= USELESS_AUC else
               "the model adds nothing over recency on this log")
        parts.append(f"What to do: do not use these scores to pick whom to contact ({why}); "
                     "pick by the days since the last purchase and the RFM segments instead.")
    elif auc < 0.6:
        parts.append("What to do: an AUC this close to 0.5 ranks customers little better "
                     "than chance; use the scores with care.")
    return " ".join(parts)


def propensity_section(result: AnalysisResult | PartReport, *,
                       title: str = "Who buys next") -> tuple[str, Subs]:
    """Section "Who buys next": metrics vs. baselines, calibration, gains, importance, churn.

    Parameters
    ----------
    result : valuemax.AnalysisResult or PartReport
        Its ``propensity`` is a :class:`valuemax.propensity.PropensityResult` or None (then
        the reason of the main job's ``result.stages["propensity"]`` is shown).

    Returns
    -------
    tuple of (str, list of (str, str))
        The section's HTML and its (anchor, title) sub-sections for the table of contents.
    """
    lead = ("Who is likely to buy again within the horizon: a model trained on earlier "
            "periods, checked on a later holdout window against simple baselines.")
    res = result.propensity
    if res is None:
        lead = ("Who is likely to buy again within the horizon would be scored here; the "
                "model did not run on this log, so there are no scores to use.")
        status = None if isinstance(result, PartReport) else result.stages["propensity"]
        body = skip_note(status, "propensity", what="Propensity did not run",
                         default="no propensity result was recorded for this run.")
        return section("propensity", title, lead, body), []
    h = res.horizon_days
    parts: list[str] = [kv([
        ("horizon", f"{h} days"),
        ("holdout cutoff", str(res.cutoff)),
        ("holdout window", f"{res.cutoff} + {h} days"),
        ("training origins", ", ".join(str(o) for o in res.origins) or "—"),
        ("training / holdout rows (customer × start date)",
         f"{res.n_train:,} / {res.n_holdout:,}"),
        ("holdout buyers", f"{res.base_rate:.1%}"),
        ("chosen model", model_name(res.chosen_model)),
    ])]
    subs: Subs = []

    parts.append(sub("prop-metrics", "Model against baselines"))
    subs.append(("prop-metrics", "Model vs. baselines"))
    value = getattr(result, "value", None)
    box, raw = caveats_block(getattr(result, "caveats", ()), "propensity")
    parts.append(box)  # the run's caveat on the scores (the list every surface shows)
    if raw:
        parts.append(diagnostics([raw], what="caveats of the buy-again scores"))
    parts.append(note(_verdict(res, getattr(value, "model_name", None))))
    parts.append(table(_metrics_frame(res), csv_name="propensity_metrics", terms=("model",),
                       extra={"model_shown": [model_name(k) for k in res.metrics["model"]]},
                       show=["model_shown", "what",
                             *[c for c in res.metrics.columns if c != "model"]],
                       labels={"model_shown": "model"}, caption=(
        "Holdout metrics: ROC AUC and PR AUC (ranking, higher is better), Brier score "
        "(probability error, lower is better; empty for scores that are not probabilities), "
        "top-decile lift (buyer rate in the top 10% / overall rate). The model is chosen by "
        "time-ordered cross-validation on the training origins, never on the holdout.")))

    parts.append(sub("prop-curves", "Calibration and cumulative gain"))
    subs.append(("prop-curves", "Calibration and gain"))
    parts.append(_curves(res))

    parts.append(sub("prop-importance", "What drives the score"))
    subs.append(("prop-importance", "Permutation importance"))
    parts.extend(_importance(res))

    parts.append(sub("prop-churn", "Churn risk"))
    subs.append(("prop-churn", "Churn risk"))
    parts.append(_churn(res, None if isinstance(result, PartReport) else result.customers))
    shown, technical = split_notes(res.notes)
    parts.append(notes_list(shown, title="How this was computed"))
    parts.append(diagnostics([notes_list(technical)], what="training details"))
    return section("propensity", title, lead, "".join(parts)), subs


def _churn(res: PropensityResult, customers: pd.DataFrame | None) -> str:
    """The churn-risk levels with their thresholds, how they sit with the RFM segments of
    lapsed customers, or why they are not given (scores not informative: the pipeline
    leaves ``churn_risk`` out)."""
    h = res.horizon_days
    counts = res.churn_counts()
    if not len(counts):
        return note("Churn-risk levels are not given: the buy-again scores rank no better "
                    "than chance or a simple baseline on this log (see the verdict above), so "
                    "Low / Medium / High "
                    "would read as a finding they are not. Read churn with the RFM segments "
                    "(At Risk, Can't Lose Them) and the days since the last purchase.",
                    warn=True)
    low, high = CHURN_THRESHOLDS["low_at_least"], CHURN_THRESHOLDS["high_below"]
    out = [table(counts, csv_name="churn_risk_counts", caption=(
        f"Customers per churn-risk level from the calibrated probability of a purchase "
        f"within {h} days as of the day after the log ends (p): Low at p >= {low:g}, "
        f"Medium at {high:g} <= p < {low:g}, High at p < {high:g}; fixed cut points, not "
        "shares of the customers. Expected next purchase "
        "= last purchase + the customer's mean gap between purchase days (one-time buyers: "
        "the median gap of repeat buyers). Extrapolated: customers inactive longer than "
        "any customer the model was trained on, whose level is an extrapolation "
        "(flagged beside the level in the customer files)."))]
    if customers is not None and {"segment", "churn_risk"} <= set(customers.columns):
        out.extend(_disagreements(customers, h))
    return "".join(out)


#: RFM segments of the best recent customers: High churn risk there reads against them.
ACTIVE_SEGMENTS = ("Champions",)


def _disagreements(customers: pd.DataFrame, h: int) -> list[str]:
    """Notes where churn risk and the RFM segments disagree, both ways: lapsed segments
    (:data:`AT_RISK_SEGMENTS`) reading Low churn risk, and the best recent customers
    (:data:`ACTIVE_SEGMENTS`) reading High churn risk, with counts per segment."""
    def counts(segs: tuple[str, ...], level: str) -> list[str]:
        sel = customers[customers["segment"].isin(segs)]
        by = sel.groupby("segment", observed=True)["churn_risk"]
        return [f"{int((g == level).sum()):,} of {len(g):,} {seg}" for seg, g in by
                if len(g) and (g == level).any()]

    out = []
    lapsed = counts(AT_RISK_SEGMENTS, "Low")
    if lapsed:
        out.append(note(
            f"Churn risk and the RFM segments read different things: {', '.join(lapsed)} "
            f"read Low churn risk. Churn risk is the model's chance of a purchase within "
            f"{h} days (it can stay high for customers who bought often, even a while ago); "
            "the RFM segment says they have not bought lately. Contact lapsed customers by "
            "their segment; use churn risk to rank within it.", warn=True))
    active = counts(ACTIVE_SEGMENTS, "High")
    if active:
        out.append(note(
            f"Churn risk and the RFM segments read different things: {', '.join(active)} "
            f"read High churn risk. The RFM segment scores recency, frequency and spend "
            f"against the other customers; churn risk is the model's chance of a purchase "
            f"within {h} days, which stays low for customers whose purchases, though recent "
            "and many, are far apart. Treat them by their segment; use churn risk to rank "
            "within it.", warn=True))
    return out


def _curves(res: PropensityResult) -> str:
    """The calibration and cumulative-gain figures side by side (or a note without data)."""
    cal = plots.calibration_lines(res.calibration, chosen=res.chosen_model, names=NAMES)
    gain = plots.gains_lines(res.gains, names=NAMES)
    blocks = []
    if cal is not None:
        blocks.append(figure(cal, "Predicted probability vs. observed share of buyers on the "
                                  "holdout (10 equal-size bins). On the diagonal, a 30% "
                                  "prediction means 3 in 10 bought."))
    if gain is not None:
        blocks.append(figure(gain, "Share of the holdout's buyers found by contacting the "
                                   "highest-scored customers first; the higher the curve above "
                                   "the diagonal, the better the ranking."))
    return grid2(*blocks) if blocks else note("No calibration or gain data recorded.")


def _importance(res: PropensityResult) -> list[str]:
    """The permutation-importance figure (features with an AUC drop) and the full table."""
    parts: list[str] = []
    imp = res.importance
    pos = imp[imp["importance_mean"] > 0].head(15)
    fig = plots.hbar([plain(f) for f in pos["feature"]],
                     {"AUC drop": pos["importance_mean"].round(4).tolist()},
                     x_title="drop in holdout ROC AUC when the feature is shuffled",
                     y_title="customer feature")
    if fig is not None:
        rest = len(imp) - len(pos)
        parts.append(figure(fig, "Permutation importance of the chosen model on the holdout: "
                                 "how much the AUC falls when one feature's values are "
                                 "shuffled (top 15). Associations the model uses, not causes."
                                 + (f" {rest} feature(s) with no AUC drop are not drawn; "
                                    "see the table." if rest else "")))
    else:
        parts.append(note("No feature lowers the holdout AUC when shuffled."))
    parts.append(table(imp, csv_name="propensity_importance", terms=("feature",),
                       caption="Every feature: mean and SD of the AUC drop over 5 shuffles."))
    return parts
