"""The customer-value step: choose a purchase model on a holdout, then CLV per customer.

1. Split the log at a calibration date (given, or chosen: the last third of the observation
   span is the holdout) and let :func:`valuemax.clv.choose_model` choose the purchase model
   (the model policy lives there: minimum repeat buyers, holdout comparison of BG/NBD,
   MBG/NBD and Pareto/NBD or BIC without a holdout, refit on the whole period with its
   fallback).
2. Track the calibration cohort's cumulative repeat purchases, actual vs expected, per week.
3. Fit Gamma-Gamma on the whole observation period and score every customer: ``p_alive``,
   ``expected_purchases_<h>``, ``expected_avg_value``, ``clv_<h>``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import (
    ConvergenceError,
    ConvergenceWarning,
    InputError,
    StepNotApplicable,
)
from valuemax._core.schema import TIME_UNITS
from valuemax._core.validation import (
    check_date,
)
from valuemax.clv import (
    MIN_REPEAT_BUYERS,
    ONE_RATE,
    GammaGammaModel,
    choose_model,
    clv_table,
    limit_effect,
    spend_independence,
    tracking_curve,
)
from valuemax.clv._prior_only import PRIOR_ONLY_COLUMN, prior_only
from valuemax.clv._words import MAX_LOG_SE, named_parameters, unpinned_note
from valuemax.features import repeat_purchase_days
from valuemax.features._holdout import btyd_calibration
from valuemax.pipeline._options import both_names
from valuemax.pipeline._value_result import ValueResult

#: Optimiser starts of every purchase-model fit in the main job: the fixed start, then one
#: random restart (the estimators default to 3; two keep the step quick on large logs).
N_STARTS = 2
#: Observation spans shorter than this (days) get no holdout: the model is chosen by BIC.
MIN_SPAN_FOR_HOLDOUT = 90


def default_calibration_end(first_day: dt.date, obs_end: dt.date) -> dt.date | None:
    """The last two thirds of the span calibrate, the last third is the holdout.

    Returns ``None`` when the span is under ``MIN_SPAN_FOR_HOLDOUT`` days.
    """
    span = (obs_end - first_day).days
    if span < MIN_SPAN_FOR_HOLDOUT:
        return None
    return obs_end - dt.timedelta(days=round(span / 3))


def check_calibration_end(value: Any, first_day: dt.date, obs_end: dt.date) -> dt.date:
    """The calibration end as a date strictly inside (first purchase, observation end)."""
    day = check_date("calibration_end", value, example="2011-06-30")
    if day <= first_day:
        raise InputError(_too_early(day, first_day, obs_end))
    if not first_day < day < obs_end:
        raise InputError(f"calibration_end {day.isoformat()} must fall after the first purchase "
                         f"({first_day.isoformat()}) and before the observation end "
                         f"({obs_end.isoformat()}): the calibration period needs customers and "
                         "the holdout needs days. Pick a date in between, or leave it out to "
                         "hold out the last third of the span.")
    return day


def _too_early(day: dt.date, first_day: dt.date, obs_end: dt.date) -> str:
    """Why a calibration end on or before the first purchase day holds nothing to fit,
    what is needed and the dates that work."""
    held = ("only the customers who first bought that day, each with no time observed "
            "(T = 0) and no repeat purchase" if day == first_day else "no customer")
    split = default_calibration_end(first_day, obs_end)
    default = (f"leave it out to hold out the last third of the span (the split at "
               f"{split.isoformat()})" if split is not None else
               "leave it out (the span is too short for a holdout: the model is then "
               "chosen by BIC)")
    return (f"calibration_end {day.isoformat()} must fall after the first purchase "
            f"({first_day.isoformat()}) and before the observation end "
            f"({obs_end.isoformat()}): the calibration period would hold {held}, nothing a "
            f"purchase model can be fitted on. A holdout comparison needs at least "
            f"{MIN_REPEAT_BUYERS} customers who bought on two or more days by the "
            f"calibration end. Pick a later date (the earliest possible is "
            f"{(first_day + dt.timedelta(days=1)).isoformat()}), or {default}.")


def refuse_empty_calibration(value: Any, first_day: dt.date, obs_end: dt.date,
                             *, obs_end_given: bool = True) -> None:
    """Raise :func:`check_calibration_end`'s ``InputError`` when the calibration end falls
    on or before the first purchase day: the calibration period would hold no customer
    (an empty calibration/holdout table), or only those who first bought that day with no
    time observed (T = 0), which no model fits (the value step refused it after the table
    was written). ``analyze`` calls it before building that table, as
    ``calibration_holdout`` refuses an end on or after the observation end. An end on or after the observation end is refused here too when the observation end was
    not given (``obs_end_given=False``): the message then names the log's last day, not an
    option the caller never set."""
    day = check_date("calibration_end", value, example="2011-06-30")
    if day <= first_day:
        check_calibration_end(day, first_day, obs_end)
    if day >= obs_end and not obs_end_given:
        raise InputError(
            f"calibration_end {day.isoformat()} must be before the log's last day "
            f"{obs_end.isoformat()} (the observation end, as none was given): the holdout "
            f"period runs from the day after the calibration end to that day. Pick an "
            f"earlier date, or leave it out to hold out the last third of the span.")


#: The value result's note (and the reason of the skipped spend) for a log without prices.
NO_MONEY_VALUE = ("Gamma-Gamma and CLV not computed: the log has no prices (no amount column, "
                  "nor quantity and unit_price), so spend cannot be valued; P(alive) and "
                  "expected purchases are given. Name the money column with "
                  "mapping={'amount': 'COL'} (CLI --map amount=COL).")


def run_value(con: Any, tx: Any, customers: pd.DataFrame, **kw: Any,
              ) -> tuple[ValueResult | None, str | None]:
    """Run the value step; returns ``(result, None)`` or ``(None, skip_reason)``.

    ``tx`` is clean's :class:`~valuemax.clean.CleanResult` (its lines are not scanned
    again, its observation end is ``obs_end`` when that is not given) or the Ibis table of
    clean lines, ``customers`` the customer table (pandas, one row per customer, BTYD
    summary in ``time_unit``); keywords: ``obs_end`` (required with a table),
    ``time_unit``, ``calibration_end``, ``calibration`` (the calibration/holdout table
    when the caller built it for ``calibration_end``), ``horizon_months``,
    ``discount_rate``, ``margin``, ``model``, ``random_state``, ``money`` (False for a log without
    prices: purchase models only, Gamma-Gamma and CLV skipped with :data:`NO_MONEY_VALUE`
    in the notes). Convergence warnings become notes
    of the result (the report and summary show them), not console noise.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        value, reason = _run_value(con, tx, customers, **kw)
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        elif value is not None and str(w.message) not in value.notes:
            value.notes.append(str(w.message))
    return value, reason


