"""Log-likelihoods and sums of the discrete-time CLV models, as pure vectorised array functions.

BG/BB (non-contractual, discrete purchase opportunities) and sBG (contractual, survivor
counts). Like every module of :mod:`valuemax.clv._likelihoods`, nothing is fitted or validated here: the
estimators validate at their public boundary. Everything is computed in logs with ``betaln``
and summed by log-sum-exp, so no term over- or underflows.

References
----------
.. [1] Fader, Hardie & Shang (2010). Customer-Base Analysis in a Discrete-Time
   Noncontractual Setting. Marketing Science 29(6):1086-1108. doi:10.1287/mksc.1100.0580
.. [2] Fader & Hardie (2007). How to Project Customer Retention. Journal of Interactive
   Marketing 21(1):76-90. doi:10.1002/dir.20074
"""

from __future__ import annotations

from math import factorial

import numpy as np
from scipy.special import betaln, exprel, gammaln, polygamma

__all__ = [
    "bg_bb_alive_sum",
    "bg_bb_log_pmf",
    "bg_bb_loglik",
    "sbg_derl",
    "sbg_log_churn",
    "sbg_log_survival",
    "sbg_loglik",
]


def bg_bb_loglik(alpha, beta, gamma, delta, x, t_x, n):
    """BG/BB log-likelihood of each customer, from section 3 of [1]_.

    ``L = B(α+x, β+n-x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
    + Σ_{i=0}^{n-t_x-1} B(α+x, β+t_x-x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)``: alive through
    all ``n`` opportunities, or dead after ``t_x + i`` of them. The terms are added in logs
    (log-sum-exp), one ``i`` at a time over all rows, so memory stays O(rows).

    Parameters
    ----------
    alpha, beta : float
        Positive parameters of the Beta distribution of the purchase probability ``p``.
    gamma, delta : float
        Positive parameters of the Beta distribution of the drop-out probability ``theta``.
    x : ndarray of shape (n_rows,)
        Repeat transactions (integers, ``0 <= x <= t_x``).
    t_x : ndarray of shape (n_rows,)
        Opportunity of the last transaction (integers, ``0 <= t_x <= n``; 0 when x == 0).
    n : ndarray of shape (n_rows,)
        Number of transaction opportunities observed (integers >= 1).

    Returns
    -------
    ndarray of shape (n_rows,)
        Log-likelihood of each row.

    References
    ----------
    .. [1] Fader, Hardie & Shang (2010), Marketing Science 29(6):1086-1108.

    Examples
    --------
    >>> ll = bg_bb_loglik(1.204, 0.750, 0.657, 2.783, np.array([0.0, 6.0]),
    ...                   np.array([0.0, 6.0]), np.array([6.0, 6.0]))
    >>> np.round(np.exp(ll), 4)
    array([0.3112, 0.1128])
    """
    x, t_x, n = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, n)))
    total = betaln(alpha + x, beta + n - x) + betaln(gamma, delta + n)
    gap = n - t_x
    for i in range(int(gap.max(initial=0))):
        term = betaln(alpha + x, beta + t_x - x + i) + betaln(gamma + 1, delta + t_x + i)
        total = np.logaddexp(total, np.where(i < gap, term, -np.inf))
    return total - betaln(alpha, beta) - betaln(gamma, delta)


def bg_bb_log_pmf(alpha, beta, gamma, delta, x, n):
    """Log of ``P(X(n) = x)``, the transactions in the first ``n`` opportunities, eq. (8) of [1]_.

    ``P = C(n,x) B(α+x, β+n-x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
    + Σ_{i=x}^{n-1} C(i,x) B(α+x, β+i-x)/B(α,β) · B(γ+1, δ+i)/B(γ,δ)``, by log-sum-exp.

    Parameters
    ----------
    alpha, beta, gamma, delta : float
        Positive BG/BB parameters.
    x : ndarray
        Transaction counts (integers, ``0 <= x``); ``x > n`` gives ``-inf``.
    n : ndarray
        Opportunities (integers >= 0), broadcastable with ``x``.

    Returns
    -------
    ndarray of the broadcast shape of ``x`` and ``n``
        ``log P(X(n) = x)``.

    References
    ----------
    .. [1] Fader, Hardie & Shang (2010), Marketing Science 29(6):1086-1108.

    Examples
    --------
    >>> p = np.exp(bg_bb_log_pmf(1.204, 0.750, 0.657, 2.783, np.arange(7.0), 6.0))
    >>> round(float(p.sum()), 12)
    1.0
    """
    x, n = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(n, dtype=float))
    ok = x <= n
    xs = np.where(ok, x, 0.0)  # keep the log-binomial finite on rows reported as -inf
    log_choose_n = gammaln(n + 1) - gammaln(xs + 1) - gammaln(n - xs + 1)
    total = log_choose_n + betaln(alpha + xs, beta + n - xs) + betaln(gamma, delta + n)
    for i in range(int(n.max(initial=0))):
        di = np.maximum(i - xs, 0.0)
        term = (gammaln(i + 1.0) - gammaln(xs + 1) - gammaln(di + 1)
                + betaln(alpha + xs, beta + di) + betaln(gamma + 1, delta + i))
        total = np.logaddexp(total, np.where((xs <= i) & (i < n), term, -np.inf))
    total = total - betaln(alpha, beta) - betaln(gamma, delta)
    return np.where(ok, total, -np.inf)


