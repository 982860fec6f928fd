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
.. [2] Fader & Hardie (2005). A Note on Deriving the Pareto/NBD Model and Related Expressions.
   http://brucehardie.com/notes/009/
.. [3] Batislam, Denizel & Filiztekin (2007). Empirical validation and comparison of models
   for customer base analysis. Int. J. Research in Marketing 24(3):201-209.
.. [4] Fader, Hardie & Lee (2005). RFM and CLV: Using Iso-Value Curves for Customer Base
   Analysis. J. Marketing Research 42(4):415-430; Hardie (2013), The Gamma-Gamma Model of
   Monetary Value, http://brucehardie.com/notes/025/
"""

from __future__ import annotations

import numpy as np
from scipy.special import betaln, digamma, gammaln, hyp2f1, logsumexp

__all__ = [
    "bg_nbd_loglik",
    "bg_nbd_loglik_grad",
    "gamma_gamma_loglik",
    "gamma_gamma_loglik_grad",
    "log_hyp2f1_a_b_a1",
    "mbg_nbd_loglik",
    "mbg_nbd_loglik_grad",
    "pareto_nbd_log_a0",
    "pareto_nbd_loglik",
]


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
    """Bracketed log terms of BG/NBD (``shift=0``) and MBG/NBD (``shift=1``) and their
    log-sum-exp: ``term_t = -(r+x) ln(α+T)`` and ``term_tx = ln a - ln(b+x+shift-1)
    - (r+x) ln(α+t_x)`` where ``x + shift > 0`` (else ``-inf``)."""
    k, index = _counts(x)
    x = np.asarray(x, dtype=float)
    term_t = -(r + x) * np.log(alpha + T)
    has_tx = _take(k + shift > 0, index)
    log_coef = _take(np.log(a) - np.log(np.where(k + shift > 0, b + k + shift - 1, 1.0)), index)
    term_tx = np.where(has_tx, log_coef - (r + x) * np.log(alpha + t_x), -np.inf)
    return k, index, x, term_t, term_tx, np.logaddexp(term_t, term_tx)


def _bg_loglik(r, alpha, a, b, x, t_x, T, shift):
    k, index, _, _, _, total = _bg_terms(r, alpha, a, b, x, t_x, T, shift)
    common = _take(gammaln(r + k) + betaln(a, b + k + shift), index)
    return common - gammaln(r) + r * np.log(alpha) - betaln(a, b) + total


def _bg_loglik_grad(r, alpha, a, b, x, t_x, T, shift):
    k, index, x, term_t, term_tx, total = _bg_terms(r, alpha, a, b, x, t_x, T, shift)
    w_t, w_tx = np.exp(term_t - total), np.exp(term_tx - total)
    ks = k + shift
    d_r = (_take(digamma(r + k), index) - digamma(r) + np.log(alpha)
           - w_t * np.log(alpha + T) - w_tx * np.log(alpha + t_x))
    d_alpha = r / alpha - (r + x) * (w_t / (alpha + T) + w_tx / (alpha + t_x))
    d_a = _take(digamma(a + b) - digamma(a + b + ks), index) + w_tx / a
    d_b = (_take(digamma(b + ks) - digamma(a + b + ks) - digamma(b) + digamma(a + b), index)
           - w_tx * _take(1.0 / np.where(ks > 0, b + ks - 1, 1.0), index))
    return np.stack(np.broadcast_arrays(d_r, d_alpha, d_a, d_b))


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


def log_hyp2f1_a_b_a1(a, b, z):
    """``ln 2F1(a, b; a+1; z)`` for ``a > 0``, ``b > 0``, ``0 <= z < 1``, without overflow.

    Uses Euler's transformation ``2F1(a, b; a+1; z) = (1-z)^(1-b) 2F1(1, a+1-b; a+1; z)``;
    the second factor lies in ``[1, 1/(1-z)]`` when ``b >= 0``, so it never overflows however
    large ``a`` (the number of purchases) grows.

    Parameters
    ----------
    a, b : ndarray of shape (n,) or float
        Positive parameters.
    z : ndarray of shape (n,) or float
        Argument in ``[0, 1)``.

    Returns
    -------
    ndarray of shape (n,)
        The logarithm of the hypergeometric function.

    Examples
    --------
    >>> from scipy.special import hyp2f1
    >>> bool(np.isclose(log_hyp2f1_a_b_a1(3.0, 1.5, 0.4), np.log(hyp2f1(3.0, 1.5, 4.0, 0.4))))
    True
    >>> bool(np.isfinite(log_hyp2f1_a_b_a1(5000.0, 4000.0, 0.9)))
    True
    """
    shape = np.broadcast_shapes(np.shape(a), np.shape(b), np.shape(z))
    a, b, z = (np.array(np.broadcast_to(v, shape), dtype=float).reshape(-1) for v in (a, b, z))
    with np.errstate(all="ignore"):
        g = hyp2f1(1.0, a + 1.0 - b, a + 1.0, z)
    bad = ~np.isfinite(g) | (g < 1.0)
    log_g = np.log(np.where(bad, 1.0, g))
    if bad.any():  # scipy gives NaN for large ``a`` with z near 1: sum the series instead
        log_g[bad] = _log_series_1_b_c(a[bad] + 1.0 - b[bad], a[bad] + 1.0, z[bad])
    return ((1.0 - b) * np.log1p(-z) + log_g).reshape(shape)


def _log_series_1_b_c(b, c, z, max_terms=20_000, block=2_000_000):
    """``ln 2F1(1, b; c; z)`` by its positive series in log space (``0 < b < c``, z < 1).

    The term ratio ``z (b+k)/(c+k)`` is below ``z``, so after ``K`` terms the relative tail
    is below ``z^K/(1-z)``; ``K`` is chosen for 1e-16, capped at ``max_terms``, and a capped
    sum adds the geometric tail at the last ratio (reached only when ``z > 0.998``).
    """
    need = np.ceil((37.0 - np.log1p(-z)) / -np.log(np.maximum(z, 1e-300)))
    n_terms = int(min(max(need.max(), 1.0), max_terms))
    out = np.empty(z.size)
    rows = max(1, block // n_terms)
    k = np.arange(n_terms - 1, dtype=float)
    for start in range(0, z.size, rows):
        sl = slice(start, start + rows)
        log_ratio = (np.log(z[sl, None]) + np.log(b[sl, None] + k) - np.log(c[sl, None] + k))
        log_terms = np.concatenate([np.zeros((log_ratio.shape[0], 1)),
                                    np.cumsum(log_ratio, axis=1)], axis=1)
        last_ratio = np.exp(log_ratio[:, -1]) if n_terms > 1 else z[sl]
        tail = log_terms[:, -1] + np.log(last_ratio) - np.log1p(-last_ratio)
        out[sl] = np.logaddexp(logsumexp(log_terms, axis=1), tail)
    return out


def pareto_nbd_log_a0(r, alpha, s, beta, x, t_x, T):
    """``ln A0`` of the Pareto/NBD likelihood (eq. 22 of [1]_), in log space, both branches.

    For ``alpha >= beta`` the hypergeometric terms are ``2F1(r+s+x, s+1; r+s+x+1;
    (alpha-beta)/(alpha+t))/(alpha+t)^(r+s+x)``; for ``alpha < beta`` they are ``2F1(r+s+x,
    r+x; r+s+x+1; (beta-alpha)/(beta+t))/(beta+t)^(r+s+x)``, each taken at ``t = t_x`` minus
    at ``t = T``; the difference is taken by ``ln(e^u - e^v) = u + ln(1 - e^(v-u))``.

    Parameters
    ----------
    r, alpha, s, beta : float
        Positive model parameters.
    x, t_x, T : ndarray of shape (n,)
        Sufficient statistics.

    Returns
    -------
    ndarray of shape (n,)
        ``ln A0`` (``-inf`` where ``t_x == T``, where A0 is 0).

    References
    ----------
    .. [1] Fader & Hardie (2005), http://brucehardie.com/notes/009/

    Examples
    --------
    >>> v = pareto_nbd_log_a0(0.553, 10.578, 0.606, 11.669, np.array([2.0]),
    ...                       np.array([30.43]), np.array([38.86]))
    >>> bool(np.isfinite(v[0]))
    True
    """
    x = np.asarray(x, dtype=float)
    big = r + s + x
    if alpha >= beta:
        scale, second = alpha, s + 1.0
    else:
        scale, second = beta, r + x
    diff = abs(alpha - beta)

    def log_term(t):
        return log_hyp2f1_a_b_a1(big, second, diff / (scale + t)) - big * np.log(scale + t)

    u, v = log_term(t_x), log_term(T)
    with np.errstate(divide="ignore"):
        return u + np.log(-np.expm1(np.minimum(v - u, 0.0)))


def pareto_nbd_loglik(r, alpha, s, beta, x, t_x, T):
    """Pareto/NBD log-likelihood of each customer, eq. (22) of Fader & Hardie [1]_.

    ``ln L = ln Γ(r+x) - ln Γ(r) + r ln α + s ln β + ln[(α+T)^-(r+x) (β+T)^-s
    + s/(r+s+x) A0]``, with ``ln A0`` from :func:`pareto_nbd_log_a0`.

    Parameters
    ----------
    r, alpha, s, beta : float
        Positive model parameters (``alpha`` and ``beta`` in the time unit of the data).
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
    .. [1] Fader & Hardie (2005). A Note on Deriving the Pareto/NBD Model and Related
       Expressions. http://brucehardie.com/notes/009/

    Examples
    --------
    >>> ll = pareto_nbd_loglik(0.553, 10.578, 0.606, 11.669, np.array([0, 2]),
    ...                        np.array([0.0, 30.43]), np.array([38.86, 38.86]))
    >>> bool(np.all(ll < 0))
    True
    """
    x = np.asarray(x, dtype=float)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) - np.log(r + s + x) + pareto_nbd_log_a0(r, alpha, s, beta, x, t_x, T)
    return common + np.logaddexp(alive, died)


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
