"""A correlation matrix with pairwise n, p-values, a multiple-testing correction and CIs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax._core.validation import check_choice
from valuemax.stats._correlation import CI_METHODS, METHODS, Method, _correlation_arrays
from valuemax.stats._validation import (
    check_columns,
    check_confidence,
    check_frame,
    is_numeric,
)

ADJUSTMENTS: tuple[Any, ...] = (None, "holm", "fdr_bh")


@dataclass(frozen=True)
class CorrelationMatrix:
    """Pairwise correlations of the usable columns of a table.

    Attributes
    ----------
    r : pandas.DataFrame of shape (k, k)
        Coefficients; 1 on the diagonal; symmetric.
    p : pandas.DataFrame of shape (k, k)
        Two-sided p-values; NaN on the diagonal (no test of a column with itself).
    p_adjusted : pandas.DataFrame of shape (k, k)
        p-values corrected over the k(k-1)/2 distinct pairs with ``adjust``
        (statsmodels ``multipletests``); a copy of ``p`` when ``adjust`` is None.
    n : pandas.DataFrame of shape (k, k)
        Complete pairs used per pair (non-missing count on the diagonal).
    long : pandas.DataFrame of shape (k(k-1)/2, 9)
        One row per distinct pair: ``x``, ``y``, ``r``, ``n``, ``p_value``, ``p_adjusted``,
        ``ci_low``, ``ci_high``, ``significant`` (``p_adjusted < alpha``).
    dropped : dict of str to str
        Column -> why it was left out (non-numeric, all missing, constant).
    method : str
        The coefficient.
    adjust : str or None
        The multiple-testing correction.
    confidence : float
        Confidence level of the intervals; ``alpha = 1 - confidence``.
    ci_method : str
        How the intervals were computed.
    notes : tuple of str
        Pairs that could not be computed (too few complete pairs, constant on the overlap).
    """

    r: pd.DataFrame
    p: pd.DataFrame
    p_adjusted: pd.DataFrame
    n: pd.DataFrame
    long: pd.DataFrame
    dropped: dict[str, str]
    method: str = "spearman"
    adjust: str | None = None
    confidence: float = 0.95
    ci_method: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> list[str]:
        """The columns kept, in order."""
        return [str(c) for c in self.r.columns]


def _drop_reason(series: pd.Series) -> str | None:
    if not is_numeric(series):
        return f"not numeric (dtype {series.dtype})"
    values = series.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(values).any():
        return f"{int(np.isinf(values).sum()):,} infinite values"
    ok = values[~np.isnan(values)]
    if ok.size == 0:
        return "all values missing"
    if np.ptp(ok) == 0:
        return f"constant ({ok[0]:g} in all {ok.size:,} non-missing rows)"
    return None


def _ranks(values: dict[Any, np.ndarray], method: str) -> dict[Any, np.ndarray]:
    """Spearman: the average ranks of each column without a missing value, computed once
    (a pair of two such columns has every row complete, so these are its ranks; a column
    with NaN is ranked per pair, on the pair's complete rows). Other methods: none."""
    if method != "spearman":
        return {}
    from scipy.stats import rankdata

    return {c: rankdata(v) for c, v in values.items() if not np.isnan(v).any()}


def correlation_matrix(
    df: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    method: Method = "spearman",
    adjust: Literal["holm", "fdr_bh"] | None = None,
    confidence: float = 0.95,
) -> CorrelationMatrix:
    """Pairwise correlations of a table's numeric columns, with a multiple-testing correction.

    Each pair uses its complete rows (pairwise deletion) through
    :func:`~valuemax.stats.correlation`, so every cell has its own n, p-value and interval.
    Columns that cannot be correlated (non-numeric, all missing, constant) are left out and
    listed in ``dropped`` with the reason, never silently.

    Parameters
    ----------
    df : pandas.DataFrame of shape (n_rows, n_columns)
        The table (e.g. one row per customer).
    columns : sequence of str, optional
        Columns to correlate; default every column of ``df`` (non-numeric ones are then
        listed in ``dropped``).
    method : {"spearman", "pearson", "kendall"}, default "spearman"
        The coefficient (see :func:`~valuemax.stats.correlation`).
    adjust : {None, "holm", "fdr_bh"}, default None
        Correction over the distinct pairs: Holm's step-down family-wise control or
        Benjamini-Hochberg false discovery rate, via
        ``statsmodels.stats.multitest.multipletests``.
    confidence : float, default 0.95
        Confidence level of the intervals; ``significant`` uses ``alpha = 1 - confidence``.

    Returns
    -------
    CorrelationMatrix
        Square ``r``, ``p``, ``p_adjusted``, ``n`` frames, the tidy ``long`` table and
        ``dropped``.

    Raises
    ------
    InputError
        If ``df`` is not a non-empty DataFrame, a named column is missing, an option is
        unknown, or fewer than two usable columns remain (the message lists why each was
        dropped).

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 1, 4, 3, 5],
    ...                    "c": [5, 3, 4, 1, 2], "k": [1, 1, 1, 1, 1]})
    >>> cm = correlation_matrix(df, adjust="holm")
    >>> round(float(cm.r.loc["a", "b"]), 2), cm.dropped
    (0.8, {'k': 'constant (1 in all 5 non-missing rows)'})
    """
    from statsmodels.stats.multitest import multipletests

    df = check_frame(df, "correlation_matrix")
    check_choice("method", method, METHODS)
    check_choice("adjust", adjust, ADJUSTMENTS)
    confidence = check_confidence(confidence)
    cols = list(df.columns) if columns is None else list(columns)
    check_columns(df, cols, "correlation_matrix")
    dropped: dict[str, str] = {}
    for c in cols:
        reason = _drop_reason(df[c])
        if reason is not None:
            dropped[str(c)] = reason
    keep = [c for c in cols if str(c) not in dropped]
    if len(keep) < 2:
        raise InputError(f"correlation_matrix needs at least 2 usable numeric columns; got "
                         f"{len(keep)} ({keep}). Dropped: {dropped or 'none'}.")
    values = {c: df[c].to_numpy(dtype=float, na_value=np.nan) for c in keep}
    k = len(keep)
    r = np.eye(k)
    p = np.full((k, k), np.nan)
    n = np.diag([float((~np.isnan(values[c])).sum()) for c in keep])
    rows, notes = [], []
    ranks = _ranks(values, method)
    for i in range(k):
        for j in range(i + 1, k):
            xi, xj = values[keep[i]], values[keep[j]]
            ok = ~(np.isnan(xi) | np.isnan(xj))
            n[i, j] = n[j, i] = float(ok.sum())
            ri, rj = ranks.get(keep[i]), ranks.get(keep[j])
            try:
                res = _correlation_arrays(
                    xi[ok], xj[ok], method, confidence, int((~ok).sum()),
                    (str(keep[i]), str(keep[j])),
                    ranks=(ri, rj) if ri is not None and rj is not None else None)
            except InputError as exc:
                notes.append(f"{keep[i]} × {keep[j]}: not computed: {exc}")
                rows.append((keep[i], keep[j], np.nan, int(ok.sum()), np.nan, np.nan, np.nan))
                r[i, j] = r[j, i] = np.nan
                continue
            r[i, j] = r[j, i] = res.r
            p[i, j] = p[j, i] = res.p_value
            rows.append((keep[i], keep[j], res.r, res.n, res.p_value, res.ci_low, res.ci_high))
    long = pd.DataFrame(rows, columns=["x", "y", "r", "n", "p_value", "ci_low", "ci_high"])
    long["n"] = long["n"].astype("int64")
    padj = p.copy()
    long.insert(5, "p_adjusted", long["p_value"])
    finite = np.isfinite(long["p_value"].to_numpy())
    if adjust is not None and finite.any():
        adjusted = multipletests(long.loc[finite, "p_value"].to_numpy(), alpha=1 - confidence,
                                 method=adjust)[1]
        long.loc[finite, "p_adjusted"] = adjusted
        pos = {c: i for i, c in enumerate(keep)}
        for a, b, q in zip(long.loc[finite, "x"], long.loc[finite, "y"], adjusted, strict=True):
            padj[pos[a], pos[b]] = padj[pos[b], pos[a]] = q
    long["significant"] = long["p_adjusted"] < 1 - confidence
    labels = [str(c) for c in keep]

    def frame(a: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(a, index=labels, columns=labels)

    long["x"], long["y"] = long["x"].astype(str), long["y"].astype(str)
    n_frame = frame(n).astype("int64")
    return CorrelationMatrix(
        r=frame(r), p=frame(p), p_adjusted=frame(padj), n=n_frame, long=long,
        dropped=dropped, method=method, adjust=adjust, confidence=confidence,
        ci_method=CI_METHODS[method], notes=tuple(notes))

