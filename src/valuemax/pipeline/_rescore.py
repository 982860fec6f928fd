"""Re-scoring with the stored models, and the drift check that says when to refit.

The fitted purchase model and Gamma-Gamma are stored as parameters (``clv_params``: one row
per parameter, ``model`` naming BG/NBD, MBG/NBD, Pareto/NBD or Gamma-Gamma). They are rebuilt
with ``from_params`` and applied to the updated ``(frequency, recency, T, monetary_value)``
of every customer: no fit, the same formulas as ``analyze``'s value step
(:func:`valuemax.clv.clv_table`).

Drift. Before the customers move, the stored purchase model predicts each known customer's
repeat purchases over the new period, ``E[X(t) | frequency, recency, T]`` with ``t`` the
days from the stored observation end to the new one (in the model's time unit); the
customers then make some number of new purchase days. Each update records both totals in
its run row, and the check sums them over every update since the models were last fitted:
one-step-ahead forecasts against what happened. A refit is advised when the gap between the
two totals is larger than both

* :data:`DRIFT_THRESHOLD` (20 %) of the prediction: a gap worth a refit, and
* the noise allowance ``DRIFT_Z x sqrt(dispersion x predicted)`` (1.96: a two-sided 95 %
  band): the spread the prediction has by chance alone. A sum of many customers' purchase
  counts is about Poisson (variance = mean) under the model; real days vary more, by
  weekday and season, which the model does not know, so the variance is the mean times
  the log's own dispersion (quasi-Poisson; McCullagh & Nelder 1989, sec. 4.5): the
  variance over mean of its daily repeat purchase days over the :data:`DISPERSION_DAYS`
  days before the stored observation end (1 when they show less spread, or cover under
  :data:`MIN_DISPERSION_DAYS` days). Small days are thus not called drift for their noise,
  while a lasting shift grows out of the allowance as the updates add up (the allowance
  grows with the square root of the prediction, the gap with the prediction),

with at least :data:`MIN_EXPECTED` purchases predicted (fewer is too little to judge).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np
import pandas as pd

from valuemax._core.schema import TIME_UNITS
from valuemax.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ModifiedBetaGeoModel,
    ParetoNBDModel,
    clv_table,
)
from valuemax.clv._prior_only import PRIOR_ONLY_COLUMN, prior_only
from valuemax.features._validation import purchase_day

#: Purchase models by the name ``clv_params.model`` stores.
PURCHASE_MODELS = {"BG/NBD": BetaGeoModel, "MBG/NBD": ModifiedBetaGeoModel,
                   "Pareto/NBD": ParetoNBDModel}
#: Cumulated relative forecast error of the stored model beyond which a refit is advised.
DRIFT_THRESHOLD = 0.20
#: Fewer predicted purchases than this (cumulated since the fit) are too few to judge drift.
MIN_EXPECTED = 20.0
#: The normal quantile of the noise allowance (two-sided 95 %).
DRIFT_Z = 1.96
#: Days before the stored observation end whose repeat purchases give the dispersion.
DISPERSION_DAYS = 56
#: Fewer days of log in that window give no dispersion (Poisson: 1).
MIN_DISPERSION_DAYS = 14


@dataclass(frozen=True)
class StoredModels:
    """The fitted models of the store, rebuilt from ``clv_params``.

    Attributes
    ----------
    name : str
        Purchase model name (``BG/NBD``, ``MBG/NBD`` or ``Pareto/NBD``).
    purchase : estimator
        Built with ``from_params`` in the store's ``time_unit``.
    spend : GammaGammaModel or None
        None when the store has no Gamma-Gamma (a log without prices, too few buyers).
    params : dict
        ``model -> {parameter: estimate}`` as stored.
    """

    name: str
    purchase: Any
    spend: Any
    params: dict[str, dict[str, float]]


def load_models(con: Any, catalog: str, time_unit: str) -> StoredModels | None:
    """Rebuild the store's models from ``clv_params`` (None when it has none)."""
    have = {r[0] for r in con.raw_sql(
        "SELECT table_name FROM information_schema.tables "
        f"WHERE table_catalog = '{catalog}' AND table_schema = 'main'").fetchall()}
    if "clv_params" not in have:
        return None
    rows = con.raw_sql(f"SELECT model, parameter, estimate FROM {catalog}.main.clv_params"
                       ).fetchall()
    params: dict[str, dict[str, float]] = {}
    for model, name, value in rows:
        params.setdefault(model, {})[name] = float(value)
    names = [m for m in params if m in PURCHASE_MODELS]
    if len(names) != 1:
        return None
    name = names[0]
    purchase = PURCHASE_MODELS[name].from_params(**params[name], time_unit=time_unit)
    spend = (GammaGammaModel.from_params(**params["Gamma-Gamma"])
             if "Gamma-Gamma" in params else None)
    return StoredModels(name, purchase, spend, params)


