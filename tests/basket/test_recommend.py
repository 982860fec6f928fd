"""recommend on a hand-built log: rule scores, co-occurrence fallback, nothing already bought."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from valuemax.basket import Baskets, mine_rules, recommend
from valuemax.exceptions import InputError

# customers and their baskets
LOG = {"c1": [{"a", "b"}, {"a", "b", "c"}], "c2": [{"a", "b"}, {"d"}], "c3": [{"a"}],
       "c4": [{"c", "d"}], "c5": [{"b", "c"}]}


def make() -> Baskets:
    rows = [(c, b) for c, bs in LOG.items() for b in bs]
    items = sorted({x for _, b in rows for x in b})
    r = [i for i, (_, b) in enumerate(rows) for _ in b]
    col = [items.index(x) for _, b in rows for x in sorted(b)]
    m = sp.csr_matrix((np.ones(len(r), dtype=bool), (r, col)), shape=(len(rows), len(items)))
    return Baskets(matrix=m, items=items, basket_ids=np.arange(len(rows)),
                   customer_ids=np.array([c for c, _ in rows], dtype=object), kind="order")


def cosine(b: Baskets) -> np.ndarray:
    x = b.matrix.toarray().astype(float)
    co = x.T @ x
    d = np.sqrt(np.diag(co))
    cos = co / np.outer(d, d)
    np.fill_diagonal(cos, 0.0)
    return cos


def test_rules_first_then_cooccurrence_never_bought():
    b = make()
    rs = mine_rules(b, min_support=0.25, min_confidence=0.5)
    rec = recommend(rs, b, n=3)
    assert list(rec.columns) == ["customer_id", "rank", "item", "score", "source"]
    bought = {c: set().union(*bs) for c, bs in LOG.items()}
    for row in rec.itertuples():
        assert row.item not in bought[row.customer_id]
    assert rec.groupby("customer_id")["rank"].apply(list).map(
        lambda r: r == list(range(1, len(r) + 1))).all()
    # c3 holds {a}: rule a -> b has confidence n_ab / n_a = 3 / 4
    c3 = rec[rec.customer_id == "c3"].set_index("item")
    assert c3.loc["b", "source"] == "rule" and c3.loc["b", "score"] == pytest.approx(0.75)
    assert c3.loc["b", "rank"] == 1
    # then co-occurrence: mean cosine to the items bought ({a}), computed densely here
    cos = cosine(b)
    items = b.items
    for item in ("c", "d"):
        if item in c3.index:
            assert c3.loc[item, "source"] == "co-occurrence"
            assert c3.loc[item, "score"] == pytest.approx(cos[items.index("a"),
                                                              items.index(item)])
    # c4 holds {c, d}: co-occurrence score is the mean over its two items
    c4 = rec[(rec.customer_id == "c4") & (rec.source == "co-occurrence")].set_index("item")
    for item in c4.index:
        j = items.index(item)
        exp = (cos[items.index("c"), j] + cos[items.index("d"), j]) / 2
        assert c4.loc[item, "score"] == pytest.approx(exp)
    # c1 bought a, b, c: only d is left
    assert rec[rec.customer_id == "c1"]["item"].tolist() == ["d"]


def test_exclude_bought_false_and_bad_n():
    b = make()
    rs = mine_rules(b, min_support=0.25, min_confidence=0.5)
    rec = recommend(rs, b, n=2, exclude_bought=False)
    assert (rec.groupby("customer_id").size() <= 2).all()
    with pytest.raises(InputError, match="n must be an integer >= 1"):
        recommend(rs, b, n=0)
    nocust = Baskets(matrix=b.matrix, items=b.items, basket_ids=b.basket_ids, kind="file")
    with pytest.raises(InputError, match="customer_ids"):
        recommend(rs, nocust)


def test_empty_rules_fall_back_to_cooccurrence():
    b = make()
    rs = mine_rules(b, min_support=0.9)
    assert len(rs.rules) == 0
    rec = recommend(rs, b, n=5)
    assert set(rec["source"]) == {"co-occurrence"} and len(rec) > 0
    assert isinstance(rec, pd.DataFrame) and (rec["score"] > 0).all()


def test_analyze_baskets_on_a_tiny_log_does_not_crash(tx_small):
    import ibis
    import pyarrow as pa

    from valuemax.basket import analyze_baskets

    res = analyze_baskets(ibis.memtable(pa.Table.from_pandas(tx_small)))
    assert res.baskets["n_baskets"] == 7 and res.baskets["n_items"] == 3
    assert res.thresholds["min_count"] == 2 and "chosen from the data" in res.thresholds["reason"]
    d = res.to_dict()
    assert d["n_baskets"] == 7 and d["n_rules"] == len(res.rule_set.rules)
    if res.evaluation is None:
        assert any("holdout evaluation skipped" in x for x in res.notes)
    bought = tx_small.groupby("customer_id")["product_id"].agg(set)
    for row in res.recommendations.itertuples():
        assert row.item not in bought[row.customer_id]
