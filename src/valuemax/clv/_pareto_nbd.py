"""Pareto/NBD: Poisson purchases with exponential lifetimes (Schmittlein et al. 1987)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.integrate import quad_vec
from scipy.special import expit, gammaln

from valuemax.clv._base import COLLAPSED, VANISHING
from valuemax.clv._btyd import RepeatPurchaseModel
from valuemax.clv._likelihoods.pareto_nbd import (
    pareto_nbd_log_odds_died,
    pareto_nbd_loglik,
    pareto_nbd_loglik_and_grad,
    pareto_nbd_loglik_grad,
    row_pairs,
)
from valuemax.clv._likelihoods.special import log_nbd_pmf, log_rising


def _integral_ratio(s: float, base: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(1 - (base/(base+t))^(s-1)) / (s-1)``, with its limit ``ln(1+t/base)`` at s == 1."""
    log_ratio = np.log1p(t / base)
    if abs(s - 1) < 1e-10:
        return log_ratio
    return -np.expm1(-(s - 1) * log_ratio) / (s - 1)


def _p_n_dead_by_t(r, alpha, s, beta, t, n):
    """``P(X(t) = n, dropped out before t)`` for ``t > 0``, by one adaptive quadrature.

    The lifetime density ``s β^s/(β+τ)^(s+1)`` times ``NB(n; r, α/(α+τ))``, integrated over
    ``τ`` in ``(0, t)``; with ``z = τ/(α+τ) = z1 u`` and ``u = v^(1/(n+1))`` it becomes
    ``C ∫_0^1 (1-z1 u)^(r+s-1) (β+(α-β) z1 u)^-(s+1) dv`` with
    ``C = Γ(r+n)/(Γ(r) n!) s α β^s z1^(n+1)/(n+1)``: a bounded, smooth integrand for every
    ``n``, scaled to at most ~1 per element so that the absolute tolerance is relative.
    """
    z1 = t / (alpha + t)
    # β^s (β+(α-β) z1 u)^-(s+1) = β^-1 (1 + (α-β)/β z1 u)^-(s+1): no large terms cancel
    # as s, β → ∞ (nor, with log_rising, as r, α → ∞)
    log_c = (log_rising(r, n) - gammaln(n + 1) + np.log(s) + np.log(alpha) - np.log(beta)
             + (n + 1) * np.log(z1) - np.log(n + 1))

    def log_g(u):
        return ((r + s - 1) * np.log1p(-z1 * u)
                - (s + 1) * np.log1p((alpha - beta) / beta * z1 * u))

    log_k = np.maximum(log_g(0.0), log_g(1.0))
    integral, _ = quad_vec(lambda v: np.exp(log_g(v ** (1.0 / (n + 1))) - log_k), 0.0, 1.0,
                           epsabs=1e-13, epsrel=1e-10, norm="max", limit=2000)
    return np.exp(log_c + log_k) * integral