def _calibration_end(calibration_end: Any, first_day: dt.date, obs_end: dt.date,
                     notes: list[str]) -> dt.date | None:
    """The calibration end given (checked), else the default split (said in ``notes``)."""
    if calibration_end is not None:
        return check_calibration_end(calibration_end, first_day, obs_end)
    cal_end = default_calibration_end(first_day, obs_end)
    if cal_end is not None:
        notes.append(f"calibration/holdout split chosen at {cal_end.isoformat()}: the last "
                     "third of the observation span is the holdout; set it with "
                     f"{both_names('calibration_end=')}")
    return cal_end


def _spend_model(customers: pd.DataFrame, money: bool, random_state: int,
                 notes: list[str]) -> Any:
    """Gamma-Gamma on the whole period, or None (no prices, too few repeat buyers), with
    what it means for CLV in ``notes``."""
    spend = _fit_spend(customers, random_state, notes) if money else None
    if not money:
        notes.append(NO_MONEY_VALUE)
    elif spend is not None and spend.boundary_:
        notes.append(f"the Gamma-Gamma spend model reached a limit ({', '.join(spend.boundary_)})"
                     ": the log shows no spread in average spend between customers, so every "
                     "customer's expected spend is close to the same mean")
    if spend is None and money:
        notes.append(no_spend_model_reason(customers))
    return spend


