"""Report section "Did it work?": an experiment's readout in plain words.

Shown when the result carries an ``experiment`` (a
:class:`valuemax.experiment.ExperimentResult`): the sample-ratio verdict first (a broken
split makes every lift suspect), then one sentence per (metric, arm) against control, the
lifts with their intervals as a figure, the arm table, what the pre-period adjustment
(CUPED) bought, and how the p-values were adjusted for testing several arms and metrics at
once. Test names and formulas go to the collapsed diagnostics.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from valuemax.report import _plots_experiment as plots
from valuemax.report._format import fmt_int, fmt_num, fmt_pct, plain
from valuemax.report._html import (
    alert,
    diagnostics,
    figure,
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
from valuemax.report._sections_stats import fmt_p

Subs = list[tuple[str, str]]

#: Plain names of the outcomes ``readout_from_log`` computes from a log.
METRIC_WORDS = {
    "converted": "bought (share of customers)",
    "orders": "orders per customer",
    "revenue": "revenue per customer, net of returns",
    "pre_orders": "orders before assignment",
    "pre_revenue": "revenue before assignment",
}

#: What each multiple-testing correction protects, in words (the method's name is in the
#: diagnostics).
GUARANTEE = {
    "holm": ("so that the chance of even one false \"it worked\" among them stays at "
             "{alpha:.0%} (a step-down adjustment of the whole family)"),
    "bh": ("so that on average at most {alpha:.0%} of the results called clear are false "
           "alarms (a false-discovery-rate adjustment)"),
    "none": "no: each p-value is read on its own, so some clear results may be chance",
}


def metric_name(metric: Any) -> str:
    """The page name of an outcome column ("converted" -> "bought (share of customers)").

    >>> metric_name("revenue"), metric_name("visit"), metric_name("spend_2w")
    ('revenue per customer, net of returns', 'visit', 'spend 2w')
    """
    text = str(metric)
    if text in METRIC_WORDS:
        return METRIC_WORDS[text]
    out = plain(text)
    return out.replace("_", " ") if out == text else out


def _finite(v: Any) -> bool:
    return v is not None and not (isinstance(v, float) and not math.isfinite(v))


def _level(v: Any, kind: str) -> str:
    return fmt_pct(v) if kind == "proportion" else fmt_num(v)


def _diff(v: Any, kind: str) -> str:
    if not _finite(v):
        return "—"
    v = float(v)
    if kind == "proportion":
        return f"{100.0 * v:+.2f} percentage points"
    return ("+" if v > 0 else "") + fmt_num(v)


def _rel(v: Any) -> str:
    return f"{100.0 * float(v):+.1f}%" if _finite(v) else "—"


def _p_words(p: Any) -> str:
    """``p < 0.001`` or ``p = 0.0123``."""
    shown = fmt_p(p)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def _interval(lo: Any, hi: Any, kind: str) -> str:
    if kind == "proportion" and _finite(lo) and _finite(hi):
        return f"{100.0 * float(lo):+.2f} to {100.0 * float(hi):+.2f} percentage points"
    return f"{_diff(lo, kind)} to {_diff(hi, kind)}"


def _sentence(row: Any, confidence: float, n_tests: int) -> str:
    """One comparison in words: levels, lift with interval, relative lift, verdict."""
    kind = row.kind
    level = "rate" if kind == "proportion" else "mean"
    text = (f"{metric_name(row.metric)}: {row.arm} {_level(row.treatment_mean, kind)} against "
            f"{row.control} {_level(row.control_mean, kind)} ({level} per customer); lift "
            f"{_diff(row.absolute_lift, kind)}, {confidence:.0%} interval "
            f"{_interval(row.absolute_ci_low, row.absolute_ci_high, kind)}")
    if _finite(row.relative_lift):
        text += (f", that is {_rel(row.relative_lift)} of the control's {level} (interval "
                 f"{_rel(row.relative_ci_low)} to {_rel(row.relative_ci_high)})")
    adjusted = ("adjusted " if n_tests > 1 else "") + _p_words(
        row.p_adjusted if n_tests > 1 else row.p_value)
    if bool(row.significant):
        verdict = ("a clear increase" if row.absolute_lift > 0 else "a clear DECREASE")
        return f"{text}. {verdict.capitalize()} ({adjusted})."
    return (f"{text}. Not clear: a difference this size could be chance ({adjusted}); do not "
            "count on it.")


def _shown_comparisons(comps: pd.DataFrame) -> dict[str, list[str]]:
    """Display-only columns of the comparison table (rates as percentages, p in words)."""
    rows = list(comps.itertuples())
    return {
        "metric_shown": [metric_name(r.metric) for r in rows],
        "control_shown": [_level(r.control_mean, r.kind) for r in rows],
        "arm_shown": [_level(r.treatment_mean, r.kind) for r in rows],
        "lift_shown": [_diff(r.absolute_lift, r.kind).replace(" percentage points", " pts")
                       for r in rows],
        "interval_shown": [_interval(r.absolute_ci_low, r.absolute_ci_high, r.kind)
                           .replace(" percentage points", " pts") for r in rows],
        "relative_shown": [_rel(r.relative_lift) for r in rows],
        "p_shown": [fmt_p(r.p_adjusted) for r in rows],
        "clear_shown": ["yes" if r.significant else "no" for r in rows],
    }


def _srm_block(res: Any) -> str:
    srm = res.srm
    split = ", ".join(f"{a} {fmt_int(n)} ({fmt_pct(s)} planned)"
                      for a, n, s in zip(srm.arms, srm.observed, srm.shares, strict=True))
    if srm.alert:
        return alert("The arm sizes do not match the planned split. ",
                     f"Customers per arm: {split}. A gap this large happens by chance with "
                     f"probability {fmt_p(srm.p_value)}: customers were lost or added "
                     "unevenly (assignment, delivery or logging). Find the cause before "
                     "trusting any lift below.")
    return note(f"The arm sizes match the planned split ({split}; a gap at least this large "
                f"happens by chance with probability {fmt_p(srm.p_value)}, and only below "
                f"{fmt_p(srm.alpha)} would the split be suspect).")


def _arm_frame(res: Any) -> pd.DataFrame:
    arms = res.arm_table.copy()
    arms.insert(1, "metric_shown", [metric_name(m) for m in arms["metric"]])
    return arms


def _cuped_block(res: Any) -> str:
    if not res.covariates:
        return note("No adjustment for earlier behaviour was made (give pre-period "
                    "covariates to narrow the intervals).")
    covs = ", ".join(metric_name(c) for c in res.covariates)
    lines = [f"{metric_name(m)}: {fmt_pct(max(0.0, v))} of the customer-to-customer "
             "variation removed" for m, v in res.variance_reduction.items()]
    return (note(f"Each customer's outcome was adjusted for their earlier behaviour ({covs}), "
                 "measured before the assignment so the campaign cannot have changed it. "
                 "The lifts keep their meaning and the intervals narrow by the share of "
                 "variation removed:")
            + notes_list(lines))


def _lifts_block(res: Any) -> list[str]:
    """What changed: one sentence per comparison, the correction's guarantee, the lift plot and the comparisons table."""
    parts: list[str] = []
    comps = res.comparisons
    n_tests = len(comps)
    alpha = 1.0 - res.confidence
    parts.append(notes_list([_sentence(r, res.confidence, n_tests)
                             for r in comps.itertuples()]))
    guarantee = GUARANTEE.get(res.correction, "").format(alpha=alpha)
    if res.correction == "none":
        parts.append(note(f"Adjusted for testing {n_tests} comparisons at once? {guarantee}.",
                          warn=n_tests > 1))
    else:
        parts.append(note(f"The p-values are adjusted for testing {n_tests} comparisons at "
                          f"once, {guarantee}; a result is called clear when its adjusted "
                          f"p-value is below {alpha:.2g}. The intervals are not adjusted."))
    labels = [f"{metric_name(r.metric)} · {r.arm}" for r in comps.itertuples()]
    fig = plots.lift_intervals(labels, comps["relative_lift"].tolist(),
                               comps["relative_ci_low"].tolist(),
                               comps["relative_ci_high"].tolist(),
                               comps["significant"].tolist(), confidence=res.confidence)
    undefined = int((~comps["relative_lift"].map(_finite)).sum())
    if fig is not None:
        parts.append(figure(fig, (
            "Each dot is an arm's lift over the control on one outcome, as a share of the "
            "control's level; the bar is its interval. A bar crossing the dashed zero line "
            "means the data cannot tell the arm from the control. Blue: clear after the "
            "adjustment for several comparisons; grey: not clear.")
            + (f" {undefined} comparison(s) with a control level of 0 have no relative lift "
               "and are not drawn; see the table." if undefined else "")))
    else:
        parts.append(note("No relative lift can be drawn (the control's level is 0 on every "
                          "outcome); the table gives the differences."))
    parts.append(table(comps, csv_name="experiment_comparisons", show=[
        "metric_shown", "arm", "control_shown", "arm_shown", "lift_shown", "interval_shown",
        "relative_shown", "p_shown", "clear_shown"], extra=_shown_comparisons(comps),
        labels={"metric_shown": "outcome", "control_shown": "control level",
                "arm_shown": "arm level", "lift_shown": "lift",
                "interval_shown": f"{res.confidence:.0%} interval",
                "relative_shown": "lift, % of control", "p_shown": "adjusted p-value",
                "clear_shown": "clear?"},
        caption="Levels are rates (share of customers; lifts in percentage points, pts) for "
                "yes/no outcomes and means per customer otherwise; the CSV has every column, "
                "the unadjusted p-values and the tests used."))

    return parts


