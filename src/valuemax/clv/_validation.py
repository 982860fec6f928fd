"""Boundary checks for the CLV models (STYLE.md b.7, d): validate first, convert after.

Each check names the argument the caller passed, the rule and its unit, how many rows break
it (with up to 5 example labels: the Series index when one was passed, else row positions)
and how to fix it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax._core.validation import check_time_unit

#: Fewest repeat buyers (customers with frequency > 0, weighted) any purchase model
#: (BG/NBD, MBG/NBD, Pareto/NBD) or the Gamma-Gamma spend model is fitted on: below it
#: their 3-4 parameters are not identified and ``fit`` refuses (``InputError``).
#: :func:`valuemax.clv.choose_model` asks for twice as many (``MIN_REPEAT_BUYERS``).
MIN_REPEAT_BUYERS_TO_FIT = 10


def is_count(value: Any) -> bool:
    """Whether ``value`` is an integer >= 1 (a Python or numpy integer; ``bool`` and floats
    such as ``12.0`` are not: nothing is truncated). The callers word their own message."""
    return not isinstance(value, bool) and isinstance(value, int | np.integer) and value >= 1


def check_hyper(who: str, time_unit: Any, penalizer: Any, n_starts: Any) -> None:
    """Validate the shared hyper-parameters (at ``fit``/``from_params``, never in ``__init__``).

    Raises
    ------
    InputError
        If ``time_unit`` is not one of ``"D"``, ``"W"`` (``None``: not checked; the shared
        wording of :func:`valuemax._core.validation.check_time_unit`).
    ValueError
        If ``penalizer`` is negative or not a number, or ``n_starts`` is not an integer >= 1.
    """
    if time_unit is not None:
        check_time_unit(time_unit, who=who)
    if isinstance(penalizer, bool) or not isinstance(penalizer, int | float | np.integer
                                                     | np.floating) \
            or not np.isfinite(penalizer) or penalizer < 0:
        raise ValueError(f"{who}: penalizer must be a finite number >= 0; got {penalizer!r}")
    if not is_count(n_starts):
        raise ValueError(f"{who}: n_starts must be an integer >= 1; got {n_starts!r}")


_UNIT_NAMES = {"D": "days", "W": "weeks"}


def check_unit(who: str, expected: str, columns: dict[str, Any]) -> None:
    """Refuse columns whose ``attrs["time_unit"]`` differs from the model's time unit.

    A customer table made by ``valuemax.analyze`` carries its unit in ``attrs["time_unit"]``
    and pandas passes it on to the columns selected from it; arrays and Series without it
    are taken as they are.

    Raises
    ------
    InputError
        If a column carries a time unit other than ``expected`` (with the fix).
    """
    if not expected:
        return
    for name, value in columns.items():
        unit = getattr(value, "attrs", {}).get("time_unit") if isinstance(value, pd.Series) \
            else None
        if unit is not None and unit != expected:
            raise InputError(
                f"{who}: {name} is in time_unit={unit!r} ({_UNIT_NAMES.get(unit, unit)}, from "
                f"its customer table's attrs['time_unit']) but the model's time_unit is "
                f"{expected!r} ({_UNIT_NAMES.get(expected, expected)}); recency, T and every "
                f"horizon would be misread. Pass time_unit={unit!r} to the model (or build the "
                f"customer table with time_unit={expected!r}).")


def labels(index: pd.Index | None, mask: np.ndarray, limit: int = 5) -> str:
    where = np.flatnonzero(mask)[:limit]
    if index is None:
        return "rows " + ", ".join(str(i) for i in where)
    return f"{index.name or 'index'} " + ", ".join(str(index[i]) for i in where)


def _raw(name: str, value: Any, who: str) -> np.ndarray:
    """The values as an ndarray without any conversion of dtype."""
    arr = value.to_numpy() if isinstance(value, pd.Series) else np.asarray(value)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise InputError(f"{who}: {name} must be one-dimensional (one value per customer); got "
                         f"shape {arr.shape}. Pass a column, e.g. customers['{name}'].")
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"{who}: {name} must be numeric; got dtype {arr.dtype}. Convert the "
                         "column to numbers first (non-numeric values are never coerced).")
    return arr


def _fail(who: str, name: str, mask: np.ndarray, index: pd.Index | None, rule: str,
          fix: str) -> None:
    count = int(mask.sum())
    if count:
        raise InputError(f"{who}: {name} {rule} for {count:,} of {mask.size:,} customers "
                         f"({labels(index, mask)}). {fix}")


def check_arrays(who: str, columns: dict[str, Any]) -> tuple[dict[str, np.ndarray],
                                                             pd.Index | None]:
    """Check shapes, lengths, dtypes and finiteness; return float64 arrays and any index.

    Raises
    ------
    InputError
        If an array is not 1-D or not numeric, if lengths differ, if Series have different
        indexes, if there are no rows, or if any value is NaN or infinite (with counts and
        examples).
    """
    indexes = {n: v.index for n, v in columns.items() if isinstance(v, pd.Series)}
    index = next(iter(indexes.values()), None)
    differ = [n for n, idx in indexes.items() if not idx.equals(index)]
    if differ:
        raise InputError(f"{who}: the Series passed have different indexes ({', '.join(differ)} "
                         f"differ from {next(iter(indexes))}); values are paired by position, "
                         "so pass columns of the same customer table, or plain arrays in the "
                         "same order.")
    raw = {name: _raw(name, value, who) for name, value in columns.items()}
    lengths = {name: arr.size for name, arr in raw.items()}
    if len(set(lengths.values())) > 1:
        raise InputError(f"{who}: inputs must have one value per customer; lengths differ: "
                         f"{lengths}. Pass columns of the same customer table.")
    n = next(iter(lengths.values()))
    if n == 0:
        raise InputError(f"{who}: got 0 customers; pass at least one row.")
    for name, arr in raw.items():
        _fail(who, name, ~np.isfinite(arr), index, "is NaN or infinite",
              "Every customer needs a finite value; fill or drop those rows first.")
    return {name: arr.astype(np.float64) for name, arr in raw.items()}, index


def check_rfm(who: str, frequency: Any, recency: Any, T: Any, weights: Any = None,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, pd.Index | None]:
    """Validate BTYD sufficient statistics ``(x, t_x, T)`` and optional weights.

    Returns
    -------
    x, t_x, T, weights : ndarray of shape (n,)
        float64 copies (weights are ones when not given).
    index : pandas.Index or None
        The index of the first Series passed, to label outputs.

    Raises
    ------
    InputError
        If frequency is negative or non-integral, recency < 0, recency > T, T < 0,
        recency != 0 where frequency == 0, frequency > 0 where T == 0, or weights are
        negative. ``T == 0`` (a customer first seen at the observation end) is valid: its
        likelihood is 1 and its predictions are the population's prior ones.
    """
    cols = {"frequency": frequency, "recency": recency, "T": T}
    if weights is not None:
        cols["weights"] = weights
    arrs, index = check_arrays(who, cols)
    x, t_x, age = arrs["frequency"], arrs["recency"], arrs["T"]
    _fail(who, "frequency", x < 0, index, "is negative",
          "frequency counts repeat purchase occasions (integers >= 0).")
    _fail(who, "frequency", x != np.floor(x), index, "is not an integer",
          "frequency counts repeat purchase occasions; it is never rounded for you.")
    _fail(who, "recency", t_x < 0, index, "is negative",
          "recency is last minus first purchase time (>= 0).")
    _fail(who, "T", age < 0, index, "is negative",
          "T is observation end minus first purchase time (>= 0; 0 for a customer first "
          "seen at the observation end).")
    _fail(who, "recency", t_x > age, index, "exceeds T",
          "Both must be in the same time_unit from each customer's first purchase; check the "
          "observation end is not before the last transaction.")
    _fail(who, "recency", (x == 0) & (t_x != 0), index, "is not 0 where frequency == 0",
          "A customer without repeat purchases has recency 0 by definition.")
    _fail(who, "frequency", (age == 0) & (x > 0), index, "is above 0 where T == 0",
          "A customer first seen at the observation end cannot have repeat purchases yet.")
    w = arrs.get("weights", np.ones_like(x))
    _fail(who, "weights", w < 0, index, "is negative", "Weights count customers (>= 0).")
    if w.sum() <= 0:
        raise InputError(f"{who}: weights sum to 0; at least one customer must count.")
    return x, t_x, age, w, index


def check_horizon(who: str, t: Any) -> np.ndarray:
    """Validate a prediction horizon (finite, >= 0) and return it as float64 (any shape).

    Raises
    ------
    InputError
        If ``t`` is not numeric, not finite, or negative.
    """
    arr = np.asarray(t)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"{who}: t must be numeric; got dtype {arr.dtype}.")
    bad = ~np.isfinite(arr) | (arr < 0)
    if bad.any():
        raise InputError(f"{who}: t must be finite and >= 0 (in time_unit_); {int(bad.sum())} "
                         f"of {arr.size} values are not.")
    return arr.astype(np.float64)


def check_whole(who: str, name: str, value: Any, low: int, unit: str) -> np.ndarray:
    """``value`` (any shape) as float64 if it holds whole numbers >= ``low``.

    For counts and periods (opportunities, renewals, purchases): values are never rounded.

    Parameters
    ----------
    who, name : str
        The refusing method and the argument's name, for the message.
    value : int or array-like of any shape
        What was passed.
    low : int
        Smallest value allowed.
    unit : str
        What the numbers count (``"periods"``, ``"opportunities"``), for the message.

    Returns
    -------
    ndarray of the shape of ``value``
        float64 values.

    Raises
    ------
    InputError
        If ``value`` is not numeric (``bool`` is refused), or any value is not finite, below
        ``low`` or not whole (how many).
    """
    arr = np.asarray(value)
    if arr.dtype == bool or not (np.issubdtype(arr.dtype, np.integer)
                                 or np.issubdtype(arr.dtype, np.floating)):
        raise InputError(f"{who}: {name} must be numeric; got dtype {arr.dtype}.")
    bad = ~np.isfinite(arr) | (arr < low) | (arr != np.floor(arr))
    if bad.any():
        raise InputError(f"{who}: {name} must be whole numbers of {unit} >= {low}; "
                         f"{int(bad.sum())} of {arr.size} values are not (never rounded).")
    return arr.astype(np.float64)


def check_paired(who: str, name: str, value: Any, ref_name: str, n: int,
                 ) -> tuple[np.ndarray, pd.Index | None]:
    """One more column paired by position with ``n`` checked rows of ``ref_name``.

    Parameters
    ----------
    who : str
        The refusing function, for the message.
    name, ref_name : str
        The column's argument name and that of the column it is paired with.
    value : array-like of shape (n,)
        The column.
    n : int
        Rows of ``ref_name``.

    Returns
    -------
    values : ndarray of shape (n,)
        float64 values, as :func:`check_arrays` returns them.
    index : pandas.Index or None
        ``value``'s index when it is a Series.

    Raises
    ------
    InputError
        As :func:`check_arrays`, or if its length is not ``n``.
    """
    arrs, index = check_arrays(who, {name: value})
    arr = arrs[name]
    if arr.size != n:
        raise InputError(f"{who}: {name} has {arr.size:,} values but {ref_name} has {n:,}; "
                         "pass columns of the same customer table.")
    return arr, index


#: ``compress`` counts the combined keys in an array of one slot per possible key when there
#: are at most this many per row (plus ``_DIRECT_KEYS_MIN``): a ``bincount`` instead of a
#: hash table of the keys (at 1M rows, 8 bytes a slot: at most ~64 MB).
_DIRECT_KEYS_PER_ROW = 8
_DIRECT_KEYS_MIN = 1 << 16


def compress(columns: Any, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique rows of ``columns`` with summed ``weights`` (DESIGN.md §2).

    ``columns`` is an array of shape (n, k) or a sequence of k arrays of shape (n,) (no
    stacked copy needed); the rows come back as an array of shape (n_unique, k), in
    lexicographic order, as ``numpy.unique(axis=0)`` gives them, each one's weights summed
    in the input order. Rows with weight 0 are dropped (they do not enter the likelihood).
    """
    cols = ([columns[:, j] for j in range(columns.shape[1])]
            if isinstance(columns, np.ndarray) else [np.asarray(c) for c in columns])
    keep = weights > 0
    w = weights
    if not keep.all():
        cols, w = [c[keep] for c in cols], weights[keep]
    dtype = np.result_type(*cols)
    if w.size == 0:
        return np.empty((0, len(cols)), dtype=dtype), w
    # each column's sorted codes (hashing, pandas.factorize) combined into one integer key
    # whose order is the rows' lexicographic order: the rows np.unique(axis=0) gives, each
    # group's weights summed in the input order, ~4x faster than a lexsort of the columns
    key, span, values = np.zeros(w.size, dtype=np.int64), 1, []
    for col in cols:
        codes, uniques = _sorted_codes(col)
        span *= max(len(uniques), 1)
        if span >= 2**62:
            break
        key *= len(uniques)
        key += codes
        values.append(np.asarray(uniques))
    else:
        if span <= _DIRECT_KEYS_PER_ROW * w.size + _DIRECT_KEYS_MIN:
            # few enough keys to count them directly: the present keys in increasing
            # order and each one's weights summed in the input order, as below
            sums = np.bincount(key, weights=w, minlength=span)
            seen = np.zeros(span, dtype=bool)
            seen[key] = True
            keys = np.flatnonzero(seen)
            summed = sums[keys]
        else:
            codes, keys = pd.factorize(key, sort=True)
            keys = np.asarray(keys)
            summed = np.bincount(codes, weights=w, minlength=len(keys))
        out = np.empty((len(keys), len(cols)), dtype=dtype)
        for j in range(len(cols) - 1, -1, -1):  # the key's digits back to the values
            keys, digit = np.divmod(keys, len(values[j]))
            out[:, j] = values[j][digit]
        return out, summed.astype(w.dtype)
    # too many distinct values for one key: lexicographic sort then run starts
    rows = np.column_stack(cols)
    order = np.lexsort(rows.T[::-1])
    rows, w = rows[order], w[order]
    starts = np.flatnonzero(np.concatenate([[True], np.any(rows[1:] != rows[:-1], axis=1)]))
    return rows[starts], np.add.reduceat(w, starts)


def _sorted_codes(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pandas.factorize(column, sort=True)``, or, for whole numbers from 0 to at most
    the column's length (counts, such as frequency), the values themselves as codes with
    ``0..max`` as the uniques (some perhaps absent: ``compress`` only decodes keys that
    occur)."""
    top = column.max()
    if column.min() >= 0 and top <= column.size:
        codes = column.astype(np.int64)
        if np.array_equal(codes, column):
            return codes, np.arange(top + 1, dtype=column.dtype)
    return pd.factorize(column, sort=True)


def wrap(values: np.ndarray, index: pd.Index | None) -> np.ndarray | pd.Series:
    """Return ``values`` as a Series on ``index`` when the caller passed a Series."""
    return values if index is None else pd.Series(values, index=index)
