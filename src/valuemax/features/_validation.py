"""Argument and input checks shared by the customer-table builders (STYLE.md b.7, d).

Everything here is checked once, at the public boundary, before any expression is built:
the options (``time_unit``, dates, ``mode_columns``) from their Python values, the columns
from the table's schema, and the rows with one aggregate query (:func:`check_rows`).
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir

from valuemax._core.exceptions import InputError
from valuemax._core.schema import TIME_UNITS
from valuemax._core.validation import check_date, check_time_unit
from valuemax.clean import CleanResult
from valuemax.clean._rules import PLAUSIBLE_AMOUNT_LIMIT, implausible_amount

#: Columns the customer table is built from (``order_id`` is optional: without it every
#: line is its own order).
NEEDED_COLUMNS: tuple[str, ...] = ("customer_id", "order_ts", "amount")

#: Output columns of :func:`valuemax.features.customer_table`, in order (mode columns follow).
CUSTOMER_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "first_purchase",
    "last_purchase",
    "n_orders",
    "n_lines",
    "total_spend",
    "avg_order_value",
    "recency_days",
    "tenure_days",
    "frequency",
    "recency",
    "T",
    "monetary_value",
)

HOLDOUT_COLUMNS: tuple[str, ...] = ("frequency_holdout", "monetary_holdout", "duration_holdout")

# ibis 12 reads pandas' deprecated ``future.infer_string`` option whenever it converts to or
# from pandas (the PySpark backend always does); pandas 3 warns about it from inside ibis.
_IBIS_PANDAS3_WARNING = r"The 'future\.infer_string' option is deprecated"


def fetch_rows(expr: ir.Table) -> list[dict[str, Any]]:
    """Execute a small result on any backend and return it as a list of row dicts.

    The deprecation warning ibis 12 triggers inside its pandas conversion (PySpark backend,
    pandas 3) is silenced here only, in a local ``catch_warnings`` block.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=_IBIS_PANDAS3_WARNING, category=DeprecationWarning
        )
        return expr.to_pyarrow().to_pylist()


def days_per_unit(time_unit: Any) -> int:
    """Return the number of days in ``time_unit`` (1 for ``"D"``, 7 for ``"W"``).

    Raises
    ------
    InputError
        If ``time_unit`` is not one of the choices.
    """
    return TIME_UNITS[check_time_unit(time_unit)]


def as_date(value: Any, name: str) -> _dt.date:
    """Return ``value`` as a ``datetime.date``, refusing anything that would lose information.

    :func:`valuemax._core.validation.check_date` (the shared wording): a
    ``datetime.date``, a naive ``datetime.datetime`` (or ``pandas.Timestamp``) at midnight, or
    an ISO string ``"YYYY-MM-DD"`` (optionally ``"YYYY-MM-DD 00:00:00"``).

    Raises
    ------
    InputError
        If ``value`` is of another type, has a time of day other than midnight, carries a time
        zone, or is not an ISO date.
    """
    return check_date(name, value)


def resolve_log(
    transactions: Any, observation_end: Any, *, money: bool = True
) -> tuple[Any, _dt.date, bool]:
    """The lines, the observation end, and whether the lines need :func:`check_rows`.

    A :class:`~valuemax.clean.CleanResult` hands over its ``transactions`` and its
    ``observation_end`` (when ``observation_end`` is None) with the guarantees of
    ``clean`` (no NULL customer/date/amount, no line after its observation end, no
    ``implausible_amount``): no row scan is needed, unless an explicit ``observation_end``
    is earlier than the CleanResult's (lines may then fall after it). A plain table always
    needs the scan, and its ``observation_end``.

    Parameters
    ----------
    transactions : CleanResult or ibis.Table
        What the caller passed (anything else is refused later by :func:`check_columns`).
    observation_end : datetime.date, str or None
        The caller's value (``"YYYY-MM-DD"``); None: the CleanResult's.
    money : bool, default True
        Whether the caller reads ``amount``.

    Returns
    -------
    (ibis.Table or object, datetime.date, bool)
        The lines, the inclusive observation end, and True when :func:`check_rows` must
        run on them.

    Raises
    ------
    InputError
        If ``observation_end`` is invalid, missing with a plain table, or ``money`` is True
        for a CleanResult of a log without prices.
    """
    if isinstance(transactions, CleanResult):
        if money and not transactions.money:
            raise InputError(
                "transactions is the CleanResult of a log without prices (amount is NULL on "
                "every clean line); pass money=False to leave the money columns out, or read "
                "the log with its money column mapped (read_transactions(..., "
                "mapping={'amount': COL}), CLI --map amount=COL)."
            )
        if observation_end is None:
            return transactions.transactions, transactions.observation_end, False
        end = as_date(observation_end, "observation_end")
        return transactions.transactions, end, end < transactions.observation_end
    if observation_end is None:
        raise InputError(
            "observation_end is required with a plain table of transactions (the last day "
            "of the observation period, inclusive): pass observation_end='YYYY-MM-DD', or "
            "pass the CleanResult of valuemax.clean.clean(...), which carries it."
        )
    return transactions, as_date(observation_end, "observation_end"), True