def _arms_block(res: Any) -> list[str]:
    """Per arm and outcome: customers, level, spread and (with CUPED) the adjusted level."""
    parts: list[str] = []
    arms = _arm_frame(res)
    show = ["metric_shown", "arm", "n", "n_missing", "mean", "sd"]
    if "variance_reduction" in arms.columns:
        show += ["adjusted_mean", "variance_reduction"]
    levels = {"level_shown": [_level(v, k) for v, k in zip(arms["mean"], arms["kind"],
                                                           strict=True)]}
    show[show.index("mean")] = "level_shown"
    parts.append(table(arms, csv_name="experiment_arms", show=show, extra=levels,
                       percent=("variance_reduction",), labels={
                           "level_shown": "level",
                           "metric_shown": "outcome", "n": "customers",
                           "n_missing": "outcome missing", "mean": "level",
                           "sd": "spread (SD)", "adjusted_mean": "adjusted level",
                           "variance_reduction": "variation removed"},
                       caption="Customers per arm with the outcome, its level and spread "
                               "per customer."))
    return parts


def _quarantine_block(res: Any) -> list[str]:
    """The assignment rows left out of every arm, with their reasons (nothing when none)."""
    parts: list[str] = []
    if len(res.quarantine):
        counts = res.quarantine["reason"].value_counts()
        parts.append(note("Left out of every arm: " + ", ".join(
            f"{fmt_int(v)} rows {plain(k).replace('_', ' ')}" for k, v in counts.items())
            + " (the CSV lists them).", warn=True))
        parts.append(table(res.quarantine, csv_name="experiment_quarantine", max_rows=20,
                           caption="Assignment rows quarantined, with the reason."))
    return parts


