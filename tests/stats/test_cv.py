"""cross_validate(): same folds and scores as a hand loop, time order respected, errors."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import KFold, StratifiedKFold

from valuemax.exceptions import InputError
from valuemax.stats import cross_validate


def data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] - 0.5 * X[:, 1] + rng.normal(size=n) > 0).astype(int)
    return X, y


def test_stratified_kfold_equals_a_hand_loop():
    X, y = data()
    res = cross_validate(LogisticRegression(), X, y, cv=5, random_state=3)
    hand = []
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=3).split(X, y):
        m = LogisticRegression().fit(X[tr], y[tr])
        hand.append(roc_auc_score(y[te], m.predict_proba(X[te])[:, 1]))
    np.testing.assert_allclose(res.scores, hand, rtol=1e-12)
    assert res.mean == pytest.approx(np.mean(hand), rel=1e-12)
    assert res.std == pytest.approx(np.std(hand, ddof=1), rel=1e-12)
    assert "StratifiedKFold" in res.splits and "random_state=3" in res.splits
    assert sum(t for _, t in res.fold_sizes) == len(y)
    assert res.to_dict()["scoring"] == "roc_auc"


def test_seed_changes_folds_and_reproduces():
    X, y = data()
    a = cross_validate(LogisticRegression(), X, y, random_state=0)
    b = cross_validate(LogisticRegression(), X, y, random_state=0)
    c = cross_validate(LogisticRegression(), X, y, random_state=1)
    np.testing.assert_array_equal(a.scores, b.scores)
    assert not np.array_equal(a.scores, c.scores)


def test_continuous_target_uses_kfold():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    y = 2 * X["a"].to_numpy() + rng.normal(size=120)
    res = cross_validate(LinearRegression(), X, y, cv=4, scoring="r2")
    hand = [r2_score(y[te], LinearRegression().fit(X.iloc[tr], y[tr]).predict(X.iloc[te]))
            for tr, te in KFold(4, shuffle=True, random_state=0).split(X)]
    np.testing.assert_allclose(res.scores, hand, rtol=1e-12)
    assert res.splits.startswith("KFold")


class _Recorder(ClassifierMixin, BaseEstimator):
    """Remembers the latest training time it saw (via a time column in X)."""

    seen: ClassVar[list[bool]] = []

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.latest_ = float(np.max(X[:, 0]))
        return self

    def predict_proba(self, X):
        # every test time must come after every training time
        _Recorder.seen.append(bool(np.min(X[:, 0]) > self.latest_))
        p = 1 / (1 + np.exp(-X[:, 1]))
        return np.column_stack([1 - p, p])


def test_time_ordered_splits_train_on_the_past():
    X, y = data(200, seed=4)
    rng = np.random.default_rng(4)
    times = rng.permutation(200).astype(float)  # rows shuffled in time
    Xt = np.column_stack([times, X])
    _Recorder.seen = []
    res = cross_validate(_Recorder(), Xt, y, cv=4, time_order=times)
    assert _Recorder.seen == [True] * 4
    assert "TimeSeriesSplit" in res.splits
    trains = [tr for tr, _ in res.fold_sizes]
    assert trains == sorted(trains) and len(res.scores) == 4  # expanding window
    stamps = pd.to_datetime("2011-01-01") + pd.to_timedelta(times, unit="D")
    res_dt = cross_validate(_Recorder(), Xt, y, cv=4, time_order=stamps)
    np.testing.assert_array_equal(res.scores, res_dt.scores)


def test_estimator_is_not_fitted_in_place():
    X, y = data()
    est = LogisticRegression()
    cross_validate(est, X, y)
    assert not hasattr(est, "coef_")


@pytest.mark.parametrize(("n", "kwargs", "match"), [
    (4, {"cv": 5}, "at least 5 rows"),
    (5, {"cv": 5, "time_order": np.arange(5)}, "at least 6 rows"),
    (40, {"cv": 1}, "cv=1"),
    (40, {"scoring": "auc"}, "not a scikit-learn scorer"),
])
def test_bad_input(n, kwargs, match):
    X, y = data(n)
    y[:2] = [0, 1]
    with pytest.raises(InputError, match=match):
        cross_validate(LogisticRegression(), X, y, **kwargs)


def test_rare_class_and_bad_shapes():
    X, y = data(60)
    y[:] = 0
    y[:3] = 1
    with pytest.raises(InputError, match="fewer than cv=5 folds"):
        cross_validate(LogisticRegression(), X, y, cv=5)
    with pytest.raises(InputError, match="must match"):
        cross_validate(LogisticRegression(), X[:50], y, cv=5)
    with pytest.raises(InputError, match="missing values"):
        cross_validate(LinearRegression(), X, np.where(np.arange(60) == 3, np.nan, 1.0),
                       scoring="r2")
    y_time = np.r_[np.zeros(50), np.ones(10)].astype(int)  # all 1s at the end
    with pytest.raises(InputError, match="single class"):
        cross_validate(LogisticRegression(), X, y_time, cv=5, time_order=np.arange(60))