def rescore(models: StoredModels, customers: pd.DataFrame, p: dict[str, Any],
            money: bool) -> pd.DataFrame:
    """Score every customer with the stored models (the ``clv`` table's columns).

    Parameters
    ----------
    models : StoredModels
    customers : pandas.DataFrame
        The updated customer table (``frequency``, ``recency``, ``T`` in the store's time
        unit; ``monetary_value`` when the log has prices).
    p : dict
        Recorded options: ``clv_horizon`` (months), ``discount_rate``, ``margin``.
    money : bool
        Whether the log has prices.

    Returns
    -------
    pandas.DataFrame of shape (n_customers, 6) (3 without a spend model)
        ``customer_id``, ``p_alive``, ``expected_purchases_<h>`` and, with a spend model,
        ``expected_avg_value``, ``clv_<h>`` and ``clv_from_prior_only``
        (:func:`valuemax.clv._prior_only.prior_only`).
    """
    h = int(p.get("horizon_months", 12))
    freq, rec, age = customers["frequency"], customers["recency"], customers["T"]
    if models.spend is not None and money:
        table = clv_table(models.purchase, models.spend, freq, rec, age,
                          customers["monetary_value"], horizon_months=h,
                          discount_rate=float(p.get("discount_rate", 0.01)),
                          margin=float(p.get("margin", 1.0)))
        table[PRIOR_ONLY_COLUMN] = prior_only(freq, age, models.purchase.time_unit_)
    else:
        table = pd.DataFrame({"p_alive": np.asarray(models.purchase.p_alive(freq, rec, age))})
        t = h * (365.25 / 12) / TIME_UNITS[models.purchase.time_unit_]
        table[f"expected_purchases_{h}"] = np.asarray(
            models.purchase.expected_purchases(t, freq, rec, age))
    table.insert(0, "customer_id", customers["customer_id"].to_numpy())
    table.attrs = {}
    return table.reset_index(drop=True)


