"""The two-model (T-learner) uplift model."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from valuemax.uplift._base import UpliftModel, outcome_learner, predict_outcome


class TwoModelUplift(UpliftModel):
    """Two-model (T-learner) uplift: one outcome model per arm, uplift = their difference.

    ``tau(x) = mu_1(x) - mu_0(x)`` where ``mu_w`` is fitted on arm ``w`` only (Künzel et al.
    2019, "T-learner"; Gutierrez & Gérardy 2017, "two-model approach"). For a binary outcome the
    ``mu_w`` are ``predict_proba`` probabilities, so the uplift is a difference of response
    probabilities; otherwise it is in the outcome's units (e.g. revenue per customer).

    Parameters
    ----------
    learner : scikit-learn estimator, optional
        Cloned once per arm. Default: a classifier (binary outcome) or regressor
        (continuous) ``HistGradientBoosting`` with 50 rounds and 15 leaves.
    outcome : {"auto", "binary", "continuous"}, default "auto"
        "auto" is binary when ``y`` holds only 0 and 1.
    random_state : int or None, default 0
        Seed of the default learners (a given ``learner`` keeps its own).

    Attributes
    ----------
    model_treated_, model_control_ : fitted estimators
    outcome_kind_ : {"binary", "continuous"}
    n_features_in_ : int

    References
    ----------
    .. [1] Künzel, S. R., Sekhon, J. S., Bickel, P. J. & Yu, B. (2019). Metalearners for
       estimating heterogeneous treatment effects using machine learning. PNAS 116(10):4156-65.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [0.0], [1.0], [2.0]])
    >>> t = np.array([1, 1, 1, 0, 0, 0])
    >>> y = np.array([1.0, 3.0, 5.0, 1.0, 2.0, 3.0])  # uplift = x exactly
    >>> m = TwoModelUplift(learner=LinearRegression()).fit(X, t, y)
    >>> np.round(m.predict([[0.0], [3.0]]), 6).tolist()
    [0.0, 3.0]
    """

    def __init__(self, learner: Any = None, *,
                 outcome: Literal["auto", "binary", "continuous"] = "auto",
                 random_state: Any = 0) -> None:
        self.learner = learner
        self.outcome = outcome
        self.random_state = random_state

    def fit(self, X: Any, treatment: Any, y: Any) -> TwoModelUplift:
        """Fit one outcome model per arm.

        Parameters
        ----------
        X : array-like of shape (n_customers, n_features)
            Pre-treatment features; finite.
        treatment : array-like of shape (n_customers,)
            1 treated, 0 control; both arms present.
        y : array-like of shape (n_customers,)
            Outcome (0/1 response or an amount).

        Returns
        -------
        TwoModelUplift
            ``self``, fitted.

        Raises
        ------
        InputError
            If one arm is empty, a value is missing, lengths differ, or (binary) an arm has
            a single outcome value.
        """
        Xa, t, yy, kind = self._validate_fit(X, treatment, y)
        self.model_treated_ = outcome_learner(self.learner, kind, self.random_state).fit(
            Xa[t == 1], yy[t == 1])
        self.model_control_ = outcome_learner(self.learner, kind, self.random_state).fit(
            Xa[t == 0], yy[t == 0])
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted uplift ``mu_1(x) - mu_0(x)``.

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
            If the feature count differs from ``fit``'s or a value is not finite.
        """
        Xa = self._validate_predict(X)
        kind = self.outcome_kind_
        return (predict_outcome(self.model_treated_, Xa, kind)
                - predict_outcome(self.model_control_, Xa, kind))
