"""Pareto/NBD log-likelihood (Fader & Hardie's eq. 22) and its hypergeometric term.

Pure vectorised array functions, as every module of ``valuemax.clv._likelihoods``; the Gauss
hypergeometric term is evaluated in log space without overflow for large frequencies.

References
----------
.. [1] Fader & Hardie (2005). A Note on Deriving the Pareto/NBD Model and Related Expressions.
   http://brucehardie.com/notes/009/
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, expit, hyp2f1, logsumexp

from valuemax.clv._likelihoods.special import log_rising

__all__ = [
    "log_died_integral",
    "log_hyp2f1_a_b_a1",
    "pareto_nbd_log_a0",
    "pareto_nbd_log_odds_died",
    "pareto_nbd_loglik",
    "pareto_nbd_loglik_grad",
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


def log_died_integral(r, alpha, s, beta, x, t_x, T, *, relative=False, moments=False):
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
    moments : bool, default False
        Also return, shape (4, n), the means under the normalised integrand of
        ``log1p((T-τ)/(α+τ))``, ``1/(α+τ)``, ``log1p((T-τ)/(β+τ))`` and ``1/(β+τ)``
        (from the same nodes: the derivatives of the log integral, used by
        :func:`pareto_nbd_loglik_grad`; 0 where ``t_x == T``).

    Returns
    -------
    ndarray of shape (n,)
        The log integral (``-inf`` where ``t_x == T``); with ``moments``, a tuple of it and
        the means.

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
    mass = weights * np.exp(log_f - top[:, None])
    total_mass = np.sum(mass, axis=1)
    with np.errstate(divide="ignore"):  # an empty interval (t_x == T): -inf
        log_int = top + np.log(total_mass)
    if moments:
        tau = t_x + d * np.expm1(y)
        gap = T - tau
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(total_mass[:, None] > 0, mass / total_mass[:, None], 0.0)
        means = np.stack([np.sum(p * g, axis=1) for g in (
            np.log1p(gap / (alpha + tau)), 1.0 / (alpha + tau),
            np.log1p(gap / (beta + tau)), 1.0 / (beta + tau))])
    if relative:  # log odds of dying in (t_x, T] against being alive at T (see below)
        gap = T - t_x
        out = (np.log(s) + (r + x) * np.log1p(gap / da) + s * np.log1p(gap / db)
               - np.log(db))[:, 0] + log_int
    else:
        out = (-(r + x) * np.log(da) - (s + 1) * np.log(db))[:, 0] + log_int
    return (out, means) if moments else out


def pareto_nbd_log_odds_died(r, alpha, s, beta, x, t_x, T):
    """Log odds of "dropped out in (t_x, T]" against "alive at T" for each customer.

    ``ln[s/(r+s+x) A0] + (r+x) ln(α+T) + s ln(β+T)``: the two terms of the bracket of
    eq. (22) of [1]_, whose ratio gives ``P(alive) = 1/(1 + e^odds)`` and the likelihood.
    Where the integral form is used (see :func:`pareto_nbd_log_a0`) the large
    ``(r+x) ln(α+·)`` terms are cancelled analytically (``log1p``), so the odds stay exact
    as ``r, α → ∞`` or ``s, β → ∞``. Where ``β`` is far above ``α + T`` (the no-drop-out
    side, ``s → 0``: ``(s+1)(α+T)/(β-α) <= 0.05``) a short binomial series is used
    instead (``_log_died_wide``: 14 terms, no hypergeometric function, no quadrature).

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
    wide = _wide(alpha, beta, s, T)
    near = _near(alpha, beta, t_x) & ~wide
    out = np.empty(x.shape)
    if wide.any():
        out[wide] = _wide_log_odds(r, alpha, s, beta, x[wide], t_x[wide], T[wide])[0]
    if near.any():
        out[near] = log_died_integral(r, alpha, s, beta, x[near], t_x[near], T[near],
                                      relative=True)
    far = ~near & ~wide
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


#: Most terms of the tail series of :func:`_tail_series`; rows needing more (``z`` near 1)
#: keep ``scipy.special.hyp2f1`` or the quadrature.
_SERIES_MAX = 64
_SERIES_CELLS = 1_000_000  # rows x terms evaluated at once


