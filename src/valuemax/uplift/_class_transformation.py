"""The class-transformation uplift model (Jaskowski & Jaroszewicz 2012), binary outcomes."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone

from valuemax._core.exceptions import InputError
from valuemax.uplift._base import UpliftModel, default_classifier, predict_outcome


class ClassTransformationUplift(UpliftModel):
    """Class transformation: one classifier of ``z = t y + (1 - t)(1 - y)``; uplift = 2P(z)-1.

    With equal arms, ``P(z = 1 | x) = (1 + tau(x)) / 2`` (Jaskowski & Jaroszewicz 2012,
    eq. 3), so ``tau = 2 P(z = 1 | x) - 1``. For unequal arms the customers are weighted
    ``0.5 / p`` (treated) and ``0.5 / (1 - p)`` (control), ``p`` the treated share, which
    restores the identity (Athey & Imbens 2015's transformed outcome with a known propensity);
    the learner must accept ``sample_weight`` in ``fit``. Binary outcomes only.

    Parameters
    ----------
    learner : scikit-learn classifier, optional
        Default: a small ``HistGradientBoostingClassifier`` (50 rounds, 15 leaves).
    random_state : int or None, default 0
        Seed of the default learner.

    Attributes
    ----------
    model_ : fitted classifier of ``z``
    treated_share_ : float
        ``p``, the treated share in ``fit``.
    outcome_kind_ : "binary"
    n_features_in_ : int

    References
    ----------
    .. [1] Jaskowski, M. & Jaroszewicz, S. (2012). Uplift modeling for clinical trial data.
       ICML 2012 Workshop on Clinical Data Analysis.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0]] * 8 + [[1.0]] * 8)
    >>> t = np.array([1, 0] * 8)
    >>> y = np.array([1, 1, 0, 0] * 2 + [1, 0, 1, 0] * 2)  # uplift 0 at x=0, 1 at x=1
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> m = ClassTransformationUplift(learner=DecisionTreeClassifier()).fit(X, t, y)
    >>> m.predict([[0.0], [1.0]]).tolist()
    [0.0, 1.0]
    """

    outcome = "binary"

    def __init__(self, learner: Any = None, *, random_state: Any = 0) -> None:
        self.learner = learner
        self.random_state = random_state

    def fit(self, X: Any, treatment: Any, y: Any) -> ClassTransformationUplift:
        """Fit the classifier of the transformed class ``z``.

        Parameters
        ----------
        X : array-like of shape (n_customers, n_features)
        treatment : array-like of shape (n_customers,)
            1 treated, 0 control.
        y : array-like of shape (n_customers,)
            0/1 response.

        Returns
        -------
        ClassTransformationUplift
            ``self``, fitted.

        Raises
        ------
        InputError
            If ``y`` is not 0/1 (use :class:`TwoModelUplift` or :class:`DRLearnerUplift` for
            revenue), one arm is empty, or the inputs are invalid.
        """
        Xa, t, yy, _ = self._validate_fit(X, treatment, y)
        z = (t * yy + (1 - t) * (1 - yy)).astype(np.int64)
        p = float(t.mean())
        weight = np.where(t == 1, 0.5 / p, 0.5 / (1 - p))
        model = clone(self.learner) if self.learner is not None else default_classifier(
            self.random_state)
        try:
            model.fit(Xa, z, sample_weight=weight)
        except TypeError as exc:
            raise InputError(f"learner {type(model).__name__} does not take sample_weight in "
                             "fit, which the class transformation needs; use a classifier "
                             "that does (e.g. LogisticRegression).") from exc
        self.model_ = model
        self.treated_share_ = p
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted uplift ``2 P(z = 1 | x) - 1``, a probability difference in [-1, 1].

        Parameters
        ----------
        X : array-like of shape (n_customers, n_features)

        Returns
        -------
        ndarray of shape (n_customers,)

        Raises
        ------
        NotFittedError
            Before ``fit``.
        InputError
            If the feature count differs from ``fit``'s.
        """
        Xa = self._validate_predict(X)
        return 2.0 * predict_outcome(self.model_, Xa, "binary") - 1.0