def check_mode_columns(mode_columns: Any, table: ir.Table) -> tuple[str, ...]:
    """Return ``mode_columns`` as a tuple of existing column names.

    Raises
    ------
    InputError
        If ``mode_columns`` is a bare string, names a missing column, repeats a name, or a
        name clashes with an output column of the customer table.
    """
    if isinstance(mode_columns, str) or not isinstance(mode_columns, Sequence):
        raise InputError(
            f"mode_columns must be a sequence of column names, got {mode_columns!r}; "
            f"for one column write mode_columns=({mode_columns!r},)."
        )
    names = tuple(mode_columns)
    missing = [c for c in names if c not in table.columns]
    if missing:
        raise InputError(
            f"mode_columns names {len(missing)} column(s) not in the transactions: "
            f"{', '.join(map(repr, missing))}; available: {', '.join(table.columns)}."
        )
    reserved = set(CUSTOMER_COLUMNS) | set(HOLDOUT_COLUMNS)
    bad = [c for c in names if c in reserved or c == "customer_id"]
    if bad or len(set(names)) != len(names):
        raise InputError(
            f"mode_columns {names!r} repeats a name or clashes with an output column "
            f"({', '.join(map(repr, bad)) or 'duplicate'}); rename the source column first."
        )
    return names


def check_columns(table: Any, *, money: bool = True) -> None:
    """Check that ``table`` is an Ibis table with the needed columns and types.

    Raises
    ------
    InputError
        If ``table`` is not an ``ibis.Table``, a needed column is missing, ``order_ts`` is
        not a naive timestamp or a date, or ``amount`` is not numeric.
    """
    if not isinstance(table, ir.Table):
        raise InputError(
            f"transactions must be an ibis.Table, got {type(table).__name__}; read the log "
            "with valuemax.io.read_transactions or wrap a frame with con.create_table(...)."
        )
    needed = NEEDED_COLUMNS if money else tuple(c for c in NEEDED_COLUMNS if c != "amount")
    missing = [c for c in needed if c not in table.columns]
    if missing:
        hint = ""
        if "amount" in missing and {"quantity", "unit_price"} <= set(table.columns):
            hint = " Derive it first: t.mutate(amount=t.quantity * t.unit_price)."
        raise InputError(
            f"transactions lack column(s) {', '.join(map(repr, missing))}; available: "
            f"{', '.join(table.columns)}. Expected the canonical columns customer_id, "
            f"order_ts (timestamp), amount (float64) - see valuemax.io.{hint}"
        )
    schema = table.schema()
    ts = schema["order_ts"]
    if not (ts.is_date() or (ts.is_timestamp() and ts.timezone is None)):
        raise InputError(
            f"order_ts has type {ts}; expected a naive timestamp or a date. Parse text dates "
            "with valuemax.io and convert time-zone-aware timestamps to local time first."
        )
    if money and not schema["amount"].is_numeric():
        raise InputError(
            f"amount has type {schema['amount']}; expected a number (float64, in the log's "
            "currency). Parse it with valuemax.io."
        )
    if "order_id" in table.columns and not schema["order_id"].is_string():
        raise InputError(
            f"order_id has type {schema['order_id']}; expected a string. Cast it with "
            "t.mutate(order_id=t.order_id.cast('string'))."
        )


