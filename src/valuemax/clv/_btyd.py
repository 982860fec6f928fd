"""Shared ``fit`` of the repeat-purchase models on (frequency, recency, T)."""

from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import numpy as np
from threadpoolctl import threadpool_limits

from valuemax._core.exceptions import InputError, InsufficientData
from valuemax.clv._base import _AT_LIMIT, _BOUND, ParametricModel
from valuemax.clv._limit import nbd_best
from valuemax.clv._validation import (
    MIN_REPEAT_BUYERS_TO_FIT,
    check_horizon,
    check_rfm,
    check_unit,
    check_whole,
    compress,
    is_count,
    wrap,
)


def finite_or_raise(values: np.ndarray, who: str, params: Any) -> np.ndarray:
    """``values`` if all finite; else a ConvergenceError naming the parameters."""
    bad = ~np.isfinite(values)
    if bad.any():
        from valuemax._core.exceptions import ConvergenceError

        raise ConvergenceError(
            f"{who}: the prediction is not finite for {int(bad.sum()):,} of {bad.size:,} "
            f"values at parameters {np.round(np.asarray(params, dtype=float), 6).tolist()} "
            "(a special function overflowed at these estimates); please report it with the "
            "parameters above.")
    return values


def _check_start(who: str, start: Any, names: tuple[str, ...]) -> np.ndarray:
    """``start`` as a float array of one value > 0 per parameter, clipped to the search box."""
    arr = np.asarray(start, dtype=float) if not isinstance(start, str) else np.array([])
    if arr.shape != (len(names),) or not np.all(np.isfinite(arr) & (arr > 0)):
        raise ValueError(f"{who}: start must be {len(names)} finite values > 0 (the "
                         f"parameters {', '.join(names)}); got {start!r}")
    return np.exp(np.clip(np.log(arr), -_BOUND, _BOUND))


def limit_corner(model: Any) -> np.ndarray | None:
    """The no-drop-out corner of a fit that reached that limit, or None.

    When ``model``'s drop-out parameter (``a`` of BG/NBD and MBG/NBD, ``s`` of Pareto/NBD)
    ran to the lower search bound, every repeat-purchase model fitted to the same data
    (or to data of the same customers over a longer period) is expected at that same limit,
    the NBD: its ``(r, alpha)``, the drop-out parameter at the lower bound and the other
    (``b``, ``beta``) at the upper, in the order of ``params_``, to pass as ``start=``.

    Parameters
    ----------
    model : BetaGeoModel, ModifiedBetaGeoModel or ParetoNBDModel
        A fitted model.

    Returns
    -------
    ndarray of shape (4,) or None
        ``(r, alpha, e^-15, e^15)``; None when the drop-out parameter is not at the bound.

    Examples
    --------
    >>> from valuemax.clv import BetaGeoModel
    >>> m = BetaGeoModel.from_params(r=2.0, alpha=10.0, a=3.1e-7, b=3.2e6)
    >>> np.round(np.log(limit_corner(m)), 3).tolist()
    [0.693, 2.303, -15.0, 15.0]
    >>> limit_corner(BetaGeoModel.from_params(r=2.0, alpha=10.0, a=0.8, b=2.4)) is None
    True
    """
    p = np.array([model.params_[k] for k in model._param_names], dtype=float)
    if np.log(p[2]) > -(_BOUND - 1.0):
        return None
    return np.array([p[0], p[1], np.exp(-_BOUND), np.exp(_BOUND)])


#: ``nbd_best`` of the last few data sets (digest of the rows -> result): the models of a
#: comparison are fitted to the same rows, and the NBD's optimum does not depend on them.
_NBD_SEEN: dict[bytes, tuple[float, float, float]] = {}


