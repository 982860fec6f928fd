"""Gamma-Gamma per-customer log-likelihood of the average repeat-transaction value, and its
gradient.

Pure vectorised array functions of ``(p, q, gamma)`` and ``(x, m)`` (repeat purchases and
their mean value), on the papers' scale; the estimator validates at its public boundary.

References
----------
.. [1] Fader, Hardie & Lee (2005). RFM and CLV: Using Iso-Value Curves for Customer Base
   Analysis. J. Marketing Research 42(4):415-430; Hardie (2013), The Gamma-Gamma Model of
   Monetary Value, http://brucehardie.com/notes/025/
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln

from valuemax.clv._likelihoods.special import count_table, take

__all__ = ["gamma_gamma_loglik", "gamma_gamma_loglik_grad", "gamma_gamma_rows"]


def _rows(p, x, m):
    """``(k, index, x, m, p x)``: the table of counts (``count_table``; the special functions
    of ``p k`` are evaluated once per count) and the rows as float arrays."""
    k, index = count_table(x)
    x = np.asarray(x, dtype=float)
    return k, index, x, np.asarray(m, dtype=float), p * x


def gamma_gamma_loglik(p, q, gamma, x, m):
    """Gamma-Gamma log-likelihood of each repeat buyer's average spend (Hardie note 025).

    ``ln f(m | x) = ln Γ(px+q) - ln Γ(px) - ln Γ(q) + q ln γ + (px-1) ln m + px ln x
    - (px+q) ln(γ + m x)``, the density of the mean ``m`` of ``x`` transaction values.

    Parameters
    ----------
    p, q, gamma : float
        Positive model parameters (``gamma`` in the currency of ``m``).
    x : ndarray of shape (n,)
        Number of repeat transactions averaged (integers >= 1).
    m : ndarray of shape (n,)
        Average transaction value (> 0).

    Returns
    -------
    ndarray of shape (n,)
        Log-density of each row.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005), J. Marketing Research 42(4):415-430.
    .. [2] Hardie (2013). The Gamma-Gamma Model of Monetary Value.
       http://brucehardie.com/notes/025/

    Examples
    --------
    >>> ll = gamma_gamma_loglik(6.25, 3.74, 15.44, np.array([1, 3]), np.array([20.0, 35.5]))
    >>> ll.shape
    (2,)
    """
    k, index, x, m, px = _rows(p, x, m)
    with np.errstate(divide="ignore", invalid="ignore"):  # x == 0: unused table row 0
        by_count = gammaln(p * k + q) - gammaln(p * k) + p * k * np.log(k)
    return (take(by_count, index) - gammaln(q) + q * np.log(gamma)
            + (px - 1.0) * np.log(m) - (px + q) * np.log(gamma + m * x))


def gamma_gamma_loglik_grad(p, q, gamma, x, m):
    """Gradient of :func:`gamma_gamma_loglik` with respect to ``(p, q, gamma)``.

    ``d/dp = x [psi(px+q) - psi(px) + ln m + ln x - ln(γ+mx)]``,
    ``d/dq = psi(px+q) - psi(q) + ln γ - ln(γ+mx)``, ``d/dγ = q/γ - (px+q)/(γ+mx)``.

    Parameters
    ----------
    p, q, gamma : float
        Positive model parameters.
    x, m : ndarray of shape (n,)
        As in :func:`gamma_gamma_loglik`.

    Returns
    -------
    ndarray of shape (3, n)
        Derivatives of each row's log-density.

    Examples
    --------
    >>> gamma_gamma_loglik_grad(6.25, 3.74, 15.44, np.array([1, 3]),
    ...                         np.array([20.0, 35.5])).shape
    (3, 2)
    """
    k, index, x, m, px = _rows(p, x, m)
    log_denom = np.log(gamma + m * x)
    with np.errstate(divide="ignore", invalid="ignore"):  # x == 0: unused table row 0
        psi_pq = digamma(p * k + q)
        by_count = psi_pq - digamma(p * k) + np.log(k)
    d_p = x * (take(by_count, index) + np.log(m) - log_denom)
    d_q = take(psi_pq, index) - digamma(q) + np.log(gamma) - log_denom
    d_gamma = q / gamma - (px + q) / (gamma + m * x)
    return np.stack(np.broadcast_arrays(d_p, d_q, d_gamma))


def gamma_gamma_rows(x, m):
    """The fixed parts of the rows, once for a fit: ``both(p, q, gamma) -> (loglik (n,),
    grad (3, n))``, the values of :func:`gamma_gamma_loglik` and
    :func:`gamma_gamma_loglik_grad` in one pass, with ``ln m``, ``ln k`` and ``m x``
    computed once instead of at every evaluation.

    Parameters
    ----------
    x, m : ndarray of shape (n,)
        As in :func:`gamma_gamma_loglik`.

    Returns
    -------
    callable
        ``both(p, q, gamma)``.

    Examples
    --------
    >>> x, m = np.array([1, 3]), np.array([20.0, 35.5])
    >>> ll, g = gamma_gamma_rows(x, m)(6.25, 3.74, 15.44)
    >>> bool(np.allclose(ll, gamma_gamma_loglik(6.25, 3.74, 15.44, x, m)))
    True
    """
    k, index = count_table(x)
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    log_m, mx = np.log(m), m * x
    with np.errstate(divide="ignore", invalid="ignore"):  # x == 0: unused table row 0
        log_k = np.log(k)

    def both(p, q, gamma):
        px = p * x
        log_denom = np.log(gamma + mx)
        with np.errstate(divide="ignore", invalid="ignore"):
            pk = p * k
            psi_pq = digamma(pk + q)
            by_count = gammaln(pk + q) - gammaln(pk) + pk * log_k
            d_count = psi_pq - digamma(pk) + log_k
        ll = (take(by_count, index) - gammaln(q) + q * np.log(gamma)
              + (px - 1.0) * log_m - (px + q) * log_denom)
        d_p = x * (take(d_count, index) + log_m - log_denom)
        d_q = take(psi_pq, index) - digamma(q) + np.log(gamma) - log_denom
        d_gamma = q / gamma - (px + q) / (gamma + mx)
        return ll, np.stack(np.broadcast_arrays(d_p, d_q, d_gamma))

    return both