def check_log(table: Any, end: _dt.date, mode_columns: Any = (), *, money: bool = True,
              scan: bool = True) -> tuple[str, ...]:
    """Check a log once at a public boundary: its columns (schema only, no query), its mode
    columns and, with ``scan``, its rows in one aggregate query.

    Parameters
    ----------
    table : ibis.Table
        The lines, as :func:`resolve_log` returned them.
    end : datetime.date
        Inclusive observation end: no line may fall after it.
    mode_columns : sequence of str, default ()
        Extra columns the caller reads (:func:`check_mode_columns`).
    money : bool, default True
        Whether ``amount`` is read (checked).
    scan : bool, default True
        False for the lines of a CleanResult, which its rules already guarantee
        (:func:`resolve_log` says which).

    Returns
    -------
    tuple of str
        ``mode_columns`` as checked.

    Raises
    ------
    InputError
        As :func:`check_columns`, :func:`check_mode_columns` and :func:`check_rows`, in that
        order.
    """
    check_columns(table, money=money)
    modes = check_mode_columns(mode_columns, table)
    if scan:
        check_rows(table, end, money=money)
    return modes


def purchase_day(table: ir.Table) -> ir.DateColumn:
    """Return the calendar day of each line (``order_ts`` as a date)."""
    ts = table.order_ts
    return ts if ts.type().is_date() else ts.date()


def check_rows(table: ir.Table, observation_end: _dt.date, *, money: bool = True) -> None:
    """Count bad lines in one aggregate query and raise if there are any.

    One scan of ``table`` counts the lines, those after ``observation_end``, those with a
    NULL ``customer_id``, ``order_ts`` or ``amount`` and those whose amount is not a finite
    number below :data:`~valuemax.clean._rules.PLAUSIBLE_AMOUNT_LIMIT` in size; a second
    query (for up to 5 example customer ids) runs only when lines fail.

    Raises
    ------
    InputError
        If any line has a NULL in a needed column, an implausible amount or falls after
        ``observation_end``.
    """
    day = purchase_day(table)
    end = ibis.date(observation_end)
    counts = fetch_rows(
        table.aggregate(
            n=table.count(),
            after=(day > end).sum(),
            null_customer=table.customer_id.isnull().sum(),
            null_ts=table.order_ts.isnull().sum(),
            null_amount=table.amount.isnull().sum() if money else ibis.literal(0),
            huge=implausible_amount(table).sum() if money else ibis.literal(0),
            last=day.max(),
        )
    )[0]
    n = int(counts["n"] or 0)
    nulls = {
        col: int(counts[key] or 0)
        for col, key in (
            ("customer_id", "null_customer"),
            ("order_ts", "null_ts"),
            ("amount", "null_amount"),
        )
    }
    if any(nulls.values()):
        parts = ", ".join(f"{v:,} with NULL {k}" for k, v in nulls.items() if v)
        raise InputError(
            f"{parts} (of {n:,} transaction lines); every line needs a customer, a date and an "
            "amount. Run valuemax.clean.clean(...) first: it quarantines such lines."
        )
    huge = int(counts["huge"] or 0)
    if huge:
        bad = table.filter(implausible_amount(table))
        examples = [r["customer_id"] for r in fetch_rows(
            bad.select("customer_id").distinct().order_by("customer_id").limit(5))]
        raise InputError(
            f"{huge:,} of {n:,} transaction lines have an amount of {PLAUSIBLE_AMOUNT_LIMIT:.0e} "
            f"or more in size, or not a finite number (customer_id "
            f"{', '.join(map(str, examples))}); money is summed exactly in fixed point and "
            "such an amount is a unit or parsing error. Run valuemax.clean.clean(...) first: "
            "it quarantines them as implausible_amount."
        )
    after = int(counts["after"] or 0)
    if after:
        rows = fetch_rows(
            table.filter(day > end)
            .select("customer_id")
            .distinct()
            .order_by("customer_id")
            .limit(5)
        )
        examples = [row["customer_id"] for row in rows]
        raise InputError(
            f"{after:,} of {n:,} transaction lines fall after observation_end="
            f"{observation_end.isoformat()} (last purchase day {counts['last']}; customer_id "
            f"{', '.join(map(str, examples))}). observation_end is inclusive and must not be "
            "before the last transaction: pass a later observation_end, or run "
            "valuemax.clean.clean(..., observation_end=...) which quarantines them."
        )
