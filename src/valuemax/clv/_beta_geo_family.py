"""The BG/NBD family (BG/NBD, MBG/NBD): its expectations, simulation and shared model base.

BG/NBD [1]_ and MBG/NBD [2]_ share the purchase process (Poisson rate ``lambda ~ Gamma(r,
alpha)``) and the drop-out coin (``p ~ Beta(a, b)``, tossed after each repeat purchase);
MBG/NBD also tosses it right after the first purchase. Every prediction of the two models is
the same formula with that one extra toss, ``shift`` (0 for BG/NBD, 1 for MBG/NBD), as in
their likelihoods (:mod:`valuemax.clv._likelihoods.bg_nbd`). The public methods, with their
documentation and the model's own references, stay on each model's class.

References
----------
.. [1] Fader, Hardie & Lee (2005). "Counting Your Customers" the Easy Way.
   Marketing Science 24(2):275-284. doi:10.1287/mksc.1040.0098
.. [2] Batislam, Denizel & Filiztekin (2007). Empirical validation and comparison of
   models for customer base analysis. Int. J. Research in Marketing 24(3):201-209.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import betainc, expit, hyp2f1

from valuemax.clv._base import COLLAPSED, VANISHING
from valuemax.clv._btyd import RepeatPurchaseModel, finite_or_raise
from valuemax.clv._likelihoods.special import log_beta_ratio, log_nbd_pmf

#: Half-width around a = 1 where BG/NBD-type expectations are interpolated (see below).
_POLE = 1e-4


def smooth_at_a_one(fn: Any, a: float) -> np.ndarray:
    """``fn(a)`` for the BG/NBD-family expectations, which are 0/0 at ``a == 1``.

    Their closed forms carry ``1 / (a - 1)`` times a factor that vanishes at ``a = 1``;
    the expression is analytic in ``a``, so within ``_POLE`` of 1 it is interpolated
    linearly between ``a = 1 - _POLE`` and ``1 + _POLE`` (error O(_POLE^2) ~ 1e-8 relative,
    no cancellation).
    """
    if abs(a - 1.0) >= _POLE:
        return fn(a)
    lo, hi = fn(1.0 - _POLE), fn(1.0 + _POLE)
    return (lo + hi) / 2 + (a - 1.0) * (hi - lo) / (2 * _POLE)


#: Most terms of the positive series of :func:`expected_alive_purchases`; beyond it (the
#: horizon dwarfs ``alpha + T`` and the count has a heavy tail) the Gauss form is used.
_MAX_TERMS = 5_000
_CELLS = 2_000_000  # rows x terms evaluated at once
#: Largest r and a + b for which the Gauss form is tried first (scipy's hyp2f1 overflows
#: from r ~ 1e5 on; well below that it agrees with the series to round-off).
_MODERATE = 1e3


def expected_alive_purchases(n, a, b, c, *, closed_form=False):
    """Expected purchases in a window of a customer alive at its start (BG/NBD family).

    Purchases come at a Poisson rate ``lambda ~ Gamma(n, alpha')`` and, after each, the
    customer drops out with probability ``p ~ Beta(a, b)``; ``c = t / alpha'`` is the
    window length in units of the rate's scale. Given the ``K`` purchases a never-dying
    customer would make (``K ~ NB(n, z)``, ``z = c/(1+c)``), the ``j``-th (from 0) happens
    when the first ``j`` coin tosses spared the customer, with probability
    ``q_j = E[(1-p)^j] = (b)_j/(a+b)_j``, so the expectation is the series of positive terms
    ``Σ_j q_j P(K > j)``: the Gauss form ``(a+b-1)/(a-1) [1 - (1+c)^-n 2F1(n, b; a+b-1;
    z)]`` summed without cancellation. It stays exact in every limit: ``n, alpha' → ∞``
    (K becomes Poisson), ``a, b → ∞`` (``q_j → (1-p)^j``), ``a → 0`` (``q_j → 1``, the NBD
    mean ``n c``), with no pole at ``a = 1``.

    The count's pmf is built in log space (``ln pmf_k = -n log1p(c) + Σ ln((n+i-1) z/i)``)
    up to ``K_max = m + 12 sd + 45/(-ln z) + 20`` terms (``m = n c``, ``sd² = m (1+c)``),
    beyond which ``P(K > K_max) < 1e-17``; rows needing more than ``_MAX_TERMS`` terms
    (a horizon many times ``alpha'``, with a heavy-tailed count, away from every limit) use
    the Gauss form through Euler's transformation, ``(1-z)^(a-1) 2F1(a+b-1-n, a-1; a+b-1;
    z)``, evaluated by ``scipy.special.hyp2f1``.

    Parameters
    ----------
    n, b, c : ndarray of shape (k,)
        Gamma shape (``r + x``), Beta second parameter (``b + x`` or ``b + x + 1``) and
        ``t / (alpha + T)`` per row (``c >= 0``).
    a : float
        Beta first parameter.
    closed_form : bool, default False
        Try the Gauss form first (for parameters away from every limit, where
        ``scipy.special.hyp2f1`` is exact); rows where it is not finite or leaves
        ``[0, n c]`` use the series.

    Returns
    -------
    ndarray of shape (k,)
        Expected purchases (>= 0; 0 where ``c == 0``).
    """
    shape = np.broadcast_shapes(np.shape(n), np.shape(b), np.shape(c))
    n, b, c = (np.array(np.broadcast_to(v, shape), dtype=float).reshape(-1) for v in (n, b, c))
    out = np.zeros(n.size)
    with np.errstate(divide="ignore"):
        log_z = np.log(c) - np.log1p(c)
    m = n * c
    terms = np.ceil(m + 12 * np.sqrt(m * (1 + c)) + 45 / -np.where(c > 0, log_z, -1.0) + 20)
    pos = c > 0
    closed = np.zeros(n.size, dtype=bool)
    if closed_form and pos.any():
        # away from the limits the Gauss form is exact and ~20x faster; a value outside
        # [0, n c] (the expectation never exceeds the NBD mean) or not finite goes to the
        # series
        with np.errstate(all="ignore"):
            value = _gauss_form(n[pos], a, b[pos], c[pos])
        ok = np.isfinite(value) & (value >= 0) & (value <= m[pos] * (1 + 1e-9))
        closed[np.flatnonzero(pos)[ok]] = True
        out[closed] = value[ok]
    series = pos & ~closed & (terms <= _MAX_TERMS)
    wide = pos & ~closed & ~series
    if wide.any():
        out[wide] = _gauss_form(n[wide], a, b[wide], c[wide])
    rows = np.flatnonzero(series)
    if rows.size:
        # rows sharing (n, b) (customers of one frequency) share the series' coefficients:
        # grouped, each group sorted by its number of terms, in chunks of ~_CELLS cells
        rows = rows[np.lexsort((terms[rows], b[rows], n[rows]))]
        starts = np.flatnonzero(np.concatenate([[True], (n[rows[1:]] != n[rows[:-1]])
                                                | (b[rows[1:]] != b[rows[:-1]])]))
        for lo, hi in zip(starts, np.append(starts[1:], rows.size), strict=True):
            start = lo
            while start < hi:
                width = int(terms[rows[min(start + 255, hi - 1)]])
                stop = min(hi, start + max(1, _CELLS // width))
                width = int(terms[rows[stop - 1]])
                idx = rows[start:stop]
                out[idx] = _alive_series(n[idx[0]], a, b[idx[0]], c[idx], log_z[idx], width)
                start = stop
    return out.reshape(shape)


def _gauss_form(n, a, b, c):
    z = c / (1 + c)
    return smooth_at_a_one(lambda a: (a + b - 1) / (a - 1) * (
        1 - (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - n, a - 1, a + b - 1, z)), a)


def _alive_series(n, a, b, c, log_z, width):
    """``Σ_j q_j P(K > j)`` of rows sharing ``n`` and ``b`` (scalars), with ``K``'s pmf
    truncated after ``width`` terms: written ``Σ_k P(K = k) Q_k`` with ``Q_k = Σ_{j<k} q_j``
    (the same positive terms regrouped), so the coefficients ``ln Γ(n+k)/(Γ(n) k!)`` and
    ``Q_k`` are computed once for the group and each row costs one exponential a term
    and a matrix-vector product."""
    k = np.arange(width, dtype=float)
    i = k[1:]
    # ln z = z0 + (ln z - z0) with z0 the chunk's median: the cumulative sum keeps terms of
    # order one (ln((n+i-1)/i) + ln z nearly cancel where the pmf matters), as row by row
    z0 = float(np.median(log_z))
    log_coef = np.concatenate([[0.0], np.cumsum(np.log(n + i - 1) - np.log(i) + z0)])
    q = np.exp(np.concatenate([[0.0], np.cumsum(np.log1p(-a / (a + b + i - 1)))]))
    Q = np.concatenate([[0.0], np.cumsum(q[:-1])])
    log_pmf = ((-n * np.log1p(c))[:, None] + log_coef[None, :]
               + (log_z - z0)[:, None] * k[None, :])
    return np.exp(log_pmf) @ Q


def simulate_beta_geometric(rng: np.random.Generator, lam: np.ndarray, p: np.ndarray,
                            age: np.ndarray, *, drop_at_start: bool,
                            ) -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases ``(x, t_x)`` of the BG/NBD process, vectorised over customers.

    Customers buy at Poisson rates ``lam`` until ``age`` and drop out with probability ``p``
    after each repeat purchase (and, when ``drop_at_start``, right after the first purchase
    at time 0, as in MBG/NBD). One loop round per purchase, over the customers still active.
    """
    x = np.zeros(lam.size, dtype=np.int64)
    t_x = np.zeros(lam.size)
    active = np.arange(lam.size)
    if drop_at_start:
        active = active[rng.random(active.size) >= p]
    while active.size:
        nxt = t_x[active] + rng.exponential(1.0, active.size) / lam[active]
        buys = nxt <= age[active]
        active = active[buys]
        x[active] += 1
        t_x[active] = nxt[buys]
        active = active[rng.random(active.size) >= p[active]]
    return x, t_x


class BetaGeoFamilyModel(RepeatPurchaseModel):
    """Base of BG/NBD (``_shift = 0``) and MBG/NBD (``_shift = 1``).

    Holds the parameters, their limits and the computations of the predictions; each
    subclass documents its public methods (formulas, references, examples) and calls the
    private ones here.
    """

    #: Drop-out tosses before the first repeat purchase: 0 (BG/NBD) or 1 (MBG/NBD).
    _shift: ClassVar[int]

    _param_names = ("r", "alpha", "a", "b")
    _start = (1.0, 1.0, 1.0, 1.0)
    _limits = (
        ("no purchase-rate heterogeneity", ("r", "alpha"), lambda p: p["r"] >= COLLAPSED),
        # the mean drop-out probability, not a alone: a and b both near 0 leave each
        # customer's probability at 0 or 1 (some do drop out), and P(alive) varies there
        ("no drop-out", ("a", "b"), lambda p: p["a"] / (p["a"] + p["b"]) <= VANISHING),
        ("no drop-out heterogeneity", ("a", "b"), lambda p: p["a"] + p["b"] >= COLLAPSED),
    )

    def _moderate(self) -> bool:
        """Parameters away from the limits (``r`` and ``a + b`` at most ``_MODERATE``), where
        the Gauss form of the BG/NBD-family expectations is exact and fast."""
        p = self.params_
        return p.get("r", np.inf) <= _MODERATE and p.get("a", np.inf) + p.get("b", 0) <= _MODERATE

    def _p_alive(self, r, alpha, a, b, x, t_x, age):
        """``1 / (1 + 1{x+shift>0} a/(b+x+shift-1) ((alpha+T)/(alpha+t_x))^(r+x))``."""
        shift = self._shift
        has_tx = x + shift > 0
        # ``shift - 1`` first, so b + x - 1 (BG/NBD) and b + x (MBG/NBD) are formed as before
        log_odds_dead = (np.log(a) - np.log(np.where(has_tx, b + x + (shift - 1), 1.0))
                         + (r + x) * np.log1p((age - t_x) / (alpha + t_x)))
        return np.where(has_tx, expit(-log_odds_dead), 1.0)

    def _expected_purchases_new(self, t: Any) -> np.ndarray:
        """``expected_purchases_new``: a customer who survives the first ``shift`` tosses
        (probability ``b/(a+b)`` for one) then buys as a BG/NBD customer with ``p ~ Beta(a,
        b+shift)``; a sum of positive terms, exact in every limit (see
        :func:`expected_alive_purchases`)."""
        r, alpha, a, b = self._check_is_fitted()
        t = self._horizon("expected_purchases_new", t)
        value = expected_alive_purchases(np.full(t.shape, r), a, np.full(t.shape, b + self._shift),
                                         t / alpha, closed_form=self._moderate())
        if self._shift:
            value = b / (a + b) * value
        return finite_or_raise(value.reshape(t.shape),
                               f"{type(self).__name__}.expected_purchases_new", (r, alpha, a, b))

    def _expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """``expected_purchases``: P(alive) times the expectation of a customer alive at
        ``T``, ``(a+b+x+shift-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+shift;
        a+b+x+shift-1; t/(alpha+T+t))]``, as a sum of positive terms, exact in every limit
        (see :func:`expected_alive_purchases`)."""
        (r, alpha, a, b), x, t_x, age, index = self._rfm("expected_purchases", frequency,
                                                         recency, T)
        t = self._horizon("expected_purchases", t, x.size)
        future = expected_alive_purchases(r + x, a, b + x + self._shift, t / (alpha + age),
                                          closed_form=self._moderate())
        value = finite_or_raise(future * self._p_alive(r, alpha, a, b, x, t_x, age),
                                f"{type(self).__name__}.expected_purchases", (r, alpha, a, b))
        return self._wrap(value, index)

    def _simulate(self, n_customers: Any, T: Any, random_state: Any) -> pd.DataFrame:
        """``simulate``: ``lambda ~ Gamma(r, alpha)``, ``p ~ Beta(a, b)`` per customer, then
        :func:`simulate_beta_geometric` (a first toss at time 0 when ``shift`` is 1)."""
        (r, alpha, a, b), age = self._simulate_setup(n_customers, T)
        rng = np.random.default_rng(random_state)
        lam = rng.gamma(r, 1.0 / alpha, age.size)
        p = rng.beta(a, b, age.size)
        x, t_x = simulate_beta_geometric(rng, lam, p, age, drop_at_start=bool(self._shift))
        return pd.DataFrame({"frequency": x, "recency": t_x, "T": age})

    def _probability_of_n_purchases(self, t: Any, n: Any) -> np.ndarray:
        """``probability_of_n_purchases``: with ``NB(n)`` the NBD pmf of ``n`` purchases in
        ``(0, t]`` and ``z = t/(alpha+t)``, ``P(X(t)=n) = 1{n=0} shift a/(a+b) + B(a,
        b+n+shift)/B(a, b) NB(n) + 1{n>0} B(a+1, b+n+shift-1)/B(a, b) I_z(n, r)``."""
        (r, alpha, a, b), t, n = self._count_grid(t, n)
        shift = self._shift
        alive = np.exp(log_beta_ratio(a, b, n + shift) + log_nbd_pmf(r, alpha, t, n))
        repeat = n > 0
        n1 = np.where(repeat, n, 1.0)
        # B(a+1, b+n+shift-1)/B(a, b) = a/(a+b+n+shift-1) B(a, b+n+shift-1)/B(a, b), with
        # ``shift - 1`` added last as before (n1 - 1 for BG/NBD, n1 for MBG/NBD)
        dead = (a / (a + b + n1 + (shift - 1)) * np.exp(log_beta_ratio(a, b, n1 + (shift - 1)))
                * betainc(n1, r, t / (alpha + t)))
        return alive + np.where(repeat, dead, a / (a + b) if shift else 0.0)
