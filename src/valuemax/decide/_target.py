"""Whom to contact under a budget and/or a contact cap, for the most expected incremental profit.

Uniform contact costs: exact (take the most profitable customers). Unequal costs or several
arms: a greedy by profit per unit cost, reported with the Lagrangian (= linear-programming)
upper bound on the best possible value, so the distance to the optimum is known.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.decide._profit import PROFIT_FORMULA, Options, option_table

#: Columns of the target list, in order (what a CRM loads).
TARGET_COLUMNS: tuple[str, ...] = ("customer_id", "arm", "expected_incremental_profit", "rank")


@dataclass(frozen=True)
class TargetResult:
    """The chosen customers, the value reached, its upper bound and the profit curve.

    Attributes
    ----------
    targets : pandas.DataFrame
        One row per chosen customer, columns ``customer_id`` (str), ``arm`` (str),
        ``expected_incremental_profit`` (currency), ``rank`` (int, 1 = taken first).
    value : float
        Total expected incremental profit of ``targets`` (currency).
    spend : float
        Total contact cost of ``targets`` (currency; what the budget caps).
    bound : float
        Upper bound on the best achievable value: the linear-programming relaxation's value
        (a fraction of a customer may be contacted), computed as its Lagrangian dual.
    gap : float
        ``bound - value`` (>= 0): the chosen list is at most this far from the optimum.
    exact : bool
        True when ``value`` is proven optimal (uniform contact costs, or no binding budget).
    method : str
        How the list was chosen, in words.
    formula : str
        The profit formula (:data:`PROFIT_FORMULA`).
    budget, max_contacts : float or None, int or None
        The constraints given.
    n_customers : int
        Distinct customers in the scores.
    n_unprofitable : int
        Customers with no option of positive expected profit (never contacted).
    curve : pandas.DataFrame
        Profit curve, one row per number contacted ``0..n_customers``: ``n_contacted``,
        ``spend`` and ``expected_profit`` (cumulative, currency) in the order customers are
        ranked (chosen ones first, then the others by the same rule, the unprofitable last),
        and, when standard errors were given, ``ci_low``/``ci_high``.
    chosen : int
        The curve's row of the chosen point (``len(targets)``).
    confidence : float
        Level of the curve's interval.
    notes : tuple of str
    """

    targets: pd.DataFrame
    value: float
    spend: float
    bound: float
    gap: float
    exact: bool
    method: str
    formula: str
    budget: float | None
    max_contacts: int | None
    n_customers: int
    n_unprofitable: int
    curve: pd.DataFrame
    chosen: int
    confidence: float
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Scalars and the chosen curve point as a JSON-ready dict (no per-customer rows)."""
        point = self.curve.iloc[self.chosen].to_dict()
        return {
            "n_targets": len(self.targets), "value": self.value, "spend": self.spend,
            "bound": self.bound, "gap": self.gap, "exact": self.exact, "method": self.method,
            "formula": self.formula, "budget": self.budget, "max_contacts": self.max_contacts,
            "n_customers": self.n_customers, "n_unprofitable": self.n_unprofitable,
            "chosen_point": {k: float(v) for k, v in point.items()},
            "confidence": self.confidence, "notes": list(self.notes),
        }


def _order(opts: Options, key: np.ndarray) -> np.ndarray:
    """Indices sorted by ``key`` descending, ties by customer_id then arm ascending."""
    return np.lexsort((opts.arm_code, opts.code, -key))


def _subset(opts: Options, rows: np.ndarray) -> Options:
    """The options at ``rows`` (a boolean mask or indices)."""
    return Options(opts.customer_id[rows], opts.arm[rows], opts.profit[rows], opts.cost[rows],
                   None if opts.profit_se is None else opts.profit_se[rows], opts.code[rows],
                   opts.arm_code[rows])


def _first_per_customer(opts: Options, order: np.ndarray) -> np.ndarray:
    """Keep, in ``order``, each customer's first option."""
    return order[_first_mask(opts.code[order])]


def _first_mask(codes: np.ndarray) -> np.ndarray:
    """True at the first occurrence of each code."""
    first = np.zeros(len(codes), bool)
    first[np.unique(codes, return_index=True)[1]] = True
    return first