def _nbd_best_once(ux: np.ndarray, uT: np.ndarray, counts: np.ndarray,
                   ) -> tuple[float, float, float]:
    """:func:`~valuemax.clv._limit.nbd_best` over the search box, computed once per data set
    (keyed by a digest of the compressed rows; the four most recent are kept)."""
    digest = hashlib.blake2b(digest_size=16)
    for arr in (ux, uT, counts):
        digest.update(np.ascontiguousarray(arr, dtype=float).tobytes())
    key = digest.digest()
    if key not in _NBD_SEEN:
        while len(_NBD_SEEN) >= 4:
            _NBD_SEEN.pop(next(iter(_NBD_SEEN)))
        # on the (x, t_x, T) rows as given (fitting it on the fewer distinct (x, T) rows
        # would be exact too, but on a flat profile the sums' order moves its optimum
        # along the ridge, and the fits that start there with it)
        _NBD_SEEN[key] = nbd_best(ux, uT, counts, _BOUND)
    return _NBD_SEEN[key]


class RepeatPurchaseModel(ParametricModel):
    """Base of BG/NBD, MBG/NBD and Pareto/NBD: fit by ML on compressed (x, t_x, T) rows.

    Subclasses set ``_loglik`` (a function of the parameters then ``x, t_x, T``) and
    ``_start`` (the first starting point, in parameter space).
    """

    _start: ClassVar[tuple[float, ...]]
    _has_time_unit = True

    _loglik_grad: ClassVar[Any] = None  # analytic per-row gradient, shape (k, n), if known
    #: both in one pass, ``f(*params, x, t_x, T) -> ((n,), (k, n))``, where that is cheaper
    _loglik_and_grad: ClassVar[Any] = None
    #: ``f(x, t_x, T) -> layout`` passed to ``_loglik_and_grad`` as ``pairs=`` (a layout of
    #: the rows built once per fit instead of once per evaluation), if the model has one
    _rows_layout: ClassVar[Any] = None

    _loglik: ClassVar[Any]  # per-row log-likelihood: f(*params, x, t_x, T) -> (n,) array

    def __init__(self, *, time_unit: str = "D", penalizer: float = 0.0, n_starts: int = 3,
                 random_state: Any = 0) -> None:
        self.time_unit = time_unit
        super().__init__(penalizer=penalizer, n_starts=n_starts, random_state=random_state)

    def fit(self, frequency: Any, recency: Any, T: Any, weights: Any = None, *,
            start: Any = None) -> RepeatPurchaseModel:
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
        start : array-like of shape (4,), optional
            Parameters of the first optimiser start, in the order of ``params_`` (e.g. an
            optimum of the same data handed on, see :func:`limit_corner`); values are
            clipped to the search box ``[e^-15, e^15]``. Default: the model's fixed start
            (all ones). A start whose drop-out parameter (``a`` or ``s``) is at the lower
            bound is moved to the no-drop-out limit's own optimum on these data (the NBD's
            ``r, alpha``); kept without an optimiser run when it passes the fit's checks.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        InputError
            If lengths differ, values are NaN, frequency is negative or non-integral,
            recency > T, T < 0, weights are negative, fewer than ``MIN_REPEAT_BUYERS_TO_FIT`` (10)
            customers have repeat purchases, or the columns carry an ``attrs["time_unit"]``
            other than ``time_unit``. Customers with ``T == 0`` (first seen at the
            observation end) are valid: their likelihood is 1.
        ConvergenceError
            If no starting point converges.
        ValueError
            If a hyper-parameter is invalid, or ``start`` is not 4 finite values > 0.
        """
        self._check_hyper()
        who = f"{type(self).__name__}.fit"
        first = np.array(self._start, dtype=float) if start is None else _check_start(
            who, start, self._param_names)
        check_unit(who, self.time_unit, {"frequency": frequency, "recency": recency, "T": T})
        x, t_x, age, w, _ = check_rfm(who, frequency, recency, T, weights)
        n_repeat = float(w[x > 0].sum())
        if n_repeat < MIN_REPEAT_BUYERS_TO_FIT:
            raise InsufficientData(
                f"{type(self).__name__}.fit: {n_repeat:,.0f} repeat buyers (customers with "
                f"frequency > 0) of {w.sum():,.0f}; fitting the purchase and drop-out "
                f"processes needs at least {MIN_REPEAT_BUYERS_TO_FIT}. Use a longer observation "
                "period or more customers.")
        rows, counts = compress((x, t_x, age), w)
        ux, utx, uT = rows.T
        if type(self)._loglik_and_grad is not None:
            total, grad = self._shared_pass(ux, utx, uT, counts)
        else:
            total, grad = self._separate_passes(ux, utx, uT, counts)

        # one BLAS thread: the 4-parameter optimiser gains nothing from threads, and OpenBLAS
        # threads spinning between its many tiny calls slow the fit several-fold on a busy
        # machine (scoped: the caller's setting is restored on exit)
        at_limit, limit_start = self._no_dropout_limit(ux, uT, counts)
        if start is not None and limit_start is not None and np.log(first[2]) <= -(_BOUND - 1):
            # a start at the no-drop-out corner: that limit's own optimum on these data
            first = np.exp(limit_start(np.log(first)))
        with threadpool_limits(limits=1, user_api="blas"):
            self._fit_loglik(total, float(counts.sum()), first, grad,
                             at_limit=at_limit, limit_start=limit_start,
                             around=np.array(self._start, dtype=float))
        self.n_unique_ = len(counts)
        return self

    def _no_dropout_limit(self, ux: np.ndarray, uT: np.ndarray, counts: np.ndarray,
                          ) -> tuple[Any, Any]:
        """``(at_limit, limit_start)`` of :func:`~valuemax.clv._base.fit_mle`: whether an
        optimum with parameters at the search bound is the maximum of the no-drop-out
        limit, the NBD, and the start to try next when it is not.

        All three models tend to the NBD as their drop-out vanishes (``a -> 0`` or
        ``s -> 0``), and the NBD itself to the Poisson as ``r, alpha -> ∞`` with
        ``r / alpha`` fixed (no purchase-rate heterogeneity). An optimum at the bound ends
        the multi-start search when its mean objective is within ``_AT_LIMIT`` (relative)
        of the NBD's own maximum over the same box (:func:`~valuemax.clv._limit.nbd_best`,
        a one-dimensional profile without ridges, fitted once, on first need): the fit has
        then reached the best the limit can do, the likelihood is flat along the directions
        that ran to the bound, and further starts can only land on that same face of the
        parameter space. A fit better than the NBD (drop-out the data do show, e.g.
        ``a, b -> ∞`` together: no drop-out heterogeneity) is not this limit and is not
        accepted, nor a worse one (stopped short on the ridge, where L-BFGS-B's relative
        ``ftol`` can end a run while ``r`` and ``alpha`` are still climbing): the next
        start is then the limit's own optimum (``r, alpha`` of the NBD, ``a`` or ``s`` at
        the lower bound and ``b`` or ``beta`` at the upper), before any random one. Neither is used with a
        penalty (the penalised objective has no such limit): ``(None, None)``.
        """
        if float(self.penalizer) != 0.0:
            return None, None

        nbd: list[tuple[float, float, float]] = []

        def limit() -> tuple[float, float, float]:
            if not nbd:
                nbd.append(_nbd_best_once(ux, uT, counts))
            return nbd[0]

        def at_limit(theta: np.ndarray, fun: float, near: np.ndarray) -> bool:
            best = limit()[0]
            return abs(fun - best) <= _AT_LIMIT * max(1.0, abs(best))

        def limit_start(theta: np.ndarray) -> np.ndarray:
            # the limit's own optimum: (r, alpha) of the NBD, the drop-out switched off at
            # the corner (a or s at the lower bound, b or beta at the upper: at s = e^-15
            # alone, Pareto/NBD still differs from the NBD by ~ s ln(1 + T/beta))
            _, log_r, log_alpha = limit()
            return np.array([log_r, log_alpha, -_BOUND, _BOUND])

        return at_limit, limit_start

    def _separate_passes(self, ux: np.ndarray, utx: np.ndarray, uT: np.ndarray,
                         counts: np.ndarray) -> tuple[Any, Any]:
        """``(total, grad)`` of the log-parameters from ``_loglik`` and ``_loglik_grad``
        (grad None without an analytic gradient: the optimiser takes central differences)."""
        loglik, row_grad = type(self)._loglik, type(self)._loglik_grad

        def total(theta: np.ndarray) -> float:
            return float(np.dot(counts, loglik(*np.exp(theta), ux, utx, uT)))

        if row_grad is None:
            return total, None

        def grad(theta: np.ndarray) -> np.ndarray:
            params = np.exp(theta)  # chain rule to log-parameters
            return params * (row_grad(*params, ux, utx, uT) @ counts)

        return total, grad

    def _shared_pass(self, ux: np.ndarray, utx: np.ndarray, uT: np.ndarray,
                     counts: np.ndarray) -> tuple[Any, Any]:
        """``(total, grad)`` of the log-parameters, both from one ``_loglik_and_grad`` pass
        per point (the last point is kept: L-BFGS-B asks for both at the same point)."""
        both = type(self)._loglik_and_grad
        layout = type(self)._rows_layout
        extra = {} if layout is None else {"pairs": layout(ux, utx, uT)}
        last: dict[bytes, tuple[float, np.ndarray]] = {}

        def at(theta: np.ndarray) -> tuple[float, np.ndarray]:
            key = np.asarray(theta, dtype=float).tobytes()
            if key not in last:
                params = np.exp(theta)
                ll, g = both(*params, ux, utx, uT, **extra)
                last.clear()
                last[key] = (float(np.dot(counts, ll)), params * (g @ counts))
            return last[key]

        return (lambda theta: at(theta)[0]), (lambda theta: at(theta)[1].copy())

    def _p_alive_rows(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """``p_alive`` of each model: its ``_p_alive(*params, x, t_x, T)`` on checked rows."""
        params, x, t_x, age, index = self._rfm("p_alive", frequency, recency, T)
        return self._wrap(self._p_alive(*params, x, t_x, age), index)

    def _rfm(self, who: str, frequency: Any, recency: Any, T: Any):
        params = self._check_is_fitted()
        who = f"{type(self).__name__}.{who}"
        check_unit(who, self.time_unit_, {"frequency": frequency, "recency": recency, "T": T})
        x, t_x, age, _, index = check_rfm(who, frequency, recency, T)
        return params, x, t_x, age, index

    def _horizon(self, who: str, t: Any, n: int | None = None) -> np.ndarray:
        arr = check_horizon(f"{type(self).__name__}.{who}", t)
        if n is not None and (arr.ndim > 1 or arr.size not in (1, n)):
            raise ValueError(f"t must be a scalar or have one value per customer ({n}); got "
                             f"shape {arr.shape}")
        return arr

    def _simulate_setup(self, n_customers: Any, T: Any) -> tuple[np.ndarray, np.ndarray]:
        """Validated ``(params, age)`` for ``simulate``: age has shape (n_customers,)."""
        params = self._check_is_fitted()
        if not is_count(n_customers):
            raise ValueError(f"n_customers must be an integer >= 1; got {n_customers!r}")
        age = self._horizon("simulate", T, int(n_customers))
        if np.any(age <= 0):
            raise InputError(f"{type(self).__name__}.simulate: T must be > 0 (in time_unit_); "
                             f"{int(np.sum(age <= 0))} value(s) are not.")
        return params, np.broadcast_to(age, (int(n_customers),)).astype(float)

    def _count_grid(self, t: Any, n: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validated ``(params, t, n)`` of ``probability_of_n_purchases``, broadcast together."""
        params = self._check_is_fitted()
        who = f"{type(self).__name__}.probability_of_n_purchases"
        t = check_horizon(who, t)
        n_arr = check_whole(who, "n", n, 0, "purchases")
        try:
            t, n_arr = np.broadcast_arrays(t, n_arr)
        except ValueError:
            raise InputError(f"{who}: t of shape {t.shape} and n of shape {n_arr.shape} do not "
                             "broadcast; e.g. pass t[:, None] and n for a (len(t), len(n)) "
                             "grid.") from None
        return params, t, n_arr

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
