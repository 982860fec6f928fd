"""The basket step's fast paths give the results of the direct computations they replace.

Each path is checked against an independent computation on a small seeded log: Arrow codes
against ``pandas.factorize``, pruned FP-growth against brute-force subset counts, sparse
top-n against a dense sort, the popularity shortcut against scoring every item, the
training baskets cut from all baskets against baskets built from the training lines, and
the evaluation with them against the public evaluation.
"""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.sparse as sp

from valuemax.basket import build_baskets, mine_rules, recommend
from valuemax.basket._baskets import Baskets, from_codes, sorted_codes, split_baskets
from valuemax.basket._evaluate import _popularity_for, evaluate_recommendations, evaluate_with
from valuemax.basket._recommend import customer_items, recommend_for, top_n_sparse


def _log(seed: int = 0, n_lines: int = 3_000) -> pd.DataFrame:
    """Customers with mostly one-item orders and some rich ones, over 60 days."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, 150, n_lines)
    day = rng.integers(0, 60, n_lines)
    grouped = np.array([f"o{c}-{d // 15}" for c, d in zip(cust, day, strict=True)])
    order = np.where(rng.random(n_lines) < 0.5, grouped, [f"u{i}" for i in range(n_lines)])
    # skewed item popularity so that some pairs are frequent
    item = np.minimum(rng.geometric(0.08, n_lines), 60)
    return pd.DataFrame({
        "customer_id": [f"c{c:03d}" for c in cust],
        "order_id": order,
        "order_ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(day, unit="D")
        + pd.to_timedelta(rng.integers(0, 3600, n_lines), unit="s"),
        "product_id": [f"p{i:02d}" for i in item]})


@pytest.fixture(scope="module")
def tx():
    return ibis.memtable(pa.Table.from_pandas(_log(), preserve_index=False))


def test_sorted_codes_equal_pandas_factorize():
    rng = np.random.default_rng(1)
    words = np.array(["b", "a", "é", "Z", "aa", "ä", "10", "9", "会员", "z"], dtype=object)
    values = words[rng.integers(0, len(words), 500)]
    codes, uniques = sorted_codes(pa.array(values))
    exp_codes, exp_uniques = pd.factorize(pd.Series(values, dtype=object), sort=True)
    assert uniques.to_pylist() == list(exp_uniques)
    np.testing.assert_array_equal(codes, exp_codes)


def test_pruned_mining_equals_brute_force_counts():
    from itertools import combinations

    rng = np.random.default_rng(2)
    n, m = 400, 12
    # 70 % one-item baskets (pruned before FP-growth), the rest 2-5 items
    sizes = np.where(rng.random(n) < 0.7, 1, rng.integers(2, 6, n))
    rows, cols = [], []
    for b, k in enumerate(sizes):
        picked = rng.choice(m, size=k, replace=False, p=np.linspace(2, 1, m) / np.linspace(
            2, 1, m).sum())
        rows += [b] * k
        cols += list(picked)
    mat = from_codes(np.array(rows), np.array(cols), n, m)
    items = [f"i{j:02d}" for j in range(m)]
    b = Baskets(matrix=mat, items=items, basket_ids=np.arange(n))
    dense = mat.toarray()
    for max_len in (1, 2, 3, None):
        rs = mine_rules(b, min_support=0.03, max_len=max_len)
        min_count = rs.thresholds["min_count"]
        got = dict(zip(rs.itemsets["itemset"], rs.itemsets["count"], strict=True))
        exp = {}
        top = m if max_len is None else max_len
        for k in range(1, top + 1):
            for sub in combinations(range(m), k):
                c = int(dense[:, list(sub)].all(axis=1).sum())
                if c >= min_count:
                    exp[tuple(items[j] for j in sub)] = c
        assert got == exp
        assert any(len(s) >= 2 for s in got) or max_len == 1


@pytest.mark.parametrize("share", [0.01, 0.3, 0.9])
def test_top_n_sparse_equals_dense_sort(share, monkeypatch):
    """Sparse (1% stored: the sort of stored entries) and dense scores (30%, 90%: the
    partition of dense row blocks, blocks of 7 rows here so that several are joined) give
    each row's top 4 by score then column, ties (scores of sevenths) included."""
    import valuemax.basket._recommend as rec

    monkeypatch.setattr(rec, "_BLOCK", 7 * 30)
    rng = np.random.default_rng(3)
    dense = np.where(rng.random((50, 30)) < share, rng.integers(1, 6, (50, 30)) / 7.0, 0.0)
    bought = sp.csr_matrix(rng.random((50, 30)) < 0.1)
    r, c, v = top_n_sparse(sp.csr_matrix(dense), bought, 4)
    assert (np.diff(r) >= 0).all()
    for i in range(50):
        row = dense[i].copy()
        row[bought[i].toarray().ravel()] = 0.0
        order = sorted((j for j in range(30) if row[j] > 0), key=lambda j: (-row[j], j))[:4]
        assert list(c[r == i]) == order
        np.testing.assert_array_equal(v[r == i], row[order])


