"""Two-arm comparisons from sufficient statistics: Welch/Student for means, score for rates.

Everything here works on a handful of numbers per arm (``n``, sum, sum of squares, or
conversions), so the same functions serve a 64,000-row table and a 10M-row one whose sums
were computed in the engine. scipy is imported inside the functions (STYLE.md b.13).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from valuemax._core.exceptions import InputError

#: Fewest customers per arm for any comparison: a sample variance needs n - 1 >= 1.
MIN_ARM_SIZE = 2


@dataclass(frozen=True)
class Comparison:
    """One treatment arm against control on one metric: lifts, intervals, p-values.

    Attributes
    ----------
    control_mean, treatment_mean : float
        Arm means (rates for proportions), in the metric's unit per customer.
    absolute_lift : float
        ``treatment_mean - control_mean``, in the metric's unit.
    absolute_ci : tuple of float
        Confidence interval of ``absolute_lift`` (``absolute_method``).
    p_value : float
        Two-sided p-value of H0: ``absolute_lift == 0`` (``test``).
    relative_lift : float
        ``treatment_mean / control_mean - 1``; NaN only when ``control_mean == 0``, and then
        ``note`` says so.
    relative_ci : tuple of float
        Delta-method interval of ``relative_lift`` (NaN under the same condition).
    relative_p_value : float
        Two-sided p-value of H0: ``relative_lift == 0`` from the delta-method statistic.
    statistic : float
        The test statistic of ``p_value`` (t or z).
    df : float
        Degrees of freedom of the t reference distribution (Welch-Satterthwaite, or
        ``n0 + n1 - 2`` for Student); ``inf`` for a z statistic.
    test, absolute_method, relative_method : str
        How ``p_value``, ``absolute_ci`` and ``relative_ci`` were computed.
    confidence : float
        Level of both intervals.
    note : str
        Empty, or why a figure is undefined or degenerate.
    """

    control_mean: float
    treatment_mean: float
    absolute_lift: float
    absolute_ci: tuple[float, float]
    p_value: float
    relative_lift: float
    relative_ci: tuple[float, float]
    relative_p_value: float
    statistic: float
    df: float
    test: str
    absolute_method: str
    relative_method: str
    confidence: float = 0.95
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a flat, JSON-able dict (intervals as ``*_ci_low``/``*_ci_high``)."""
        out: dict[str, Any] = {}
        for key in self.__dataclass_fields__:
            value = getattr(self, key)
            if isinstance(value, tuple):
                stem = key.removesuffix("_ci")
                out[f"{stem}_ci_low"], out[f"{stem}_ci_high"] = value
            else:
                out[key] = value
        return out


def _check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not (
            0.0 < float(confidence) < 1.0):
        raise InputError(f"confidence={confidence!r} must be a number strictly between 0 and 1 "
                         "(e.g. 0.95 for a 95% interval).")
    return float(confidence)


def _check_counts(name: str, n: Any, minimum: int = MIN_ARM_SIZE) -> int:
    if isinstance(n, bool) or not isinstance(n, int | float) or not float(n).is_integer():
        raise InputError(f"{name}={n!r} must be a whole number of customers.")
    if n < minimum:
        raise InputError(f"{name}={int(n):,} customers is too few: each arm needs at least "
                         f"{minimum} for a variance; collect more data or merge arms.")
    return int(n)


def sample_variance(n: int, total: float, total_sq: float) -> float:
    """Sample variance ``(Σy² - (Σy)²/n) / (n - 1)`` from sufficient statistics.

    Rounding can make the numerator a tiny negative number when every value is equal; it is
    clipped at 0 (the exact variance).
    """
    return max(0.0, (total_sq - total * total / n) / (n - 1))


def _delta_relative(m0: float, m1: float, v0: float, v1: float, n0: int, n1: int,
                    crit: float, df: float) -> tuple[float, tuple[float, float], float, str]:
    """Relative lift ``m1/m0 - 1`` with its delta-method SE, interval and p-value."""
    from scipy import stats

    if m0 == 0.0:
        nan = float("nan")
        return nan, (nan, nan), nan, "relative lift undefined: the control mean is 0"
    rel = m1 / m0 - 1.0
    se = math.sqrt(v1 / (m0 * m0 * n1) + v0 * m1 * m1 / (m0 ** 4 * n0))
    if se == 0.0:
        return rel, (rel, rel), 1.0 if rel == 0.0 else 0.0, "both arms are constant"
    p = 2.0 * float(stats.t.sf(abs(rel / se), df))
    return rel, (rel - crit * se, rel + crit * se), p, ""


