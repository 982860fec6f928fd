"""Pareto/NBD log-likelihood (Fader & Hardie's eq. 22), its gradient and its died term.

Pure vectorised array functions, as every module of ``valuemax.clv._likelihoods``. The
closed form's term ``A0`` (two Gauss hypergeometric functions) is computed as the integral
``I = ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ = A0/(r+s+x)`` it comes from, in log space,
by a positive series (the Gauss hypergeometric series of eq. 22, ``2F1(N, b; N+1; z)``,
summed once per distinct ``(x, t)`` pair of the data: ``_pair_tails``), a binomial series
on the no-drop-out side, or Gauss-Legendre quadrature where the series would be long (see
``_log_odds``): no call to a hypergeometric function.

References
----------
.. [1] Fader & Hardie (2005). A Note on Deriving the Pareto/NBD Model and Related Expressions.
   http://brucehardie.com/notes/009/
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy.special import digamma, expit

from valuemax.clv._likelihoods.special import log_rising

__all__ = [
    "log_died_integral",
    "pareto_nbd_log_odds_died",
    "pareto_nbd_loglik",
    "pareto_nbd_loglik_and_grad",
    "pareto_nbd_loglik_grad",
    "row_pairs",
]


_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(16)
_GL_PANELS = 8
#: The integrand is integrated until it falls by this factor (log scale): the rest is < 1e-26.
_DECAY = 60.0
#: Newton steps placing the panel ends (see :func:`log_died_integral`).
_NEWTON = 6


def log_died_integral(r, alpha, s, beta, x, t_x, T, *, relative=False, moments=False):
    """``ln ∫_{t_x}^T (α+τ)^-(r+x) (β+τ)^-(s+1) dτ`` by Gauss-Legendre quadrature.

    The integral is ``A0 / (r+s+x)`` of Fader & Hardie's eq. (22) [1]_ (the probability of
    dropping out between ``t_x`` and ``T``, up to constants). Written as
    ``(α+t_x)^-(r+x) (β+t_x)^-(s+1) ∫_0^D exp(-(r+x) log1p(u/(α+t_x)) - (s+1)
    log1p(u/(β+t_x))) du`` with ``D = T - t_x``, and with ``u = d (e^y - 1)``,
    ``d = min(α, β) + t_x``, whose integrand in ``y`` has no singularity within ``π`` of the
    real axis; ``y`` runs over up to 8 panels of 16 Gauss-Legendre nodes each (at most 128
    nodes): as many as the integrand's fall over the interval needs, capped at ``e^-60``,
    in steps of ``e^-7.5`` (one panel where it falls by less than ``e^7.5``). Panels end
    where the integrand has fallen by ``e^(7.5 j)`` (Newton's method), so each spans a
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

    # integrate up to where the integrand has fallen by e^-_DECAY (or to D), in panels
    # each spanning a factor of at most about e^(_DECAY/8) in the integrand, which 16 nodes
    # integrate to round-off: as many panels as the row's decay needs (1 to 8), rows
    # needing the same number evaluated together
    y_end = np.log1p((T - t_x) / d)
    total = decay(y_end)[:, 0]
    need = np.clip(np.ceil(np.minimum(total, _DECAY) / (_DECAY / _GL_PANELS)), 1, _GL_PANELS)
    log_int = np.empty(x.shape[0])
    means = np.empty((4, x.shape[0])) if moments else None
    for k in np.unique(need).astype(int):
        rows = np.flatnonzero(need == k)
        log_int[rows], got = _panels(k, r, s, x[rows], t_x[rows], T[rows], da[rows],
                                     db[rows], d[rows], y_end[rows],
                                     np.minimum(total[rows], _DECAY), moments)
        if moments:
            means[:, rows] = got
    if relative:  # log odds of dying in (t_x, T] against being alive at T (see below)
        gap = T - t_x
        out = (np.log(s) + (r + x) * np.log1p(gap / da) + s * np.log1p(gap / db)
               - np.log(db))[:, 0] + log_int
    else:
        out = (-(r + x) * np.log(da) - (s + 1) * np.log(db))[:, 0] + log_int
    return (out, means) if moments else out


def _panels(k, r, s, x, t_x, T, da, db, d, y_end, height, moments):
    """``ln`` of the integral of :func:`log_died_integral` over ``k`` Gauss-Legendre panels
    (rows of shape (m, 1)), and with ``moments`` its four means, shape (4, m).

    The panel ends are equally spaced in the decay up to ``height``. The decay is
    increasing and convex in y (a sum of ``c ln(1 - q + q e^y)``, ``0 < q <= 1``) and 0 at
    0, so Newton's method started right of each end, at ``min(y_end, target / decay'(0))``,
    descends to it monotonically; panel ends need no precision (any ends integrate
    exactly), ``_NEWTON`` steps place them well within a panel.
    """
    target = height[:, None] * (np.arange(k + 1) / k)[None, :]
    ca, cb, qa, qb = r + x, s + 1.0, d / da, d / db
    with np.errstate(divide="ignore", invalid="ignore"):
        ends = np.minimum(y_end, target / (ca * qa + cb * qb))
    for _ in range(_NEWTON):
        e = np.expm1(ends)
        ga, gb = qa * e, qb * e
        excess = ca * np.log1p(ga) + cb * np.log1p(gb) - target
        slope = (e + 1.0) * (ca * qa / (1.0 + ga) + cb * qb / (1.0 + gb))
        ends = np.clip(ends - np.where(excess > 0, excess / slope, 0.0), 0.0, y_end)
    ends[:, 0] = 0.0
    left, width = ends[:, :-1], np.diff(ends, axis=1)
    y = (left[:, :, None] + width[:, :, None] * (_GL_NODES + 1)[None, None, :] / 2)
    y = y.reshape(x.shape[0], -1)
    u = d * np.expm1(y)
    log_a, log_b = np.log1p(u / da), np.log1p(u / db)  # the decay's terms, kept for moments
    log_f = -(ca * log_a + cb * log_b) + np.log(d) + y
    weights = (width[:, :, None] * _GL_WEIGHTS[None, None, :] / 2).reshape(x.shape[0], -1)
    top = log_f.max(axis=1)
    mass = weights * np.exp(log_f - top[:, None])
    total_mass = np.sum(mass, axis=1)
    with np.errstate(divide="ignore"):  # an empty interval (t_x == T): -inf
        log_int = top + np.log(total_mass)
    if not moments:
        return log_int, None
    # with α+τ = da+u: log1p((T-τ)/(α+τ)) = log1p((T-t_x)/da) - log1p(u/da)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(total_mass[:, None] > 0, mass / total_mass[:, None], 0.0)
    span = T - t_x
    e_la, e_ia, e_lb, e_ib = (np.sum(p * g, axis=1) for g in (
        log_a, 1.0 / (da + u), log_b, 1.0 / (db + u)))
    return log_int, np.stack([np.log1p(span / da)[:, 0] - e_la, e_ia,
                              np.log1p(span / db)[:, 0] - e_lb, e_ib])


def pareto_nbd_log_odds_died(r, alpha, s, beta, x, t_x, T):
    """Log odds of "dropped out in (t_x, T]" against "alive at T" for each customer.

    ``ln[s/(r+s+x) A0] + (r+x) ln(α+T) + s ln(β+T)``: the two terms of the bracket of
    eq. (22) of [1]_, whose ratio gives ``P(alive) = 1/(1 + e^odds)`` and the likelihood.
    ``A0/(r+s+x)`` is the integral ``I`` of :func:`log_died_integral`, taken as the
    difference of two tails of a positive series where that is short enough (at most
    2,048 terms, summed once per distinct ``(x, t)``; 256 where times are continuous),
    by quadrature where it is not (there the large ``(r+x) ln(α+·)`` terms are cancelled
    analytically, ``log1p``, so the odds stay exact as ``r, α → ∞`` or ``s, β → ∞``), and
    where ``β`` is far above ``α + T`` (the no-drop-out side, ``s → 0``:
    ``(s+1)(α+T)/(β-α) <= 0.05``) by a short binomial series (``_log_died_wide``: 14 terms).

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
    shape = x.shape
    odds, _ = _log_odds(r, alpha, s, beta, *(v.reshape(-1) for v in (x, t_x, T)))
    return odds.reshape(shape)


def _log_odds(r, alpha, s, beta, x, t_x, T, grad=False, pairs=None):
    """Log odds of :func:`pareto_nbd_log_odds_died` for 1-d rows, and (``grad``) their
    derivatives in ``(r, α, s, β)``, shape (4, n), each row by one of three methods.

    Rows on the no-drop-out side (:func:`_wide`) sum the short binomial series of
    :func:`_log_died_wide`; rows whose tail series ``J(t_x)`` and ``J(T)`` need at most
    ``_TABLE_TERMS`` (or, with continuous times, ``_PAIR_TERMS``) terms take
    ``ln I = ln(J(t_x) - J(T))`` from :func:`_pair_tails` (``pairs``, a
    :class:`RowPairs` of the rows, is built when not given); the
    rest (``z`` near 1: ``r, α`` or ``s, β`` large, a rate or a drop-out without
    heterogeneity) integrate by :func:`log_died_integral`, whose nodes also give the
    derivatives. Value and gradient always come from the same method, and no row calls a
    hypergeometric function (scipy's ``hyp2f1`` took ~30 µs a value there).
    """
    n = x.size
    odds = np.empty(n)
    d_odds = np.empty((4, n)) if grad else None
    wide = _wide(alpha, beta, s, T)
    if wide.any():
        odds[wide], d_log_i = _wide_log_odds(r, alpha, s, beta, x[wide], t_x[wide], T[wide],
                                             grad=grad)
        if grad:
            d_odds[:, wide] = d_log_i + _d_bracket(r, alpha, s, beta, x[wide], T[wide])
    quad = ~wide
    if quad.any():
        if pairs is None:
            pairs = row_pairs(x, t_x, T)
        log_jp, gp = _pair_tails(r, alpha, s, beta, pairs, grad=grad)
        ok = quad & ~np.isnan(log_jp[pairs.row_tx]) & ~np.isnan(log_jp[pairs.row_T])
        rows = slice(None) if ok.all() else np.flatnonzero(ok)  # no copies in the usual case
        at_x, at_T, at_Tt = pairs.row_tx[rows], pairs.row_T[rows], pairs.row_tT[rows]
        # the functions of T, once per distinct T
        log_ta, log_tb = np.log(alpha + pairs.ut), np.log(beta + pairs.ut)
        log_jx = log_jp[at_x]
        lead = np.minimum(log_jp[at_T] - log_jx, 0.0)
        xr = r + x[rows]
        with np.errstate(divide="ignore"):  # t_x == T: I = 0, odds -inf
            odds[rows] = (np.log(s) + log_jx + np.log(-np.expm1(lead)) + xr * log_ta[at_Tt]
                          + s * log_tb[at_Tt])
        if grad:
            rho = np.exp(lead)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(lead < 0.0, 1.0 / -np.expm1(lead), 0.0)
            d_log_i = (gp[:, at_x] - rho * gp[:, at_T]) * scale
            d_log_i[0] += log_ta[at_Tt]
            d_log_i[1] += xr / (alpha + pairs.ut)[at_Tt]
            d_log_i[2] += 1.0 / s + log_tb[at_Tt]
            d_log_i[3] += (s / (beta + pairs.ut))[at_Tt]
            d_odds[:, rows] = d_log_i
        quad &= ~ok
    if quad.any():
        xq, Tq = x[quad], T[quad]
        got = log_died_integral(r, alpha, s, beta, xq, t_x[quad], Tq, relative=True,
                                moments=grad)
        if grad:
            odds[quad], (e_ra, e_ia, e_rb, e_ib) = got
            d_odds[:, quad] = np.stack([e_ra, (r + xq) * (1.0 / (alpha + Tq) - e_ia),
                                        1.0 / s + e_rb, s / (beta + Tq) - (s + 1) * e_ib])
        else:
            odds[quad] = got
    return odds, d_odds


def _d_bracket(r, alpha, s, beta, x, T):
    """Derivatives of ``ln s + (r+x) ln(α+T) + s ln(β+T)`` in ``(r, α, s, β)``, (4, n)."""
    return np.stack([np.log(alpha + T), (r + x) / (alpha + T), 1.0 / s + np.log(beta + T),
                     s / (beta + T)])


def pareto_nbd_loglik(r, alpha, s, beta, x, t_x, T):
    """Pareto/NBD log-likelihood of each customer, eq. (22) of Fader & Hardie [1]_.

    ``ln L = ln Γ(r+x) - ln Γ(r) + r ln α + s ln β + ln[(α+T)^-(r+x) (β+T)^-s
    + s/(r+s+x) A0]``, the bracket's log ratio from :func:`pareto_nbd_log_odds_died`.

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
#: are integrated by :func:`log_died_integral` instead.
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


class RowPairs(NamedTuple):
    """The distinct ``(x, t)`` points of the tail ``J`` that rows of ``(x, t_x, T)`` need.

    Every row needs ``J`` at ``(x, t_x)`` and at ``(x, T)``; ``J`` depends on ``x`` and
    ``t`` only, and a customer table has few distinct frequencies and (in whole days or
    weeks) few distinct times, so the pairs are far fewer than the rows. Built once per
    data set by :func:`row_pairs` (``fit`` builds it once for all its evaluations).
    """

    ux: np.ndarray  #: distinct x, shape (n_x,)
    ut: np.ndarray  #: distinct t (of t_x and T together), shape (n_t,)
    pair_x: np.ndarray  #: index into ux of each pair, sorted by x, shape (n_pairs,)
    pair_t: np.ndarray  #: index into ut of each pair, shape (n_pairs,)
    x_start: np.ndarray  #: first pair of each x (and n_pairs last), shape (n_x + 1,)
    row_x: np.ndarray  #: index into ux of each row, shape (n,)
    row_tx: np.ndarray  #: pair of each row's (x, t_x), shape (n,)
    row_T: np.ndarray  #: pair of each row's (x, T), shape (n,)
    row_tT: np.ndarray  #: index into ut of each row's T, shape (n,)


def row_pairs(x, t_x, T):
    """:class:`RowPairs` of 1-d rows ``x, t_x, T`` (the sufficient statistics).

    Examples
    --------
    >>> p = row_pairs(np.array([0.0, 2.0, 2.0]), np.array([0.0, 30.0, 30.0]),
    ...               np.array([39.0, 39.0, 38.0]))
    >>> p.ux.tolist(), p.ut.tolist(), p.row_tx.tolist(), p.row_T.tolist()
    ([0.0, 2.0], [0.0, 30.0, 38.0, 39.0], [0, 2, 2], [1, 4, 3])
    """
    x, t_x, T = (np.asarray(v, dtype=float).reshape(-1) for v in (x, t_x, T))
    ux, row_x = np.unique(x, return_inverse=True)
    ut, t_index = np.unique(np.concatenate([t_x, T]), return_inverse=True)
    key = np.concatenate([row_x, row_x]).astype(np.int64) * ut.size + t_index
    keys, inverse = np.unique(key, return_inverse=True)  # sorted by x, then t
    pair_x, pair_t = np.divmod(keys, ut.size)
    x_start = np.searchsorted(pair_x, np.arange(ux.size + 1))
    n = x.size
    return RowPairs(ux, ut, pair_x, pair_t, x_start, row_x, inverse[:n], inverse[n:],
                    t_index[n:])


#: Largest log-weight spread of one x's series summed in linear space by
#: :func:`_pair_tails` (beyond it, far from any fit's optimum, the log-space
#: :func:`_tail_series` sums those pairs).
_LINEAR_RANGE = 600.0
#: Pairs whose series are summed together by :func:`_pair_tails` in the grouped mode.
_PAIR_BLOCK = 32_768
#: Most terms of a series summed by :func:`_pair_tails` over a table of every distinct
#: ``(t, x)`` (its cost grows with the distinct values, not the rows: ``z`` near 1, far
#: from the optimum or near a no-heterogeneity limit, still takes the series there),
#: and over the pairs of each ``x`` (a cost per pair, as quadrature's 16 to 128 nodes).
_TABLE_TERMS = 2048
_PAIR_TERMS = 256
#: The table of every distinct ``(t, x)`` is used when it has at most this many cells
#: per pair plus ``_TABLE_MIN`` (whole-day or whole-week data); else the series are
#: summed per ``x`` over its pairs (continuous times).
_TABLE_PER_PAIR = 4
_TABLE_MIN = 4096
#: Most cells (distinct t x terms) of the table's powers of ``q`` (32 MB).
_TABLE_POWERS = 1 << 22


def _pair_tails(r, alpha, s, beta, pairs, grad=False):
    """``ln J`` at every pair of ``pairs`` (:class:`RowPairs`) and (``grad``) its
    log-derivatives in ``(r, α, s, β)``, shape (4, n_pairs): :func:`_log_tail` per pair,
    the series split into a factor of ``t`` and one of ``x``.

    ``J(t) = D^-N Σ_k (b)_k/k! z^k/(N+k)`` with ``D = max(α, β) + t``,
    ``z = |α-β|/D`` (a function of ``t``), ``N = r+s+x`` and ``b`` (``s+1`` or ``r+x``)
    functions of ``x``. With ``ζ`` the largest ``z`` of the pairs summed and
    ``q = z/ζ <= 1``, each term is ``w_k(x) q(t)^k``, ``w_k = (b)_k/k! ζ^k/(N+k)``
    (scaled by its largest value per ``x``, whose log is added back), so each of the five
    series of :func:`_tail_series` (``S0``, ``S2``, ``SH``, ``S1``, ``S1b``) is the product
    of a (pairs x terms) matrix of powers of ``q`` and a (terms x 5) matrix of weights per
    ``x``: one matrix product over a table of every distinct ``t`` and ``x`` when that
    table is small (whole-day or whole-week data; at most ``_TABLE_POWERS`` powers), else
    one per ``x`` over its pairs in blocks of ``_PAIR_BLOCK`` (memory bounded). All
    terms are positive (no cancellation); the number of terms is that of
    :func:`_series_terms` for the pair that needs most (at most ``_SERIES_MAX``: pairs
    needing more are NaN, integrated by the caller), so each sum is exact to round-off.
    Pairs whose weights span more than ``e^_LINEAR_RANGE`` (huge ``b``, far from a fit's
    optimum) are summed in log space by :func:`_tail_series` instead.
    """
    ux, ut, px, pt = pairs.ux, pairs.ut, pairs.pair_x, pairs.pair_t
    n_pairs = px.size
    log_j = np.full(n_pairs, np.nan)
    g = np.full((4, n_pairs), np.nan) if grad else None
    D = max(alpha, beta) + ut
    z = abs(alpha - beta) / D
    N = r + s + ux
    b = np.full(ux.shape, s + 1.0) if alpha >= beta else r + ux
    terms = _series_terms(b[px], z[pt])
    tabled = ut.size * ux.size <= _TABLE_PER_PAIR * n_pairs + _TABLE_MIN  # every (t, x)
    if tabled:
        ok = terms <= _TABLE_TERMS
        # the powers of q for every distinct t: bounded memory, else per x
        tabled = not ok.any() or ut.size * terms[ok].max() <= _TABLE_POWERS
    if not tabled:
        ok = terms <= _PAIR_TERMS
    if not ok.any():
        return log_j, g
    K = int(terms[ok].max())
    k = np.arange(K, dtype=float)
    zeta = float(z[pt[ok]].max())
    with np.errstate(divide="ignore", invalid="ignore"):
        q = np.minimum(z / zeta, 1.0) if zeta > 0 else np.zeros_like(z)
        log_zeta = np.log(zeta) if zeta > 0 else 0.0
    # log of (b)_k/k! ζ^k, shape (K, n_x), and its largest value per x
    step = np.log(b[None, :] + k[:-1, None]) - np.log1p(k[:-1, None]) + log_zeta
    log_w = np.concatenate([np.zeros((1, ux.size)), np.cumsum(step, axis=0)], axis=0)
    top = log_w.max(axis=0)
    w = np.exp(log_w - top)
    inv0 = 1.0 / (N[None, :] + k[:, None])
    cols = [w * inv0]
    if grad:
        inv1 = 1.0 / (N[None, :] + 1.0 + k[:, None])
        harmonic = np.concatenate([np.zeros((1, ux.size)),
                                   np.cumsum(1.0 / (b[None, :] + k[:-1, None]), axis=0)])
        cols += [w * inv0 * inv0, w * inv0 * harmonic, w * inv1,
                 w * inv1 * (b[None, :] + k[:, None]) / b[None, :]]
    weights = np.stack(cols, axis=1)  # (K, n_series, n_x)
    n_series = weights.shape[1]
    sums = np.full((n_pairs, n_series), np.nan)  # pairs not ok stay NaN
    if tabled:
        powers = np.cumprod(np.concatenate([np.ones((ut.size, 1)),
                                            np.repeat(q[:, None], K - 1, axis=1)], axis=1),
                            axis=1)
        table = (powers @ weights.reshape(K, -1)).reshape(ut.size, n_series, ux.size)
        sums[:] = table[pt, :, px]
    else:  # per x, over its pairs that the series serves, in blocks, with its own length
        use = np.flatnonzero(ok)
        starts = np.searchsorted(px[use], np.arange(ux.size + 1))
        for j in range(ux.size):
            for lo in range(starts[j], starts[j + 1], _PAIR_BLOCK):
                rows = use[lo:min(lo + _PAIR_BLOCK, starts[j + 1])]
                k_j = int(terms[rows].max())
                qj = q[pt[rows]]
                powers = np.cumprod(np.concatenate([np.ones((qj.size, 1)),
                                                    np.repeat(qj[:, None], k_j - 1, axis=1)],
                                                   axis=1), axis=1)
                sums[rows] = powers @ weights[:k_j, :, j]
    s0 = sums[:, 0]
    log_D = np.log(D[pt])
    with np.errstate(divide="ignore", invalid="ignore"):  # pairs not ok: discarded
        log_j[ok] = (top[px] + np.log(s0) - N[px] * log_D)[ok]
        ratios = sums[:, 1:] / s0[:, None] if grad else None
    wide_range = ok & (top[px] - log_w.min(axis=0)[px] > _LINEAR_RANGE)
    if grad:
        s2, sh, s1, s1b = ratios.T
        base = -log_D - s2
        xr = r + ux[px]
        if alpha >= beta:  # b = s+1: s in b; J_α keeps b, J_β raises it
            got = np.stack([base, -xr * s1 / D[pt], base + sh, -(s + 1) * s1b / D[pt]])
        else:  # b = r+x
            got = np.stack([base + sh, -xr * s1b / D[pt], base, -(s + 1) * s1 / D[pt]])
        g[:, ok] = got[:, ok]
    if wide_range.any():  # weights beyond linear range: the log-space series
        idx = np.flatnonzero(wide_range)
        log_j[idx], got = _log_tail(r, alpha, s, beta, ux[px[idx]], ut[pt[idx]], grad=grad)
        if grad:
            g[:, idx] = got
    return log_j, g


def pareto_nbd_loglik_grad(r, alpha, s, beta, x, t_x, T):
    """Gradient of :func:`pareto_nbd_loglik` with respect to ``(r, alpha, s, beta)``.

    ``ln L = A + ln(1 + e^O)`` with the alive term ``A = ln Γ(r+x)/Γ(r) + r ln α + s ln β
    - (r+x) ln(α+T) - s ln(β+T)`` and the log odds ``O = ln s + ln I + (r+x) ln(α+T)
    + s ln(β+T)``, ``I = J(t_x) - J(T)`` the integral of :func:`log_died_integral`. So
    ``∇ ln L = ∇A + expit(O) ∇O``; ``∇ ln I = (∇J(t_x) - ρ ∇J(T)) / (J(t_x) - ρ J(T))``
    with ``ρ = J(T)/J(t_x)``, and ``∇J`` comes from differentiating the positive series of
    ``J`` term by term (see ``_log_tail`` and ``_pair_tails``, which sums the series
    once per distinct ``(x, t)``): no hypergeometric function and no
    cancellation. Rows on the no-drop-out side (``β`` far above ``α + T``, as ``s → 0``)
    differentiate the short binomial series of ``_log_died_wide`` instead, and rows whose
    series would be long (more than 2,048 terms, or 256 with continuous times: ``z`` near
    1, as at the no-heterogeneity boundary) take the derivatives from the quadrature nodes that give
    their value (``log_died_integral(..., moments=True)``). Each row's value and gradient
    come from the same method (``_log_odds``); no finite differences.

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
    return pareto_nbd_loglik_and_grad(r, alpha, s, beta, x, t_x, T)[1]


def pareto_nbd_loglik_and_grad(r, alpha, s, beta, x, t_x, T, pairs=None):
    """:func:`pareto_nbd_loglik` and :func:`pareto_nbd_loglik_grad` from one pass.

    The optimiser asks for the value and the gradient at each point; the quadrature rows
    (the costly ones, near the no-heterogeneity boundary) then run once, not twice.

    Parameters
    ----------
    r, alpha, s, beta : float
        Positive model parameters.
    x, t_x, T : ndarray of shape (n,)
        Sufficient statistics, as in :func:`pareto_nbd_loglik`.
    pairs : RowPairs, optional
        ``row_pairs(x, t_x, T)``, passed when the same rows are evaluated many times (a
        fit); built here when omitted.

    Returns
    -------
    loglik : ndarray of shape (n,)
        Log-likelihood of each row (0 where ``T == 0``).
    grad : ndarray of shape (4, n)
        Its derivatives in ``(r, alpha, s, beta)`` (0 where ``T == 0``).

    Examples
    --------
    >>> x, t_x, T = np.array([2.0, 0.0]), np.array([30.43, 0.0]), np.array([38.86, 38.86])
    >>> ll, g = pareto_nbd_loglik_and_grad(0.553, 10.578, 0.606, 11.669, x, t_x, T)
    >>> bool(np.allclose(ll, pareto_nbd_loglik(0.553, 10.578, 0.606, 11.669, x, t_x, T),
    ...                  rtol=1e-13))
    True
    """
    x, t_x, T = (a.astype(float).reshape(-1) for a in np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (x, t_x, T))))
    if pairs is None:
        pairs = row_pairs(x, t_x, T)
    # per distinct x: ln Γ(r+x)/Γ(r) and its r-derivative; per distinct T: its logs
    rising = log_rising(r, pairs.ux)[pairs.row_x]
    d_rising = (digamma(r + pairs.ux) - digamma(r))[pairs.row_x]
    at_T, ut = pairs.row_tT, pairs.ut
    log_ta, log_tb = np.log1p(ut / alpha), np.log1p(ut / beta)
    alive = rising - x * np.log(alpha + ut)[at_T] - (r * log_ta + s * log_tb)[at_T]
    odds, d_odds = _log_odds(r, alpha, s, beta, x, t_x, T, grad=True, pairs=pairs)
    ll = alive + np.logaddexp(0.0, odds)
    same = t_x == T  # no drop-out term (odds -inf, weight 0): only the alive part
    if same.any():
        d_odds[:, same] = 0.0
    out = expit(odds) * d_odds
    out[0] += d_rising - log_ta[at_T]
    out[1] += r / alpha - (r + x) / (alpha + ut)[at_T]
    out[2] -= log_tb[at_T]
    out[3] += (s / beta - s / (beta + ut))[at_T]
    unseen = T == 0  # nothing observed yet: the likelihood is 1 (value and gradient 0)
    if unseen.any():
        ll[unseen], out[:, unseen] = 0.0, 0.0
    return ll, out


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
