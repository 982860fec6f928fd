"""Validation of ``clean``'s own arguments at the public boundary (STYLE.md b.7, b.8).

Choices and dates are checked with the shared vocabulary of
:mod:`valuemax._core.validation` (``check_choice``, ``check_date``).
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir

from valuemax._core.exceptions import InputError
from valuemax._core.schema import CANONICAL_COLUMNS
from valuemax.clean._report import count_noun

#: Columns ``Ingested.standardized()`` must return besides the extra columns.
STANDARDIZED_COLUMNS = ("_row_id", *CANONICAL_COLUMNS, "_parse_error")


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
    clash = [c for c in ("is_outlier", "returned_quantity") if c in extras]
    if clash:
        raise InputError(
            f"the log has column(s) {clash}, which clean() adds to the clean table; rename "
            "them in the source before reading it"
        )
    return raw, std, extras