def compare_means(
    n_control: int,
    sum_control: float,
    sum_sq_control: float,
    n_treatment: int,
    sum_treatment: float,
    sum_sq_treatment: float,
    *,
    confidence: float = 0.95,
    equal_var: bool = False,
) -> Comparison:
    """Compare two arms' means from ``(n, Σy, Σy²)``: Welch (default) or Student t.

    With ``m = Σy/n`` and ``s² = (Σy² - (Σy)²/n)/(n - 1)`` per arm (0 = control,
    1 = treatment):

    - absolute lift ``d = m1 - m0``; Welch: ``SE = sqrt(s0²/n0 + s1²/n1)``, degrees of
      freedom by Welch-Satterthwaite
      ``ν = (s0²/n0 + s1²/n1)² / ((s0²/n0)²/(n0-1) + (s1²/n1)²/(n1-1))`` [1]_; Student
      (``equal_var=True``): pooled ``s_p² = ((n0-1)s0² + (n1-1)s1²)/(n0+n1-2)``,
      ``SE = s_p sqrt(1/n0 + 1/n1)``, ``ν = n0 + n1 - 2``. Interval ``d ± t_{ν,(1+c)/2} SE``,
      p-value ``2 P(T_ν > |d/SE|)`` (what ``scipy.stats.ttest_ind`` gives on the raw rows);
    - relative lift ``r = m1/m0 - 1`` by the delta method [2]_:
      ``Var(r) ≈ s1²/(m0² n1) + s0² m1²/(m0⁴ n0)``, interval ``r ± t_{ν,(1+c)/2} SE_r`` and
      p-value from ``r/SE_r`` on the same ``ν``, as GrowthBook's frequentist engine [3]_.

    Parameters
    ----------
    n_control, sum_control, sum_sq_control : int, float, float
        Control arm: customers, ``Σy`` and ``Σy²`` (metric units and units squared).
    n_treatment, sum_treatment, sum_sq_treatment : int, float, float
        The same for the treatment arm.
    confidence : float, default 0.95
        Level of both intervals, in (0, 1).
    equal_var : bool, default False
        Student's pooled-variance t instead of Welch's.

    Returns
    -------
    Comparison

    Raises
    ------
    InputError
        If an arm has fewer than 2 customers or a non-integral count, ``confidence`` is not in
        (0, 1), a sum is not finite, or both arms are constant (no variance to test).

    References
    ----------
    .. [1] Welch, B. L. (1947). The generalization of "Student's" problem when several
       different population variances are involved. Biometrika 34(1/2):28-35.
    .. [2] Kohavi, R., Tang, D. & Xu, Y. (2020). Trustworthy Online Controlled Experiments,
       ch. 18 (variance of the percent change by the delta method). Cambridge Univ. Press.
    .. [3] GrowthBook stats engine, ``gbstats/frequentist/tests.py`` (TwoSidedTTest).

    Examples
    --------
    >>> c = compare_means(3407, 1396.87, 52377.9767, 3461, 2422.7, 134698.29)
    >>> round(c.absolute_lift, 2), [round(x, 5) for x in c.absolute_ci], round(c.p_value, 5)
    (0.29, [0.04538, 0.53462], 0.02016)
    """
    from scipy import stats

    conf = _check_confidence(confidence)
    n0 = _check_counts("n_control", n_control)
    n1 = _check_counts("n_treatment", n_treatment)
    sums = (sum_control, sum_sq_control, sum_treatment, sum_sq_treatment)
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in sums):
        raise InputError(f"sums must be finite numbers; got {sums!r}.")
    m0, m1 = sum_control / n0, sum_treatment / n1
    v0 = sample_variance(n0, sum_control, sum_sq_control)
    v1 = sample_variance(n1, sum_treatment, sum_sq_treatment)
    if v0 == 0.0 and v1 == 0.0:
        raise InputError(f"both arms are constant (control mean {m0:g}, treatment mean {m1:g}, "
                         "variance 0): a t-test is undefined; check the metric column.")
    diff = m1 - m0
    if equal_var:
        df = float(n0 + n1 - 2)
        pooled = ((n0 - 1) * v0 + (n1 - 1) * v1) / df
        se = math.sqrt(pooled * (1.0 / n0 + 1.0 / n1))
        test = "Student t (pooled variance)"
    else:
        a, b = v0 / n0, v1 / n1
        se = math.sqrt(a + b)
        df = (a + b) ** 2 / (a * a / (n0 - 1) + b * b / (n1 - 1))
        test = "Welch t (Welch-Satterthwaite df)"
    crit = float(stats.t.ppf(0.5 + conf / 2.0, df))
    t = diff / se
    p = 2.0 * float(stats.t.sf(abs(t), df))
    rel, rel_ci, rel_p, note = _delta_relative(m0, m1, v0, v1, n0, n1, crit, df)
    return Comparison(
        control_mean=m0, treatment_mean=m1, absolute_lift=diff,
        absolute_ci=(diff - crit * se, diff + crit * se), p_value=p,
        relative_lift=rel, relative_ci=rel_ci, relative_p_value=rel_p,
        statistic=t, df=df, test=test, absolute_method=f"{test}: d ± t_ν·SE",
        relative_method="delta method, t on the same ν", confidence=conf, note=note,
    )