def _ratio(profit: np.ndarray, cost: np.ndarray) -> np.ndarray:
    out = np.full(profit.shape, np.inf)
    np.divide(profit, cost, out=out, where=cost > 0)
    return out


def _greedy(opts: Options, order: np.ndarray, budget: float, cap: float) -> list[int]:
    """Sequential greedy over ``order``: take an option if its customer is free and it fits.

    Run in vectorised passes: each pass takes the longest prefix (first option per free
    customer) that fits both the remaining budget and the remaining cap, then skips the
    option that did not fit and continues after it.
    """
    chosen: list[np.ndarray] = []
    taken = np.zeros(int(opts.code.max()) + 1 if len(opts.code) else 0, bool)
    rest = order
    left, slots = budget, cap
    while len(rest) and slots > 0:
        keep = ~taken[opts.code[rest]]
        keep &= opts.cost[rest] <= left
        rest = rest[keep]
        if not len(rest):
            break
        first = _first_mask(opts.code[rest])
        cand = rest[first]
        fits = (np.cumsum(opts.cost[cand]) <= left) & (np.arange(1, len(cand) + 1) <= slots)
        n_fit = int(np.argmin(fits)) if not fits.all() else len(cand)
        took = cand[:n_fit]
        chosen.append(took)
        taken[opts.code[took]] = True
        left -= float(opts.cost[took].sum())
        slots -= n_fit
        if n_fit == len(cand):
            break
        blocker = cand[n_fit]
        pos = int(np.flatnonzero(rest == blocker)[0])
        rest = rest[pos + 1:]
    return [int(i) for part in chosen for i in part]


def _uniform_bound(best: np.ndarray, cost: float, budget: float | None,
                   cap: int | None) -> float:
    """LP value with one contact cost: ``k = min(cap, budget / cost)`` customers, fractional.

    ``best`` holds each customer's best profit, descending. With equal costs an arm other
    than the best never helps, so the LP takes the ``floor(k)`` best and ``k - floor(k)`` of
    the next.
    """
    k = float(len(best))
    if cap is not None:
        k = min(k, float(cap))
    if budget is not None and cost > 0:
        k = min(k, budget / cost)
    whole = math.floor(k)
    frac = best[whole] * (k - whole) if whole < len(best) else 0.0
    return float(best[:whole].sum() + frac)


def _fractional_knapsack(profit: np.ndarray, cost: np.ndarray, budget: float) -> float:
    """LP value of a 0-1 knapsack (one option per customer): by ratio, the last one split."""
    order = np.argsort(-_ratio(profit, cost), kind="stable")
    used = np.cumsum(cost[order])
    whole = int(np.searchsorted(used, budget, side="right"))
    total = float(profit[order][:whole].sum())
    if whole < len(order):
        left = budget - (float(used[whole - 1]) if whole else 0.0)
        total += float(profit[order][whole]) * left / float(cost[order][whole])
    return total


def _lp_bound(opts: Options, budget: float | None, cap: float | None) -> tuple[float, float]:
    """Lagrangian dual of the LP relaxation (one arm per customer kept in the inner problem).

    ``L(lam, mu) = lam * budget + mu * cap + sum_i max(0, max_a(p_ia - lam * c_ia - mu))``
    is an upper bound for every ``lam, mu >= 0`` (weak duality) and its minimum equals the LP
    value (strong duality). It is convex; minimised by nested bounded Brent searches.
    Returns the bound and the budget's multiplier ``lam`` (0 when not searched).
    """
    from scipy import optimize  # lazy: importing valuemax (and its CLI) loads no scipy

    codes = opts.code
    by_customer = np.argsort(codes, kind="stable")
    profit, cost = opts.profit[by_customer], opts.cost[by_customer]
    starts = np.flatnonzero(np.r_[True, np.diff(codes[by_customer]) != 0])
    one_each = len(starts) == len(codes)
    if one_each and budget is not None and cap is None:
        return _fractional_knapsack(opts.profit, opts.cost, budget), 0.0

    def inner(lam: float, mu: float) -> float:
        reduced = profit - lam * cost - mu
        best = reduced if one_each else np.maximum.reduceat(reduced, starts)
        return float(np.maximum(best, 0.0).sum())

    def over_lam(mu: float) -> tuple[float, float]:
        base = (mu * cap) if cap is not None else 0.0
        if budget is None:
            return base + inner(0.0, mu), 0.0
        hi = float(np.max(_ratio(np.maximum(opts.profit, 0.0), opts.cost), initial=0.0))
        if not np.isfinite(hi) or hi <= 0:
            hi = float(np.max(opts.profit, initial=0.0)) / max(budget, 1e-12) + 1.0
        f = lambda lam: base + budget * lam + inner(lam, mu)  # noqa: E731
        res = optimize.minimize_scalar(f, bounds=(0.0, hi), method="bounded",
                                       options={"xatol": 1e-10 * max(hi, 1.0)})
        return min((float(res.fun), float(res.x)), (f(0.0), 0.0), (f(hi), hi))

    if cap is None:
        return over_lam(0.0)
    hi = float(np.max(opts.profit, initial=0.0))
    res = optimize.minimize_scalar(lambda mu: over_lam(mu)[0], bounds=(0.0, hi),
                                   method="bounded", options={"xatol": 1e-10 * max(hi, 1.0)})
    return min(over_lam(float(res.x)), over_lam(0.0), over_lam(hi))