def no_spend_model_reason(customers: pd.DataFrame) -> str:
    """Why Gamma-Gamma (so CLV in money) was not fitted on a log with prices: the value
    step's note and the reason of the skipped ``spend`` step (:func:`run_value`)."""
    repeat = customers["frequency"] > 0
    positive = int((repeat & (customers["monetary_value"] > 0)).sum())
    if positive >= MIN_REPEAT_BUYERS:
        return ("CLV not computed: the Gamma-Gamma spend model did not converge (see the "
                "note above); P(alive) and expected purchases are given")
    free = (" (every repeat buyer's purchases are free: the log's prices are zero)"
            if int(repeat.sum()) and not positive else "")
    return (f"CLV not computed: no spend model: {positive:,} repeat "
            f"{'buyer' if positive == 1 else 'buyers'} with a positive average spend"
            f"{free}, at least {MIN_REPEAT_BUYERS} needed; P(alive) and expected purchases "
            "are given")


def _run_value(con: Any, tx: Any, customers: pd.DataFrame, *, time_unit: str,
               obs_end: dt.date | None = None, calibration_end: Any = None,
               calibration: pd.DataFrame | None = None, horizon_months: int = 12,
               discount_rate: float = 0.01, margin: float = 1.0, model: str = "auto",
               random_state: int = 0, money: bool = True,
               ) -> tuple[ValueResult | None, str | None]:
    if obs_end is None:  # a CleanResult: its observation end
        obs_end = tx.observation_end
    notes: list[str] = []
    first_day = pd.Timestamp(customers["first_purchase"].min()).date()
    cal_end = _calibration_end(calibration_end, first_day, obs_end, notes)
    unit = TIME_UNITS[time_unit]

    tracking_days = None  # the tracking data, when built beside the calibration table

    def calibration_table() -> pd.DataFrame | None:
        # built only once choose_model found enough repeat buyers on the whole period: the
        # columns the models read, with the tracking data, from one table of purchase days
        nonlocal calibration, tracking_days
        if cal_end is not None and calibration is None:
            calibration, tracking_days = _calibration_frames(con, tx, cal_end, obs_end,
                                                             time_unit, money)
        return calibration if cal_end is not None else None

    try:
        choice = choose_model(
            customers["frequency"], customers["recency"], customers["T"],
            calibration=calibration_table, calibration_end=cal_end,
            no_holdout=(f"the span is under {MIN_SPAN_FOR_HOLDOUT} days, too short for a "
                        "holdout comparison"),
            time_unit=time_unit, model=model, random_state=random_state, n_starts=N_STARTS)
    except StepNotApplicable as exc:
        return None, str(exc)
    notes.extend(choice.notes)
    comparison = choice.comparison
    validation = tracking = cal_spend = None
    unused: str | None = None
    if comparison is not None:
        cal = calibration_table()
        validation = comparison.validations[comparison.chosen]
        tracking = _tracking(con, tx, cal, comparison.models[comparison.chosen], cal_end,
                             obs_end, unit, money, tracking_days)
        cal_spend = _fit_spend(cal, random_state, notes) if money else None
        short = short_holdout_note(validation, cal_end, obs_end, choice.name)
        if short:
            notes.append(short)
    else:
        if calibration_end is not None and calibration is not None:
            unused = calibration_unused(cal_end, int((calibration["frequency"] > 0).sum()),
                                        first_day, obs_end)
            # in place of choose_model's shorter note on the same fact
            notes[:] = [n for n in notes if not n.startswith("no holdout comparison: only")]
            notes.insert(0, unused)
        cal_end = None
    chosen, fitted, rule, limits = choice.name, choice.model, choice.rule, choice.limits
    span_days = (obs_end - first_day).days
    horizon_note = history_note(horizon_months, span_days)
    if horizon_note:
        notes.append(horizon_note)
    spend = _spend_model(customers, money, random_state, notes)
    if spend is None and horizon_note:  # no CLV: only why (the spend model's note)
        notes.remove(horizon_note)
    table = _score(fitted, spend, customers, horizon_months, discount_rate, margin, notes)
    warning, check = _model_notes(choice, table, spend, customers, horizon_months, money,
                                  notes)
    return ValueResult(
        model_name=chosen, model=fitted, spend_model=spend, table=table, time_unit=time_unit,
        horizon_months=horizon_months, discount_rate=float(discount_rate),
        margin=float(margin), calibration_end=cal_end, comparison=comparison,
        validation=validation, tracking=tracking, spend_check=check,
        spend_model_calibration=cal_spend, rule=rule, notes=notes,
        p_alive_warning=warning, boundary={k: list(v) for k, v in limits.items()},
        indistinguishable=[list(g) for g in choice.indistinguishable],
        degenerate=choice.degenerate, history_days=span_days,
        calibration_unused=unused), None


