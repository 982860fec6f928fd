"""Holdout validation of a repeat-purchase model and the cohort tracking curve.

Follows the checks of Fader, Hardie & Lee (2005, Marketing Science): the conditional
expectation of holdout purchases by calibration frequency (their Figure 5) and the expected
cumulative repeat transactions of the cohort over time (their Figure 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.clv._validation import check_arrays, check_paired, check_rfm, is_count, labels


@dataclass(frozen=True, eq=False)
class HoldoutValidation:
    """Predicted against actual holdout purchases, with a naive baseline.

    Attributes
    ----------
    customers : pandas.DataFrame of shape (n_customers, 4)
        ``frequency_cal``, ``actual`` (holdout purchases), ``predicted`` (the model's
        conditional expectation), ``naive`` (calibration rate times holdout duration); the
        index of the Series passed, else a RangeIndex.
    by_frequency : pandas.DataFrame
        One row per calibration-frequency bin ``"0"``, ``"1"``, ..., ``"{max_frequency}+"``
        (column ``frequency_cal``, strings; empty bins are left out), with ``n_customers``,
        ``actual_mean``, ``predicted_mean``, ``naive_mean``: the data of the conditional
        expectation plot.
    mae, rmse : float
        Mean absolute / root mean squared error of ``predicted`` per customer (purchases).
    naive_mae, naive_rmse : float
        The same for ``naive``.
    actual_total, predicted_total, naive_total : float
        Sums over customers (purchases).
    max_frequency : int
        The frequency of the last, open bin.
    """

    customers: pd.DataFrame
    by_frequency: pd.DataFrame
    mae: float
    rmse: float
    naive_mae: float
    naive_rmse: float
    actual_total: float
    predicted_total: float
    naive_total: float
    max_frequency: int = 7

    def to_dict(self) -> dict[str, Any]:
        """Scores, totals and the by-frequency table as JSON-able Python values.

        Returns
        -------
        dict
            The float attributes, ``n_customers`` and ``by_frequency`` (list of row dicts);
            not the per-customer table.
        """
        out: dict[str, Any] = {k: float(getattr(self, k)) for k in (
            "mae", "rmse", "naive_mae", "naive_rmse", "actual_total", "predicted_total",
            "naive_total")}
        out["n_customers"] = len(self.customers)
        out["max_frequency"] = int(self.max_frequency)
        out["by_frequency"] = [
            {"frequency_cal": str(row.frequency_cal), "n_customers": int(row.n_customers),
             "actual_mean": float(row.actual_mean), "predicted_mean": float(row.predicted_mean),
             "naive_mean": float(row.naive_mean)}
            for row in self.by_frequency.itertuples(index=False)]
        return out


def holdout_validation(model: Any, frequency_cal: Any, recency_cal: Any, T_cal: Any,
                       frequency_holdout: Any, duration_holdout: Any, *,
                       max_frequency: int = 7) -> HoldoutValidation:
    """Compare a model's expected holdout purchases with the actual ones, per customer.

    ``predicted_i = model.expected_purchases(duration_i, x_i, t_x_i, T_i)`` (the conditional
    expectation, e.g. eq. 10 of [1]_ for BG/NBD); the naive baseline assumes each customer
    keeps their calibration rate: ``naive_i = x_i / T_i * duration_i`` (``T_i > 0`` always,
    as for the models: a customer first seen at the calibration end has no history and must
    be left out upstream).

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Fitted on the calibration period (or ``from_params``).
    frequency_cal, recency_cal, T_cal : array-like of shape (n_customers,)
        Calibration ``(x, t_x, T)`` in the model's ``time_unit_``.
    frequency_holdout : array-like of shape (n_customers,)
        Purchase occasions in the holdout period (all of them: no first purchase is
        subtracted); integers >= 0.
    duration_holdout : float or array-like of shape (n_customers,)
        Holdout length in the model's ``time_unit_``; > 0.
    max_frequency : int, default 7
        Calibration frequencies >= this are pooled in the bin ``"{max_frequency}+"``; >= 1.

    Returns
    -------
    HoldoutValidation
        Per-customer table, by-frequency table, errors and totals.

    Raises
    ------
    InputError
        If the calibration inputs break the models' rules, frequency_holdout is negative or
        non-integral, duration_holdout is not positive or has the wrong length, or
        max_frequency is not an integer >= 1.
    NotFittedError
        If the model is neither fitted nor built with ``from_params``.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005). "Counting Your Customers" the Easy Way.
       Marketing Science 24(2):275-284. doi:10.1287/mksc.1040.0098

    Examples
    --------
    >>> from valuemax.clv import BetaGeoModel
    >>> m = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> v = holdout_validation(m, [0, 2, 8], [0.0, 30.43, 35.0], [38.86] * 3, [0, 2, 5], 39.0)
    >>> v.by_frequency["frequency_cal"].tolist(), round(v.predicted_total, 3)
    (['0', '2', '7+'], 6.408)
    """
    who = "holdout_validation"
    if not is_count(max_frequency):
        raise InputError(f"{who}: max_frequency must be an integer >= 1; got "
                         f"{max_frequency!r}.")
    x, t_x, age, _, index = check_rfm(who, frequency_cal, recency_cal, T_cal)
    actual, _ = check_paired(who, "frequency_holdout", frequency_holdout, "frequency_cal", x.size)
    bad = (actual < 0) | (actual != np.floor(actual))
    if bad.any():
        raise InputError(f"{who}: frequency_holdout is negative or not an integer for "
                         f"{int(bad.sum()):,} of {x.size:,} customers "
                         f"({labels(index, bad)}); it counts holdout purchase occasions.")
    series = [v.index for v in (frequency_cal, recency_cal, T_cal, frequency_holdout,
                                duration_holdout) if isinstance(v, pd.Series)]
    if any(not idx.equals(series[0]) for idx in series[1:]):
        raise InputError(f"{who}: the Series passed have different indexes; pass columns of "
                         "the same customer table (calibration and holdout joined on the "
                         "customer id, 0 holdout purchases where a customer did not buy).")
    duration = np.asarray(duration_holdout.to_numpy() if isinstance(duration_holdout, pd.Series)
                          else duration_holdout)
    if duration.dtype == bool or not np.issubdtype(duration.dtype, np.number) \
            or duration.ndim > 1 or duration.size not in (1, x.size):
        raise InputError(f"{who}: duration_holdout must be a number or one number per customer "
                         f"({x.size:,}); got dtype {duration.dtype}, shape {duration.shape}.")
    duration = duration.astype(np.float64)
    if not np.all(np.isfinite(duration) & (duration > 0)):
        bad_d = ~(np.isfinite(duration) & (duration > 0))
        where = f" ({labels(index, bad_d)})" if bad_d.size == x.size else ""
        raise InputError(f"{who}: duration_holdout must be finite and > 0 (in the model's "
                         f"time_unit_); {int(bad_d.sum())} values are not{where}.")
    duration = np.broadcast_to(duration.reshape(-1), x.shape)
    predicted = np.asarray(model.expected_purchases(duration, x, t_x, age), dtype=float)
    # the naive rate x/T; 0 for customers first seen at the calibration end (T = 0, x = 0)
    naive = np.divide(x, age, out=np.zeros_like(x), where=age > 0) * duration
    customers = pd.DataFrame({"frequency_cal": x.astype(np.int64),
                              "actual": actual.astype(np.int64),
                              "predicted": predicted, "naive": naive}, index=index)
    top = int(max_frequency)
    bins = np.minimum(x, top).astype(np.int64)
    grouped = customers.groupby(bins, sort=True)
    by_frequency = pd.DataFrame({
        "n_customers": grouped.size(),
        "actual_mean": grouped["actual"].mean(),
        "predicted_mean": grouped["predicted"].mean(),
        "naive_mean": grouped["naive"].mean(),
    })
    by_frequency.insert(0, "frequency_cal", [f"{b}+" if b == top else str(b)
                                             for b in by_frequency.index])
    by_frequency = by_frequency.reset_index(drop=True)
    err, naive_err = predicted - actual, naive - actual
    return HoldoutValidation(
        customers=customers, by_frequency=by_frequency,
        mae=float(np.mean(np.abs(err))), rmse=float(np.sqrt(np.mean(err**2))),
        naive_mae=float(np.mean(np.abs(naive_err))),
        naive_rmse=float(np.sqrt(np.mean(naive_err**2))),
        actual_total=float(actual.sum()), predicted_total=float(predicted.sum()),
        naive_total=float(naive.sum()), max_frequency=top)


def tracking_curve(model: Any, birth: Any, period_ends: Any) -> np.ndarray:
    """Expected cumulative repeat transactions of a cohort at each period end.

    ``curve_k = sum_i E[X(max(0, end_k - birth_i))]`` with ``E[X(t)]`` the model's expected
    repeat purchases of a new customer in ``(0, t]`` (``expected_purchases_new``, e.g. eq. 9
    of [1]_ for BG/NBD): the line of Figure 4 of [1]_. Customers are grouped by unique birth
    time, so the cost grows with the number of distinct births, not customers.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Fitted (or ``from_params``) model.
    birth : array-like of shape (n_customers,)
        Each customer's first purchase time, on the clock of ``period_ends``, in the model's
        ``time_unit_`` (e.g. weeks since the cohort's start).
    period_ends : array-like of shape (n_periods,)
        Times at which to evaluate the cumulative count, same clock and unit.

    Returns
    -------
    ndarray of shape (n_periods,)
        Expected cumulative repeat transactions of the whole cohort (>= 0; non-decreasing
        when ``period_ends`` is increasing).

    Raises
    ------
    InputError
        If ``birth`` or ``period_ends`` is empty, not 1-D, not numeric, or not finite.
    NotFittedError
        If the model is neither fitted nor built with ``from_params``.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005). "Counting Your Customers" the Easy Way.
       Marketing Science 24(2):275-284. doi:10.1287/mksc.1040.0098

    Examples
    --------
    >>> from valuemax.clv import BetaGeoModel
    >>> m = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> np.round(tracking_curve(m, [0.0, 0.0, 39.0], [0.0, 39.0, 78.0]), 3)
    array([0.   , 2.393, 4.918])
    """
    arrs, _ = check_arrays("tracking_curve", {"birth": birth})
    ends_arrs, _ = check_arrays("tracking_curve", {"period_ends": period_ends})
    ends = ends_arrs["period_ends"]
    births, counts = np.unique(arrs["birth"], return_counts=True)
    ages = np.maximum(0.0, ends[None, :] - births[:, None])
    expected = np.asarray(model.expected_purchases_new(ages), dtype=float)
    return counts.astype(np.float64) @ expected
