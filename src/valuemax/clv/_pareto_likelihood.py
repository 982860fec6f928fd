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
from scipy.special import hyp2f1, logsumexp

from valuemax.clv._likelihoods import log_rising

__all__ = [
    "log_died_integral",
    "log_hyp2f1_a_b_a1",
    "pareto_nbd_log_a0",
    "pareto_nbd_log_odds_died",
    "pareto_nbd_loglik",
]


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
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
    big = r + s + x
    if alpha >= beta:
        scale, second = alpha, s + 1.0
    else:
        scale, second = beta, r + x
    diff = abs(alpha - beta)
    near = _near(alpha, beta, t_x)
    out = np.empty(x.shape)
    if near.any():
        out[near] = np.log(big[near]) + log_died_integral(r, alpha, s, beta, x[near],
                                                          t_x[near], T[near])
    far = ~near
    if far.any():
        tf, Tf = t_x[far], T[far]
        bigf = big[far]
        sec = second if np.ndim(second) == 0 else second[far]

        def log_term(t):
            return log_hyp2f1_a_b_a1(bigf, sec, diff / (scale + t)) - bigf * np.log(scale + t)

        u, v = log_term(tf), log_term(Tf)
        with np.errstate(divide="ignore"):
            out[far] = u + np.log(-np.expm1(np.minimum(v - u, 0.0)))
    return out


#: 1 - z below which ``pareto_nbd_log_a0`` integrates instead of summing the Gauss series.
_NEAR_ONE = 5e-3
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
_GL_PANELS = 8
#: The integrand is integrated until it falls by this factor (log scale): the rest is < 1e-26.
_DECAY = 60.0


def log_died_integral(r, alpha, s, beta, x, t_x, T, *, relative=False):
    """``ln ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ`` by Gauss-Legendre quadrature.

    The integral is ``A0 / (r+s+x)`` of Fader & Hardie's eq. (22) [1]_ (the probability of
    dropping out between ``t_x`` and ``T``, up to constants). Written as
    ``(α+t_x)^-(r+x) (β+t_x)^-(s+1) ∫_0^D exp(-(r+x) log1p(u/(α+t_x)) - (s+1)
    log1p(u/(β+t_x))) du`` with ``D = T - t_x``, and with ``u = d (e^y - 1)``,
    ``d = min(α, β) + t_x``, whose integrand in ``y`` has no singularity within ``π`` of the
    real axis; ``y`` runs over 8 panels of 16 Gauss-Legendre nodes each (128 nodes).
    Panels end where the integrand has fallen by ``e^(60 j/8)`` (bisection), so each spans a
    factor of at most ``e^7.5``; beyond ``e^-60`` the rest is dropped. It stays exact as
    ``r, α → ∞`` or ``s, β → ∞`` (an exponential in ``u``), where the hypergeometric series
    of the closed form would need millions of terms.

    Parameters
    ----------
    r, alpha, s, beta : float
        Positive model parameters.
    x, t_x, T : ndarray of shape (n,)
        Sufficient statistics, ``t_x <= T``.
    relative : bool, default False
        Return :func:`pareto_nbd_log_odds_died` instead (``ln s`` plus the log integral
        plus ``(r+x) ln(α+T) + s ln(β+T)``, the large terms cancelled by ``log1p``).

    Returns
    -------
    ndarray of shape (n,)
        The log integral (``-inf`` where ``t_x == T``).

    References
    ----------
    .. [1] Fader & Hardie (2005), http://brucehardie.com/notes/009/

    Examples
    --------
    >>> from scipy.integrate import quad
    >>> ref = quad(lambda t: (10.578 + t) ** -2.553 * (11.669 + t) ** -1.606, 30.43, 38.86)
    >>> v = log_died_integral(0.553, 10.578, 0.606, 11.669, np.array([2.0]),
    ...                       np.array([30.43]), np.array([38.86]))
    >>> bool(np.isclose(v[0], np.log(ref[0]), rtol=1e-12))
    True
    """
    x, t_x, T = (np.asarray(v, dtype=float).reshape(-1, 1)
                 for v in np.broadcast_arrays(x, t_x, T))
    da, db = alpha + t_x, beta + t_x
    d = np.minimum(da, db)

    def decay(y):  # -ln of the integrand at u = d (e^y - 1), relative to u = 0
        u = d * np.expm1(y)
        return (r + x) * np.log1p(u / da) + (s + 1) * np.log1p(u / db)

    # integrate up to where the integrand has fallen by e^-_DECAY (or to D), with panel
    # ends equally spaced in the decay, found by bisection on y: each panel spans a factor
    # of at most e^(_DECAY/8) in the integrand, which 16 nodes integrate to round-off
    y_end = np.log1p((T - t_x) / d)
    total = decay(y_end)
    target = np.minimum(total, _DECAY) * (np.arange(_GL_PANELS + 1) / _GL_PANELS)[None, :]
    lo, hi = np.zeros(target.shape), np.broadcast_to(y_end, target.shape).copy()
    for _ in range(16):  # panel ends need no precision: any ends integrate exactly
        mid = (lo + hi) / 2
        below = decay(mid) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    ends = hi
    ends[:, 0] = 0.0
    left, width = ends[:, :-1], np.diff(ends, axis=1)
    y = (left[:, :, None] + width[:, :, None] * (_GL_NODES + 1)[None, None, :] / 2)
    y = y.reshape(x.shape[0], -1)
    log_f = -decay(y) + np.log(d) + y
    weights = (width[:, :, None] * _GL_WEIGHTS[None, None, :] / 2).reshape(x.shape[0], -1)
    top = log_f.max(axis=1)
    with np.errstate(divide="ignore"):  # an empty interval (t_x == T): -inf
        log_int = top + np.log(np.sum(weights * np.exp(log_f - top[:, None]), axis=1))
    if relative:  # log odds of dying in (t_x, T] against being alive at T (see below)
        gap = T - t_x
        return (np.log(s) + (r + x) * np.log1p(gap / da) + s * np.log1p(gap / db)
                - np.log(db))[:, 0] + log_int
    return (-(r + x) * np.log(da) - (s + 1) * np.log(db))[:, 0] + log_int


