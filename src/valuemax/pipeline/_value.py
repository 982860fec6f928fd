"""The customer-value step: choose a purchase model on a holdout, then CLV per customer.

1. Split the log at a calibration date (given, or chosen: the last third of the observation
   span is the holdout) and compare BG/NBD, MBG/NBD and Pareto/NBD on it
   (:func:`valuemax.clv.compare_models`: lowest holdout MAE, BIC among near ties).
2. Track the calibration cohort's cumulative repeat purchases, actual vs expected, per week.
3. Refit the chosen model and Gamma-Gamma on the whole observation period and score every
   customer: ``p_alive``, ``expected_purchases_<h>``, ``expected_avg_value``, ``clv_<h>``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import ConvergenceError, ConvergenceWarning, InputError
from valuemax._core.schema import TIME_UNITS
from valuemax.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    clv_table,
    compare_models,
    loglik_ties,
    spend_independence,
    tracking_curve,
)
from valuemax.features import calibration_holdout, repeat_purchase_days
from valuemax.pipeline._value_result import ValueResult

#: Purchase models by name, in the order tried when the chosen one fails on the full period.
MODELS = {"BG/NBD": BetaGeoModel, "MBG/NBD": ModifiedBetaGeoModel, "Pareto/NBD": ParetoNBDModel}
MODEL_OPTIONS = {"auto": None, "bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto": "Pareto/NBD"}
#: Fewer repeat buyers than this: no purchase model is fitted (the step is skipped).
MIN_REPEAT_BUYERS = 20
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
    if isinstance(value, dt.datetime):
        day = value.date()
    elif isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise InputError(f"calibration_end={value!r} is not a date YYYY-MM-DD "
                             "(e.g. --calibration-end 2011-06-30)") from None
    if not first_day < day < obs_end:
        raise InputError(f"calibration_end {day.isoformat()} must fall after the first purchase "
                         f"({first_day.isoformat()}) and before the observation end "
                         f"({obs_end.isoformat()}): the calibration period needs customers and "
                         "the holdout needs days. Pick a date in between, or leave it out to "
                         "hold out the last third of the span.")
    return day


def check_value_options(horizon_months: Any, discount_rate: Any, margin: Any,
                        model: str) -> None:
    """Refuse invalid CLV options before any work (exit code 2 in the CLI)."""
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, int) \
            or not 1 <= horizon_months <= 600:
        raise InputError(f"clv_horizon={horizon_months!r} must be a whole number of months "
                         "in 1..600 (e.g. 12)")
    if not (isinstance(discount_rate, int | float) and 0 <= discount_rate < 1):
        raise InputError(f"discount_rate={discount_rate!r} must be a monthly rate in [0, 1) "
                         "(e.g. 0.01 for 1% a month, about 12.7% a year)")
    if not (isinstance(margin, int | float) and 0 < margin <= 1):
        raise InputError(f"margin={margin!r} must be a share of revenue in (0, 1] "
                         "(e.g. 0.3 for a 30% gross margin)")
    if model not in MODEL_OPTIONS:
        raise InputError(f"clv model={model!r} is not one of {sorted(MODEL_OPTIONS)}")


#: The value result's note (and the reason of the skipped spend) for a log without prices.
NO_MONEY_VALUE = ("Gamma-Gamma and CLV not computed: the log has no prices (no amount column, "
                  "nor quantity and unit_price), so spend cannot be valued; P(alive) and "
                  "expected purchases are given. Name the money column with --map "
                  "amount=COL (or mapping={'amount': COL}).")


def run_value(con: Any, tx: Any, customers: pd.DataFrame, **kw: Any,
              ) -> tuple[ValueResult | None, str | None]:
    """Run the value step; returns ``(result, None)`` or ``(None, skip_reason)``.

    ``tx`` is the Ibis table of clean lines, ``customers`` the customer table (pandas,
    one row per customer, BTYD summary in ``time_unit``); keywords: ``obs_end``,
    ``time_unit``, ``calibration_end``, ``calibration`` (the calibration/holdout table
    when the caller built it for ``calibration_end``), ``horizon_months``,
    ``discount_rate``, ``margin``, ``model``, ``seed``, ``money`` (False for a log without
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


def _run_value(con: Any, tx: Any, customers: pd.DataFrame, *, obs_end: dt.date,
               time_unit: str, calibration_end: Any = None,
               calibration: pd.DataFrame | None = None, horizon_months: int = 12,
               discount_rate: float = 0.01, margin: float = 1.0, model: str = "auto",
               seed: int = 0, money: bool = True) -> tuple[ValueResult | None, str | None]:
    n_repeat = int((customers["frequency"] > 0).sum())
    if n_repeat < MIN_REPEAT_BUYERS:
        return None, (f"only {n_repeat:,} repeat buyers (customers with 2+ purchase days): "
                      f"fitting a purchase model needs at least {MIN_REPEAT_BUYERS}")
    notes: list[str] = []
    first_day = pd.Timestamp(customers["first_purchase"].min()).date()
    if calibration_end is None:
        cal_end = default_calibration_end(first_day, obs_end)
        if cal_end is not None:
            notes.append(f"calibration/holdout split chosen at {cal_end.isoformat()}: the last "
                         "third of the observation span is the holdout (set it with "
                         "--calibration-end)")
    else:
        cal_end = check_calibration_end(calibration_end, first_day, obs_end)
    unit = TIME_UNITS[time_unit]
    forced = MODEL_OPTIONS[model]
    comparison = validation = tracking = cal_spend = None
    cal = None
    if cal_end is not None:
        if calibration is None:
            calibration = calibration_holdout(
                tx, calibration_end=cal_end, observation_end=obs_end, time_unit=time_unit,
                money=money,
            ).to_pyarrow().to_pandas()
        cal = _note_new(calibration, notes, f"calibration end {cal_end.isoformat()}")
        n_cal = int((cal["frequency"] > 0).sum())
        if n_cal < MIN_REPEAT_BUYERS:
            notes.append(f"no holdout comparison: only {n_cal:,} repeat buyers by the "
                         f"calibration end {cal_end.isoformat()} (at least "
                         f"{MIN_REPEAT_BUYERS} needed); the model is chosen by BIC on the "
                         "whole period")
            cal = None
    if cal is not None:
        names = tuple(MODELS) if forced is None else (forced,)
        comparison = compare_models(
            cal["frequency"], cal["recency"], cal["T"], cal["frequency_holdout"],
            cal["duration_holdout"], time_unit=time_unit, models=names, random_state=seed,
            n_starts=N_STARTS)
        chosen = comparison.chosen
        validation = comparison.validations[chosen]
        tracking = _tracking(con, tx, calibration, comparison.models[chosen], cal_end,
                             obs_end, unit, money)
        cal_spend = _fit_spend(cal, seed, notes) if money else None
        rule = comparison.rule
        limits, ties = comparison.boundary, comparison.indistinguishable
    else:
        cal_end = None
        chosen, rule, limits, ties = _by_bic(customers, time_unit, seed, forced, notes)
    fitted, chosen = _fit_full(_note_new(customers, notes, "the observation end"),
                               chosen, time_unit, seed, notes, comparison)
    limits = {**limits, chosen: tuple(fitted.boundary_)} if comparison is None else limits
    notes.extend(evidence_notes(limits, ties, chosen, fitted))
    degenerate = bool(limits) and all(limits.values())
    if degenerate:
        rule = (f"no model can be crowned: every purchase model reached a limit; {chosen} "
                f"stands in for the naive purchase rate ({rule})")
    span_days = (obs_end - first_day).days
    horizon_note = history_note(horizon_months, span_days)
    if horizon_note:
        notes.append(horizon_note)
    spend = _fit_spend(customers, seed, notes) if money else None
    if not money:
        notes.append(NO_MONEY_VALUE)
    elif spend is not None and spend.boundary_:
        notes.append(f"the Gamma-Gamma spend model reached a limit ({', '.join(spend.boundary_)})"
                     ": the log shows no spread in average spend between customers, so every "
                     "customer's expected spend is close to the same mean")
    if spend is None and money:
        notes.append("CLV not computed: no spend model (too few repeat buyers with positive "
                     f"spend, at least {MIN_REPEAT_BUYERS} needed, or see the note above); "
                     "P(alive) and expected purchases are given")
    table = _score(fitted, spend, customers, horizon_months, discount_rate, margin, notes)
    if degenerate:
        notes.append(naive_rate_note(fitted, limits, horizon_months))
    warning = p_alive_warning(fitted, table["p_alive"])
    if warning:
        notes.append(warning)
    check = (spend_independence(customers["frequency"], customers["monetary_value"])
             if money else {})
    if check.get("material"):
        notes.append(check["message"])
    return ValueResult(
        model_name=chosen, model=fitted, spend_model=spend, table=table, time_unit=time_unit,
        horizon_months=horizon_months, discount_rate=float(discount_rate),
        margin=float(margin), calibration_end=cal_end, comparison=comparison,
        validation=validation, tracking=tracking, spend_check=check,
        spend_model_calibration=cal_spend, rule=rule, notes=notes,
        p_alive_warning=warning, boundary={k: list(v) for k, v in limits.items()},
        indistinguishable=[list(g) for g in ties], degenerate=degenerate,
        history_days=span_days), None


#: A parameter whose 95% interval spans more than this factor (log SE > 2) is not identified.
_MAX_LOG_SE = 2.0
#: P(alive) whose 5th to 95th percentile spread is under this separates nobody.
_MIN_SPREAD = 0.05
#: The drop-out parameters of the purchase models (P(alive) rests on them).
_DROPOUT_PARAMS = ("a", "b", "s", "beta")


def p_alive_warning(model: Any, p_alive: pd.Series) -> str | None:
    """Why P(alive) cannot rank customers by their chance of being active, or None.

    Three symptoms, any one enough: the drop-out parameters at a limit (``boundary_``: no
    drop-out, no drop-out heterogeneity, or at the search bound), a parameter the data do
    not identify (its 95% interval spans a factor over e^(2 * 1.96 * 2) ~ 2,500), or
    P(alive) nearly the same for everyone (5th to 95th percentile within 0.05).
    """
    s = model.summary()
    wide = [n for n, lse in zip(s.param_names, s.log_std_errors, strict=True)
            if not np.isfinite(lse) or lse > _MAX_LOG_SE]
    lo, hi = np.quantile(np.asarray(p_alive, dtype=float), [0.05, 0.95])
    at_limit = [limit for limit in getattr(model, "boundary_", ()) if "drop-out" in limit
                or any(f"{name} at the search bound" == limit for name in _DROPOUT_PARAMS)]
    if not wide and not at_limit and hi - lo >= _MIN_SPREAD:
        return None
    why = []
    if at_limit:
        why.append(f"its drop-out parameters sit at a limit ({', '.join(at_limit)})")
    if wide:
        why.append(f"the data do not pin down {', '.join(wide)} (95% intervals over a "
                   "factor of 2,500)")
    if hi - lo < _MIN_SPREAD:
        why.append(f"P(alive) does not vary ({lo:.2f} for 90% of customers), so it cannot "
                   "rank customers" if f"{lo:.2f}" == f"{hi:.2f}" else
                   f"P(alive) is between {lo:.2f} and {hi:.2f} for 90% of customers")
    return ("P(alive) is not informative here: " + "; ".join(why) + ". The model sees "
            "little drop-out in this log, so it cannot tell active customers from lost ones; "
            "use the RFM segments (At Risk, Can't Lose Them) for churn, and read CLV as "
            "expected purchases x spend with little churn.")


def _by_bic(customers, time_unit, seed, forced, notes):
    """The model with the lowest BIC on the whole period, with every model's limits and the
    groups of models the data cannot tell apart."""
    if forced is not None:
        return forced, f"{forced} as asked (no holdout: the span is too short)", {}, ()
    fits = {}
    for name, cls in MODELS.items():
        try:
            fits[name] = cls(time_unit=time_unit, random_state=seed, n_starts=N_STARTS).fit(
                customers["frequency"], customers["recency"], customers["T"])
        except ConvergenceError as exc:
            notes.append(f"{name} did not converge on the observation period: {exc}")
    if not fits:
        raise ConvergenceError("no purchase model converged on the observation period; "
                               "see the notes above")
    bics = {name: m.summary().bic for name, m in fits.items()}
    best = min(bics, key=bics.get)
    ties = loglik_ties({name: m.loglik_ for name, m in fits.items()})
    limits = {name: tuple(m.boundary_) for name, m in fits.items()}
    return best, (f"lowest BIC on the observation period ({best}); the span is under "
                  f"{MIN_SPAN_FOR_HOLDOUT} days, too short for a holdout comparison"), limits, ties


def evidence_notes(limits: dict[str, tuple[str, ...]], ties: Any, chosen: str,
                   fitted: Any) -> list[str]:
    """Plain sentences: which models reached a limit, which cannot be told apart.

    ``limits`` maps each model to its ``boundary_`` (the calibration fits when there was a
    holdout, else the whole-period fits); ``fitted`` is the chosen model refitted on the
    whole period.
    """
    out = []
    for name, found in limits.items():
        if found:
            out.append(f"{name} reached a limit of its model ({', '.join(found)}): the data "
                       "show no spread there, so it behaves as the simpler limiting model and "
                       "its parameters there have no meaningful standard errors")
    full = tuple(fitted.boundary_)
    if full and full != tuple(limits.get(chosen, ())):
        out.append(f"{chosen} refitted on the whole period reached a limit ({', '.join(full)})")
    for group in ties:
        out.append(f"{' and '.join(group)} fit the data equally well (the same "
                   "log-likelihood): the data cannot tell them apart, so the choice among them "
                   "carries no information")
    return out


def history_note(horizon_months: int, span_days: int) -> str | None:
    """A sentence when the CLV horizon is longer than the observed history, else None."""
    horizon_days = horizon_months * 365.25 / 12
    if horizon_days <= span_days:
        return None
    return (f"CLV looks {horizon_months} months ahead from only {span_days:,} days of history "
            f"(the horizon is {horizon_days / max(span_days, 1):,.1f} times the observed span): "
            "the models extrapolate far beyond what the log shows, so read CLV as a rough "
            "order of magnitude, or shorten the horizon (--clv-horizon)")


def naive_rate_note(model: Any, limits: dict[str, tuple[str, ...]], horizon: int) -> str:
    """The sentence for the case where every purchase model reached a limit."""
    rate = None
    if "r" in model.params_ and "alpha" in model.params_:
        per_month = 365.25 / 12 / TIME_UNITS[model.time_unit_]
        rate = model.params_["r"] / model.params_["alpha"] * per_month
    which = "; ".join(f"{n}: {', '.join(v)}" for n, v in limits.items())
    rate_text = "" if rate is None else f" (about {rate:.2f} purchases a month while active)"
    return (f"every purchase model reached a limit ({which}), so no model is better than the "
            f"others: CLV over {horizon} months rests on the naive purchase rate{rate_text} "
            "times spend, not on individual buying patterns")


def _fit_full(customers, chosen, time_unit, seed, notes, comparison):
    order = [chosen] + [n for n in MODELS if n != chosen and (
        comparison is None or n in comparison.models)]
    for name in order:
        try:
            m = MODELS[name](time_unit=time_unit, random_state=seed, n_starts=N_STARTS).fit(
                customers["frequency"], customers["recency"], customers["T"])
            if name != chosen:
                notes.append(f"{chosen} did not converge on the whole period; {name} used")
            return m, name
        except ConvergenceError as exc:
            notes.append(f"{name} did not converge on the whole period: {exc}")
    raise ConvergenceError(f"no purchase model converged on the whole period (tried "
                           f"{', '.join(order)}); see the notes. Try --clv-model with another "
                           "model, or --no-clv.")


def _note_new(frame: pd.DataFrame, notes: list[str], when: str) -> pd.DataFrame:
    """The customers unchanged, with a note on those first seen on the last day (T = 0):
    they are valid rows (likelihood 1, nothing observed yet) scored as new customers."""
    new = frame["T"] <= 0
    if new.any():
        n = int(new.sum())
        notes.append(f"{n:,} {'customer' if n == 1 else 'customers'} first bought on {when} "
                     "(T = 0): no time observed yet, so they add nothing to the purchase-model "
                     "fit and are scored as new customers (the population's prior)")
    return frame


def _fit_spend(frame: pd.DataFrame, seed: int, notes: list[str]):
    """Gamma-Gamma on the repeat buyers with positive spend (clv_table counts the others);
    None (with a note when the fit failed) when it cannot be fitted."""
    ok = (frame["frequency"] > 0) & (frame["monetary_value"] > 0)
    if int(ok.sum()) < MIN_REPEAT_BUYERS:
        return None
    try:
        return GammaGammaModel(random_state=seed).fit(frame.loc[ok, "frequency"],
                                                      frame.loc[ok, "monetary_value"])
    except ConvergenceError as exc:
        notes.append(f"the Gamma-Gamma spend model did not converge ({exc})")
        return None


def _score(model, spend, customers, horizon, discount, margin, notes):
    # T = 0 (first purchase on the last day) is a valid row: its predictions are a new
    # customer's (the population prior)
    freq, rec, age = customers["frequency"], customers["recency"], customers["T"]
    if spend is not None:
        table = clv_table(model, spend, freq, rec, age, customers["monetary_value"],
                          horizon_months=horizon, discount_rate=discount, margin=margin)
        notes.extend(table.attrs.get("notes", []))
    else:
        table = pd.DataFrame({"p_alive": np.asarray(model.p_alive(freq, rec, age))})
        t = horizon * (365.25 / 12) / TIME_UNITS[model.time_unit_]  # months as in clv_table
        table[f"expected_purchases_{horizon}"] = np.asarray(
            model.expected_purchases(t, freq, rec, age))
    table.insert(0, "customer_id", customers["customer_id"].to_numpy())
    return table.reset_index(drop=True)


def _tracking(con, tx, calibration, model, cal_end, obs_end, unit,
              money=True) -> pd.DataFrame:
    """Weekly cumulative repeat purchases of the calibration cohort: actual vs expected."""
    daily = repeat_purchase_days(tx, cohort_end=cal_end, observation_end=obs_end,
                                 money=money)
    daily = daily.to_pyarrow().to_pandas().sort_values("day")
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