def _model_notes(choice: Any, table: pd.DataFrame, spend: Any, customers: pd.DataFrame,
                 horizon_months: int, money: bool, notes: list[str]
                 ) -> tuple[str | None, dict[str, Any]]:
    """The notes on the chosen, scored purchase model, appended to ``notes``: its limit
    when every model reached one, P(alive)'s warning (or the drop-out ratio its level rests
    on), and the spend-independence check; returns ``(p_alive warning, spend check)``."""
    fitted, chosen, clv = choice.model, choice.name, spend is not None
    if choice.degenerate:
        notes.append(naive_rate_note(fitted, choice.limits, horizon_months, clv=clv,
                                     name=chosen))
    warning = p_alive_warning(fitted, table["p_alive"], clv=clv)
    if warning:
        notes.append(warning)
    else:
        ratio_note = dropout_ratio_note(fitted, chosen)
        if ratio_note:
            notes.append(ratio_note)
    check = (spend_independence(customers["frequency"], customers["monetary_value"])
             if money else {})
    if check.get("material"):
        notes.append(check["message"])
    return warning, check


def calibration_unused(day: dt.date, n_repeat: int, first_day: dt.date,
                       obs_end: dt.date) -> str:
    """Why the calibration end the caller gave was not used to choose the purchase model
    (too few repeat buyers by then for a holdout comparison), and how to fix it: the value
    step's first note, the terminal's caveat and ``summary.json``'s ``calibration``."""
    split = default_calibration_end(first_day, obs_end)
    default = (f", or leave it out to hold out the last third of the span (the split at "
               f"{split.isoformat()})" if split is not None and split > day else "")
    return (f"the calibration end {day.isoformat()} given ({both_names('calibration_end=')}) "
            f"was not used: only {n_repeat:,} "
            f"{'customer' if n_repeat == 1 else 'customers'} bought on two or more days by "
            f"then, at least {MIN_REPEAT_BUYERS} are needed to compare the purchase models on "
            f"the holdout; the model was chosen by BIC on the whole period instead (the "
            f"calibration/holdout table is still written). Pick a later date, by which at "
            f"least {MIN_REPEAT_BUYERS} customers have bought on two or more days{default}.")


#: A parameter whose 95% interval spans more than this factor (log SE > 2) is not identified.
_MAX_LOG_SE = MAX_LOG_SE
#: P(alive) whose 5th to 95th percentile spread is under this separates nobody.
_MIN_SPREAD = 0.05
#: The drop-out parameters of the purchase models (P(alive) rests on them).
_DROPOUT_PARAMS = ("a", "b", "s", "beta")


#: P(alive) at or above this for 95% of customers: the model sees little drop-out.
_LITTLE_DROPOUT = 0.9
#: The limits at which every customer has the same drop-out rate (BG/NBD and MBG/NBD:
#: ``a + b`` large; Pareto/NBD: ``s`` large). P(alive) still ranks customers there.
_EQUAL_DROPOUT = ("no drop-out heterogeneity", "no drop-out-rate heterogeneity")
#: The drop-out pairs whose ratio is what the data pin down near those limits (a ridge:
#: ``s`` and ``beta`` grow together, ``s / beta`` fixed; ``a`` and ``b`` likewise).
_DROPOUT_PAIRS = (("s", "beta"), ("a", "b"))


def _ridge_pair(model: Any, summary: Any) -> tuple[str, str] | None:
    """The drop-out pair that is not identified on its own but whose ratio is: at an
    equal-drop-out limit (``boundary_``), or both wide (log SE > :data:`_MAX_LOG_SE`) while
    the log of their ratio has a log SE within it (``log_cov_``); else None."""
    names = list(summary.param_names)
    lse = dict(zip(names, summary.log_std_errors, strict=True))
    cov = getattr(model, "log_cov_", None)
    for pair in _DROPOUT_PAIRS:
        if not set(pair) <= set(names):
            continue
        if any(limit in getattr(model, "boundary_", ()) for limit in _EQUAL_DROPOUT):
            return pair
        wide = all(not np.isfinite(lse[n]) or lse[n] > _MAX_LOG_SE for n in pair)
        if not wide or cov is None:
            continue
        i, j = names.index(pair[0]), names.index(pair[1])
        var = float(cov[i, i] + cov[j, j] - 2 * cov[i, j])
        if np.isfinite(var) and var >= 0 and np.sqrt(var) <= _MAX_LOG_SE:
            return pair
    return None


