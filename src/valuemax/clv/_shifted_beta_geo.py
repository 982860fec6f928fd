"""sBG: shifted-beta-geometric model of contractual retention (Fader & Hardie 2007)."""

from __future__ import annotations

from typing import Any

import numpy as np

from valuemax._core.exceptions import InputError
from valuemax.clv._base import COLLAPSED, VANISHING, ParametricModel
from valuemax.clv._likelihoods.discrete import (
    sbg_derl,
    sbg_log_churn,
    sbg_log_survival,
    sbg_loglik,
)
from valuemax.clv._validation import check_whole, is_count


def check_survivors(who: str, survivors: Any) -> np.ndarray:
    """Validate a cohort's survivor counts; return them as float64.

    Raises
    ------
    InputError
        If not 1-D numeric, fewer than 2 values, NaN, negative, non-integral, increasing, or
        the first (the cohort size) is 0.
    """
    arr = survivors.to_numpy() if hasattr(survivors, "to_numpy") else np.asarray(survivors)
    if arr.ndim != 1 or arr.dtype == bool or not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"{who}: survivors must be a 1-D numeric sequence (customers active "
                         f"at the start of periods 0..n); got shape {arr.shape}, dtype "
                         f"{arr.dtype}.")
    if arr.size < 2:
        raise InputError(f"{who}: survivors needs at least 2 values (the cohort size and the "
                         f"survivors after one period); got {arr.size}.")
    fix = "Pass counts of customers still active at the start of each period, cohort first."
    for mask, rule in ((~np.isfinite(arr), "NaN or infinite"), (arr < 0, "negative"),
                       (arr != np.floor(arr), "not whole numbers (counts, not proportions)")):
        if mask.any():
            raise InputError(f"{who}: {int(mask.sum())} of {arr.size} survivor values are "
                             f"{rule} (periods {np.flatnonzero(mask)[:5].tolist()}). {fix}")
    up = np.flatnonzero(np.diff(arr) > 0) + 1
    if up.size:
        raise InputError(f"{who}: survivors increase at {up.size} period(s) "
                         f"({up[:5].tolist()}, e.g. {arr[up[0] - 1]:g} -> {arr[up[0]]:g}); a "
                         f"cohort can only shrink. {fix}")
    if arr[0] == 0:
        raise InputError(f"{who}: the cohort size (first value) is 0; nobody to follow.")
    return arr.astype(np.float64)


