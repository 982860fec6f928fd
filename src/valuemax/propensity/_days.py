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
table does). ``return_rate`` sums returned and bought units per day (float64), then over
the days: the same value as the line sums whenever the units are whole numbers (every sum
exact), as in every log a retailer exports.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import ibis
import ibis.expr.operations as ops
import ibis.expr.types as ir
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.engines._memory import hash_pass, hash_passes
from valuemax.engines._portable import MONEY_DECIMAL, backend_name
from valuemax.features._customers import _join_mode
from valuemax.features._validation import check_log, purchase_day
from valuemax.propensity._frame import (
    TREND_DAYS,
    as_day,
    check_cutoff,
    check_horizon,
    check_money,
    check_transactions,
    date_range,
    frame_columns,
    resolve_categorical,
    unwrap_log,
)


@contextmanager
def materialised(expr: Any) -> Iterator[Any]:
    """``expr.cache()`` (a temporary table in the engine), released on exit.

    The clean transactions are a lazy expression (returns netting, rules) that each of the
    per-cutoff queries would otherwise recompute.
    """
    cached = expr.cache()
    try:
        yield cached
    finally:
        cached.release()


#: DuckDB memory per line of :func:`daily_table`'s query, for :func:`materialised_days`'s
#: passes: its ``LAG`` window holds its input in memory (DuckDB does not spill it; "failed
#: to pin block of size 256.0 KiB" at 30M lines under the store's 1.5 GB). Measured on the
#: synthetic log (10 lines a customer): 1M lines in one pass failed under 200 MB and ran
#: under 250 MB (two threads), 10M lines ran under 1.5 GB; at 300 bytes a line a pass
#: under 1.5 GB is 5M lines (two passes at 10M, six at 30M), half of what ran.
DAY_BYTES_PER_LINE = 300


@contextmanager
def materialised_days(transactions: ir.Table, *, money: bool = True,
                      return_rate: bool = False) -> Iterator[Any]:
    """:func:`daily_table` of ``transactions`` materialised (a temporary table), released on
    exit; in DuckDB, built in passes of customers when one pass would not fit the memory
    limit.

    The table's window (each day's gap to the customer's previous purchase day) holds its
    whole input in memory; DuckDB does not spill it. The lines are therefore cut into
    :func:`~valuemax.engines._memory.hash_passes` passes at
    :data:`DAY_BYTES_PER_LINE`, each over the customers whose id hashes to its number
    (:func:`~valuemax.engines._memory.hash_pass`), appended to one table: every row of
    a customer depends on that customer's lines only, so the table holds the rows of one
    query over every line, value for value (in another row order; every reader groups or
    orders it). Memory grows with a pass's lines, not with the log's.
    """
    passes = hash_passes(transactions, DAY_BYTES_PER_LINE)
    if passes == 1:
        with materialised(daily_table(transactions, money=money,
                                      return_rate=return_rate)) as days:
            yield days
        return
    con = ibis.get_backend(transactions)
    name = ibis.util.gen_name("days")
    try:
        for k in range(passes):
            part = transactions.filter(hash_pass(transactions.customer_id, passes, k))
            sql = con.compile(daily_table(part, money=money, return_rate=return_rate))
            con.raw_sql((f'CREATE TEMP TABLE "{name}" AS ' if k == 0
                         else f'INSERT INTO "{name}" ') + sql)
        yield con.table(name)
    finally:
        con.raw_sql(f'DROP TABLE IF EXISTS "{name}"')


def stored_columns(t: ir.Table) -> bool:
    """Whether ``t`` is columns of a table stored in a DuckDB database (no view, no
    computed column): reading it again is a scan, not a recomputation, so a temporary copy
    (:func:`materialised`) would only cost its rows' memory and the copy.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from valuemax.engines import connect
    >>> con = connect(None)
    >>> tx = con.create_table("tx_stored", pa.table({"customer_id": ["a"], "amount": [1.0]}))
    >>> stored_columns(tx.select("customer_id")), stored_columns(tx.mutate(x=tx.amount * 2))
    (True, False)
    """
    op = t.op()
    while isinstance(op, ops.Project) and all(isinstance(v, ops.Field)
                                              for v in op.values.values()):
        op = op.parent
    if not isinstance(op, ops.DatabaseTable) or backend_name(t) != "duckdb":
        return False
    where, args = "", [op.name]
    if op.namespace.catalog is not None:
        where, args = where + " and database_name = ?", [*args, op.namespace.catalog]
    if op.namespace.database is not None:
        where, args = where + " and schema_name = ?", [*args, op.namespace.database]
    cur = op.source.con.cursor()
    try:
        tables = cur.execute(f"select count(*) from duckdb_tables() where table_name = ?"
                             f"{where}", args).fetchone()[0]
        views = cur.execute(f"select count(*) from duckdb_views() where view_name = ?{where}",
                            args).fetchone()[0]
    finally:
        cur.close()
    return tables == 1 and views == 0


