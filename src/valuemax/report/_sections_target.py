"""Report section "Whom to contact": uplift models on a holdout, and the target list.

Shown when the result carries an ``uplift`` (a :class:`valuemax.uplift.UpliftStudy`) and/or
``targets`` (a :class:`valuemax.decide.TargetResult`, with the hold-out ``assignments``
frame when drawn): whether the models rank customers by how much the campaign changes them
better than random (Qini and uplift curves with bootstrap intervals), then the expected
profit curve with the chosen point and a summary of the list a CRM loads.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from valuemax.report import _plots_target as plots
from valuemax.report._format import fmt_int, fmt_num, fmt_pct
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
from valuemax.report._part import PartReport
from valuemax.report._sections_experiment import metric_name

if TYPE_CHECKING:
    from valuemax.decide import TargetResult

Subs = list[tuple[str, str]]

#: Page names of the uplift model codes of ``valuemax uplift --model``.
MODEL_NAMES = {"t": "two-model", "dr": "doubly robust", "ct": "class transformation"}


def _model(code: Any) -> str:
    return MODEL_NAMES.get(str(code), str(code))


def _signed(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    return ("+" if float(v) > 0 else "") + fmt_num(v)


def _verdict(row: Any, confidence: float, unit: str) -> str:
    """One model's held-out Qini in words, with its bootstrap interval when there is one."""
    head = (f"{_model(row.model)}: ranking by it gains {_signed(row.qini)} {unit} per "
            "customer over random targeting (area between its Qini curve and the random "
            "line)")
    lo, hi = row.qini_ci_low, row.qini_ci_high
    if lo is None or hi is None or (isinstance(lo, float) and not math.isfinite(lo)):
        return head + "; no bootstrap interval was drawn, so whether it beats random is not " \
                      "known."
    span = f"{confidence:.0%} interval {_signed(lo)} to {_signed(hi)}"
    if lo > 0:
        return f"{head}, {span}: it ranks customers better than random."
    if hi < 0:
        return f"{head}, {span}: it ranks customers WORSE than random; do not use it."
    return (f"{head}, {span}: no evidence that it beats random targeting; do not pick "
            "customers with it.")


def _uplift_part(study: Any) -> tuple[list[str], Subs]:
    ev = study.evaluation
    binary = ev.outcome_kind == "binary"
    what = metric_name(study.outcome)
    unit = f"extra {what}" if not binary else f"extra '{what}' responses"
    parts = [sub("target-uplift", "Who responds because we act")]
    subs: Subs = [("target-uplift", "Uplift models")]
    parts.append(kv([
        ("outcome", what),
        ("models", ", ".join(_model(m) for m in study.models)),
        ("customers: training / held out", f"{fmt_int(study.n_train)} / "
                                           f"{fmt_int(study.n_holdout)}"),
        ("customer features", fmt_int(len(study.features))),
    ]))
    parts.append(note("An uplift model scores how much contacting a customer changes what "
                      "they do (not how likely they are to buy anyway). Each model was fitted "
                      "on the training customers and is judged here only on the held-out "
                      "ones, with intervals from resampling them."))
    parts.append(notes_list([_verdict(r, ev.confidence, unit) for r in ev.table.itertuples()]))
    qini = plots.uplift_lines(ev.curves, kind="qini", names=MODEL_NAMES, unit=unit)
    upl = plots.uplift_lines(ev.curves, kind="uplift", names=MODEL_NAMES, unit=unit)
    blocks = []
    if qini is not None:
        blocks.append(figure(qini, (
            "Qini curve: incremental responses gained by contacting the top share of "
            "held-out customers by score (treated responses minus the control's, scaled to "
            "the treated count), per customer of the base. The dashed line is random "
            "targeting; the higher above it, the better the ranking.")))
    if upl is not None:
        blocks.append(figure(upl, (
            "Uplift curve: the treated-minus-control difference in the top share, times the "
            "customers in it, per customer of the base. Both curves end at the campaign's "
            "average effect on everyone.")))
    if blocks:
        parts.append(grid2(*blocks))
    parts.append(table(ev.table, csv_name="uplift_models", show=[
        "model_shown", "qini", "qini_ci_low", "qini_ci_high", "auuc", "uplift_at_k",
        "uplift_at_k_by_group"], extra={"model_shown": [_model(m) for m in ev.table["model"]]},
        labels={"model_shown": "model", "qini": "Qini (gain over random)",
                "qini_ci_low": "interval from", "qini_ci_high": "interval to",
                "auuc": "area under the uplift curve, over random",
                "uplift_at_k": f"lift in the top {fmt_pct(float(ev.table['k'].iloc[0]))}",
                "uplift_at_k_by_group": "same, top share of each arm"},
        caption="Held-out figures per model, in outcome units per customer."))
    bins = ev.bins
    parts.append(table(bins, csv_name="uplift_bins", max_rows=40, show=[
        "model_shown", "bin_shown", "n_treated", "n_control", "mean_treated", "mean_control",
        "uplift", "ci_low", "ci_high", "note"], extra={
            "model_shown": [_model(m) for m in bins["model"]],
            "bin_shown": [int(b) + 1 for b in bins["bin"]]},
        labels={"model_shown": "model", "bin_shown": "score group", "n_treated": "treated",
                "n_control": "control", "mean_treated": "treated level",
                "mean_control": "control level", "uplift": "difference",
                "ci_low": "interval from", "ci_high": "interval to"}, caption=(
        "Treated-minus-control difference by score group (1 = the highest scores; ten "
        "groups of equal size) with its interval; a group with no control or no treated "
        "customer says so.")))
    if study.overlap is not None:
        parts.append(note(f"The treatment was not randomised: {study.overlap.message}",
                          warn=study.overlap.n_outside > 0))
    shown, technical = split_notes(study.notes)
    parts.append(notes_list(shown))
    parts.append(diagnostics([notes_list(
        [str(c) for c in ev.table["conclusion"]] + [str(n) for n in ev.table["uplift_at_k_note"]
                                                    if n] + technical)],
        what="model evaluation details"))
    return parts, subs