#: An uplift column looks like a purchase probability when it has at least this many values,
#: none negative, a mean above PROBABILITY_MEAN and a maximum above PROBABILITY_MAX.
PROBABILITY_MIN_N = 50
PROBABILITY_MEAN = 0.1
PROBABILITY_MAX = 0.5


def probability_like_note(values: Any, column: str) -> str | None:
    """A note when an "uplift" column looks like a purchase probability, else None.

    An uplift is a difference of probabilities, ``P(buy | contacted) - P(buy | not
    contacted)``: a few points on average, and estimated below zero for some customers by
    any uplift model (noise alone does it). A column of at least
    :data:`PROBABILITY_MIN_N` values all in ``[0, 1]``, none negative, with a mean above
    :data:`PROBABILITY_MEAN` and a maximum above :data:`PROBABILITY_MAX` is much more likely
    a propensity such as ``p_buy_90d``, which credits the campaign with purchases that would
    happen anyway. A heuristic: the note asks, it does not refuse.

    Parameters
    ----------
    values : array-like of float
        The uplift column.
    column : str
        Its name (for the note).

    Returns
    -------
    str or None

    Examples
    --------
    >>> probability_like_note([0.9, 0.7, 0.6, 0.2] * 20, "p_buy_90d")[:59]
    "uplift column 'p_buy_90d' looks like a purchase probability"
    >>> probability_like_note([0.05, -0.01, 0.02, 0.6] * 20, "uplift") is None
    True
    """
    u = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)
    u = u[np.isfinite(u)]
    if (len(u) < PROBABILITY_MIN_N or u.min() < 0 or u.max() > 1
            or u.mean() <= PROBABILITY_MEAN or u.max() <= PROBABILITY_MAX):
        return None
    return (f"uplift column {column!r} looks like a purchase probability rather than an "
            f"uplift: its {len(u):,} values are all in [0, 1], none negative (mean "
            f"{u.mean():.2f}, max {u.max():.2f}). An uplift is P(buy | contacted) - P(buy | "
            "not contacted), a few points on average and below zero for some customers; a "
            "propensity such as p_buy_90d credits the campaign with purchases that would "
            "happen anyway and overstates every profit here. Score the uplift from a test "
            "campaign with valuemax uplift (uplift_scores.csv)")


