"""k-fold and time-ordered cross-validation of a scikit-learn estimator."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError


@dataclass(frozen=True)
class CVResult:
    """Scores of an estimator on held-out folds.

    Attributes
    ----------
    scores : ndarray of shape (n_splits,)
        The metric on each test fold, in fold order (time order for time-ordered splits).
    mean : float
        Mean of ``scores``.
    std : float
        Sample standard deviation of ``scores`` (ddof=1); the spread across folds.
    splits : str
        How the folds were made.
    scoring : str
        scikit-learn scorer name.
    fold_sizes : tuple of (int, int)
        (training rows, test rows) per fold.
    """

    scores: np.ndarray
    mean: float
    std: float
    splits: str
    scoring: str
    fold_sizes: tuple[tuple[int, int], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"scoring": self.scoring, "scores": [float(s) for s in self.scores],
                "mean": self.mean, "std": self.std, "splits": self.splits,
                "fold_sizes": [list(f) for f in self.fold_sizes]}


def _take(a: Any, idx: np.ndarray) -> Any:
    return a.iloc[idx] if isinstance(a, pd.DataFrame | pd.Series) else a[idx]


def cross_validate(
    estimator: Any,
    X: Any,
    y: Any,
    *,
    cv: int = 5,
    scoring: str = "roc_auc",
    time_order: Any = None,
    random_state: int = 0,
) -> CVResult:
    """Score a scikit-learn estimator on held-out folds: shuffled k-fold or time-ordered.

    - Without ``time_order``: ``StratifiedKFold`` when y is a class label (binary or
      multiclass), ``KFold`` otherwise, both shuffled with ``random_state``.
    - With ``time_order``: rows are sorted by it (stable) and split by ``TimeSeriesSplit``
      (``cv`` expanding-window folds; each model is trained on the past and tested on the
      next block, so no test row predates its training rows).

    Each fold fits a fresh ``sklearn.base.clone`` of ``estimator`` and scores it with
    ``sklearn.metrics.get_scorer(scoring)``.

    Parameters
    ----------
    estimator : scikit-learn estimator
        Unfitted; it is cloned, never modified.
    X : array-like or DataFrame of shape (n, n_features)
        Features.
    y : array-like of shape (n,)
        Target.
    cv : int, default 5
        Number of folds (>= 2).
    scoring : str, default "roc_auc"
        A scikit-learn scorer name (``sklearn.metrics.get_scorer_names()``).
    time_order : array-like of shape (n,), optional
        A time per row (datetimes or numbers, no missing values); switches to time-ordered
        splits.
    random_state : int, default 0
        Seed of the shuffled k-fold.

    Returns
    -------
    CVResult
        Scores per fold, mean, std (ddof=1), the split description.

    Raises
    ------
    InputError
        If ``cv`` < 2, lengths differ, y has missing values, there are fewer rows than folds
        (time-ordered: fewer than ``cv + 1``), a class has fewer rows than folds, the scorer
        is unknown, or a test fold holds a single class for a ranking metric.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2)); y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    >>> res = cross_validate(LogisticRegression(), X, y, cv=5)
    >>> len(res.scores), bool(0.7 < res.mean < 1.0)
    (5, True)
    """
    from sklearn.base import clone
    from sklearn.metrics import get_scorer, get_scorer_names
    from sklearn.model_selection import KFold, StratifiedKFold, TimeSeriesSplit
    from sklearn.utils.multiclass import type_of_target

    if isinstance(cv, bool) or not isinstance(cv, int | np.integer) or cv < 2:
        raise InputError(f"cv={cv!r} must be an integer number of folds >= 2.")
    if scoring not in get_scorer_names():
        raise InputError(f"scoring={scoring!r} is not a scikit-learn scorer; e.g. 'roc_auc', "
                         "'average_precision', 'neg_brier_score', 'r2', "
                         "'neg_mean_squared_error'.")
    yarr = np.asarray(y)
    n = len(yarr)
    if len(X) != n:
        raise InputError(f"X has {len(X):,} rows but y has {n:,}; they must match.")
    if pd.isna(pd.Series(yarr)).any():
        raise InputError(f"y has {int(pd.isna(pd.Series(yarr)).sum()):,} missing values; "
                         "drop those rows first.")
    kind = type_of_target(yarr)
    if time_order is not None:
        order = pd.Series(np.asarray(time_order))
        if len(order) != n:
            raise InputError(f"time_order has {len(order):,} values but y has {n:,}.")
        if order.isna().any():
            raise InputError(f"time_order has {int(order.isna().sum()):,} missing values.")
        if n < cv + 1:
            raise InputError(f"time-ordered cross-validation with cv={cv} needs at least "
                             f"{cv + 1} rows (cv + 1); got {n}. Lower cv.")
        perm = np.argsort(order.to_numpy(), kind="stable")
        splitter = TimeSeriesSplit(n_splits=cv)
        folds = [(perm[tr], perm[te]) for tr, te in splitter.split(perm)]
        splits = (f"time-ordered: rows sorted by time_order, TimeSeriesSplit with {cv} "
                  "expanding-window folds (train on the past, test on the next block)")
    else:
        if n < cv:
            raise InputError(f"{cv}-fold cross-validation needs at least {cv} rows; got {n}. "
                             "Lower cv.")
        if kind in ("binary", "multiclass"):
            labels, counts = np.unique(yarr, return_counts=True)
            if counts.min() < cv:
                raise InputError(f"class {labels[counts.argmin()]!r} of y has "
                                 f"{int(counts.min())} rows, fewer than cv={cv} folds; "
                                 "stratified folds need one per fold. Lower cv.")
            splitter = StratifiedKFold(n_splits=cv, shuffle=True, random_state=random_state)
            name = "StratifiedKFold"
        else:
            splitter = KFold(n_splits=cv, shuffle=True, random_state=random_state)
            name = "KFold"
        folds = list(splitter.split(np.zeros(n), yarr))
        splits = f"{name} with {cv} shuffled folds (random_state={random_state})"
    scorer = get_scorer(scoring)
    ranking = scoring.startswith(("roc_auc", "average_precision", "neg_log_loss"))
    scores, sizes = [], []
    for k, (tr, te) in enumerate(folds, start=1):
        if ranking and np.unique(yarr[te]).size < 2:
            raise InputError(f"test fold {k} of {len(folds)} holds a single class of y, so "
                             f"{scoring} is undefined; use fewer folds or k-fold splits.")
        if kind in ("binary", "multiclass") and np.unique(yarr[tr]).size < 2:
            raise InputError(f"training fold {k} of {len(folds)} holds a single class of y "
                             f"({len(tr):,} rows); use fewer folds.")
        model = clone(estimator).fit(_take(X, tr), yarr[tr])
        scores.append(float(scorer(model, _take(X, te), yarr[te])))
        sizes.append((len(tr), len(te)))
    arr = np.asarray(scores)
    return CVResult(scores=arr, mean=float(arr.mean()), std=float(arr.std(ddof=1)),
                    splits=splits, scoring=scoring, fold_sizes=tuple(sizes))
