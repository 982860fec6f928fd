"""Shared ``fit`` of the repeat-purchase models on (frequency, recency, T)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from valuemax.clv._base import ParametricModel
from valuemax.clv._validation import check_horizon, check_rfm, compress, wrap


class RepeatPurchaseModel(ParametricModel):
    """Base of BG/NBD, MBG/NBD and Pareto/NBD: fit by ML on compressed (x, t_x, T) rows.

    Subclasses set ``_loglik`` (a function of the parameters then ``x, t_x, T``) and
    ``_start`` (the first starting point, in parameter space).
    """

    _start: ClassVar[tuple[float, ...]]

    _loglik_grad: ClassVar[Any] = None  # analytic per-row gradient, shape (k, n), if known

    _loglik: ClassVar[Any]  # per-row log-likelihood: f(*params, x, t_x, T) -> (n,) array

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None,
            ) -> RepeatPurchaseModel:
        """Fit by maximum likelihood on the unique ``(frequency, recency, T)`` rows.

        Parameters
        ----------
        frequency : array-like of shape (n_customers,)
            Repeat purchase occasions ``x``; integers >= 0.
        recency : array-like of shape (n_customers,)
            First-to-last purchase ``t_x`` in ``time_unit``; 0 when x == 0.
        T : array-like of shape (n_customers,)
            First purchase to end of observation in ``time_unit``; >= recency.
        weights : array-like of shape (n_customers,), optional
            Number of customers each row stands for (e.g. counts of a table already grouped
            by ``(frequency, recency, T)``); rows are compressed either way.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        InputError
            If lengths differ, values are NaN, frequency is negative or non-integral,
            recency > T, or weights are negative.
        ConvergenceError
            If no starting point converges.
        ValueError
            If a hyper-parameter is invalid.
        """
        self._check_hyper()
        x, t_x, age, w, _ = check_rfm(f"{type(self).__name__}.fit", frequency, recency, T,
                                      weights)
        rows, counts = compress(np.column_stack([x, t_x, age]), w)
        ux, utx, uT = rows.T
        loglik = type(self)._loglik

        def total(theta: np.ndarray) -> float:
            return float(np.dot(counts, loglik(*np.exp(theta), ux, utx, uT)))

        row_grad = type(self)._loglik_grad
        grad = None
        if row_grad is not None:
            def grad(theta: np.ndarray) -> np.ndarray:
                params = np.exp(theta)  # chain rule to log-parameters
                return params * (row_grad(*params, ux, utx, uT) @ counts)

        self._fit_loglik(total, float(counts.sum()), np.array(self._start), grad)
        self.n_unique_ = len(counts)
        return self

    def _rfm(self, who: str, frequency: Any, recency: Any, T: Any):
        params = self._check_is_fitted()
        x, t_x, age, _, index = check_rfm(f"{type(self).__name__}.{who}", frequency, recency, T)
        return params, x, t_x, age, index

    def _horizon(self, who: str, t: Any, n: int | None = None) -> np.ndarray:
        arr = check_horizon(f"{type(self).__name__}.{who}", t)
        if n is not None and (arr.ndim > 1 or arr.size not in (1, n)):
            raise ValueError(f"t must be a scalar or have one value per customer ({n}); got "
                             f"shape {arr.shape}")
        return arr

    def loglik_rows(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Log-likelihood of each customer under the fitted parameters.

        Parameters
        ----------
        frequency, recency, T : array-like of shape (n_customers,)
            As in ``fit``.

        Returns
        -------
        ndarray of shape (n_customers,)
            Per-customer log-likelihood; a Series keeping the index if one was passed.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If the inputs break the rules of ``fit``.
        """
        params, x, t_x, age, index = self._rfm("loglik_rows", frequency, recency, T)
        return wrap(type(self)._loglik(*params, x, t_x, age), index)

    _wrap = staticmethod(wrap)