def test_popularity_shortcut_equals_scoring_every_item(tx):
    b = build_baskets(tx)
    custs, hist = customer_items(b)
    got = _popularity_for(b, custs, hist, 5)
    pop = b.item_counts()
    rank = sorted(range(b.n_items), key=lambda j: (-pop[j], j))
    for i in range(0, len(custs), 7):
        owned = set(hist[i].indices)
        exp = [b.items[j] for j in rank if j not in owned][:5]
        assert got.loc[got.customer_id == custs[i], "item"].tolist() == exp


def test_recommend_for_a_subset_equals_recommend_on_all(tx):
    b = build_baskets(tx)
    rs = mine_rules(b, min_support=0.004, min_confidence=0.05)
    assert len(rs.rules) > 0
    full = recommend(rs, b, n=5)
    custs, hist = customer_items(b)
    sel = np.arange(0, len(custs), 3)
    part = recommend_for(rs, b, custs[sel], hist[sel], n=5)
    exp = full[full.customer_id.isin(set(custs[sel]))].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, exp)


def test_training_baskets_cut_equal_baskets_built_from_training_lines(tx):
    allb = build_baskets(tx)
    split = dt.date(2024, 2, 15)  # day 45: orders group days 0-14, 15-29, ... (none spans it)
    cut = split_baskets(tx, allb, split)
    assert cut is not None
    built = build_baskets(tx.filter(tx.order_ts < split))
    assert cut.items == built.items
    assert (cut.matrix != built.matrix).nnz == 0
    np.testing.assert_array_equal(cut.basket_ids, built.basket_ids)
    np.testing.assert_array_equal(cut.customer_ids, built.customer_ids)
    np.testing.assert_array_equal(cut.basket_dates, built.basket_dates)


def test_an_order_spanning_the_split_falls_back_to_the_lines():
    df = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "1", "2"],
                       "order_ts": pd.to_datetime(["2024-01-01 23:00", "2024-01-02 01:00",
                                                   "2024-01-03 00:00"]),
                       "product_id": ["x", "y", "x"]})
    t = ibis.memtable(pa.Table.from_pandas(df))
    assert split_baskets(t, build_baskets(t), dt.date(2024, 1, 2)) is None


def test_evaluation_with_baskets_equals_public_evaluation(tx):
    th = {"min_support": 0.004, "min_confidence": 0.05, "min_lift": 0.0, "max_len": 3}
    allb = build_baskets(tx)
    # the training baskets cut from all baskets (no order spans 2024-02-15), and built
    # from the lines (orders span the default split)
    assert split_baskets(tx, allb, dt.date(2024, 2, 15)) is not None
    for split in ("2024-02-15", None):
        pub = evaluate_recommendations(tx, n=5, thresholds=th, split_date=split)
        fast = evaluate_with(tx, allb, n=5, thresholds=th, split_date=split)
        assert pub == fast
        assert pub["n_customers_evaluated"] > 50


@pytest.mark.parametrize("exclude_bought", [True, False])
def test_dense_similarity_product_equals_the_sparse_one(tx, monkeypatch, exclude_bought):
    """The co-occurrence scores multiplied with the similarity table as a dense array (in
    row blocks of 5 customers here) equal, to the bit, those of the sparse product."""
    import valuemax.basket._recommend as rec

    b = build_baskets(tx)
    rules = mine_rules(b, min_support=0.004, min_confidence=0.05).rules.head(3)  # few rules
    custs, hist = customer_items(b)
    assert rec.cosine_items(b.matrix).nnz >= rec.DENSE_FROM * b.n_items ** 2  # dense path
    monkeypatch.setattr(rec, "_BLOCK", 5 * b.n_items)
    dense = recommend_for(rules, b, custs, hist, n=6, exclude_bought=exclude_bought)
    monkeypatch.setattr(rec, "_DENSE_COS_BYTES", 0)
    sparse = recommend_for(rules, b, custs, hist, n=6, exclude_bought=exclude_bought)
    assert (dense["source"] == "co-occurrence").sum() > len(custs)
    pd.testing.assert_frame_equal(dense, sparse, check_exact=True)