def dropout_ratio_note(model: Any, name: str) -> str | None:
    """A sentence when the chosen purchase model (``name``) sees one drop-out rate for
    everyone (:func:`_ridge_pair`): P(alive) still ranks customers by their frequency and
    recency, its level rests on the ratio of the drop-out pair only; else None."""
    try:
        s = model.summary()
    except Exception:  # from_params: no standard errors, nothing to say
        return None
    pair = _ridge_pair(model, s)
    if pair is None:
        return None
    p = model.params_
    if pair == ("s", "beta"):
        ratio = (f"their ratio s/beta = {p['s'] / p['beta']:.3g} per "
                 f"{_UNIT_WORD.get(model.time_unit_, model.time_unit_)}, the drop-out rate "
                 "every customer shares")
    else:
        ratio = (f"the drop-out chance after each purchase, a/(a+b) = "
                 f"{p['a'] / (p['a'] + p['b']):.3g}, which every customer shares")
    return (f"{name} sees about the same drop-out rate for every customer: the log does "
            f"not pin down {pair[0]} and {pair[1]} one by one, "
            f"only {ratio}. P(alive) still ranks customers by their frequency and recency; "
            "its level rests on that one ratio.")


_UNIT_WORD = {"D": "day", "W": "week"}


def p_alive_warning(model: Any, p_alive: pd.Series, clv: bool = True) -> str | None:
    """Why P(alive) cannot rank customers by their chance of being active, or None
    (``clv``: CLV was computed, and the advice says how to read it).

    Three symptoms, any one enough: the drop-out parameters at a limit (``boundary_``: no
    drop-out or at the search bound), a parameter the data do not identify (its 95%
    interval spans a factor over e^(2 * 1.96 * 2) ~ 2,500), or P(alive) nearly the same for
    everyone (5th to 95th percentile within 0.05). The limit of one drop-out rate for
    everyone (no drop-out heterogeneity) is not one: there only the ratio of the drop-out
    pair is pinned down, and P(alive) still ranks customers by frequency and recency
    (:func:`dropout_ratio_note` says so); the pair's wide intervals are then not one either.
    """
    s = model.summary()
    ridge = _ridge_pair(model, s) or ()
    wide = [n for n, lse in zip(s.param_names, s.log_std_errors, strict=True)
            if (not np.isfinite(lse) or lse > _MAX_LOG_SE) and n not in ridge]
    lo, hi = np.quantile(np.asarray(p_alive, dtype=float), [0.05, 0.95])
    at_limit = [limit for limit in getattr(model, "boundary_", ())
                if limit not in _EQUAL_DROPOUT and ("drop-out" in limit or any(
                    f"{name} at the search bound" == limit for name in _DROPOUT_PARAMS))]
    if not wide and not at_limit and hi - lo >= _MIN_SPREAD:
        return None
    why = []
    no_dropout = "no drop-out" in at_limit
    if no_dropout:
        why.append("the chosen purchase model sits at its no-drop-out limit, the model in "
                   "which no customer ever leaves, so P(alive) is close to 1 by the "
                   "model's construction, not by evidence")
        at_limit = [limit for limit in at_limit if limit != "no drop-out"]
    if at_limit:
        why.append(f"its drop-out parameters sit at a limit ({', '.join(at_limit)})")
    if wide:
        why.append(f"the data do not pin down {named_parameters(wide)} "
                   f"({_widest(s, wide)})")
    if hi - lo < _MIN_SPREAD:
        shown = np.round(np.asarray(p_alive, dtype=float), 2)
        share = float(np.mean(shown == round(float(lo), 2)))
        why.append(f"P(alive) does not vary (it reads {lo:.2f} for {share:.1%} of customers), "
                   "so it cannot rank customers" if f"{lo:.2f}" == f"{hi:.2f}" else
                   f"P(alive) is between {lo:.2f} and {hi:.2f} for 90% of customers")
    if not no_dropout and lo < _LITTLE_DROPOUT:
        # the model may see much drop-out (P(alive) low for many), just not who dropped out
        return (P_ALIVE_HEAD + "; ".join(why) + ". It cannot tell "
                "active customers from lost ones; use the RFM segments (At Risk, Can't Lose "
                "Them) and the days since the last purchase for churn.")
    return (P_ALIVE_HEAD + "; ".join(why) + ". The model sees "
            "little drop-out in this log, so it cannot tell active customers from lost ones; "
            "use the RFM segments (At Risk, Can't Lose Them) for churn"
            + (", and read CLV as expected purchases x spend with little churn." if clv else
               ", and read the expected purchases as made with little churn."))


