"""The customer table: marketing RFM and the BTYD summary, one row per customer.

Written once as Ibis expressions that mean the same on every engine (DESIGN.md §2): day
numbers come from ``DateValue.delta(..., unit="day")`` (an integer), durations are cast to
float64 *before* dividing by the days per unit, and nothing is cast from float to int.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from valuemax._core.schema import TimeUnit
from valuemax.clean import CleanResult
from valuemax.engines._portable import (
    MONEY_DECIMAL,
    NO_KEYED_STRING_JOIN,
    backend_name,
    money_sum,
)
from valuemax.features._validation import (
    check_log,
    days_per_unit,
    purchase_day,
    resolve_log,
)


def customer_table(
    transactions: CleanResult | ir.Table,
    *,
    observation_end: _dt.date | str | None = None,
    time_unit: TimeUnit = "D",
    mode_columns: Sequence[str] = (),
    money: bool = True,
) -> ir.Table:
    """One row per customer: marketing RFM and the BTYD summary at ``observation_end``.

    The BTYD fields are those of Fader, Hardie & Lee [1]_ as computed by lifetimes'
    ``summary_data_from_transaction_data`` [2]_ with ``freq="D"`` and
    ``freq_multiplier=7`` for weeks: purchase occasions are distinct calendar days, so
    several orders on one day are one occasion.

    Parameters
    ----------
    transactions : CleanResult or ibis.Table
        The result of :func:`valuemax.clean.clean` (the stage before), or a plain Ibis table
        of canonical transactions (see ``valuemax.io``): ``customer_id``, ``order_ts``
        (naive timestamp or date), ``amount`` (numeric, line revenue), optionally
        ``order_id`` (string; NULL or absent: the line is its own order) and the
        ``mode_columns``. Every line must be on or before ``observation_end`` and have no
        NULL in those columns and no implausible amount (``valuemax.clean`` quarantines
        such lines). A plain table is checked for that with one aggregate query; a
        CleanResult is trusted (see Notes) and its lines are not scanned.
    observation_end : datetime.date, str or None, default None
        Last day of the observation period, inclusive (``"YYYY-MM-DD"``). None: the
        CleanResult's ``observation_end`` (required with a plain table). With a
        CleanResult, an explicit end on or after its own needs no check; an earlier one is
        checked as for a plain table (lines after it are refused).
    time_unit : {"D", "W"}, default "D"
        Unit of ``recency`` and ``T``: days, or weeks of 7 days (days / 7, as in the
        published CDNOW summary). The CLV estimators (``valuemax.clv``) share this default;
        ``valuemax.analyze`` stores the unit in ``customers.attrs["time_unit"]``, which
        pandas passes on to the selected columns, and the estimators refuse columns in
        another unit than theirs.
    mode_columns : sequence of str, default ()
        Columns (e.g. ``("Country",)``) to summarise by each customer's most frequent
        non-NULL value; ties go to the smallest value, NULL when all are NULL.
    money : bool, default True
        False for a log without prices (``amount`` NULL on every line, as read by
        ``valuemax.io`` when the log has no amount nor quantity and unit_price): ``amount``
        is neither checked nor used, and the money columns (``MONEY_COLUMNS``:
        ``total_spend``, ``avg_order_value``, ``monetary_value``) are absent from the
        result; the counts and the BTYD summary are unchanged.

    Returns
    -------
    ibis.Table
        Lazy expression, one row per ``customer_id`` (ordered by it), columns:

        - ``first_purchase``, ``last_purchase`` (date): first and last purchase day;
        - ``n_orders`` (int64): distinct ``order_id`` plus lines without one;
        - ``n_lines`` (int64): transaction lines;
        - ``total_spend`` (float64): sum of ``amount``;
        - ``avg_order_value`` (float64): ``total_spend / n_orders``;
        - ``recency_days`` (int64): days from ``last_purchase`` to ``observation_end``;
        - ``tenure_days`` (int64): days from ``first_purchase`` to ``observation_end``;
        - ``frequency`` (int64): repeat purchase days (distinct purchase days - 1);
        - ``recency`` (float64): ``last_purchase - first_purchase`` in ``time_unit``;
        - ``T`` (float64): ``observation_end - first_purchase`` in ``time_unit``;
        - ``monetary_value`` (float64): mean spend per repeat purchase day (the first day
          excluded); 0 when ``frequency == 0`` (lifetimes' convention, not NaN);
        - one column per ``mode_columns`` entry, same name and type as the source.

    Raises
    ------
    InputError
        If ``time_unit``, ``observation_end`` or ``mode_columns`` is invalid,
        ``observation_end`` is missing with a plain table, a column is missing or mistyped,
        ``money`` is True for the CleanResult of a log without prices, or (checked with one
        aggregate query over a plain table, or over a CleanResult given an earlier
        ``observation_end``) any line has a NULL customer/date/amount, an amount of 1e15 or
        more in size (or not finite), or falls after ``observation_end``.

    See Also
    --------
    calibration_holdout : the same summary on a calibration period plus holdout counts.

    Notes
    -----
    ``0 <= recency <= T``, and ``frequency == 0`` implies ``recency == 0`` and
    ``monetary_value == 0``. Row order and line order in ``transactions`` do not matter.

    From a :class:`~valuemax.clean.CleanResult` the table takes its ``transactions``, its
    ``observation_end`` and what its rules guarantee, so the lines are not scanned again:
    no NULL ``customer_id`` or ``order_ts``, no NULL ``amount`` (its ``money`` is True),
    no line after its observation end, no ``implausible_amount``. The column names and
    types are still checked (from the schema, no query). Given the same lines, a
    CleanResult and its ``(transactions, observation_end)`` give the same table.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005). "Counting Your Customers" the Easy Way: An
       Alternative to the Pareto/NBD Model. Marketing Science 24(2):275-284.
       doi:10.1287/mksc.1040.0098
    .. [2] lifetimes, ``lifetimes/utils.py``: ``summary_data_from_transaction_data``
       (Davidson-Pilon et al., MIT licence).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from valuemax.engines import connect
    >>> con = connect(None)
    >>> days = ["2024-01-01", "2024-01-01", "2024-01-15", "2024-01-08"]
    >>> tx = con.create_table("tx", pa.table({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "order_id": ["1", "2", "3", "4"],
    ...     "order_ts": pa.array(days).cast(pa.timestamp("us")),
    ...     "amount": [10.0, 5.0, 30.0, 7.0]}))
    >>> out = customer_table(tx, observation_end="2024-01-29", time_unit="W")
    >>> out = out.to_pyarrow().to_pandas()
    >>> out[["customer_id", "n_orders", "frequency", "recency", "T", "monetary_value"]]
      customer_id  n_orders  frequency  recency    T  monetary_value
    0           a         3          1      2.0  4.0            30.0
    1           b         1          0      0.0  3.0             0.0

    From the cleaning stage, whose observation end (the last line's date here) is taken:

    >>> import pandas as pd
    >>> from valuemax.clean import clean
    >>> from valuemax.io import read_transactions
    >>> cleaned = clean(read_transactions(pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"],
    ...     "order_ts": ["2024-01-01", "2024-01-15", "2024-01-08"],
    ...     "amount": [10.0, 30.0, 7.0]})))
    >>> cleaned.observation_end.isoformat()
    '2024-01-15'
    >>> out = customer_table(cleaned, time_unit="W").to_pyarrow().to_pandas()
    >>> out[["customer_id", "frequency", "recency", "T"]]
      customer_id  frequency  recency    T
    0           a          1      2.0  2.0
    1           b          0      0.0  1.0
    """
    unit = days_per_unit(time_unit)
    t, end, scan = resolve_log(transactions, observation_end, money=money)
    modes = check_log(t, end, mode_columns, money=money, scan=scan)
    return checked_customer_table(t, end=end, unit=unit, modes=modes, money=money)


def checked_customer_table(
    transactions: ir.Table, *, end: _dt.date, unit: int, modes: tuple[str, ...],
    money: bool = True,
) -> ir.Table:
    """:func:`customer_table` on lines already validated (columns and rows); no query.

    For a caller that validated its lines once at its own public boundary (e.g.
    :func:`valuemax.propensity.fit_propensity`, which builds one table per cutoff from
    the same lines) and must not scan them again per call.

    Parameters
    ----------
    transactions : ibis.Table
        Canonical transactions that passed :func:`check_columns` and :func:`check_rows`
        (or come from a CleanResult), all on or before ``end``.
    end : datetime.date
        Inclusive observation end.
    unit : int
        Days per time unit (1 or 7).
    modes : tuple of str
        Mode columns, checked with :func:`check_mode_columns`.
    money : bool, default True
        False: the money columns are left out.

    Returns
    -------
    ibis.Table
        The customer table of :func:`customer_table`, ordered by ``customer_id``.
    """
    out = summarise(transactions, end=end, unit=unit, modes=modes)
    if not money:
        out = out.drop(*MONEY_COLUMNS)
    return out.order_by("customer_id")


#: Columns of the customer table computed from ``amount`` (absent when ``money=False``).
MONEY_COLUMNS: tuple[str, ...] = ("total_spend", "avg_order_value", "monetary_value")


def summarise(
    transactions: ir.Table, *, end: _dt.date, unit: int, modes: tuple[str, ...]
) -> ir.Table:
    """Build the (unordered) customer-table expression; inputs are already validated.

    Parameters
    ----------
    transactions : ibis.Table
        Validated canonical transactions, all on or before ``end``.
    end : datetime.date
        Inclusive observation end.
    unit : int
        Days per time unit (1 or 7).
    modes : tuple of str
        Validated mode columns.

    Returns
    -------
    ibis.Table
        The customer table of :func:`customer_table`, unordered.
    """
    t = transactions
    order_id = t.order_id if "order_id" in t.columns else ibis.null("string")
    # one scan for the order/line counts, one for the purchase days: a single COUNT DISTINCT
    # per aggregate keeps Spark from expanding the rows once per distinct column. Each scan
    # projects its own columns: one projection shared by both became a CTE that DuckDB 1.4
    # materialises in memory (every line's id, order, day and amount), which ran out of the
    # store's memory limit at 30M lines instead of spilling.
    lines = t.select(customer_id=t.customer_id, order_id=order_id,
                     amount=t.amount.cast("float64").cast(MONEY_DECIMAL))
    orders = _order_counts(lines)
    dated = t.select(customer_id=t.customer_id, day=purchase_day(t),
                     amount=t.amount.cast("float64"))
    days = dated.group_by(["customer_id", "day"]).aggregate(spend=money_sum(dated.amount))
    occasions = _occasions(days, backend_name(t))
    if backend_name(t) in NO_KEYED_STRING_JOIN:
        per = stack_by_customer(occasions, orders)  # the same customers on both sides
    else:
        per = occasions.join(orders, "customer_id")
    end_day = ibis.date(end)
    gap = per.last_purchase.delta(per.first_purchase, unit="day")
    age = end_day.delta(per.first_purchase, unit="day")
    frequency = (per.n_days - 1).cast("int64")
    out = per.select(
        customer_id=per.customer_id,
        first_purchase=per.first_purchase,
        last_purchase=per.last_purchase,
        n_orders=per.n_orders,
        n_lines=per.n_lines,
        total_spend=per.total_spend.cast("float64"),
        avg_order_value=per.total_spend.cast("float64") / per.n_orders.cast("float64"),
        recency_days=end_day.delta(per.last_purchase, unit="day").cast("int64"),
        tenure_days=age.cast("int64"),
        frequency=frequency,
        recency=gap.cast("float64") / float(unit),
        T=age.cast("float64") / float(unit),
        monetary_value=ibis.ifelse(
            frequency > 0,
            per.repeat_spend.cast("float64") / frequency.cast("float64"),
            ibis.literal(0.0, "float64"),
        ),
    )
    for col in modes:
        out = _join_mode(out, t, col)
    return out


def _order_counts(lines: ir.Table) -> ir.Table:
    """Per customer: ``n_orders`` (distinct ``order_id`` plus lines without one),
    ``n_lines`` and ``total_spend`` (the exact sum of ``amount``, a MONEY_DECIMAL column).

    Two hash aggregates, by (customer, order) then by customer, rather than one with
    ``COUNT(DISTINCT order_id)``: DuckDB 1.4 keeps a grouped aggregate's distinct values in
    memory, which ran out of the store's memory limit (300 MB at 1M customers and 10M
    lines, 2.7 GiB at 10M customers and 100M lines), whereas plain hash aggregates spill.
    The NULL order ids of a customer are one group (SQL's GROUP BY), whose lines each
    count as an order. The fixed-point sums of the sums are the same sums (exact).
    """
    per_order = lines.group_by(["customer_id", "order_id"]).aggregate(
        n=lines.count(), spend=lines.amount.sum())
    no_id = per_order.order_id.isnull()
    return per_order.group_by("customer_id").aggregate(
        n_orders=(per_order.order_id.count()
                  + per_order.n.sum(where=no_id).fill_null(0)).cast("int64"),
        n_lines=per_order.n.sum().cast("int64"),
        total_spend=per_order.spend.sum().cast("float64"),
    )


def _occasions(days: ir.Table, backend: str | None) -> ir.Table:
    """Per customer from its purchase days (``customer_id``, ``day``, ``spend``; one row
    per customer and day): ``first_purchase``, ``last_purchase``, ``n_days`` and
    ``repeat_spend`` (the spend of the days after the first; NULL or 0 with one day).

    ``repeat_spend`` is the exact sum of every day's spend less the first day's
    (``ARG_MIN(spend, day)``; a customer's days are distinct), in MONEY_DECIMAL, so the
    same value as the sum over the later days: one hash aggregate, which spills. A window
    ``MIN(day) OVER (PARTITION BY customer_id)`` holds its partitions in memory and ran
    out of DuckDB's memory limit (300 MB at 1M customers). MySQL/MariaDB, whose Ibis
    compiler has no ARG_MIN, keep the window.
    """
    spend = days.spend.cast(MONEY_DECIMAL)
    if backend in NO_ARG_MIN:
        days = days.mutate(first_day=days.day.min().over(group_by=days.customer_id))
        repeat = money_sum(days.spend, where=days.day > days.first_day)
    else:
        repeat = (spend.sum() - spend.argmin(days.day)).cast("float64")
    return days.group_by("customer_id").aggregate(
        first_purchase=days.day.min(),
        last_purchase=days.day.max(),
        n_days=days.count().cast("int64"),
        repeat_spend=repeat,
    )


#: Backends whose Ibis compiler has no ARG_MIN (:func:`_occasions` keeps a window there).
NO_ARG_MIN = frozenset({"mysql"})


def stack_by_customer(left: ir.Table, right: ir.Table) -> ir.Table:
    """``left`` left-joined with ``right`` on ``customer_id`` (unique in both), for
    MySQL/MariaDB.

    Ibis compares strings there as ``CAST(a AS BINARY) = b`` (case-sensitive), which no
    index or hash can serve: MariaDB joined the two per-customer aggregates by nested loops,
    in time quadratic in the number of customers (140 s for a 69,659-line log, against
    1.1 s on PostgreSQL). Instead the rows of both are stacked, each padded with NULLs for
    the other's columns, and grouped by customer, keeping each column's one non-NULL value
    (``MAX``): one sort. Customers only in ``right`` are left out (a marker column says
    which groups have a row of ``left``).
    """
    lcols = [c for c in left.columns if c != "customer_id"]
    rcols = [c for c in right.columns if c != "customer_id"]
    ltypes, rtypes = left.schema(), right.schema()
    a = left.select("customer_id", *lcols, **{c: ibis.null(rtypes[c]) for c in rcols},
                    _vm_in_left=ibis.literal(1, "int8"))
    b = right.select("customer_id", **{c: ibis.null(ltypes[c]) for c in lcols},
                     **{c: right[c] for c in rcols}, _vm_in_left=ibis.null("int8"))
    u = a.union(b, distinct=False)
    merged = u.group_by("customer_id").aggregate(
        **{c: u[c].max() for c in [*lcols, *rcols, "_vm_in_left"]})
    merged = merged.filter(merged._vm_in_left.notnull())
    return merged.select("customer_id", *lcols, *rcols)


def _join_mode(out: ir.Table, t: ir.Table, col: str) -> ir.Table:
    """Left-join each customer's most frequent non-NULL ``col`` value (ties: smallest)."""
    vals = t.filter(t[col].notnull()).group_by(["customer_id", col]).aggregate(_n=ibis._.count())
    rank = ibis.row_number().over(
        group_by=vals.customer_id, order_by=[ibis.desc(vals._n), ibis.asc(vals[col])]
    )
    top = vals.mutate(_rank=rank).filter(ibis._._rank == 0).select("customer_id", col)
    if backend_name(t) in NO_KEYED_STRING_JOIN:
        return stack_by_customer(out, top).select(*out.columns, col)
    top = top.rename(_mode_key="customer_id")
    joined = out.left_join(top, out.customer_id == top._mode_key)
    return joined.select(*out.columns, col)
