"""The estimator machinery the CLV models share: maximum likelihood, fitted state, summary.

Fitting maximises the weighted log-likelihood over the compressed unique rows, in
log-parameters, with L-BFGS-B (analytic gradients where the model has them, else central
differences) from one starting point, more only when its optimum fails a check;
standard errors come from the numerical Hessian at the optimum (observed information), by
central differences of the analytic gradient where there is one.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any, ClassVar, Self

import numpy as np
from scipy.optimize import OptimizeResult, minimize

from valuemax._core.exceptions import ConvergenceError, ConvergenceWarning, NotFittedError
from valuemax.clv._results import FitSummary
from valuemax.clv._validation import check_hyper

_BOUND = 15.0  # |log parameter| bound: parameters in [3e-7, 3e6]
#: A gamma shape (or a beta's a + b) above this leaves a spread (CV) under 10% of the mean:
#: the mixing distribution has (nearly) collapsed to one value (no heterogeneity).
COLLAPSED = 1e2
#: A beta's ``a`` (or a gamma's ``s``) below this puts the drop-out mass at 0: no drop-out.
VANISHING = 1e-4


def _central_grad(f: Callable[[np.ndarray], float], theta: np.ndarray) -> np.ndarray:
    grad = np.empty_like(theta)
    for i in range(theta.size):
        h = 1e-6 * max(1.0, abs(theta[i]))
        step = np.zeros_like(theta)
        step[i] = h
        grad[i] = (f(theta + step) - f(theta - step)) / (2 * h)
    return grad


def numerical_hessian(f: Callable[[np.ndarray], float], theta: np.ndarray,
                      h: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``theta``, shape (k, k)."""
    k = theta.size
    eye = np.eye(k) * h
    f0 = f(theta)
    hess = np.empty((k, k))
    for i in range(k):
        hess[i, i] = (f(theta + eye[i]) - 2 * f0 + f(theta - eye[i])) / h**2
        for j in range(i):
            hess[i, j] = hess[j, i] = (
                f(theta + eye[i] + eye[j]) - f(theta + eye[i] - eye[j])
                - f(theta - eye[i] + eye[j]) + f(theta - eye[i] - eye[j])
            ) / (4 * h**2)
    return hess


#: Largest |gradient| of the mean objective (per log-parameter) of a settled optimum.
_SETTLED_GRAD = 1e-6
#: A boundary optimum is the limiting model's own optimum when their mean objectives (mean
#: negative log-likelihood per customer) differ by at most this, relative (1e-10 of ~10
#: nats a customer: 1e-9 nats; the published tests need 1e-9 relative on the total).
_AT_LIMIT = 1e-10


def _settled(res: Any, at_limit: Callable[[np.ndarray, float, np.ndarray], bool] | None = None,
             ) -> bool:
    """Whether an L-BFGS-B result passes the checks that end the multi-start search.

    It converged and the largest component of the gradient of the mean objective is below
    ``_SETTLED_GRAD``; and either no log-parameter is within a factor e of the search bound
    (an interior optimum), or the parameters there are those of a limiting model the caller
    fits directly and ``at_limit(theta, fun, near_bound)`` confirms the optimum is that
    limiting model's own maximum (the gradient is then required only of the parameters
    away from the bound: along the others the likelihood has flattened out). A boundary
    fit the caller cannot check this way fails: a likelihood ridge may hold several optima,
    and further starts look for them.
    """
    if not res.success:
        return False
    near = np.abs(res.x) >= _BOUND - 1.0
    grad = np.abs(np.asarray(res.jac, dtype=float))
    if not near.any():
        return bool(np.max(grad) < _SETTLED_GRAD)
    if at_limit is None or near.all() or np.max(grad[~near]) >= _SETTLED_GRAD:
        return False
    return bool(at_limit(res.x, float(res.fun), near))


def _stale(res: Any) -> bool:
    """Whether a converged L-BFGS-B result fails the checks only by the gradient of its
    parameters away from the search bound (the case a resumed run settles)."""
    near = np.abs(res.x) >= _BOUND - 1.0
    return bool(res.success and not near.all()
                and np.max(np.abs(np.asarray(res.jac, dtype=float))[~near]) >= _SETTLED_GRAD)


