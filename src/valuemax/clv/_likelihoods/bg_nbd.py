"""BG/NBD and MBG/NBD per-customer log-likelihoods and their gradients.

Every function takes the model parameters (positive floats) and the sufficient statistics
``(x, t_x, T)`` (arrays broadcastable to one shape) and returns the log-likelihood of each
row, on the papers' scale (so the weighted sum over customers is the log-likelihood the
papers print). Nothing is fitted or validated here; the estimators validate at their public
boundary and sum ``weights * loglik`` over the compressed unique rows. The two models differ
only by MBG/NBD's chance of dropping out right after the first purchase (``shift = 1``).

References
----------
.. [1] Fader, Hardie & Lee (2005). "Counting Your Customers" the Easy Way: An Alternative to
   the Pareto/NBD Model. Marketing Science 24(2):275-284. doi:10.1287/mksc.1040.0098
.. [2] Batislam, Denizel & Filiztekin (2007). Empirical validation and comparison of models
   for customer base analysis. Int. J. Research in Marketing 24(3):201-209.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import digamma, expit

from valuemax.clv._likelihoods.special import count_table, log_beta_ratio, log_rising, take

__all__ = ["BgRows", "bg_family_loglik_and_grad", "bg_nbd_loglik", "bg_nbd_loglik_and_grad",
           "bg_nbd_loglik_grad", "bg_rows", "mbg_nbd_loglik", "mbg_nbd_loglik_and_grad",
           "mbg_nbd_loglik_grad"]


def _bg_terms(r, alpha, a, b, x, t_x, T, shift):
    """Log odds ``L`` of the two bracketed terms of BG/NBD (``shift=0``) and MBG/NBD
    (``shift=1``), the died-after-``t_x`` term over the alive-at-``T`` term:
    ``L = ln a - ln(b+x+shift-1) + (r+x) log1p((T-t_x)/(α+t_x))`` where ``x + shift > 0``
    (else ``-inf``). ``log1p`` keeps it exact as ``r, α → ∞`` (then ``L`` tends to
    ``ln a - ln(b+x+shift-1) + λ (T - t_x)``)."""
    k, index = count_table(x)
    x = np.asarray(x, dtype=float)
    has_tx = take(k + shift > 0, index)
    log_coef = take(np.log(a) - np.log(np.where(k + shift > 0, b + k + shift - 1, 1.0)), index)
    gap = np.log1p((np.asarray(T, dtype=float) - t_x) / (alpha + t_x))
    log_odds = np.where(has_tx, log_coef + (r + x) * gap, -np.inf)
    return k, index, x, log_odds


def _bg_loglik(r, alpha, a, b, x, t_x, T, shift):
    # ln Γ(r+x)/Γ(r) + r ln α - (r+x) ln(α+T) + ln B(a, b+x+shift)/B(a, b)
    # + ln(1 + e^L), each part without cancellation between large terms
    k, index, x, log_odds = _bg_terms(r, alpha, a, b, x, t_x, T, shift)
    common = take(log_rising(r, k) + log_beta_ratio(a, b, k + shift), index)
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
    d_r = (take(digamma(r + k), index) - digamma(r) - np.log1p(np.asarray(T, dtype=float) / alpha)
           + w_tx * np.log1p((np.asarray(T, dtype=float) - t_x) / (alpha + t_x)))
    d_alpha = r / alpha - (r + x) * (w_t / (alpha + T) + w_tx / (alpha + t_x))
    d_a = take(digamma(a + b) - digamma(a + b + ks), index) + w_tx / a
    d_b = (take(digamma(b + ks) - digamma(a + b + ks) - digamma(b) + digamma(a + b), index)
           - w_tx * take(1.0 / np.where(ks > 0, b + ks - 1, 1.0), index))
    # T == 0: the likelihood is 1 whatever the parameters, so the gradient is 0
    observed = np.asarray(T, dtype=float) > 0
    return np.stack(np.broadcast_arrays(*(np.where(observed, d, 0.0)
                                          for d in (d_r, d_alpha, d_a, d_b))))


@dataclass(frozen=True, eq=False)
class BgRows:
    """What the BG/NBD-family likelihood needs of the rows ``(x, t_x, T)`` that does not
    depend on the parameters, built once per fit by :func:`bg_rows` (every evaluation of
    :func:`bg_family_loglik_and_grad` reuses it instead of recomputing it)."""

    k: np.ndarray  #: the counts tabled (0..max x) or x itself, shape (n_k,)
    index: np.ndarray | None  #: row -> position in ``k`` (None: ``k`` is x), shape (n,)
    x: np.ndarray  #: x as float, shape (n,)
    t_x: np.ndarray  #: shape (n,)
    T: np.ndarray  #: shape (n,)
    gap: np.ndarray  #: ``T - t_x``, shape (n,)
    uT: np.ndarray  #: distinct T, shape (n_T,)
    at_T: np.ndarray  #: row -> position in ``uT``, shape (n,)
    observed: np.ndarray  #: ``T > 0`` (rows with a likelihood other than 1), shape (n,)
    all_observed: bool  #: every row has ``T > 0``
    none: np.ndarray  #: ``x == 0`` (no died-after-t_x term in BG/NBD), shape (n,)


def bg_rows(x, t_x, T):
    """The parameter-free part of the rows, for :func:`bg_family_loglik_and_grad`.

    Parameters
    ----------
    x, t_x, T : ndarray of shape (n,)
        Repeat purchases, recency and age (as :func:`bg_nbd_loglik`).

    Returns
    -------
    BgRows
        The count table of ``x``, ``T - t_x``, the distinct ``T`` and ``T > 0``.
    """
    k, index = count_table(x)
    T = np.asarray(T, dtype=float)
    t_x = np.asarray(t_x, dtype=float)
    uT, at_T = np.unique(T, return_inverse=True)
    x = np.asarray(x, dtype=float)
    observed = T > 0
    return BgRows(k=k, index=index, x=x, t_x=t_x, T=T, gap=T - t_x, uT=uT,
                  at_T=at_T.reshape(-1), observed=observed, all_observed=bool(observed.all()),
                  none=x == 0)


def bg_family_loglik_and_grad(r, alpha, a, b, rows, shift):
    """:func:`bg_nbd_loglik` (``shift=0``) or :func:`mbg_nbd_loglik` (``shift=1``) and
    their gradients, in one pass over ``rows`` (:func:`bg_rows`).

    The same operations as the two functions, in the same order, so the values are the
    same to the last bit; what the two share (the log odds, ``ln(1 + T/α)``) is computed
    once, the functions of ``T`` alone (``ln(α+T)``, ``ln(1+T/α)``, ``1/(α+T)``) once per
    distinct ``T``, and the parameter-free part of the rows once per fit.

    Parameters
    ----------
    r, alpha, a, b : float
        Positive model parameters.
    rows : BgRows
        The rows, from :func:`bg_rows`.
    shift : {0, 1}
        0 for BG/NBD, 1 for MBG/NBD.

    Returns
    -------
    ll : ndarray of shape (n,)
        Log-likelihood of each row.
    grad : ndarray of shape (4, n)
        Its derivatives in ``(r, alpha, a, b)``.

    Examples
    --------
    >>> x, t_x, T = np.array([0.0, 2.0]), np.array([0.0, 30.43]), np.array([38.86, 38.86])
    >>> ll, g = bg_family_loglik_and_grad(0.243, 4.414, 0.793, 2.426, bg_rows(x, t_x, T), 0)
    >>> bool(np.array_equal(ll, bg_nbd_loglik(0.243, 4.414, 0.793, 2.426, x, t_x, T)))
    True
    """
    k, index, x, at_T = rows.k, rows.index, rows.x, rows.at_T
    # every step below is an operation of _bg_terms/_bg_loglik/_bg_loglik_grad, with the
    # same operands in the same order (commuted only where IEEE arithmetic is symmetric),
    # written into few buffers instead of a temporary per operation
    log_coef = take(np.log(a) - np.log(np.where(k + shift > 0, b + k + shift - 1, 1.0)), index)
    alpha_tx = np.add(rows.t_x, alpha)
    gap = np.log1p(np.divide(rows.gap, alpha_tx))
    r_x = np.add(x, r)
    log_odds = np.multiply(r_x, gap)
    log_odds += log_coef
    if not shift:  # BG/NBD: no died-after-t_x term without a repeat purchase
        log_odds[rows.none] = -np.inf
    log_T = np.log1p(rows.uT / alpha)[at_T]
    ll = np.multiply(x, np.log(alpha + rows.uT)[at_T])
    np.subtract(take(log_rising(r, k) + log_beta_ratio(a, b, k + shift), index), ll, out=ll)
    ll -= np.multiply(log_T, r)
    ll += np.logaddexp(0.0, log_odds)
    w_tx = expit(log_odds)
    grad = np.empty((4, x.size))
    ks = k + shift
    # d/dr: psi(r+x) - psi(r) - ln(1+T/α) + w_tx ln(1+(T-t_x)/(α+t_x))
    np.subtract(take(digamma(r + k), index), digamma(r), out=grad[0])
    grad[0] -= log_T
    grad[0] += np.multiply(w_tx, gap, out=gap)
    # d/dα: r/α - (r+x)(w_T/(α+T) + w_tx/(α+t_x))
    np.divide(w_tx, alpha_tx, out=alpha_tx)
    w_T = np.subtract(1.0, w_tx, out=log_odds)
    np.divide(w_T, np.add(rows.T, alpha, out=log_T), out=w_T)
    w_T += alpha_tx
    np.subtract(r / alpha, np.multiply(r_x, w_T, out=w_T), out=grad[1])
    # d/da: psi(a+b) - psi(a+b+x+shift) + w_tx/a
    np.add(take(digamma(a + b) - digamma(a + b + ks), index), np.divide(w_tx, a, out=r_x),
           out=grad[2])
    # d/db: psi(b+x+shift) - psi(a+b+x+shift) - psi(b) + psi(a+b) - w_tx/(b+x+shift-1)
    np.subtract(take(digamma(b + ks) - digamma(a + b + ks) - digamma(b) + digamma(a + b), index),
                np.multiply(w_tx, take(1.0 / np.where(ks > 0, b + ks - 1, 1.0), index),
                            out=w_tx), out=grad[3])
    if not rows.all_observed:  # T == 0: likelihood 1, gradient 0
        ll[~rows.observed] = 0.0
        grad[:, ~rows.observed] = 0.0
    return ll, grad


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
    """Gradient of :func:`mbg_nbd_loglik` with respect to ``(r, alpha, a, b)``.

    As :func:`bg_nbd_loglik_grad` with ``x+1`` for ``x`` in the beta terms:
    ``d/da = psi(a+b) - psi(a+b+x+1) + w_tx/a``,
    ``d/db = psi(b+x+1) - psi(a+b+x+1) - psi(b) + psi(a+b) - w_tx/(b+x)``.

    Parameters
    ----------
    r, alpha, a, b : float
        Positive model parameters.
    x, t_x, T : ndarray of shape (n,)
        Sufficient statistics, as in :func:`mbg_nbd_loglik`.

    Returns
    -------
    ndarray of shape (4, n)
        Derivatives of each row's log-likelihood.

    Examples
    --------
    >>> g = mbg_nbd_loglik_grad(0.525, 6.183, 0.891, 1.614, np.array([0, 2]),
    ...                         np.array([0.0, 30.43]), np.array([38.86, 38.86]))
    >>> g.shape
    (4, 2)
    """
    return _bg_loglik_grad(r, alpha, a, b, x, t_x, T, 1)


def bg_nbd_loglik_and_grad(r, alpha, a, b, x, t_x, T, pairs=None):
    """:func:`bg_nbd_loglik` and :func:`bg_nbd_loglik_grad` in one pass (the same values to
    the last bit); ``pairs`` is ``bg_rows(x, t_x, T)`` when the caller built it once for
    many evaluations (the estimators' ``fit``). Returns shapes (n,) and (4, n)."""
    rows = bg_rows(x, t_x, T) if pairs is None else pairs
    return bg_family_loglik_and_grad(r, alpha, a, b, rows, 0)


def mbg_nbd_loglik_and_grad(r, alpha, a, b, x, t_x, T, pairs=None):
    """:func:`mbg_nbd_loglik` and :func:`mbg_nbd_loglik_grad` in one pass, as
    :func:`bg_nbd_loglik_and_grad`."""
    rows = bg_rows(x, t_x, T) if pairs is None else pairs
    return bg_family_loglik_and_grad(r, alpha, a, b, rows, 1)
