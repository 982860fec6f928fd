"""Calibration/holdout split of the customer table (lifetimes' ``calibration_and_holdout_data``)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from valuemax._core.exceptions import InputError
from valuemax._core.schema import TimeUnit
from valuemax.clean import CleanResult
from valuemax.engines._portable import (
    MONEY_DECIMAL,
    NO_KEYED_STRING_JOIN,
    backend_name,
    money_sum,
)
from valuemax.features._customers import MONEY_COLUMNS, stack_by_customer, summarise
from valuemax.features._validation import (
    as_date,
    check_log,
    days_per_unit,
    purchase_day,
    resolve_log,
)


def calibration_holdout(
    transactions: CleanResult | ir.Table,
    *,
    calibration_end: _dt.date | str,
    observation_end: _dt.date | str | None = None,
    time_unit: TimeUnit = "D",
    mode_columns: Sequence[str] = (),
    money: bool = True,
) -> ir.Table:
    """Customer table on a calibration period plus purchase counts in the holdout period.

    The calibration period runs to ``calibration_end`` (inclusive), the holdout period is
    ``(calibration_end, observation_end]``. Mirrors lifetimes'
    ``calibration_and_holdout_data`` [2]_ (``freq="D"``, ``freq_multiplier=7`` for weeks),
    the set-up used to validate BTYD models in Fader, Hardie & Lee [1]_.

    Parameters
    ----------
    transactions : CleanResult or ibis.Table
        The result of :func:`valuemax.clean.clean`, or a plain Ibis table of canonical
        transactions, as for :func:`customer_table`; every line on or before
        ``observation_end``. A plain table is checked with one aggregate query; a
        CleanResult is trusted (see Notes) and its lines are not scanned.
    calibration_end : datetime.date or str
        Last day of the calibration period, inclusive; before ``observation_end``.
    observation_end : datetime.date, str or None, default None
        Last day of the holdout period, inclusive. None: the CleanResult's
        ``observation_end`` (required with a plain table); an explicit end earlier than the
        CleanResult's is checked as for a plain table.
    time_unit : {"D", "W"}, default "D"
        Unit of ``recency``, ``T`` and ``duration_holdout`` (W = days / 7).
    mode_columns : sequence of str, default ()
        Columns summarised by each customer's most frequent calibration-period value.
    money : bool, default True
        False for a log without prices (see :func:`customer_table`): ``amount`` is not
        checked and the money columns, ``monetary_holdout`` included, are absent.

    Returns
    -------
    ibis.Table
        Lazy expression, one row per customer whose first purchase is on or before
        ``calibration_end`` (ordered by ``customer_id``): the columns of
        :func:`customer_table` computed on the calibration lines with ``T`` (and
        ``recency_days``, ``tenure_days``) measured to ``calibration_end``, then

        - ``frequency_holdout`` (int64): distinct purchase days in the holdout period;
        - ``monetary_holdout`` (float64): mean spend per holdout purchase day, 0 when none;
        - ``duration_holdout`` (float64): ``observation_end - calibration_end`` in
          ``time_unit``, the same for every customer.

    Raises
    ------
    InputError
        If an option is invalid, ``observation_end`` is missing with a plain table,
        ``calibration_end >= observation_end``, a column is missing or mistyped, ``money``
        is True for the CleanResult of a log without prices, or (one aggregate query over a
        plain table, or over a CleanResult given an earlier ``observation_end``) any line
        has a NULL customer/date/amount, an implausible amount or falls after
        ``observation_end``.

    See Also
    --------
    customer_table : the summary over the whole observation period.

    Notes
    -----
    Customers whose first purchase falls in the holdout period are not in the table (they
    were not yet acquired at ``calibration_end``), as in lifetimes.

    From a :class:`~valuemax.clean.CleanResult` the split takes its ``transactions``, its
    ``observation_end`` and the guarantees of its rules (no NULL customer, date or amount,
    no line after its observation end, no ``implausible_amount``): the lines are not
    scanned again, and the result equals that of its ``(transactions, observation_end)``.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005). "Counting Your Customers" the Easy Way: An
       Alternative to the Pareto/NBD Model. Marketing Science 24(2):275-284.
       doi:10.1287/mksc.1040.0098
    .. [2] lifetimes, ``lifetimes/utils.py``: ``calibration_and_holdout_data``
       (Davidson-Pilon et al., MIT licence).

    Examples
    --------
    >>> import pyarrow as pa
    >>> from valuemax.engines import connect
    >>> con = connect(None)
    >>> days = ["2024-01-01", "2024-01-08", "2024-01-20", "2024-01-20", "2024-01-25"]
    >>> tx = con.create_table("tx", pa.table({
    ...     "customer_id": ["a", "a", "a", "a", "b"],
    ...     "order_ts": pa.array(days).cast(pa.timestamp("us")),
    ...     "amount": [10.0, 5.0, 30.0, 6.0, 7.0]}))
    >>> out = calibration_holdout(tx, calibration_end="2024-01-15",
    ...                           observation_end="2024-01-29", time_unit="W")
    >>> out = out.to_pyarrow().to_pandas()
    >>> cols = ["customer_id", "frequency", "T", "frequency_holdout", "monetary_holdout",
    ...         "duration_holdout"]
    >>> print(out[cols].to_string(index=False))
    customer_id  frequency   T  frequency_holdout  monetary_holdout  duration_holdout
              a          1 2.0                  1              36.0               2.0
    """
    unit = days_per_unit(time_unit)
    cal_end, transactions, obs_end, scan = _periods(transactions, calibration_end,
                                                    observation_end, money)
    modes = check_log(transactions, obs_end, mode_columns, money=money, scan=scan)

    t = transactions
    day = purchase_day(t)
    cal = summarise(t.filter(day <= ibis.date(cal_end)), end=cal_end, unit=unit, modes=modes)

    hold = t.filter(day > ibis.date(cal_end)).select(
        _key=t.customer_id, day=day, amount=t.amount.cast("float64")
    )
    per = hold.group_by("_key").aggregate(
        _days=hold.day.nunique().cast("int64"), _spend=money_sum(hold.amount)
    )
    if backend_name(t) in NO_KEYED_STRING_JOIN:  # no keyed string join there
        joined = stack_by_customer(cal, per.rename(customer_id="_key"))
    else:
        joined = cal.left_join(per, cal.customer_id == per._key)
    n_days = joined._days.fill_null(0).cast("int64")
    duration = float((obs_end - cal_end).days) / float(unit)
    out = joined.select(
        *cal.columns,
        frequency_holdout=n_days,
        monetary_holdout=ibis.ifelse(
            n_days > 0,
            joined._spend.cast("float64") / n_days.cast("float64"),
            ibis.literal(0.0, "float64"),
        ),
        duration_holdout=ibis.literal(duration, "float64"),
    )
    if not money:
        out = out.drop(*MONEY_COLUMNS, "monetary_holdout")
    return out.order_by("customer_id")


def repeat_purchase_days(
    transactions: CleanResult | ir.Table,
    *,
    cohort_end: _dt.date | str,
    observation_end: _dt.date | str | None = None,
    money: bool = True,
) -> ir.Table:
    """Daily repeat purchases of the cohort acquired by ``cohort_end``: the tracking data.

    A customer's purchase occasions are distinct calendar days (as in
    :func:`customer_table`); every occasion after the first is a repeat purchase. The
    cohort is the customers whose first purchase is on or before ``cohort_end`` (the
    calibration customers); their repeat purchases are counted per calendar day over the
    whole observation period, the actual series of the papers' tracking plot [1]_.

    Parameters
    ----------
    transactions : CleanResult or ibis.Table
        The result of :func:`valuemax.clean.clean` (trusted, not scanned, as in
        :func:`calibration_holdout`), or a plain Ibis table of canonical transactions with
        ``customer_id`` and ``order_ts``, all on or before ``observation_end`` (checked
        with one aggregate query).
    cohort_end : datetime.date or str
        Last day (inclusive) a customer may be first seen to belong to the cohort.
    observation_end : datetime.date, str or None, default None
        Last day of the observation period, inclusive. None: the CleanResult's (required
        with a plain table); an explicit end earlier than the CleanResult's is checked.
    money : bool, default True
        False for a log without prices: ``amount`` is not checked (it is not used).

    Returns
    -------
    ibis.Table
        Lazy expression ordered by ``day``: ``day`` (date), ``n_repeat`` (int64, customers
        of the cohort with a repeat purchase that day). Days without one are absent.

    Raises
    ------
    InputError
        If ``observation_end`` is missing with a plain table, a column is missing or
        mistyped, ``money`` is True for the CleanResult of a log without prices, or (plain
        table, or a CleanResult given an earlier ``observation_end``) a line has a NULL
        customer/date/amount, an implausible amount or falls after ``observation_end``.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005), Marketing Science 24(2):275-284, Figure 2.

    Examples
    --------
    >>> import pyarrow as pa
    >>> from valuemax.engines import connect
    >>> con = connect(None)
    >>> days = ["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-09", "2024-01-09"]
    >>> tx = con.create_table("tx", pa.table({
    ...     "customer_id": ["a", "a", "a", "b", "b"],
    ...     "order_ts": pa.array(days).cast(pa.timestamp("us")),
    ...     "amount": [1.0, 2.0, 3.0, 4.0, 5.0]}))
    >>> out = repeat_purchase_days(tx, cohort_end="2024-01-05", observation_end="2024-01-31")
    >>> out.to_pyarrow().to_pylist()
    [{'day': datetime.date(2024, 1, 8), 'n_repeat': 1}]
    """
    cohort = as_date(cohort_end, "cohort_end")
    transactions, obs_end, scan = resolve_log(transactions, observation_end, money=money)
    check_log(transactions, obs_end, money=money, scan=scan)
    t = transactions
    days = t.select(_key=t.customer_id, day=purchase_day(t)).distinct()
    first = days.group_by("_key").aggregate(_first=days.day.min())
    joined = days.join(first, "_key")
    repeat = joined.filter((joined._first <= ibis.date(cohort)) & (joined.day > joined._first))
    return repeat.group_by("day").aggregate(
        n_repeat=repeat.count().cast("int64")).order_by("day")


def btyd_calibration(
    transactions: CleanResult | ir.Table,
    *,
    calibration_end: _dt.date | str,
    observation_end: _dt.date | str | None = None,
    time_unit: TimeUnit = "D",
    money: bool = True,
    keep: Callable[[ir.Table], ir.Table] | None = None,
) -> tuple[ir.Table, ir.Table]:
    """The BTYD columns of :func:`calibration_holdout` and :func:`repeat_purchase_days`,
    both from one table of purchase days.

    What the value step reads of the two (the purchase models' calibration/holdout
    summary, the spend model's calibration ``monetary_value`` and the tracking data),
    without the calibration table's order and line counts (a ``COUNT DISTINCT`` of orders
    over the calibration lines) and with the lines reduced to purchase days once instead
    of three times (calibration, holdout, tracking). The same definitions, so the same
    values: a purchase day's spend is the exact sum of its lines (``money_sum``) and a
    customer's repeat spend the exact sum of the spend of the days after the first, as in
    :func:`customer_table`.

    Parameters
    ----------
    transactions, calibration_end, observation_end, time_unit, money
        As in :func:`calibration_holdout` (no mode columns).
    keep : callable, optional
        Materialises the table of purchase days (one row per customer and day, with the
        day's spend) and returns it, e.g. as a table
        of the same backend: both results then read it instead of each reducing the lines
        to purchase days again (at 10M lines about a third of their work). The same values:
        the stored days are the ones the expressions would compute.

    Returns
    -------
    calibration : ibis.Table
        One row per customer first seen on or before ``calibration_end``, ordered by
        ``customer_id``: ``customer_id``, ``first_purchase``, ``frequency``, ``recency``,
        ``T``, ``monetary_value`` (with ``money``), ``frequency_holdout`` and
        ``duration_holdout``, each equal to that column of :func:`calibration_holdout`.
    tracking : ibis.Table
        :func:`repeat_purchase_days` with ``cohort_end=calibration_end``: ``day``,
        ``n_repeat``, ordered by ``day``.

    Raises
    ------
    InputError
        As :func:`calibration_holdout`.
    """
    unit = days_per_unit(time_unit)
    cal_end, transactions, obs_end, scan = _periods(transactions, calibration_end,
                                                    observation_end, money)
    check_log(transactions, obs_end, money=money, scan=scan)
    t = transactions
    end = ibis.date(cal_end)
    if money:
        lines = t.select(customer_id=t.customer_id, day=purchase_day(t),
                         amount=t.amount.cast("float64"))
        days = lines.group_by(["customer_id", "day"]).aggregate(
            spend=money_sum(lines.amount))
    else:
        days = t.select(customer_id=t.customer_id, day=purchase_day(t)).distinct()
    if keep is not None:
        days = keep(days)
    calibrated = days.day <= end
    sums = _repeat_spend_parts(days, calibrated) if money else {}
    per = days.group_by("customer_id").aggregate(
        first_purchase=days.day.min(),
        last_purchase=days.day.max(where=calibrated),
        n_days=calibrated.sum().cast("int64"),
        frequency_holdout=(~calibrated).sum().cast("int64"),
        **sums,
    )
    per = per.filter(per.first_purchase <= end)
    frequency = (per.n_days - 1).cast("int64")
    columns = {
        "customer_id": per.customer_id,
        "first_purchase": per.first_purchase,
        "frequency": frequency,
        "recency": per.last_purchase.delta(per.first_purchase, unit="day").cast("float64")
        / float(unit),
        "T": end.delta(per.first_purchase, unit="day").cast("float64") / float(unit),
    }
    if money:
        # the exact (fixed-point) sum of the calibration days' spend less the first day's:
        # the exact sum of the days after the first, as money_sum over them gives
        repeat_spend = (per.spend_cal - per.spend_first).cast("float64")
        columns["monetary_value"] = ibis.ifelse(
            frequency > 0, repeat_spend / frequency.cast("float64"),
            ibis.literal(0.0, "float64"))
    columns["frequency_holdout"] = per.frequency_holdout
    columns["duration_holdout"] = ibis.literal(float((obs_end - cal_end).days) / float(unit),
                                               "float64")
    calibration = per.select(**columns).order_by("customer_id")
    return calibration, _repeat_days(days, end)


def _repeat_spend_parts(days: ir.Table, calibrated: ir.BooleanValue) -> dict[str, Any]:
    """The per-customer aggregates whose difference is the calibration repeat spend:
    ``spend_cal``, the exact sum of the spend of the calibration days, and ``spend_first``,
    the spend of the first purchase day, both in :data:`MONEY_DECIMAL` (fixed point).

    Their difference is exactly :func:`money_sum` over the calibration days after the
    first (a fixed-point sum has no rounding; each day's spend is rounded to the same
    decimal in both), without joining each day to its customer's first day. ``days`` has
    one row per customer and day, so the first day's spend is one value (``ARG_MIN``,
    which the value step's store, DuckDB, has; Ibis has none on MySQL/MariaDB, where
    :func:`~valuemax.features.customer_table` keeps a window instead).
    """
    spend = days.spend.cast(MONEY_DECIMAL)
    return {"spend_cal": spend.sum(where=calibrated), "spend_first": spend.argmin(days.day)}


def _repeat_days(days: ir.Table, end: ir.DateValue) -> ir.Table:
    """The tracking data: repeat purchase days (after the customer's first) of the
    customers first seen on or before ``end``, counted per day (``day``, ``n_repeat``),
    ordered by ``day``.

    Each customer's first day comes from a per-customer aggregate joined to the days (a
    hash aggregate and a hash join, which DuckDB spills past its memory limit; the window
    ``MIN(day) OVER (PARTITION BY customer_id)`` held its partitions in memory and ran out
    of the store's 300 MB at 1M customers and 10M lines); only this query needs it, so
    the join runs once, inside it, and is not stored.
    """
    firsts = days.group_by("customer_id").aggregate(first_day=days.day.min())
    firsts = firsts.filter(firsts.first_day <= end).rename(_vm_first_customer="customer_id")
    joined = days.join(firsts, days.customer_id == firsts._vm_first_customer)
    repeat = joined.filter(joined.day > joined.first_day)
    return repeat.group_by("day").aggregate(
        n_repeat=repeat.count().cast("int64")).order_by("day")


def _periods(transactions: Any, calibration_end: Any, observation_end: Any,
             money: bool) -> tuple[Any, Any, Any, Any]:
    """The calibration end, the resolved log, its observation end and scan
    (:func:`resolve_log`), checking that the holdout period (calibration_end,
    observation_end] is not empty."""
    cal_end = as_date(calibration_end, "calibration_end")
    transactions, obs_end, scan = resolve_log(transactions, observation_end, money=money)
    if cal_end >= obs_end:
        raise InputError(
            f"calibration_end={cal_end.isoformat()} must be before observation_end="
            f"{obs_end.isoformat()} (the holdout period is (calibration_end, "
            "observation_end]); pass an earlier calibration_end."
        )
    return cal_end, transactions, obs_end, scan
