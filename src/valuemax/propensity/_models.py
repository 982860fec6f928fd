"""The two learned models (scikit-learn), their time-ordered tuning and calibration.

NaN policy: HistGradientBoostingClassifier handles NaN natively (learned split direction);
the logistic pipeline imputes the median of the training rows and adds a missing-indicator
column. Numeric features enter the logit as ``sign(x) * log1p(|x|)`` then standardised (a
monotone transform that tames the heavy tails of spend and counts); categorical columns are
one-hot encoded (levels under 1% of rows pooled, unseen levels ignored).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError

#: Hyper-parameter grids searched by time-ordered cross-validation.
LOGIT_GRID: tuple[dict[str, Any], ...] = ({"C": 0.1}, {"C": 1.0})
HGB_GRID: tuple[dict[str, Any], ...] = (
    {"learning_rate": 0.05, "max_leaf_nodes": 15},
    {"learning_rate": 0.1, "max_leaf_nodes": 31},
)


class SeparationWarning(UserWarning):
    """The training classes are perfectly separated; the penalised logit stays finite."""


def _signed_log(x: Any) -> Any:
    """``sign(x) * log1p(|x|)``, multiplied in place: two temporaries instead of four (the
    permutation importance transforms ~250,000 rows at a time); the same products."""
    out = np.log1p(np.abs(x))
    out *= np.sign(x)
    return out


def make_model(kind: str, params: dict[str, Any], numeric: Sequence[str],
               categorical: Sequence[str], random_state: int) -> Any:
    """An unfitted scikit-learn pipeline for ``kind`` in {"logit", "hgb"}."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )

    if kind == "logit":
        # keep_empty_features: a feature with no value in one CV fold's older origins (e.g.
        # ipt_cv before anyone has two gaps) is imputed 0 with its indicator, not dropped
        num = make_pipeline(SimpleImputer(strategy="median", add_indicator=True,
                                          keep_empty_features=True),
                            FunctionTransformer(_signed_log, feature_names_out="one-to-one"),
                            StandardScaler())
        steps = [("num", num, list(numeric))]
        if categorical:
            cat = make_pipeline(
                SimpleImputer(strategy="constant", fill_value="(missing)"),
                OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=0.01,
                              sparse_output=False))
            steps.append(("cat", cat, list(categorical)))
        pre = ColumnTransformer(steps)
        clf = LogisticRegression(C=params["C"], max_iter=2000)
        return Pipeline([("pre", pre), ("clf", clf)])
    steps = [("num", "passthrough", list(numeric))]
    if categorical:
        enc = make_pipeline(
            SimpleImputer(strategy="constant", fill_value="(missing)"),
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                           min_frequency=0.01, max_categories=200))
        steps.append(("cat", enc, list(categorical)))
    pre = ColumnTransformer(steps)
    mask = [False] * len(numeric) + [True] * len(categorical)
    clf = HistGradientBoostingClassifier(
        learning_rate=params["learning_rate"], max_leaf_nodes=params["max_leaf_nodes"],
        max_iter=150, early_stopping=False, categorical_features=mask if categorical else None,
        random_state=random_state)
    return Pipeline([("pre", pre), ("clf", clf)])


def fit_quiet(model: Any, x: pd.DataFrame, y: np.ndarray, notes: list[str], who: str) -> Any:
    """Fit, turning scikit-learn's convergence warning into a note (not a silent pass)."""
    from sklearn.exceptions import ConvergenceWarning as SkConvergence

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SkConvergence)
        model.fit(x, y)
    for w in caught:
        if issubclass(w.category, SkConvergence):
            note = f"{who}: the solver stopped at its iteration limit ({w.message})."
            if note not in notes:
                notes.append(note)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model


def time_folds(origins: np.ndarray, y: np.ndarray, n_folds: int,
               random_state: int) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """Time-ordered folds over the origins, else stratified folds within one origin.

    With ``k >= 2`` distinct origins, fold ``i`` trains on every origin older than the
    ``i``-th newest and validates on it (expanding window, grouped by origin, as
    ``TimeSeriesSplit`` on origins). With one origin, ``StratifiedKFold(n_folds)``.

    Raises
    ------
    InputError
        If one origin has fewer rows of a class than ``n_folds``.
    """
    uniq = np.sort(np.unique(origins))
    if len(uniq) >= 2:
        folds = [(np.flatnonzero(origins < o), np.flatnonzero(origins == o)) for o in uniq[1:]]
        folds = [(tr, va) for tr, va in folds if len(np.unique(y[tr])) == 2
                 and len(np.unique(y[va])) == 2]
        if folds:
            return folds, (f"time-ordered CV over {len(uniq)} origins: {len(folds)} fold(s), "
                           "each trained on the older origins and validated on the next")
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(y.astype(int), minlength=2)
    if counts.min() < n_folds:
        raise InputError(
            f"too few training rows for {n_folds}-fold cross-validation: {counts[1]:,} buyers "
            f"and {counts[0]:,} non-buyers among {len(y):,} customers (each class needs >= "
            f"{n_folds}); use a longer log, an earlier cutoff or fewer folds (cv_folds=).")
    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    folds = list(skf.split(np.zeros(len(y)), y))
    return folds, (f"one usable origin: stratified {n_folds}-fold CV over its customers "
                   "(no time ordering possible)")