@dataclass(frozen=True)
class DriftCheck:
    """The stored purchase model's forecasts of the new periods against what happened.

    Attributes
    ----------
    model : str
        The stored purchase model.
    period_days : int
        Days from the stored observation end to the new one (this update).
    n_customers : int
        Customers known at the stored observation end (those forecast).
    predicted, actual : float
        This update's predicted and actual repeat purchase days of those customers.
    mae : float
        Mean absolute error per customer over this update's period.
    predicted_since_fit, actual_since_fit : float
        The same totals summed over every update since the models were fitted.
    relative_error : float or None
        ``(actual_since_fit - predicted_since_fit) / predicted_since_fit``; None when
        nothing was predicted.
    threshold : float
        :data:`DRIFT_THRESHOLD`.
    refit_advised : bool
        ``|actual_since_fit - predicted_since_fit|`` larger than both ``threshold x
        predicted_since_fit`` and ``allowance``, with at least :data:`MIN_EXPECTED`
        predicted.
    dispersion : float
        Variance over mean of the log's daily repeat purchase days before the stored
        observation end (>= 1; :func:`daily_dispersion`).
    allowance : float
        The noise allowance in purchases, ``DRIFT_Z x sqrt(dispersion x
        predicted_since_fit)``.
    message : str
        One sentence saying so, with the figures: the totals since the fit (on its
        observation end) and this update's own; which of the threshold and the allowance
        held, with both; and, when the allowance exceeds the prediction, that the days so
        far cannot tell drift from noise and how many would (``days_needed``).
    fit_end : datetime.date or None
        The observation end of the fit the totals run from (None: not known).
    days_needed : float or None
        Days since the fit at which the allowance falls below ``threshold x`` the
        prediction, at the predicted repeat purchases per day since the fit:
        ``(DRIFT_Z / threshold)² x dispersion / rate``; None when not known.
    """

    model: str
    period_days: int
    n_customers: int
    predicted: float
    actual: float
    mae: float
    predicted_since_fit: float
    actual_since_fit: float
    relative_error: float | None
    threshold: float
    refit_advised: bool
    message: str
    dispersion: float = 1.0
    allowance: float = 0.0
    fit_end: dt.date | None = None
    days_needed: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields (recorded in the update's run row)."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def drift_check(models: StoredModels, before: pd.DataFrame, new_days: pd.Series,
                old_end: dt.date, new_end: dt.date, since_fit: tuple[float, float],
                time_unit: str, *, refitted: bool = False,
                dispersion: float = 1.0, fit_end: dt.date | None = None,
                dispersion_days: int | None = None) -> DriftCheck:
    """Forecast of the stored model over (old_end, new_end] vs the new purchase days.

    Parameters
    ----------
    models : StoredModels
    before : pandas.DataFrame
        The customer table at ``old_end`` (``customer_id``, ``frequency``, ``recency``, ``T``).
    new_days : pandas.Series
        New purchase days after ``old_end`` per customer id (missing: 0).
    old_end, new_end : datetime.date
        Stored and updated observation ends.
    since_fit : (float, float)
        Predicted and actual totals of the earlier updates since the fit.
    time_unit : {"D", "W"}
    refitted : bool, default False
        The update refits every model (``--refit``): a drift is then reported as handled
        (``refit_advised`` still says whether the stored model had fallen behind).
    dispersion : float, default 1.0
        The log's dispersion of daily repeat purchases (:func:`daily_dispersion`); 1 is
        Poisson noise only.
    fit_end : datetime.date, optional
        The observation end of the fit ``since_fit`` runs from (the message says it); when
        not given and ``since_fit`` is empty, ``old_end``.
    dispersion_days : int, optional
        The days ``dispersion`` was measured on (:func:`daily_dispersion`'s second value):
        the message says over how many days, or, below :data:`MIN_DISPERSION_DAYS`, that
        chance's variance was assumed for lack of days.

    Returns
    -------
    DriftCheck
    """
    days = (new_end - old_end).days
    t = days / TIME_UNITS[time_unit]
    if len(before) and days > 0:
        pred = np.asarray(models.purchase.expected_purchases(
            t, before["frequency"], before["recency"], before["T"]), dtype=float)
    else:
        pred = np.zeros(len(before))
    act = new_days.reindex(before["customer_id"]).fillna(0).to_numpy(dtype=float)
    p_tot, a_tot = float(pred.sum()), float(act.sum())
    mae = float(np.abs(act - pred).mean()) if len(before) else 0.0
    p_all, a_all = since_fit[0] + p_tot, since_fit[1] + a_tot
    rel = (a_all - p_all) / p_all if p_all > 0 else None
    phi = max(1.0, float(dispersion))
    allowance = DRIFT_Z * float(np.sqrt(phi * max(p_all, 0.0)))
    judged = p_all >= MIN_EXPECTED and rel is not None
    advised = bool(judged and abs(a_all - p_all) > max(DRIFT_THRESHOLD * p_all, allowance))
    if fit_end is None and since_fit[0] == 0 and since_fit[1] == 0:
        fit_end = old_end
    span = (new_end - fit_end).days if fit_end is not None else None
    needed = (None if not span or p_all <= 0 else
              (DRIFT_Z / DRIFT_THRESHOLD) ** 2 * phi / (p_all / span))
    msg = _drift_message(models.name, (p_all, a_all, p_tot, a_tot), len(before), days, rel,
                         (phi, allowance, dispersion_days), (fit_end, span, needed),
                         judged=judged,
                         advised=advised, refitted=refitted)
    return DriftCheck(models.name, days, len(before), p_tot, a_tot, mae, p_all, a_all, rel,
                      DRIFT_THRESHOLD, advised, msg, phi, allowance, fit_end, needed)


