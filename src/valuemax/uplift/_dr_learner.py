"""The doubly robust (DR-) learner with cross-fitted nuisance models."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from sklearn.base import clone

from valuemax._core.exceptions import InputError
from valuemax.uplift._base import (
    UpliftModel,
    default_propensity_model,
    default_regressor,
    outcome_learner,
    predict_outcome,
)
from valuemax.uplift._folds import folds


class DRLearnerUplift(UpliftModel):
    """DR-learner: regress the doubly robust pseudo-outcome on the features.

    Chosen over the X-learner because its pseudo-outcome is unbiased for the uplift when
    *either* the outcome models or the propensity is right (exactly so in a randomised
    experiment, where the propensity is the known design share), and because cross-fitting
    is part of its definition, which keeps the nuisance models' overfitting out of the final
    fit (Kennedy 2023). The X-learner's gain is on very unbalanced arms, which campaign
    holdouts rarely are once the share is known.

    On each of ``n_folds`` folds the outcome models ``mu_0, mu_1`` (and the propensity
    ``e``, unless given) are fitted on the other folds and predict the fold; then

    ``phi = mu_1 - mu_0 + t (y - mu_1) / e - (1 - t) (y - mu_0) / (1 - e)``

    and ``final_learner`` is fitted on ``(X, phi)``; ``predict`` returns its prediction.
    ``e`` is clipped to ``[clip, 1 - clip]``.

    Parameters
    ----------
    learner : scikit-learn estimator, optional
        Outcome model, cloned per arm and fold; default as in :class:`TwoModelUplift`.
    final_learner : scikit-learn regressor, optional
        Model of the pseudo-outcome; default a small ``HistGradientBoostingRegressor``.
    propensity : float or None, default None
        Known treated share of a randomised design (e.g. 0.5); None fits a logistic model of
        treatment on the features per fold (observational data).
    n_folds : int, default 5
        Cross-fitting folds, >= 2.
    clip : float, default 0.01
        Propensities are clipped to ``[clip, 1 - clip]``; in [0, 0.5).
    outcome : {"auto", "binary", "continuous"}, default "auto"
    random_state : int or None, default 0
        Seed of the folds and of the default learners.

    Attributes
    ----------
    final_model_ : fitted regressor
    propensity_range_ : tuple of float
        Smallest and largest cross-fitted propensity before clipping.
    outcome_kind_ : {"binary", "continuous"}
    n_features_in_ : int

    References
    ----------
    .. [1] Kennedy, E. H. (2023). Towards optimal doubly robust estimation of heterogeneous
       causal effects. Electronic Journal of Statistics 17(2):3008-3049.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 1, (400, 1)); t = rng.integers(0, 2, 400)
    >>> y = X[:, 0] + t * 2 * X[:, 0]        # uplift = 2 x
    >>> m = DRLearnerUplift(learner=LinearRegression(), final_learner=LinearRegression(),
    ...                     propensity=0.5).fit(X, t, y)
    >>> np.round(m.predict([[0.0], [1.0]]), 6).tolist()
    [0.0, 2.0]
    """

    def __init__(self, learner: Any = None, *, final_learner: Any = None,
                 propensity: float | None = None, n_folds: int = 5, clip: float = 0.01,
                 outcome: Literal["auto", "binary", "continuous"] = "auto",
                 random_state: Any = 0) -> None:
        self.learner = learner
        self.final_learner = final_learner
        self.propensity = propensity
        self.n_folds = n_folds
        self.clip = clip
        self.outcome = outcome
        self.random_state = random_state

    def fit(self, X: Any, treatment: Any, y: Any) -> DRLearnerUplift:
        """Cross-fit the nuisance models, build the pseudo-outcome, fit the final model.

        Parameters
        ----------
        X : array-like of shape (n_customers, n_features)
        treatment : array-like of shape (n_customers,)
            1 treated, 0 control.
        y : array-like of shape (n_customers,)

        Returns
        -------
        DRLearnerUplift
            ``self``, fitted.

        Raises
        ------
        InputError
            As :meth:`TwoModelUplift.fit`; or ``propensity`` not in (0, 1), ``clip`` not in
            [0, 0.5), ``n_folds`` < 2.
        """
        if self.propensity is not None and not 0 < self.propensity < 1:
            raise InputError(f"propensity={self.propensity!r} must be the treated share in "
                             "(0, 1), or None to estimate it.")
        if not 0 <= self.clip < 0.5:
            raise InputError(f"clip={self.clip!r} must be in [0, 0.5).")
        Xa, t, yy, kind = self._validate_fit(X, treatment, y)
        n = t.size
        mu0, mu1, e = np.empty(n), np.empty(n), np.empty(n)
        for train, test in folds(t, yy, kind, n_folds=self.n_folds,
                                 random_state=self.random_state):
            tt, yt, Xt = t[train], yy[train], Xa[train]
            for arm, out in ((1, mu1), (0, mu0)):
                model = outcome_learner(self.learner, kind, self.random_state)
                model.fit(Xt[tt == arm], yt[tt == arm])
                out[test] = predict_outcome(model, Xa[test], kind)
            if self.propensity is None:
                pm = default_propensity_model().fit(Xt, tt)
                e[test] = pm.predict_proba(Xa[test])[:, 1]
            else:
                e[test] = self.propensity
        self.propensity_range_ = (float(e.min()), float(e.max()))
        e = np.clip(e, self.clip, 1 - self.clip)
        phi = mu1 - mu0 + t * (yy - mu1) / e - (1 - t) * (yy - mu0) / (1 - e)
        final = (clone(self.final_learner) if self.final_learner is not None
                 else default_regressor(self.random_state))
        self.final_model_ = final.fit(Xa, phi)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted uplift: the final model's prediction of the pseudo-outcome.

        Parameters
        ----------
        X : array-like of shape (n_customers, n_features)

        Returns
        -------
        ndarray of shape (n_customers,)
            Probability difference (binary) or outcome units (continuous).

        Raises
        ------
        NotFittedError
            Before ``fit``.
        InputError
            If the feature count differs from ``fit``'s.
        """
        Xa = self._validate_predict(X)
        return np.asarray(self.final_model_.predict(Xa), dtype=np.float64)
