"""The no-drop-out limit of the repeat-purchase models, fitted directly (the NBD).

When the drop-out parameters of BG/NBD (``a -> 0``), MBG/NBD (``a -> 0``) or Pareto/NBD
(``s -> 0``) run to the search bound, each model tends to the same limiting model: the
NBD of Ehrenberg (1959), gamma-mixed Poisson purchases and nobody leaves, whose
log-likelihood per customer is ``ln Γ(r+x) - ln Γ(r) + r ln α - (r+x) ln(α+T)`` (the
BG/NBD likelihood, eq. (6) of Fader, Hardie & Lee 2005, at ``a = 0``; it does not involve
``t_x``). Its two-parameter maximum is cheap and has no ridge: for a fixed ``r`` the
score in ``α`` has a single root, so the profile log-likelihood in ``ln r`` is a
one-dimensional problem. ``RepeatPurchaseModel.fit`` compares a boundary optimum with it
(``_base._settled``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import gammaln


def nbd_best(x: np.ndarray, T: np.ndarray, weights: np.ndarray, bound: float,
             ) -> tuple[float, float, float]:
    """Smallest mean negative log-likelihood of the NBD with ``|ln r|, |ln α| <= bound``.

    The profile over ``ρ = ln r``: for each ``r`` the ``α`` maximising the likelihood is the
    single root of ``r N - Σ w (r+x) α/(α+T)`` (decreasing in ``α``), clipped to the box
    (the profile is then the box's own maximum, as the fitted models are confined to the
    same box); ``ρ`` is then searched by bounded Brent (``xatol`` 1e-10) and the two ends of
    the box are evaluated too (the profile may be monotone, e.g. no overdispersion at all:
    its maximum is then at ``ρ = bound``, the Poisson side).

    Parameters
    ----------
    x : ndarray of shape (k,)
        Repeat purchases of each distinct row (integers >= 0).
    T : ndarray of shape (k,)
        Age of each row (time from the first purchase to the end), > 0 somewhere.
    weights : ndarray of shape (k,)
        Customers per row (> 0).
    bound : float
        The search bound of the log-parameters (``_base._BOUND``).

    Returns
    -------
    objective : float
        ``min -Σ w ln L_NBD / Σ w`` over the box: the value a fit at the no-drop-out
        limit reaches when it is at that limit's optimum.
    log_r, log_alpha : float
        Where it is reached (the first starting point of the purchase parameters).

    Examples
    --------
    Without overdispersion the NBD runs to its Poisson side (``r`` far out, where the
    profile is flat to round-off), with the rate ``r / alpha`` the Poisson estimate
    ``Σ x / Σ T``:

    >>> import numpy as np
    >>> f, log_r, log_alpha = nbd_best(np.array([2.0, 4.0]), np.array([10.0, 20.0]),
    ...                                np.ones(2), 15.0)
    >>> bool(log_r > 10), round(float(np.exp(log_r - log_alpha)), 6)
    (True, 0.2)
    """
    x, T, w = (np.asarray(v, dtype=float) for v in (x, T, weights))
    n = float(w.sum())
    seen = T > 0  # T == 0: nothing observed, the likelihood is 1 for every parameter
    x, T, w_seen = x[seen], T[seen], w[seen]
    n_seen = float(w_seen.sum())

    def inner(rho: float) -> float:
        r = np.exp(rho)

        def score(log_alpha: float) -> float:  # r N - Σ w (r + x) α / (α + T), decreasing
            return r * n_seen - float(np.dot(w_seen, (r + x) / (1.0 + T * np.exp(-log_alpha))))

        if score(-bound) <= 0:
            log_alpha = -bound
        elif score(bound) >= 0:
            log_alpha = bound
        else:
            log_alpha = brentq(score, -bound, bound, xtol=1e-13, rtol=1e-15)
        return float(log_alpha)

    def profile(rho: float) -> float:
        r, alpha = np.exp(rho), np.exp(inner(rho))
        ll = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T))
        return -float(np.dot(w_seen, ll)) / n

    with np.errstate(all="ignore"):
        res = minimize_scalar(profile, bounds=(-bound, bound), method="bounded",
                              options={"xatol": 1e-10})
        fun, rho = min((float(res.fun), float(res.x)), (profile(-bound), -bound),
                       (profile(bound), bound))
        return fun, rho, inner(rho)
