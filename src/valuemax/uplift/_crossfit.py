"""Cross-fitted (out-of-fold) uplift predictions."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from valuemax.uplift._folds import folds
from valuemax.uplift._validation import check_matrix, check_outcome, check_treatment


def cross_fit_predict(model: Any, X: Any, treatment: Any, y: Any, *, n_folds: int = 5,
                      random_state: Any = 0) -> np.ndarray:
    """Out-of-fold uplift: each customer scored by a clone of ``model`` fitted without them.

    Folds are a shuffled ``StratifiedKFold`` on arm (x response for a 0/1 outcome), seeded by
    ``random_state``.

    Parameters
    ----------
    model : uplift model
        :class:`TwoModelUplift`, :class:`DRLearnerUplift` or :class:`ClassTransformationUplift`
        (anything with ``fit(X, treatment, y)`` and ``predict(X)`` that ``sklearn.clone``
        copies).
    X : array-like of shape (n_customers, n_features)
    treatment : array-like of shape (n_customers,)
        1 treated, 0 control.
    y : array-like of shape (n_customers,)
    n_folds : int, default 5
    random_state : int or None, default 0

    Returns
    -------
    ndarray of shape (n_customers,)
        Out-of-fold uplift scores.

    Raises
    ------
    InputError
        If the inputs are invalid or an arm has fewer than ``n_folds`` customers.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from valuemax.uplift import TwoModelUplift
    >>> X = np.arange(20.0).reshape(-1, 1); t = np.tile([1, 0], 10); y = X[:, 0] * (1 + t)
    >>> s = cross_fit_predict(TwoModelUplift(LinearRegression()), X, t, y, n_folds=2)
    >>> bool(np.allclose(s, X[:, 0]))
    True
    """
    t = check_treatment(treatment)
    yy, kind = check_outcome(y, t.size, kind=getattr(model, "outcome", "auto"))
    Xa = check_matrix(X, t.size)
    out = np.empty(t.size)
    for train, test in folds(t, yy, kind, n_folds=n_folds, random_state=random_state):
        out[test] = clone(model).fit(Xa[train], t[train], yy[train]).predict(Xa[test])
    return out
