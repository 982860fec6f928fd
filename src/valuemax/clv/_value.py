"""Customer lifetime value from a purchase model and a spend model, and the spend check.

CLV composes a fitted repeat-purchase model (BG/NBD, MBG/NBD, Pareto/NBD: anything with
``expected_purchases``, ``p_alive`` and ``time_unit_``) with a fitted spend model
(Gamma-Gamma: ``expected_average_value`` and ``population_mean``), as in Fader, Hardie & Lee
(2005, JMR), discounting month by month.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from valuemax._core.exceptions import InputError, NotFittedError
from valuemax._core.validation import check_time_unit
from valuemax.clv._validation import (
    check_arrays,
    check_paired,
    check_rfm,
    check_unit,
    is_count,
    labels,
    wrap,
)

#: Days in a month (365.25 / 12).
DAYS_PER_MONTH = 30.4375
_DAYS_PER_UNIT = {"D": 1.0, "W": 7.0}


def _units_per_month(purchase_model: Any, freq_multiplier: Any) -> float:
    unit = getattr(purchase_model, "time_unit_", None)
    if unit is None:
        raise NotFittedError(f"{type(purchase_model).__name__} is not fitted (no time_unit_); "
                             "call fit(...) or build it with from_params(...) first.")
    if freq_multiplier is not None:
        if isinstance(freq_multiplier, bool) or not isinstance(freq_multiplier, int | float) \
                or not np.isfinite(freq_multiplier) or freq_multiplier <= 0:
            raise InputError(f"freq_multiplier must be a finite number > 0 (model time units "
                             f"per month); got {freq_multiplier!r}. Leave it None to derive it "
                             f"from time_unit_={unit!r}.")
        return float(freq_multiplier)
    check_time_unit(unit, name="purchase_model.time_unit_",
                    fix="Pass freq_multiplier (model time units per month)")
    return DAYS_PER_MONTH / _DAYS_PER_UNIT[unit]


def _check_options(horizon_months: Any, discount_rate: Any, margin: Any) -> None:
    if not is_count(horizon_months):
        raise InputError(f"horizon_months must be an integer >= 1 (months); got "
                         f"{horizon_months!r}. E.g. horizon_months=12 for one year.")
    number = (int, float, np.integer, np.floating)
    if isinstance(discount_rate, bool) or not isinstance(discount_rate, number) \
            or not 0 <= discount_rate < 1:
        raise InputError(f"discount_rate must be a MONTHLY rate in [0, 1); got "
                         f"{discount_rate!r}. Convert an annual rate with "
                         "(1 + annual) ** (1 / 12) - 1 (e.g. 12.7% a year -> 0.01).")
    if isinstance(margin, bool) or not isinstance(margin, number) or not 0 < margin <= 1:
        raise InputError(f"margin must be in (0, 1] (profit share of revenue); got {margin!r}. "
                         "Pass margin=1.0 to value revenue.")


def _population_mean(spend_model: Any, who: str) -> float:
    pop = float(spend_model.population_mean())
    if not (np.isfinite(pop) and pop > 0):
        raise InputError(f"{who}: the spend model's population mean is {pop} (Gamma-Gamma "
                         "q <= 1), so customers without repeat spend cannot be valued. "
                         "Refit the spend model on more repeat buyers.")
    return pop


def _clv_parts(who: str, purchase_model: Any, spend_model: Any, frequency: Any, recency: Any,
               T: Any, monetary_value: Any, horizon_months: Any, discount_rate: Any,
               margin: Any, freq_multiplier: Any) -> dict[str, Any]:
    _check_options(horizon_months, discount_rate, margin)
    per_month = _units_per_month(purchase_model, freq_multiplier)
    check_unit(who, purchase_model.time_unit_, {"frequency": frequency, "recency": recency,
                                                "T": T})
    x, t_x, age, _, index = check_rfm(who, frequency, recency, T)
    m, m_index = check_paired(who, "monetary_value", monetary_value, "frequency", x.size)
    series = [v.index for v in (frequency, recency, T, monetary_value) if isinstance(v, pd.Series)]
    if any(not idx.equals(series[0]) for idx in series[1:]):
        raise InputError(f"{who}: the Series passed have different indexes; pass columns of "
                         "the same customer table (or plain arrays in the same order).")
    index = index if index is not None else m_index

    # expected purchases on the unique (x, t_x, T) rows, at the end of months 0..H
    order = np.lexsort((age, t_x, x))  # the rows np.unique(axis=0) gives, by a plain sort
    new_row = np.concatenate([[True], (np.diff(x[order]) != 0) | (np.diff(t_x[order]) != 0)
                              | (np.diff(age[order]) != 0)])
    inverse = np.empty(x.size, dtype=np.intp)
    inverse[order] = np.cumsum(new_row) - 1
    first = order[new_row]
    ux, utx, uT = x[first], t_x[first], age[first]
    H = int(horizon_months)
    # one call for the H month ends (rows repeated month by month): the model's grouped
    # series and checks run once
    months = np.repeat(np.arange(1, H + 1) * per_month, ux.size)
    ahead = np.asarray(purchase_model.expected_purchases(
        months, np.tile(ux, H), np.tile(utx, H), np.tile(uT, H)), dtype=float)
    cum = np.column_stack([np.zeros(ux.size), ahead.reshape(H, ux.size).T])
    # E[X(t)] is non-decreasing in t: clip round-off below 0 in the monthly increments
    monthly = np.maximum(np.diff(cum, axis=1), 0.0)
    factors = (1.0 + float(discount_rate)) ** -np.arange(1, H + 1)
    disc_purchases = (monthly @ factors)[inverse]
    purchases = cum[:, -1][inverse]
    alive = np.asarray(purchase_model.p_alive(ux, utx, uT), dtype=float)[inverse]

    notes = []
    zero_spend = (x > 0) & (m <= 0)
    use_mean = (x == 0) | zero_spend
    if use_mean.any():
        pop = _population_mean(spend_model, who)
    value = np.asarray(spend_model.expected_average_value(np.where(zero_spend, 0.0, x),
                                                          np.where(zero_spend, 0.0, m)),
                       dtype=float)
    if use_mean.any() or not np.all(np.isfinite(value) & (value > 0)):
        pop = _population_mean(spend_model, who)
        if (x == 0).any():
            notes.append(f"{int((x == 0).sum()):,} of {x.size:,} customers have no repeat "
                         "purchase; they are valued at the population mean spend "
                         f"{pop:,.2f}.")
        if zero_spend.any():
            n_zero, n_repeat = int(zero_spend.sum()), int((x > 0).sum())
            notes.append(f"{n_zero:,} of {n_repeat:,} repeat buyers have monetary_value <= 0 "
                         "(returns, free orders); they are valued at the population mean "
                         f"spend {pop:,.2f}.")
    if not np.all(np.isfinite(value) & (value > 0)):
        raise InputError(f"{who}: the spend model gave non-finite or non-positive expected "
                         f"values for {int((~(np.isfinite(value) & (value > 0))).sum()):,} "
                         "customers; check the spend model's parameters (q > 1).")
    return {"index": index, "H": H, "p_alive": alive, "purchases": purchases, "value": value,
            "clv": float(margin) * value * disc_purchases, "notes": notes}


def customer_lifetime_value(purchase_model: Any, spend_model: Any, frequency: Any, recency: Any,
                            T: Any, monetary_value: Any, *, horizon_months: int = 12,
                            discount_rate: float = 0.01, margin: float = 1.0,
                            freq_multiplier: float | None = None) -> np.ndarray | pd.Series:
    """Discounted expected value of each customer's purchases over the next months.

    ``CLV_i = margin * E[M_i] * sum_{m=1..H} (E[X_i(t_m)] - E[X_i(t_{m-1})]) / (1 + d)^m``,
    with ``t_m = m * L`` the end of month ``m`` in the model's time unit (``L`` = 30.4375 days,
    or 30.4375/7 weeks when ``purchase_model.time_unit_ == "W"``), ``E[X_i(t)]`` the expected
    repeat purchases in the next ``t`` given the customer's ``(frequency, recency, T)``
    (the purchase model's conditional expectation), ``E[M_i]`` the expected average
    transaction value (Gamma-Gamma, eq. 5 of [1]_) and ``d`` the **monthly** discount rate:
    purchases in month ``m`` are discounted at the month's end. This is the discrete form of
    the discounted expected residual transactions of [1]_ (lifetimes' ``customer_lifetime_value``
    computes the same sum with 30-day months).

    Customers without repeat purchases get the spend model's population mean (Gamma-Gamma
    does this itself); customers with repeat purchases but ``monetary_value <= 0`` get it too
    (this function substitutes it; :func:`clv_table` counts them in ``attrs["notes"]``).

    Parameters
    ----------
    purchase_model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Fitted (or ``from_params``) repeat-purchase model; its ``time_unit_`` sets the unit.
    spend_model : GammaGammaModel
        Fitted (or ``from_params``) spend model.
    frequency : array-like of shape (n_customers,)
        Repeat purchases ``x``; integers >= 0.
    recency : array-like of shape (n_customers,)
        First-to-last purchase ``t_x`` in ``time_unit_``; 0 when x == 0.
    T : array-like of shape (n_customers,)
        First purchase to end of observation in ``time_unit_``; >= recency, > 0.
    monetary_value : array-like of shape (n_customers,)
        Mean value of the repeat purchases, in currency.
    horizon_months : int, default 12
        Number of months ``H`` (>= 1).
    discount_rate : float, default 0.01
        Monthly discount rate ``d`` in [0, 1) (an annual rate ``D`` is ``(1+D)**(1/12) - 1``
        monthly; annual rates are not accepted).
    margin : float, default 1.0
        Profit share of revenue in (0, 1]; 1.0 gives revenue.
    freq_multiplier : float, optional
        Model time units per month ``L``; by default derived from ``time_unit_`` as above.

    Returns
    -------
    ndarray of shape (n_customers,)
        CLV in the currency of ``monetary_value`` (>= 0); a Series keeping the index if a
        Series was passed.

    Raises
    ------
    InputError
        If an option is out of range, lengths or Series indexes differ, the RFM inputs break
        the models' rules, or the spend model's population mean is not finite where needed.
    NotFittedError
        If a model is neither fitted nor built with ``from_params``.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005). RFM and CLV: Using Iso-Value Curves for Customer Base
       Analysis. J. Marketing Research 42(4):415-430. doi:10.1509/jmkr.2005.42.4.415

    Examples
    --------
    >>> from valuemax.clv import BetaGeoModel, GammaGammaModel
    >>> bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426, time_unit="W")
    >>> gg = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> clv = customer_lifetime_value(bg, gg, [0, 2], [0.0, 30.43], [38.86, 38.86],
    ...                               [0.0, 20.0], horizon_months=12, discount_rate=0.0)
    >>> np.round(clv, 2)
    array([ 8.9 , 35.54])
    """
    parts = _clv_parts("customer_lifetime_value", purchase_model, spend_model, frequency,
                       recency, T, monetary_value, horizon_months, discount_rate, margin,
                       freq_multiplier)
    return wrap(parts["clv"], parts["index"])


def clv_table(purchase_model: Any, spend_model: Any, frequency: Any, recency: Any, T: Any,
              monetary_value: Any, *, horizon_months: int = 12, discount_rate: float = 0.01,
              margin: float = 1.0, freq_multiplier: float | None = None) -> pd.DataFrame:
    """Per-customer P(alive), expected purchases, expected spend and CLV, with notes.

    Same computation and arguments as :func:`customer_lifetime_value`.

    Parameters
    ----------
    purchase_model, spend_model, frequency, recency, T, monetary_value
        As in :func:`customer_lifetime_value`.
    horizon_months : int, default 12
        Months ``H``; names the columns.
    discount_rate : float, default 0.01
        Monthly discount rate in [0, 1).
    margin : float, default 1.0
        Profit share of revenue in (0, 1].
    freq_multiplier : float, optional
        Model time units per month; derived from ``time_unit_`` by default.

    Returns
    -------
    pandas.DataFrame of shape (n_customers, 4)
        Columns ``p_alive`` (at T), ``expected_purchases_{H}`` (undiscounted expected repeat
        purchases in the next H months), ``expected_avg_value`` (currency) and ``clv_{H}``
        (currency), e.g. ``clv_12``; the index of the Series passed, else a RangeIndex.
        ``attrs["notes"]`` is a list of sentences on substituted values (customers valued at
        the population mean spend), empty when there are none.

    Raises
    ------
    InputError
        As :func:`customer_lifetime_value`.
    NotFittedError
        If a model is neither fitted nor built with ``from_params``.

    Examples
    --------
    >>> from valuemax.clv import BetaGeoModel, GammaGammaModel
    >>> bg = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> gg = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> table = clv_table(bg, gg, [0, 2], [0.0, 30.43], [38.86, 38.86], [0.0, 20.0])
    >>> list(table.columns)
    ['p_alive', 'expected_purchases_12', 'expected_avg_value', 'clv_12']
    >>> table.attrs["notes"]
    ['1 of 2 customers have no repeat purchase; they are valued at the population mean spend 35.22.']
    """
    parts = _clv_parts("clv_table", purchase_model, spend_model, frequency, recency, T,
                       monetary_value, horizon_months, discount_rate, margin, freq_multiplier)
    H = parts["H"]
    table = pd.DataFrame({"p_alive": parts["p_alive"],
                          f"expected_purchases_{H}": parts["purchases"],
                          "expected_avg_value": parts["value"],
                          f"clv_{H}": parts["clv"]},
                         index=parts["index"])
    table.attrs["notes"] = parts["notes"]
    return table


def spend_independence(frequency: Any, monetary_value: Any, *, threshold: float = 0.3,
                       ) -> dict[str, Any]:
    """Check the Gamma-Gamma assumption that average spend is independent of frequency.

    Among repeat buyers (``frequency > 0`` and ``monetary_value > 0``): Pearson's r between
    frequency and average spend with its two-sided p-value (``scipy.stats.pearsonr``) and
    Spearman's rho (``scipy.stats.spearmanr``, average ranks for ties). Fader, Hardie & Lee
    (2005, JMR) check this on CDNOW (r = 0.11) before using the model. A correlation is an
    association, not evidence of a cause.

    Parameters
    ----------
    frequency : array-like of shape (n_customers,)
        Repeat purchases; integers >= 0.
    monetary_value : array-like of shape (n_customers,)
        Mean value of the repeat purchases, in currency.
    threshold : float, default 0.3
        ``|r| >= threshold`` is reported as material; in (0, 1].

    Returns
    -------
    dict
        ``n`` (repeat buyers used), ``pearson_r``, ``pearson_p``, ``spearman_rho``,
        ``spearman_p`` (floats; ``None`` when undefined), ``threshold``, ``material`` (bool)
        and ``message`` (one plain sentence). With fewer than 3 repeat buyers or a constant
        column the correlations are undefined: they are ``None``, ``material`` is False and
        the message says the assumption could not be checked.

    Raises
    ------
    InputError
        If lengths differ, values are NaN, frequency is negative or non-integral, or
        ``threshold`` is not in (0, 1].

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005), J. Marketing Research 42(4):415-430; Hardie (2013),
       The Gamma-Gamma Model of Monetary Value, http://brucehardie.com/notes/025/

    Examples
    --------
    >>> out = spend_independence([1, 2, 3, 4, 0], [10.0, 12.0, 9.0, 15.0, 0.0])
    >>> out["n"], round(out["pearson_r"], 3), out["material"]
    (4, 0.586, True)
    """
    who = "spend_independence"
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) \
            or not 0 < threshold <= 1:
        raise InputError(f"{who}: threshold must be in (0, 1]; got {threshold!r}.")
    arrs, index = check_arrays(who, {"frequency": frequency, "monetary_value": monetary_value})
    x, m = arrs["frequency"], arrs["monetary_value"]
    bad = (x < 0) | (x != np.floor(x))
    if bad.any():
        raise InputError(f"{who}: frequency must be integers >= 0; {int(bad.sum()):,} of "
                         f"{x.size:,} values are not ({labels(index, bad)}).")
    keep = (x > 0) & (m > 0)
    x, m = x[keep], m[keep]
    out: dict[str, Any] = {"n": int(keep.sum()), "pearson_r": None, "pearson_p": None,
                           "spearman_rho": None, "spearman_p": None,
                           "threshold": float(threshold), "material": False}
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(m) == 0:
        out["message"] = (f"The independence of spend and frequency could not be checked: "
                          f"{x.size} repeat buyers, frequency "
                          f"{'constant' if x.size and np.ptp(x) == 0 else 'varies'}, spend "
                          f"{'constant' if x.size and np.ptp(m) == 0 else 'varies'} (need at "
                          "least 3 and both varying).")
        return out
    pearson = stats.pearsonr(x, m)
    spearman = stats.spearmanr(x, m)
    r = float(pearson.statistic)
    out.update(pearson_r=r, pearson_p=float(pearson.pvalue),
               spearman_rho=float(spearman.statistic), spearman_p=float(spearman.pvalue),
               material=bool(abs(r) >= threshold))
    if out["material"]:
        out["message"] = (f"Average spend is correlated with purchase frequency among the "
                          f"{x.size:,} repeat buyers (Pearson r = {r:.2f}, p = {out['pearson_p']:.2g}; "
                          f"|r| >= {threshold}): "
                          "the Gamma-Gamma independence assumption is doubtful and CLV may be "
                          "biased.")
    else:
        out["message"] = (f"Average spend is only weakly correlated with purchase frequency "
                          f"among the {x.size:,} repeat buyers (Pearson r = {r:.2f}, "
                          f"p = {out['pearson_p']:.2g}; |r| < {threshold}), consistent with "
                          "the Gamma-Gamma independence assumption.")
    return out


#: Expected spend per purchase whose 1st to 99th percentile spread is under this share of
#: its median is "the same for every customer": CLV then ranks by expected purchases alone.
SAME_SPEND_SPREAD = 0.01


def same_expected_spend(expected_avg_value: Any) -> tuple[float, float] | None:
    """The range of the expected spend per purchase when it is (nearly) the same for every
    customer, else None.

    Gamma-Gamma at its limit of no spend heterogeneity (``q`` at the search bound) gives
    every customer about the population's mean spend: CLV is then that one amount times
    the expected purchases, so it ranks customers by expected purchases alone.

    Parameters
    ----------
    expected_avg_value : array-like of shape (n_customers,)
        Each customer's expected spend per purchase (``clv_table``'s ``expected_avg_value``,
        in the log's currency); NaN ignored.

    Returns
    -------
    (low, high) or None
        The 1st and 99th percentiles when ``high - low`` is under
        :data:`SAME_SPEND_SPREAD` (1%) of the median; None otherwise or without values.

    >>> same_expected_spend([402.6, 402.61, 402.59])
    (402.59, 402.61)
    >>> same_expected_spend([10.0, 20.0]) is None
    True
    """
    v = np.asarray(expected_avg_value, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return None
    low, mid, high = (float(x) for x in np.quantile(v, [0.01, 0.5, 0.99]))
    if mid <= 0 or high - low >= SAME_SPEND_SPREAD * mid:
        return None
    return round(low, 2), round(high, 2)
