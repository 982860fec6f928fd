"""What the uplift models share: the fit boundary, default learners, the fitted check."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone

from valuemax._core.exceptions import InputError, NotFittedError
from valuemax.uplift._validation import check_matrix, check_outcome, check_treatment

#: Boosting rounds of the default learners: light enough for a 2-core machine.
DEFAULT_MAX_ITER = 50


def default_classifier(random_state: Any) -> Any:
    """A small ``HistGradientBoostingClassifier`` (50 rounds, 15 leaves, no early stopping)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=DEFAULT_MAX_ITER, max_leaf_nodes=15,
                                          early_stopping=False, random_state=random_state)


def default_regressor(random_state: Any) -> Any:
    """A small ``HistGradientBoostingRegressor`` (50 rounds, 15 leaves, no early stopping)."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=DEFAULT_MAX_ITER, max_leaf_nodes=15,
                                         early_stopping=False, random_state=random_state)


def default_propensity_model() -> Any:
    """Standardised features + logistic regression (the treatment-propensity model)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))


def outcome_learner(learner: Any, kind: str, random_state: Any) -> Any:
    """A fresh clone of ``learner``, or the default for the outcome ``kind``."""
    if learner is not None:
        return clone(learner)
    return default_classifier(random_state) if kind == "binary" else default_regressor(
        random_state)


def predict_outcome(model: Any, X: np.ndarray, kind: str) -> np.ndarray:
    """P(y = 1) for a binary outcome (``predict_proba``), the prediction otherwise."""
    if kind == "binary":
        if not hasattr(model, "predict_proba"):
            raise InputError(f"learner {type(model).__name__} has no predict_proba; a binary "
                             "outcome needs a classifier (e.g. LogisticRegression).")
        proba = model.predict_proba(X)
        return proba[:, list(model.classes_).index(1.0)]
    return np.asarray(model.predict(X), dtype=np.float64)


class UpliftModel(BaseEstimator):
    """Base of the uplift models: ``fit(X, treatment, y)`` then ``predict(X)`` -> uplift."""

    def _validate_fit(self, X: Any, treatment: Any, y: Any) -> tuple[np.ndarray, np.ndarray,
                                                                   np.ndarray, str]:
        t = check_treatment(treatment)
        yy, kind = check_outcome(y, t.size, kind=getattr(self, "outcome", "auto"))
        Xa = check_matrix(X, t.size)
        for arm, name in ((1, "treated"), (0, "control")):
            if kind == "binary" and np.unique(yy[t == arm]).size < 2:
                raise InputError(f"every {name} customer has the same outcome "
                                 f"({yy[t == arm][0]:g}); a response model per arm needs "
                                 "both 0 and 1 in each arm.")
        self.n_features_in_ = Xa.shape[1]
        self.outcome_kind_ = kind
        return Xa, t, yy, kind

    def _validate_predict(self, X: Any) -> np.ndarray:
        if not hasattr(self, "outcome_kind_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call "
                                 "fit(X, treatment, y) first.")
        Xa = check_matrix(X)
        if Xa.shape[1] != self.n_features_in_:
            raise InputError(f"X has {Xa.shape[1]} features but {type(self).__name__} was "
                             f"fitted with {self.n_features_in_}; pass the same columns.")
        return Xa