def _days(n: float) -> str:
    return f"{n:,.0f} {'day' if round(n) == 1 else 'days'}"


def _drift_message(name: str, totals: tuple[float, float, float, float], n: int, days: int,
                   rel: float | None, noise: tuple[float, float, int | None],
                   fit: tuple[dt.date | None, int | None, float | None], *, judged: bool,
                   advised: bool, refitted: bool) -> str:
    """The drift check's sentence, with its rule and figures (:func:`drift_check`)."""
    p_all, a_all, p_tot, a_tot = totals
    phi, allowance, phi_days = noise
    fit_end, span, needed = fit
    since = (f"since the fit on {fit_end.isoformat()} ({_days(span)})"
             if fit_end is not None and span is not None else "since the fit")
    head = (f"the stored {name} predicted {p_all:,.1f} repeat purchases {since}; they made "
            f"{a_all:,.0f} (this update alone: {p_tot:,.1f} predicted, {a_tot:,.0f} made, "
            f"by {n:,} customers over {_days(days)})")
    if not judged:
        return (f"{head}: too few predicted purchases to judge drift (at least "
                f"{MIN_EXPECTED:,.0f} needed); no refit advised yet")
    rule = (f"drift is a gap beyond both the threshold ±{DRIFT_THRESHOLD:.0%} and the noise "
            f"allowance ±{allowance:,.1f} purchases = {DRIFT_Z} x √({phi:,.1f} x "
            f"{p_all:,.1f}), {phi:,.1f} being {_phi_words(phi, phi_days)}")
    verdict = _drift_verdict(abs(a_all - p_all), p_all, allowance, (span, needed),
                             advised=advised, refitted=refitted)
    return f"{head} ({rel:+.1%}; {rule}): {verdict}"


def _phi_words(phi: float, days: int | None) -> str:
    """What the dispersion ``phi`` in the drift sentence is, measured on ``days`` days
    (None: not said, :data:`DISPERSION_DAYS` assumed): chance's variance assumed when too
    few days were there to measure it (review: "over the 56 days" on a 3-day log)."""
    if days is not None and days < MIN_DISPERSION_DAYS:
        return (f"chance's variance, assumed: the log has {_days(days)} before the stored end, "
                f"fewer than the {MIN_DISPERSION_DAYS} needed to measure how much its daily "
                "repeat purchases vary")
    over = DISPERSION_DAYS if days is None else days
    if phi <= 1.0:
        return (f"chance's variance: this log's daily repeat purchases vary no more than "
                f"chance over the {_days(over)} before the stored end")
    return (f"how many times chance's variance this log's daily repeat purchases show over "
            f"the {_days(over)} before the stored end")