def wilson_interval(x: int, n: int, confidence: float) -> tuple[float, float]:
    """Wilson score interval of a proportion ``x/n`` [1]_ (defined at ``x = 0`` and ``x = n``).

    ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` with ``z = Φ⁻¹((1+c)/2)``.

    References
    ----------
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
       inference. JASA 22(158):209-212.
    """
    from scipy import stats

    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def compare_proportions(
    x_control: int,
    n_control: int,
    x_treatment: int,
    n_treatment: int,
    *,
    confidence: float = 0.95,
) -> Comparison:
    """Compare two conversion rates from counts: Newcombe score interval, pooled z test.

    With ``p = x/n`` per arm (0 = control, 1 = treatment) and ``d = p1 - p0``:

    - absolute lift interval: Newcombe's hybrid score interval (his method 10) [1]_,
      ``(d - sqrt((p1-l1)² + (u0-p0)²), d + sqrt((u1-p1)² + (p0-l0)²))`` where ``(l, u)``
      are each arm's Wilson score interval; it stays inside [-1, 1] and is defined at 0 and
      ``n`` conversions (``statsmodels.stats.proportion.confint_proportions_2indep(...,
      method="newcomb")``);
    - p-value: the pooled two-proportion z test, ``z = d / sqrt(p̄(1-p̄)(1/n0 + 1/n1))`` with
      ``p̄ = (x0+x1)/(n0+n1)``, i.e. Pearson's χ² on the 2×2 table without continuity
      correction; when ``p̄`` is 0 or 1 both arms are identical and ``p = 1``;
    - relative lift ``r = p1/p0 - 1`` by the delta method with per-customer variance
      ``p(1-p)`` and a t reference on the Welch-Satterthwaite ``ν`` of those variances, as
      GrowthBook's engine [2]_ (so ``r ± t_ν SE_r``).

    Parameters
    ----------
    x_control, n_control : int
        Control conversions (customers with outcome 1) and customers.
    x_treatment, n_treatment : int
        The same for the treatment arm.
    confidence : float, default 0.95
        Level of both intervals, in (0, 1).

    Returns
    -------
    Comparison
        ``statistic`` is the z of the pooled test and ``df`` is ``inf``.

    Raises
    ------
    InputError
        If an arm has fewer than 2 customers, a count is not a whole number, or conversions
        are negative or exceed the customers.

    References
    ----------
    .. [1] Newcombe, R. G. (1998). Interval estimation for the difference between
       independent proportions: comparison of eleven methods. Statistics in Medicine
       17(8):873-890.
    .. [2] GrowthBook stats engine, ``gbstats/frequentist/tests.py``; its test suite's
       proportions case 14/28 vs 16/30 gives the relative interval (-0.47767, 0.61101).

    Examples
    --------
    >>> c = compare_proportions(14, 28, 16, 30)
    >>> [round(x, 5) for x in c.relative_ci], round(c.relative_p_value, 5)
    ([-0.47767, 0.61101], 0.80707)
    >>> compare_proportions(0, 500, 0, 480).absolute_ci[1] > 0   # defined at 0 conversions
    True
    """
    from scipy import stats

    conf = _check_confidence(confidence)
    n0 = _check_counts("n_control", n_control)
    n1 = _check_counts("n_treatment", n_treatment)
    for name, x, n in (("x_control", x_control, n0), ("x_treatment", x_treatment, n1)):
        if isinstance(x, bool) or not isinstance(x, int | float) or not float(x).is_integer() \
                or not 0 <= x <= n:
            raise InputError(f"{name}={x!r} must be a whole number of conversions between 0 "
                             f"and the arm's {n:,} customers.")
    x0, x1 = int(x_control), int(x_treatment)
    p0, p1 = x0 / n0, x1 / n1
    diff = p1 - p0
    l0, u0 = wilson_interval(x0, n0, conf)
    l1, u1 = wilson_interval(x1, n1, conf)
    ci = (diff - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2),
          diff + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2))
    pooled = (x0 + x1) / (n0 + n1)
    if pooled in (0.0, 1.0):
        z, p = 0.0, 1.0
    else:
        z = diff / math.sqrt(pooled * (1 - pooled) * (1.0 / n0 + 1.0 / n1))
        p = 2.0 * float(stats.norm.sf(abs(z)))
    v0, v1 = p0 * (1 - p0), p1 * (1 - p1)
    a, b = v0 / n0, v1 / n1
    df = (a + b) ** 2 / (a * a / (n0 - 1) + b * b / (n1 - 1)) if a + b > 0 else math.inf
    crit = float(stats.t.ppf(0.5 + conf / 2.0, df))
    rel, rel_ci, rel_p, note = _delta_relative(p0, p1, v0, v1, n0, n1, crit, df)
    return Comparison(
        control_mean=p0, treatment_mean=p1, absolute_lift=diff, absolute_ci=ci, p_value=p,
        relative_lift=rel, relative_ci=rel_ci, relative_p_value=rel_p, statistic=z,
        df=math.inf, test="pooled two-proportion z (Pearson χ², no continuity correction)",
        absolute_method="Newcombe hybrid score (Wilson) interval",
        relative_method="delta method on p(1-p), t on the Welch-Satterthwaite ν",
        confidence=conf, note=note,
    )