def _method_block(res: Any) -> list[str]:
    """How it was computed: the notes, then the tests and formulas as diagnostics."""
    parts: list[str] = []
    comps = res.comparisons
    shown, technical = split_notes(res.notes)
    parts.append(notes_list(shown, title="How this was computed"))
    tests = sorted(set(comps["test"]) | set(comps["relative_method"]))
    parts.append(diagnostics([notes_list([
        f"multiple testing: {res.correction_method}",
        *[f"test: {t}" for t in tests],
        *[f"adjustment ({m}): {a}" for m, a in dict(zip(comps["metric"], comps["adjustment"],
                                                        strict=True)).items()],
        f"sample ratio: chi-square {res.srm.chi2:.4g} on {res.srm.df} df, "
        f"p = {res.srm.p_value:.4g}, alert below {res.srm.alpha}",
        *technical])], what="tests and formulas"))
    return parts


def experiment_section(result: PartReport, *, title: str = "Did it work?") -> tuple[str, Subs]:
    """Section "Did it work?": the sample-ratio check, lifts with intervals, CUPED, correction.

    Parameters
    ----------
    result : PartReport
        Its ``experiment`` is a :class:`valuemax.experiment.ExperimentResult` or None (then
        a note says no experiment was read).
    title : str, default "Did it work?"

    Returns
    -------
    tuple of (str, list of (str, str))
        The section's HTML and its (anchor, title) sub-sections for the table of contents.
    """
    res = result.experiment
    if res is None:
        lead = ("Whether a campaign changed what customers did would be read here from its "
                "randomised arms; no experiment was read in this run.")
        body = skip_note(None, "experiment", what="No experiment readout",
                         default="no assignment file was given.")
        return section("experiment", title, lead, body), []
    n_tests = len(res.comparisons)
    lead = (f"Did the campaign change what customers did? Each arm is compared with the "
            f"control arm {res.control!r}, customers assigned at random, so a clear "
            "difference is caused by the campaign (not a mere association).")
    n_arm = dict(zip(res.srm.arms, res.srm.observed, strict=True))
    parts = [kv([
        ("arms", ", ".join(f"{a} ({fmt_int(n_arm.get(a))} customers)" for a in res.arms)),
        ("control", res.control),
        ("outcomes", ", ".join(metric_name(m) for m in res.metrics)),
        ("intervals", f"{res.confidence:.0%}"),
        ("comparisons", f"{n_tests} (arm, outcome) pairs"),
        ("quarantined rows", fmt_int(len(res.quarantine))),
    ])]
    subs: Subs = []
    blocks = (("exp-split", "Was the split as planned?", "Sample ratio", lambda: [_srm_block(res)]),
              ("exp-lifts", "What changed", "Lifts with intervals", lambda: _lifts_block(res)),
              ("exp-arms", "Arms", "Arms", lambda: _arms_block(res)),
              ("exp-adjust", "Adjustment for earlier behaviour", "CUPED",
               lambda: [_cuped_block(res)]))
    for anchor, heading, toc, block in blocks:
        parts.append(sub(anchor, heading))
        subs.append((anchor, toc))
        parts.extend(block())
    parts.extend(_quarantine_block(res))
    parts.extend(_method_block(res))
    return section("experiment", title, lead, "".join(parts)), subs
