"""The propensity frames of every cutoff from one per-customer-day table (built once).

:func:`~valuemax.propensity._frame.features_expr` builds the customer table and the extra
features from the lines at each cutoff: five cutoffs (three origins, the holdout, the
scoring day) meant five passes of group-bys, distinct counts and a window over every line
before each cutoff, most of the propensity step's engine time on a large log. Here the
lines are reduced once to one row per customer and purchase day (:func:`daily_table`)
carrying what every feature needs; a cutoff's frame is then one group-by of the days
before it (:func:`features_from_days`). The two give the same frame, value for value
(tests/propensity/test_days.py compares them on the real and synthetic logs):

- counts and integer gaps are sums of per-day counts; a distinct count (orders, products)
  is the number of orders (products) whose first day falls before the cutoff;
- money sums are exact fixed-point sums (:data:`~valuemax.engines._portable.MONEY_DECIMAL`)
  per day, summed again exactly, as :func:`~valuemax.engines._portable.money_sum` sums the
  lines; the repeat spend rounds each day's spend through float64 as the customer table
  does;
- the days before a cutoff are a prefix of the customer's days, so each day's gap to the
  previous purchase day and the customer's first day are those of the whole log.

Categorical modes are still computed from the lines before the cutoff (as the customer
table does); ``return_rate`` is not supported here (the callers use the per-cutoff path).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from valuemax.engines._portable import MONEY_DECIMAL
from valuemax.features._customers import _join_mode
from valuemax.features._validation import purchase_day
from valuemax.propensity._frame import TREND_DAYS, frame_columns


def daily_table(transactions: ir.Table, *, money: bool = True) -> ir.Table:
    """One row per customer and purchase day, with what :func:`features_from_days` needs.

    Parameters
    ----------
    transactions : ibis.Table
        Checked canonical lines (``customer_id``, ``order_ts``, ``amount``; optional
        ``order_id``, ``product_id``).
    money : bool, default True
        Carry the day's spend (False: a log without prices; no spend column).

    Returns
    -------
    ibis.Table
        ``customer_id``, ``_day`` (date), ``_first`` (the customer's first purchase day),
        ``_gap`` (days since the customer's previous purchase day, NULL on the first),
        ``_nl`` (lines), ``_no`` (orders starting that day plus lines without an order id),
        with ``money`` ``_spend`` (exact fixed-point sum of the day's amounts) and
        ``_spend_rt`` (that sum rounded through float64 and back), with ``product_id``
        ``_np`` (products first bought that day). Not executed.
    """
    t = transactions
    lines = t.mutate(_day=purchase_day(t))
    has_order = "order_id" in t.columns
    aggs: dict[str, Any] = {"_nl": lines.count()}
    aggs["_null_orders"] = (lines.order_id.isnull().sum() if has_order
                            else lines.count())
    if money:
        aggs["_spend"] = lines.amount.cast("float64").cast(MONEY_DECIMAL).sum()
    d = lines.group_by(["customer_id", "_day"]).aggregate(**aggs)
    firsts = []
    if has_order:
        firsts.append(("order_id", "_new_orders"))
    if "product_id" in t.columns:
        firsts.append(("product_id", "_np"))
    for col, name in firsts:
        k = lines.filter(lines[col].notnull())
        k = k.group_by(["customer_id", col]).aggregate(_d=k._day.min())
        k = k.group_by(["customer_id", "_d"]).aggregate(**{name: k.count()})
        k = k.rename(_k="customer_id")
        d = d.left_join(k, (d.customer_id == k._k) & (d._day == k._d)).drop("_k", "_d")
        d = d.mutate(**{name: d[name].fill_null(0)})
    no = d._null_orders + (d._new_orders if has_order else 0)
    prev = d._day.lag().over(group_by=d.customer_id, order_by=d._day)
    first = d._day.min().over(group_by=d.customer_id)
    cols: dict[str, Any] = {
        "customer_id": d.customer_id, "_day": d._day, "_first": first,
        "_gap": d._day.delta(prev, unit="day").cast("int64"),
        "_nl": d._nl.cast("int64"), "_no": no.cast("int64"),
    }
    if money:
        cols["_spend"] = d._spend
        cols["_spend_rt"] = d._spend.cast("float64").cast(MONEY_DECIMAL)
    if "_np" in d.columns:
        cols["_np"] = d._np.cast("int64")
    return d.select(**cols)


def features_from_days(
    days: ir.Table,
    transactions: ir.Table,
    cutoff: _dt.date,
    *,
    categorical: tuple[str, ...] = (),
    label_days: int | None = None,
    money: bool = True,
) -> ir.Table:
    """The frame of :func:`~valuemax.propensity._frame.features_expr` from ``days``.

    Parameters
    ----------
    days : ibis.Table
        :func:`daily_table` of ``transactions`` (best materialised once).
    transactions : ibis.Table
        The lines (read only for the categorical modes).
    cutoff : datetime.date
        Features from the days before it.
    categorical : tuple of str
        Columns summarised by the customer's most frequent value before ``cutoff``.
    label_days : int, optional
        ``label`` (int64 0/1): a purchase day in ``[cutoff, cutoff + label_days)``.
    money : bool, default True
        Spend features (``days`` must carry ``_spend``).

    Returns
    -------
    ibis.Table
        One row per customer with a purchase day before ``cutoff``: ``customer_id``, the
        numeric features (:data:`~valuemax.propensity._frame.BASE_FEATURES`, less the money
        ones without ``money``), ``product_diversity`` (when ``days`` has ``_np``), the
        categorical columns and ``label``; unordered, not executed.
    """
    d = days
    cut = ibis.date(cutoff)
    b = d.filter(d._day < cut)
    aggs: dict[str, Any] = {
        "_fd": b._day.min(), "_ld": b._day.max(), "_nd": b.count(),
        "n_orders": b._no.sum(), "n_lines": b._nl.sum(),
        "_s1": b._gap.sum(), "_s2": (b._gap * b._gap).sum(), "_ng": b._gap.count(),
    }
    if money:
        last_lo = ibis.date(cutoff - _dt.timedelta(TREND_DAYS))
        prev_lo = ibis.date(cutoff - _dt.timedelta(2 * TREND_DAYS))
        aggs["_spend"] = b._spend.sum()
        aggs["_repeat"] = b._spend_rt.sum(where=b._day > b._first)
        aggs["_last"] = b._spend.sum(where=b._day >= last_lo)
        aggs["_prev"] = b._spend.sum(where=(b._day >= prev_lo) & (b._day < last_lo))
    if "_np" in d.columns:
        aggs["_np"] = b._np.sum()
    p = b.group_by("customer_id").aggregate(**aggs)
    n_orders = p.n_orders.cast("int64")
    n_lines = p.n_lines.cast("int64")
    frequency = (p._nd - 1).cast("int64")
    age = cut.delta(p._fd, unit="day")
    cols: dict[str, Any] = {"customer_id": p.customer_id, "n_orders": n_orders,
                            "n_lines": n_lines}
    if money:
        total = p._spend.cast("float64")
        cols["total_spend"] = total
        cols["avg_order_value"] = total / n_orders.cast("float64")
    cols["recency_days"] = cut.delta(p._ld, unit="day").cast("int64")
    cols["tenure_days"] = age.cast("int64")
    cols["frequency"] = frequency
    cols["recency"] = p._ld.delta(p._fd, unit="day").cast("float64")
    cols["T"] = age.cast("float64")
    if money:
        cols["monetary_value"] = ibis.ifelse(
            frequency > 0, p._repeat.cast("float64") / frequency.cast("float64"),
            ibis.literal(0.0, "float64"))
    n_gaps = p._ng.cast("float64")
    s1, s2, ng = p._s1.cast("int64"), p._s2.cast("int64"), p._ng.cast("int64")
    mean = ibis.ifelse(ng > 0, s1.cast("float64") / n_gaps, ibis.null("float64"))
    sd = ((ng * s2 - s1 * s1).cast("float64") / (n_gaps * n_gaps)).sqrt()
    cols["ipt_mean"] = mean
    cols["ipt_cv"] = ibis.ifelse((ng >= 2) & (mean > 0), sd / mean, ibis.null("float64"))
    if money:
        zero = ibis.literal(0.0, "float64")
        last = p._last.cast("float64").fill_null(0.0)
        prev_s = p._prev.cast("float64").fill_null(0.0)
        cols["spend_last_90d"] = last
        cols["spend_prev_90d"] = prev_s
        cols["spend_trend"] = ibis.ifelse((last + prev_s) > 0,
                                          (last - prev_s) / (last + prev_s), zero)
    if "_np" in p.columns:
        cols["product_diversity"] = ibis.ifelse(
            p._np > 0, p._np.cast("float64") / n_lines.cast("float64"), ibis.null("float64"))
    out = p.select(**cols)
    if categorical:
        t = transactions
        before = t.filter(t.order_ts < ibis.timestamp(_dt.datetime.combine(cutoff,
                                                                           _dt.time(0))))
        for col in categorical:
            out = _join_mode(out, before, col)
    if label_days is not None:
        end = ibis.date(cutoff + _dt.timedelta(label_days))
        buyers = d.filter((d._day >= cut) & (d._day < end)).select(_buyer=d.customer_id)
        buyers = buyers.distinct()
        out = out.left_join(buyers, out.customer_id == buyers._buyer)
        out = out.mutate(label=out._buyer.notnull().cast("int64")).drop("_buyer")
    return out


def frame_at(days: ir.Table, transactions: ir.Table, cutoff: _dt.date, *,
             categorical: tuple[str, ...] = (), label_days: int | None = None,
             money: bool = True) -> pd.DataFrame:
    """:func:`features_from_days` executed: the frame of
    :func:`~valuemax.propensity._frame.features_at` (same columns, order and values).

    Returns
    -------
    pandas.DataFrame
        One row per customer with a purchase day before ``cutoff``, ordered by
        ``customer_id``; columns as :func:`~valuemax.propensity._frame.frame_columns`.
    """
    out = features_from_days(days, transactions, cutoff, categorical=categorical,
                             label_days=label_days, money=money)
    df = out.order_by("customer_id").to_pyarrow().to_pandas()
    return df[frame_columns(df, categorical=categorical, label=label_days is not None,
                            money=money)].reset_index(drop=True)


def active_before(days: ir.Table, cutoffs: list[_dt.date]) -> list[int]:
    """Customers with a purchase day before each cutoff (one aggregate query).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from valuemax.engines import connect
    >>> con = connect(None)
    >>> tx = con.create_table("tx_days", pa.table({
    ...     "customer_id": ["a", "a", "b"],
    ...     "order_ts": pa.array(["2024-01-01", "2024-01-09", "2024-01-05"]
    ...                          ).cast(pa.timestamp("us")),
    ...     "amount": [1.0, 2.0, 3.0]}))
    >>> active_before(daily_table(tx), [_dt.date(2024, 1, 2), _dt.date(2024, 1, 6)])
    [1, 2]
    """
    d = days
    first = d._day == d._first
    got = d.aggregate(**{f"n{k}": d.count(where=first & (d._day < ibis.date(c)))
                         for k, c in enumerate(cutoffs)}).to_pyarrow().to_pylist()[0]
    return [int(got[f"n{k}"] or 0) for k in range(len(cutoffs))]
