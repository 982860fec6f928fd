"""Special functions in log space shared by the BTYD likelihoods (BG/NBD family, Pareto/NBD,
Gamma-Gamma): the log rising factorial, the log Beta ratio, the NBD's log pmf, and a table of
a count's values.

Pure vectorised array functions; stable where two ``gammaln`` of large arguments would
cancel.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, xlogy

__all__ = ["count_table", "log_beta_ratio", "log_nbd_pmf", "log_rising", "take"]


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


def log_nbd_pmf(r, alpha, t, n):
    """``ln P(N(t) = n)`` for the NBD count of purchases in ``(0, t]`` of a customer who never
    drops out (Poisson rate ``lambda ~ Gamma(r, alpha)``), with ``z = t/(alpha+t)``:
    ``ln Γ(r+n) - ln Γ(r) - ln n! - r log1p(t/alpha) + n ln z`` (``n ln z`` is 0 at
    ``n = 0``, also where ``t = 0``). ``t`` and ``n`` broadcast; ``alpha`` in the unit of
    ``t``."""
    return (log_rising(r, n) - gammaln(n + 1) - r * np.log1p(t / alpha)
            + xlogy(n, t / (alpha + t)))


def count_table(x):
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


def take(values, index):
    """``values`` indexed by ``count_table``'s ``index`` (unchanged when it is None)."""
    return values if index is None else values[index]
