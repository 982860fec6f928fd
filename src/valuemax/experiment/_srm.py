"""Sample-ratio mismatch: are the arm sizes what the design allocated?"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from valuemax._core.exceptions import InputError

#: p-value below which the allocation is flagged (Fabijan et al. 2019 use 0.0005-0.001).
SRM_ALPHA = 0.001


@dataclass(frozen=True)
class SRMTest:
    """Pearson χ² goodness of fit of the arm sizes to the designed shares.

    Attributes
    ----------
    arms : tuple of str
        Arm labels, in the order of the other fields.
    observed : tuple of int
        Customers per arm (after the quarantine).
    expected : tuple of float
        ``share * total`` per arm.
    shares : tuple of float
        Designed shares, summing to 1.
    chi2 : float
        ``Σ (observed - expected)² / expected``.
    df : int
        ``k - 1`` for ``k`` arms.
    p_value : float
        ``P(χ²_df > chi2)``.
    alpha : float
        Alert threshold.
    alert : bool
        ``p_value < alpha``: the assignment or the logging is broken; do not trust the lifts
        until the cause is found.
    """

    arms: tuple[str, ...]
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    shares: tuple[float, ...]
    chi2: float
    df: int
    p_value: float
    alpha: float
    alert: bool

    def to_dict(self) -> dict[str, Any]:
        """The fields as a JSON-able dict."""
        return {k: (list(v) if isinstance(v, tuple) else v)
                for k, v in ((k, getattr(self, k)) for k in self.__dataclass_fields__)}


def designed_shares(arms: Sequence[str], shares: Mapping[str, float] | None) -> tuple[float, ...]:
    """Shares per arm in ``arms`` order: equal by default, else ``shares`` normalised to sum 1.

    Ratios (``{"A": 9, "B": 1}``) are normalised; fractions must already sum to 1 (to 1e-4):
    ``{"A": 0.5, "B": 0.6}`` is a typo, not a design, and is refused (1e-4 allows shares
    printed to 6 digits).

    Raises
    ------
    InputError
        If ``shares`` misses an arm, names an arm not in the data, a share is not a
        positive finite number, or every share is below 1 and they do not sum to 1.
    """
    if shares is None:
        return tuple(1.0 / len(arms) for _ in arms)
    if not isinstance(shares, Mapping):
        raise InputError(f"shares must map each arm to its designed share (e.g. "
                         f"{{{arms[0]!r}: 0.5, ...}}); got {type(shares).__name__}.")
    keys = {str(k) for k in shares}
    missing = [a for a in arms if a not in keys]
    unknown = sorted(keys - set(arms))
    if missing or unknown:
        raise InputError(f"shares must name every arm exactly: missing {missing}, not in the "
                         f"data {unknown}; the arms are {list(arms)} (shares= / --shares).")
    values = {str(k): v for k, v in shares.items()}
    bad = {a: v for a, v in values.items() if isinstance(v, bool)
           or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0}
    if bad:
        raise InputError(f"shares must be positive numbers; got {bad} (shares= / --shares).")
    total = float(sum(values[a] for a in arms))
    if all(values[a] < 1 for a in arms) and abs(total - 1.0) > 1e-4:
        raise InputError(f"shares {values} look like fractions but sum to {total:.6g}, not 1; "
                         "give fractions that sum to 1 (e.g. 0.9 and 0.1), or ratios of whole "
                         "numbers (e.g. 9 and 1) (shares= / --shares).")
    return tuple(float(values[a]) / total for a in arms)


def srm_test(
    observed: Mapping[str, int],
    *,
    shares: Mapping[str, float] | None = None,
    alpha: float = SRM_ALPHA,
) -> SRMTest:
    """Sample-ratio-mismatch χ² test of arm sizes against the *designed* allocation.

    ``chi2 = Σ_a (n_a - N w_a)² / (N w_a)`` on ``k - 1`` degrees of freedom, with ``w_a``
    the designed share of arm ``a`` and ``N = Σ n_a`` (``scipy.stats.chisquare``). A
    mismatch (``p < alpha``) means the randomisation or the data pipeline lost or added
    customers in some arm [1]_.

    Parameters
    ----------
    observed : mapping of str to int
        Customers per arm.
    shares : mapping of str to float, optional
        Designed share (or weight: they are divided by their sum) per arm; default equal.
        A 95/5 design must say so, or the test flags the design itself.
    alpha : float, default 0.001
        Alert threshold on the p-value.

    Returns
    -------
    SRMTest

    Raises
    ------
    InputError
        If fewer than 2 arms, a count is negative or not whole, or ``shares`` is invalid.

    References
    ----------
    .. [1] Fabijan, A., Gupchup, J., Gupta, S. et al. (2019). Diagnosing Sample Ratio
       Mismatch in Online Controlled Experiments. KDD '19, 2156-2164.
       doi:10.1145/3292500.3330722

    Examples
    --------
    >>> t = srm_test({"A": 9500, "B": 500}, shares={"A": 95, "B": 5})
    >>> t.alert, round(t.chi2, 6)
    (False, 0.0)
    """
    from scipy import stats

    arms = tuple(str(a) for a in observed)
    if len(arms) < 2:
        raise InputError(f"a sample-ratio test needs at least 2 arms; got {list(arms)}.")
    counts = tuple(observed.values())
    if any(isinstance(c, bool) or not float(c).is_integer() or c < 0 for c in counts):
        raise InputError(f"arm sizes must be whole numbers >= 0; got {dict(observed)}.")
    w = designed_shares(arms, shares)
    total = float(sum(counts))
    expected = tuple(total * s for s in w)
    chi2, p = stats.chisquare([float(c) for c in counts], f_exp=list(expected))
    return SRMTest(arms=arms, observed=tuple(int(c) for c in counts), expected=expected,
                   shares=w, chi2=float(chi2), df=len(arms) - 1, p_value=float(p),
                   alpha=float(alpha), alert=bool(p < alpha))
