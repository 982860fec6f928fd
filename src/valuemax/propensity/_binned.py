"""Gradient boosting's predictions from its own binned features: the same numbers, faster.

A fitted ``HistGradientBoostingClassifier`` splits a numeric feature at thresholds that are
its bin mapper's bin edges: a row goes left at a node when ``x <= edge[b]``, and the bin
mapper puts ``x`` in the first bin ``i`` with ``x <= edge[i]`` (NaN in the missing-values
bin, which every node sends the way it sends NaN). So ``x <= edge[b]`` exactly when the
row's bin is at most ``b``: each tree reaches the same leaf from the row's bins as from its
values, and the sum of the leaves, in the same order, is the same number. scikit-learn walks
the trees on the bins itself while fitting (the early-stopping scores); there it reads one
byte a feature instead of eight, and at a million customers the scoring's tree walks (three
calibrated copies of 150 trees) took a quarter less CPU time on the bins.

:func:`binned_estimator` gives the classifier's copy that walks the trees on the bins
(scikit-learn's own code path, selected by the ``_in_fit`` flag the fit sets); it is used
only for numeric features (categorical splits use other bitsets on the bins and on the
values) and only when the copy gives the same numbers as the classifier on a few rows of
the data it is about to score (:func:`binned_members`), else the plain path is taken. The
bins of a row are a function of its own values, column by column, so a permuted copy of
the rows has the permuted bins (:mod:`~valuemax.propensity._columnwise`).
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

#: Rows on which the binned path is compared with the plain one before it is used.
CHECK_ROWS = 256


def binned_estimator(clf: Any) -> tuple[Any, Any] | None:
    """``(bin_mapper, copy)`` for a fitted numeric-only ``HistGradientBoostingClassifier``:
    ``copy.decision_function(bin_mapper.transform(z))`` walks the trees on the bins; None
    for any other estimator (or a scikit-learn without these attributes)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    if type(clf) is not HistGradientBoostingClassifier:
        return None
    mapper = getattr(clf, "_bin_mapper", None)
    cats = getattr(clf, "is_categorical_", None)
    if mapper is None or not hasattr(mapper, "missing_values_bin_idx_") or (
            cats is not None and bool(np.any(cats))):
        return None
    fast = copy.copy(clf)  # shares the fitted trees; only the flag differs
    fast._in_fit = True
    return mapper, fast