def bg_bb_alive_sum(gamma, delta, start, stop):
    """Expected opportunities alive in ``(start, stop]``, ``Σ_{t=start+1}^{stop} B(γ,δ+t)/B(γ,δ)``.

    The sum in eqs. (7) and (13) of [1]_, in closed form
    ``δ/(γ-1) Γ(γ+δ)/Γ(1+δ) [Γ(1+δ+s)/Γ(γ+δ+s)]_{s=stop}^{s=start}``, computed as
    ``exp(log front) · -expm1(D)/(γ-1)`` with ``D`` the difference of the log-gamma ratios.
    For ``|γ-1| < 0.05``, ``D/(γ-1)`` comes from the Taylor series of ``ln Γ`` (12 polygamma
    terms), so there is no 0/0 and no cancellation at or near ``γ = 1``.

    Parameters
    ----------
    gamma, delta : float
        Positive parameters of the Beta distribution of the drop-out probability.
    start, stop : ndarray
        Opportunities, ``0 <= start <= stop`` (broadcastable).

    Returns
    -------
    ndarray of the broadcast shape
        The sum (>= 0; 0 when ``start == stop``).

    Examples
    --------
    >>> t = np.arange(1.0, 7.0)
    >>> brute = np.exp(betaln(0.657, 2.783 + t) - betaln(0.657, 2.783)).sum()
    >>> bool(np.isclose(bg_bb_alive_sum(0.657, 2.783, 0.0, 6.0), brute))
    True
    """
    start, stop = np.asarray(start, dtype=float), np.asarray(stop, dtype=float)

    def log_ratio(m):
        return gammaln(1 + delta + m) - gammaln(gamma + delta + m)

    log_front = np.log(delta) + gammaln(gamma + delta) - gammaln(1 + delta) + log_ratio(start)
    eps = gamma - 1.0
    if abs(eps) >= 0.05:
        ratio = -np.expm1(log_ratio(stop) - log_ratio(start)) / eps
    else:  # D/eps = -sum_k eps^(k-1)/k! [psi^(k-1)(1+δ+stop) - psi^(k-1)(1+δ+start)]
        q = -sum(eps ** (k - 1) / factorial(k)
                 * (polygamma(k - 1, 1 + delta + stop) - polygamma(k - 1, 1 + delta + start))
                 for k in range(1, 13))
        ratio = -q * exprel(eps * q)
    return np.exp(log_front) * ratio


def sbg_log_churn(alpha, beta, t):
    """Log of ``P(T = t) = B(α+1, β+t-1) / B(α, β)``, churn in period ``t >= 1``, from [2]_.

    Parameters
    ----------
    alpha, beta : float
        Positive parameters of the Beta distribution of the churn probability.
    t : ndarray
        Periods (integers >= 1).

    Returns
    -------
    ndarray of the shape of ``t``
        Log-probability that a customer's last period is ``t``.

    References
    ----------
    .. [2] Fader & Hardie (2007), Journal of Interactive Marketing 21(1):76-90.

    Examples
    --------
    >>> round(float(np.exp(sbg_log_churn(0.704, 1.182, 1.0))), 4)  # alpha / (alpha + beta)
    0.3733
    """
    t = np.asarray(t, dtype=float)
    return betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta)


def sbg_log_survival(alpha, beta, t):
    """Log of the survival function ``S(t) = B(α, β+t) / B(α, β)``, from [2]_.

    Parameters
    ----------
    alpha, beta : float
        Positive sBG parameters.
    t : ndarray
        Periods (integers >= 0); ``S(0) = 1``.

    Returns
    -------
    ndarray of the shape of ``t``
        Log-probability that a customer is still active after ``t`` periods.

    References
    ----------
    .. [2] Fader & Hardie (2007), Journal of Interactive Marketing 21(1):76-90.

    Examples
    --------
    >>> np.round(np.exp(sbg_log_survival(0.704, 1.182, np.array([0.0, 1.0]))), 4)
    array([1.    , 0.6267])
    """
    t = np.asarray(t, dtype=float)
    return betaln(alpha, beta + t) - betaln(alpha, beta)


