"""Gamma-Gamma model of the average value of repeat transactions (Fader, Hardie & Lee 2005)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from valuemax._core.exceptions import DataLossWarning, InputError, InsufficientData
from valuemax.clv._base import COLLAPSED, ParametricModel
from valuemax.clv._likelihoods.gamma_gamma import gamma_gamma_totals
from valuemax.clv._validation import MIN_REPEAT_BUYERS_TO_FIT, check_arrays, compress, labels, wrap


def _check_spend(who: str, frequency: Any, monetary_value: Any, weights: Any = None):
    cols = {"frequency": frequency, "monetary_value": monetary_value}
    if weights is not None:
        cols["weights"] = weights
    arrs, index = check_arrays(who, cols)
    x = arrs["frequency"]
    for mask, rule in ((x < 0, "is negative"), (x != np.floor(x), "is not an integer")):
        if mask.any():
            raise InputError(f"{who}: frequency {rule} for {int(mask.sum()):,} of {x.size:,} "
                             f"customers ({labels(index, mask)}). frequency counts repeat "
                             "purchase occasions (integers >= 0).")
    weights_arr = arrs.get("weights", np.ones_like(x))
    if (weights_arr < 0).any():
        raise InputError(f"{who}: weights must be >= 0; {int((weights_arr < 0).sum()):,} are "
                         f"negative ({labels(index, weights_arr < 0)}).")
    return x, arrs["monetary_value"], weights_arr, index


#: Rows looked at by :func:`_repeated` (evenly spaced); up to this many rows are always
#: compressed (it costs milliseconds there).
_SAMPLE = 65_536


def _repeated(values: np.ndarray) -> bool:
    """Whether to compress rows by ``values``: always for up to ``_SAMPLE`` rows, else
    when fewer than 90% of ``_SAMPLE`` evenly spaced values are distinct (a cheap look
    instead of hashing every row of a large table of continuous spend, where nothing would
    merge; a wrong guess costs time only, as the likelihood is the same on either)."""
    if values.size <= _SAMPLE:
        return True
    sample = values[:: values.size // _SAMPLE]
    return np.unique(sample).size < 0.9 * sample.size


def _moments_start(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The optimiser's start: ``(p, q, gamma)`` by the method of moments when that gives
    valid values, else ``(1, 1, mean spend)``.

    With transaction values ``Gamma(p, nu)`` and ``nu ~ Gamma(q, gamma)`` (rates), the mean
    ``m`` of ``x`` values has ``E[m] = p gamma/(q-1)`` and ``E[m^2 | x] = c (p^2 + p/x)``,
    ``c = gamma^2/((q-1)(q-2))`` (for ``q > 2``): the weighted least-squares line of ``m^2``
    on ``1/x`` gives ``c p^2`` (intercept) and ``c p`` (slope), so ``p`` is their ratio,
    ``(q-1)/(q-2) = c p^2 / E[m]^2`` and ``gamma = E[m] (q-1)/p``. Heavy tails make these
    rough (``m^2`` has no variance for ``q <= 4``), but near enough to save about half
    the optimiser's evaluations on large tables; the maximum is the same from either start.
    """
    fallback = np.array([1.0, 1.0, float(np.average(m, weights=w))])
    total = float(w.sum())
    u, y = 1.0 / x, m * m
    u_bar, y_bar, mean = float(w @ u) / total, float(w @ y) / total, float(w @ m) / total
    spread = float(w @ (u - u_bar) ** 2)
    if not spread > 0:  # one frequency: the line is not identified
        return fallback
    slope = float(w @ ((u - u_bar) * (y - y_bar))) / spread
    intercept = y_bar - slope * u_bar
    if not (slope > 0 and mean > 0):  # no positive line (e.g. equal spends): no moments
        return fallback
    with np.errstate(all="ignore"):
        p = intercept / slope
        ratio = intercept / mean**2
        q = (2.0 * ratio - 1.0) / (ratio - 1.0)
        gamma = mean * (q - 1.0) / p
    start = np.array([p, q, gamma])
    if not (np.all(np.isfinite(start)) and slope > 0 and p > 0 and ratio > 1 and gamma > 0):
        return fallback
    return start