def _drift_verdict(gap: float, p_all: float, allowance: float,
                   fit: tuple[int | None, float | None], *, advised: bool,
                   refitted: bool) -> str:
    """Which of the threshold and the noise allowance the gap is within, with both, and
    what follows (:func:`_drift_message`)."""
    thr = DRIFT_THRESHOLD * p_all
    bounds = f"the threshold (±{thr:,.1f}) and the noise allowance (±{allowance:,.1f})"
    if advised:
        said = f"the gap of {gap:,.1f} is beyond both {bounds}: "
        return said + ("the data had drifted from the model; every model was refitted"
                       if refitted else
                       "the data have drifted from the model: refit it with the next file of "
                       "new lines (--refit or refit=True; a file already applied changes "
                       "nothing), or run analyze on the whole log now")
    if gap <= thr and gap <= allowance:
        said = f"the gap of {gap:,.1f} is within both {bounds}"
    elif gap <= thr:
        said = (f"the gap of {gap:,.1f} is within the threshold (±{thr:,.1f}), though beyond "
                f"the noise allowance (±{allowance:,.1f})")
    else:
        said = (f"the gap of {gap:,.1f} is beyond the threshold (±{thr:,.1f}) but within the "
                f"noise allowance (±{allowance:,.1f})")
    span, needed = fit
    if allowance <= p_all:
        return f"{said}: no refit needed"
    known = f"the {_days(span)} since the fit" if span else "the days since the fit"
    more = ""
    if needed is not None and span:
        more = (f": the allowance falls below {DRIFT_THRESHOLD:.0%} of the prediction after "
                f"about {_days(needed)} since the fit (at {p_all / span:,.1f} predicted "
                f"repeat purchases a day{f', {_days(needed - span)} more' if needed > span else ''}"
                "), the totals adding up over the updates")
    return (f"{said}, and the allowance is larger than the prediction itself: {known} cannot "
            f"tell drift from noise in this log, no judgement either way{more}")


def daily_dispersion(t: Any, end: dt.date, *,
                     days: int = DISPERSION_DAYS) -> tuple[float, int]:
    """The dispersion of a log's daily repeat purchase days: variance over mean.

    A repeat purchase day is a customer's purchase day after their first (as the drift
    check counts them). The counts of the ``days`` calendar days up to ``end`` (days with
    none count 0), or of those on or after the log's first day, give the ratio; it is 1
    (Poisson) when it is below 1 or fewer than :data:`MIN_DISPERSION_DAYS` days are covered.

    Parameters
    ----------
    t : ibis table
        Clean lines (``customer_id``, ``order_ts``): the store's ``transactions_clean``,
        every customer's (the update's union holds only the customers of the new lines).
    end : datetime.date
        The last day of the window (the stored observation end).
    days : int, default DISPERSION_DAYS

    Returns
    -------
    (float, int)
        The dispersion (>= 1) and the number of days it was measured on.
    """
    d = t.select(customer_id=t.customer_id, day=purchase_day(t)).distinct()
    first = d.group_by("customer_id").aggregate(first=d.day.min())
    j = d.join(first, "customer_id")
    lo = end - dt.timedelta(days=days)
    win = j.filter((j.day > j.first) & (j.day > ibis.literal(lo)) & (j.day <= ibis.literal(end)))
    counts = win.group_by("day").aggregate(n=win.count()).to_pyarrow().to_pandas()
    log_first = first.first.min().to_pyarrow().as_py()
    if log_first is None:
        return 1.0, 0
    start = max(lo + dt.timedelta(days=1), log_first)
    grid = pd.date_range(start, end, freq="D")
    per = pd.Series(counts["n"].to_numpy(dtype=float),
                    index=pd.to_datetime(counts["day"])).reindex(grid, fill_value=0.0)
    mean = float(per.mean()) if len(per) else 0.0
    if len(per) < MIN_DISPERSION_DAYS or mean <= 0:
        return 1.0, len(per)
    return max(1.0, float(per.var(ddof=1)) / mean), len(per)


__all__ = ["DISPERSION_DAYS", "DRIFT_THRESHOLD", "DRIFT_Z", "MIN_EXPECTED", "PURCHASE_MODELS",
           "DriftCheck", "StoredModels", "daily_dispersion", "drift_check", "load_models",
           "rescore"]