def sbg_loglik(alpha, beta, survivors):
    """sBG log-likelihood of one cohort's survivor counts, from [2]_.

    ``LL = Σ_{t=1}^{n} (s_{t-1} - s_t) ln P(T=t) + s_n ln S(n)``: the ``s_{t-1} - s_t``
    customers lost in period ``t`` churned at ``t``; the ``s_n`` still active are censored.

    Parameters
    ----------
    alpha, beta : float
        Positive sBG parameters.
    survivors : ndarray of shape (n + 1,)
        Customers active at the start of periods ``0..n`` (non-increasing, ``s_0`` the cohort).

    Returns
    -------
    float
        Log-likelihood of the cohort.

    References
    ----------
    .. [2] Fader & Hardie (2007), Journal of Interactive Marketing 21(1):76-90.

    Examples
    --------
    >>> round(sbg_loglik(0.704, 1.182, np.array([1000.0, 631, 468])), 1)
    -1019.3
    """
    s = np.asarray(survivors, dtype=float)
    t = np.arange(1, s.size, dtype=float)
    lost = s[:-1] - s[1:]
    censored = s[-1] * sbg_log_survival(alpha, beta, float(s.size - 1)) if s[-1] > 0 else 0.0
    return float(np.dot(lost, sbg_log_churn(alpha, beta, t)) + censored)


def sbg_derl(alpha, beta, discount_rate, n_renewals, *, rtol=1e-15):
    """sBG discounted expected residual lifetime (DERL) by direct summation, after [3]_.

    ``DERL = Σ_{j>=0} P(T > n+j | T > n-1) / (1+d)^j`` with ``n - 1`` renewals made, i.e.
    ``(β+n-1)/(α+β+n-1) · 2F1(1, β+n; α+β+n; 1/(1+d))``. The series is summed term by term
    (each term ``exp`` of log-gamma differences, no recursion) until the remaining tail,
    at most ``z^K / (1 - z)`` of the total with ``z = 1/(1+d)``, is below ``rtol``:
    scipy's ``hyp2f1`` returns NaN for ``β + n`` above ~100 with ``z`` near 1. Cost: about
    ``(37 + ln(1/d)) / d`` terms per distinct ``(d, n)`` pair, in chunks of 65,536.

    Parameters
    ----------
    alpha, beta : float
        Positive sBG parameters.
    discount_rate : ndarray
        Discount rate per period ``d`` (> 0).
    n_renewals : ndarray
        Renewals made ``n - 1`` (integers >= 0), broadcastable with ``discount_rate``.
    rtol : float, default 1e-15
        Relative bound on the truncated tail.

    Returns
    -------
    ndarray of the broadcast shape
        DERL in periods (the next period, if renewed, undiscounted).

    References
    ----------
    .. [3] Fader & Hardie (2010). Customer-Base Valuation in a Contractual Setting: The Perils
       of Ignoring Heterogeneity. Marketing Science 29(1):85-93. doi:10.1287/mksc.1080.0482

    Examples
    --------
    >>> from scipy.special import hyp2f1
    >>> a, b, d = 0.704, 1.182, 0.1
    >>> closed = b / (a + b) * hyp2f1(1, b + 1, a + b + 1, 1 / (1 + d))
    >>> bool(np.isclose(sbg_derl(a, b, d, 0), closed, rtol=1e-13))
    True
    """
    d, k = np.broadcast_arrays(np.asarray(discount_rate, dtype=float),
                               np.asarray(n_renewals, dtype=float))
    pairs, inverse = np.unique(np.column_stack([d.ravel(), k.ravel()]), axis=0,
                               return_inverse=True)
    out = np.empty(len(pairs))
    chunk = 65_536
    for i, (rate, renewals) in enumerate(pairs):  # distinct (d, n) pairs, not customers
        log_z = -np.log1p(rate)
        n_terms = int(np.ceil((np.log(rtol) + np.log(rate / (1 + rate))) / log_z)) + 1
        b0, ab0 = beta + renewals, alpha + beta + renewals
        head = gammaln(ab0) - gammaln(b0)
        total = 0.0
        for start in range(0, n_terms, chunk):
            j = np.arange(start, min(start + chunk, n_terms), dtype=float)
            log_term = head + gammaln(b0 + j + 1) - gammaln(ab0 + j + 1) + j * log_z
            total += float(np.exp(log_term).sum())
        out[i] = total
    return out[inverse.ravel()].reshape(d.shape)
