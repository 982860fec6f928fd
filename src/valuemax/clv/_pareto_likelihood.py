"""Pareto/NBD log-likelihood (Fader & Hardie's eq. 22) and its hypergeometric term.

Pure vectorised array functions, as in ``valuemax.clv._likelihoods``; the Gauss
hypergeometric term is evaluated in log space without overflow for large frequencies.

References
----------
.. [1] Fader & Hardie (2005). A Note on Deriving the Pareto/NBD Model and Related Expressions.
   http://brucehardie.com/notes/009/
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, hyp2f1, logsumexp

__all__ = ["log_hyp2f1_a_b_a1", "pareto_nbd_log_a0", "pareto_nbd_loglik"]


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