def _summary_frame(res: Any, assignments: pd.DataFrame | None) -> pd.DataFrame:
    t = res.targets
    if assignments is not None and len(assignments):
        final = assignments.set_index("customer_id")["arm"]
        arm = t["customer_id"].map(final).fillna(t["arm"])
    else:
        arm = t["arm"]
    frame = t.assign(assigned=arm.astype(str))
    out = frame.groupby(["arm", "assigned"], sort=True).agg(
        customers=("customer_id", "size"),
        expected_profit=("expected_incremental_profit", "sum"),
        mean_profit=("expected_incremental_profit", "mean"),
        best_rank=("rank", "min"), worst_rank=("rank", "max")).reset_index()
    return out


def _targets_part(result: PartReport, res: TargetResult) -> tuple[list[str], Subs]:
    assignments = result.assignments
    parts = [sub("target-list", "Whom to contact under the budget")]
    subs: Subs = [("target-list", "Target list")]
    held = 0 if assignments is None else int((assignments["arm"] == "holdout").sum())
    parts.append(kv([
        ("customers scored", fmt_int(res.n_customers)),
        ("chosen", fmt_int(len(res.targets))),
        ("held out as control", fmt_int(held) if assignments is not None else "none drawn"),
        ("never worth contacting", fmt_int(res.n_unprofitable)),
        ("expected incremental profit", fmt_num(res.value)),
        ("contact spend", fmt_num(res.spend)),
        ("budget", fmt_num(res.budget) if res.budget is not None else "none"),
        ("contact cap", fmt_int(res.max_contacts) if res.max_contacts is not None else "none"),
        ("best possible (upper bound)", fmt_num(res.bound)),
    ]))
    gap = ("This list is the best possible under the constraints." if res.exact else
           f"At most {fmt_num(res.gap)} of profit separates this list from the best possible "
           "one (a bound that lets part of a customer be contacted).")
    parts.append(note("Customers are chosen for the most expected incremental profit: the "
                      "extra margin the contact causes minus its costs; nobody with a negative "
                      f"expected profit is contacted. {gap}"))
    if held:
        parts.append(note(f"{fmt_int(held)} of the chosen customers are held out at random "
                          "(the same share in every rank decile) and must NOT be contacted: "
                          "they are the control that shows, after the campaign, whether it "
                          "worked (read back with the assignment file)."))
    fig = plots.profit_line(res.curve, chosen=res.chosen, confidence=res.confidence)
    if fig is not None:
        band = ("; the band is its interval from the scores' standard errors" if
                "ci_low" in res.curve.columns else "")
        parts.append(figure(fig, (
            "Expected incremental profit of contacting the best customers first, against how "
            "many are contacted; the star marks the chosen list. Past the peak each extra "
            "contact costs more than it brings" + band + ". These are the model's "
            "expectations: the hold-out control measures the real effect.")))
    parts.append(table(_summary_frame(res, assignments), csv_name="target_summary", labels={
        "arm": "offer", "assigned": "assigned arm", "expected_profit": "expected profit",
        "mean_profit": "expected profit per customer", "best_rank": "first rank",
        "worst_rank": "last rank"}, caption=(
        "The target list by offer and assigned arm (holdout = not contacted); the full list "
        "is in targets.csv.")))
    top = res.targets.head(10)
    parts.append(table(top, csv_name="targets_top", labels={
        "arm": "offer", "expected_incremental_profit": "expected incremental profit"}, caption=(
        "The first 10 customers of the list, best first.")))
    shown, technical = split_notes(res.notes)
    parts.append(notes_list(shown, title="How this was computed"))
    parts.append(diagnostics([notes_list([f"method: {res.method}", f"profit: {res.formula}",
                                          *technical])], what="targeting method"))
    return parts, subs


def target_section(result: PartReport, *, title: str = "Whom to contact") -> tuple[str, Subs]:
    """Section "Whom to contact": uplift curves and model checks, profit curve, target list.

    Parameters
    ----------
    result : PartReport
        Its ``uplift`` (:class:`valuemax.uplift.UpliftStudy` or None), ``targets``
        (:class:`valuemax.decide.TargetResult` or None) and ``assignments`` (the hold-out
        file of :func:`valuemax.decide.holdout_assignments`, or None).
    title : str, default "Whom to contact"

    Returns
    -------
    tuple of (str, list of (str, str))
        The section's HTML and its (anchor, title) sub-sections for the table of contents.
    """
    study = result.uplift
    res = result.targets
    lead = ("Whom to contact for the most incremental profit: customers ranked by how much "
            "the campaign changes what they do, chosen under the budget, with a random "
            "hold-out to measure the result.")
    parts: list[str] = []
    subs: Subs = []
    if study is None and res is None:
        return section("target", title, lead, note(
            "No uplift model or target list was computed in this run (valuemax uplift, "
            "valuemax target).", warn=True)), []
    if study is not None:
        p, s = _uplift_part(study)
        parts += p
        subs += s
    if res is not None:
        p, s = _targets_part(result, res)
        parts += p
        subs += s
    elif study is not None:
        parts.append(note("No target list was chosen here: pass the scores with a margin and "
                          "costs to valuemax target to pick whom to contact."))
    return section("target", title, lead, "".join(parts)), subs

