"""BG/BB: beta-geometric / beta-Bernoulli repeat buying at discrete opportunities.

The non-contractual model of Fader, Hardie & Shang (2010) for settings where a transaction
can happen only at fixed opportunities (a yearly fund drive, an event, a weekly visit): while
alive a customer transacts at each opportunity with probability ``p ~ Beta(alpha, beta)``,
and drops out before each opportunity with probability ``theta ~ Beta(gamma, delta)``. A
customer is summarised by ``(x, t_x, n)``: repeat transactions, the opportunity of the last
one, and the opportunities observed. The likelihood and its sums live in
:mod:`valuemax.clv._likelihoods.discrete`.

References
----------
.. [1] Fader, Hardie & Shang (2010). Customer-Base Analysis in a Discrete-Time
   Noncontractual Setting. Marketing Science 29(6):1086-1108. doi:10.1287/mksc.1100.0580
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln

from valuemax._core.exceptions import InputError
from valuemax.clv._base import COLLAPSED, VANISHING, ParametricModel
from valuemax.clv._likelihoods.discrete import bg_bb_alive_sum, bg_bb_log_pmf, bg_bb_loglik
from valuemax.clv._validation import (
    check_arrays,
    check_whole,
    compress,
    is_count,
    labels,
    wrap,
)

_FIX = ("frequency counts repeat transactions and recency is the opportunity (1..n_periods) "
        "of the last one, 0 without repeats; all three are integer counts of opportunities.")


def check_discrete(who: str, frequency: Any, recency: Any, n_periods: Any, weights: Any = None):
    """Validate the BG/BB sufficient statistics and weights at the public boundary.

    Parameters
    ----------
    who : str
        The calling method, named in messages (e.g. ``"BetaGeoBetaBinomModel.fit"``).
    frequency, recency, n_periods : array-like of shape (n_rows,)
        ``x``, ``t_x`` and ``n``: integers with ``0 <= x <= t_x <= n``, ``n >= 1`` and
        ``t_x == 0`` exactly when ``x == 0``.
    weights : array-like of shape (n_rows,), optional
        Customers each row stands for; >= 0 with a positive sum.

    Returns
    -------
    x, t_x, n, w : ndarray of shape (n_rows,)
        float64 copies (``w`` is all ones without weights).
    index : pandas.Index or None
        The index of the first Series passed, to label results.

    Raises
    ------
    InputError
        If lengths differ, values are NaN or not integers, a rule above is broken (the
        message counts the rows and names the first few), or the weights sum to 0.
    """
    cols = {"frequency": frequency, "recency": recency, "n_periods": n_periods}
    if weights is not None:
        cols["weights"] = weights
    arrs, index = check_arrays(who, cols)
    x, t_x, n = arrs["frequency"], arrs["recency"], arrs["n_periods"]
    w = arrs.get("weights", np.ones_like(x))
    rules = [(v != np.floor(v), name, "is not an integer") for name, v in
             (("frequency", x), ("recency", t_x), ("n_periods", n))]
    rules += [(x < 0, "frequency", "is negative"), (n < 1, "n_periods", "is below 1"),
              (x > t_x, "frequency", "exceeds recency (at most one transaction per opportunity)"),
              (t_x > n, "recency", "exceeds n_periods"),
              ((x == 0) & (t_x != 0), "recency", "is not 0 where frequency == 0"),
              (w < 0, "weights", "is negative")]
    for mask, name, rule in rules:
        if mask.any():
            raise InputError(f"{who}: {name} {rule} for {int(mask.sum()):,} of {mask.size:,} "
                             f"rows ({labels(index, mask)}). {_FIX}")
    if w.sum() <= 0:
        raise InputError(f"{who}: weights sum to 0; at least one customer must count.")
    return x, t_x, n, w, index


class BetaGeoBetaBinomModel(ParametricModel):
    """BG/BB model of repeat transactions at discrete opportunities (non-contractual).

    While alive a customer transacts at each opportunity with probability
    ``p ~ Beta(alpha, beta)``; before each opportunity they drop out with probability
    ``theta ~ Beta(gamma, delta)`` [1]_. A customer is summarised by ``(x, t_x, n)``:
    repeat transactions, the opportunity of the last one, and opportunities observed.

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the parameters added to the mean negative log-likelihood.
    n_starts : int, default 3
        Most optimiser starting points. The first is fixed; the others (random, from
        ``random_state``) are tried only when its optimum fails a check (not converged, a
        parameter at the search bound, or a gradient not near zero).
    random_state : int, Generator or None, default 0
        Seed of the random starts (fixed: same data, same estimates; None: fresh starts).

    Attributes
    ----------
    params_ : dict of str to float
        ``alpha``, ``beta``, ``gamma``, ``delta``.
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
        Unique ``(frequency, recency, n_periods)`` rows the likelihood was evaluated on.
    boundary_ : tuple of str
        The limiting models the estimates reached, in plain words (empty when none):
        "no purchase-probability heterogeneity" (``alpha + beta >= 100``),
        "no drop-out heterogeneity" (``gamma + delta >= 100``), "no drop-out" (``gamma <=
        1e-4``). Standard errors of the parameters involved are not meaningful there.

    References
    ----------
    .. [1] Fader, Hardie & Shang (2010). Customer-Base Analysis in a Discrete-Time
       Noncontractual Setting. Marketing Science 29(6):1086-1108. doi:10.1287/mksc.1100.0580

    Examples
    --------
    >>> m = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750, gamma=0.657,
    ...                                       delta=2.783)
    >>> np.round(m.p_alive([0, 2, 6], [0, 4, 6], [6, 6, 6]), 2)  # FHS (2010) Table 6
    array([0.11, 0.59, 0.93])
    """

    _name = "BG/BB"
    _param_names = ("alpha", "beta", "gamma", "delta")
    _limits = (
        ("no purchase-probability heterogeneity", ("alpha", "beta"),
         lambda p: p["alpha"] + p["beta"] >= COLLAPSED),
        ("no drop-out", ("gamma", "delta"), lambda p: p["gamma"] <= VANISHING),
        ("no drop-out heterogeneity", ("gamma", "delta"),
         lambda p: p["gamma"] + p["delta"] >= COLLAPSED),
    )
    _start = (1.0, 1.0, 1.0, 1.0)

    @classmethod
    def from_params(cls, *, alpha: float, beta: float, gamma: float,
                    delta: float) -> BetaGeoBetaBinomModel:
        """Build a model from known (e.g. published) positive parameters, without fitting.

        Parameters
        ----------
        alpha, beta : float
            Beta distribution of the transaction probability ``p`` at each opportunity; > 0.
        gamma, delta : float
            Beta distribution of the drop-out probability ``theta`` before each
            opportunity; > 0.

        Returns
        -------
        BetaGeoBetaBinomModel
            A model usable like a fitted one (``params_`` set; no standard errors).

        Raises
        ------
        ValueError
            If a parameter is not finite and positive.

        Examples
        --------
        >>> m = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                       delta=2.783)  # FHS (2010), donations
        >>> sorted(m.params_)
        ['alpha', 'beta', 'delta', 'gamma']
        """
        return cls._build("", alpha=alpha, beta=beta, gamma=gamma, delta=delta)

    def fit(self, frequency: Any, recency: Any, n_periods: Any,
            weights: Any = None) -> BetaGeoBetaBinomModel:
        """Fit by maximum likelihood on the unique ``(frequency, recency, n_periods)`` rows.

        Parameters
        ----------
        frequency : array-like of shape (n_rows,)
            Repeat transactions ``x``; integers, ``0 <= x <= recency``.
        recency : array-like of shape (n_rows,)
            Opportunity ``t_x`` of the last transaction; integers <= n_periods; 0 if x == 0.
        n_periods : array-like of shape (n_rows,)
            Transaction opportunities observed ``n``; integers >= 1.
        weights : array-like of shape (n_rows,), optional
            Customers each row stands for (e.g. the ``weights`` column of a table grouped by
            ``(x, t_x, n)``); rows are compressed either way.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        InputError
            If the inputs break the rules above, lengths differ or values are NaN.
        ConvergenceError
            If no starting point converges.
        ValueError
            If a hyper-parameter is invalid.
        """
        self._check_hyper()
        x, t_x, n, w, _ = check_discrete(f"{type(self).__name__}.fit", frequency, recency,
                                         n_periods, weights)
        rows, counts = compress(np.column_stack([x, t_x, n]), w)
        ux, utx, un = rows.T

        def total(theta: np.ndarray) -> float:
            return float(np.dot(counts, bg_bb_loglik(*np.exp(theta), ux, utx, un)))

        self._fit_loglik(total, float(counts.sum()), np.array(self._start))
        self.n_unique_ = len(counts)
        return self

    def _data(self, who: str, frequency: Any, recency: Any, n_periods: Any):
        params = self._check_is_fitted()
        x, t_x, n, _, index = check_discrete(f"{type(self).__name__}.{who}", frequency,
                                             recency, n_periods)
        return params, x, t_x, n, index

    def loglik_rows(self, frequency: Any, recency: Any, n_periods: Any) -> np.ndarray:
        """Log-likelihood of each customer under the fitted parameters, eq. (5) of FHS (2010).

        Parameters
        ----------
        frequency, recency, n_periods : array-like of shape (n_customers,)
            As in ``fit``.

        Returns
        -------
        ndarray of shape (n_customers,)
            Per-customer log-likelihood (<= 0); a Series keeping the index if one was
            passed. Summed with the donation weights of FHS (2010) it gives their LL
            (-33,225.6 at the published estimates).

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If the inputs break the rules of ``fit``.

        Examples
        --------
        >>> from valuemax.datasets import load_donations
        >>> d = load_donations()
        >>> m = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                       delta=2.783)
        >>> ll = m.loglik_rows(d["frequency"], d["recency"], d["periods"])
        >>> round(float((ll * d["weights"]).sum()), 1)
        -33225.6
        """
        params, x, t_x, n, index = self._data("loglik_rows", frequency, recency, n_periods)
        return wrap(bg_bb_loglik(*params, x, t_x, n), index)

    def p_alive(self, frequency: Any, recency: Any, n_periods: Any) -> np.ndarray:
        """Probability each customer is alive at opportunity ``n + 1``, eq. (11) of FHS (2010).

        ``B(α+x, β+n-x)/B(α,β) · B(γ, δ+n+1)/B(γ,δ) / L(α, β, γ, δ | x, t_x, n)``.

        Parameters
        ----------
        frequency, recency, n_periods : array-like of shape (n_customers,)
            As in ``fit``.

        Returns
        -------
        ndarray of shape (n_customers,)
            Probabilities in [0, 1]; a Series keeping the index if one was passed.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If the inputs break the rules of ``fit``.

        Examples
        --------
        >>> m = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                       delta=2.783)
        >>> round(float(m.p_alive([6], [6], [6])[0]), 3)
        0.93
        """
        (a, b, g, d), x, t_x, n, index = self._data("p_alive", frequency, recency, n_periods)
        log_num = (betaln(a + x, b + n - x) - betaln(a, b)
                   + betaln(g, d + n + 1) - betaln(g, d))
        value = np.exp(log_num - bg_bb_loglik(a, b, g, d, x, t_x, n))
        return wrap(np.clip(value, 0.0, 1.0), index)

    def expected_purchases(self, n_future: Any, frequency: Any, recency: Any,
                           n_periods: Any) -> np.ndarray:
        """Expected transactions in the next ``n_future`` opportunities, eq. (13) of FHS (2010).

        ``E[X(n, n+n*) | x, t_x, n] = B(α+x+1, β+n-x)/B(α,β) · δ/(γ-1) · Γ(γ+δ)/Γ(1+δ)
        · [Γ(1+δ+n)/Γ(γ+δ+n) - Γ(1+δ+n+n*)/Γ(γ+δ+n+n*)] / L``, in logs (stable at γ = 1).

        Parameters
        ----------
        n_future : int or array-like of shape (n_customers,)
            Future opportunities ``n*``; whole numbers >= 0.
        frequency, recency, n_periods : array-like of shape (n_customers,)
            As in ``fit``.

        Returns
        -------
        ndarray of shape (n_customers,)
            Expected count (>= 0); a Series keeping the index if one was passed.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If ``n_future`` is not a whole number >= 0, or the inputs break ``fit``'s rules.

        Examples
        --------
        >>> m = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                       delta=2.783)
        >>> np.round(m.expected_purchases(5, [0, 6], [0, 6], [6, 6]), 3)
        array([0.073, 3.752])
        """
        (a, b, g, d), x, t_x, n, index = self._data("expected_purchases", frequency,
                                                    recency, n_periods)
        horizon = check_whole(f"{type(self).__name__}.expected_purchases", "n_future",
                              n_future, 0, "opportunities")
        if horizon.ndim > 1 or horizon.size not in (1, x.size):
            raise InputError(f"{type(self).__name__}.expected_purchases: n_future must be a "
                             "scalar or have one value per customer "
                             f"({x.size}); got shape {horizon.shape}")
        log_weight = (betaln(a + x + 1, b + n - x) - betaln(a, b)
                      - bg_bb_loglik(a, b, g, d, x, t_x, n))
        return wrap(np.exp(log_weight) * bg_bb_alive_sum(g, d, n, n + horizon), index)

    def expected_purchases_new(self, n_periods: Any) -> np.ndarray:
        """Expected transactions of a new customer in ``n`` opportunities, eq. (7) of FHS (2010).

        ``E[X(n)] = α/(α+β) · δ/(γ-1) · [1 - Γ(γ+δ)/Γ(γ+δ+n) · Γ(1+δ+n)/Γ(1+δ)]``.

        Parameters
        ----------
        n_periods : int or array-like of any shape
            Opportunities ``n``; whole numbers >= 0.

        Returns
        -------
        ndarray of the shape of ``n_periods``
            Expected count (>= 0, non-decreasing in ``n``).

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If ``n_periods`` is not a whole number >= 0.

        Examples
        --------
        >>> m = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                       delta=2.783)
        >>> np.round(m.expected_purchases_new([0, 1, 6]), 3)
        array([0.   , 0.498, 2.22 ])
        """
        a, b, g, d = self._check_is_fitted()
        n = check_whole(f"{type(self).__name__}.expected_purchases_new", "n_periods",
                        n_periods, 0, "opportunities")
        return a / (a + b) * bg_bb_alive_sum(g, d, np.zeros_like(n), n)

    def p_purchases(self, n_purchases: Any, n_periods: Any) -> np.ndarray:
        """Probability of exactly ``x`` transactions in ``n`` opportunities, eq. (8) of FHS (2010).

        Parameters
        ----------
        n_purchases : int or array-like
            Transaction counts ``x``; whole numbers >= 0 (0 probability when ``x > n``).
        n_periods : int or array-like
            Opportunities ``n``; whole numbers >= 0, broadcastable with ``n_purchases``.

        Returns
        -------
        ndarray of the broadcast shape
            Probabilities in [0, 1]; they sum to 1 over ``x = 0..n``.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If an argument is not a whole number >= 0.

        Examples
        --------
        >>> m = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                       delta=2.783)
        >>> np.round(m.p_purchases([0, 6], 6), 4)
        array([0.3112, 0.1128])
        """
        params = self._check_is_fitted()
        who = f"{type(self).__name__}.p_purchases"
        x = check_whole(who, "n_purchases", n_purchases, 0, "transactions")
        n = check_whole(who, "n_periods", n_periods, 0, "opportunities")
        return np.clip(np.exp(bg_bb_log_pmf(*params, x, n)), 0.0, 1.0)

    def simulate(self, n_customers: int, n_periods: Any,
                 random_state: Any = None) -> pd.DataFrame:
        """Draw customers from the BG/BB generative process of FHS (2010).

        ``p ~ Beta(alpha, beta)``, ``theta ~ Beta(gamma, delta)`` per customer: alive for a
        geometric number of opportunities, transacting with probability ``p`` at each.

        Parameters
        ----------
        n_customers : int
            Number of customers (>= 1).
        n_periods : int or array-like of shape (n_customers,)
            Opportunities observed per customer; whole numbers >= 1.
        random_state : int, Generator or None, default None
            Seed; the only source of randomness.

        Returns
        -------
        pandas.DataFrame of shape (n_customers, 3)
            int64 columns ``frequency``, ``recency``, ``n_periods`` (as ``fit`` takes).

        Raises
        ------
        InputError, ValueError
            If ``n_periods`` is not a whole number >= 1 (or has the wrong length), or
            ``n_customers`` is not an integer >= 1.

        Examples
        --------
        >>> m = BetaGeoBetaBinomModel.from_params(alpha=1.204, beta=0.750, gamma=0.657,
        ...                                       delta=2.783)
        >>> sim = m.simulate(4, 6, random_state=0)
        >>> list(sim.columns), bool((sim.frequency <= sim.recency).all())
        (['frequency', 'recency', 'n_periods'], True)
        """
        a, b, g, d = self._check_is_fitted()
        if not is_count(n_customers):
            raise ValueError(f"n_customers must be an integer >= 1; got {n_customers!r}")
        who = f"{type(self).__name__}.simulate"
        n = check_whole(who, "n_periods", n_periods, 0, "opportunities")
        if n.ndim > 1 or n.size not in (1, n_customers) or np.any(n < 1):
            raise InputError(f"{who}: n_periods must be a whole number >= 1, or one per "
                             f"customer ({n_customers}); got shape {n.shape}, min "
                             f"{n.min() if n.size else None}.")
        n = np.broadcast_to(n.ravel(), (n_customers,)).astype(np.int64)
        rng = np.random.default_rng(random_state)
        p = rng.beta(a, b, n_customers)
        theta = rng.beta(g, d, n_customers)
        log_u = np.log(1.0 - rng.random((2, n_customers)))  # log of U(0, 1], finite
        with np.errstate(all="ignore"):  # theta or p == 0 (underflow) is masked below
            # opportunities alive ~ Geometric on {0, 1, ...}: P(L >= k) = (1 - theta)^k
            life = np.floor(log_u[0] / np.log1p(-theta))
            # trials counted back from the last opportunity alive until a transaction
            back = 1 + np.floor(log_u[1] / np.log1p(-p))
        alive = np.where(theta > 0, np.minimum(life, n), n).astype(np.int64)
        back = np.where(p > 0, back, np.inf)
        t_x = np.where(back <= alive, alive - np.minimum(back, alive) + 1, 0).astype(np.int64)
        x = np.where(t_x > 0, 1 + rng.binomial(np.maximum(t_x - 1, 0), p), 0)
        return pd.DataFrame({"frequency": x.astype(np.int64), "recency": t_x, "n_periods": n})