def _at_limit_start(theta: np.ndarray, objective: Callable[[np.ndarray], float],
                    jacobian: Callable[[np.ndarray], np.ndarray],
                    at_limit: Callable[[np.ndarray, float, np.ndarray], bool]) -> Any:
    """The start ``theta`` as an optimum, when it is one: a result L-BFGS-B would return
    there (``nit`` 0), or None.

    It is one when it passes ``_settled`` (the gradient of the parameters away from the
    search bound below ``_SETTLED_GRAD``, the objective the limit's own maximum by
    ``at_limit``) and no parameter on the bound itself has a gradient pointing into the
    box steeper than ``_SETTLED_GRAD`` (the Karush-Kuhn-Tucker condition of the box: the
    objective cannot fall by moving off the bound). One evaluation instead of an optimiser
    run, which at such a corner often ends without moving after a dozen line-search trials
    (the objective is flat there to round-off).
    """
    fun = float(objective(theta))
    jac = np.asarray(jacobian(theta), dtype=float)
    if not (np.isfinite(fun) and fun < 1e99):
        return None
    res = OptimizeResult(x=np.array(theta, dtype=float), fun=fun, jac=jac, success=True,
                         nit=0, nfev=1, message="the start is the limit's optimum")
    inward = ((theta <= -_BOUND) & (jac < -_SETTLED_GRAD)) \
        | ((theta >= _BOUND) & (jac > _SETTLED_GRAD))
    return res if not inward.any() and _settled(res, at_limit) else None


def hessian_from_gradient(g: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                          h: float = 1e-5) -> np.ndarray | None:
    """Hessian at ``theta`` by central differences of the gradient ``g``, symmetrised,
    shape (k, k); None if a gradient is not finite (the caller falls back to
    :func:`numerical_hessian`). Error O(h^2) instead of the O(h^2)/h of second
    differences of the function."""
    k = theta.size
    cols = []
    with np.errstate(all="ignore"):
        for i in range(k):
            step = np.zeros(k)
            step[i] = h
            cols.append((np.asarray(g(theta + step)) - np.asarray(g(theta - step))) / (2 * h))
    hess = np.column_stack(cols)
    if not np.all(np.isfinite(hess)):
        return None
    return (hess + hess.T) / 2


