"""Planning an experiment: power, minimum detectable effect, sample size (normal approximation)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from valuemax._core.exceptions import InputError

PlanKind = Literal["mean", "proportion"]
Alternative = Literal["two-sided", "larger"]

#: Largest control arm a sample-size search considers (customers).
MAX_N = 1e12


@dataclass(frozen=True)
class PowerPlan:
    """A solved power calculation: every quantity filled in.

    Attributes
    ----------
    kind : {"mean", "proportion"}
    baseline : float
        Control mean (metric units per customer) or conversion rate.
    sd : float
        Per-customer standard deviation (for a rate, ``sqrt(p0(1-p0))`` of the control).
    effect : float
        Absolute lift to detect, ``treatment - control`` in metric units (> 0).
    relative_effect : float
        ``effect / baseline``.
    n_control : int
        Customers in control (rounded up from ``n_control_exact``).
    n_treatment : int
        Customers per treatment arm, ``ceil(ratio * n_control_exact)``.
    n_control_exact : float
        The continuous solution (or the given size).
    power : float
        Probability that the test rejects when the lift is ``effect``, at
        ``n_control_exact`` (the rounded-up sizes give at least this power).
    alpha : float
        Significance level (two-sided unless ``alternative="larger"``).
    ratio : float
        ``n_treatment / n_control``.
    alternative : {"two-sided", "larger"}
    solved_for : {"n", "effect", "power"}
    method : str
        The formula, in words.
    """

    kind: str
    baseline: float
    sd: float
    effect: float
    relative_effect: float
    n_control: int
    n_treatment: int
    n_control_exact: float
    power: float
    alpha: float
    ratio: float
    alternative: str
    solved_for: str
    method: str

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-able dict."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _positive(name: str, value: Any, *, upper: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value) or value <= 0 or (upper is not None and value >= upper):
        bound = f" and below {upper:g}" if upper is not None else ""
        raise InputError(f"{name}={value!r} must be a number above 0{bound}.")
    return float(value)


def _power(kind: str, p0: float, sd: float, effect: float, n0: float, ratio: float,
           alpha: float, alternative: str) -> float:
    from scipy.stats import norm

    n1 = ratio * n0
    if kind == "mean":
        se0 = se1 = sd * math.sqrt(1.0 / n0 + 1.0 / n1)
    else:
        p1 = p0 + effect
        pooled = (n0 * p0 + n1 * p1) / (n0 + n1)
        se0 = math.sqrt(pooled * (1 - pooled) * (1.0 / n0 + 1.0 / n1))
        se1 = math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
    if alternative == "larger":
        return float(norm.cdf((effect - norm.ppf(1 - alpha) * se0) / se1))
    z = norm.ppf(1 - alpha / 2)
    return float(norm.cdf((effect - z * se0) / se1) + norm.cdf((-effect - z * se0) / se1))


def plan(
    kind: PlanKind,
    *,
    baseline: float,
    sd: float | None = None,
    effect: float | None = None,
    relative: bool = False,
    n_control: float | None = None,
    power: float | None = None,
    alpha: float = 0.05,
    ratio: float = 1.0,
    alternative: Alternative = "two-sided",
) -> PowerPlan:
    """Solve for the one missing quantity among effect, sample size and power.

    Give two of ``effect``, ``n_control`` and ``power``; the third is solved (sample size and
    effect by Brent's root finder on the power function, which is monotone in both). The
    readout's tests are approximated by normal tests:

    - means: ``SE = σ sqrt(1/n0 + 1/n1)`` under both hypotheses (σ common to the arms),
      ``power = Φ(δ/SE - z_{1-α/2}) + Φ(-δ/SE - z_{1-α/2})``, i.e.
      ``statsmodels.stats.power.NormalIndPower`` with effect size ``δ/σ``; for 80% power and
      α = 0.05 this is close to Kohavi's rule ``n ≈ 16σ²/δ²`` per arm [1]_. Welch's t needs a
      few customers more when n is small (``TTestIndPower``);
    - proportions: the pooled z test of the readout, with the null SE on the pooled rate
      ``p̄ = (n0 p0 + n1 p1)/(n0 + n1)``, ``SE0 = sqrt(p̄(1-p̄)(1/n0 + 1/n1))``, and the
      alternative SE ``SE1 = sqrt(p0(1-p0)/n0 + p1(1-p1)/n1)``:
      ``power = Φ((δ - z SE0)/SE1) + Φ((-δ - z SE0)/SE1)`` [2]_
      (``statsmodels.stats.proportion.power_proportions_2indep``).

    With ``alternative="larger"`` only the first term is kept and ``z = z_{1-α}``.

    Parameters
    ----------
    kind : {"mean", "proportion"}
    baseline : float
        Control mean per customer (metric units, > 0) or control rate in (0, 1).
    sd : float, optional
        Per-customer standard deviation of the metric (required for means; ignored for rates).
    effect : float, optional
        Lift to detect, > 0: absolute (metric units), or relative to ``baseline`` with
        ``relative=True`` (0.05 = +5%).
    relative : bool, default False
    n_control : float, optional
        Customers in control (>= 2).
    power : float, optional
        Target power in (0, 1), e.g. 0.8.
    alpha : float, default 0.05
        Significance level in (0, 1).
    ratio : float, default 1.0
        Customers per treatment arm over customers in control (0.05/0.95 for a 95/5 split
        with control the large arm).
    alternative : {"two-sided", "larger"}, default "two-sided"

    Returns
    -------
    PowerPlan

    Raises
    ------
    InputError
        If not exactly one of ``effect``, ``n_control``, ``power`` is missing; a value is out of
        range (a rate's ``baseline + effect`` must stay below 1); ``sd`` is missing for means;
        or the target power is out of reach (power >= 1, or ``effect`` too large for a rate).

    References
    ----------
    .. [1] Kohavi, R., Tang, D. & Xu, Y. (2020). Trustworthy Online Controlled Experiments,
       ch. 17. Cambridge University Press.
    .. [2] Fleiss, J. L., Levin, B. & Paik, M. C. (2003). Statistical Methods for Rates and
       Proportions, 3rd ed., §4.2. Wiley.

    Examples
    --------
    >>> p = plan("proportion", baseline=0.10, effect=0.10, relative=True, power=0.8)
    >>> p.n_control, round(p.power, 3)
    (14751, 0.8)
    >>> round(plan("mean", baseline=1.0, sd=10.0, n_control=20_000, power=0.8).effect, 4)
    0.2802
    """
    from scipy.optimize import brentq

    if kind not in ("mean", "proportion"):
        raise InputError(f"kind={kind!r} is not supported; choose 'mean' or 'proportion'.")
    if alternative not in ("two-sided", "larger"):
        raise InputError(f"alternative={alternative!r} is not supported; choose 'two-sided' or "
                         "'larger'.")
    given = {"effect": effect, "n_control": n_control, "power": power}
    missing = [k for k, v in given.items() if v is None]
    if len(missing) != 1:
        raise InputError(f"give exactly two of effect, n_control and power (the third is "
                         f"solved); missing: {missing or 'none'}.")
    alpha = _positive("alpha", alpha, upper=1.0)
    ratio = _positive("ratio", ratio)
    if kind == "proportion":
        p0 = _positive("baseline", baseline, upper=1.0)
        sd_ = math.sqrt(p0 * (1 - p0))
    else:
        p0 = _positive("baseline", baseline)
        if sd is None:
            raise InputError("sd (the per-customer standard deviation of the metric) is "
                             "required for kind='mean'; e.g. from a past readout's arm table "
                             "(--sd).")
        sd_ = _positive("sd", sd)
    delta = None if effect is None else _positive("effect", effect) * (p0 if relative else 1.0)
    top = 1.0 - p0 if kind == "proportion" else math.inf
    if delta is not None and delta >= top:
        raise InputError(f"effect: baseline {p0:g} + lift {delta:g} reaches a rate of 1 or more; "
                         "a rate's lift must stay below 1 - baseline.")
    n0 = None if n_control is None else _positive("n_control", n_control)
    if n0 is not None and n0 < 2:
        raise InputError(f"n_control={n_control!r} is too small: at least 2 customers per arm.")
    target = None if power is None else _positive("power", power, upper=1.0)

    def pw(d: float, n: float) -> float:
        return _power(kind, p0, sd_, d, n, ratio, alpha, alternative)

    if target is not None and delta is not None:
        if pw(delta, MAX_N) < target:
            raise InputError(f"power {target:g} is out of reach for effect {delta:g} even with "
                             f"{MAX_N:.0e} customers per arm.")
        if pw(delta, 2.0) >= target:
            n0 = 2.0
        else:
            n0 = brentq(lambda n: pw(delta, n) - target, 2.0, MAX_N, xtol=1e-9, rtol=1e-13)
    elif target is not None and n0 is not None:
        hi = top * (1 - 1e-12) if kind == "proportion" else 1e6 * sd_
        if pw(hi, n0) < target:
            raise InputError(f"power {target:g} is out of reach with {n0:,.0f} customers in "
                             f"control: no lift {'below a rate of 1' if kind == 'proportion' else ''}"
                             " is detected that often; enlarge n_control or lower power.")
        delta = brentq(lambda d: pw(d, n0) - target, 1e-15 * max(sd_, 1e-300), hi,
                       xtol=1e-15, rtol=1e-13)
    assert delta is not None and n0 is not None
    achieved = pw(delta, n0)
    method = ("normal approximation, common σ (NormalIndPower)" if kind == "mean" else
              "pooled z test: null SE on the pooled rate, alternative SE unpooled")
    return PowerPlan(
        kind=kind, baseline=p0, sd=sd_, effect=delta,
        relative_effect=delta / p0,
        n_control=math.ceil(n0 - 1e-9), n_treatment=math.ceil(ratio * n0 - 1e-9),
        n_control_exact=float(n0), power=achieved, alpha=alpha, ratio=ratio,
        alternative=alternative, solved_for={"n_control": "n"}.get(missing[0], missing[0]),
        method=method)