def daily_table(transactions: ir.Table, *, money: bool = True,
                return_rate: bool = False) -> ir.Table:
    """One row per customer and purchase day, with what :func:`features_from_days` needs.

    Parameters
    ----------
    transactions : ibis.Table
        Checked canonical lines (``customer_id``, ``order_ts``, ``amount``; optional
        ``order_id``, ``product_id``).
    money : bool, default True
        Carry the day's spend (False: a log without prices; no spend column).
    return_rate : bool, default False
        Carry the day's returned units ``_ret`` and bought units ``_bought`` (net plus
        returned; float64 sums) when the lines have ``returned_quantity`` and ``quantity``.

    Returns
    -------
    ibis.Table
        ``customer_id``, ``_day`` (date), ``_gap`` (int32 days since the customer's
        previous purchase day, NULL on the customer's first day), ``_nl`` (int32 lines),
        ``_no`` (int32 orders starting that day plus lines without an order id), with
        ``money`` ``_spend`` (exact fixed-point sum of the day's amounts), with
        ``product_id`` ``_np`` (int32 products first bought that day), with
        ``return_rate`` ``_ret`` and ``_bought``. Not executed.
    """
    t = transactions
    lines = t.mutate(_day=purchase_day(t))
    has_order = "order_id" in t.columns
    aggs: dict[str, Any] = {"_nl": lines.count()}
    aggs["_null_orders"] = (lines.order_id.isnull().sum() if has_order
                            else lines.count())
    if money:
        aggs["_spend"] = lines.amount.cast("float64").cast(MONEY_DECIMAL).sum()
    if return_rate and {"returned_quantity", "quantity"} <= set(t.columns):
        ret = lines.returned_quantity.cast("float64")
        aggs["_ret"] = ret.sum()
        aggs["_bought"] = (lines.quantity.cast("float64") + ret).sum()
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
    # 32-bit counts and gaps (a customer-day's lines and a gap in days fit many times over):
    # the table is as long as the log's customer-days, so its width is the step's memory
    cols: dict[str, Any] = {
        "customer_id": d.customer_id, "_day": d._day,
        "_gap": d._day.delta(prev, unit="day").cast("int32"),
        "_nl": d._nl.cast("int32"), "_no": no.cast("int32"),
    }
    if money:
        cols["_spend"] = d._spend
    if "_np" in d.columns:
        cols["_np"] = d._np.cast("int32")
    if "_ret" in d.columns:
        cols["_ret"] = d._ret
        cols["_bought"] = d._bought
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
        ones without ``money``), ``product_diversity`` (when ``days`` has ``_np``),
        ``return_rate`` (when ``days`` has ``_ret``), the categorical columns and ``label``; unordered, not executed.
    """
    d = days
    cut = ibis.date(cutoff)
    b = d.filter(d._day < cut)
    gap = b._gap.cast("int64")
    aggs: dict[str, Any] = {
        "_fd": b._day.min(), "_ld": b._day.max(), "_nd": b.count(),
        "n_orders": b._no.sum(), "n_lines": b._nl.sum(),
        "_s1": gap.sum(), "_s2": (gap * gap).sum(), "_ng": gap.count(),
    }
    if money:
        last_lo = ibis.date(cutoff - _dt.timedelta(TREND_DAYS))
        prev_lo = ibis.date(cutoff - _dt.timedelta(2 * TREND_DAYS))
        aggs["_spend"] = b._spend.sum()
        # the repeat spend: each later day's exact sum rounded through float64 (as the
        # customer table rounds it), summed exactly; a first day is the one without a gap
        aggs["_repeat"] = b._spend.cast("float64").cast(MONEY_DECIMAL).sum(
            where=b._gap.notnull())
        aggs["_last"] = b._spend.sum(where=b._day >= last_lo)
        aggs["_prev"] = b._spend.sum(where=(b._day >= prev_lo) & (b._day < last_lo))
    if "_np" in d.columns:
        aggs["_np"] = b._np.sum()
    if "_ret" in d.columns:
        aggs["_ret"] = b._ret.sum()
        aggs["_bought"] = b._bought.sum()
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
    if "_ret" in p.columns:
        cols["return_rate"] = ibis.ifelse(p._bought > 0, p._ret / p._bought,
                                          ibis.null("float64"))
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


def for_customers(days: ir.Table, t: ir.Table, who: ir.Table, cats: tuple[str, ...],
                  ) -> tuple[ir.Table, ir.Table]:
    """``days`` and (with categorical columns, whose modes read the lines) ``t`` restricted
    to the customers in ``who`` (a table with ``customer_id``): every feature of a customer
    is a function of that customer's own days and lines, so :func:`features_from_days` of
    the restricted tables gives their rows of the whole frame, value for value."""
    d = days.semi_join(who, "customer_id")
    return d, (t.semi_join(who, "customer_id") if cats else t)


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


def frames_at(days: ir.Table, transactions: ir.Table, cutoffs: list[_dt.date], *,
              categorical: tuple[str, ...] = (), label_days: int | None = None,
              money: bool = True) -> pd.DataFrame:
    """The frames of :func:`frame_at` at every cutoff, from one query (the union of the
    cutoffs' group-bys) instead of one per cutoff: the same rows and values as
    ``pd.concat`` of the frames, with ``origin`` (the cutoff, a date) last.

    An optional feature (``product_diversity``, ``return_rate``) is kept when some row of
    some cutoff has a value (the concatenation keeps it then too, missing for the cutoffs
    whose frame left it out), in its place among the features.

    Returns
    -------
    pandas.DataFrame
        The rows of every cutoff, ordered by cutoff (as ``cutoffs``) then ``customer_id``.
    """
    parts = [features_from_days(days, transactions, c, categorical=categorical,
                                label_days=label_days, money=money)
             .mutate(_pos=ibis.literal(k, "int64")) for k, c in enumerate(cutoffs)]
    df = ibis.union(*parts).order_by(["_pos", "customer_id"]).to_pyarrow().to_pandas()
    keep = frame_columns(df, categorical=categorical, label=label_days is not None,
                         money=money)
    origin = [cutoffs[k] for k in df["_pos"].to_numpy()]
    return df[keep].assign(origin=origin).reset_index(drop=True)


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
    first = d._gap.isnull()
    got = d.aggregate(**{f"n{k}": d.count(where=first & (d._day < ibis.date(c)))
                         for k, c in enumerate(cutoffs)}).to_pyarrow().to_pylist()[0]
    return [int(got[f"n{k}"] or 0) for k in range(len(cutoffs))]


def build_training_frame(
    transactions: ir.Table,
    *,
    cutoffs: Sequence[Any],
    horizon_days: int = 90,
    categorical: Sequence[str] | str | None = None,
    observation_end: Any = None,
    return_rate: bool = False,
    money: bool = True,
) -> pd.DataFrame:
    """Point-in-time features and the buy-again label at one or more cutoffs.

    For each cutoff ``c``, one row per customer with a line before ``c``. Features see the
    lines with ``order_ts < c`` only; ``label`` is 1 when the customer has a line in
    ``[c, c + horizon_days)``, else 0 (churn = 1 - label).

    Parameters
    ----------
    transactions : CleanResult or ibis.Table
        The result of :func:`valuemax.clean.clean` (its lines trusted, not scanned; its
        ``observation_end`` the default), or a plain table of clean canonical transactions
        (``clean(...).transactions``, checked with one aggregate query): ``customer_id``,
        ``order_ts``, ``amount``; optional ``order_id``, ``product_id``, ``quantity``,
        ``returned_quantity`` and extra columns (e.g. ``Country``).
    cutoffs : sequence of date or "YYYY-MM-DD"
        The cutoff days (rolling origins).
    horizon_days : int, default 90
        Label window length H in days.
    categorical : None, "auto" or sequence of str, default None
        Columns summarised by each customer's most frequent value. None / "auto": every
        extra string column with at most 100 distinct values (e.g. Country, channel).
    observation_end : date, optional
        Last day of the log (inclusive); default the CleanResult's, else the last
        transaction's day. Every label window must end by the day after it.
    return_rate : bool, default False
        Add ``return_rate`` (returned / bought units). Off by default: ``clean(...,
        returns="net")`` nets returns made at *any* time, including after the cutoff, so
        this feature leaks future information.
    money : bool, default True
        False for a log without prices (``clean(...).transactions`` of a log read with
        ``ParsePlan.amount_from == "none"``: ``amount`` NULL on every line, or absent):
        ``amount`` is not read and the spend features (:data:`MONEY_FEATURES`:
        ``total_spend``, ``avg_order_value``, ``monetary_value``, ``spend_last_90d``,
        ``spend_prev_90d``, ``spend_trend``) are absent; every other column, and the
        label (a purchase needs no price), is as with ``money=True``.

    Returns
    -------
    pandas.DataFrame of shape (sum of active customers over cutoffs, n_columns)
        ``origin`` (date), ``customer_id``, the numeric features (``n_orders``, ``n_lines``,
        ``total_spend``, ``avg_order_value``, ``recency_days`` (days from the last purchase
        day to the cutoff), ``tenure_days``, ``frequency``, ``recency``, ``T`` (days, the
        BTYD summary), ``monetary_value``, ``ipt_mean`` (days; NaN for one purchase day),
        ``ipt_cv`` (population SD / mean of the gaps; NaN below two gaps),
        ``spend_last_90d``, ``spend_prev_90d``, ``spend_trend`` ((last - prev) / (last +
        prev), 0 when both are 0), ``product_diversity`` (distinct products / lines)), the
        categorical columns and ``label`` (int 0/1).

    Raises
    ------
    InputError
        If a cutoff is not after the first transaction day or not on/before the last, a label
        window runs past ``observation_end``, ``horizon_days`` is not a positive int,
        ``money`` is not a bool, a column is missing or mistyped, or (one aggregate query
        over a plain table, or a CleanResult given an earlier ``observation_end``) a line
        has a NULL customer/date/amount, an implausible amount or falls after
        ``observation_end``.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from valuemax.engines import connect
    >>> con = connect(None)
    >>> days = ["2024-01-01", "2024-01-20", "2024-01-05", "2024-02-10"]
    >>> tx = con.create_table("tx_prop", pa.table({
    ...     "customer_id": ["a", "a", "b", "b"],
    ...     "order_ts": pa.array(days).cast(pa.timestamp("us")),
    ...     "amount": [10.0, 5.0, 7.0, 3.0]}))
    >>> df = build_training_frame(tx, cutoffs=["2024-02-01"], horizon_days=28,
    ...                           observation_end="2024-02-29")
    >>> df[["customer_id", "frequency", "recency_days", "label"]]
      customer_id  frequency  recency_days  label
    0           a          1            12      0
    1           b          0            27      1
    """
    money = check_money(money)
    t, observation_end, scan = unwrap_log(transactions, observation_end, money=money)
    t = check_transactions(t, money=money)
    h = check_horizon(horizon_days)
    if isinstance(cutoffs, str) or not isinstance(cutoffs, Sequence) or not cutoffs:
        raise InputError(f"cutoffs must be a non-empty sequence of dates; got {cutoffs!r}.")
    cutoff_days = [as_day(c, "cutoffs") for c in cutoffs]
    first, last = date_range(t)
    end = last if observation_end is None else as_day(observation_end, "observation_end")
    cats = resolve_categorical(t, categorical)
    check_log(t, end, cats, money=money, scan=scan)
    for c in cutoff_days:
        check_cutoff(c, first, last, end, h)
    frames = []
    with materialised_days(t, money=money, return_rate=return_rate) as d:
        for c in cutoff_days:
            df = frame_at(d, t, c, categorical=cats, label_days=h, money=money)
            df.insert(0, "origin", c)
            frames.append(df)
    return pd.concat(frames, ignore_index=True)
