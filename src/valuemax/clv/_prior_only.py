"""The customers whose CLV is only the population's prior: one order, first seen in the
last days of the log (nothing observed of them yet).

One rule for every surface: the customer export and the store's ``clv`` table
(``clv_from_prior_only``), the API's value block, the dashboard's customer page and the
value caveat that counts them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: A customer with no repeat purchase first seen at most this many days before the
#: observation end has a CLV that is the population's prior.
PRIOR_ONLY_DAYS = 7
#: The column of the customer export, the store's ``clv`` table and the API's value block
#: that flags them (with CLV only: without a spend model there is no CLV to misread).
PRIOR_ONLY_COLUMN = "clv_from_prior_only"
#: Days per model time unit.
_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def prior_only(frequency: Any, T: Any, time_unit: str) -> np.ndarray:
    """Boolean mask of the customers whose scores are only the population's prior.

    A customer with no repeat purchase (``frequency`` 0) first seen at most
    :data:`PRIOR_ONLY_DAYS` days before the observation end (``T`` in ``time_unit``) has
    had no time to show a purchase pattern: the models score them with the prior, so their
    CLV is about the population's average, whatever they will turn out to be.

    Parameters
    ----------
    frequency : array-like of shape (n_customers,)
        Repeat purchase days.
    T : array-like of shape (n_customers,)
        First purchase to observation end, in ``time_unit``.
    time_unit : {"D", "W"}

    Returns
    -------
    ndarray of bool, shape (n_customers,)

    Examples
    --------
    >>> prior_only([0, 0, 2, 0], [0.0, 30.0, 1.0, 1.0], "D").tolist()
    [True, False, False, True]
    >>> prior_only([0], [1.0], "W").tolist()
    [True]
    """
    days = np.asarray(T, dtype=float) * _UNIT_DAYS.get(time_unit, 1.0)
    return (np.asarray(frequency, dtype=float) <= 0) & (days <= PRIOR_ONLY_DAYS)


__all__ = ["PRIOR_ONLY_COLUMN", "PRIOR_ONLY_DAYS", "prior_only"]
