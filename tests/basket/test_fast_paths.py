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


@pytest.mark.parametrize(("exclude_bought", "tile_columns"),
                         [(True, None), (False, None), (True, 7), (False, 1)])
def test_dense_similarity_product_equals_the_sparse_one(tx, monkeypatch, exclude_bought,
                                                         tile_columns):
    """The co-occurrence scores multiplied with the similarity table as a dense array (in
    row blocks of 5 customers here; in one column tile, or in tiles of 7 columns or of 1,
    the last one narrower) equal, to the bit, those of the sparse product."""
    import valuemax.basket._recommend as rec

    b = build_baskets(tx)
    rules = mine_rules(b, min_support=0.004, min_confidence=0.05).rules.head(3)  # few rules
    custs, hist = customer_items(b)
    assert rec.cosine_items(b.matrix).nnz >= rec.DENSE_FROM * b.n_items ** 2  # dense path
    monkeypatch.setattr(rec, "_BLOCK", 5 * b.n_items)
    if tile_columns is None:  # the whole table in one tile
        monkeypatch.setattr(rec, "_TILE_BYTES", 8 * b.n_items ** 2)
    else:
        assert b.n_items % 7 != 0  # a narrower last tile
        monkeypatch.setattr(rec, "_TILE_BYTES", 8 * b.n_items * tile_columns)
    assert len(rec._column_tiles(rec.cosine_items(b.matrix))) == (
        1 if tile_columns is None else -(-b.n_items // tile_columns))
    dense = recommend_for(rules, b, custs, hist, n=6, exclude_bought=exclude_bought)
    monkeypatch.setattr(rec, "_DENSE_COS_BYTES", 0)
    sparse = recommend_for(rules, b, custs, hist, n=6, exclude_bought=exclude_bought)
    assert (dense["source"] == "co-occurrence").sum() > len(custs)
    pd.testing.assert_frame_equal(dense, sparse, check_exact=True)


def test_baskets_equal_a_direct_pandas_grouping(tx):
    """build_baskets against pandas on the lines: sorted basket ids, the distinct items of
    each, its customer, its first day and the time of its last line."""
    df = _log()
    b = build_baskets(tx)
    per = df.groupby("order_id").agg(customer=("customer_id", "min"),
                                     first=("order_ts", "min"), last=("order_ts", "max"),
                                     items=("product_id", lambda s: sorted(set(s))))
    per = per.sort_index()
    assert list(b.basket_ids) == list(per.index)
    assert list(b.customer_ids) == list(per["customer"])
    np.testing.assert_array_equal(b.basket_dates,
                                  per["first"].to_numpy().astype("datetime64[D]"))
    np.testing.assert_array_equal(b.basket_ends.astype("datetime64[us]"),
                                  per["last"].to_numpy().astype("datetime64[us]"))
    got = [[b.items[j] for j in b.matrix[i].indices] for i in range(b.n_baskets)]
    assert got == list(per["items"])
    # a customer's id is one Python string however many baskets they have
    firsts = {}
    for c in b.customer_ids:
        assert firsts.setdefault(c, c) is c


def test_split_without_a_query_equals_the_engine_check(tx):
    """The split checked on the baskets' last times gives what the engine's query gives:
    the same cut where no basket spans the split, None where one does."""
    import dataclasses

    allb = build_baskets(tx)
    unknown = dataclasses.replace(allb, basket_ends=None)  # the query path
    for split in (dt.date(2024, 2, 15), dt.date(2024, 1, 20), dt.date(2023, 1, 1)):
        fast, slow = split_baskets(tx, allb, split), split_baskets(tx, unknown, split)
        assert (fast is None) == (slow is None)
        if fast is not None:
            assert (fast.matrix != slow.matrix).nnz == 0 and fast.items == slow.items
            np.testing.assert_array_equal(fast.customer_ids, slow.customer_ids)
    assert split_baskets(tx, allb, dt.date(2024, 1, 20)) is None  # orders span days 15-29
    assert split_baskets(tx, allb, dt.date(2024, 2, 15)) is not None


@pytest.mark.parametrize("block", [1 << 22, 64])
def test_partitioned_top_n_equals_sorting_every_score(block, monkeypatch):
    """_top_n_csr (a partition per row, rows of similar length padded together) against a
    Python sort of each row: rows of 0 to 300 stored scores, many ties (scores of
    twelfths), bought entries left out; a 64-cell block forces many small slabs."""
    import valuemax.basket._recommend as rec

    monkeypatch.setattr(rec, "_BLOCK", block)
    rng = np.random.default_rng(7)
    m, p = 400, 700
    lengths = np.minimum(rng.geometric(0.02, m), 300)
    rows = np.repeat(np.arange(m), lengths)
    cols = np.concatenate([rng.choice(p, k, replace=False) for k in lengths])
    vals = rng.integers(1, 13, len(rows)) / 12.0
    s = sp.csr_matrix((vals, (rows, cols)), shape=(m, p))
    bought = sp.csr_matrix(rng.random((m, p)) < 0.05)
    for n in (1, 5, 40):
        r, c, v = rec._top_n_csr(s, bought, n)
        dense, own = s.toarray(), bought.toarray()
        for i in range(m):
            exp = sorted((j for j in range(p) if dense[i, j] > 0 and not own[i, j]),
                         key=lambda j: (-dense[i, j], j))[:n]
            assert list(c[r == i]) == exp
            np.testing.assert_array_equal(v[r == i], dense[i, exp])


def test_cooccurrence_lists_equal_a_direct_computation(tx, monkeypatch):
    """recommend's co-occurrence lists (sparse path) against each customer's scores summed
    one bought item at a time in Python, in increasing item order as scipy's product adds
    them (so the floats are the same to the bit), then sorted by score and item."""
    import valuemax.basket._recommend as rec

    monkeypatch.setattr(rec, "_DENSE_COS_BYTES", 0)  # the sparse product
    monkeypatch.setattr(rec, "_CHUNK", 37)  # several chunks of customers
    b = build_baskets(tx)
    custs, hist = customer_items(b)
    got = recommend(mine_rules(b, min_support=0.9), b, n=6)  # no rule
    assert set(got["source"]) == {"co-occurrence"}
    cos = rec.cosine_items(b.matrix).tocsr()
    for i in range(len(custs)):
        owned = np.sort(hist.indices[hist.indptr[i]:hist.indptr[i + 1]])
        score: dict[int, float] = {}
        for j in owned:
            for k, w in zip(cos.indices[cos.indptr[j]:cos.indptr[j + 1]],
                            cos.data[cos.indptr[j]:cos.indptr[j + 1]], strict=True):
                score[k] = score.get(k, 0.0) + w
        scale = 1.0 / max(len(owned), 1)
        cand = sorted(((k, v * scale) for k, v in score.items() if k not in set(owned)),
                      key=lambda kv: (-kv[1], kv[0]))[:6]
        mine = got[got.customer_id == custs[i]]
        assert mine["item"].tolist() == [b.items[k] for k, _ in cand]
        assert mine["score"].tolist() == [v for _, v in cand]
        assert mine["rank"].tolist() == list(range(1, len(cand) + 1))


def test_evaluation_equals_a_direct_count_on_the_lines(tx):
    """Hit rate and recall at 5 (recommender and popularity) against sets counted from the
    lines with pandas: the customers who bought before and after the split and something
    new after it, their new items, and the public lists on the training baskets."""
    from valuemax.basket._evaluate import popularity

    th = {"min_support": 0.004, "min_confidence": 0.05, "min_lift": 0.0, "max_len": 3}
    split = dt.date(2024, 2, 15)
    ev = evaluate_with(tx, build_baskets(tx), n=5, thresholds=th, split_date=split)
    df = _log()
    before = df[df.order_ts < pd.Timestamp(split)]
    after = df[df.order_ts >= pd.Timestamp(split)]
    owned = before.groupby("customer_id")["product_id"].agg(set)
    target = {c: set(s) - owned[c] for c, s in after.groupby("customer_id")["product_id"]
              if c in owned.index and set(s) - owned[c]}
    tb = build_baskets(tx.filter(tx.order_ts < split))
    for lists, prefix in ((recommend(mine_rules(tb, **th), tb, n=5), ""),
                          (popularity(tb, 5), "baseline_")):
        got = lists.groupby("customer_id")["item"].agg(set)
        hits = [len(got.get(c, set()) & t) for c, t in target.items()]
        assert ev[f"{prefix}hit_rate_at_n"] == pytest.approx(np.mean([h > 0 for h in hits]),
                                                             rel=1e-12)
        assert ev[f"{prefix}recall_at_n"] == pytest.approx(
            np.mean([h / len(t) for h, t in zip(hits, target.values(), strict=True)]),
            rel=1e-12)
    assert ev["n_customers_evaluated"] == len(target) > 50
    assert ev["hit_rate_at_n"] > 0


def test_tiled_product_equals_the_whole_product_to_the_bit(monkeypatch):
    """``_times_tiles`` (the product with column tiles of the similarity table) equals the
    sparse × dense product with the whole table, bit for bit, for tiles of 1, 3 (the last
    one narrower) and all 40 columns, including a row without any item (zeros)."""
    import valuemax.basket._recommend as rec

    rng = np.random.default_rng(3)
    table = np.where(rng.random((40, 40)) < 0.8, rng.random((40, 40)) / 3.0, 0.0)
    bought = rng.random((25, 40)) < 0.3
    bought[4] = False
    h = sp.csr_matrix(bought)
    whole = h.astype(np.float64) @ table
    for columns, n_tiles in ((1, 40), (3, 14), (40, 1)):
        monkeypatch.setattr(rec, "_TILE_BYTES", 8 * 40 * columns)
        tiles = rec._column_tiles(sp.csr_matrix(table))
        assert len(tiles) == n_tiles
        assert all(t.flags.c_contiguous for _, t in tiles)
        got = rec._times_tiles(h, tiles, 40)
        assert got.tobytes() == whole.tobytes()
        assert not got[4].any()


def test_cosine_items_equals_the_diagonal_products_to_the_bit():
    """cosine_items scales the co-occurrence counts in place: the same data, column indices
    and row pointers as ``diags(1/√count) @ co @ diags(1/√count)`` with a zeroed diagonal,
    on baskets with one-item baskets and an item never bought (a zero count)."""
    from valuemax.basket._recommend import cosine_items

    rng = np.random.default_rng(11)
    for n_baskets, n_items in ((300, 40), (2000, 400)):
        m = sp.csr_matrix(rng.random((n_baskets, n_items)) < 2.5 / n_items)
        m = sp.csr_matrix(m.toarray() & (np.arange(n_items) != 5))  # item 5 never bought
        rich = np.flatnonzero(np.diff(m.indptr) >= 2)
        assert len(rich) < n_baskets  # some one-item (or empty) baskets
        x = m[rich].astype(np.float64)
        co = (x.T @ x).tocsr()
        d = np.sqrt(np.bincount(m.indices, minlength=n_items).astype(np.float64))
        inv = np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)
        ref = (sp.diags(inv) @ co @ sp.diags(inv)).tocsr()
        ref.setdiag(0.0)
        ref.eliminate_zeros()
        got = cosine_items(m)
        assert got.data.tobytes() == ref.data.tobytes()
        assert np.array_equal(got.indices, ref.indices)
        assert np.array_equal(got.indptr, ref.indptr)
        assert got.shape == (n_items, n_items) and got[5].nnz == 0 and got.diagonal().max() == 0


def test_sampled_lower_bound_never_exceeds_the_kth_largest_and_cuts_entries(monkeypatch):
    """The cut of _top_n_csr (the n-th largest of each row's first values) is at most the
    row's exact n-th largest (np.sort), equal to it on rows no longer than the sample, 0 on
    rows of fewer than n values, so no entry of a top list is cut; on rows of 100 to 400
    distinct-ish scores it cuts most entries, and the lists equal a Python sort of every
    entry not bought."""
    import valuemax.basket._recommend as rec

    monkeypatch.setattr(rec, "_SAMPLE", 32)
    monkeypatch.setattr(rec, "_BLOCK", 32 * 7)  # several blocks of rows
    rng = np.random.default_rng(11)
    m, p = 300, 900
    counts = np.concatenate([rng.integers(100, 400, m - 20), rng.integers(0, 33, 20)])
    vals = rng.integers(1, 50, counts.sum()) / 49.0  # ties
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    for q in (1, 5, 19):
        low = rec._row_floor(vals, indptr, np.full(m, q))
        exact = np.array([np.sort(vals[a:a + k])[::-1][q - 1] if k >= q else 0.0
                          for a, k in zip(indptr[:-1], counts, strict=True)])
        assert (low <= exact).all()
        short = counts <= 32
        np.testing.assert_array_equal(low[short], exact[short])
        assert (low[~short] > 0).all()
        assert (vals >= np.repeat(low, counts)).mean() < 0.6
    rows = np.repeat(np.arange(m), counts)
    cols = np.concatenate([rng.choice(p, k, replace=False) for k in counts])
    s = sp.csr_matrix((vals, (rows, cols)), shape=(m, p))
    bought = sp.csr_matrix(rng.random((m, p)) < 0.02)
    r, c, v = rec._top_n_csr(s, bought, 5)
    dense, own = s.toarray(), bought.toarray()
    for i in range(m):
        exp = sorted((j for j in range(p) if dense[i, j] > 0 and not own[i, j]),
                     key=lambda j: (-dense[i, j], j))[:5]
        assert list(c[r == i]) == exp
        np.testing.assert_array_equal(v[r == i], dense[i, exp])


def test_row_floor_with_a_need_per_row_and_needs_past_the_sample(monkeypatch):
    """_row_floor with a different need per row: the need-th largest of the row (np.sort)
    on rows no longer than the sample, at most it on longer rows, and 0 (every value kept)
    where the need passes the row's length or the sample; _top_n_csr with customers who
    bought more items than the sample holds still equals a Python sort."""
    import valuemax.basket._recommend as rec

    monkeypatch.setattr(rec, "_SAMPLE", 16)
    rng = np.random.default_rng(5)
    m, p = 200, 120
    counts = rng.integers(0, 60, m)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    vals = rng.integers(1, 9, counts.sum()) / 8.0
    need = rng.integers(1, 25, m)
    low = rec._row_floor(vals, indptr, need)
    for r in range(m):
        row = np.sort(vals[indptr[r]:indptr[r + 1]])[::-1]
        exact = row[need[r] - 1] if len(row) >= need[r] else 0.0
        if need[r] > 16 or len(row) < need[r]:
            assert low[r] == 0.0
        elif len(row) <= 16:
            assert low[r] == exact
        else:
            assert 0 < low[r] <= exact
    rows = np.repeat(np.arange(m), counts)
    cols = np.concatenate([rng.choice(p, k, replace=False) for k in counts])
    s = sp.csr_matrix((vals, (rows, cols)), shape=(m, p))
    bought = sp.csr_matrix(rng.random((m, p)) < 0.25)  # ~30 items: past the sample of 16
    r, c, v = rec._top_n_csr(s, bought, 3)
    dense, own = s.toarray(), bought.toarray()
    for i in range(m):
        exp = sorted((j for j in range(p) if dense[i, j] > 0 and not own[i, j]),
                     key=lambda j: (-dense[i, j], j))[:3]
        assert list(c[r == i]) == exp
        np.testing.assert_array_equal(v[r == i], dense[i, exp])


def test_analyze_baskets_equals_its_parts_on_baskets_built_from_the_lines(tx):
    """analyze_baskets (coded baskets, freed before the evaluation scores) gives the
    recommendations, item lift, summary and evaluation of the public functions on
    build_baskets."""
    from valuemax.basket import analyze_baskets, choose_thresholds
    from valuemax.basket._analyze import item_lift

    got = analyze_baskets(tx)
    b = build_baskets(tx)
    th = choose_thresholds(b)
    rs = mine_rules(b, **{k: th[k] for k in ("min_support", "min_confidence", "min_lift",
                                            "max_len")})
    pd.testing.assert_frame_equal(got.recommendations, recommend(rs, b, n=5))
    pd.testing.assert_frame_equal(got.item_lift, item_lift(b))
    assert got.baskets == b.summary()
    exp = evaluate_recommendations(tx, n=5)
    assert got.evaluation == exp
    assert exp["n_customers_evaluated"] > 0


def _bound_on_every_basket(matrix, min_count, max_len):
    """estimate_itemsets as it was before it kept the baskets of two frequent items (the
    products over every basket), the reference of the test below."""
    from scipy.special import comb

    counts = np.bincount(matrix.indices, minlength=matrix.shape[1])
    freq = np.flatnonzero(counts >= min_count)
    n1 = float(len(freq))
    if n1 == 0 or max_len == 1:
        return n1
    x = matrix[:, freq].astype(np.int64).tocsr()
    co = (x.T @ x).tocsr()
    co.data = (co.data >= min_count).astype(np.int64)
    co.setdiag(0)
    co.eliminate_zeros()
    n2 = float(co.nnz) / 2.0
    total = n1 + n2
    if n2 == 0 or max_len == 2:
        return total
    e_b = np.asarray((x @ co).multiply(x).sum(axis=1)).ravel() / 2.0
    e_b = e_b[e_b >= 3]
    if len(e_b) == 0:
        return total
    xb = np.sort((1.0 + np.sqrt(1.0 + 8.0 * e_b)) / 2.0)[::-1]
    x_all = (1.0 + np.sqrt(1.0 + 8.0 * n2)) / 2.0
    top = int(np.floor(xb[0]))
    last = top if max_len is None else min(top, max_len)
    s = np.arange(min(min_count, len(xb)))
    for j in range(3, last + 1):
        if np.count_nonzero(xb >= j) < min_count:
            break
        c = np.where(xb >= j, comb(xb, j), 0.0)
        suffix = np.cumsum(c[::-1])[::-1]
        total += min(float(np.min(suffix[s] / (min_count - s))), float(comb(x_all, j)))
    return total


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_guard_bound_on_rich_baskets_equals_the_bound_on_every_basket(seed):
    """The guard's bound from the baskets of two frequent items or more equals the bound
    from the products over every basket (one-item baskets, baskets of one frequent item
    and rare items), at every length limit and support."""
    from valuemax.basket._guard import estimate_itemsets

    rng = np.random.default_rng(seed)
    n, m = 3_000, 40
    sizes = np.where(rng.random(n) < 0.6, 1, rng.integers(2, 9, n))
    weights = np.geomspace(1, 0.02, m)
    rows = np.repeat(np.arange(n), sizes)
    cols = np.concatenate([rng.choice(m, k, replace=False, p=weights / weights.sum())
                           for k in sizes])
    mat = from_codes(rows, cols, n, m)
    for min_count in (3, 15, 60, 400):
        for max_len in (1, 2, 3, 4, None):
            assert estimate_itemsets(mat, min_count, max_len) == _bound_on_every_basket(
                mat, min_count, max_len)


def test_default_split_is_the_quantile_of_the_sorted_dates(tx):
    from valuemax.basket._evaluate import HOLDOUT_SHARE, _default_split

    b = build_baskets(tx)
    dates = np.sort(b.basket_dates)
    exp = pd.Timestamp(dates[int(np.floor((1 - HOLDOUT_SHARE) * (len(dates) - 1)))]).date()
    if exp <= pd.Timestamp(dates[0]).date():
        exp += dt.timedelta(days=1)
    assert _default_split(b) == exp


@pytest.mark.parametrize("tile_columns", [None, 7])
def test_dense_tiles_from_the_counts_equal_the_tiles_of_the_sparse_cosines(tx, monkeypatch,
                                                                           tile_columns):
    """_similarity's dense tiles (scaled from the counts made dense) equal, to the bit, the
    tiles of the sparse cosine table (cosine_items, then _column_tiles); a table below the
    dense share comes back as cosine_items' sparse table, the same arrays."""
    import valuemax.basket._recommend as rec

    b = build_baskets(tx)
    if tile_columns is not None:
        monkeypatch.setattr(rec, "_TILE_BYTES", 8 * b.n_items * tile_columns)
    p, tiles, cos = rec._similarity(b.matrix)
    assert cos is None and p == b.n_items
    ref = rec._column_tiles(rec.cosine_items(b.matrix))
    assert [a for a, _ in tiles] == [a for a, _ in ref]
    for (_, got), (_, exp) in zip(tiles, ref, strict=True):
        assert got.flags.c_contiguous and got.tobytes() == exp.tobytes()
    monkeypatch.setattr(rec, "DENSE_FROM", 1.01)  # never dense
    p, tiles, cos = rec._similarity(b.matrix)
    exp = rec.cosine_items(b.matrix)
    assert tiles is None and cos.data.tobytes() == exp.data.tobytes()
    assert np.array_equal(cos.indices, exp.indices) and np.array_equal(cos.indptr, exp.indptr)
