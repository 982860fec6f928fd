"""choose_targets: exact under uniform costs, greedy within its LP bound otherwise."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, sparse, stats

from valuemax.decide import PROFIT_FORMULA, choose_targets
from valuemax.exceptions import InputError


def _scores(rng, n, *, arms=None, unequal=False):
    rows = []
    for i in range(n):
        for a in (arms or [None]):
            rows.append({"customer_id": f"c{i:02d}", "arm": a,
                         "uplift": rng.uniform(-0.05, 0.2), "clv": rng.uniform(10, 60),
                         "cost": rng.uniform(0.2, 3.0) if unequal else 1.0})
    frame = pd.DataFrame(rows)
    return frame if arms else frame.drop(columns="arm")


def _profits(frame, margin, redemption):
    """Profit per row, computed from the formula directly (not through the package)."""
    return margin * frame["uplift"] * frame["clv"] - frame["cost"] \
        - redemption * frame["uplift"].clip(lower=0)


def _brute_force(frame, profit, budget, cap, arm_col=None):
    """Best total profit over every assignment of at most one option per customer."""
    frame = frame.assign(_p=profit.to_numpy())
    groups = [g for _, g in frame.groupby("customer_id", sort=True)]
    best = 0.0
    for choice in itertools.product(*[[None, *range(len(g))] for g in groups]):
        picked = [g.iloc[k] for g, k in zip(groups, choice, strict=True) if k is not None]
        cost = sum(r["cost"] for r in picked)
        if (budget is not None and cost > budget + 1e-9) or (cap is not None
                                                             and len(picked) > cap):
            continue
        best = max(best, sum(r["_p"] for r in picked))
    return best


def _lp(frame, profit, budget, cap):
    """The LP relaxation solved by HiGHS (an independent check of the dual bound)."""
    codes, uniq = pd.factorize(frame["customer_id"])
    n = len(frame)
    rows = [sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(len(uniq), n))]
    rhs = [np.ones(len(uniq))]
    if budget is not None:
        rows.append(sparse.csr_matrix(frame["cost"].to_numpy()[None, :]))
        rhs.append([budget])
    if cap is not None:
        rows.append(sparse.csr_matrix(np.ones((1, n))))
        rhs.append([cap])
    res = optimize.linprog(-profit.to_numpy(), A_ub=sparse.vstack(rows),
                           b_ub=np.concatenate(rhs), bounds=(0, 1), method="highs")
    return -res.fun


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("arms", [None, ["A", "B"]])
def test_uniform_costs_are_exact_against_brute_force(seed, arms):
    rng = np.random.default_rng(seed)
    n = 8 if arms is None else 6
    frame = _scores(rng, n, arms=arms)
    budget = [2.5, 4.0, None][seed % 3]
    cap = [None, 3, 2][seed % 3]
    r = choose_targets(frame, value="clv", margin=0.6, cost_per_contact="cost",
                       cost_per_redemption=2.0, budget=budget, max_contacts=cap,
                       arm="arm" if arms else None)
    expected = _brute_force(frame, _profits(frame, 0.6, 2.0), budget, cap)
    assert r.exact
    assert r.value == pytest.approx(expected, rel=1e-12, abs=1e-12)
    profit = _profits(frame, 0.6, 2.0)
    assert r.bound == pytest.approx(_lp(frame[profit > 0], profit[profit > 0], budget, cap),
                                    rel=1e-9, abs=1e-9)
    assert r.bound >= r.value - 1e-12
    assert r.targets["customer_id"].is_unique


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("arms", [None, ["A", "B", "C"]])
def test_greedy_never_exceeds_the_bound_and_the_optimum_is_within_the_gap(seed, arms):
    rng = np.random.default_rng(100 + seed)
    n = 9 if arms is None else 5
    frame = _scores(rng, n, arms=arms, unequal=True)
    budget = float(rng.uniform(2.0, 6.0))
    cap = None if seed % 2 else 3
    r = choose_targets(frame, value="clv", margin=0.6, cost_per_contact="cost",
                       cost_per_redemption=2.0, budget=budget, max_contacts=cap,
                       arm="arm" if arms else None)
    profit = _profits(frame, 0.6, 2.0)
    optimum = _brute_force(frame, profit, budget, cap)
    assert r.value <= optimum + 1e-9
    assert optimum <= r.bound + 1e-9
    assert optimum - r.value <= r.gap + 1e-9
    assert r.spend <= budget + 1e-9
    positive = profit > 0
    assert r.bound == pytest.approx(_lp(frame[positive], profit[positive], budget, cap),
                                    rel=1e-6, abs=1e-9)
    assert r.targets["customer_id"].is_unique
    if cap is not None:
        assert len(r.targets) <= cap


def test_single_constraint_gap_is_at_most_one_customer():
    # fractional knapsack: LP bound = greedy prefix + a fraction of the next item, so the
    # gap is below the largest single profit
    rng = np.random.default_rng(7)
    frame = _scores(rng, 400, unequal=True)
    r = choose_targets(frame, value="clv", margin=0.6, cost_per_contact="cost", budget=150.0)
    p = _profits(frame, 0.6, 0.0).to_numpy()
    c = frame["cost"].to_numpy()
    keep = p > 0
    ratio = p[keep] / c[keep]
    order = np.argsort(-ratio, kind="stable")
    cum = np.cumsum(c[keep][order])
    full = int(np.searchsorted(cum, 150.0, side="right"))
    lp = p[keep][order][:full].sum() + (150.0 - (cum[full - 1] if full else 0.0)) \
        / c[keep][order][full] * p[keep][order][full]
    assert r.bound == pytest.approx(lp, rel=1e-7)
    assert 0 <= r.gap <= p.max()


def test_negative_profit_customers_are_never_chosen():
    frame = pd.DataFrame({"customer_id": ["a", "b", "c", "d"],
                          "uplift": [0.3, 0.01, -0.1, 0.05], "clv": 100.0})
    r = choose_targets(frame, value="clv", margin=0.5, cost_per_contact=1.0)
    # profits 14, -0.5, -6, 1.5: only a and d, even without any budget or cap
    assert r.targets["customer_id"].tolist() == ["a", "d"]
    assert r.targets["expected_incremental_profit"].tolist() == pytest.approx([14.0, 1.5])
    assert r.n_unprofitable == 2
    assert (r.targets["expected_incremental_profit"] > 0).all()


def test_profit_formula_with_revenue_and_redemption_columns():
    frame = pd.DataFrame({"customer_id": ["x", "y"], "uplift": [0.2, 0.1],
                          "inc_rev": [30.0, 12.0], "p_redeem": [0.4, 0.5]})
    r = choose_targets(frame, revenue="inc_rev", redeem="p_redeem", margin=0.4,
                       cost_per_contact=0.5, cost_per_redemption=3.0)
    expected = 0.4 * frame["inc_rev"] - 0.5 - 3.0 * frame["p_redeem"]
    got = r.targets.set_index("customer_id")["expected_incremental_profit"]
    assert got.loc[["x", "y"]].to_numpy() == pytest.approx(expected.to_numpy())
    assert "margin" in PROFIT_FORMULA and r.formula == PROFIT_FORMULA


def test_ties_are_broken_by_customer_id_whatever_the_input_order():
    frame = pd.DataFrame({"customer_id": ["e", "b", "d", "a", "c"], "uplift": 0.1,
                          "clv": 50.0})
    r1 = choose_targets(frame, value="clv", margin=1.0, cost_per_contact=1.0, max_contacts=3)
    r2 = choose_targets(frame.iloc[::-1], value="clv", margin=1.0, cost_per_contact=1.0,
                        max_contacts=3)
    assert r1.targets["customer_id"].tolist() == ["a", "b", "c"]
    pd.testing.assert_frame_equal(r1.targets, r2.targets)


def test_best_arm_per_customer_when_the_budget_does_not_bind():
    frame = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "arm": ["mail", "sms"] * 2,
                          "uplift": [0.10, 0.08, 0.02, 0.05], "clv": 100.0,
                          "cost": [2.0, 0.1, 2.0, 0.1]})
    r = choose_targets(frame, value="clv", margin=1.0, cost_per_contact="cost", arm="arm")
    # profits: a/mail 8, a/sms 7.9, b/mail 0, b/sms 4.9
    assert r.exact
    assert dict(zip(r.targets["customer_id"], r.targets["arm"], strict=True)) == {
        "a": "mail", "b": "sms"}
    assert r.value == pytest.approx(12.9)


def test_inputs_are_left_unchanged():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "uplift": [0.1, 0.2], "clv": [5.0, 9.0]})
    before = frame.copy()
    choose_targets(frame, value="clv", margin=0.5, cost_per_contact=0.1)
    pd.testing.assert_frame_equal(frame, before)


def test_the_curve_passes_through_the_chosen_point_and_peaks_there_without_budget():
    rng = np.random.default_rng(3)
    frame = _scores(rng, 200)
    r = choose_targets(frame, value="clv", margin=0.6, cost_per_contact=1.0)
    assert len(r.curve) == r.n_customers + 1
    assert r.curve["expected_profit"].iloc[r.chosen] == pytest.approx(r.value)
    assert r.curve["expected_profit"].idxmax() == r.chosen
    assert r.curve["expected_profit"].iloc[-1] == pytest.approx(
        _profits(frame, 0.6, 0.0).sum())


def test_curve_interval_matches_a_simulation_of_the_uplift_errors():
    rng = np.random.default_rng(11)
    n = 300
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                          "uplift": rng.uniform(0.0, 0.2, n),
                          "se": rng.uniform(0.01, 0.05, n)})
    r = choose_targets(frame, value=40.0, margin=0.5, cost_per_contact=1.0,
                       cost_per_redemption=4.0, max_contacts=100, uplift_se="se",
                       confidence=0.9)
    # simulate: profit = (0.5 * 40 - 4) * u - 1 at the chosen 100 customers
    chosen = frame.set_index("customer_id").loc[r.targets["customer_id"]]
    draws = rng.normal(chosen["uplift"].to_numpy(), chosen["se"].to_numpy(),
                       size=(20000, len(chosen)))
    total = ((0.5 * 40 - 4) * draws - 1).sum(axis=1)
    point = r.curve.iloc[r.chosen]
    assert point["ci_low"] == pytest.approx(np.quantile(total, 0.05), rel=0.01)
    assert point["ci_high"] == pytest.approx(np.quantile(total, 0.95), rel=0.01)
    half = stats.norm.ppf(0.95) * 16 * np.sqrt((chosen["se"] ** 2).sum())
    assert point["ci_high"] - point["expected_profit"] == pytest.approx(half, rel=1e-9)


def test_budget_smaller_than_one_contact_is_an_input_error():
    frame = pd.DataFrame({"customer_id": ["a"], "uplift": [0.5], "clv": [100.0]})
    with pytest.raises(InputError, match=r"budget=0.5 is smaller than one contact: .* costs 2"):
        choose_targets(frame, value="clv", margin=1.0, cost_per_contact=2.0, budget=0.5)


@pytest.mark.parametrize("kw, match", [
    # no "finite number in [0, inf]": a finite number has no infinite bound
    ({"cost_per_contact": -1.0}, r"cost_per_contact=-1.0 must be a finite number >= 0;"),
    ({"cost_per_contact": np.inf}, r"cost_per_contact=inf must be a finite number >= 0;"),
    ({"cost_per_redemption": -0.5}, r"cost_per_redemption=-0.5 must be"),
    ({"cost_per_contact": "neg"}, r"column 'neg' \(cost_per_contact=\) must be >= 0;"
                                  r" 2 of 3 rows do not \(customer_id b, c\)"),
    ({"margin": 0.0}, r"margin=0.0 must be a finite number in \(0, 1\]"),
    ({"budget": -5.0}, r"budget=-5.0 must be a finite amount > 0 \(currency of the contact "
                       r"costs\); for no budget, leave it out\.$"),
    ({"max_contacts": 0}, r"max_contacts=0 must be a whole number >= 1; for no cap on the "
                          r"contacts, leave it out\.$"),
])
def test_bad_costs_and_constraints(kw, match):
    frame = pd.DataFrame({"customer_id": ["a", "b", "c"], "uplift": [0.1, 0.2, 0.3],
                          "clv": 10.0, "neg": [0.0, -1.0, -2.0]})
    args = {"value": "clv", "margin": 1.0, "cost_per_contact": 0.1} | kw
    with pytest.raises(InputError, match=match):
        choose_targets(frame, **args)


def test_bad_scores():
    frame = pd.DataFrame({"customer_id": ["a", "a", "b"], "uplift": [0.1, 0.2, np.nan]})
    with pytest.raises(InputError, match=r"2 rows repeat a customer \(customer_id a, a\)"):
        choose_targets(frame, value=1.0, margin=1.0, cost_per_contact=0.0)
    with pytest.raises(InputError, match=r"not finite for 1 of 2 rows \(customer_id b\)"):
        choose_targets(frame.iloc[1:], value=1.0, margin=1.0, cost_per_contact=0.0)
    with pytest.raises(InputError, match=r"incremental revenue is unknown: pass revenue="):
        choose_targets(frame.iloc[:1], margin=1.0, cost_per_contact=0.0)
    with pytest.raises(InputError, match=r"uplift='lift': column not found; available"):
        choose_targets(frame.iloc[:1], uplift="lift", value=1.0, margin=1.0,
                       cost_per_contact=0.0)


def test_a_probability_given_as_uplift_is_noted():
    """p_buy-like values (all in [0, 1], mean 0.4) get the note with their mean and max; an
    uplift column with the negative estimates every uplift model produces does not."""
    rng = np.random.default_rng(8)
    n = 200
    p_buy = rng.beta(2.0, 3.0, n)
    frame = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "p_buy_90d": p_buy,
                          "uplift": rng.normal(0.03, 0.04, n), "clv": rng.uniform(20, 200, n)})
    looks = choose_targets(frame, uplift="p_buy_90d", value="clv", margin=0.3,
                           cost_per_contact=1.0)
    assert looks.notes[0].startswith(
        f"uplift column 'p_buy_90d' looks like a purchase probability rather than an uplift: "
        f"its 200 values are all in [0, 1], none negative (mean {p_buy.mean():.2f}, max "
        f"{p_buy.max():.2f})")
    real = choose_targets(frame, uplift="uplift", value="clv", margin=0.3, cost_per_contact=1.0)
    assert (frame["uplift"] < 0).any()
    assert not any("looks like a purchase probability" in n for n in real.notes)