class ShiftedBetaGeoModel(ParametricModel):
    """Shifted-beta-geometric (sBG) model of customer retention in a contractual setting.

    Each customer renews at the end of every period with probability ``1 - theta`` until
    they churn, ``theta ~ Beta(alpha, beta)`` across customers; the lifetime ``T`` (the
    period a customer churns in) is then shifted-beta-geometric [1]_. Survival
    ``S(t) = B(alpha, beta+t)/B(alpha, beta)``; the retention rate
    ``r_t = (beta+t-1)/(alpha+beta+t-1)`` rises with tenure (sorting, not changing
    customers).

    Parameters
    ----------
    penalizer : float, default 0.0
        L2 penalty on the parameters added to the mean negative log-likelihood.
    n_starts : int, default 3
        Most optimiser starting points. The first is fixed; the others (random, from
        ``random_state``) are tried only when its optimum fails a check (not converged, a
        parameter at the search bound, or a gradient not near zero).
    random_state : int, Generator or None, default 0
        Seed of the random starting points (fixed by default: the same data give the
        same estimates; None draws fresh starts).

    Attributes
    ----------
    params_ : dict of str to float
        ``alpha``, ``beta``.
    std_errors_ : dict of str to float
        Standard errors (observed information, delta method).
    log_cov_ : ndarray of shape (n_params, n_params)
        Covariance of the log-parameters (inverse observed information; all NaN when
        singular): a ratio of two parameters can be pinned down when neither is.
    loglik_ : float
        Log-likelihood at the optimum.
    n_iter_ : int
        Optimiser iterations.
    converged_ : bool
        Whether the optimiser reported convergence.
    n_customers_ : float
        Cohort size (the first survivor count).
    n_periods_ : int
        Calibration periods ``n`` (one fewer than the survivor counts).
    boundary_ : tuple of str
        The limiting models the estimates reached, in plain words (empty when none):
        "no churn-probability heterogeneity" (``alpha + beta >= 100``),
        "no churn" (``alpha <= 1e-4``). Standard errors of the parameters involved are not meaningful there.

    References
    ----------
    .. [1] Fader & Hardie (2007). How to Project Customer Retention. Journal of Interactive
       Marketing 21(1):76-90. doi:10.1002/dir.20074
    .. [2] Fader & Hardie (2010). Customer-Base Valuation in a Contractual Setting: The Perils
       of Ignoring Heterogeneity. Marketing Science 29(1):85-93. doi:10.1287/mksc.1080.0482

    Examples
    --------
    >>> regular = [1000, 631, 468, 382, 326, 289, 262, 241]  # F&H (2007), years 0-7
    >>> m = ShiftedBetaGeoModel().fit(regular)
    >>> round(m.params_["alpha"], 3), round(m.params_["beta"], 3)
    (0.704, 1.182)
    >>> np.round(m.expected_alive([8, 12], cohort_size=1000), 1)
    array([220.1, 170. ])
    """

    _name = "sBG"
    _param_names = ("alpha", "beta")
    _limits = (
        ("no churn", ("alpha", "beta"), lambda p: p["alpha"] <= VANISHING),
        ("no churn-probability heterogeneity", ("alpha", "beta"),
         lambda p: p["alpha"] + p["beta"] >= COLLAPSED),
    )
    _start = (1.0, 1.0)

    @classmethod
    def from_params(cls, *, alpha: float, beta: float) -> ShiftedBetaGeoModel:
        """Build a model from known (e.g. published) positive parameters, without fitting.

        Parameters
        ----------
        alpha, beta : float
            Beta distribution of the churn probability ``theta`` of each period; > 0.

        Returns
        -------
        ShiftedBetaGeoModel
            A model usable like a fitted one (``params_`` set; no standard errors).

        Raises
        ------
        ValueError
            If a parameter is not finite and positive.

        Examples
        --------
        >>> m = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
        >>> m.params_["beta"]
        1.182
        """
        return cls._build("", alpha=alpha, beta=beta)

    def fit(self, survivors: Any) -> ShiftedBetaGeoModel:
        """Fit by maximum likelihood to one cohort's survivor counts [1]_.

        ``LL = Σ_{t=1}^{n} (s_{t-1} - s_t) ln P(T=t) + s_n ln S(n)``.

        Parameters
        ----------
        survivors : array-like of shape (n + 1,)
            Customers still active at the start of periods ``0..n``; the first is the cohort
            size. Whole numbers, non-increasing, ``n >= 1``.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        InputError
            If the survivors break the rules above.
        ConvergenceError
            If no starting point converges.
        ValueError
            If a hyper-parameter is invalid.
        """
        self._check_hyper()
        s = check_survivors(f"{type(self).__name__}.fit", survivors)

        def total(theta: np.ndarray) -> float:
            return sbg_loglik(*np.exp(theta), s)

        self._fit_loglik(total, float(s[0]), np.array(self._start))
        self.n_periods_ = int(s.size - 1)
        return self

    def _periods(self, method: str, t: Any, low: int) -> tuple[Any, np.ndarray]:
        """The fitted ``(alpha, beta)`` and ``t`` checked as whole periods >= ``low``."""
        params = self._check_is_fitted()
        return params, check_whole(f"{type(self).__name__}.{method}", "t", t, low, "periods")

    def survival(self, t: Any) -> np.ndarray:
        """``S(t) = P(T > t) = B(alpha, beta+t)/B(alpha, beta)``, active after ``t`` periods.

        Parameters
        ----------
        t : int or array-like of any shape
            Periods; whole numbers >= 0 (``S(0) = 1``).

        Returns
        -------
        ndarray of the shape of ``t``
            Probabilities in (0, 1], non-increasing in ``t``.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If ``t`` is not a whole number >= 0.

        Examples
        --------
        >>> m = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
        >>> np.round(m.survival([0, 1, 2]), 4)
        array([1.    , 0.6267, 0.4738])
        """
        (a, b), t = self._periods("survival", t, 0)
        return np.exp(sbg_log_survival(a, b, t))

    def churn_probability(self, t: Any) -> np.ndarray:
        """``P(T = t) = B(alpha+1, beta+t-1)/B(alpha, beta)``, churn in period ``t``.

        Parameters
        ----------
        t : int or array-like of any shape
            Periods; whole numbers >= 1.

        Returns
        -------
        ndarray of the shape of ``t``
            Probabilities; ``S(t-1) - S(t)``.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If ``t`` is not a whole number >= 1.

        Examples
        --------
        >>> m = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
        >>> np.round(m.churn_probability([1, 2]), 4)
        array([0.3733, 0.1529])
        """
        (a, b), t = self._periods("churn_probability", t, 1)
        return np.exp(sbg_log_churn(a, b, t))

    def retention_rate(self, t: Any) -> np.ndarray:
        """Retention rate ``r_t = S(t)/S(t-1) = (beta+t-1)/(alpha+beta+t-1)`` of period ``t``.

        Parameters
        ----------
        t : int or array-like of any shape
            Periods; whole numbers >= 1.

        Returns
        -------
        ndarray of the shape of ``t``
            Rates in (0, 1), increasing in ``t``.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If ``t`` is not a whole number >= 1.

        Examples
        --------
        >>> m = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
        >>> np.round(m.retention_rate([1, 2, 12]), 3)
        array([0.627, 0.756, 0.945])
        """
        (a, b), t = self._periods("retention_rate", t, 1)
        return (b + t - 1) / (a + b + t - 1)

    def expected_alive(self, t: Any, cohort_size: float = 1.0) -> np.ndarray:
        """Expected customers still active at the start of period ``t``: ``cohort_size * S(t)``.

        Parameters
        ----------
        t : int or array-like of any shape
            Periods; whole numbers >= 0.
        cohort_size : float, default 1.0
            Customers acquired at period 0 (> 0).

        Returns
        -------
        ndarray of the shape of ``t``
            Expected counts.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If ``t`` is not a whole number >= 0 or ``cohort_size`` is not positive.
        """
        if not (np.isscalar(cohort_size) and np.isfinite(cohort_size) and cohort_size > 0):
            raise InputError(f"{type(self).__name__}.expected_alive: cohort_size must be a "
                             f"finite number > 0; got {cohort_size!r}")
        return cohort_size * self.survival(t)

    def discounted_expected_residual_lifetime(self, discount_rate: Any,
                                              n_renewals: Any = 0) -> np.ndarray:
        """DERL of a customer who has made ``n_renewals`` renewals, from [2]_.

        ``DERL(d | n-1 renewals) = (beta+n-1)/(alpha+beta+n-1)
        · 2F1(1, beta+n; alpha+beta+n; 1/(1+d))``: the expected discounted number of future
        periods, for a customer at the end of period ``n`` just before the renewal decision;
        the next period (if renewed) is undiscounted. Multiply by the margin per period for
        the residual value. The hypergeometric series is summed directly to 1e-15 relative
        (scipy's ``hyp2f1`` returns NaN once ``beta + n`` exceeds ~100 with ``d`` small);
        the cost grows as ``1/d`` per distinct ``(d, n_renewals)`` pair.

        Parameters
        ----------
        discount_rate : float or array-like
            Discount rate per period ``d``; finite, >= 1e-5 (e.g. 0.1 per year).
        n_renewals : int or array-like, default 0
            Renewals made so far ``n - 1``; whole numbers >= 0 (0: a customer in their first
            period). Broadcast with ``discount_rate``.

        Returns
        -------
        ndarray of the broadcast shape
            DERL in periods (> 0).

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If ``discount_rate`` is not finite and >= 1e-5, or ``n_renewals`` is not a whole
            number >= 0.

        Examples
        --------
        >>> m = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
        >>> np.round(m.discounted_expected_residual_lifetime(0.1, [0, 4]), 3)
        array([2.965, 5.894])
        """
        a, b = self._check_is_fitted()
        who = f"{type(self).__name__}.discounted_expected_residual_lifetime"
        d = np.asarray(discount_rate)
        if d.dtype == bool or not np.issubdtype(d.dtype, np.number) \
                or not np.all(np.isfinite(d) & (d >= 1e-5)):
            raise InputError(f"{who}: discount_rate must be finite and >= 1e-5 per period "
                             f"(e.g. 0.1 for 10% a period); got {discount_rate!r}. The "
                             "series needs ~40/d terms, and d = 0 diverges when alpha <= 1.")
        k = check_whole(who, "n_renewals", n_renewals, 0, "periods")
        return sbg_derl(a, b, d, k)

    def simulate(self, cohort_size: int, n_periods: int, random_state: Any = None,
                 ) -> np.ndarray:
        """Draw one cohort's survivor counts from the sBG process [1]_.

        Each customer gets ``theta ~ Beta(alpha, beta)`` and churns in period
        ``T ~ Geometric(theta)``; the counts are the customers with ``T > t``.

        Parameters
        ----------
        cohort_size : int
            Customers acquired at period 0 (>= 1).
        n_periods : int
            Periods to follow (>= 1).
        random_state : int, Generator or None, default None
            Seed; the only source of randomness.

        Returns
        -------
        ndarray of shape (n_periods + 1,)
            int64 survivor counts at the start of periods ``0..n_periods`` (as ``fit`` takes).

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        ValueError
            If ``cohort_size`` or ``n_periods`` is not an integer >= 1.

        Examples
        --------
        >>> m = ShiftedBetaGeoModel.from_params(alpha=0.704, beta=1.182)
        >>> s = m.simulate(1000, 7, random_state=0)
        >>> int(s[0]), bool(np.all(np.diff(s) <= 0))
        (1000, True)
        """
        a, b = self._check_is_fitted()
        for name, value in (("cohort_size", cohort_size), ("n_periods", n_periods)):
            if not is_count(value):
                raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
        rng = np.random.default_rng(random_state)
        theta = rng.beta(a, b, cohort_size)
        with np.errstate(all="ignore"):  # theta == 0 (underflow): never churns, masked below
            lifetime = 1 + np.floor(np.log(1.0 - rng.random(cohort_size)) / np.log1p(-theta))
        last = np.where(theta > 0, np.minimum(lifetime, n_periods + 1), n_periods + 1)
        churned = np.cumsum(np.bincount(last.astype(np.int64), minlength=n_periods + 2))
        return (cohort_size - churned[: n_periods + 1]).astype(np.int64)