#: How the P(alive) warning starts (what was found, not a verdict on the figures' worth).
P_ALIVE_HEAD = "P(alive) cannot rank customers in this log: "


def _widest(summary: Any, wide: list[str]) -> str:
    """The widest 95% interval among the ``wide`` parameters, as a factor from its lower to
    its upper end (e^(2 x 1.96 x log SE)), in words: "no finite standard error" when one has
    none."""
    lse = dict(zip(summary.param_names, summary.log_std_errors, strict=True))
    if not all(np.isfinite(float(lse[n])) for n in wide):
        return "no finite standard error"
    worst = max(float(lse[n]) for n in wide)
    decades = 2 * 1.96 * worst / np.log(10)  # log10 of the factor: exp() overflows past 709
    if decades >= 12:
        text = f"about 10^{decades:.0f}"
    elif decades >= 6:
        text = f"{10 ** decades / 1e6:,.1f} million"
    else:
        text = f"{10 ** decades:,.0f}"
    return f"95% intervals spanning a factor of up to {text}"


#: A holdout shorter than this (days) is called short: the model choice rests on it.
SHORT_HOLDOUT_DAYS = 7
#: ... as is one whose customers made fewer repeat purchases than this each, on average
#: (CDNOW's default holdout of 182 days: 0.52; Online Retail's of 124 days: 1.71).
MIN_HOLDOUT_PURCHASES = 0.1


def short_holdout_note(validation: Any, cal_end: dt.date, obs_end: dt.date,
                       name: str) -> str | None:
    """A sentence when the holdout that chose the purchase model (``name``) is short: under
    :data:`SHORT_HOLDOUT_DAYS` days, or under :data:`MIN_HOLDOUT_PURCHASES` actual repeat
    purchases per calibration customer; else None. It gives the holdout's length and
    purchases: the model choice rests on them."""
    days = (obs_end - cal_end).days
    n = max(len(validation.customers), 1)
    per = float(validation.actual_total) / n
    if days >= SHORT_HOLDOUT_DAYS and per >= MIN_HOLDOUT_PURCHASES:
        return None
    first = cal_end + dt.timedelta(days=1)
    when = first.isoformat() if days == 1 else f"{first.isoformat()} to {obs_end.isoformat()}"
    total = float(validation.actual_total)
    return (f"the purchase model ({name}) was chosen on a holdout of only "
            f"{days:,} {'day' if days == 1 else 'days'} ({when}), with {total:,.0f} repeat "
            f"{'purchase' if total == 1 else 'purchases'} among {n:,} customers ({per:.2f} "
            "each): the choice rests on that short holdout and may not hold over the CLV "
            f"horizon; hold out more days with {both_names('calibration_end=')}")


def horizon_days(horizon_months: int) -> int:
    """The CLV horizon in whole days (``horizon_months`` x 365.25 / 12, rounded): a
    12-month horizon is 365 days, not longer than a year of history."""
    return round(horizon_months * 365.25 / 12)


#: How many times the observed span the CLV horizon must be before CLV is called a rough
#: order of magnitude. BTYD forecasts as long as their calibration period are the field's
#: validated practice (Fader, Hardie & Lee 2005, CDNOW: a 39-week holdout after 39 weeks),
#: so a horizon a few days past a year of history is not flagged (review: "362 days" of
#: history got the warning a 365-day log did not); from half as long again it is.
HORIZON_SPAN_RATIO = 1.5