def choose_targets(
    scores: Any,
    *,
    uplift: str = "uplift",
    revenue: str | None = None,
    value: float | str | None = None,
    redeem: str | None = None,
    margin: float,
    cost_per_contact: float | str,
    cost_per_redemption: float = 0.0,
    budget: float | None = None,
    max_contacts: int | None = None,
    customer_id: str = "customer_id",
    arm: str | None = None,
    arm_label: str = "treatment",
    uplift_se: str | None = None,
    revenue_se: str | None = None,
    confidence: float = 0.95,
) -> TargetResult:
    """Choose whom to contact (and with which arm) for the most expected incremental profit.

    For every (customer ``i``, arm ``a``) option::

        expected_incremental_profit = margin * incremental_revenue
                                      - cost_per_contact - cost_per_redemption * P(redeem)

    with ``incremental_revenue = revenue`` (a column of incremental revenue per contacted
    customer) or ``uplift * value`` (incremental purchase probability times the revenue of a
    purchase, e.g. a CLV column or an average order value); ``P(redeem)`` is the ``redeem``
    column or, without one, ``max(uplift, 0)`` -- only incremental buyers redeem, which
    understates the redemption cost when customers who would have bought anyway also redeem
    (pass ``redeem=`` their treated purchase probability then). Customers whose best option's
    profit is <= 0 are never contacted; each customer gets at most one arm.

    The budget caps the total contact cost ``sum cost_per_contact`` (known when the list is
    sent); redemption costs are a random outcome and enter the profit, not the budget.

    - Every option has the same contact cost: exact. Each customer's best arm, then the
      ``min(max_contacts, floor(budget / cost))`` most profitable customers.
    - Otherwise: greedy over the (customer, arm) options sorted by profit per unit contact
      cost (free contacts first), taking an option when its customer is still free and it
      fits the remaining budget and cap (skipping those that do not fit). The greedy also
      runs by the Lagrangian reduced profit ``p - lam * c`` (``lam`` the budget's multiplier
      at the LP bound: each customer then gets the LP's arm) and, with both a budget and a
      cap, by profit per ``cost / budget + 1 / max_contacts`` and by profit; the best of the
      lists is kept (``method`` names it). The result is the better of that list and
      the single most profitable option that fits (which bounds the loss by half the optimum
      in the one-constraint, one-arm case). ``bound`` is the value of the
      linear-programming relaxation (multiple-choice knapsack with a cardinality row),
      computed as its Lagrangian dual, so ``value <= optimum <= bound``.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per customer (or per (customer, arm) when ``arm`` is given).
    uplift : str, default "uplift"
        Column of incremental purchase probability per customer, in [-1, 1].
    revenue : str, optional
        Column of incremental revenue per contacted customer (currency).
    value : float or str, optional
        Revenue per incremental purchase (currency, >= 0), a number or a column; used when
        ``revenue`` is not given.
    redeem : str, optional
        Column of P(redeem | contacted), in [0, 1].
    margin : float
        Profit share of revenue, in (0, 1].
    cost_per_contact : float or str
        Contact cost (currency, >= 0): a number, or a column for unequal costs.
    cost_per_redemption : float, default 0
        Cost of one redeemed offer (currency, >= 0).
    budget : float, optional
        Cap on the total contact cost (currency, > 0).
    max_contacts : int, optional
        Cap on the number of customers contacted (>= 1).
    customer_id : str, default "customer_id"
    arm : str, optional
        Column naming the arm (offer) of each option: several rows per customer.
    arm_label : str, default "treatment"
        Arm written in the target list when ``arm`` is not given.
    uplift_se, revenue_se : str, optional
        Columns of standard errors of ``uplift`` and ``revenue`` (independent errors): the
        profit curve then has a normal interval (exact for normal, independent errors).
    confidence : float, default 0.95
        Level of the curve's interval.

    Returns
    -------
    TargetResult
        Its ``notes`` say, among others, when ``uplift`` looks like a purchase probability
        rather than an uplift (:func:`probability_like_note`).

    Raises
    ------
    InputError
        If a column is missing, not numeric, not finite or out of range (ids named); a
        customer (or (customer, arm)) repeats; a cost, margin or budget is negative or not
        finite; the budget is smaller than the cheapest profitable contact; neither
        ``revenue`` nor ``value`` is given.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"customer_id": ["a", "b", "c"], "uplift": [0.10, 0.02, 0.05]})
    >>> r = choose_targets(s, value=100.0, margin=0.5, cost_per_contact=1.0, max_contacts=2)
    >>> r.targets[["customer_id", "expected_incremental_profit", "rank"]].to_numpy().tolist()
    [['a', 4.0, 1], ['c', 1.5, 2]]
    """
    opts = option_table(scores, uplift=uplift, revenue=revenue, value=value, redeem=redeem,
                        margin=margin, cost_per_contact=cost_per_contact,
                        cost_per_redemption=cost_per_redemption, customer_id=customer_id,
                        arm=arm, arm_label=arm_label, uplift_se=uplift_se,
                        revenue_se=revenue_se)
    budget = _check_limits(budget, max_contacts, confidence)
    n_customers = int(opts.code.max()) + 1
    positive = opts.profit > 0
    if budget is not None and positive.any():
        cheapest = float(opts.cost[positive].min())
        if budget < cheapest:
            raise InputError(f"budget={budget:g} is smaller than one contact: the cheapest "
                             f"profitable contact costs {cheapest:g}. Raise the budget "
                             "(--budget) or lower the cost per contact (--cost-per-contact).")
    good = _subset(opts, positive)
    n_unprofitable = n_customers - len(np.unique(good.code))
    cap = float(max_contacts) if max_contacts is not None else math.inf
    left = budget if budget is not None else math.inf
    by_profit = _first_per_customer(good, _order(good, good.profit))
    uniform = len(good.cost) == 0 or float(np.ptp(good.cost)) == 0.0
    notes: list[str] = []
    if float(good.cost[by_profit].sum()) <= left and len(by_profit) <= cap:
        picked = by_profit.tolist()
        ranking = _order(good, good.profit)
        exact = True
        method = ("exact: the budget and cap do not bind, so every customer with a "
                  "profitable option is contacted with their most profitable arm")
    elif uniform:
        k = len(by_profit)
        if budget is not None and good.cost[0] > 0:
            k = min(k, math.floor(budget / float(good.cost[0]) * (1 + 1e-12)))
        picked = by_profit[:int(min(k, cap))].tolist()
        ranking = _order(good, good.profit)
        exact = True
        method = ("exact: every contact costs the same, so the most profitable customers "
                  "(best arm each) are taken, up to the budget and cap")
    else:
        picked, ranking, method, bound = _greedy_choice(good, budget, max_contacts, left,
                                                        cap, notes)
        exact = False
    value_ = float(good.profit[picked].sum())
    if exact and not uniform:
        bound = value_  # nothing binds: every customer's best option is taken
    elif uniform:
        bound = _uniform_bound(good.profit[by_profit], float(good.cost[0]) if len(good.cost)
                               else 0.0, budget, max_contacts)
    bound = max(bound, value_)  # the dual search stops within rounding of the LP value
    targets = pd.DataFrame({
        "customer_id": good.customer_id[picked].astype(str),
        "arm": good.arm[picked].astype(str),
        "expected_incremental_profit": good.profit[picked],
        "rank": np.arange(1, len(picked) + 1, dtype="int64"),
    })
    curve = _curve(opts, good, picked, ranking, confidence)
    if revenue is None and isinstance(scores, pd.DataFrame) and uplift in scores:
        looks = probability_like_note(scores[uplift], uplift)
        if looks:
            notes.insert(0, looks)
    if n_unprofitable:
        notes.append(f"{n_unprofitable:,} of {n_customers:,} customers have no option with "
                     "positive expected profit and are never contacted")
    return TargetResult(targets=targets, value=value_, spend=float(good.cost[picked].sum()),
                        bound=bound, gap=bound - value_, exact=exact, method=method,
                        formula=PROFIT_FORMULA, budget=budget, max_contacts=max_contacts,
                        n_customers=n_customers, n_unprofitable=n_unprofitable, curve=curve,
                        chosen=len(picked), confidence=confidence, notes=tuple(notes))