def pareto_nbd_log_odds_died(r, alpha, s, beta, x, t_x, T):
    """Log odds of "dropped out in (t_x, T]" against "alive at T" for each customer.

    ``ln[s/(r+s+x) A0] + (r+x) ln(α+T) + s ln(β+T)``: the two terms of the bracket of
    eq. (22) of [1]_, whose ratio gives ``P(alive) = 1/(1 + e^odds)`` and the likelihood.
    Where the integral form is used (see :func:`pareto_nbd_log_a0`) the large
    ``(r+x) ln(α+·)`` terms are cancelled analytically (``log1p``), so the odds stay exact
    as ``r, α → ∞`` or ``s, β → ∞``.

    Parameters
    ----------
    r, alpha, s, beta : float
        Positive model parameters.
    x, t_x, T : ndarray of shape (n,)
        Sufficient statistics.

    Returns
    -------
    ndarray of shape (n,)
        Log odds (``-inf`` where ``t_x == T``).

    References
    ----------
    .. [1] Fader & Hardie (2005), http://brucehardie.com/notes/009/

    Examples
    --------
    >>> odds = pareto_nbd_log_odds_died(0.553, 10.578, 0.606, 11.669, np.array([0.0, 4.0]),
    ...                                 np.array([0.0, 35.0]), np.array([39.0, 39.0]))
    >>> np.round(1 / (1 + np.exp(odds)), 3)
    array([0.294, 0.941])
    """
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
    near = _near(alpha, beta, t_x)
    out = np.empty(x.shape)
    if near.any():
        out[near] = log_died_integral(r, alpha, s, beta, x[near], t_x[near], T[near],
                                      relative=True)
    far = ~near
    if far.any():
        xf, Tf = x[far], T[far]
        out[far] = (np.log(s) - np.log(r + s + xf)
                    + pareto_nbd_log_a0(r, alpha, s, beta, xf, t_x[far], Tf)
                    + (r + xf) * np.log(alpha + Tf) + s * np.log(beta + Tf))
    return out


def _near(alpha, beta, t_x):
    # 1 - z of the Gauss series at t_x; below _NEAR_ONE the series needs thousands of terms
    # (r, alpha or s, beta large: a rate without heterogeneity), so integrate instead
    return (min(alpha, beta) + t_x) / (max(alpha, beta) + t_x) < _NEAR_ONE


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
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
    # ln Γ(r+x)/Γ(r) + r ln α + s ln β - (r+x) ln(α+T) - s ln(β+T) without cancelling
    # large terms, plus ln(1 + e^odds)
    alive = (log_rising(r, x) - x * np.log(alpha + T) - r * np.log1p(T / alpha)
             - s * np.log1p(T / beta))
    ll = alive + np.logaddexp(0.0, pareto_nbd_log_odds_died(r, alpha, s, beta, x, t_x, T))
    return np.where(T > 0, ll, 0.0)  # T == 0: nothing observed yet, the likelihood is 1
