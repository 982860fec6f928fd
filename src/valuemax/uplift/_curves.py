"""Uplift and Qini curves, AUUC and the Qini coefficient: pure array functions.

Conventions (one set, stated once; :func:`qini_curve` and :func:`uplift_curve` repeat them):

- Customers are ranked by score, highest first. Customers with **tied scores enter together**:
  the curves have one point per distinct score (plus the origin), so the row order never
  matters (as ``sklearn.metrics.roc_curve`` and scikit-uplift do).
- After the top ``t`` customers: ``N_T(t)``, ``N_C(t)`` treated and control customers,
  ``R_T(t)``, ``R_C(t)`` the sums of their outcomes (responses, or revenue).
- The x axis is the **share targeted** ``t / N``; curve values are **per customer of the whole
  base** (divided by ``N``), so areas are in outcome units per customer and comparable across
  data sizes.
- A slice with no control (or no treated) customer has no rate for that arm; that arm's term is
  taken as 0 (scikit-uplift's convention); :func:`qini_curve` reports how many points this
  concerns in ``n_one_arm_points``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from valuemax._core.exceptions import InputError
from valuemax.uplift._validation import check_outcome, check_scores, check_treatment

Normalize = Literal["none", "perfect"]


@dataclass(frozen=True)
class Curve:
    """One uplift or Qini curve.

    Attributes
    ----------
    kind : {"qini", "uplift"}
    share_targeted : ndarray of shape (n_points,)
        ``t / N`` at the origin and at the end of each group of tied scores; from 0 to 1.
    value : ndarray of shape (n_points,)
        Incremental outcome per customer of the base (see the module conventions).
    n_one_arm_points : int
        Points (other than the origin) whose top slice holds only one arm, where the missing
        arm's term was taken as 0.
    """

    kind: str
    share_targeted: np.ndarray
    value: np.ndarray
    n_one_arm_points: int

    def random_value(self) -> np.ndarray:
        """The random-targeting line at ``share_targeted``: ``share * value[-1]``."""
        return self.share_targeted * self.value[-1]

    def area_above_random(self) -> float:
        """Trapezoid area between the curve and the random line over ``share`` in [0, 1]."""
        gap = self.value - self.random_value()
        x = self.share_targeted
        return float(np.sum(np.diff(x) * (gap[1:] + gap[:-1]) / 2.0))


def _prepare(scores, treatment, y):
    t = check_treatment(treatment)
    yy, _ = check_outcome(y, t.size)
    s = check_scores(scores, t.size)
    return s, t, yy


def _cumulative(s: np.ndarray, t: np.ndarray, y: np.ndarray):
    order = np.argsort(-s, kind="mergesort")
    s, t, y = s[order], t[order], y[order]
    ends = np.r_[np.flatnonzero(np.diff(s) != 0), s.size - 1]
    n_t = np.cumsum(t)[ends].astype(np.float64)
    n_all = (ends + 1).astype(np.float64)
    n_c = n_all - n_t
    r_t = np.cumsum(y * t)[ends]
    r_c = np.cumsum(y * (1 - t))[ends]
    zero = np.zeros(1)
    return (np.r_[zero, n_all], np.r_[zero, n_t], np.r_[zero, n_c], np.r_[zero, r_t],
            np.r_[zero, r_c])


def _rate(r: np.ndarray, n: np.ndarray) -> np.ndarray:
    return np.divide(r, n, out=np.zeros_like(r), where=n > 0)


def _one_arm_points(n_t: np.ndarray, n_c: np.ndarray) -> int:
    return int(((n_t[1:] == 0) | (n_c[1:] == 0)).sum())


def qini_curve(scores, treatment, y) -> Curve:
    """Qini curve: incremental outcomes in the top ``t``, scaled to the treated count.

    ``Q(t) = R_T(t) - R_C(t) * N_T(t) / N_C(t)`` (Radcliffe 2007, eq. for the "Qini curve"
    with the control scaled to the treated group; scikit-uplift ``qini_curve``), the control
    term taken as 0 where ``N_C(t) = 0``; returned as ``Q(t) / N`` against ``t / N``.

    Parameters
    ----------
    scores : array-like of shape (n_customers,)
        Predicted uplift; higher is targeted first. Finite.
    treatment : array-like of shape (n_customers,)
        1 treated, 0 control; both arms present.
    y : array-like of shape (n_customers,)
        Outcome: 0/1 response or an amount (e.g. revenue).

    Returns
    -------
    Curve

    Raises
    ------
    InputError
        If the lengths differ, a value is not finite, or one arm is empty.

    References
    ----------
    .. [1] Radcliffe, N. J. (2007). Using control groups to target on predicted lift: building
       and assessing uplift models. Direct Marketing Analytics Journal 1:14-21.

    Examples
    --------
    Four customers ranked 0.9 > 0.6 > 0.3 > 0.1, arms T, C, T, C, outcomes 1, 0, 0, 1:
    ``Q = 1, 1, 1, 1 - 1 * 2/2 = 0`` after 1..4 customers (the first point has no control, so
    its control term is 0), divided by ``N = 4``:

    >>> c = qini_curve([0.9, 0.6, 0.3, 0.1], [1, 0, 1, 0], [1, 0, 0, 1])
    >>> c.value.tolist(), c.n_one_arm_points
    ([0.0, 0.25, 0.25, 0.25, 0.0], 1)
    """
    s, t, y = _prepare(scores, treatment, y)
    n_all, n_t, n_c, r_t, r_c = _cumulative(s, t, y)
    q = r_t - _rate(r_c, n_c) * n_t
    n = float(t.size)
    return Curve("qini", n_all / n, q / n, _one_arm_points(n_t, n_c))


def uplift_curve(scores, treatment, y) -> Curve:
    """Uplift (cumulative gain) curve: rate difference in the top ``t`` times ``t``.

    ``U(t) = (R_T(t)/N_T(t) - R_C(t)/N_C(t)) * (N_T(t) + N_C(t))`` (Gutierrez & Gérardy 2017,
    eq. 11; scikit-uplift ``uplift_curve``; CausalML ``get_cumgain``), a rate taken as 0 where
    its arm is empty; returned as ``U(t) / N`` against ``t / N``.

    Parameters
    ----------
    scores, treatment, y : array-like of shape (n_customers,)
        As in :func:`qini_curve`.

    Returns
    -------
    Curve

    Raises
    ------
    InputError
        As in :func:`qini_curve`.

    References
    ----------
    .. [1] Gutierrez, P. & Gérardy, J.-Y. (2017). Causal inference and uplift modelling: a review
       of the literature. PMLR 67:1-13.

    Examples
    --------
    The customers of :func:`qini_curve`: rate differences 1-0, 1-0, 1/2-0, 1/2-1/2 after 1..4
    customers, times 1..4, divided by 4:

    >>> uplift_curve([0.9, 0.6, 0.3, 0.1], [1, 0, 1, 0], [1, 0, 0, 1]).value.tolist()
    [0.0, 0.25, 0.5, 0.375, 0.0]
    """
    s, t, y = _prepare(scores, treatment, y)
    n_all, n_t, n_c, r_t, r_c = _cumulative(s, t, y)
    u = (_rate(r_t, n_t) - _rate(r_c, n_c)) * n_all
    n = float(t.size)
    return Curve("uplift", n_all / n, u / n, _one_arm_points(n_t, n_c))


def _perfect_scores(t: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.where(t == 1, y, -y)


def _normalized(area: float, perfect_area: float, normalize: Normalize) -> float:
    if normalize not in ("none", "perfect"):
        raise InputError(f"normalize={normalize!r} is unknown; choose 'none' or 'perfect'.")
    if normalize == "none":
        return area
    if perfect_area <= 0:
        raise InputError("normalize='perfect' needs a perfect curve above random; here the "
                         "best ordering gains nothing over random (no treated response). Use "
                         "normalize='none'.")
    return area / perfect_area


def _area(curve, scores, treatment, y, normalize: Normalize) -> float:
    """The area above random of ``curve(scores, treatment, y)``, divided by that of the
    perfect ordering with ``normalize="perfect"``."""
    area = curve(scores, treatment, y).area_above_random()
    if normalize == "perfect":
        _, t, yy = _prepare(scores, treatment, y)
        perfect = curve(_perfect_scores(t, yy), t, yy).area_above_random()
        return _normalized(area, perfect, normalize)
    return _normalized(area, 1.0, normalize)


def qini_coefficient(scores, treatment, y, *, normalize: Normalize = "none") -> float:
    """Area between the Qini curve and random targeting.

    ``q = ∫_0^1 (Q(φ) - φ Q(1)) dφ`` with ``Q`` per customer of the base (:func:`qini_curve`),
    by the trapezoid rule over the curve's points. In outcome units per customer; 0 for random
    targeting, negative when worse than random. ``normalize="perfect"`` divides by the same
    area of the perfect ordering (treated responders first, control responders last: Radcliffe
    2007's optimum allowing negative effects), giving Radcliffe's Qini coefficient ``Q`` (1 for a
    perfect model). Libraries differ: scikit-uplift's ``qini_auc_score`` is the ``"perfect"``
    ratio; CausalML's ``qini_score`` (``normalize=True``) divides each curve by its end value
    and averages its gap to random over rows, so its numbers are not comparable with these.

    Parameters
    ----------
    scores, treatment, y : array-like of shape (n_customers,)
        As in :func:`qini_curve`.
    normalize : {"none", "perfect"}, default "none"

    Returns
    -------
    float

    Raises
    ------
    InputError
        As in :func:`qini_curve`; or ``normalize="perfect"`` when the perfect area is not > 0.

    References
    ----------
    .. [1] Radcliffe, N. J. (2007). Using control groups to target on predicted lift.
       Direct Marketing Analytics Journal 1:14-21.

    Examples
    --------
    The curve of :func:`qini_curve` (0, .25, .25, .25, 0 at 0, .25, ..., 1) ends at 0, so the
    random line is 0 and the area is .25 * (.125 + .25 + .25 + .125) = 0.1875:

    >>> qini_coefficient([0.9, 0.6, 0.3, 0.1], [1, 0, 1, 0], [1, 0, 0, 1])
    0.1875
    """
    return _area(qini_curve, scores, treatment, y, normalize)


def auuc(scores, treatment, y, *, normalize: Normalize = "none") -> float:
    """Area under the uplift curve above random targeting (AUUC).

    ``a = ∫_0^1 (U(φ) - φ U(1)) dφ`` with ``U`` per customer (:func:`uplift_curve`), trapezoid
    rule. ``normalize="perfect"`` divides by the same area of the perfect ordering (as
    scikit-uplift's ``uplift_auc_score``). CausalML's ``auuc_score`` instead divides the curve by
    its end value and averages it without subtracting random.

    Parameters
    ----------
    scores, treatment, y : array-like of shape (n_customers,)
        As in :func:`qini_curve`.
    normalize : {"none", "perfect"}, default "none"

    Returns
    -------
    float

    Raises
    ------
    InputError
        As in :func:`qini_coefficient`.

    References
    ----------
    .. [1] Gutierrez, P. & Gérardy, J.-Y. (2017). Causal inference and uplift modelling: a review
       of the literature. PMLR 67:1-13.

    Examples
    --------
    The curve of :func:`uplift_curve` (0, .25, .5, .375, 0) ends at 0; the area is
    .25 * (.125 + .375 + .4375 + .1875) = 0.28125:

    >>> auuc([0.9, 0.6, 0.3, 0.1], [1, 0, 1, 0], [1, 0, 0, 1])
    0.28125
    """
    return _area(uplift_curve, scores, treatment, y, normalize)
