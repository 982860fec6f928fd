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
from scipy.special import digamma, gammaln, polygamma

from valuemax.clv._likelihoods.special import count_table, take

__all__ = ["gamma_gamma_loglik", "gamma_gamma_loglik_grad", "gamma_gamma_totals"]


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


def _weight_per_count(x, w):
    """The distinct counts of ``x`` (sorted) and the summed weight ``w`` of each, as
    ``numpy.unique`` and ``numpy.bincount`` of its inverse give them (each count's weights
    added in the input order); whole counts are binned by value, without a sort."""
    top = x.max() if x.size else 0.0
    if x.size and x.min() >= 0 and top <= 4 * x.size:
        codes = x.astype(np.intp)
        if np.array_equal(codes, x):
            k = np.flatnonzero(np.bincount(codes, minlength=int(top) + 1))
            return k.astype(float), np.bincount(codes, weights=w, minlength=int(top) + 1)[k]
    k, inverse = np.unique(x, return_inverse=True)
    return k, np.bincount(inverse.reshape(-1), weights=w, minlength=k.size)


def gamma_gamma_totals(x, m, weights):
    """The weighted log-likelihood of rows and its gradient as a function of the parameters,
    ``both(p, q, gamma) -> (total, grad (3,))``, with every fixed part computed once.

    ``Σ_i w_i ln f(m_i | x_i)`` of :func:`gamma_gamma_loglik` splits into terms of the
    count alone, summed once per distinct ``x`` (``ln Γ(px+q) - ln Γ(px) + px ln x``
    times the weight of the customers with that ``x``), constants of the data
    (``Σ w ln m``, ``Σ w x ln m``, computed here) and the one term that needs every row at
    every evaluation, ``-(px+q) ln(γ + m x)``: per evaluation one logarithm and one
    reciprocal per row and four weighted sums, ``Σ w L``, ``Σ w x L``, ``Σ w R``,
    ``Σ w x R`` with ``L = ln(γ + m x)``, ``R = 1/(γ + m x)``. The gradient
    (:func:`gamma_gamma_loglik_grad` summed) uses the same sums:
    ``d/dp = Σ_x W_x x [ψ(px+q) - ψ(px) + ln x] + Σ w x ln m - Σ w x L``,
    ``d/dq = Σ_x W_x ψ(px+q) - n ψ(q) + n ln γ - Σ w L``,
    ``d/dγ = n q/γ - p Σ w x R - q Σ w R`` (``n = Σ w``, ``W_x`` the weight at ``x``).

    Parameters
    ----------
    x, m : ndarray of shape (n,)
        As in :func:`gamma_gamma_loglik` (``x >= 1``, ``m > 0``).
    weights : ndarray of shape (n,)
        Customers each row stands for (>= 0).

    Returns
    -------
    callable
        ``both(p, q, gamma, hessian=False)``: the total log-likelihood (float) and its
        gradient in ``(p, q, gamma)``, shape (3,); with ``hessian=True`` also its
        Hessian, shape (3, 3), from the same sums and two more (``Σ w R^2``,
        ``Σ w x R^2``; the count terms' ``ψ'``): ``∂²/∂p² = Σ_x W_x x² [ψ'(px+q) -
        ψ'(px)]``, ``∂²/∂p∂q = Σ_x W_x x ψ'(px+q)``, ``∂²/∂p∂γ = -Σ w x R``,
        ``∂²/∂q² = Σ_x W_x ψ'(px+q) - n ψ'(q)``, ``∂²/∂q∂γ = n/γ - Σ w R``,
        ``∂²/∂γ² = -n q/γ² + p Σ w x R² + q Σ w R²``.

    Examples
    --------
    >>> x, m, w = np.array([1, 3, 3]), np.array([20.0, 35.5, 12.0]), np.array([2.0, 1, 1])
    >>> total, g = gamma_gamma_totals(x, m, w)(6.25, 3.74, 15.44)
    >>> bool(np.isclose(total, w @ gamma_gamma_loglik(6.25, 3.74, 15.44, x, m), rtol=1e-13))
    True
    >>> bool(np.allclose(g, gamma_gamma_loglik_grad(6.25, 3.74, 15.44, x, m) @ w,
    ...                  rtol=1e-12))
    True
    """
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    w = np.asarray(weights, dtype=float)
    k, w_k = _weight_per_count(x, w)
    log_k, wx_k = np.log(k), w_k * k
    n = float(w.sum())
    wx, mx = w * x, m * x
    log_m = np.log(m)
    sum_log_m, sum_x_log_m = float(w @ log_m), float(wx @ log_m)
    buffers = np.empty((2, x.size))

    def both(p, q, gamma, hessian=False):
        pk = p * k
        psi_pq = digamma(pk + q)
        by_count = gammaln(pk + q) - gammaln(pk) + pk * log_k
        d_count = psi_pq - digamma(pk) + log_k
        # γ + m x, its logarithm and its reciprocal in two buffers kept between evaluations
        denom = np.add(mx, gamma, out=buffers[0])
        log_denom = np.log(denom, out=buffers[1])
        inv_denom = np.divide(1.0, denom, out=buffers[0])
        s_l, s_xl = float(w @ log_denom), float(wx @ log_denom)
        s_r, s_xr = float(w @ inv_denom), float(wx @ inv_denom)
        log_gamma = np.log(gamma)
        total = (float(w_k @ by_count) + n * (q * log_gamma - gammaln(q))
                 + p * (sum_x_log_m - s_xl) - sum_log_m - q * s_l)
        grad = np.array([float(wx_k @ d_count) + sum_x_log_m - s_xl,
                         float(w_k @ psi_pq) + n * (log_gamma - digamma(q)) - s_l,
                         n * q / gamma - p * s_xr - q * s_r])
        if not hessian:
            return total, grad
        tri_pq, tri_p = polygamma(1, pk + q), polygamma(1, pk)
        s_r2, s_xr2 = float(w @ inv_denom**2), float(wx @ inv_denom**2)
        h_pq = float(wx_k @ tri_pq)
        h_pg = -s_xr
        h_qg = n / gamma - s_r
        hess = np.array([
            [float((wx_k * k) @ (tri_pq - tri_p)), h_pq, h_pg],
            [h_pq, float(w_k @ tri_pq) - n * polygamma(1, q), h_qg],
            [h_pg, h_qg, -n * q / gamma**2 + p * s_xr2 + q * s_r2]])
        return total, grad, hess

    return both