def _series_terms(b, z):
    """Terms for ``Σ_k (b)_k/k! z^k/(N+k)`` to ~1e-14 relative: the weights ``(b)_k/k! z^k``
    are those of a negative binomial count (mean ``bz/(1-z)``, sd ``sqrt(bz)/(1-z)``)."""
    with np.errstate(divide="ignore"):
        mean = b * z / (1 - z)
        sd = np.sqrt(b * z) / (1 - z)
        geo = 32.0 / -np.log(np.where(z > 0, z, 1e-300))
    return np.ceil(mean + 8 * sd + geo + 3).clip(1, None)


def _tail_series(N, b, z, terms, grad):
    """``ln S0`` and (``grad``) the ratios ``(S2, SH, S1, S1b) / S0`` of the positive series

    ``S0 = Σ c_k/(N+k)``, ``S2 = Σ c_k/(N+k)^2``, ``SH = Σ c_k H_k/(N+k)``,
    ``S1 = Σ c_k/(N+1+k)``, ``S1b = Σ c_k (b+k)/b/(N+1+k)``, with ``c_k = (b)_k/k! z^k``
    and ``H_k = Σ_{j<k} 1/(b+j)`` (``d ln (b)_k / db``), summed over ``terms`` terms in
    blocks of rows of similar length, in log space (no overflow for large ``b``).
    """
    n = N.size
    log_s0 = np.empty(n)
    ratios = np.empty((4, n)) if grad else None
    order = np.argsort(terms, kind="stable")
    start = 0
    while start < n:
        width = int(terms[order[min(start + 255, n - 1)]])
        stop = min(n, start + max(1, _SERIES_CELLS // width))
        width = int(terms[order[stop - 1]])
        idx = order[start:stop]
        k = np.arange(width, dtype=float)
        bi, Ni = b[idx, None], N[idx, None]
        with np.errstate(divide="ignore"):
            log_z = np.log(z[idx, None])
        step = np.log(bi + k[:-1]) - np.log1p(k[:-1]) + log_z
        log_c = np.concatenate([np.zeros((idx.size, 1)), np.cumsum(step, axis=1)], axis=1)
        top = log_c.max(axis=1, keepdims=True)
        c = np.exp(log_c - top)
        inv = 1.0 / (Ni + k)
        s0 = np.sum(c * inv, axis=1)
        log_s0[idx] = top[:, 0] + np.log(s0)
        if grad:
            harmonic = np.concatenate([np.zeros((idx.size, 1)),
                                       np.cumsum(1.0 / (bi + k[:-1]), axis=1)], axis=1)
            inv1 = 1.0 / (Ni + 1 + k)
            ratios[0, idx] = np.sum(c * inv * inv, axis=1) / s0
            ratios[1, idx] = np.sum(c * harmonic * inv, axis=1) / s0
            ratios[2, idx] = np.sum(c * inv1, axis=1) / s0
            ratios[3, idx] = np.sum(c * (bi + k) / bi * inv1, axis=1) / s0
        start = stop
    return log_s0, ratios


def _log_tail(r, alpha, s, beta, x, t, grad=False):
    """``ln J(t)``, ``J(t) = ∫_t^∞ (α+τ)^-(r+x) (β+τ)^-(s+1) dτ``, by its positive series.

    With ``D = max(α, β) + t``, ``z = |α-β|/D`` and ``b = s+1`` (``α >= β``) or ``r+x``
    (``α < β``), expanding the smaller factor binomially gives ``J = D^-N Σ_k (b)_k/k!
    z^k/(N+k)``, ``N = r+s+x`` (``2F1(N, b; N+1; z) D^-N / N``, the term of eq. 22 of
    Fader & Hardie). With ``grad``, also the log-derivatives of ``J`` in ``(r, α, s, β)``,
    shape (4, n): ``d/dr`` and ``d/ds`` are ``-ln D - S2/S0`` plus ``SH/S0`` for the
    parameter in ``b``; ``d/dα = -(r+x) J_α/J`` and ``d/dβ = -(s+1) J_β/J``, where ``J_α``,
    ``J_β`` raise the exponent of their factor by one (``D^-1 S1/S0`` or ``D^-1 S1b/S0``).
    Rows needing more than ``_SERIES_MAX`` terms are NaN.
    """
    D = max(alpha, beta) + t
    z = abs(alpha - beta) / D
    N = r + s + x
    b = np.broadcast_to(s + 1.0 if alpha >= beta else r + x, N.shape).astype(float)
    terms = _series_terms(b, z)
    ok = terms <= _SERIES_MAX
    log_j = np.full(N.shape, np.nan)
    g = np.full((4, *N.shape), np.nan) if grad else None
    if ok.any():
        log_s0, ratios = _tail_series(N[ok], b[ok], z[ok], terms[ok], grad)
        log_D = np.log(D[ok])
        log_j[ok] = log_s0 - N[ok] * log_D
        if grad:
            s2, sh, s1, s1b = ratios
            base = -log_D - s2
            if alpha >= beta:  # b = s+1: s in b; J_α keeps b, J_β raises it
                g[0, ok], g[2, ok] = base, base + sh
                g[1, ok] = -(r + x[ok]) * s1 / D[ok]
                g[3, ok] = -(s + 1) * s1b / D[ok]
            else:  # b = r+x
                g[0, ok], g[2, ok] = base + sh, base
                g[1, ok] = -(r + x[ok]) * s1b / D[ok]
                g[3, ok] = -(s + 1) * s1 / D[ok]
    return log_j, g


def pareto_nbd_loglik_grad(r, alpha, s, beta, x, t_x, T):
    """Gradient of :func:`pareto_nbd_loglik` with respect to ``(r, alpha, s, beta)``.

    ``ln L = A + ln(1 + e^O)`` with the alive term ``A = ln Γ(r+x)/Γ(r) + r ln α + s ln β
    - (r+x) ln(α+T) - s ln(β+T)`` and the log odds ``O = ln s + ln I + (r+x) ln(α+T)
    + s ln(β+T)``, ``I = J(t_x) - J(T)`` the integral of :func:`log_died_integral`. So
    ``∇ ln L = ∇A + expit(O) ∇O``; ``∇ ln I = (∇J(t_x) - ρ ∇J(T)) / (J(t_x) - ρ J(T))``
    with ``ρ = J(T)/J(t_x)``, and ``∇J`` comes from differentiating the positive series of
    ``J`` term by term (see ``_log_tail``): no hypergeometric function and no
    cancellation. Rows on the no-drop-out side (``β`` far above ``α + T``, as ``s → 0``)
    differentiate the short binomial series of ``_log_died_wide`` instead, and rows where
    ``pareto_nbd_log_odds_died`` integrates (``z`` within 0.5% of 1) take the derivatives
    from the same quadrature nodes (``log_died_integral(..., moments=True)``). The
    remaining rows whose series would be long (more than ``_SERIES_MAX`` = 64 terms) are
    differentiated by central differences of :func:`pareto_nbd_loglik` in the
    log-parameters (step 1e-5, error ~1e-10 relative).

    Parameters
    ----------
    r, alpha, s, beta : float
        Positive model parameters.
    x, t_x, T : ndarray of shape (n,)
        Sufficient statistics, as in :func:`pareto_nbd_loglik`.

    Returns
    -------
    ndarray of shape (4, n)
        Derivatives of each row's log-likelihood (0 where ``T == 0``).

    Examples
    --------
    >>> x, t_x, T = np.array([2.0]), np.array([30.43]), np.array([38.86])
    >>> p, h = np.array([0.553, 10.578, 0.606, 11.669]), 1e-6
    >>> g = pareto_nbd_loglik_grad(*p, x, t_x, T)[:, 0]
    >>> fd = [(pareto_nbd_loglik(*(p + h * e), x, t_x, T)[0]
    ...        - pareto_nbd_loglik(*(p - h * e), x, t_x, T)[0]) / (2 * h) for e in np.eye(4)]
    >>> bool(np.allclose(g, fd, rtol=1e-6))
    True
    """
    x, t_x, T = (a.astype(float).reshape(-1) for a in np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (x, t_x, T))))
    n = x.size
    out = np.zeros((4, n))
    live = T > 0
    d_alive = np.stack([
        digamma(r + x) - digamma(r) - np.log1p(T / alpha),
        r / alpha - (r + x) / (alpha + T),
        -np.log1p(T / beta) + np.zeros(n),
        s / beta - s / (beta + T)])
    wide = live & _wide(alpha, beta, s, T)
    if wide.any():  # the no-drop-out side: a short binomial series and its derivatives
        xw, Tw = x[wide], T[wide]
        odds, d_log_i = _wide_log_odds(r, alpha, s, beta, xw, t_x[wide], Tw, grad=True)
        gap = t_x[wide] < Tw
        d_odds = d_log_i + np.stack([np.log(alpha + Tw), (r + xw) / (alpha + Tw),
                                     1.0 / s + np.log(beta + Tw), s / (beta + Tw)])
        out[:, wide] = d_alive[:, wide] + np.where(gap, expit(odds) * d_odds, 0.0)
    near = live & _near(alpha, beta, t_x) & ~wide
    log_jx, log_jT = np.full(n, np.nan), np.full(n, np.nan)
    gx, gT = np.full((4, n), np.nan), np.full((4, n), np.nan)
    other = live & ~near & ~wide
    if other.any():  # the series only where the quadrature is not used
        log_jx[other], gx[:, other] = _log_tail(r, alpha, s, beta, x[other], t_x[other],
                                                grad=True)
        log_jT[other], gT[:, other] = _log_tail(r, alpha, s, beta, x[other], T[other],
                                                grad=True)
    if near.any():  # the quadrature of the value gives its derivatives from the same nodes
        xn, Tn = x[near], T[near]
        odds, means = log_died_integral(r, alpha, s, beta, xn, t_x[near], Tn, relative=True,
                                        moments=True)
        e_ra, e_ia, e_rb, e_ib = means
        d_odds = np.stack([e_ra, (r + xn) * (1.0 / (alpha + Tn) - e_ia),
                           1.0 / s + e_rb, s / (beta + Tn) - (s + 1) * e_ib])
        out[:, near] = d_alive[:, near] + expit(odds) * d_odds
    fast = other & np.isfinite(log_jx) & np.isfinite(log_jT)
    if fast.any():
        xf, tf, Tf = x[fast], t_x[fast], T[fast]
        rho = np.exp(np.minimum(log_jT[fast] - log_jx[fast], 0.0))
        gap = tf < Tf
        with np.errstate(divide="ignore", invalid="ignore"):
            d_log_i = np.where(gap, (gx[:, fast] - rho * gT[:, fast]) / (1.0 - rho), 0.0)
            log_i = log_jx[fast] + np.log(-np.expm1(np.minimum(log_jT[fast] - log_jx[fast],
                                                                 0.0)))
        odds = (np.log(s) + log_i + (r + xf) * np.log(alpha + Tf) + s * np.log(beta + Tf))
        w = np.where(gap, expit(odds), 0.0)
        d_odds = d_log_i + np.stack([np.log(alpha + Tf), (r + xf) / (alpha + Tf),
                                     1.0 / s + np.log(beta + Tf), s / (beta + Tf)])
        out[:, fast] = d_alive[:, fast] + w * np.where(gap, d_odds, 0.0)
    slow = other & ~fast
    if slow.any():
        theta = np.log([r, alpha, s, beta])
        h = 1e-5
        xs, ts, Ts = x[slow], t_x[slow], T[slow]
        for i in range(4):
            up, down = theta.copy(), theta.copy()
            up[i] += h
            down[i] -= h
            diff = (pareto_nbd_loglik(*np.exp(up), xs, ts, Ts)
                    - pareto_nbd_loglik(*np.exp(down), xs, ts, Ts)) / (2 * h)
            out[i, slow] = diff / np.exp(theta[i])
    return out