def fit_mle(who: str, loglik: Callable[[np.ndarray], float], n_obs: float, start: np.ndarray,
            *, penalizer: float, n_starts: int, random_state: Any,
            grad: Callable[[np.ndarray], np.ndarray] | None = None,
            at_limit: Callable[[np.ndarray, float, np.ndarray], bool] | None = None,
            limit_start: Callable[[np.ndarray], np.ndarray] | None = None,
            around: np.ndarray | None = None,
            hess: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, Any]:
    """Maximise ``loglik(log_params)`` (a weighted sum) from one start, more if it fails.

    The objective is ``-loglik/n_obs + penalizer * sum(params**2)``. Start 0 is ``start``;
    when its optimum fails a check (not converged, a parameter at the search bound, or a
    gradient above ``_SETTLED_GRAD``), further starts, up to ``n_starts`` in all, add N(0, 1)
    noise to it (or to ``around``, the model's own start, when ``start`` was handed on
    from another fit) from ``np.random.default_rng(random_state)``, and the best optimum is
    kept.
    The search stops at the first start whose optimum passes the checks (``_settled``).
    A start whose optimum fails them by a gradient above ``_SETTLED_GRAD`` (L-BFGS-B
    stops on a relative fall of the objective under ``ftol``, which on a flat likelihood
    ridge can leave a stale gradient) is first resumed once from its own optimum with a
    fresh curvature memory; it costs a few evaluations, where a new start costs ~40.
    ``grad(log_params)`` is the analytic gradient of ``loglik``; without it (or where it is
    not finite) central differences are used. ``at_limit(log_params, objective,
    near_bound)`` tells whether an optimum with parameters at the search bound is the
    maximum of the model's limit there (see ``_settled``); without it such an optimum
    never ends the search. When the best optimum so far has parameters at the bound and
    fails that check, ``limit_start(log_params)`` (if given) is the next start, once,
    before the random ones: the limiting model's own optimum, fitted directly. A ``start``
    with parameters at the bound (another fit's optimum at the limit, handed on), or that
    limit start, that already passes these checks is kept without an optimiser run
    (``_at_limit_start``).
    ``hess(log_params)``, when given, is the analytic Hessian of ``loglik`` for the
    standard errors (else central differences of ``grad``, else of ``loglik``).

    Returns
    -------
    dict
        ``theta`` (log-parameters), ``loglik``, ``n_iter``, ``converged``, ``log_se``.

    Raises
    ------
    ConvergenceError
        If no start converges to a finite optimum; the message gives the last estimates.
    """
    def objective(theta: np.ndarray) -> float:
        # extreme trial points may overflow: they score as infeasible, not as warnings
        with np.errstate(all="ignore"):
            value = -loglik(theta) / n_obs + penalizer * float(np.sum(np.exp(2 * theta)))
        return value if np.isfinite(value) else 1e100

    def jacobian(theta: np.ndarray) -> np.ndarray:
        if grad is not None:
            with np.errstate(all="ignore"):
                g = -grad(theta) / n_obs + penalizer * 2 * np.exp(2 * theta)
            if np.all(np.isfinite(g)):
                return g
        return _central_grad(objective, theta)

    def run(theta0: np.ndarray) -> Any:
        return minimize(objective, theta0, jac=jacobian,
                        method="L-BFGS-B", bounds=[(-_BOUND, _BOUND)] * start.size,
                        options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9})

    start = np.clip(start, -_BOUND, _BOUND)
    around = start if around is None else around
    rng = np.random.default_rng(random_state)
    best, last, at_corner = None, start, None
    for i in range(n_starts):
        if i == 0 and at_limit is not None and np.any(np.abs(start) >= _BOUND - 1.0):
            # a start at the limit (another fit's optimum there, see ``_at_limit_start``):
            # kept as it is when it already passes the checks, without a run
            res = _at_limit_start(start, objective, jacobian, at_limit)
            if res is not None:
                best = res
                break
        if i == 0:
            theta0 = start
        elif limit_start is not None and best is not None \
                and np.any(np.abs(best.x) >= _BOUND - 1.0):
            theta0 = np.clip(limit_start(best.x), -_BOUND, _BOUND)
            limit_start = None  # once
            # the limit's own optimum: kept without a run when it passes the checks (a run
            # there can end in a failed line search on an objective flat to round-off)
            at_corner = None if at_limit is None else _at_limit_start(
                theta0, objective, jacobian, at_limit)
        else:
            theta0 = around + rng.normal(0.0, 1.0, size=start.size)
        res = at_corner if i > 0 and at_corner is not None else run(theta0)
        at_corner = None
        if _stale(res):
            again = run(res.x)  # resume: a stale gradient on a flat ridge (see above)
            if again.success and again.fun <= res.fun:
                again.nit += res.nit
                res = again
        last = res.x
        ok = np.isfinite(res.fun) and res.fun < 1e99 and (
            res.success or np.max(np.abs(res.jac)) < 1e-5)
        if ok and (best is None or res.fun < best.fun):
            best = res
        if best is not None and _settled(best, at_limit):
            break  # an optimum further starts would only find again
    if best is None:
        raise ConvergenceError(
            f"{who}: the optimiser did not converge from {n_starts} start(s); last estimates "
            f"{np.round(np.exp(last), 6).tolist()}. Try more n_starts, a small penalizer "
            "(e.g. 0.001), or check the data (units, recency <= T).")
    _warn_short(who, best)
    log_se, log_cov = _log_std_errors(loglik, grad, hess, best.x, n_obs, penalizer)
    return {"theta": best.x, "loglik": float(loglik(best.x)), "n_iter": int(best.nit),
            "converged": bool(best.success), "log_se": log_se, "log_cov": log_cov}


def _warn_short(who: str, best: Any) -> None:
    """Warn (``ConvergenceWarning``) when the kept optimum did not report success, and when
    parameters ran to the search bound (the model is then at a limiting model)."""
    if not best.success:
        warnings.warn(f"{who}: the optimiser stopped ({best.message}) with a near-zero gradient "
                      f"(max |g| = {np.max(np.abs(best.jac)):.1e}); estimates kept, "
                      "converged_=False.", ConvergenceWarning, stacklevel=4)
    at_bound = np.abs(best.x) >= _BOUND - 1.0  # within a factor e of the bound
    if at_bound.any():
        warnings.warn(f"{who}: {int(at_bound.sum())} parameter(s) ran to the search bound "
                      f"(estimates {np.round(np.exp(best.x), 6).tolist()}): the data do not "
                      "identify them (e.g. no heterogeneity), so the model behaves as its "
                      "limiting model (named in boundary_), whose predictions are exact; "
                      "standard errors are not meaningful.", ConvergenceWarning, stacklevel=4)


