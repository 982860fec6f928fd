"""Online Retail end to end (standard cleaning): baskets, rules, recommendations, holdout.

Figures measured on this file with the standard preset (cancellations, returns and
non-product codes quarantined): 18,405 invoices with a product, 3,659 stock codes, 386,354
distinct (invoice, product) pairs.
"""

from __future__ import annotations

import json

import pytest

from valuemax.basket import analyze_baskets, build_baskets


@pytest.fixture(scope="module")
def result(retail_tx):
    return analyze_baskets(retail_tx)


def test_baskets_figures(retail_tx):
    b = build_baskets(retail_tx)
    assert (b.n_baskets, b.n_items, b.kind, b.item_column) == (18_405, 3_659, "order",
                                                                "product_id")
    assert b.matrix.nnz == 386_354
    exp = (retail_tx.filter(retail_tx.product_id.notnull())
           .select("order_id", "product_id").distinct().count().to_pyarrow().as_py())
    assert b.matrix.nnz == exp


def test_rules_counts_agree_with_sql(result, retail_tx):
    rs = result.rule_set
    th = result.thresholds
    assert th["max_len"] == 3 and th["min_confidence"] == 0.3 and th["min_lift"] == 1.5
    assert "chosen from the data" in th["reason"]
    assert len(rs.rules) > 100
    assert (rs.rules["confidence"] >= 0.3).all() and (rs.rules["lift"] >= 1.5).all()
    assert (rs.rules["count"] >= th["min_count"]).all()
    t = retail_tx.filter(retail_tx.product_id.notnull()).select("order_id", "product_id")
    t = t.distinct()
    for row in rs.rules.head(5).itertuples():
        items = row.antecedents + row.consequents
        per = t.filter(t.product_id.isin(items)).group_by("order_id").aggregate(
            k=t.product_id.count())
        n_ac = per.filter(per.k == len(items)).count().to_pyarrow().as_py()
        assert n_ac == row.count
        n_a = (t.filter(t.product_id.isin(row.antecedents)).group_by("order_id")
               .aggregate(k=t.product_id.count()))
        n_a = n_a.filter(n_a.k == len(row.antecedents)).count().to_pyarrow().as_py()
        assert row.confidence == pytest.approx(n_ac / n_a, rel=1e-12)


def test_recommendations_beat_popularity(result):
    ev = result.evaluation
    assert ev["n_customers_evaluated"] > 1_000
    assert ev["hit_rate_at_n"] > ev["baseline_hit_rate_at_n"] * 1.5
    assert ev["recall_at_n"] > ev["baseline_recall_at_n"]
    assert ev["split_date"] == "2011-10-27"


def test_recommendations_and_summary(result):
    rec = result.recommendations
    assert rec["customer_id"].nunique() > 4_000
    assert (rec.groupby("customer_id").size() <= 5).all()
    assert set(rec["source"]) == {"rule", "co-occurrence"}
    d = result.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["n_baskets"] == 18_405 and d["n_rules"] == len(result.rule_set.rules)
    assert d["hit_rate_at_n"] > d["baseline_hit_rate_at_n"]
    assert result.item_lift.shape == (15, 15)
