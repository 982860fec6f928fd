"""Scores for one customer's posted transactions, from the store's fitted models.

The customer's summary is built exactly as :func:`valuemax.features.customer_table` builds
it in the engine (Fader, Hardie & Lee 2005; lifetimes' ``summary_data_from_transaction_data``
with daily periods): purchase occasions are distinct calendar days, ``frequency`` = days - 1,
``recency`` = last - first day and ``T`` = observation end - first day, in the store's
``time_unit``; ``monetary_value`` = mean spend of the repeat days. One customer's lines are a
handful of numbers, so this runs in Python rather than through an engine (an in-memory DuckDB
query per request costs about 300 ms; this, microseconds); ``tests/serve`` checks it against
the stored ``customers`` rows built by the engine. The scores come from
:func:`valuemax.clv.clv_table` with the purchase and Gamma-Gamma models rebuilt from
``clv_params`` and the run's horizon, discount rate and margin, so a customer's own lines
give back the stored ``p_alive``, ``expected_purchases_<H>`` and ``clv_<H>``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np

from valuemax._core.exceptions import InputError
from valuemax._core.schema import TIME_UNITS
from valuemax.clv import clv_table
from valuemax.clv._prior_only import prior_only

#: Days in a month (the CLV horizon's month, as in valuemax.clv).
DAYS_PER_MONTH = 365.25 / 12


_MONEY_STEP = Decimal("0.000001")  # MONEY_DECIMAL's scale: 6 decimals


def _money(amount: float) -> Decimal:
    """``amount`` rounded to 1e-6 of the currency unit, exactly (as DuckDB's cast of a
    double to ``DECIMAL(38, 6)``)."""
    return Decimal(repr(float(amount))).quantize(_MONEY_STEP, rounding=ROUND_HALF_EVEN)


def summarise_lines(days: Sequence[dt.date], amounts: Sequence[float],
                    order_ids: Sequence[str | None], *, observation_end: dt.date,
                    time_unit: str) -> dict[str, Any]:
    """RFM and the BTYD summary of one customer's lines at ``observation_end``.

    Parameters
    ----------
    days : sequence of datetime.date, length n_lines
        Calendar day of each line (on or before ``observation_end``).
    amounts : sequence of float, length n_lines
        Line revenue (finite, >= 0).
    order_ids : sequence of str or None, length n_lines
        Order of each line; None: the line is its own order.
    observation_end : datetime.date
        Inclusive end of observation.
    time_unit : {"D", "W"}
        Unit of ``recency`` and ``T``.

    Returns
    -------
    dict
        ``first_purchase``, ``last_purchase``, ``n_orders``, ``n_lines``, ``total_spend``,
        ``avg_order_value``, ``recency_days``, ``tenure_days`` (days) and ``frequency``,
        ``recency``, ``T`` (in ``time_unit``), ``monetary_value``.

    Raises
    ------
    InputError
        If there are no lines, or lines fall after ``observation_end`` (the first five named
        by position and date).

    Examples
    --------
    >>> import datetime as dt
    >>> d = [dt.date(2024, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 1, 15)]
    >>> s = summarise_lines(d, [10.0, 5.0, 30.0], ["1", "2", "3"],
    ...                     observation_end=dt.date(2024, 1, 29), time_unit="W")
    >>> s["frequency"], s["recency"], s["T"], s["monetary_value"]
    (1, 2.0, 4.0, 30.0)
    """
    if not days:
        raise InputError("no transaction lines to score; send at least one {date, amount}")
    late = [(i, d) for i, d in enumerate(days) if d > observation_end]
    if late:
        shown = ", ".join(f"transactions[{i}] {d.isoformat()}" for i, d in late[:5])
        raise InputError(f"{len(late):,} of {len(days):,} lines fall after the observation end "
                         f"{observation_end.isoformat()} ({shown}); observation_end is "
                         "inclusive: send a later observation_end in the body, or leave those "
                         "lines out")
    unit = TIME_UNITS[time_unit]
    # money as the store sums it (valuemax.engines.money_sum): each amount rounded to 1e-6,
    # summed exactly, converted to float once, so that a customer's own lines give back the
    # stored figures to the bit (36.87, not 36.870000000000005)
    cents = [_money(a) for a in amounts]
    per_day: dict[dt.date, Decimal] = {}
    for day, amount in zip(days, cents, strict=True):
        per_day[day] = per_day.get(day, Decimal(0)) + amount
    first, last = min(per_day), max(per_day)
    frequency = len(per_day) - 1
    repeat = float(sum((v for d, v in per_day.items() if d > first), Decimal(0)))
    total = float(sum(cents, Decimal(0)))
    n_orders = len({o for o in order_ids if o is not None}) + sum(o is None for o in order_ids)
    return {
        "first_purchase": first, "last_purchase": last, "n_orders": n_orders,
        "n_lines": len(days), "total_spend": total, "avg_order_value": total / n_orders,
        "recency_days": (observation_end - last).days,
        "tenure_days": (observation_end - first).days,
        "frequency": frequency, "recency": (last - first).days / float(unit),
        "T": (observation_end - first).days / float(unit),
        "monetary_value": repeat / frequency if frequency > 0 else 0.0,
    }


def beyond_history(summary: dict[str, Any], longest_T: float | None,
                   time_unit: str) -> str | None:
    """A note when posted lines reach further back than any stored customer's history.

    The stored models were fitted on customers first seen at most ``longest_T`` time units
    before the observation end; a longer ``T`` (e.g. lines of another decade, or an
    observation end far after the store's) is scored by extrapolating them.

    Parameters
    ----------
    summary : dict
        Output of :func:`summarise_lines` (its ``T`` in ``time_unit``).
    longest_T : float or None
        The largest ``T`` among the stored customers (None: not known; no note).
    time_unit : {"D", "W"}
        Unit of both ``T``.

    Returns
    -------
    str or None

    >>> beyond_history({"T": 30.0}, 52.0, "W") is None
    True
    >>> beyond_history({"T": 780.0}, 52.0, "W")[:60]
    'these lines make a customer first seen 5,460 days before the'
    """
    if longest_T is None or not summary["T"] > longest_T:
        return None
    unit = TIME_UNITS[time_unit]
    return (f"these lines make a customer first seen {summary['T'] * unit:,.0f} days before the "
            f"observation end, longer than any stored customer's history "
            f"({longest_T * unit:,.0f} days): the stored models were not fitted on such "
            "histories, so these scores extrapolate them; check the dates and observation_end")


def score_summary(summary: dict[str, Any], *, purchase_model: Any, spend_model: Any,
                  horizon_months: int, discount_rate: float, margin: float,
                  ) -> tuple[dict[str, float | None], list[str]]:
    """P(alive), expected purchases, expected spend and CLV of one summarised customer.

    Parameters
    ----------
    summary : dict
        Output of :func:`summarise_lines` (``frequency``, ``recency``, ``T``,
        ``monetary_value``) in the purchase model's time unit.
    purchase_model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        Built with ``from_params`` from the store.
    spend_model : GammaGammaModel or None
        None: only P(alive) and expected purchases.
    horizon_months : int
        CLV horizon in months of 30.4375 days.
    discount_rate, margin : float
        Monthly discount rate and profit share, as in :func:`valuemax.clv.clv_table`.

    Returns
    -------
    scores : dict
        ``p_alive``, ``expected_purchases``, ``expected_avg_value``, ``clv`` and
        ``clv_from_prior_only`` (:func:`valuemax.clv._prior_only.prior_only`; the last
        three None without a spend model).
    notes : list of str
        Values substituted by the models (e.g. valued at the population mean spend).

    Raises
    ------
    InputError
        If a model gives a non-finite score for these lines.
    """
    x = np.array([summary["frequency"]], dtype=float)
    t_x = np.array([summary["recency"]], dtype=float)
    age = np.array([summary["T"]], dtype=float)
    notes: list[str] = []
    if spend_model is not None:
        table = clv_table(purchase_model, spend_model, x, t_x, age,
                          np.array([summary["monetary_value"]], dtype=float),
                          horizon_months=horizon_months, discount_rate=discount_rate,
                          margin=margin)
        notes = list(table.attrs.get("notes", []))
        row = table.iloc[0]
        scores = {"p_alive": float(row["p_alive"]),
                  "expected_purchases": float(row[f"expected_purchases_{horizon_months}"]),
                  "expected_avg_value": float(row["expected_avg_value"]),
                  "clv": float(row[f"clv_{horizon_months}"]),
                  "clv_from_prior_only": bool(prior_only(x, age, purchase_model.time_unit_)[0])}
    else:
        t = horizon_months * DAYS_PER_MONTH / TIME_UNITS[purchase_model.time_unit_]
        scores = {"p_alive": float(purchase_model.p_alive(x, t_x, age)[0]),
                  "expected_purchases": float(purchase_model.expected_purchases(
                      t, x, t_x, age)[0]),
                  "expected_avg_value": None, "clv": None, "clv_from_prior_only": None}
    bad = [k for k, v in scores.items() if v is not None and not math.isfinite(v)]
    if bad:
        raise InputError(f"the stored models give no finite {', '.join(bad)} for these lines "
                         f"(frequency {summary['frequency']}, recency {summary['recency']:g}, "
                         f"T {summary['T']:g}); check the dates")
    return scores, notes