def _log_std_errors(loglik: Callable[[np.ndarray], float],
                    grad: Callable[[np.ndarray], np.ndarray] | None,
                    hess: Callable[[np.ndarray], np.ndarray] | None, theta: np.ndarray,
                    n_obs: float, penalizer: float) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors of the log-parameters at ``theta`` from the inverse of the observed
    information (penalty included): the analytic Hessian when given, else central
    differences of the analytic gradient, else of the log-likelihood; NaN where the
    inverse has no positive variance. Also that inverse (the covariance of the
    log-parameters, shape (k, k); all NaN when the information is singular): a ratio of
    two parameters may be pinned down when neither is (a ridge of the likelihood)."""
    matrix = None
    if hess is not None:  # analytic: one evaluation
        with np.errstate(all="ignore"):
            matrix = -np.asarray(hess(theta), dtype=float) + np.diag(
                n_obs * penalizer * 4 * np.exp(2 * theta))
        if not np.all(np.isfinite(matrix)):
            matrix = None
    if matrix is None and grad is not None:  # central differences of the analytic gradient
        matrix = hessian_from_gradient(
            lambda t: -grad(t) + n_obs * penalizer * 2 * np.exp(2 * t), theta)
    if matrix is None:
        matrix = numerical_hessian(
            lambda t: -loglik(t) + n_obs * penalizer * np.sum(np.exp(2 * t)), theta)
    try:
        cov = np.linalg.inv(matrix)
        log_se = np.sqrt(np.where(np.diag(cov) > 0, np.diag(cov), np.nan))
    except np.linalg.LinAlgError:
        cov = np.full((theta.size, theta.size), np.nan)
        log_se = np.full(theta.size, np.nan)
    return log_se, cov


class ParametricModel:
    """Base of the CLV estimators: hyper-parameters, fitted state, ``summary``, ``from_params``.

    Subclasses set ``_name`` and ``_param_names``; those whose data carry a time unit (the
    repeat-purchase models) add the ``time_unit`` hyper-parameter and set ``_has_time_unit``.
    """

    _name: ClassVar[str]
    _param_names: ClassVar[tuple[str, ...]]
    _has_time_unit: ClassVar[bool] = False
    #: (limit, parameters, test): the limiting model reached when ``test(params)`` holds.
    _limits: ClassVar[tuple[tuple[str, tuple[str, ...], Callable[[dict], bool]], ...]] = ()

    def _boundary(self) -> tuple[str, ...]:
        """The limiting models the parameters reached, in plain words (``boundary_``).

        Each model lists its limits in ``_limits`` (e.g. ``r >= COLLAPSED``: "no
        purchase-rate heterogeneity"); any other parameter within a factor e of the search
        bound is named as "<name> at the search bound".
        """
        params = self.params_
        found, covered = [], set()
        for label, names, test in self._limits:  # the stronger limit first: "no drop-out"
            if not set(names) <= covered and test(params):
                found.append(label)
                covered.update(names)
        for name, value in params.items():
            if name not in covered and abs(np.log(value)) >= _BOUND - 1.0:
                found.append(f"{name} at the search bound")
        return tuple(found)

    def __init__(self, *, penalizer: float = 0.0, n_starts: int = 3, random_state: Any = 0,
                 ) -> None:
        self.penalizer = penalizer
        self.n_starts = n_starts
        self.random_state = random_state

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The keyword hyper-parameters of ``__init__``, sorted (as scikit-learn's)."""
        signature = inspect.signature(cls.__init__)
        return sorted(p.name for p in signature.parameters.values()
                      if p.name != "self" and p.kind == p.KEYWORD_ONLY)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The hyper-parameters as passed to ``__init__`` (scikit-learn's contract).

        Parameters
        ----------
        deep : bool, default True
            Accepted for scikit-learn's ``clone``; these estimators hold no sub-estimators,
            so it changes nothing.

        Returns
        -------
        dict of str to object
            Every ``__init__`` keyword and its current value.

        Examples
        --------
        >>> from sklearn.base import clone
        >>> from valuemax.clv import BetaGeoModel
        >>> clone(BetaGeoModel(time_unit="D", penalizer=0.01)).get_params()["time_unit"]
        'D'
        """
        return {k: getattr(self, k) for k in self._get_param_names()}

    def set_params(self, **params: Any) -> Self:
        """Set hyper-parameters by name, unvalidated (they are checked at ``fit``).

        Parameters
        ----------
        **params
            ``__init__`` keywords and their new values.

        Returns
        -------
        self
            The estimator.

        Raises
        ------
        ValueError
            If a name is not a hyper-parameter of this estimator (the message lists them).
        """
        valid = self._get_param_names()
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise ValueError(f"{type(self).__name__}.set_params: unknown parameter(s) "
                             f"{unknown}; valid ones are {valid}.")
        for key, value in params.items():
            setattr(self, key, value)
        return self

    def _check_hyper(self) -> None:
        time_unit = self.time_unit if self._has_time_unit else None
        check_hyper(type(self).__name__, time_unit, self.penalizer, self.n_starts)

    def _check_is_fitted(self) -> np.ndarray:
        if not hasattr(self, "params_"):
            raise NotFittedError(f"This {type(self).__name__} is not fitted yet; call fit(...) "
                                 "or build it with from_params(...).")
        return np.array([self.params_[k] for k in self._param_names])

    @classmethod
    def _build(cls, time_unit: str, **params: float) -> Self:
        model = cls(time_unit=time_unit) if cls._has_time_unit else cls()
        model._check_hyper()
        time_unit = time_unit if cls._has_time_unit else ""
        bad = {k: v for k, v in params.items()
               if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating)
               or not (np.isfinite(v) and v > 0)}
        if bad:
            raise ValueError(f"{cls.__name__}.from_params: parameters must be finite and > 0; "
                             f"got {bad}")
        model.params_ = {k: float(params[k]) for k in cls._param_names}
        model.time_unit_ = time_unit
        model.boundary_ = model._boundary()
        return model

    def _fit_loglik(self, loglik: Callable[[np.ndarray], float], n_obs: float,
                    start: np.ndarray,
                    grad: Callable[[np.ndarray], np.ndarray] | None = None,
                    at_limit: Callable[[np.ndarray, float, np.ndarray], bool] | None = None,
                    limit_start: Callable[[np.ndarray], np.ndarray] | None = None,
                    around: np.ndarray | None = None,
                    hess: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        fitted = fit_mle(type(self).__name__, loglik, n_obs, np.log(start),
                         penalizer=float(self.penalizer), n_starts=int(self.n_starts),
                         random_state=self.random_state, grad=grad, at_limit=at_limit,
                         limit_start=limit_start,
                         around=None if around is None else np.log(around), hess=hess)
        estimates = np.exp(fitted["theta"])
        self.params_ = dict(zip(self._param_names, estimates.tolist(), strict=True))
        self.loglik_ = fitted["loglik"]
        self.n_iter_ = fitted["n_iter"]
        self.converged_ = fitted["converged"]
        self.n_customers_ = float(n_obs)
        self.std_errors_ = dict(zip(self._param_names, (estimates * fitted["log_se"]).tolist(),
                                    strict=True))
        self.log_cov_ = np.asarray(fitted["log_cov"], dtype=float)
        self.time_unit_ = self.time_unit if self._has_time_unit else ""
        self.boundary_ = self._boundary()

    def summary(self) -> FitSummary:
        """Estimates, standard errors, intervals and fit statistics of the fitted model.

        Returns
        -------
        FitSummary
            Frozen results object with ``conf_int(alpha)``, ``to_frame()``, ``to_text()``.

        Raises
        ------
        NotFittedError
            If the model was not fitted (``from_params`` models have no standard errors).
        """
        estimates = self._check_is_fitted()
        if not hasattr(self, "loglik_"):
            raise NotFittedError(f"This {type(self).__name__} was built with from_params and "
                                 "has no standard errors; call fit(...) for a summary.")
        k, n = len(self._param_names), self.n_customers_
        std_errors = np.array([self.std_errors_[name] for name in self._param_names])
        return FitSummary(
            model=self._name, param_names=self._param_names, estimates=estimates,
            std_errors=std_errors, log_std_errors=std_errors / estimates,
            loglik=self.loglik_, n_obs=n, aic=2 * k - 2 * self.loglik_,
            bic=k * np.log(n) - 2 * self.loglik_, n_iter=self.n_iter_,
            converged=self.converged_, time_unit=self.time_unit_)
