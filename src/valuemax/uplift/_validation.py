"""Checks at the public boundary of :mod:`valuemax.uplift`: arms, outcomes, scores."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from valuemax._core.exceptions import InputError

OutcomeKind = Literal["binary", "continuous"]


def _first_ids(mask: np.ndarray, n: int = 5) -> str:
    return ", ".join(str(i) for i in np.flatnonzero(mask)[:n])


def check_treatment(treatment: Any, *, name: str = "treatment") -> np.ndarray:
    """Return ``treatment`` as an int ndarray of 0/1 holding both arms.

    Raises
    ------
    InputError
        If a value is not 0/1 (or bool), or one arm is empty (every customer treated, or every
        customer in control): uplift needs both arms.
    """
    t = np.asarray(treatment)
    if t.ndim != 1:
        raise InputError(f"{name} must be one-dimensional (one 0/1 flag per customer); got "
                         f"shape {t.shape}.")
    if t.dtype == bool:
        t = t.astype(np.int64)
    bad = ~np.isin(t, (0, 1)) if t.dtype.kind in "iuf" else np.ones(t.shape, bool)
    if bad.any():
        raise InputError(f"{name} must be 1 (treated) or 0 (control); {int(bad.sum()):,} of "
                         f"{t.size:,} rows are not (rows {_first_ids(bad)}). Map the arm labels "
                         "with treatment_indicator(labels, treated=..., control=...).")
    t = t.astype(np.int64)
    n_treated = int(t.sum())
    if n_treated == 0 or n_treated == t.size:
        which = "control" if n_treated == 0 else "treated"
        raise InputError(f"{name} holds one arm only: all {t.size:,} customers are {which}. "
                         "Uplift compares treated with control customers; pass data with both "
                         "arms (treatment 1 and 0).")
    return t


def check_outcome(y: Any, n: int, *, kind: Literal["auto", "binary", "continuous"] = "auto",
                  name: str = "y") -> tuple[np.ndarray, OutcomeKind]:
    """Return ``y`` as a float ndarray of length ``n`` and its kind (binary when only 0/1).

    Raises
    ------
    InputError
        If the length differs, a value is missing or infinite, ``kind`` is unknown, or
        ``kind="binary"`` and a value is not 0/1.
    """
    if kind not in ("auto", "binary", "continuous"):
        raise InputError(f"outcome kind {kind!r} is unknown; choose 'auto', 'binary' or "
                         "'continuous'.")
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.size != n:
        raise InputError(f"{name} must hold one value per customer ({n:,}); got shape "
                         f"{arr.shape}.")
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iuf":
        raise InputError(f"{name} must be numeric (0/1 for a response, an amount for "
                         f"revenue); got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError(f"{name} has {int(bad.sum()):,} missing or infinite values of {n:,} "
                         f"(rows {_first_ids(bad)}); fill or remove them first.")
    is_binary = bool(np.isin(arr, (0.0, 1.0)).all())
    if kind == "binary" and not is_binary:
        nb = ~np.isin(arr, (0.0, 1.0))
        raise InputError(f"{name} must be 0/1 for outcome='binary'; {int(nb.sum()):,} rows are "
                         f"not (rows {_first_ids(nb)}). Use outcome='continuous'.")
    found: OutcomeKind = "binary" if (kind == "binary" or (kind == "auto" and is_binary)) \
        else "continuous"
    return arr, found


def check_scores(scores: Any, n: int, *, name: str = "scores") -> np.ndarray:
    """Return one model's uplift scores as a finite float ndarray of length ``n``."""
    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.size != n:
        raise InputError(f"{name} must hold one uplift score per customer ({n:,}); got shape "
                         f"{s.shape}.")
    bad = ~np.isfinite(s)
    if bad.any():
        raise InputError(f"{name} has {int(bad.sum()):,} missing or infinite scores (rows "
                         f"{_first_ids(bad)}); every customer needs a finite score.")
    return s


def check_matrix(X: Any, n: int | None = None) -> np.ndarray:
    """Return features as a 2-D finite float ndarray (one row per customer)."""
    arr = np.asarray(X, dtype=np.float64)
    if arr.ndim != 2:
        raise InputError(f"X must be 2-D (customers x features); got shape {arr.shape}.")
    if n is not None and arr.shape[0] != n:
        raise InputError(f"X has {arr.shape[0]:,} rows but treatment/y have {n:,}; pass one "
                         "row per customer.")
    bad = ~np.isfinite(arr).all(axis=1)
    if bad.any():
        raise InputError(f"X has missing or infinite values in {int(bad.sum()):,} rows (rows "
                         f"{_first_ids(bad)}); impute or remove them first.")
    return arr


def treatment_indicator(labels: Any, *, treated: Any, control: Any) -> np.ndarray:
    """Map arm labels to 1 (``treated``), 0 (``control``) and -1 (any other arm).

    Parameters
    ----------
    labels : array-like of shape (n_customers,)
        Each customer's arm label.
    treated, control : scalar
        The two labels compared.

    Returns
    -------
    ndarray of int of shape (n_customers,)
        1, 0 or -1; keep ``indicator >= 0`` to select the two arms.

    Raises
    ------
    InputError
        If ``treated == control`` or either label is absent (the labels found are listed).

    Examples
    --------
    >>> treatment_indicator(["A", "B", "C", "A"], treated="A", control="C").tolist()
    [1, -1, 0, 1]
    """
    arr = np.asarray(labels, dtype=object)
    if treated == control:
        raise InputError(f"treated and control are the same label {treated!r}; name two arms.")
    found = sorted({str(v) for v in arr})
    for role, label in (("treated", treated), ("control", control)):
        if not (arr == label).any():
            raise InputError(f"{role} arm {label!r} is not among the arm labels {found[:10]}; "
                             f"pass {role}= one of them.")
    out = np.full(arr.shape, -1, dtype=np.int64)
    out[arr == treated] = 1
    out[arr == control] = 0
    return out
