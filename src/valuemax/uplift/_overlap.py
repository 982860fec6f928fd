"""Propensity overlap: can treated and control customers be compared (observational data)?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone

from valuemax._core.exceptions import InputError
from valuemax.uplift._base import default_propensity_model
from valuemax.uplift._folds import folds
from valuemax.uplift._validation import check_matrix, check_treatment


@dataclass(frozen=True)
class OverlapCheck:
    """Cross-fitted treatment propensities and the share outside ``bounds``.

    Attributes
    ----------
    propensity : ndarray of shape (n_customers,)
        Out-of-fold P(treated | x).
    bounds : tuple of float
    n_outside : int
    share_outside : float
        ``n_outside / n``; the uplift of these customers rests on extrapolation.
    ok : bool
        True when no customer is outside ``bounds``.
    message : str
        One sentence stating the result.
    """

    propensity: np.ndarray
    bounds: tuple[float, float]
    n_outside: int
    share_outside: float
    ok: bool
    message: str


def propensity_overlap(X: Any, treatment: Any, *, bounds: tuple[float, float] = (0.05, 0.95),
                       learner: Any = None, n_folds: int = 5,
                       random_state: Any = 0) -> OverlapCheck:
    """Fit a treatment-propensity model out of fold and count customers outside ``bounds``.

    In a randomised experiment every propensity equals the design share; in observational
    data, customers with P(treated | x) near 0 or 1 have no comparable customers in the other
    arm (the positivity assumption fails; Crump et al. 2009 suggest trimming to [0.1, 0.9]).

    Parameters
    ----------
    X : array-like of shape (n_customers, n_features)
    treatment : array-like of shape (n_customers,)
        1 treated, 0 control.
    bounds : tuple of float, default (0.05, 0.95)
        ``0 < low < high < 1``.
    learner : scikit-learn classifier, optional
        Default: standardised features + ``LogisticRegression``.
    n_folds : int, default 5
    random_state : int or None, default 0
        Seed of the folds.

    Returns
    -------
    OverlapCheck

    Raises
    ------
    InputError
        If ``bounds`` is not ``0 < low < high < 1`` or the inputs are invalid.

    References
    ----------
    .. [1] Crump, R. K., Hotz, V. J., Imbens, G. W. & Mitnik, O. A. (2009). Dealing with limited
       overlap in estimation of average treatment effects. Biometrika 96(1):187-199.
    """
    low, high = bounds
    if not 0 < low < high < 1:
        raise InputError(f"bounds={bounds!r} must satisfy 0 < low < high < 1, e.g. (0.05, 0.95).")
    t = check_treatment(treatment)
    Xa = check_matrix(X, t.size)
    e = np.empty(t.size)
    for train, test in folds(t, t.astype(np.float64), "continuous", n_folds=n_folds,
                             random_state=random_state):
        model = clone(learner) if learner is not None else default_propensity_model()
        e[test] = model.fit(Xa[train], t[train]).predict_proba(Xa[test])[:, 1]
    outside = (e < low) | (e > high)
    n_out = int(outside.sum())
    share = n_out / t.size
    msg = (f"{n_out:,} of {t.size:,} customers ({share:.1%}) have a treatment propensity "
           f"outside [{low:g}, {high:g}] (range {e.min():.3f} to {e.max():.3f})"
           + ("; their uplift is extrapolated: restrict to customers inside the bounds or "
              "report it." if n_out else "; overlap holds."))
    return OverlapCheck(e, (float(low), float(high)), n_out, share, n_out == 0, msg)