def tune(kind: str, x: pd.DataFrame, y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]],
         numeric: Sequence[str], categorical: Sequence[str], random_state: int,
         notes: list[str]) -> tuple[dict[str, Any], float, pd.DataFrame]:
    """Grid search by mean validation ROC AUC over ``folds``; returns (best, auc, table)."""
    from sklearn.metrics import roc_auc_score

    grid = LOGIT_GRID if kind == "logit" else HGB_GRID
    rows = []
    for params in grid:
        aucs = []
        for tr, va in folds:
            m = make_model(kind, params, numeric, categorical, random_state)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", SeparationWarning)
                fit_quiet(m, x.iloc[tr], y[tr], notes, kind)
            aucs.append(roc_auc_score(y[va], m.predict_proba(x.iloc[va])[:, 1]))
        rows.append({"model": kind, **params, "cv_auc": float(np.mean(aucs)),
                     "cv_auc_sd": float(np.std(aucs))})
    table = pd.DataFrame(rows)
    best = int(np.argmax(table["cv_auc"].to_numpy()))
    return dict(grid[best]), float(table["cv_auc"].iloc[best]), table


#: Folds of ``CalibratedClassifierCV`` (fewer when the smaller class has fewer rows).
CALIBRATION_FOLDS = 3
#: Rows of the smaller class from which isotonic (not sigmoid) calibration is used.
ISOTONIC_MIN_ROWS = 500
#: Gradient boosting needs at least this many training rows ...
HGB_MIN_ROWS = 200
#: ... and this many rows of each class: scikit-learn's default ``min_samples_leaf`` (20), so a
#: leaf can hold the smaller class; below either, the step is logit only (stated).
HGB_MIN_CLASS_ROWS = 20


def hgb_applicable(y: np.ndarray) -> str:
    """``""`` when gradient boosting can be fitted on labels ``y``, else the stated reason.

    Below :data:`HGB_MIN_ROWS` rows, or :data:`HGB_MIN_CLASS_ROWS` rows of the smaller class,
    trees whose leaves hold at least 20 rows (scikit-learn's default) have one or two splits:
    gradient boosting is left out and the logistic model alone is tuned and calibrated.

    Examples
    --------
    >>> hgb_applicable(np.array([0, 1] * 150))
    ''
    >>> hgb_applicable(np.array([0] * 140 + [1] * 10))[:60]
    'gradient boosting left out: 150 training rows with 10 buyers'
    """
    y = np.asarray(y, dtype=int)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if len(y) >= HGB_MIN_ROWS and min(n0, n1) >= HGB_MIN_CLASS_ROWS:
        return ""
    return (f"gradient boosting left out: {len(y):,} training rows with {n1:,} buyers and "
            f"{n0:,} non-buyers (it needs >= {HGB_MIN_ROWS} rows and >= {HGB_MIN_CLASS_ROWS} "
            "of each class, the minimum leaf size); the logistic model alone is tuned and "
            "calibrated.")


def calibration_plan(y: np.ndarray) -> tuple[str, int]:
    """``(method, folds)`` of the probability calibration for labels ``y``.

    Isotonic when the smaller class has at least :data:`ISOTONIC_MIN_ROWS` rows (enough for
    a step function), else sigmoid (Platt); :data:`CALIBRATION_FOLDS` stratified folds, or
    as many as the smaller class has rows when that is fewer (down to 2).

    Raises
    ------
    InputError
        If a class has fewer than 2 rows (one row cannot be in both a fitting and a
        calibration fold).

    Examples
    --------
    >>> calibration_plan(np.array([0] * 50 + [1] * 2))
    ('sigmoid', 2)
    >>> calibration_plan(np.array([0, 1] * 600))
    ('isotonic', 3)
    """
    counts = np.bincount(np.asarray(y, dtype=int), minlength=2)
    minority = int(counts.min())
    if minority < 2:
        raise InputError(
            f"too few rows for probability calibration: {int(counts[1]):,} buyers and "
            f"{int(counts[0]):,} non-buyers (each class needs >= 2 for 2-fold "
            "calibration); use a longer log or more customers.")
    method = "isotonic" if minority >= ISOTONIC_MIN_ROWS else "sigmoid"
    return method, min(CALIBRATION_FOLDS, minority)


def fit_calibrated(kind: str, params: dict[str, Any], x: pd.DataFrame, y: np.ndarray,
                   numeric: Sequence[str], categorical: Sequence[str], random_state: int,
                   notes: list[str]) -> tuple[Any, str, int]:
    """Fit ``kind`` with probability calibration; returns (model, method, folds).

    ``CalibratedClassifierCV`` with the method and stratified folds of
    :func:`calibration_plan` (3 folds, fewer when the smaller class has fewer rows). A logit
    whose training classes are perfectly separated raises :class:`SeparationWarning`.

    Raises
    ------
    InputError
        If a class has fewer than 2 rows (see :func:`calibration_plan`).
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold

    method, n_folds = calibration_plan(y)
    if kind == "logit":
        _warn_if_separated(make_model(kind, params, numeric, categorical, random_state),
                           x, y, params, notes)
    base = make_model(kind, params, numeric, categorical, random_state)
    cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
    cal = CalibratedClassifierCV(base, method=method, cv=cv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeparationWarning)
        fit_quiet(cal, x, y, notes, kind)
    return cal, method, n_folds


def _warn_if_separated(model: Any, x: pd.DataFrame, y: np.ndarray, params: dict[str, Any],
                       notes: list[str]) -> None:
    fit_quiet(model, x, y, notes, "logit")
    score = model.decision_function(x)
    if score[y == 1].min() > score[y == 0].max():
        msg = (f"the logistic model's training classes are perfectly separated by the features "
               f"({int(y.sum()):,} buyers, {int((1 - y).sum()):,} non-buyers): the maximum-"
               f"likelihood coefficients are infinite; the L2-penalised fit (C={params['C']}) "
               "keeps them finite, but its probabilities may be over-confident.")
        notes.append(msg)
        warnings.warn(msg, SeparationWarning, stacklevel=3)
