"""Per-customer log-likelihoods of the BTYD models, as pure vectorised array functions.

Every function takes the model parameters (positive floats) and the sufficient statistics
(arrays broadcastable to one shape) and returns the log-likelihood of each row, on the papers'
scale (so the weighted sum over customers is the log-likelihood the papers print). Nothing is
fitted or validated here; the estimators validate at their public boundary and sum
``weights * loglik`` over the compressed unique rows.

References
----------
.. [1] Fader, Hardie & Lee (2005). "Counting Your Customers" the Easy Way: An Alternative to
   the Pareto/NBD Model. Marketing Science 24(2):275-284. doi:10.1287/mksc.1040.0098
.. [2] Pareto/NBD: see ``valuemax.clv._pareto_likelihood``.
.. [3] Batislam, Denizel & Filiztekin (2007). Empirical validation and comparison of models
   for customer base analysis. Int. J. Research in Marketing 24(3):201-209.
.. [4] Fader, Hardie & Lee (2005). RFM and CLV: Using Iso-Value Curves for Customer Base
   Analysis. J. Marketing Research 42(4):415-430; Hardie (2013), The Gamma-Gamma Model of
   Monetary Value, http://brucehardie.com/notes/025/
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, gammaln

__all__ = [
    "bg_nbd_loglik",
    "bg_nbd_loglik_grad",
    "gamma_gamma_loglik",
    "gamma_gamma_loglik_grad",
    "log_beta_ratio",
    "log_rising",
    "mbg_nbd_loglik",
    "mbg_nbd_loglik_grad",
]


def log_rising(r, k):
    """``ln Γ(r+k) - ln Γ(r)`` (the log rising factorial), stable for large ``r``.

    Two ``gammaln`` of ~``r ln r`` cancel for ``r`` in the millions (absolute error ~1e-6);
    for ``r > 1e3`` the difference of Stirling's series is used instead,
    ``(r-1/2) log1p(k/r) + k ln(r+k) - k + c(r+k) - c(r)`` with
    ``c(z) = 1/(12z) - 1/(360z^3) + 1/(1260z^5)`` (truncation error below 1e-24).
    """
    r, k = np.broadcast_arrays(np.asarray(r, dtype=float), np.asarray(k, dtype=float))
    big = r > 1e3
    out = np.empty(r.shape)
    if (~big).any():
        out[~big] = gammaln(r[~big] + k[~big]) - gammaln(r[~big])
    if big.any():
        rb, kb = r[big], k[big]

        def corr(z):
            return 1 / (12 * z) - 1 / (360 * z**3) + 1 / (1260 * z**5)

        out[big] = ((rb - 0.5) * np.log1p(kb / rb) + kb * np.log(rb + kb) - kb
                    + corr(rb + kb) - corr(rb))
    return out


def log_beta_ratio(a, b, k):
    """``ln B(a, b+k) - ln B(a, b)`` = ``ln E[(1-p)^k]`` for ``p ~ Beta(a, b)``, stable for
    large ``a`` and ``b`` (no two ``betaln`` of ~1e9 cancel)."""
    return log_rising(b, k) - log_rising(np.asarray(a, dtype=float) + b, k)


def _counts(x):
    """``(values, index)`` with ``f(x) == f(values)[index]`` for elementwise ``f``: special
    functions of a count are evaluated once per count 0..max(x) when ``x`` holds integers
    >= 0 and that table is shorter than ``x`` (else ``(x, None)``)."""
    x = np.asarray(x, dtype=float)
    if x.size == 0 or not 0 <= x.max() < x.size - 1:
        return x, None
    index = x.astype(np.intp)
    if np.any(index != x) or x.min() < 0:
        return x, None
    return np.arange(float(x.max()) + 1), index


def _take(values, index):
    return values if index is None else values[index]


def _bg_terms(r, alpha, a, b, x, t_x, T, shift):
    """Log odds ``L`` of the two bracketed terms of BG/NBD (``shift=0``) and MBG/NBD
    (``shift=1``), the died-after-``t_x`` term over the alive-at-``T`` term:
    ``L = ln a - ln(b+x+shift-1) + (r+x) log1p((T-t_x)/(α+t_x))`` where ``x + shift > 0``
    (else ``-inf``). ``log1p`` keeps it exact as ``r, α → ∞`` (then ``L`` tends to
    ``ln a - ln(b+x+shift-1) + λ (T - t_x)``)."""
    k, index = _counts(x)
    x = np.asarray(x, dtype=float)
    has_tx = _take(k + shift > 0, index)
    log_coef = _take(np.log(a) - np.log(np.where(k + shift > 0, b + k + shift - 1, 1.0)), index)
    gap = np.log1p((np.asarray(T, dtype=float) - t_x) / (alpha + t_x))
    log_odds = np.where(has_tx, log_coef + (r + x) * gap, -np.inf)
    return k, index, x, log_odds


def _bg_loglik(r, alpha, a, b, x, t_x, T, shift):
    # ln Γ(r+x)/Γ(r) + r ln α - (r+x) ln(α+T) + ln B(a, b+x+shift)/B(a, b)
    # + ln(1 + e^L), each part without cancellation between large terms
    k, index, x, log_odds = _bg_terms(r, alpha, a, b, x, t_x, T, shift)
    common = _take(log_rising(r, k) + log_beta_ratio(a, b, k + shift), index)
    T = np.asarray(T, dtype=float)
    ll = common - x * np.log(alpha + T) - r * np.log1p(T / alpha) + np.logaddexp(0.0, log_odds)
    # T == 0 (first seen at the observation end): nothing observed, the likelihood is 1
    # (MBG/NBD's two terms b/(a+b) and a/(a+b) sum to it only up to round-off)
    return np.where(T > 0, ll, 0.0)


def _bg_loglik_grad(r, alpha, a, b, x, t_x, T, shift):
    k, index, x, log_odds = _bg_terms(r, alpha, a, b, x, t_x, T, shift)
    w_tx = expit(log_odds)
    w_t = 1.0 - w_tx
    ks = k + shift
    d_r = (_take(digamma(r + k), index) - digamma(r) - np.log1p(np.asarray(T, dtype=float) / alpha)
           + w_tx * np.log1p((np.asarray(T, dtype=float) - t_x) / (alpha + t_x)))
    d_alpha = r / alpha - (r + x) * (w_t / (alpha + T) + w_tx / (alpha + t_x))
    d_a = _take(digamma(a + b) - digamma(a + b + ks), index) + w_tx / a
    d_b = (_take(digamma(b + ks) - digamma(a + b + ks) - digamma(b) + digamma(a + b), index)
           - w_tx * _take(1.0 / np.where(ks > 0, b + ks - 1, 1.0), index))
    # T == 0: the likelihood is 1 whatever the parameters, so the gradient is 0
    observed = np.asarray(T, dtype=float) > 0
    return np.stack(np.broadcast_arrays(*(np.where(observed, d, 0.0)
                                          for d in (d_r, d_alpha, d_a, d_b))))


def bg_nbd_loglik(r, alpha, a, b, x, t_x, T):
    """BG/NBD log-likelihood of each customer, eq. (6) of [1]_.

    ``ln L = ln Γ(r+x) - ln Γ(r) + r ln α + ln B(a, b+x) - ln B(a, b)
    + ln[(α+T)^-(r+x) + 1{x>0} a/(b+x-1) (α+t_x)^-(r+x)]``, the last term by log-sum-exp.

    Parameters
    ----------
    r, alpha, a, b : float
        Positive model parameters (``alpha`` in the time unit of ``t_x`` and ``T``).
    x : ndarray of shape (n,)
        Repeat purchases (integers >= 0).
    t_x, T : ndarray of shape (n,)
        Recency and age, ``0 <= t_x <= T``.

    Returns
    -------
    ndarray of shape (n,)
        Log-likelihood of each row.

    References
    ----------
    .. [1] Fader, Hardie & Lee (2005), Marketing Science 24(2):275-284.

    Examples
    --------
    >>> ll = bg_nbd_loglik(0.243, 4.414, 0.793, 2.426, np.array([0, 2]),
    ...                    np.array([0.0, 30.43]), np.array([38.86, 38.86]))
    >>> ll.shape, bool(np.all(ll < 0))
    ((2,), True)
    """
    return _bg_loglik(r, alpha, a, b, x, t_x, T, 0)


def bg_nbd_loglik_grad(r, alpha, a, b, x, t_x, T):
    """Gradient of :func:`bg_nbd_loglik` with respect to ``(r, alpha, a, b)``.

    With ``w_T``, ``w_tx`` the log-sum-exp weights of the two bracketed terms (summing to 1):
    ``d/dr = psi(r+x) - psi(r) + ln α - w_T ln(α+T) - w_tx ln(α+t_x)``,
    ``d/dα = r/α - (r+x)(w_T/(α+T) + w_tx/(α+t_x))``,
    ``d/da = psi(a+b) - psi(a+b+x) + w_tx/a``,
    ``d/db = psi(b+x) - psi(a+b+x) - psi(b) + psi(a+b) - w_tx/(b+x-1)``.

    Parameters
    ----------
    r, alpha, a, b : float
        Positive model parameters.
    x, t_x, T : ndarray of shape (n,)
        Sufficient statistics, as in :func:`bg_nbd_loglik`.

    Returns
    -------
    ndarray of shape (4, n)
        Derivatives of each row's log-likelihood.

    Examples
    --------
    >>> g = bg_nbd_loglik_grad(0.243, 4.414, 0.793, 2.426, np.array([0, 2]),
    ...                        np.array([0.0, 30.43]), np.array([38.86, 38.86]))
    >>> g.shape
    (4, 2)
    """
    return _bg_loglik_grad(r, alpha, a, b, x, t_x, T, 0)


def mbg_nbd_loglik(r, alpha, a, b, x, t_x, T):
    """MBG/NBD log-likelihood of each customer (Batislam et al. 2007, [1]_).

    As BG/NBD, but a customer may also drop out right after the first purchase:
    ``ln L = ln Γ(r+x) - ln Γ(r) + r ln α + ln B(a, b+x+1) - ln B(a, b)
    + ln[(α+T)^-(r+x) + a/(b+x) (α+t_x)^-(r+x)]`` for every ``x >= 0``.

    Parameters
    ----------
    r, alpha, a, b : float
        Positive model parameters.
    x : ndarray of shape (n,)
        Repeat purchases (integers >= 0).
    t_x, T : ndarray of shape (n,)
        Recency and age, ``0 <= t_x <= T``.

    Returns
    -------
    ndarray of shape (n,)
        Log-likelihood of each row.

    References
    ----------
    .. [1] Batislam, Denizel & Filiztekin (2007), Int. J. Research in Marketing 24(3).

    Examples
    --------
    >>> ll = mbg_nbd_loglik(0.525, 6.183, 0.891, 1.614, np.array([0, 2]),
    ...                     np.array([0.0, 30.43]), np.array([38.86, 38.86]))
    >>> bool(np.all(np.isfinite(ll)))
    True
    """
    return _bg_loglik(r, alpha, a, b, x, t_x, T, 1)


def mbg_nbd_loglik_grad(r, alpha, a, b, x, t_x, T):
    """Gradient of :func:`mbg_nbd_loglik` w.r.t. ``(r, alpha, a, b)``, shape (4, n).

    As :func:`bg_nbd_loglik_grad` with ``x+1`` for ``x`` in the beta terms:
    ``d/da = psi(a+b) - psi(a+b+x+1) + w_tx/a``,
    ``d/db = psi(b+x+1) - psi(a+b+x+1) - psi(b) + psi(a+b) - w_tx/(b+x)``; arguments as in
    :func:`mbg_nbd_loglik`.
    """
    return _bg_loglik_grad(r, alpha, a, b, x, t_x, T, 1)


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
    k, index = _counts(x)
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    px = p * x
    with np.errstate(divide="ignore", invalid="ignore"):  # x == 0: unused table row 0
        by_count = gammaln(p * k + q) - gammaln(p * k) + p * k * np.log(k)
    return (_take(by_count, index) - gammaln(q) + q * np.log(gamma)
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
    k, index = _counts(x)
    x = np.asarray(x, dtype=float)
    m = np.asarray(m, dtype=float)
    px = p * x
    log_denom = np.log(gamma + m * x)
    with np.errstate(divide="ignore", invalid="ignore"):  # x == 0: unused table row 0
        psi_pq = digamma(p * k + q)
        by_count = psi_pq - digamma(p * k) + np.log(k)
    d_p = x * (_take(by_count, index) + np.log(m) - log_denom)
    d_q = _take(psi_pq, index) - digamma(q) + np.log(gamma) - log_denom
    d_gamma = q / gamma - (px + q) / (gamma + m * x)
    return np.stack(np.broadcast_arrays(d_p, d_q, d_gamma))
