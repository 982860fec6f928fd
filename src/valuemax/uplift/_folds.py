"""Seeded folds stratified by arm (and by response, for a binary outcome)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from valuemax._core.exceptions import InputError


def folds(t: np.ndarray, y: np.ndarray, kind: str, *, n_folds: int,
          random_state: Any) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(train, test)`` index pairs of a shuffled ``StratifiedKFold``.

    Strata are the arm (continuous outcome) or arm x response (binary); a stratum smaller
    than ``n_folds`` is merged into its arm so each fold keeps both arms.

    Raises
    ------
    InputError
        If ``n_folds`` < 2 or an arm has fewer than ``n_folds`` customers.
    """
    from sklearn.model_selection import StratifiedKFold

    if not (isinstance(n_folds, int | np.integer) and n_folds >= 2):
        raise InputError(f"n_folds={n_folds!r} must be an integer >= 2.")
    for arm, name in ((1, "treated"), (0, "control")):
        if int((t == arm).sum()) < n_folds:
            raise InputError(f"the {name} arm has {int((t == arm).sum())} customers, fewer "
                             f"than n_folds={n_folds}; lower n_folds or add customers.")
    strata = t * 2 + (y.astype(np.int64) if kind == "binary" else 0)
    counts = np.bincount(strata, minlength=4)
    strata = np.where(counts[strata] < n_folds, t * 2, strata)
    seed = random_state if random_state is None or isinstance(random_state, int | np.integer) \
        else int(np.random.default_rng(random_state).integers(2**31))
    yield from StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(
        np.zeros(t.size), strata)