def _greedy_choice(good: Options, budget: float | None, max_contacts: int | None,
                   left: float, cap: float, notes: list[str]
                   ) -> tuple[list[int], np.ndarray, str, float]:
    """When the budget or cap binds and costs differ: the best of several greedy orders
    over (customer, arm) options (ratio, Lagrangian, both-constraint ratio, profit), or the
    single most profitable contact when it beats them (a note says so); the picked options,
    the ranking, the method in words and the LP bound (Lagrangian duality)."""
    bound, lam = _lp_bound(good, budget, max_contacts)
    keys = {"profit per unit contact cost": _ratio(good.profit, good.cost)}
    if lam > 0:
        # the LP's own choice: each customer's option of largest reduced profit
        keys["Lagrangian reduced profit p - lam * c (lam from the LP bound)"] = \
            good.profit - lam * good.cost
    if budget is not None and max_contacts is not None:
        # both constraints: cost measured in shares of each constraint's capacity
        keys["profit per share of budget plus share of cap"] = good.profit / (
            good.cost / budget + 1.0 / max_contacts)
        keys["profit"] = good.profit
    runs = []
    for name, key in keys.items():
        order = _order(good, key)
        chosen_ = _greedy(good, order, left, cap)
        runs.append((float(good.profit[chosen_].sum()), name, order, chosen_))
    best_run = max(runs, key=lambda run: run[0])  # first of equals: the order above
    _, name, ranking, picked = best_run
    method = (f"greedy by {name} over (customer, arm) options, one arm per customer, "
              "skipping options that do not fit"
              + (f" (best of {len(runs)} orders: {', '.join(keys)})" if len(runs) > 1
                 else "")
              + "; LP bound by Lagrangian duality")
    fit = np.flatnonzero(good.cost <= left)
    if len(fit):
        single = int(fit[np.lexsort((good.arm[fit].astype(str),
                                     good.customer_id[fit].astype(str),
                                     -good.profit[fit]))[0]])
        if float(good.profit[single]) > float(good.profit[picked].sum()):
            picked = [single]
            notes.append("the single most profitable contact that fits beats the greedy "
                         "list: it is kept alone")
    return picked, ranking, method, bound


