"""Expected incremental profit per (customer, arm) option, validated at the boundary.

The formula, its inputs and their units are stated once here; :func:`choose_targets` and the
profit curve both use :func:`option_table`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError

#: The profit formula, in words, as reported by every result.
PROFIT_FORMULA = ("expected_incremental_profit_i = margin * incremental_revenue_i "
                  "- cost_per_contact_i - cost_per_redemption * P(redeem)_i")


@dataclass(frozen=True)
class Options:
    """One row per (customer, arm) option, as arrays of shape (n_options,)."""

    customer_id: np.ndarray
    arm: np.ndarray
    profit: np.ndarray
    cost: np.ndarray
    profit_se: np.ndarray | None
    code: np.ndarray  # customer index 0..n_customers-1 (int64), in sorted customer_id order
    arm_code: np.ndarray  # arm index (int64), in sorted arm order: ties sort by integers


def _ids(values: pd.Series, mask: np.ndarray, k: int = 5) -> str:
    shown = ", ".join(str(v) for v in values[mask].head(k))
    return shown + (", ..." if int(mask.sum()) > k else "")


def _number(name: str, value: Any, *, low: float = 0.0, high: float = np.inf,
            low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InputError(f"{name}={value!r} must be a number.")
    v = float(value)
    if not np.isfinite(v) or v < low or (low_open and v == low) or v > high:
        # an unbounded side is said as a bound alone ("a finite number >= 0"), never "inf"
        where = (f"{'>' if low_open else '>='} {low:g}" if high == np.inf else
                 f"in {'(' if low_open else '['}{low:g}, {high:g}]")
        raise InputError(f"{name}={value!r} must be a finite number {where}; costs and "
                         "margins are never negative.")
    return v


def _column(frame: pd.DataFrame, name: str, keyword: str, ids: pd.Series, *,
            low: float = -np.inf, high: float = np.inf) -> np.ndarray:
    if name not in frame.columns:
        raise InputError(f"{keyword}={name!r}: column not found; available: "
                         f"{', '.join(map(str, frame.columns))}.")
    col = frame[name]
    if not (pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)):
        raise InputError(f"column {name!r} ({keyword}=) must be numeric; it is {col.dtype}. "
                         "Parse it first (valuemax does not coerce text to numbers).")
    values = col.to_numpy(dtype="float64", na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InputError(f"column {name!r} ({keyword}=) is missing or not finite for "
                         f"{int(bad.sum()):,} of {len(values):,} rows (customer_id "
                         f"{_ids(ids, bad)}); fill or remove those rows first.")
    out = (values < low) | (values > high)
    if out.any():
        where = (f">= {low:g}" if high == np.inf else f"<= {high:g}" if low == -np.inf
                 else f"in [{low:g}, {high:g}]")
        raise InputError(f"column {name!r} ({keyword}=) must be {where}; "
                         f"{int(out.sum()):,} of {len(values):,} rows do not (customer_id "
                         f"{_ids(ids, out)}).")
    return values


def _scalar_or_column(frame: pd.DataFrame, value: Any, keyword: str, ids: pd.Series,
                      *, low: float = 0.0) -> np.ndarray:
    if isinstance(value, str):
        return _column(frame, value, keyword, ids, low=low)
    return np.full(len(frame), _number(keyword, value, low=low))


def option_table(
    scores: Any,
    *,
    uplift: str,
    revenue: str | None,
    value: float | str | None,
    redeem: str | None,
    margin: float,
    cost_per_contact: float | str,
    cost_per_redemption: float,
    customer_id: str,
    arm: str | None,
    arm_label: str,
    uplift_se: str | None,
    revenue_se: str | None,
) -> Options:
    """Validate the score table and compute each option's expected incremental profit.

    Parameters and errors: see :func:`valuemax.decide.choose_targets`.
    """
    if not isinstance(scores, pd.DataFrame):
        try:
            scores = pd.DataFrame(scores)
        except (TypeError, ValueError) as exc:
            raise InputError(f"scores must be a table (pandas DataFrame or a mapping of "
                             f"columns); got {type(scores).__name__}.") from exc
    if len(scores) == 0:
        raise InputError("scores has no rows: there is no customer to target.")
    if customer_id not in scores.columns:
        raise InputError(f"customer_id={customer_id!r}: column not found; available: "
                         f"{', '.join(map(str, scores.columns))}.")
    ids = scores[customer_id]
    if ids.isna().any():
        miss = ids.isna().to_numpy()
        raise InputError(f"{int(miss.sum()):,} rows have no {customer_id!r}; every option "
                         "needs a customer id.")
    ids = ids.astype(str)
    if arm is not None:
        if arm not in scores.columns:
            raise InputError(f"arm={arm!r}: column not found; available: "
                             f"{', '.join(map(str, scores.columns))}.")
        arms = scores[arm]
        if arms.isna().any():
            raise InputError(f"{int(arms.isna().sum()):,} rows have no arm in column {arm!r} "
                             f"(customer_id {_ids(ids, arms.isna().to_numpy())}).")
        arms = arms.astype(str)
    else:
        arms = pd.Series(arm_label, index=scores.index, dtype=object)
    # ids and arms hashed once into sorted codes: the duplicate check and every later tie
    # break (customer_id, then arm, ascending as text) work on integers
    code = pd.factorize(ids, sort=True)[0].astype("int64")
    arm_code = pd.factorize(arms, sort=True)[0].astype("int64")
    dup = pd.Series(code * (int(arm_code.max()) + 1) + arm_code).duplicated(keep=False)
    if dup.any():
        what = "(customer, arm) pair" if arm is not None else "customer"
        raise InputError(f"{int(dup.sum()):,} rows repeat a {what} (customer_id "
                         f"{_ids(ids, dup.to_numpy())}); give one row per {what}"
                         + ("" if arm is not None else ", or name the offer column with arm=")
                         + ".")
    m = _number("margin", margin, low=0.0, high=1.0, low_open=True)
    r = _number("cost_per_redemption", cost_per_redemption)
    u = _column(scores, uplift, "uplift", ids, low=-1.0, high=1.0)
    if revenue is not None:
        if value is not None:
            raise InputError("give either revenue= (incremental revenue per customer) or "
                             "value= (revenue per incremental purchase, e.g. CLV), not both.")
        inc_rev = _column(scores, revenue, "revenue", ids)
    elif value is not None:
        v = _scalar_or_column(scores, value, "value", ids)
        inc_rev = u * v
    else:
        raise InputError("the incremental revenue is unknown: pass revenue= (a column of "
                         "incremental revenue per customer) or value= (revenue per "
                         "incremental purchase, a number or a column such as CLV).")
    p_redeem = u if redeem is None else _column(scores, redeem, "redeem", ids,
                                                low=0.0, high=1.0)
    if redeem is None:
        p_redeem = np.clip(u, 0.0, None)
    c = _scalar_or_column(scores, cost_per_contact, "cost_per_contact", ids)
    profit = m * inc_rev - c - r * p_redeem
    se = None
    if uplift_se is not None or revenue_se is not None:
        var = np.zeros(len(scores))
        if uplift_se is not None:
            su = _column(scores, uplift_se, "uplift_se", ids, low=0.0)
            d_u = (0.0 if revenue is not None else m * v) - (r if redeem is None else 0.0)
            var += (d_u * su) ** 2
        if revenue_se is not None:
            if revenue is None:
                raise InputError("revenue_se= needs revenue= (the column it is the standard "
                                 "error of).")
            var += (m * _column(scores, revenue_se, "revenue_se", ids, low=0.0)) ** 2
        se = np.sqrt(var)
    return Options(customer_id=ids.to_numpy(dtype=object), arm=arms.to_numpy(dtype=object),
                   profit=profit, cost=c, profit_se=se, code=code, arm_code=arm_code)