#: ``(s+1) (α+T)/(β-α)`` at most this: the no-drop-out side (``β`` far above ``α + T``,
#: as ``s → 0``) is summed by :func:`_log_died_wide` (``_WIDE_TERMS`` terms, error < 1e-18).
_WIDE = 0.05
_WIDE_TERMS = 14


def _wide(alpha, beta, s, T):
    """Rows where :func:`_log_died_wide` applies (``β > α`` and the ratio below ``_WIDE``)."""
    if beta <= alpha:
        return np.zeros(np.shape(T), dtype=bool)
    return (s + 1.0) * (alpha + np.asarray(T, dtype=float)) / (beta - alpha) <= _WIDE


def _log_exprel(y):
    """``ln((e^y - 1)/y)`` for any real ``y`` (0 at ``y = 0``), without overflow."""
    y = np.asarray(y, dtype=float)
    pos, neg = y >= 1e-8, y <= -1e-8
    yp = np.where(pos, y, 1.0)
    yn = np.where(neg, y, -1.0)
    return np.where(pos, yp + np.log(-np.expm1(-yp)) - np.log(yp),
                    np.where(neg, np.log(-np.expm1(yn)) - np.log(-yn), y / 2))


def _phi(y):
    """``d ln exprel(y)/dy = 1/(1 - e^-y) - 1/y`` (``1/2`` at 0; series for small ``|y|``)."""
    y = np.asarray(y, dtype=float)
    small = np.abs(y) < 0.1
    safe = np.where(small, 1.0, y)
    with np.errstate(over="ignore"):
        out = 1.0 / -np.expm1(-safe) - 1.0 / safe
    return np.where(small, 0.5 + y / 12 - y**3 / 720 + y**5 / 30240, out)


