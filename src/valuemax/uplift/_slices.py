"""Uplift in slices of the ranking: the top ``k`` share, and bins (deciles) with intervals.

A slice with no treated or no control customer has no uplift: its value is ``None`` (top
``k``) or NaN with the reason in the ``note`` column (bins) -- always stated, never silent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.uplift._validation import check_outcome, check_scores, check_treatment

Strategy = Literal["overall", "by_group"]


@dataclass(frozen=True)
class UpliftAtK:
    """Uplift among the top ``k`` share by score.

    Attributes
    ----------
    k : float
        Share targeted, in (0, 1].
    strategy : {"overall", "by_group"}
    n_treated, n_control : int
        Customers of each arm in the slice.
    mean_treated, mean_control : float or None
        Outcome mean per arm; None when the arm is empty in the slice.
    uplift : float or None
        ``mean_treated - mean_control``; None (with ``note``) when an arm is empty.
    note : str
        Empty, or why ``uplift`` is None.
    """

    k: float
    strategy: str
    n_treated: int
    n_control: int
    mean_treated: float | None
    mean_control: float | None
    uplift: float | None
    note: str


def _top(s: np.ndarray, k: float) -> np.ndarray:
    """Rows whose score is at least the ``ceil(k n)``-th highest (ties at the cut all enter)."""
    m = max(1, math.ceil(k * s.size - 1e-9))
    cut = np.sort(s)[::-1][m - 1]
    return s >= cut


def uplift_at_k(scores, treatment, y, *, k: float = 0.3,
                strategy: Strategy = "overall") -> UpliftAtK:
    """Outcome mean of treated minus control among the top ``k`` share by score.

    ``strategy="overall"`` ranks all customers together and takes the top ``ceil(k n)``;
    ``"by_group"`` takes the top ``ceil(k n_T)`` treated and ``ceil(k n_C)`` control customers
    separately (scikit-uplift ``uplift_at_k``'s two strategies). Customers tied with the last one
    taken all enter, so the result does not depend on the row order.

    Parameters
    ----------
    scores, treatment, y : array-like of shape (n_customers,)
        Predicted uplift; 1 treated / 0 control; outcome.
    k : float, default 0.3
        Share targeted, in (0, 1].
    strategy : {"overall", "by_group"}, default "overall"

    Returns
    -------
    UpliftAtK

    Raises
    ------
    InputError
        If ``k`` is outside (0, 1], ``strategy`` is unknown, or the inputs are invalid.

    Examples
    --------
    >>> r = uplift_at_k([0.9, 0.6, 0.3, 0.1], [1, 0, 1, 0], [1, 0, 0, 1], k=0.5)
    >>> r.uplift, r.n_treated, r.n_control
    (1.0, 1, 1)
    >>> uplift_at_k([0.9, 0.6, 0.3, 0.1], [1, 0, 1, 0], [1, 0, 0, 1], k=0.25).note
    'no control customer among the top 25%'
    """
    if not (isinstance(k, int | float) and 0 < k <= 1):
        raise InputError(f"k={k!r} must be a share in (0, 1], e.g. k=0.3 for the top 30%.")
    if strategy not in ("overall", "by_group"):
        raise InputError(f"strategy={strategy!r} is unknown; choose 'overall' or 'by_group'.")
    t = check_treatment(treatment)
    yy, _ = check_outcome(y, t.size)
    s = check_scores(scores, t.size)
    if strategy == "overall":
        top = _top(s, k)
        top_t, top_c = top & (t == 1), top & (t == 0)
    else:
        top_t = np.zeros(t.size, bool)
        top_c = np.zeros(t.size, bool)
        top_t[t == 1] = _top(s[t == 1], k)
        top_c[t == 0] = _top(s[t == 0], k)
    n_t, n_c = int(top_t.sum()), int(top_c.sum())
    m_t = float(yy[top_t].mean()) if n_t else None
    m_c = float(yy[top_c].mean()) if n_c else None
    missing = [a for a, n in (("treated", n_t), ("control", n_c)) if n == 0]
    note = f"no {' or '.join(missing)} customer among the top {k:.0%}" if missing else ""
    up = None if missing else m_t - m_c
    return UpliftAtK(float(k), strategy, n_t, n_c, m_t, m_c, up, note)


def _welch(m_t, v_t, n_t, m_c, v_c, n_c, alpha):
    from scipy import stats

    se2 = v_t / n_t + v_c / n_c
    if se2 == 0:
        return m_t - m_c, m_t - m_c, "zero outcome variance in both arms: interval of width 0"
    df = se2**2 / ((v_t / n_t) ** 2 / (n_t - 1) + (v_c / n_c) ** 2 / (n_c - 1))
    half = stats.t.ppf(1 - alpha / 2, df) * math.sqrt(se2)
    return m_t - m_c - half, m_t - m_c + half, ""


def uplift_by_bin(scores, treatment, y, *, n_bins: int = 10, confidence: float = 0.95,
                  outcome: Literal["auto", "binary", "continuous"] = "auto") -> pd.DataFrame:
    """Uplift per bin of the ranking (deciles by default) with a confidence interval.

    Customers are ranked by score, highest first; a customer with ``r`` customers scored
    strictly higher falls in bin ``floor(r * n_bins / N)`` (0 = top), so tied customers share a
    bin and the row order never matters. Per bin: ``uplift = mean_T - mean_C``; for a binary
    outcome Newcombe's hybrid score interval for a difference of proportions (Newcombe 1998,
    method 10; defined at 0 and n responses), otherwise Welch's t interval for a difference of
    means. A bin with an empty arm (or an arm of one customer, for Welch) has NaN uplift or
    interval and the reason in ``note``.

    Parameters
    ----------
    scores, treatment, y : array-like of shape (n_customers,)
        Predicted uplift; 1 treated / 0 control; outcome.
    n_bins : int, default 10
        Number of bins, 1 <= n_bins <= n_customers.
    confidence : float, default 0.95
        Level of the intervals, in (0, 1).
    outcome : {"auto", "binary", "continuous"}, default "auto"
        Interval family; "auto" is binary when ``y`` holds only 0 and 1.

    Returns
    -------
    DataFrame
        One row per non-empty bin: ``bin, n_treated, n_control, mean_treated, mean_control,
        uplift, ci_low, ci_high, interval, note``.

    Raises
    ------
    InputError
        If ``n_bins`` or ``confidence`` is out of range, or the inputs are invalid.

    References
    ----------
    .. [1] Newcombe, R. G. (1998). Interval estimation for the difference between independent
       proportions: comparison of eleven methods. Statistics in Medicine 17:873-890.
    """
    t = check_treatment(treatment)
    yy, kind = check_outcome(y, t.size, kind=outcome)
    s = check_scores(scores, t.size)
    if not (isinstance(n_bins, int | np.integer) and 1 <= n_bins <= t.size):
        raise InputError(f"n_bins={n_bins!r} must be an integer in [1, {t.size:,}] (customers).")
    if not 0 < confidence < 1:
        raise InputError(f"confidence={confidence!r} must be in (0, 1), e.g. 0.95.")
    from statsmodels.stats.proportion import confint_proportions_2indep

    alpha = 1 - confidence
    higher = np.searchsorted(np.sort(-s), -s, side="left")  # customers scored strictly higher
    bins = (higher * n_bins) // t.size
    rows = []
    for b in np.unique(bins):
        inb = bins == b
        yt, yc = yy[inb & (t == 1)], yy[inb & (t == 0)]
        n_t, n_c = yt.size, yc.size
        m_t = float(yt.mean()) if n_t else math.nan
        m_c = float(yc.mean()) if n_c else math.nan
        lo = hi = math.nan
        missing = [a for a, n in (("treated", n_t), ("control", n_c)) if n == 0]
        if missing:
            note = f"no {' or '.join(missing)} customer in this bin: uplift undefined"
        elif kind == "binary":
            lo, hi = (float(v) for v in confint_proportions_2indep(
                yt.sum(), n_t, yc.sum(), n_c, method="newcomb", compare="diff", alpha=alpha))
            note = ""
        elif min(n_t, n_c) < 2:
            note = "an arm has one customer in this bin: no Welch interval"
        else:
            lo, hi, note = _welch(m_t, float(yt.var(ddof=1)), n_t, m_c, float(yc.var(ddof=1)),
                                  n_c, alpha)
        rows.append({"bin": int(b), "n_treated": n_t, "n_control": n_c, "mean_treated": m_t,
                     "mean_control": m_c, "uplift": m_t - m_c if not missing else math.nan,
                     "ci_low": lo, "ci_high": hi,
                     "interval": "newcombe" if kind == "binary" else "welch", "note": note})
    return pd.DataFrame(rows)
