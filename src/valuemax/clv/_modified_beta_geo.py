"""MBG/NBD: modified BG/NBD, drop-out also right after the first purchase (Batislam 2007)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuemax.clv._beta_geo_family import BetaGeoFamilyModel
from valuemax.clv._likelihoods.bg_nbd import (
    bg_rows,
    mbg_nbd_loglik,
    mbg_nbd_loglik_and_grad,
    mbg_nbd_loglik_grad,
)


class ModifiedBetaGeoModel(BetaGeoFamilyModel):
    """MBG/NBD model of repeat purchases in a non-contractual setting.

    As BG/NBD (rate ``lambda ~ Gamma(r, alpha)``, drop-out probability ``p ~ Beta(a, b)``),
    but the coin is also tossed right after the first purchase, so a customer with no repeat
    purchase may already be gone [1]_.

    Parameters
    ----------
    time_unit : {"D", "W"}, default "D"
        Unit of recency, T and horizons; ``alpha`` is in this unit. The default is
        ``customer_table``'s; columns of a customer table that carries
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
        ``r``, ``alpha``, ``a``, ``b``.
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
        purchase rates collapsed to ``r/alpha``), "no drop-out heterogeneity" (``a + b >=
        100``: one drop-out probability ``a/(a+b)``), "no drop-out" (the mean drop-out
        probability ``a/(a+b)`` below 1e-4; ``a`` and ``b`` both near 0 with a larger
        ratio is another limit, every customer's probability 0 or 1, named as the
        parameters at the search bound). Predictions there are those of the limiting model
        (finite and exact); standard errors of the parameters involved are not meaningful.

    References
    ----------
    .. [1] Batislam, Denizel & Filiztekin (2007). Empirical validation and comparison of
       models for customer base analysis. Int. J. Research in Marketing 24(3):201-209.
       doi:10.1016/j.ijresmar.2006.12.005

    Examples
    --------
    >>> from valuemax.clv import BetaGeoModel
    >>> truth = BetaGeoModel.from_params(r=0.243, alpha=4.414, a=0.793, b=2.426)
    >>> rfm = truth.simulate(3000, 39.0, random_state=1)
    >>> m = ModifiedBetaGeoModel(random_state=0).fit(rfm["frequency"], rfm["recency"], rfm["T"])
    >>> sorted(m.params_), m.converged_
    (['a', 'alpha', 'b', 'r'], True)
    """

    _name = "MBG/NBD"
    _shift = 1
    _loglik = staticmethod(mbg_nbd_loglik)
    _loglik_grad = staticmethod(mbg_nbd_loglik_grad)
    _loglik_and_grad = staticmethod(mbg_nbd_loglik_and_grad)
    _rows_layout = staticmethod(bg_rows)

    @classmethod
    def from_params(cls, *, r: float, alpha: float, a: float, b: float,
                    time_unit: str = "D") -> ModifiedBetaGeoModel:
        """Build a model from known parameters (e.g. published values), without fitting.

        Parameters
        ----------
        r, alpha, a, b : float
            Positive parameters; ``alpha`` in ``time_unit``.
        time_unit : {"D", "W"}, default "D"
            Unit of ``alpha`` and of the data passed to predictions.

        Returns
        -------
        ModifiedBetaGeoModel
            A model with ``params_`` and ``time_unit_`` set (no standard errors).

        Raises
        ------
        ValueError
            If a parameter is not finite and positive, or ``time_unit`` is unknown.

        Examples
        --------
        >>> m = ModifiedBetaGeoModel.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614)
        >>> m.params_["alpha"]
        6.183
        """
        return cls._build(time_unit, r=r, alpha=alpha, a=a, b=b)

    def expected_purchases_new(self, t: Any) -> np.ndarray:
        """Expected repeat purchases of a new customer in ``(0, t]`` (Batislam et al. [1]_).

        ``E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]``: the
        BG/NBD expectation weighted by the probability ``1-p`` of surviving the first toss.

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
        .. [1] Batislam, Denizel & Filiztekin (2007), Int. J. Research in Marketing 24(3).

        Examples
        --------
        >>> m = ModifiedBetaGeoModel.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614)
        >>> np.round(m.expected_purchases_new([0, 39, 78]), 3)
        array([0.   , 1.183, 1.805])
        """
        return self._expected_purchases_new(t)

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Expected repeat purchases per customer in the next ``t`` periods ([1]_).

        ``P(alive) (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
        2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))]``.

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
        .. [1] Batislam, Denizel & Filiztekin (2007), Int. J. Research in Marketing 24(3).

        Examples
        --------
        >>> m = ModifiedBetaGeoModel.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614,
        ...                              time_unit="W")
        >>> round(float(m.expected_purchases(39, [2], [30.43], [38.86])[0]), 3)
        1.263
        """
        return self._expected_purchases(t, frequency, recency, T)

    def p_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Probability each customer is still alive at ``T`` ([1]_).

        ``1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))``; below 1 even when x == 0.

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
        .. [1] Batislam, Denizel & Filiztekin (2007), Int. J. Research in Marketing 24(3).

        Examples
        --------
        >>> m = ModifiedBetaGeoModel.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614)
        >>> np.round(m.p_alive([0, 2, 2], [0.0, 30.43, 5.0], [38.86] * 3), 3)
        array([0.39 , 0.706, 0.107])
        """
        return self._p_alive_rows(frequency, recency, T)

    def simulate(self, n_customers: int, T: Any, random_state: Any = None) -> pd.DataFrame:
        """Draw customers from the MBG/NBD generative process [1]_.

        Each customer gets ``lambda ~ Gamma(r, alpha)`` and ``p ~ Beta(a, b)``, makes a
        first purchase at time 0 and drops out right then with probability ``p``; while
        alive they buy at Poisson rate ``lambda`` and drop out with probability ``p`` after
        each repeat purchase, observed until ``T``.

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
        .. [1] Batislam, Denizel & Filiztekin (2007), Int. J. Research in Marketing 24(3).

        Examples
        --------
        >>> m = ModifiedBetaGeoModel.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614)
        >>> sim = m.simulate(5, 39.0, random_state=0)
        >>> list(sim.columns), bool((sim.recency <= sim["T"]).all())
        (['frequency', 'recency', 'T'], True)
        """
        return self._simulate(n_customers, T, random_state)

    def probability_of_n_purchases(self, t: Any, n: Any) -> np.ndarray:
        """Probability that a new customer makes exactly ``n`` repeat purchases in ``(0, t]``.

        Given ``lambda`` and ``p``, a customer is gone at time 0 with probability ``p``,
        otherwise follows BG/NBD, so ``P(X(t)=n | lambda, p) = 1{n=0} p + (1-p)^(n+1)
        Poisson(n; lambda t) + 1{n>0} p (1-p)^n P(N(t) >= n)``. Mixing over
        ``p ~ Beta(a, b)`` and ``lambda ~ Gamma(r, alpha)`` (Batislam et al. [1]_), with
        ``z = t/(alpha+t)`` and ``NB(n) = Γ(r+n)/(Γ(r) n!) (1-z)^r z^n``::

            P(X(t)=n) = 1{n=0} a/(a+b) + B(a, b+n+1)/B(a, b) NB(n)
                        + 1{n>0} B(a+1, b+n)/B(a, b) I_z(n, r),

        ``I_z(n, r) = 1 - Σ_{j<n} NB(j)`` the regularised incomplete beta. Summed over ``n``
        it is 1 and its mean is ``expected_purchases_new(t)``.

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
        .. [1] Batislam, Denizel & Filiztekin (2007), Int. J. Research in Marketing 24(3).

        Examples
        --------
        >>> m = ModifiedBetaGeoModel.from_params(r=0.525, alpha=6.183, a=0.891, b=1.614)
        >>> p = m.probability_of_n_purchases(39.0, np.arange(500))
        >>> round(float(p.sum()), 6), round(float(p[0]), 3)
        (1.0, 0.582)
        """
        return self._probability_of_n_purchases(t, n)