class ParetoNBDModel(RepeatPurchaseModel):
    """Pareto/NBD model of repeat purchases in a non-contractual setting.

    While alive a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)`` and has an
    exponential lifetime with rate ``mu ~ Gamma(s, beta)`` [1]_. The likelihood follows the
    Fader-Hardie note [2]_, with the hypergeometric term evaluated in log space so that it
    never overflows, for both ``alpha >= beta`` and ``alpha < beta``.

    Parameters
    ----------
    time_unit : {"D", "W"}, default "D"
        Unit of recency, T and horizons; ``alpha`` and ``beta`` are in this unit. The
        default is ``customer_table``'s; columns of a customer table that carries
        ``attrs["time_unit"]`` (``analyze(...).customers``) must match it.
    penalizer : float, default 0.0
        L2 penalty on the parameters added to the mean negative log-likelihood.
    n_starts : int, default 3
        Most optimiser starting points. The first is fixed; the others (random, from
        ``random_state``) are tried only when its optimum fails a check (not converged, a
        parameter at the search bound, or a gradient not near zero); a drop-out parameter
        at the bound passes when the fit equals the maximum of the no-drop-out limit, the
        NBD (the model has then reached that limit; ``valuemax.clv._limit``).
    random_state : int, Generator or None, default 0
        Seed of the random starting points (fixed by default: the same data give the
        same estimates; None draws fresh starts).

    Attributes
    ----------
    params_ : dict of str to float
        ``r``, ``alpha``, ``s``, ``beta``.
    std_errors_ : dict of str to float
        Standard errors (observed information, delta method).
    log_cov_ : ndarray of shape (n_params, n_params)
        Covariance of the log-parameters (inverse observed information; all NaN when
        singular): a ratio of two parameters can be pinned down when neither is.
    loglik_ : float
        Log-likelihood at the optimum (sum over customers).
    n_iter_ : int
        Optimiser iterations.
    converged_ : bool
        Whether the optimiser reported convergence.
    n_customers_ : float
        Customers fitted (sum of weights).
    n_unique_ : int
        Unique ``(frequency, recency, T)`` rows the likelihood was evaluated on.
    time_unit_ : str
        Time unit of the fit.
    boundary_ : tuple of str
        The limiting models the estimates reached, in plain words (empty when none):
        "no purchase-rate heterogeneity" (``r >= 100``: the gamma of
        purchase rates collapsed to ``r/alpha``), "no drop-out-rate heterogeneity" (``s >=
        100``: one drop-out rate ``s/beta``), "no drop-out" (``s <= 1e-4``). Predictions
        there are those of the limiting model (finite and exact); standard errors of the
        parameters involved are not meaningful.

    References
    ----------
    .. [1] Schmittlein, Morrison & Colombo (1987). Counting Your Customers: Who Are They and
       What Will They Do Next? Management Science 33(1):1-24.
    .. [2] Fader & Hardie (2005). A Note on Deriving the Pareto/NBD Model and Related
       Expressions. http://brucehardie.com/notes/009/

    Examples
    --------
    >>> m = ParetoNBDModel.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669)
    >>> m.p_alive([0, 4], [0.0, 35.0], [39.0, 39.0]).round(3)
    array([0.294, 0.941])
    """

    _name = "Pareto/NBD"
    _param_names = ("r", "alpha", "s", "beta")
    _start = (1.0, 1.0, 1.0, 1.0)
    _loglik = staticmethod(pareto_nbd_loglik)
    _loglik_grad = staticmethod(pareto_nbd_loglik_grad)
    _loglik_and_grad = staticmethod(pareto_nbd_loglik_and_grad)
    _rows_layout = staticmethod(row_pairs)
    _limits = (
        ("no purchase-rate heterogeneity", ("r", "alpha"), lambda p: p["r"] >= COLLAPSED),
        ("no drop-out", ("s", "beta"), lambda p: p["s"] <= VANISHING),
        ("no drop-out-rate heterogeneity", ("s", "beta"), lambda p: p["s"] >= COLLAPSED),
    )

    @classmethod
    def from_params(cls, *, r: float, alpha: float, s: float, beta: float,
                    time_unit: str = "D") -> ParetoNBDModel:
        """Build a model from known parameters (e.g. published values), without fitting.

        Parameters
        ----------
        r, alpha, s, beta : float
            Positive parameters; ``alpha`` and ``beta`` in ``time_unit``.
        time_unit : {"D", "W"}, default "D"
            Unit of ``alpha``, ``beta`` and of the data passed to predictions.

        Returns
        -------
        ParetoNBDModel
            A model with ``params_`` and ``time_unit_`` set (no standard errors).

        Raises
        ------
        ValueError
            If a parameter is not finite and positive, or ``time_unit`` is unknown.

        Examples
        --------
        >>> m = ParetoNBDModel.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669)
        >>> m.params_["beta"]
        11.669
        """
        return cls._build(time_unit, r=r, alpha=alpha, s=s, beta=beta)

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """Expected repeat purchases of a new customer in ``(0, t]`` ([1]_, eq. 17 of [2]_).

        ``E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]`` (its limit
        ``r beta/alpha ln(1 + t/beta)`` at s == 1).

        Parameters
        ----------
        t : float or array-like of any shape
            Time since the first purchase in ``time_unit_``; >= 0.

        Returns
        -------
        ndarray of the shape of ``t``
            Expected count (>= 0, non-decreasing in ``t``).

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If ``t`` is negative or not finite.

        References
        ----------
        .. [1] Schmittlein, Morrison & Colombo (1987), Management Science 33(1).
        .. [2] Fader & Hardie (2005), http://brucehardie.com/notes/009/

        Examples
        --------
        >>> m = ParetoNBDModel.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669)
        >>> np.round(m.expected_purchases_new([0, 39, 78]), 3)
        array([0.   , 1.213, 1.909])
        """
        r, alpha, s, beta = self._check_is_fitted()
        t = self._horizon("expected_purchases_new", t)
        return r * beta / alpha * _integral_ratio(s, beta, t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Expected repeat purchases per customer in the next ``t`` periods (eq. 22 of [1]_).

        ``P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]``.

        Parameters
        ----------
        t : float or array-like of shape (n_customers,)
            Window length in ``time_unit_``; >= 0.
        frequency : array-like of shape (n_customers,)
            Repeat purchases ``x``; integers >= 0.
        recency : array-like of shape (n_customers,)
            First-to-last purchase ``t_x`` in ``time_unit_``; 0 when x == 0.
        T : array-like of shape (n_customers,)
            First purchase to end of observation in ``time_unit_``; >= recency.

        Returns
        -------
        ndarray of shape (n_customers,)
            Expected count (>= 0); a Series keeping the index if one was passed.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If lengths differ, recency > T, or frequency is non-integral.

        References
        ----------
        .. [1] Fader & Hardie (2005), http://brucehardie.com/notes/009/

        Examples
        --------
        >>> m = ParetoNBDModel.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669)
        >>> np.round(m.expected_purchases(39, [0, 2], [0.0, 30.43], [38.86, 38.86]), 3)
        array([0.107, 1.455])
        """
        (r, alpha, s, beta), x, t_x, age, index = self._rfm("expected_purchases", frequency,
                                                            recency, T)
        t = self._horizon("expected_purchases", t, x.size)
        rate = (r + x) * (beta + age) / (alpha + age) * _integral_ratio(s, beta + age, t)
        return self._wrap(rate * self._p_alive(r, alpha, s, beta, x, t_x, age), index)

    @staticmethod
    def _p_alive(r, alpha, s, beta, x, t_x, age):
        return expit(-pareto_nbd_log_odds_died(r, alpha, s, beta, x, t_x, age))

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Probability each customer is still alive at ``T`` (eq. 18 of [1]_).

        ``1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)``, in log space.

        Parameters
        ----------
        frequency, recency, T : array-like of shape (n_customers,)
            As in ``fit``, in ``time_unit_``.

        Returns
        -------
        ndarray of shape (n_customers,)
            Probabilities in [0, 1]; a Series keeping the index if one was passed.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If lengths differ, recency > T, or frequency is non-integral.

        References
        ----------
        .. [1] Fader & Hardie (2005), http://brucehardie.com/notes/009/

        Examples
        --------
        >>> m = ParetoNBDModel.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669)
        >>> np.round(m.p_alive([0, 2], [0.0, 30.43], [38.86, 38.86]), 3)
        array([0.295, 0.869])
        """
        return self._p_alive_rows(frequency, recency, T)

    def simulate(self, n_customers: int, T: Any, random_state: Any = None) -> pd.DataFrame:
        """Draw customers from the Pareto/NBD generative process [1]_.

        Each customer gets a purchase rate ``lambda ~ Gamma(r, alpha)`` and a drop-out rate
        ``mu ~ Gamma(s, beta)``, makes a first purchase at time 0, lives an ``Exp(mu)``
        lifetime ``tau`` and buys at Poisson rate ``lambda`` on ``(0, min(tau, T)]``. Drawn
        without loops: ``x ~ Poisson(lambda min(tau, T))`` and, given ``x``, the last
        purchase time is the largest of ``x`` uniform times, ``min(tau, T) U^(1/x)``.

        Parameters
        ----------
        n_customers : int
            Number of customers (>= 1).
        T : float or array-like of shape (n_customers,)
            Observation length of each customer in ``time_unit_``; > 0.
        random_state : int, Generator or None, default None
            Seed; the only source of randomness.

        Returns
        -------
        pandas.DataFrame of shape (n_customers, 3)
            Columns ``frequency`` (int64), ``recency``, ``T``.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If ``T`` is not positive and finite or has the wrong length.
        ValueError
            If ``n_customers`` is not an integer >= 1.

        References
        ----------
        .. [1] Schmittlein, Morrison & Colombo (1987), Management Science 33(1).

        Examples
        --------
        >>> m = ParetoNBDModel.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669)
        >>> sim = m.simulate(5, 39.0, random_state=0)
        >>> list(sim.columns), bool((sim.recency <= sim["T"]).all())
        (['frequency', 'recency', 'T'], True)
        """
        (r, alpha, s, beta), age = self._simulate_setup(n_customers, T)
        rng = np.random.default_rng(random_state)
        lam = rng.gamma(r, 1.0 / alpha, age.size)
        mu = rng.gamma(s, 1.0 / beta, age.size)
        observed = np.minimum(rng.exponential(1.0, age.size) / mu, age)
        x = rng.poisson(lam * observed)
        last = observed * rng.random(age.size) ** (1.0 / np.maximum(x, 1))
        return pd.DataFrame({"frequency": x.astype(np.int64),
                             "recency": np.where(x > 0, last, 0.0), "T": age})

    def probability_of_n_purchases(self, t: Any, n: Any) -> np.ndarray:
        """Probability that a new customer makes exactly ``n`` repeat purchases in ``(0, t]``.

        ``P(X(t)=n) = (β/(β+t))^s NB(n; r, α/(α+t)) + ∫_0^t s β^s/(β+τ)^(s+1)
        NB(n; r, α/(α+τ)) dτ``: alive at ``t``, or dropped out at ``τ < t`` after ``n``
        purchases, with ``NB(n; r, p) = Γ(r+n)/(Γ(r) n!) p^r (1-p)^n``. This is the
        quantity of Fader & Hardie's note [1]_; its closed form subtracts nearly equal
        hypergeometric terms for large ``n``, so the integral is evaluated by vectorised
        adaptive quadrature (``scipy.integrate.quad_vec``, relative tolerance ~1e-10)
        instead. Summed over ``n`` it is 1 and its mean is ``expected_purchases_new(t)``.

        Parameters
        ----------
        t : float or array-like
            Time since the first purchase in ``time_unit_``; >= 0.
        n : int or array-like of int
            Number of repeat purchases; integers >= 0.

        Returns
        -------
        ndarray of shape ``np.broadcast_shapes(np.shape(t), np.shape(n))``
            Probabilities in [0, 1]; ``t`` and ``n`` broadcast as in numpy, so
            ``t[:, None]`` with ``n`` of shape (k,) gives a (len(t), k) table.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If ``t`` is negative or not finite, ``n`` is not an integer >= 0, or the shapes
            do not broadcast.

        References
        ----------
        .. [1] Fader & Hardie (2006). Deriving an Expression for P(X(t) = x) Under the
           Pareto/NBD Model. http://brucehardie.com/notes/012/

        Examples
        --------
        >>> m = ParetoNBDModel.from_params(r=0.553, alpha=10.578, s=0.606, beta=11.669)
        >>> p = m.probability_of_n_purchases(39.0, np.arange(300))
        >>> round(float(p.sum()), 6), round(float(p[0]), 3)
        (1.0, 0.594)
        """
        (r, alpha, s, beta), t, n = self._count_grid(t, n)
        log_nb = log_nbd_pmf(r, alpha, t, n)
        out = np.array(np.exp(-s * np.log1p(t / beta) + log_nb), ndmin=1)
        t, n = np.ravel(t), np.ravel(n)
        pos = t > 0
        if pos.any():
            out.reshape(-1)[pos] += _p_n_dead_by_t(r, alpha, s, beta, t[pos], n[pos])
        return out.reshape(np.shape(log_nb))
