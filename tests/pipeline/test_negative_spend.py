"""A customer whose refunds exceed their purchases (``preset='none'`` keeps return lines):
the spend steps are skipped with the reason, the others run, and the fix named works."""

from __future__ import annotations

import pandas as pd
import pytest

import valuemax


@pytest.fixture
def negative_log(tmp_path):
    """20 customers with 5 purchases each, plus one large return (C001) and one negative
    price (C002) that leave those two customers below zero."""
    rows = [(f"C{c:03d}", c * 100 + k, f"2024-0{1 + k}-1{k}", f"P{k % 3}", k + 1, 10.5 + k)
            for c in range(1, 21) for k in range(5)]
    rows += [("C001", 88888, "2024-06-01", "P1", -50, 30.0),
             ("C002", 88889, "2024-06-02", "P1", 1, -500.0)]
    frame = pd.DataFrame(rows, columns=["customer_id", "invoice", "date", "product",
                                        "quantity", "price"])
    path = tmp_path / "neg.csv"
    frame.to_csv(path, index=False)
    spend = (frame["quantity"] * frame["price"]).groupby(frame["customer_id"]).sum()
    return path, spend


def test_negative_totals_skip_the_spend_steps_and_the_rest_runs(negative_log):
    path, spend = negative_log
    assert sorted(spend[spend < 0].index) == ["C001", "C002"]
    res = valuemax.analyze(str(path), preset="none", out=None, random_state=0)
    # every line kept (preset none removes only unusable lines), every customer scored
    assert len(res.customers) == 20
    got = res.customers.set_index("customer_id")["total_spend"].sort_index()
    pd.testing.assert_series_equal(got, spend.sort_index(), check_names=False)
    reason = res.skipped["kmeans"]
    assert "2 of 20 customers have a negative total spend" in reason
    assert "customer_id C001, C002" in reason and f"smallest {spend.min():.2f}" in reason
    assert "kmeans" not in res.tracebacks and "stats" in res.skipped
    assert set(res.customers["segment"]) <= set(valuemax.segment.SEGMENT_NAMES)


def test_the_fix_named_in_the_reason_runs(negative_log):
    path, _ = negative_log
    res = valuemax.analyze(str(path), preset="standard", clusters="none", out=None,
                           random_state=0)
    assert (res.customers["total_spend"] >= 0).all()
    assert "negative total spend" not in " ".join(res.skipped.values())
