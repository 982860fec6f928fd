"""Data-driven default thresholds for the main job."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from valuemax._core.exceptions import InputError
from valuemax.basket._baskets import Baskets
from valuemax.basket._guard import estimate_itemsets

#: At least this many baskets hold every frequent itemset.
MIN_BASKETS = 20
#: At most this many frequent items.
MAX_FREQUENT_ITEMS = 500
#: Upper bound of frequent itemsets (guard estimate) the defaults aim below.
TARGET_ITEMSETS = 200_000


def _support_for(min_count: int, n: int) -> tuple[float, int]:
    """The shortest decimal ``s`` (>= 3 significant digits, rounded down) with
    ``ceil(s · n) == min_count``, and that count (``s = 1`` when ``min_count >= n``)."""
    if min_count >= n:
        return 1.0, n
    exact = Fraction(min_count, n)
    for digits in range(3, 18):
        scale = 10 ** (digits - 1 - math.floor(math.log10(min_count / n)))
        s = Fraction(math.floor(exact * scale), scale)
        if math.ceil(s * n) == min_count:
            return float(s), min_count
    return min_count / n, math.ceil(Fraction(str(min_count / n)) * n)


def choose_thresholds(baskets: Baskets) -> dict[str, Any]:
    """Thresholds chosen from the data for :func:`mine_rules`, with the reason.

    ``min_count`` is the largest of: 20 baskets (10 % of the baskets, at least 2, on a log
    of fewer than 200), and the count of the 500th most frequent
    item (so at most about 500 items are frequent); it is raised by 25 % steps until the
    guard's upper bound of frequent itemsets of length <= 3 is below 200,000.
    ``min_support`` is ``min_count / n_baskets`` rounded down to 3 significant digits (the count
    it means is ``ceil(min_support · n_baskets)`` = ``min_count``). ``min_confidence = 0.3``,
    ``min_lift = 1.5`` (the consequent is 50 % more likely with the antecedent than
    without), ``max_len = 3``.

    Parameters
    ----------
    baskets : Baskets
        The incidence to mine.

    Returns
    -------
    dict
        ``min_support``, ``min_confidence``, ``min_lift``, ``max_len``, ``min_count`` and
        ``reason`` (a sentence saying how they were chosen).

    Raises
    ------
    InputError
        If there is no basket.
    """
    n = baskets.n_baskets
    if n == 0:
        raise InputError("choose_thresholds: there is no basket.")
    # 20 baskets; on a log of fewer than 200 baskets, 10 % of them (at least 2)
    floor = min(MIN_BASKETS, max(2, math.ceil(n / 10)))
    counts = np.sort(baskets.item_counts())[::-1]
    by_items = int(counts[MAX_FREQUENT_ITEMS - 1]) if len(counts) >= MAX_FREQUENT_ITEMS else 0
    min_count = max(floor, by_items)
    while True:
        s, eff = _support_for(min_count, n)
        est = estimate_itemsets(baskets.matrix, eff, 3)
        if est <= TARGET_ITEMSETS or s >= 1.0:
            break
        min_count = math.ceil(min_count * 1.25)
    n_freq = int((counts >= eff).sum())
    reason = (f"min_support {s:g} = about {eff:,} of {n:,} baskets: at least {floor} "
              f"baskets per itemset and at most {MAX_FREQUENT_ITEMS} frequent items "
              f"({n_freq:,} items qualify; at most {est:,.0f} itemsets of length <= 3 by the "
              "guard's bound); min_confidence 0.3, min_lift 1.5, max_len 3.")
    return {"min_support": s, "min_confidence": 0.3, "min_lift": 1.5, "max_len": 3,
            "min_count": eff, "reason": reason}


def resolve_thresholds(baskets: Baskets, *, min_support: float | None = None,
                       min_confidence: float | None = None, min_lift: float | None = None,
                       max_len: int | None = None) -> dict[str, Any]:
    """The thresholds to mine with: those given, the others from :func:`choose_thresholds`.

    Giving one threshold never resets the others: ``min_support=0.1`` alone keeps the
    chosen confidence, lift and ``max_len``. ``reason`` names what was given and what was
    chosen (the chosen support's own reason is quoted only when it is used).

    Returns
    -------
    dict
        ``min_support``, ``min_confidence``, ``min_lift``, ``max_len`` and ``reason``.
    """
    given = {"min_support": min_support, "min_confidence": min_confidence,
             "min_lift": min_lift, "max_len": max_len}
    if all(v is not None for v in given.values()):
        return {**given, "reason": "given by the caller"}
    chosen = choose_thresholds(baskets)
    th: dict[str, Any] = {k: (chosen[k] if v is None else v) for k, v in given.items()}
    which = [k for k, v in given.items() if v is None]
    fixed = [f"{k} {v:g}" for k, v in given.items() if v is not None]
    why = (chosen["reason"] if min_support is None else
           "; ".join(f"{k} {chosen[k]:g}" for k in which))
    th["reason"] = ((f"given: {', '.join(fixed)}; " if fixed else "")
                    + f"chosen from the data ({', '.join(which)}): {why}")
    return th
