"""Validation of ``clean``'s arguments at the public boundary (STYLE.md b.7, b.8)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

import ibis.expr.types as ir

from valuemax._core.exceptions import InputError
from valuemax._core.schema import CANONICAL_COLUMNS
from valuemax.clean._report import count_noun

#: Columns ``Ingested.standardized()`` must return besides the extra columns.
STANDARDIZED_COLUMNS = ("_row_id", *CANONICAL_COLUMNS, "_parse_error")

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``, else raise ``InputError`` listing them."""
    choices = tuple(choices)
    if not isinstance(value, str | type(None)) or value not in choices:
        raise InputError(
            f"{name}={value!r} is not a valid option; choose one of "
            f"{', '.join(repr(c) for c in choices)}"
        )
    return value


def parse_observation_end(value: Any) -> dt.date | None:
    """Return ``value`` as a ``datetime.date`` (None stays None).

    Accepts a ``datetime.date``, a naive ``datetime.datetime`` at midnight (a
    ``pandas.Timestamp`` is one) or a ``'YYYY-MM-DD'`` string. The observation end is a
    whole calendar day, inclusive.

    Raises
    ------
    InputError
        For any other type, a string not of the form ``YYYY-MM-DD`` or not a real date, a
        timezone-aware datetime (the transactions carry naive timestamps), or a datetime
        with a time of day other than 00:00 (it would be truncated to its date).
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise InputError(
                f"observation_end={value!r} has a time zone, but order_ts is naive local "
                "time; pass the calendar date, e.g. observation_end='2011-12-09'"
            )
        if value.time() != dt.time(0) or getattr(value, "nanosecond", 0):
            day = value.date().isoformat()
            raise InputError(
                f"observation_end={value!r} has a time of day ({value.time().isoformat()}), "
                f"but the observation end is a whole day, inclusive: every line dated {day} "
                f"is kept, whatever its time. Pass the date, observation_end='{day}' "
                "(or a datetime at 00:00)"
            )
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if _ISO_DATE.fullmatch(text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                pass
        raise InputError(
            f"observation_end={value!r} is not a date; expected 'YYYY-MM-DD' "
            "(e.g. '2011-12-09'), a datetime.date, or None for the date of the log's last "
            "transaction"
        )
    raise InputError(
        f"observation_end must be a datetime.date, 'YYYY-MM-DD' string or None, "
        f"got {type(value).__name__} {value!r}"
    )


def check_cancel_prefix(value: Any) -> str | None:
    """Return ``value`` if it is None or a non-empty string, else raise ``InputError``."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(
            f"cancel_prefix={value!r} must be a non-empty string (the order-id prefix of "
            "cancelled orders, e.g. 'C') or None to disable the cancellation rule"
        )
    return value


def check_codes(value: Any) -> tuple[str, ...] | None:
    """Return ``non_product_codes`` as a tuple of strings (None stays None).

    Raises
    ------
    InputError
        If ``value`` is a single string (pass a list) or holds a non-string or empty entry.
    """
    if value is None:
        return None
    if isinstance(value, str):
        raise InputError(
            f"non_product_codes={value!r} is a single string; pass a list of codes, "
            f"e.g. non_product_codes=[{value!r}]"
        )
    try:
        codes = tuple(value)
    except TypeError:
        raise InputError(
            f"non_product_codes must be a list of product codes or None, got "
            f"{type(value).__name__}"
        ) from None
    bad = [c for c in codes if not isinstance(c, str) or not c.strip() or c.strip() == "*"]
    if bad:
        raise InputError(
            f"non_product_codes holds {count_noun(len(bad), 'invalid entry', 'invalid entries')} "
            f"({bad[:5]!r}); each must be a "
            "non-empty product code, or a prefix ending in '*' such as 'gift_*'"
        )
    return codes


def check_ingested(ingested: Any) -> tuple[ir.Table, ir.Table, tuple[str, ...]]:
    """Return ``(raw, standardized, extra_columns)`` of an ``Ingested``-like object.

    Raises
    ------
    InputError
        If an attribute or a column of the contract is missing, or a column name collides
        with one ``clean`` adds (``reason``, ``is_outlier``, ``returned_quantity``).
    """
    missing = [a for a in ("raw", "con", "extra_columns", "standardized") if not hasattr(ingested, a)]
    if missing:
        raise InputError(
            f"clean() needs the result of valuemax.io.read_transactions; the object passed "
            f"({type(ingested).__name__}) lacks {', '.join(missing)}"
        )
    raw = ingested.raw
    std = ingested.standardized()
    extras = tuple(ingested.extra_columns)
    if "_row_id" not in raw.columns:
        raise InputError("the raw table has no _row_id column (1-based line number)")
    need = [*STANDARDIZED_COLUMNS, *extras]
    absent = [c for c in need if c not in std.columns]
    if absent:
        raise InputError(
            f"standardized() lacks column(s) {absent}; it has {list(std.columns)}"
        )
    if "reason" in raw.columns:
        raise InputError(
            "the log has a column named 'reason', which the quarantine table uses for the "
            "reason code; rename it in the source before reading it"
        )
    clash = [c for c in ("is_outlier", "returned_quantity") if c in extras]
    if clash:
        raise InputError(
            f"the log has column(s) {clash}, which clean() adds to the clean table; rename "
            "them in the source before reading it"
        )
    return raw, std, extras