def _log_died_wide(r, alpha, s, beta, x, t_x, T, grad=False):
    """``ln I`` (and its gradient) where ``β`` is far above ``α + T`` (no drop-out side).

    ``I = ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ``. With ``β + τ = (β-α)(1 + w)``,
    ``w = (α+τ)/(β-α) <= q = (α+T)/(β-α)``, the binomial series of ``(1+w)^-(s+1)``
    integrates term by term: ``I = (β-α)^-(s+1) Σ_k (-1)^k (s+1)_k/k! (β-α)^-k P(m_k)``,
    ``m_k = k+1-r-x``, ``P(m) = ∫ (α+τ)^(m-1) dτ = (α+t_x)^m L exprel(m L)``,
    ``L = log1p((T-t_x)/(α+t_x))``. The terms fall like ``((s+1) q)^k``, so where
    ``(s+1) q <= _WIDE`` the first ``_WIDE_TERMS`` give round-off, the first term
    dominates (no cancellation) and no hypergeometric function (whose argument is here
    within ``q`` of 1, scipy's slow path) or quadrature is needed. The gradient
    differentiates the terms: ``∂P(m)/∂α = (m-1) P(m-1)``, ``∂ ln P/∂m = ln(α+t_x) +
    L φ(m L)`` with ``φ = (ln exprel)'``.

    Returns ``ln I - (-(s+1) ln(β-α) + (1-r-x) ln(α+t_x))`` split off as ``(core,
    log_scale)``: ``ln I = core + log_scale``, ``core = ln L + ln Σ_k ρ_k`` (so that the
    caller cancels the large terms), and with ``grad`` the (4, n) derivatives of ``ln I``.
    """
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    k = np.arange(_WIDE_TERMS, dtype=float)
    gap_scale = beta - alpha
    base = alpha + t_x
    with np.errstate(divide="ignore"):
        L = np.log1p((T - t_x) / base)
        log_L = np.log(L)
    m = (k[None, :] + 1.0 - r - x[:, None])
    log_e = _log_exprel(m * L[:, None])
    log_c = np.concatenate([[0.0], np.cumsum(np.log(s + 1.0 + k[:-1]) - np.log1p(k[:-1]))])
    w_x = base / gap_scale
    sign = (-1.0) ** k
    rho = sign * np.exp(log_c[None, :] + k[None, :] * np.log(w_x)[:, None]
                        + log_e - log_e[:, :1])
    total = rho.sum(axis=1)
    core = log_L + log_e[:, 0] + np.log(total)
    log_scale = -(s + 1.0) * np.log(gap_scale) + (1.0 - r - x) * np.log(base)
    if not grad:
        return core, log_scale, None
    pi = rho / total[:, None]
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / (s + 1.0 + k[:-1]))])
    # P(m-1)/P(m) = exprel((m-1)L) / (exprel(mL) (α+t_x))
    ratio_down = np.exp(_log_exprel((m - 1.0) * L[:, None]) - log_e) / base[:, None]
    d_r = -np.log(base) - L * np.sum(pi * _phi(m * L[:, None]), axis=1)
    d_alpha = np.sum(pi * ((s + 1.0 + k) / gap_scale + (m - 1.0) * ratio_down), axis=1)
    d_s = -np.log(gap_scale) + np.sum(pi * harmonic, axis=1)
    d_beta = -np.sum(pi * (s + 1.0 + k), axis=1) / gap_scale
    return core, log_scale, np.stack([d_r, d_alpha, d_s, d_beta])


def _wide_log_odds(r, alpha, s, beta, x, t_x, T, grad=False):
    """Log odds of :func:`pareto_nbd_log_odds_died` (and ``∇ ln I``) by
    :func:`_log_died_wide`, the large terms cancelled: ``ln s + core + (r+x) L
    + ln(α+t_x) + s log1p((α+T)/(β-α)) - ln(β-α)``."""
    core, _, d_log_i = _log_died_wide(r, alpha, s, beta, x, t_x, T, grad=grad)
    base = alpha + t_x
    L = np.log1p((T - t_x) / base)
    odds = (np.log(s) + core + (r + x) * L + np.log(base)
            + s * np.log1p((alpha + T) / (beta - alpha)) - np.log(beta - alpha))
    return odds, d_log_i
