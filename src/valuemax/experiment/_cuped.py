"""CUPED: regression adjustment of an outcome on pre-treatment covariates, from sums."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from valuemax._core.exceptions import InputError
from valuemax.experiment._statistics import ArmStatistics


@dataclass(frozen=True)
class Adjusted:
    """Adjusted sufficient statistics per arm and what the adjustment bought.

    Attributes
    ----------
    theta : ndarray of shape (p,)
        Pooled within-arm regression coefficients of the outcome on the covariates.
    total, total_sq : ndarray of shape (k,)
        ``Σy'`` and ``Σy'²`` of the adjusted outcome ``y' = y - θᵀ(x - x̄)`` per arm.
    variance_reduction : ndarray of shape (k,)
        ``1 - Var(y') / Var(y)`` within each arm (0 where ``Var(y) = 0``).
    pooled_variance_reduction : float
        ``1 - Σ_a SS_a(y') / Σ_a SS_a(y)``: the within-arm R² of the covariates.
    """

    theta: np.ndarray
    total: np.ndarray
    total_sq: np.ndarray
    variance_reduction: np.ndarray
    pooled_variance_reduction: float


def cuped(stats: ArmStatistics) -> Adjusted:
    """CUPED adjustment (Deng et al. 2013) with one θ pooled within arms, from sufficient statistics.

    With centred within-arm cross-products ``Sxx = Σ_a (Σxxᵀ - Σx Σxᵀ/n)_a`` and
    ``Sxy = Σ_a (Σxy - Σx Σy/n)_a``, ``θ = Sxx⁻¹ Sxy`` [1]_ (several covariates: the
    regression form of Lin 2013 [2]_ without interactions). Each customer's outcome becomes
    ``y' = y - θᵀ(x - x̄)`` with ``x̄`` the mean over all arms, so arm means move by
    ``-θᵀ(x̄_a - x̄)`` and a treatment-vs-control difference equals the treatment coefficient
    of the OLS fit ``y ~ arm dummies + x``. Its sums follow without the rows:
    ``Σz = Σy - θᵀΣx``, ``Σz² = Σy² - 2θᵀΣxy + θᵀΣxxᵀθ`` for ``z = y - θᵀx``, then
    ``y' = z + θᵀx̄``. The readout's Welch test on ``y'`` treats ``θ`` as known, the usual
    CUPED approximation (its estimation error is ``O(1/n)``).

    Parameters
    ----------
    stats : ArmStatistics
        With at least one covariate.

    Returns
    -------
    Adjusted

    Raises
    ------
    InputError
        If ``stats`` has no covariate, or the covariates are constant within arms or
        collinear (``Sxx`` singular).

    References
    ----------
    .. [1] Deng, A., Xu, Y., Kohavi, R. & Walker, T. (2013). Improving the sensitivity of
       online controlled experiments by utilizing pre-experiment data. WSDM '13, 123-132.
       doi:10.1145/2433396.2433413
    .. [2] Lin, W. (2013). Agnostic notes on regression adjustments to experimental data.
       Annals of Applied Statistics 7(1):295-318.
    """
    if not stats.covariates:
        raise InputError("CUPED needs at least one covariate (covariates= / --covariate).")
    n = stats.n.astype(float)
    sx, sxx, sxy = stats.sum_x, stats.sum_xx, stats.sum_xy
    centred_xx = (sxx - sx[:, :, None] * sx[:, None, :] / n[:, None, None]).sum(axis=0)
    centred_xy = (sxy - sx * stats.total[:, None] / n[:, None]).sum(axis=0)
    scale = np.sqrt(np.clip(np.diag(centred_xx), 0.0, None))
    if np.any(scale == 0) or np.linalg.cond(centred_xx / np.outer(scale, scale)) > 1e10:
        flat = [c for c, s in zip(stats.covariates, scale, strict=True) if s == 0]
        raise InputError(
            f"the covariates {list(stats.covariates)} cannot adjust {stats.metric!r}: "
            + (f"{flat} constant within every arm" if flat else "they are collinear")
            + "; drop them from covariates= / --covariate.")
    theta = np.linalg.solve(centred_xx, centred_xy)
    xbar = sx.sum(axis=0) / n.sum()
    shift = float(theta @ xbar)
    z = stats.total - sx @ theta
    z2 = stats.total_sq - 2.0 * (stats.sum_xy @ theta) + np.einsum("j,ajk,k->a", theta, sxx, theta)
    total = z + n * shift
    total_sq = z2 + 2.0 * shift * z + n * shift * shift
    ss_raw = np.clip(stats.total_sq - stats.total ** 2 / n, 0.0, None)
    ss_adj = np.clip(total_sq - total ** 2 / n, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        reduction = np.where(ss_raw > 0, 1.0 - ss_adj / np.where(ss_raw > 0, ss_raw, 1.0), 0.0)
    pooled = 1.0 - float(ss_adj.sum() / ss_raw.sum()) if ss_raw.sum() > 0 else 0.0
    return Adjusted(theta=theta, total=total, total_sq=total_sq,
                    variance_reduction=reduction, pooled_variance_reduction=pooled)
