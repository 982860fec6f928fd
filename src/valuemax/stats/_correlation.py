"""Pearson, Spearman and Kendall tau-b correlation with n, p-value and a stated interval.

The coefficients and p-values are scipy's; the confidence intervals use Fisher's z
transform with the standard error each method calls for (stated in ``ci_method``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from valuemax._core.exceptions import InputError
from valuemax._core.validation import check_choice
from valuemax.stats._validation import as_vector, check_confidence

Method = Literal["pearson", "spearman", "kendall"]
METHODS: tuple[str, ...] = ("pearson", "spearman", "kendall")

#: Fewest complete pairs per method: the Fisher z standard error needs n - 3 > 0 (Pearson,
#: Spearman) or n - 4 > 0 (Kendall).
MIN_PAIRS = {"pearson": 4, "spearman": 4, "kendall": 5}

CI_METHODS = {
    "pearson": "Fisher z, SE = 1/sqrt(n - 3)",
    "spearman": "Fisher z, SE = sqrt((1 + r²/2)/(n - 3)) (Bonett & Wright 2000)",
    "kendall": "Fisher z, SE = sqrt(0.437/(n - 4)) (Fieller, Hartley & Pearson 1957)",
}


@dataclass(frozen=True)
class CorrelationTest:
    """One correlation coefficient with its test and confidence interval.

    Attributes
    ----------
    method : {"pearson", "spearman", "kendall"}
        The coefficient (Kendall's is tau-b).
    r : float
        The coefficient, in [-1, 1].
    n : int
        Pairs used (both values present).
    p_value : float
        Two-sided p-value of H0: no association (scipy's).
    ci_low, ci_high : float
        Confidence interval bounds, in [-1, 1].
    ci_method : str
        How the interval was computed.
    confidence : float
        Confidence level of the interval.
    n_dropped : int
        Pairs dropped because one of the two values was missing.
    """

    method: str
    r: float
    n: int
    p_value: float
    ci_low: float
    ci_high: float
    ci_method: str
    confidence: float = 0.95
    n_dropped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-able dict."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def fisher_interval(r: float, se: float, confidence: float) -> tuple[float, float]:
    """``tanh(atanh(r) ± z_{(1+confidence)/2} · se)``; exact ±1 stays ±1."""
    from scipy.stats import norm

    if abs(r) >= 1.0:
        return float(np.sign(r)), float(np.sign(r))
    z = float(np.arctanh(r))
    crit = float(norm.ppf(0.5 + confidence / 2.0))
    return float(np.tanh(z - crit * se)), float(np.tanh(z + crit * se))


def fisher_se(method: str, r: float, n: int) -> float:
    """Standard error of ``atanh(r)`` for ``method`` (see ``CI_METHODS``)."""
    if method == "pearson":
        return 1.0 / np.sqrt(n - 3)
    if method == "spearman":
        return float(np.sqrt((1.0 + r * r / 2.0) / (n - 3)))
    return float(np.sqrt(0.437 / (n - 4)))


def complete_pairs(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Validated float arrays with the pairs holding a NaN removed, and how many were."""
    xa, ya = as_vector(x, "x"), as_vector(y, "y")
    if xa.shape != ya.shape:
        raise InputError(f"x and y must have the same length; got {xa.size:,} and "
                         f"{ya.size:,}.")
    keep = ~(np.isnan(xa) | np.isnan(ya))
    return xa[keep], ya[keep], int((~keep).sum())


def correlation(
    x: Any,
    y: Any,
    *,
    method: Method = "pearson",
    confidence: float = 0.95,
) -> CorrelationTest:
    """Correlation of two numeric variables with n, a p-value and a confidence interval.

    - ``"pearson"``: ``scipy.stats.pearsonr``; interval by Fisher's z with SE
      ``1/sqrt(n - 3)`` (what scipy's ``confidence_interval`` does).
    - ``"spearman"``: ``scipy.stats.spearmanr``, i.e. the Pearson correlation of the ranks,
      ties getting their average rank (not ``1 - 6 Σd²/(n(n²-1))``, which holds only without
      ties; DESIGN.md §7). Interval: Fisher z with the Bonett-Wright SE
      ``sqrt((1 + r²/2)/(n - 3))`` [1]_.
    - ``"kendall"``: tau-b, ``scipy.stats.kendalltau(variant="b")``. Interval: Fisher z with
      SE ``sqrt(0.437/(n - 4))`` [2]_.

    Pairs with a missing value in x or y are dropped (pairwise) and counted in ``n_dropped``.

    Parameters
    ----------
    x, y : array-like of shape (n,)
        Numeric values (int or float; NaN allowed and dropped pairwise).
    method : {"pearson", "spearman", "kendall"}, default "pearson"
        The coefficient.
    confidence : float, default 0.95
        Confidence level of the interval, in (0, 1).

    Returns
    -------
    CorrelationTest
        ``r``, ``n``, ``p_value`` (two-sided), ``ci_low``, ``ci_high`` and ``ci_method``.

    Raises
    ------
    InputError
        If x or y is not numeric or 1-d, holds infinite values, the lengths differ, fewer
        than 4 complete pairs remain (5 for Kendall), or x or y is constant on the complete
        pairs (the coefficient is undefined).

    References
    ----------
    .. [1] Bonett, D. G. & Wright, T. A. (2000). Sample size requirements for estimating
       Pearson, Kendall and Spearman correlations. Psychometrika 65(1):23-28.
    .. [2] Fieller, E. C., Hartley, H. O. & Pearson, E. S. (1957). Tests for rank
       correlation coefficients. I. Biometrika 44(3/4):470-481.

    Examples
    --------
    >>> res = correlation([1, 2, 3, 4, 5], [2, 1, 4, 3, 5], method="spearman")
    >>> round(res.r, 3), res.n
    (0.8, 5)
    """
    check_choice("method", method, METHODS)
    confidence = check_confidence(confidence)
    xa, ya, dropped = complete_pairs(x, y)
    return _correlation_arrays(xa, ya, method, confidence, dropped)


def spearman_from_ranks(rx: np.ndarray, ry: np.ndarray) -> tuple[float, float]:
    """Spearman's coefficient and two-sided p-value from the average ranks of x and y
    (``scipy.stats.rankdata``), computed as ``scipy.stats.spearmanr`` computes them from the
    data: ``numpy.corrcoef`` of the two rank columns, t = r·sqrt((n-2)/((1+r)(1-r))) and
    Student's t with n - 2 degrees of freedom (``scipy.special.stdtr``), so the result is the
    same to the bit (tested); a correlation matrix ranks each column once instead of once per
    pair.

    Parameters
    ----------
    rx, ry : ndarray of shape (n,)
        Average ranks of x and y over the same n >= 3 rows, neither constant, no NaN.

    Returns
    -------
    (float, float)
        The coefficient and its p-value.
    """
    from scipy import special

    rs = np.corrcoef(np.column_stack((rx, ry)), rowvar=False)[1, 0]
    dof = rx.size - 2
    with np.errstate(divide="ignore"):  # r = ±1: t is infinite, p is 0
        t = rs * np.sqrt((dof / ((rs + 1.0) * (1.0 - rs))).clip(0))
    return float(rs), float(2 * special.stdtr(dof, -np.abs(t)))


def _correlation_arrays(xa: np.ndarray, ya: np.ndarray, method: str, confidence: float,
                        dropped: int, names: tuple[str, str] = ("x", "y"),
                        ranks: tuple[np.ndarray, np.ndarray] | None = None) -> CorrelationTest:
    """The test on complete pairs ``xa``, ``ya``; ``ranks``: their average ranks, when known
    (Spearman then skips ranking them again)."""
    from scipy import stats

    n = int(xa.size)
    need = MIN_PAIRS[method]
    if n < need:
        raise InputError(
            f"{method} correlation of {names[0]} and {names[1]} needs at least {need} complete "
            f"pairs (its interval's SE divides by n - {need - 1}); got {n}"
            f"{f' after dropping {dropped:,} pairs with a missing value' if dropped else ''}.")
    for name, arr in zip(names, (xa, ya), strict=True):
        if np.ptp(arr) == 0:
            raise InputError(f"{name} is constant ({arr[0]:g}) on the {n:,} complete pairs: "
                             "a correlation with a constant is undefined. Drop that column.")
    if method == "spearman" and ranks is not None:
        statistic, pvalue = spearman_from_ranks(*ranks)
    else:
        if method == "pearson":
            res = stats.pearsonr(xa, ya)
        elif method == "spearman":
            res = stats.spearmanr(xa, ya)
        else:
            res = stats.kendalltau(xa, ya, variant="b")
        statistic, pvalue = res.statistic, res.pvalue
    r = float(np.clip(statistic, -1.0, 1.0))
    lo, hi = fisher_interval(r, fisher_se(method, r, n), confidence)
    return CorrelationTest(method=method, r=r, n=n, p_value=float(pvalue), ci_low=lo,
                           ci_high=hi, ci_method=CI_METHODS[method], confidence=confidence,
                           n_dropped=dropped)