def _check_limits(budget: Any, max_contacts: Any, confidence: Any) -> float | None:
    """The budget as a float (or None) after checking the budget, the contact cap and the
    confidence of :func:`choose_targets`."""
    if budget is not None:
        if isinstance(budget, bool) or not isinstance(budget, (int, float)) \
                or not math.isfinite(budget) or budget <= 0:
            raise InputError(f"budget={budget!r} must be a finite amount > 0 (currency of the "
                             "contact costs); for no budget, leave it out.")
        budget = float(budget)
    if max_contacts is not None and (isinstance(max_contacts, bool)
                                     or not isinstance(max_contacts, (int, np.integer))
                                     or max_contacts < 1):
        raise InputError(f"max_contacts={max_contacts!r} must be a whole number >= 1; for no "
                         "cap on the contacts, leave it out.")
    if not 0 < confidence < 1:
        raise InputError(f"confidence={confidence!r} must lie in (0, 1), e.g. 0.95.")
    return budget


def _curve(opts: Options, good: Options, picked: list[int], ranking: np.ndarray,
           confidence: float) -> pd.DataFrame:
    """Cumulative expected profit against customers contacted, in rank order.

    Chosen customers first (in rank), then the other profitable customers' first option in
    ``ranking``, then the unprofitable customers' best option by profit (descending), so the
    curve shows the fall past the optimum.
    """
    in_list = np.zeros(int(opts.code.max()) + 1, bool)
    in_list[good.code[picked]] = True
    seen = in_list[good.code[ranking]]
    rest = _first_per_customer(good, ranking[~seen])
    order = np.concatenate([np.asarray(picked, dtype="int64"), rest]).astype("int64")
    profit = good.profit[order]
    cost = good.cost[order]
    se = good.profit_se[order] if good.profit_se is not None else None
    has_good = np.zeros(int(opts.code.max()) + 1, bool)
    has_good[good.code] = True
    lost = np.flatnonzero(~has_good[opts.code])
    if len(lost):
        sub = _subset(opts, lost)
        o = _first_per_customer(sub, _order(sub, sub.profit))
        profit = np.concatenate([profit, sub.profit[o]])
        cost = np.concatenate([cost, sub.cost[o]])
        if se is not None:
            se = np.concatenate([se, opts.profit_se[lost][o]])
    frame = pd.DataFrame({
        "n_contacted": np.arange(len(profit) + 1, dtype="int64"),
        "spend": np.concatenate([[0.0], np.cumsum(cost)]),
        "expected_profit": np.concatenate([[0.0], np.cumsum(profit)]),
    })
    if se is not None:
        from scipy import stats  # lazy, as above

        z = float(stats.norm.ppf(0.5 + confidence / 2))
        half = z * np.sqrt(np.concatenate([[0.0], np.cumsum(se ** 2)]))
        frame["ci_low"] = frame["expected_profit"] - half
        frame["ci_high"] = frame["expected_profit"] + half
    return frame
