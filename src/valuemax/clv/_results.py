"""The results object of a fitted CLV model (STYLE.md b.3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri


@dataclass(frozen=True, eq=False)
class FitSummary:
    """Estimates, standard errors and fit statistics of a maximum-likelihood CLV model.

    Standard errors come from the observed information (the numerical Hessian of the negative
    log-likelihood at the optimum, in log-parameters) and the delta method:
    ``se(theta) = theta * se(log theta)``. Intervals are computed on the log scale and
    exponentiated, so they stay positive.

    Attributes
    ----------
    model : str
        Model name, e.g. ``"BG/NBD"``.
    param_names : tuple of str
        Parameter names, in order.
    estimates : ndarray of shape (n_params,)
        Maximum-likelihood estimates.
    std_errors : ndarray of shape (n_params,)
        Standard errors (NaN when the information matrix is singular).
    log_std_errors : ndarray of shape (n_params,)
        Standard errors of the log-parameters.
    loglik : float
        Log-likelihood at the estimates (full sum over customers, the papers' scale).
    n_obs : float
        Number of customers (the sum of the weights).
    aic, bic : float
        ``2k - 2 LL`` and ``k ln(n_obs) - 2 LL``.
    n_iter : int
        Optimiser iterations of the best start.
    converged : bool
        Whether the optimiser reported convergence.
    time_unit : str
        Time unit of the rate parameters (``"D"``, ``"W"``; ``""`` for spend models).
    """

    model: str
    param_names: tuple[str, ...]
    estimates: np.ndarray
    std_errors: np.ndarray
    log_std_errors: np.ndarray
    loglik: float
    n_obs: float
    aic: float
    bic: float
    n_iter: int
    converged: bool
    time_unit: str

    def conf_int(self, alpha: float = 0.05) -> pd.DataFrame:
        """Confidence intervals at level ``1 - alpha`` (log scale, exponentiated).

        Parameters
        ----------
        alpha : float, default 0.05
            Two-sided error rate, in (0, 1).

        Returns
        -------
        pandas.DataFrame of shape (n_params, 2)
            Columns ``lower`` and ``upper``, indexed by parameter name:
            ``estimate * exp(-+ z * se(log theta))``. For a parameter the data do not
            identify (a log standard error so large that the factor exceeds the float range,
            over ~700 / z), the interval is what it says: ``lower`` 0 and ``upper`` +inf,
            computed without an overflow warning; NaN where the standard error is NaN (a
            singular information matrix).

        Raises
        ------
        ValueError
            If ``alpha`` is not in (0, 1).
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1); got {alpha!r}")
        z = ndtri(1 - alpha / 2)
        log_est = np.log(self.estimates)
        with np.errstate(over="ignore"):  # exp(> 709) is +inf: the unbounded interval
            lower = np.exp(log_est - z * self.log_std_errors)
            upper = np.exp(log_est + z * self.log_std_errors)
        return pd.DataFrame({"lower": lower, "upper": upper},
                            index=pd.Index(self.param_names, name="param"))

    def to_frame(self, alpha: float = 0.05) -> pd.DataFrame:
        """Parameters as a table: estimate, std_error, lower, upper.

        Parameters
        ----------
        alpha : float, default 0.05
            Error rate of the intervals.

        Returns
        -------
        pandas.DataFrame of shape (n_params, 4)
            One row per parameter.
        """
        frame = pd.DataFrame({"estimate": self.estimates, "std_error": self.std_errors},
                             index=pd.Index(self.param_names, name="param"))
        return frame.join(self.conf_int(alpha))

    def to_text(self) -> str:
        """A plain-text rendering: header lines and the parameter table.

        Returns
        -------
        str
            The model, time unit, customers, LL, AIC, BIC, iterations and convergence on
            the first line, then the table of :meth:`to_frame` (4 decimals).
        """
        head = (f"{self.model} (time_unit={self.time_unit!r}): n={self.n_obs:,.0f}, "
                f"LL={self.loglik:,.2f}, AIC={self.aic:,.2f}, BIC={self.bic:,.2f}, "
                f"iterations={self.n_iter}, converged={self.converged}")
        return head + "\n" + self.to_frame().to_string(float_format=lambda v: f"{v:.4f}")

    def to_html(self) -> str:
        """The parameter table as an HTML fragment.

        Returns
        -------
        str
            The table of :meth:`to_frame` as an HTML ``<table>`` (4 decimals).
        """
        return self.to_frame().to_html(float_format=lambda v: f"{v:.4f}")
