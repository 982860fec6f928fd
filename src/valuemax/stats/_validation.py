"""Checks shared by the statistics functions (STYLE.md b.7, d).

Everything is validated at the public boundary, before any value is converted: the table
type, the columns and their dtypes, infinite values, and the number of usable rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError, InsufficientData
from valuemax._core.validation import check_in_interval


def check_confidence(confidence: Any) -> float:
    """Return ``confidence`` as a float in (0, 1), else raise InputError."""
    return check_in_interval("confidence", confidence, "(0, 1)", what="a probability",
                             example="e.g. 0.95 for a 95% interval")


def is_numeric(series: pd.Series) -> bool:
    """True for int/float columns (bool, text, dates and categories are not numeric here)."""
    return bool(pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def as_vector(values: Any, name: str) -> np.ndarray:
    """A 1-d float64 array of ``values`` (NaN kept), or InputError if it is not numeric."""
    if isinstance(values, pd.DataFrame):
        raise InputError(f"{name} must be one column (1-d), got a DataFrame with "
                         f"{values.shape[1]} columns; pass df[column].")
    if isinstance(values, pd.Series):
        series = values
    else:
        arr = np.asarray(values)
        if arr.ndim != 1:
            raise InputError(f"{name} must be 1-d; got shape {arr.shape}.")
        series = pd.Series(arr)
    if not is_numeric(series):
        raise InputError(f"{name} must be numeric (int or float); got dtype {series.dtype}. "
                         "Convert it first (e.g. pd.to_numeric) or pick a numeric column.")
    arr = series.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(arr).any():
        raise InputError(f"{name} has {int(np.isinf(arr).sum()):,} infinite values; expected "
                         "finite numbers (NaN is allowed and dropped pairwise).")
    return arr


def check_frame(df: Any, who: str) -> pd.DataFrame:
    """Raise InputError unless ``df`` is a pandas DataFrame with at least one row."""
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"{who} needs a pandas DataFrame; got {type(df).__name__}. Convert "
                         "an Ibis table with .to_pyarrow().to_pandas().")
    if len(df) == 0:
        raise InputError(f"{who} got an empty DataFrame (0 rows).")
    return df


def check_columns(df: pd.DataFrame, columns: Sequence[str], who: str) -> None:
    """Raise InputError listing the missing and available columns."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{who}: column(s) {missing} not in the table; available columns: "
                         f"{list(df.columns)}.")


def as_names(value: Any, name: str) -> list[str]:
    """A list of column names from a str or a sequence of str (no duplicates)."""
    names = [value] if isinstance(value, str) else list(value) if value is not None else []
    if not names or not all(isinstance(c, str) for c in names):
        raise InputError(f"{name} must be a column name or a non-empty list of column names; "
                         f"got {value!r}.")
    dup = sorted({c for c in names if names.count(c) > 1})
    if dup:
        raise InputError(f"{name} lists column(s) {dup} more than once.")
    return names


def design(df: Any, y: str, x: Any, *, who: str) -> tuple[pd.Series, pd.DataFrame, list[str]]:
    """Validated outcome and predictors with NaN rows dropped (and counted in the notes).

    Returns the outcome as float Series, the predictors as a float DataFrame (both indexed
    like ``df``), and notes on what was dropped.
    """
    df = check_frame(df, who)
    if not isinstance(y, str):
        raise InputError(f"{who}: y must be one column name; got {y!r}.")
    xs = as_names(x, "x")
    if y in xs:
        raise InputError(f"{who}: the outcome {y!r} is also listed in x; remove it from x.")
    check_columns(df, [y, *xs], who)
    if not is_numeric(df[y]) and not pd.api.types.is_bool_dtype(df[y]):
        raise InputError(f"{who}: y={y!r} must be numeric; it has dtype {df[y].dtype}. Encode "
                         "it as numbers first.")
    bad = [c for c in xs if not is_numeric(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    if bad:
        raise InputError(f"{who}: predictor(s) {bad} are not numeric (dtypes "
                         f"{[str(df[c].dtype) for c in bad]}); encode categories as 0/1 "
                         "columns (e.g. pd.get_dummies(..., drop_first=True, dtype=float)).")
    data = pd.DataFrame({c: df[c].astype(float) if pd.api.types.is_bool_dtype(df[c])
                         else df[c] for c in [y, *xs]}, index=df.index)
    values = data.to_numpy(dtype=float, na_value=np.nan)
    inf = np.isinf(values).any(axis=0)
    if inf.any():
        cols = [c for c, b in zip(data.columns, inf, strict=True) if b]
        raise InputError(f"{who}: column(s) {cols} hold infinite values; expected finite "
                         "numbers (a log of 0 gives -inf: use log1p or drop those rows).")
    keep = ~np.isnan(values).any(axis=1)
    notes: list[str] = []
    n_drop = int((~keep).sum())
    if n_drop:
        per = {c: int(data[c].isna().sum()) for c in data.columns if data[c].isna().any()}
        notes.append(f"{n_drop:,} of {len(data):,} rows dropped for missing values "
                     f"(NaN per column: {per}).")
    data = data.loc[keep].astype(float)
    return data[y], data[xs], notes


def collinear_columns(exog: np.ndarray, names: Sequence[str]) -> list[str]:
    """Columns of ``exog`` that are linear combinations of the columns before them."""
    out: list[str] = []
    kept: list[int] = []
    for j in range(exog.shape[1]):
        cols = [*kept, j]
        if np.linalg.matrix_rank(exog[:, cols]) < len(cols):
            out.append(names[j])
        else:
            kept.append(j)
    return out


def check_design(exog: np.ndarray, names: Sequence[str], who: str, *, n_notes: str) -> None:
    """Raise InputError for too few rows or a rank-deficient (perfectly collinear) design."""
    n, k = exog.shape
    if n < k + 1:
        raise InsufficientData(f"{who}: {n:,} usable rows for {k} parameters ({', '.join(names)}); "
                         f"needs at least {k + 1} (parameters + 1). {n_notes}".strip())
    if np.linalg.matrix_rank(exog) < k:
        dup = collinear_columns(exog, names)
        const = [c for c in dup if np.ptp(exog[:, list(names).index(c)]) == 0]
        why = (f" ({', '.join(const)} constant: collinear with the intercept)" if const
               and "const" in names else "")
        raise InputError(f"{who}: the design is perfectly collinear: {', '.join(dup)} "
                         f"{'is a' if len(dup) == 1 else 'are'} linear combination(s) of the "
                         f"columns before {'it' if len(dup) == 1 else 'them'}{why}. Drop "
                         f"{'it' if len(dup) == 1 else 'them'} from x (e.g. log total_spend "
                         "= log n_orders + log avg_order_value exactly).")