class GammaGammaModel(ParametricModel):
    """Gamma-Gamma model of a customer's average transaction value.

    Transaction values are ``Gamma(p, nu)`` around each customer's mean, with
    ``nu ~ Gamma(q, gamma)`` across customers; the mean of ``x`` values then has a known
    density [1]_ [2]_. It assumes spend is independent of the purchase process.

    Parameters
    ----------
    on_invalid : {"raise", "drop"}, default "raise"
        What to do with rows that cannot enter the fit (frequency == 0, or
        monetary_value <= 0 where frequency >= 1): raise ``InputError``, or drop them with a
        ``DataLossWarning`` giving the count.
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
        ``p``, ``q``, ``gamma`` (``gamma`` in the currency of ``monetary_value``).
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
        Repeat buyers fitted (sum of weights).
    n_dropped_ : int
        Rows dropped under ``on_invalid="drop"``.
    boundary_ : tuple of str
        The limiting models the estimates reached, in plain words (empty when none):
        "no spend heterogeneity across customers" (``q >= 100``: every
        customer has the same mean spend). Standard errors of the parameters involved are not meaningful there.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005). RFM and CLV: Using Iso-Value Curves for Customer Base
       Analysis. J. Marketing Research 42(4):415-430. doi:10.1509/jmkr.2005.42.4.415
    .. [2] Hardie (2013). The Gamma-Gamma Model of Monetary Value.
       http://brucehardie.com/notes/025/

    Examples
    --------
    >>> m = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
    >>> round(m.population_mean(), 2)
    35.22
    """

    _name = "Gamma-Gamma"
    _param_names = ("p", "q", "gamma")
    _limits = (
        ("no spend heterogeneity across customers", ("q", "gamma"),
         lambda p: p["q"] >= COLLAPSED),
    )

    def __init__(self, *, on_invalid: str = "raise", penalizer: float = 0.0, n_starts: int = 3,
                 random_state: Any = 0) -> None:
        self.on_invalid = on_invalid
        super().__init__(penalizer=penalizer, n_starts=n_starts, random_state=random_state)

    @classmethod
    def from_params(cls, *, p: float, q: float, gamma: float) -> GammaGammaModel:
        """Build a model from known parameters (e.g. published values), without fitting.

        Parameters
        ----------
        p, q, gamma : float
            Positive parameters; ``gamma`` in the currency of the spend data.

        Returns
        -------
        GammaGammaModel
            A model with ``params_`` set (no standard errors).

        Raises
        ------
        ValueError
            If a parameter is not finite and positive.

        Examples
        --------
        >>> GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44).params_["q"]
        3.74
        """
        return cls._build("", p=p, q=q, gamma=gamma)

    def fit(self, frequency: Any, monetary_value: Any, weights: Any = None) -> GammaGammaModel:
        """Fit by maximum likelihood on the repeat buyers' average transaction values.

        Parameters
        ----------
        frequency : array-like of shape (n_customers,)
            Repeat transactions ``x`` averaged in ``monetary_value``; integers >= 1.
        monetary_value : array-like of shape (n_customers,)
            Mean value of the repeat transactions; > 0.
        weights : array-like of shape (n_customers,), optional
            Number of customers each row stands for.

        Returns
        -------
        self
            The fitted model.

        Raises
        ------
        InputError
            If lengths differ, values are NaN, frequency is non-integral or negative; if rows
            have frequency == 0 or monetary_value <= 0 and ``on_invalid="raise"``; if fewer
            than ``MIN_REPEAT_BUYERS_TO_FIT`` (10) repeat buyers remain.
        ConvergenceError
            If no starting point converges.
        ValueError
            If a hyper-parameter is invalid.
        """
        who = f"{type(self).__name__}.fit"
        if self.on_invalid not in ("raise", "drop"):
            raise ValueError(f"{who}: on_invalid must be one of ['raise', 'drop']; got "
                             f"{self.on_invalid!r}")
        self._check_hyper()
        x, m, w, index = _check_spend(who, frequency, monetary_value, weights)
        bad = (x == 0) | (m <= 0)
        if bad.any() and self.on_invalid == "raise":
            no_repeat, no_spend = x == 0, (x > 0) & (m <= 0)
            parts = [f"{int(mask.sum()):,} of {x.size:,} rows have {rule} ({labels(index, mask)})"
                     for mask, rule in ((no_repeat, "frequency == 0"),
                                        (no_spend, "monetary_value <= 0"))
                     if mask.any()]
            raise InputError(
                f"{who}: GammaGammaModel needs frequency >= 1 and monetary_value > 0; "
                f"{' and '.join(parts)}. Pass only the repeat buyers with positive spend "
                "(customers[(customers.frequency > 0) & (customers.monetary_value > 0)]) or "
                "on_invalid='drop'.")
        if bad.any():
            warnings.warn(f"dropped {int(bad.sum()):,} rows ({bad.mean():.1%}): frequency == 0 "
                          "or monetary_value <= 0", DataLossWarning, stacklevel=2)
        n_left = float(w[~bad].sum())
        if n_left < MIN_REPEAT_BUYERS_TO_FIT:
            raise InsufficientData(f"{who}: {n_left:,.0f} repeat buyers to fit; GammaGammaModel needs "
                             f"at least {MIN_REPEAT_BUYERS_TO_FIT}. Use a longer calibration period.")
        xs, ms, ws = x[~bad], m[~bad], w[~bad]
        if _repeated(ms):  # compress to the unique (x, m) rows (DESIGN.md §2)
            rows, counts = compress(np.column_stack([xs, ms]), ws)
            ux, um = rows.T
        else:  # (nearly) every spend distinct: compressing would find nothing to merge
            keep = ws > 0
            ux, um, counts = xs[keep], ms[keep], ws[keep]

        # value and gradient in one pass per point (L-BFGS-B asks for both at the same
        # point; the last is kept), every fixed part of the rows computed once
        both, last = gamma_gamma_totals(ux, um, counts), {}

        def at(theta: np.ndarray) -> tuple[float, np.ndarray]:
            key = np.asarray(theta, dtype=float).tobytes()
            if key not in last:
                params = np.exp(theta)
                ll, g = both(*params)
                last.clear()  # chain rule to log-parameters below
                last[key] = (ll, params * g)
            return last[key]

        def total(theta: np.ndarray) -> float:
            return at(theta)[0]

        def grad(theta: np.ndarray) -> np.ndarray:
            return at(theta)[1].copy()

        def hess(theta: np.ndarray) -> np.ndarray:
            # in log-parameters: diag(params) H diag(params) + diag(params * gradient)
            params = np.exp(theta)
            _, g, h = both(*params, hessian=True)
            return params[:, None] * h * params[None, :] + np.diag(params * g)

        with threadpool_limits(limits=1, user_api="blas"):  # as RepeatPurchaseModel.fit
            self._fit_loglik(total, float(counts.sum()), _moments_start(ux, um, counts), grad,
                             hess=hess)
        self.n_dropped_ = int(bad.sum())
        return self

    def population_mean(self) -> float:
        """Mean transaction value across customers, ``p gamma / (q - 1)`` (``inf`` if q <= 1).

        Returns
        -------
        float
            In the currency of the data.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        """
        p, q, gamma = self._check_is_fitted()
        return float(p * gamma / (q - 1)) if q > 1 else float("inf")

    def expected_average_value(self, frequency: Any, monetary_value: Any) -> np.ndarray:
        """Expected average transaction value given each customer's history, eq. (5) of [1]_.

        ``E[M | x, m] = (q-1)/(px+q-1) * p gamma/(q-1) + px/(px+q-1) * m``: a weighted mean of
        the population mean and the customer's own average; customers with ``x == 0`` get
        the population mean (their ``monetary_value`` is ignored).

        Parameters
        ----------
        frequency : array-like of shape (n_customers,)
            Repeat transactions; integers >= 0.
        monetary_value : array-like of shape (n_customers,)
            Mean repeat-transaction value; > 0 where frequency >= 1.

        Returns
        -------
        ndarray of shape (n_customers,)
            Expected value (> 0); a Series keeping the index if one was passed.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If lengths differ, values are NaN, frequency is not an integer >= 0,
            monetary_value <= 0 where frequency >= 1, or ``q <= 1`` makes a customer's
            expectation infinite (``p x + q - 1 <= 0``).

        References
        ----------
        .. [1] Fader, Hardie & Lee (2005), J. Marketing Research 42(4):415-430.

        Examples
        --------
        >>> m = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> np.round(m.expected_average_value([0, 1, 10], [0.0, 20.0, 20.0]), 2)
        array([35.22, 24.64, 20.64])
        """
        p, q, gamma = self._check_is_fitted()
        who = f"{type(self).__name__}.expected_average_value"
        x, m, _, index = _check_spend(who, frequency, monetary_value)
        bad = (x > 0) & (m <= 0)
        if bad.any():
            raise InputError(f"{who}: monetary_value <= 0 where frequency >= 1 for "
                             f"{int(bad.sum()):,} of {x.size:,} customers "
                             f"({labels(index, bad)}); spend must be positive (exclude "
                             "returns-only customers).")
        px = p * x
        undefined = px + q - 1 <= 0  # only where q <= 1 and p x <= 1 - q (e.g. x = 0)
        if undefined.any():
            raise InputError(f"{who}: the expected spend is undefined (infinite mean) for "
                             f"{int(undefined.sum()):,} of {x.size:,} customers "
                             f"({labels(index, undefined)}), those with "
                             f"p*x + q - 1 <= 0, because q = {q:.4g} <= 1; refit the spend "
                             "model on more repeat buyers, or with a small penalizer.")
        return wrap((gamma + m * x) * p / (px + q - 1), index)

    def simulate(self, frequency: Any, random_state: Any = None) -> pd.DataFrame:
        """Draw each customer's mean spend and the average of their repeat transactions [1]_.

        Each customer gets ``nu ~ Gamma(q, rate=gamma)``, so a mean transaction value
        ``p/nu``; their ``x`` repeat transactions are ``Gamma(p, rate=nu)``, whose average
        is drawn directly as ``Gamma(p x, rate=x nu)``. Customers with ``x == 0`` get
        ``monetary_value`` 0, as in the BTYD summary.

        Parameters
        ----------
        frequency : array-like of shape (n_customers,)
            Repeat transactions ``x`` per customer; integers >= 0 (e.g. the ``frequency``
            column of a purchase model's ``simulate``).
        random_state : int, Generator or None, default None
            Seed; the only source of randomness.

        Returns
        -------
        pandas.DataFrame of shape (n_customers, 3)
            Columns ``frequency`` (int64), ``monetary_value`` (average of the ``x`` values;
            0 when ``x == 0``) and ``mean_value`` (the customer's latent mean ``p/nu``), in
            the currency of ``gamma``; the index of ``frequency`` if a Series was passed.

        Raises
        ------
        NotFittedError
            If neither fitted nor built with ``from_params``.
        InputError
            If ``frequency`` is empty, NaN, negative or non-integral.

        References
        ----------
        .. [1] Hardie (2013). The Gamma-Gamma Model of Monetary Value.
           http://brucehardie.com/notes/025/

        Examples
        --------
        >>> m = GammaGammaModel.from_params(p=6.25, q=3.74, gamma=15.44)
        >>> sim = m.simulate([0, 1, 3], random_state=0)
        >>> list(sim.columns), float(sim.monetary_value[0]), bool(sim.monetary_value[2] > 0)
        (['frequency', 'monetary_value', 'mean_value'], 0.0, True)
        """
        p, q, gamma = self._check_is_fitted()
        who = f"{type(self).__name__}.simulate"
        x, _, _, index = _check_spend(who, frequency, np.zeros(np.size(frequency)))
        rng = np.random.default_rng(random_state)
        nu = rng.gamma(q, 1.0 / gamma, x.size)
        repeat = x > 0
        xs = np.where(repeat, x, 1.0)
        average = rng.gamma(p * xs, 1.0 / (xs * nu))
        frame = pd.DataFrame({"frequency": x.astype(np.int64),
                              "monetary_value": np.where(repeat, average, 0.0),
                              "mean_value": p / nu})
        if index is not None:
            frame.index = index
        return frame
