"""Sufficient statistics per arm, computed in the engine (DESIGN.md §2b).

One aggregate query per metric returns, per arm, the customers assigned, those with the
outcome, ``Σy``, ``Σy²`` and, for the covariates ``x``, ``Σx``, ``Σxxᵀ`` and ``Σxy`` over
the customers with the outcome. Those few numbers are all the readout, CUPED included, needs:
the rows never reach Python.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import ibis
import ibis.expr.types as ir
import numpy as np

from valuemax._core.exceptions import InputError

MetricKind = Literal["auto", "mean", "proportion"]
KINDS: tuple[str, ...] = ("auto", "mean", "proportion")


@dataclass(frozen=True)
class ArmStatistics:
    """Sufficient statistics of one metric in every arm (arrays in ``arms`` order).

    Attributes
    ----------
    metric : str
        The outcome column.
    kind : {"mean", "proportion"}
        ``"proportion"``: every outcome is 0 or 1 (a rate per customer).
    arms : tuple of str
        Arm labels, sorted.
    n_assigned : ndarray of shape (k,)
        Customers in each arm (after the quarantine).
    n : ndarray of shape (k,)
        Customers with the outcome (``n_assigned - n``: missing outcomes).
    total, total_sq : ndarray of shape (k,)
        ``Σy`` and ``Σy²`` over those customers.
    covariates : tuple of str
        Pre-treatment covariate columns (may be empty).
    sum_x : ndarray of shape (k, p)
        ``Σx`` per arm over the customers with the outcome.
    sum_xx : ndarray of shape (k, p, p)
        ``Σ x xᵀ`` per arm.
    sum_xy : ndarray of shape (k, p)
        ``Σ x y`` per arm.
    """

    metric: str
    kind: str
    arms: tuple[str, ...]
    n_assigned: np.ndarray
    n: np.ndarray
    total: np.ndarray
    total_sq: np.ndarray
    covariates: tuple[str, ...]
    sum_x: np.ndarray
    sum_xx: np.ndarray
    sum_xy: np.ndarray

    @property
    def n_missing(self) -> np.ndarray:
        """Assigned customers without the outcome, per arm."""
        return self.n_assigned - self.n


def _examples(table: ir.Table, cond: ir.BooleanValue, cols: list[str]) -> str:
    rows = table.filter(cond).select(*cols).limit(5).to_pyarrow().to_pylist()
    return "; ".join(", ".join(f"{k}={v!r}" for k, v in r.items()) for r in rows)


#: Magnitude from which a value's square (in the sums of squares) overflows float64.
HUGE = 1e150


def _too_large(v: ir.FloatingValue) -> ir.BooleanValue:
    """Infinite, or finite but so large that its square is not a float64 (NULL: False)."""
    return (v.isinf() | (v.abs() >= HUGE)).fill_null(False)


def arm_statistics(
    table: ir.Table,
    *,
    arm: str,
    metric: str,
    covariates: Sequence[str] = (),
    kind: MetricKind = "auto",
    id_column: str | None = None,
) -> ArmStatistics:
    """Sufficient statistics of ``metric`` per arm, from one aggregate query in the engine.

    Parameters
    ----------
    table : ibis.Table
        One row per customer (quarantine already applied): the arm, the outcome and the
        covariates.
    arm : str
        Arm column (any type; labels are its values as text).
    metric : str
        Numeric or boolean outcome column; NULL = outcome missing (counted in ``n_missing``).
    covariates : sequence of str, default ()
        Numeric pre-treatment columns for CUPED; NULL is not allowed.
    kind : {"auto", "mean", "proportion"}, default "auto"
        ``"proportion"`` requires every outcome to be 0 or 1; ``"auto"`` picks
        ``"proportion"`` when they all are, else ``"mean"``.
    id_column : str, optional
        Customer id column, used only to show which rows are wrong in messages.

    Returns
    -------
    ArmStatistics

    Raises
    ------
    InputError
        If ``kind`` is unknown, an outcome is infinite, ``kind="proportion"`` and some
        outcome is not 0 or 1 (negative, 2, 0.5...), or a covariate is NULL.
    """
    if kind not in KINDS:
        raise InputError(f"kind={kind!r} for metric {metric!r} is not supported; choose one of "
                         f"{', '.join(repr(k) for k in KINDS)}.")
    covs = list(covariates)
    table = table.mutate(_arm=table[arm].cast("string"))
    y = table[metric].cast("float64")
    w = ibis.ifelse(y.isnull(), 0.0, 1.0)
    xs = [table[c].cast("float64") for c in covs]
    aggs: dict[str, ir.Value] = {
        "n_assigned": table.count(), "n": y.count(), "s": y.sum(), "ss": (y * y).sum(),
        "n_not01": ibis.ifelse(y.notnull() & ~y.isin([0.0, 1.0]), 1, 0).sum(),
        "n_inf": ibis.ifelse(_too_large(y), 1, 0).sum(),
    }
    for j, xj in enumerate(xs):
        aggs[f"xinf{j}"] = ibis.ifelse(_too_large(xj), 1, 0).sum()
        aggs[f"x{j}"] = (xj * w).sum()
        aggs[f"xy{j}"] = (xj * y).sum()
        aggs[f"xnull{j}"] = ibis.ifelse(xj.isnull(), 1, 0).sum()
        for k in range(j, len(xs)):
            aggs[f"xx{j}_{k}"] = (xj * xs[k] * w).sum()
    grouped = table.group_by("_arm").aggregate(**aggs)
    frame = grouped.order_by("_arm").to_pyarrow().to_pandas()
    shown = [c for c in (id_column, arm) if c is not None]

    def total(col: str) -> int:
        return int(frame[col].fillna(0).sum())

    if total("n_inf"):
        raise InputError(f"metric {metric!r} has {total('n_inf'):,} infinite values or values "
                         f"of magnitude >= {HUGE:.0e} (their squares overflow); expected finite "
                         "numbers per customer (e.g. "
                         f"{_examples(table, _too_large(y), [*shown, metric])}).")
    for j, c in enumerate(covs):
        if total(f"xinf{j}"):
            raise InputError(
                f"covariate {c!r} has {total(f'xinf{j}'):,} infinite values or values of "
                f"magnitude >= {HUGE:.0e} (their squares overflow; e.g. "
                f"{_examples(table, _too_large(table[c].cast('float64')), [*shown, c])}); "
                "fix those rows or leave it out of covariates= / --covariate.")
        if total(f"xnull{j}"):
            raise InputError(
                f"covariate {c!r} is missing for {total(f'xnull{j}'):,} of "
                f"{total('n_assigned'):,} customers (e.g. "
                f"{_examples(table, table[c].isnull(), [*shown, c])}); CUPED needs it for "
                "every customer: fill it (0 for no pre-period activity) or leave it out of "
                "covariates= / --covariate.")
    n_not01 = total("n_not01")
    if kind == "proportion" and n_not01:
        bad = y.notnull() & ~y.isin([0.0, 1.0])
        raise InputError(
            f"metric {metric!r} is read as a rate (0 or 1 per customer) but {n_not01:,} of "
            f"{total('n'):,} outcomes are not 0 or 1 (e.g. {_examples(table, bad, [*shown, metric])}); "
            f"fix the column, or read it as a mean with {metric}:mean (--metric) / "
            f"kinds={{{metric!r}: 'mean'}}.")
    resolved = kind if kind != "auto" else ("proportion" if n_not01 == 0 else "mean")
    k, p = len(frame), len(covs)
    sum_xx = np.zeros((k, p, p))
    for j in range(p):
        for m in range(j, p):
            sum_xx[:, j, m] = sum_xx[:, m, j] = frame[f"xx{j}_{m}"].fillna(0.0).to_numpy(float)
    return ArmStatistics(
        metric=metric, kind=resolved, arms=tuple(frame["_arm"].astype(str)),
        n_assigned=frame["n_assigned"].to_numpy(np.int64), n=frame["n"].to_numpy(np.int64),
        total=frame["s"].fillna(0.0).to_numpy(float),
        total_sq=frame["ss"].fillna(0.0).to_numpy(float), covariates=tuple(covs),
        sum_x=np.column_stack([frame[f"x{j}"].fillna(0.0).to_numpy(float) for j in range(p)])
        if p else np.zeros((k, 0)),
        sum_xx=sum_xx,
        sum_xy=np.column_stack([frame[f"xy{j}"].fillna(0.0).to_numpy(float) for j in range(p)])
        if p else np.zeros((k, 0)),
    )