def horizon_ratio(horizon_months: int, span_days: int) -> float | None:
    """The CLV horizon over the observed span, or None when the horizon is less than
    :data:`HORIZON_SPAN_RATIO` times the span: compared in whole days
    (:func:`horizon_days`).

    >>> horizon_ratio(12, 365) is None, horizon_ratio(12, 300) is None
    (True, True)
    >>> round(horizon_ratio(12, 240), 3)
    1.521
    """
    days = horizon_days(horizon_months)
    ratio = days / max(span_days, 1)
    return ratio if ratio >= HORIZON_SPAN_RATIO else None


def horizon_words(horizon_months: int, ratio: float) -> str:
    """``"is 1.5x"``: the horizon as a multiple of the observed span."""
    return f"is {ratio:,.1f}x"


def history_note(horizon_months: int, span_days: int) -> str | None:
    """A sentence when the CLV horizon is longer than the observed history
    (:func:`horizon_ratio`), else None."""
    ratio = horizon_ratio(horizon_months, span_days)
    if ratio is None:
        return None
    said = horizon_words(horizon_months, ratio).replace("x", " times")
    return (f"CLV looks {horizon_months} months ahead from only {span_days:,} days of history "
            f"(the horizon {said} the observed span): "
            "the models extrapolate far beyond what the log shows, so read CLV as a rough "
            f"order of magnitude, or shorten the horizon with {both_names('horizon_months=')}")


def naive_rate_note(model: Any, limits: dict[str, tuple[str, ...]], horizon_months: int,
                    clv: bool = True, name: str | None = None) -> str:
    """The sentence for the case where every purchase model reached a limit, true for the
    limit the chosen ``model`` (named ``name``) reached on the whole period
    (:func:`valuemax.clv.limit_effect`): only at :data:`valuemax.clv.ONE_RATE` do the
    predictions rest on one purchase rate for everyone (``clv``: CLV was computed; else it
    speaks of the expected purchases)."""
    which = "; ".join(f"{n}: {', '.join(v)}" for n, v in limits.items())
    head = f"every purchase model reached a limit ({which})"
    boundary = tuple(getattr(model, "boundary_", ()))
    name = name or type(model).__name__
    if ONE_RATE not in boundary:
        effect = limit_effect(boundary)
        if effect is None:
            return f"{head} on the calibration period; {name} refitted on the whole period " \
                   + none_reached(model)
        return f"{head}. {name} at its limit: {effect}"
    rate = None
    if "r" in model.params_ and "alpha" in model.params_:
        per_month = 365.25 / 12 / TIME_UNITS[model.time_unit_]
        rate = model.params_["r"] / model.params_["alpha"] * per_month
    rate_text = "" if rate is None else f" (about {rate:.2f} purchases a month while active)"
    return (f"{head}, and {name} is at its limit of {ONE_RATE}, so no model is better than "
            f"the others on buying patterns: "
            + (f"CLV over {horizon_months} months rests on the population's average purchase "
               f"rate{rate_text} times spend" if clv else
               f"the expected purchases over {horizon_months} months rest on the population's "
               f"average purchase rate{rate_text}")
            + ", not on individual buying patterns")


def none_reached(model: Any) -> str:
    """What the whole-period refit reached when it is at no limit: "reached none", unless
    some parameter is not pinned down (:func:`unpinned_note`), which is then said plainly."""
    loose = unpinned_note(model)
    return "reached none" if loose is None else f"is at no limit, but {loose}"


def _fit_spend(frame: pd.DataFrame, random_state: int, notes: list[str]):
    """Gamma-Gamma on the repeat buyers with positive spend (clv_table counts the others);
    None (with a note when the fit failed) when it cannot be fitted."""
    ok = (frame["frequency"] > 0) & (frame["monetary_value"] > 0)
    if int(ok.sum()) < MIN_REPEAT_BUYERS:
        return None
    try:
        return GammaGammaModel(random_state=random_state).fit(frame.loc[ok, "frequency"],
                                                      frame.loc[ok, "monetary_value"])
    except ConvergenceError as exc:
        notes.append(f"the Gamma-Gamma spend model did not converge ({exc})")
        return None