def binned_members(model: Any, x: pd.DataFrame) -> list[tuple[Any, Any, Any]] | None:
    """The calibrated copies of ``model`` as ``(preprocessing, bin_mapper, head)``, the head
    predicting on the bins; None unless ``model`` is a ``CalibratedClassifierCV`` whose
    copies are pipelines ending in a numeric-only gradient boosting and the heads give the
    model's own ``predict_proba`` on the first :data:`CHECK_ROWS` rows of ``x``."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import Pipeline

    if not isinstance(model, CalibratedClassifierCV):
        return None
    members = []
    for cal in getattr(model, "calibrated_classifiers_", []):
        est = getattr(cal, "estimator", None)
        if not isinstance(est, Pipeline) or len(est.steps) < 2:
            return None
        found = binned_estimator(est[-1])
        if found is None:
            return None
        head = copy.copy(cal)
        head.estimator = found[1]
        members.append((est[:-1], found[0], head))
    if not members:
        return None
    few = x.iloc[:CHECK_ROWS]
    try:
        same = np.array_equal(_mean_proba(members, few), model.predict_proba(few),
                              equal_nan=True)
    except (AttributeError, TypeError, ValueError):  # another scikit-learn's internals
        return None
    return members if same else None


def _passthrough(pre: Any) -> tuple[str, ...] | None:
    """The columns a preprocessing passes through unchanged, in order, when that is all it
    does (a pipeline of one ``ColumnTransformer`` of ``'passthrough'`` steps, the numeric
    gradient boosting's of :func:`~valuemax.propensity._models.make_model`); else None."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import FunctionTransformer

    steps = getattr(pre, "steps", None)
    if not steps or len(steps) != 1 or type(steps[0][1]) is not ColumnTransformer:
        return None
    cols: list[str] = []
    for _, step, names in steps[0][1].transformers_:
        if isinstance(step, str) and step == "drop":
            continue
        # 'passthrough' is fitted as a FunctionTransformer without functions
        if not (type(step) is FunctionTransformer and step.func is None
                and step.inverse_func is None) or not all(isinstance(c, str) for c in names):
            return None
        cols += names
    return tuple(cols)


def _values(x: pd.DataFrame, cols: tuple[str, ...]) -> np.ndarray:
    """``x[cols]`` as a Fortran-ordered float64 array: the passthrough's output values
    (each column cast to float64 as ``DataFrame.to_numpy`` casts it), laid out as the bin
    mapper reads them (column by column)."""
    out = np.empty((len(x), len(cols)), dtype=np.float64, order="F")
    for j, c in enumerate(cols):
        out[:, j] = x[c].to_numpy(dtype=np.float64)
    return out


def _mean_proba(members: list[tuple[Any, Any, Any]], x: pd.DataFrame) -> np.ndarray:
    """``CalibratedClassifierCV.predict_proba``: the calibrated copies' mean, in their
    order, each copy on its bins (the rows' values taken once for the copies whose
    preprocessing passes the same columns through)."""
    out = np.zeros((len(x), len(members[0][2].classes)))
    values: dict[tuple[str, ...], np.ndarray] = {}
    for pre, mapper, head in members:
        cols = _passthrough(pre)
        if cols is None:
            z = pre.transform(x)
        else:
            if cols not in values:
                values[cols] = _values(x, cols)
            z = values[cols]
        out += head.predict_proba(mapper.transform(z))
    out /= len(members)
    return out


def predict_positive(model: Any, x: pd.DataFrame,
                     members: list[tuple[Any, Any, Any]] | None = None) -> np.ndarray:
    """``model.predict_proba(x)[:, 1]``, the trees walked on the bins when ``members``
    (:func:`binned_members`) is given: the same numbers."""
    if members is None:
        return model.predict_proba(x)[:, 1]
    return _mean_proba(members, x)[:, 1]


def tree_skipping(head: Any, base: np.ndarray, fed: list[np.ndarray],
                  jobs: Any, n: int) -> Any:
    """A copy of the calibrated copy ``head`` (its estimator walking the trees on the bins,
    :func:`binned_members`) for the permutation importance's stacked copies of ``n`` rows:
    a tree that reads none of the outputs ``fed[j]`` of the permuted feature ``j`` reaches
    the same leaf on a copy's row as on the unpermuted row, so its output is taken from
    the unpermuted rows' (``base``, walked once per tree) instead of walked again. The
    leaves are added in scikit-learn's order (the baseline, then each tree in turn), so
    every copy's sum is the same number as the full walk. None when ``head`` is not such a
    copy of a binary classifier (the caller walks every tree).

    Parameters
    ----------
    head : calibrated copy
        A head of :func:`binned_members` (``head.estimator`` walks the bins).
    base : ndarray of shape (n, n_outputs)
        The unpermuted rows' bins.
    fed : list of ndarray
        Per input feature, the binned columns it feeds.
    jobs : sequence of (int, ndarray)
        The copies, in their stacked order: (feature index, row order).
    n : int
        Rows per copy.
    """
    est = getattr(head, "estimator", None)
    if est is None or not getattr(est, "_in_fit", False) or est.n_trees_per_iteration_ != 1:
        return None
    from sklearn.utils._openmp_helpers import _openmp_effective_n_threads

    missing = est._bin_mapper.missing_values_bin_idx_
    trees = [p for it in est._predictors for p in it]
    threads = _openmp_effective_n_threads()
    walked = [p.predict_binned(base, missing, threads) for p in trees]
    reads = [set(p.nodes["feature_idx"][p.nodes["is_leaf"] == 0].tolist()) for p in trees]

    def add_trees(x: np.ndarray, predictors: Any, raw: np.ndarray, is_binned: bool,
                  n_threads: int) -> None:
        # HistGradientBoosting._predict_iterations with the unchanged trees' outputs reused
        for b, (j, _) in enumerate(jobs):
            cols = set(fed[j].tolist())
            block, out = x[b * n:(b + 1) * n], raw[b * n:(b + 1) * n, 0]
            for p, done, used in zip(trees, walked, reads, strict=True):
                out += p.predict_binned(block, missing, n_threads) if used & cols else done

    fast = copy.copy(est)
    fast._predict_iterations = add_trees
    skipping = copy.copy(head)
    skipping.estimator = fast
    return skipping
