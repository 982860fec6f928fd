"""Permuted copies scored from one preprocessing of the holdout rows (permutation importance).

The permutation importance scores ``n_repeats x n_features`` copies of the holdout rows, each
with one column reshuffled. The models of :func:`~valuemax.propensity._models.make_model`
preprocess their input column by column and row by row (imputation, ``sign(x) log1p|x|``,
scaling, one-hot or ordinal codes, pass-through): an output column is a function of one
input column's value on the same row. So a copy whose column ``j`` is reordered by
``order`` has, after preprocessing, the outputs of column ``j`` reordered by ``order`` and
every other output unchanged. :func:`columnwise_scorer` preprocesses the rows once per
fitted preprocessing (and on a few rows, shifted, to find which outputs each input feeds),
assembles the copies' preprocessed rows from that, and runs only the model's last step
(and its calibration) on them: the numbers the whole pipeline gives on the copies, bit for
bit (the same arrays in the same layout reach the same estimator calls).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from valuemax.propensity._binned import binned_members, tree_skipping


def _leaf_columnwise(step: Any) -> bool:
    """Whether ``step`` (a fitted transformer, or ``'passthrough'``/``'drop'``) maps each
    input column to outputs that depend on that column's value on the same row only."""
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (
        FunctionTransformer,
        OneHotEncoder,
        OrdinalEncoder,
        StandardScaler,
    )

    from valuemax.propensity._models import _signed_log

    if isinstance(step, str):
        return step in ("passthrough", "drop")
    if isinstance(step, Pipeline):
        return all(_leaf_columnwise(s) for _, s in step.steps)
    if isinstance(step, FunctionTransformer):
        # func None: the identity a ColumnTransformer puts for 'passthrough'
        return step.func is None or step.func is _signed_log
    return type(step) in (SimpleImputer, StandardScaler, OneHotEncoder, OrdinalEncoder)


def _is_columnwise(pre: Any) -> bool:
    """Whether every step of the preprocessing pipeline ``pre`` works column by column."""
    from sklearn.compose import ColumnTransformer

    for _, step in pre.steps:
        if isinstance(step, ColumnTransformer):
            if not all(_leaf_columnwise(t) for _, t, _ in step.transformers_):
                return False
        elif not _leaf_columnwise(step):
            return False
    return True


def _members(model: Any) -> tuple[list[tuple[Any, Any]], str] | None:
    """The model as (preprocessing, last step) pairs and how their outputs combine.

    A :class:`~sklearn.pipeline.Pipeline`: one pair, the response is its
    ``decision_function`` (else ``predict_proba``'s positive column), as the ``roc_auc``
    scorer takes it. A ``CalibratedClassifierCV`` over pipelines: one pair per calibrated
    copy, whose last step is the calibrated copy with the pipeline's classifier in place of
    the pipeline; the response is the mean of their ``predict_proba`` (as the model's own
    ``predict_proba``). None when the model is neither, or a preprocessing is not known to
    work column by column.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.pipeline import Pipeline

    if isinstance(model, Pipeline) and len(model.steps) >= 2:
        pairs, how = [(model[:-1], model[-1])], "pipeline"
    elif isinstance(model, CalibratedClassifierCV) and all(
            # getattr: scikit-learn's calibrated copies are read, not relied upon; a
            # release without these attributes takes the whole-model path
            isinstance(getattr(c, "estimator", None), Pipeline) and len(c.estimator.steps) >= 2
            for c in getattr(model, "calibrated_classifiers_", [None])):
        pairs = []
        for cal in model.calibrated_classifiers_:
            head = copy.copy(cal)
            head.estimator = cal.estimator[-1]
            pairs.append((cal.estimator[:-1], head))
        how = "calibrated"
    else:
        return None
    if not all(_is_columnwise(pre) for pre, _ in pairs):
        return None
    return pairs, how


def _dense(z: Any) -> np.ndarray | None:
    """``z`` when it is a 2-D float ndarray, else None (sparse or object outputs)."""
    if isinstance(z, np.ndarray) and z.ndim == 2 and z.dtype.kind == "f":
        return z
    return None


def _differs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise ``a != b`` with NaN equal to NaN."""
    return ~((a == b) | (np.isnan(a) & np.isnan(b)))