def _score(model, spend, customers, horizon_months, discount_rate, margin, notes):
    # T = 0 (first purchase on the last day) is a valid row: its predictions are a new
    # customer's (the population prior)
    freq, rec, age = customers["frequency"], customers["recency"], customers["T"]
    if spend is not None:
        table = clv_table(model, spend, freq, rec, age, customers["monetary_value"],
                          horizon_months=horizon_months, discount_rate=discount_rate,
                          margin=margin)
        notes.extend(table.attrs.get("notes", []))
        table[PRIOR_ONLY_COLUMN] = prior_only(freq, age, model.time_unit_)
    else:
        table = pd.DataFrame({"p_alive": np.asarray(model.p_alive(freq, rec, age))})
        t = horizon_months * (365.25 / 12) / TIME_UNITS[model.time_unit_]  # months as in clv_table
        table[f"expected_purchases_{horizon_months}"] = np.asarray(
            model.expected_purchases(t, freq, rec, age))
    table.insert(0, "customer_id", customers["customer_id"].to_numpy())
    return table.reset_index(drop=True)


#: The value step's working table of purchase days (:func:`_calibration_frames`); its
#: prefix is one the store prunes should a killed run leave it.
_DAYS_TABLE = "__valuemax_value_purchase_days"


def _calibration_frames(con: Any, tx: Any, cal_end: dt.date, obs_end: dt.date,
                        time_unit: str, money: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The calibration table and the tracking data (the cohort's repeat purchases per
    day) of :func:`~valuemax.features._holdout.btyd_calibration`, as pandas frames.

    The clean lines are reduced to purchase days once, into a working table of the store
    ``con`` that both queries read and that is dropped right after (at 10M lines each query
    reduced them again: about a third of the value step's DuckDB time). Same values: the
    stored days are those the queries computed (exact sums, ``money_sum``). A table of the
    store file, not a temporary one: a temporary table's memory (~400 MB at 1M customers)
    stayed in the process after the drop and raised the later steps' peaks.
    """
    def keep(days: Any) -> Any:
        return con.create_table(_DAYS_TABLE, days, overwrite=True)

    try:
        table, daily = btyd_calibration(tx, calibration_end=cal_end, observation_end=obs_end,
                                        time_unit=time_unit, money=money, keep=keep)
        return table.to_pyarrow().to_pandas(), daily.to_pyarrow().to_pandas()
    finally:
        con.drop_table(_DAYS_TABLE, force=True)


def _tracking(con, tx, calibration, model, cal_end, obs_end, unit,
              money=True, daily=None) -> pd.DataFrame:
    """Weekly cumulative repeat purchases of the calibration cohort: actual vs expected
    (``daily``: the cohort's repeat purchases per day, a frame or a table, when already
    built)."""
    if daily is None:
        daily = repeat_purchase_days(tx, cohort_end=cal_end, observation_end=obs_end,
                                     money=money)
    if not isinstance(daily, pd.DataFrame):
        daily = daily.to_pyarrow().to_pandas()
    daily = daily.sort_values("day")
    start = pd.Timestamp(calibration["first_purchase"].min())
    weeks = int(np.ceil(((pd.Timestamp(obs_end) - start).days + 1) / 7))
    ends = start + pd.to_timedelta(np.arange(1, weeks + 1) * 7 - 1, unit="D")
    ends = ends.where(ends <= pd.Timestamp(obs_end), pd.Timestamp(obs_end))
    cum = np.concatenate([[0], daily["n_repeat"].to_numpy().cumsum()])
    upto = np.searchsorted(pd.to_datetime(daily["day"]).to_numpy(), ends.to_numpy(),
                           side="right")
    birth = ((pd.to_datetime(calibration["first_purchase"]) - start).dt.days / unit).to_numpy()
    # the BTYD clock: T = (last day - first purchase day), so day d is at (d - start) / unit
    clock = (ends - start).days.to_numpy() / unit
    expected = tracking_curve(model, birth, clock)
    return pd.DataFrame({"week": np.arange(1, weeks + 1), "week_end": ends.date,
                         "actual": cum[upto].astype(float), "expected": expected,
                         "holdout": ends > pd.Timestamp(cal_end)})
