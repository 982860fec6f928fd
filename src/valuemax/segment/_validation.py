"""Checks on the customer table shared by the segment models (STYLE.md b.7, d).

Everything is validated once, at the public boundary, before any value is converted: the
table type, its size, the columns, their dtypes, and the values (NaN, infinite, sign).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError

#: What each RFM role means, for messages: (role, unit, rule, fix).
_ROLE_RULES: dict[str, tuple[str, str, str]] = {
    "recency": ("days since the last purchase", ">= 0", "check observation_end is not "
                "before the last purchase"),
    "frequency": ("orders per customer", ">= 1", "keep only customers with at least one "
                  "order (the customer table never has n_orders == 0)"),
    "monetary": ("spend in the log's currency", ">= 0", "returns or negative prices "
                 "left negative totals: clean with preset='standard' (or 'classic'), which "
                 "quarantines them, or drop those customers first"),
}


def example_ids(customers: pd.DataFrame, mask: np.ndarray, limit: int = 5) -> str:
    """Return up to ``limit`` example ids of the rows where ``mask`` holds, as text.

    Uses the ``customer_id`` column when present, the index otherwise.
    """
    source = customers["customer_id"] if "customer_id" in customers.columns else customers.index
    values = np.asarray(source)[np.asarray(mask, dtype=bool)][:limit]
    label = "customer_id" if "customer_id" in customers.columns else "index"
    return f"{label} " + ", ".join(str(v) for v in values)


def check_customers(
    customers: Any, columns: dict[str, str], *, who: str
) -> dict[str, np.ndarray]:
    """Validate the RFM columns of a customer table and return them as float64 arrays.

    Parameters
    ----------
    customers : pandas.DataFrame of shape (n_customers, n_columns)
        One row per customer.
    columns : dict
        Role (``"recency"``, ``"frequency"``, ``"monetary"``) -> column name.
    who : str
        The calling function, named in messages.

    Returns
    -------
    dict of str to ndarray of shape (n_customers,)
        Role -> values as float64 (converted only after every check passed).

    Raises
    ------
    InputError
        If ``customers`` is not a DataFrame or has no rows; if a column is missing (the
        message lists missing and available columns) or not numeric; if values are NaN,
        infinite, or out of range (recency < 0, frequency < 1, monetary < 0), with counts
        and up to 5 example ids.
    """
    if not isinstance(customers, pd.DataFrame):
        raise InputError(
            f"{who} needs a pandas DataFrame with one row per customer; got "
            f"{type(customers).__name__}. Convert first (e.g. table.to_pandas())."
        )
    n = len(customers)
    if n < 1:
        raise InputError(
            f"{who} needs at least 1 customer; the customer table has 0 rows. Check the "
            "cleaning report: every transaction may have been quarantined."
        )
    missing = [c for c in columns.values() if c not in customers.columns]
    if missing:
        raise InputError(
            f"{who}: column(s) {missing} not found; available columns: "
            f"{list(map(str, customers.columns))}. Build the table with "
            "valuemax.features.customer_table or pass the column names "
            "(recency=, frequency=, monetary=)."
        )
    out: dict[str, np.ndarray] = {}
    for role, col in columns.items():
        meaning, rule, fix = _ROLE_RULES[role]
        series = customers[col]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            raise InputError(
                f"{who}: column {col!r} ({role}: {meaning}) must be numeric; got dtype "
                f"{series.dtype}. Convert it with pandas.to_numeric and check the values."
            )
        isna = series.isna().to_numpy()
        if isna.any():
            raise InputError(
                f"{who}: column {col!r} ({role}) is missing for {int(isna.sum()):,} of {n:,} "
                f"customers ({example_ids(customers, isna)}). Every customer needs a "
                f"{meaning}; no value is imputed. Drop or fix those rows."
            )
        values = series.to_numpy(dtype=np.float64)
        bad_inf = ~np.isfinite(values)
        if bad_inf.any():
            raise InputError(
                f"{who}: column {col!r} ({role}) is infinite for {int(bad_inf.sum()):,} of "
                f"{n:,} customers ({example_ids(customers, bad_inf)}); expected finite "
                f"{meaning}."
            )
        bad = values < 0 if role != "frequency" else values < 1
        if bad.any():
            raise InputError(
                f"{who}: column {col!r} ({role}: {meaning}) must be {rule}; "
                f"{int(bad.sum()):,} of {n:,} customers are not "
                f"({example_ids(customers, bad)}; smallest value {values.min():g}). {fix}."
            )
        out[role] = values
    return out


def check_int(value: Any, name: str, *, minimum: int, maximum: int | None = None) -> int:
    """Return ``value`` if it is an integer within bounds.

    Raises
    ------
    InputError
        If ``value`` is not an int (bools are refused) or is out of bounds.
    """
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
    if not ok or value < minimum or (maximum is not None and value > maximum):
        upper = "" if maximum is None else f" and <= {maximum}"
        raise InputError(f"{name}={value!r} must be an integer >= {minimum}{upper}.")
    return int(value)