def _fed_by(pre: Any, x: pd.DataFrame, z: np.ndarray) -> list[np.ndarray] | None:
    """For each input column, the output columns of ``pre`` that depend on it.

    Found on a few rows: the first row and, for each output column that is not constant, the
    first row where it differs from the first. On those rows (``pre`` works row by row, so
    their outputs are ``z``'s) each input column is shifted by one row in turn (all copies
    stacked, one transform): an output column that changes depends on that input column.
    Every output column that is not constant differs somewhere on those rows, and a
    sequence that is not constant is never equal to itself shifted by one, so none is missed;
    a constant one is the same under any reordering and is left as it is.
    """
    diff = _differs(z, z[:1])
    rows = np.unique(np.concatenate([[0], diff.argmax(axis=0)[diff.any(axis=0)]]))
    sub, zs, m = x.iloc[rows], z[rows], len(rows)
    cols = list(x.columns)
    stacked = {c: np.tile(sub[c].to_numpy(), len(cols)) for c in cols}
    for j, c in enumerate(cols):
        stacked[c][j * m:(j + 1) * m] = np.roll(sub[c].to_numpy(), 1)
    shifted = _dense(pre.transform(pd.DataFrame(stacked).astype(x.dtypes.to_dict())))
    if shifted is None or shifted.shape != (m * len(cols), z.shape[1]):
        return None
    return [np.flatnonzero(_differs(shifted[j * m:(j + 1) * m], zs).any(axis=0))
            for j in range(len(cols))]


def columnwise_scorer(model: Any, x: pd.DataFrame,
                      ) -> Callable[[Sequence[tuple[int, np.ndarray]]], np.ndarray] | None:
    """A scorer of permuted copies of ``x`` that preprocesses ``x`` once, or None.

    Parameters
    ----------
    model : fitted classifier
        A scikit-learn ``Pipeline`` or a ``CalibratedClassifierCV`` of pipelines whose
        preprocessing is made of column-wise steps (see the module); else None is returned
        (the caller scores the copies through the model).
    x : pandas.DataFrame of shape (n, n_features)
        The rows (n >= 2).

    Returns
    -------
    callable or None
        ``score(jobs)`` for ``jobs`` a sequence of ``(feature index, order)`` (``order`` an
        index array of shape (n,)): the ``roc_auc`` scorer's response of the copies of
        ``x`` whose feature's column is ``x[col].to_numpy()[order]``, stacked in the order
        of ``jobs``, ndarray of shape (len(jobs) * n,); the same as the model's response
        on the stacked copies.
    """
    found = _members(model)
    if found is None or len(x) < 2:
        return None
    pairs, how = found
    pre_out, fed = [], []
    for pre, _ in pairs:
        z = _dense(pre.transform(x))
        f = None if z is None else _fed_by(pre, x, z)
        if f is None:
            return None
        pre_out.append(z)
        fed.append(f)
    binned = binned_members(model, x) if how == "calibrated" else None
    if binned is not None:
        # gradient boosting walks its trees on the bins of the preprocessed rows (the same
        # numbers, :mod:`~valuemax.propensity._binned`); binning maps each column on its
        # own, so a copy's permuted column has the permuted bins
        pairs = [(pre, head) for pre, _, head in binned]
        pre_out = [mapper.transform(z) for (_, mapper, _), z in zip(binned, pre_out,
                                                                    strict=True)]
    n = len(x)

    def stack(z: np.ndarray, f: list[np.ndarray], jobs: Sequence[tuple[int, np.ndarray]],
              ) -> np.ndarray:
        # the layout of the preprocessing's own output for as many rows
        order_flag = "F" if z.flags.f_contiguous and not z.flags.c_contiguous else "C"
        out = np.empty((len(jobs) * n, z.shape[1]), dtype=z.dtype, order=order_flag)
        for b, (j, order) in enumerate(jobs):
            block = out[b * n:(b + 1) * n]
            block[:] = z
            if f[j].size:
                block[:, f[j]] = z[np.ix_(order, f[j])]
        return out

    def score(jobs: Sequence[tuple[int, np.ndarray]]) -> np.ndarray:
        if how == "pipeline":
            head = pairs[0][1]
            z = stack(pre_out[0], fed[0], jobs)
            if hasattr(head, "decision_function"):
                return np.asarray(head.decision_function(z))
            return head.predict_proba(z)[:, 1]
        # CalibratedClassifierCV.predict_proba: the calibrated copies' mean, in their order
        mean = np.zeros((len(jobs) * n, len(model.classes_)))
        for (_, head), z, f in zip(pairs, pre_out, fed, strict=True):
            if binned is not None:
                # a tree that reads none of a copy's permuted bins is not walked again
                head = tree_skipping(head, z, f, jobs, n) or head
            mean += head.predict_proba(stack(z, f, jobs))
        mean /= len(pairs)
        return mean[:, 1]

    return score
