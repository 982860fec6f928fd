"""The baskets coded in DuckDB (``build_coded``, the main job's path) hold what the lines
say: checked on a hand-made log against counts done by hand, against a pandas grouping of
a seeded log, and against ``build_baskets`` (same baskets up to their order)."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from valuemax._core.exceptions import InputError
from valuemax.basket import build_baskets, mine_rules
from valuemax.basket._coded import build_coded


def _table(df: pd.DataFrame):
    return ibis.memtable(pa.Table.from_pandas(df, preserve_index=False))


def _seeded_log(*, seed: int, n: int, customers: int, days: int, days_an_order: int,
                at, p_item: float) -> pd.DataFrame:
    """``n`` seeded lines: customer ``c<k>``, an order per customer and ``days_an_order``
    days, a time ``2024-01-01 + at(day, customer)``, geometric product codes; the first
    two lines share the order id ``shared`` under two customers (``zz`` the second)."""
    rng = np.random.default_rng(seed)
    cust = rng.integers(0, customers, n)
    day = rng.integers(0, days, n)
    df = pd.DataFrame({
        "customer_id": [f"c{c}" for c in cust],
        "order_id": [f"o{c}-{d // days_an_order}" for c, d in zip(cust, day, strict=True)],
        "order_ts": pd.Timestamp("2024-01-01") + at(day, cust),
        "product_id": [f"p{i}" for i in rng.geometric(p_item, n)]})
    df.loc[[0, 1], "order_id"] = "shared"  # two customers' lines under one order id
    df.loc[1, "customer_id"] = "zz"
    return df


def _rows(b) -> list[tuple]:
    """Each basket as (customer, first day, last time, items), sorted: the baskets without
    their order."""
    m = b.matrix
    ends = (b.basket_ends.astype("datetime64[us]").astype(str) if b.basket_ends is not None
            else [None] * b.n_baskets)
    return sorted((str(b.customer_ids[i]), str(b.basket_dates[i]), str(ends[i]),
                   tuple(b.items[j] for j in m.indices[m.indptr[i]:m.indptr[i + 1]]))
                  for i in range(b.n_baskets))


#: Five orders of three customers; order o2 repeats milk, o5 has a line without a product,
#: and the customer-day lines of c3 (no order id) form one basket.
HAND = pd.DataFrame({
    "customer_id": ["c1", "c1", "c2", "c2", "c2", "c2", "c1", "c3", "c3", "c2", "c2"],
    "order_id": ["o1", "o1", "o2", "o2", "o2", "o3", "o4", None, None, "o5", "o5"],
    "order_ts": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 09:05", "2024-01-02 10:00",
                                "2024-01-02 10:00", "2024-01-02 11:00", "2024-01-03 12:00",
                                "2024-01-04 08:00", "2024-01-05 07:00", "2024-01-05 18:00",
                                "2024-01-06 10:00", "2024-01-06 10:30"]),
    "product_id": ["bread", "milk", "bread", "milk", "milk", "tea", "milk", "tea", "bread",
                   "tea", None]})


def test_hand_made_log_gives_the_baskets_and_rules_counted_by_hand():
    b = build_coded(_table(HAND))
    assert b.basket_ids is None and b.kind == "customer-day"
    assert b.items == ["bread", "milk", "tea"]
    assert _rows(b) == [
        ("c1", "2024-01-01", "2024-01-01T09:05:00.000000", ("bread", "milk")),
        ("c1", "2024-01-04", "2024-01-04T08:00:00.000000", ("milk",)),
        ("c2", "2024-01-02", "2024-01-02T11:00:00.000000", ("bread", "milk")),
        ("c2", "2024-01-03", "2024-01-03T12:00:00.000000", ("tea",)),
        ("c2", "2024-01-06", "2024-01-06T10:00:00.000000", ("tea",)),  # no-product line out
        ("c3", "2024-01-05", "2024-01-05T18:00:00.000000", ("bread", "tea"))]
    assert b.notes == ("1 of 11 lines have no product_id and are left out of the baskets.",
                       "2 of 11 lines have no order_id: they form customer-day baskets "
                       "(customer and calendar date).")
    # six baskets: bread in 3, milk in 3, bread+milk in 2 (o1, o2)
    rs = mine_rules(b, min_support=2 / 6, min_confidence=0.5)
    rule = rs.rules.set_index("rule").loc["bread → milk"]
    assert (rule["antecedent_count"], rule["consequent_count"], rule["count"]) == (3, 3, 2)
    assert rule["support"] == pytest.approx(2 / 6)
    assert rule["confidence"] == pytest.approx(2 / 3)
    assert rule["lift"] == pytest.approx((2 / 3) / (3 / 6))  # 4/3
    # customers coded in sorted order, one Python string per customer
    codes, labels = b._customers
    assert list(labels) == ["c1", "c2", "c3"]
    assert [labels[c] for c in codes] == list(b.customer_ids)


def test_seeded_log_equals_a_pandas_grouping_and_build_baskets():
    rng = np.random.default_rng(3)
    n = 4_000
    cust = rng.integers(0, 300, n)
    day = rng.integers(0, 90, n)
    df = pd.DataFrame({
        "customer_id": [f"c{c}" for c in cust],
        # non-ASCII and mixed-case ids: the codes follow the bytewise order
        "order_id": [f"{'é' if c % 7 == 0 else 'O'}{c}-{d // 10}" for c, d in zip(cust, day,
                                                                               strict=True)],
        "order_ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(day * 86400
                                                                 + rng.integers(0, 3600, n),
                                                                 unit="s"),
        "product_id": [f"{'Ä' if i % 5 == 0 else 'p'}{i}" for i in rng.geometric(0.1, n)]})
    t = _table(df)
    coded, plain = build_coded(t), build_baskets(t)
    assert coded.items == plain.items == sorted(df["product_id"].unique())
    assert (coded.kind, coded.notes, coded.item_column) == (plain.kind, plain.notes,
                                                            plain.item_column)
    per = df.groupby("order_id").agg(customer=("customer_id", "min"),
                                     first=("order_ts", "min"), last=("order_ts", "max"),
                                     items=("product_id", lambda s: tuple(sorted(set(s)))))
    expect = sorted((c, str(np.datetime64(f, "D")), str(np.datetime64(la, "us")), i)
                    for c, f, la, i in zip(per["customer"], per["first"], per["last"],
                                           per["items"], strict=True))
    assert _rows(coded) == _rows(plain) == expect
    assert coded.matrix.dtype == bool and coded.matrix.has_canonical_format
    kw = {"min_support": 0.01, "min_confidence": 0.1, "max_len": 3}
    a, b = mine_rules(coded, **kw), mine_rules(plain, **kw)
    assert len(a.rules) > 0
    pd.testing.assert_frame_equal(a.rules, b.rules, check_exact=True)
    pd.testing.assert_frame_equal(a.itemsets, b.itemsets, check_exact=True)


def test_null_customers_and_no_item_fall_back_or_refuse_as_build_baskets():
    df = HAND.copy()
    df.loc[0, "customer_id"] = None  # o1 keeps c1 through its other line
    b = build_coded(_table(df))
    assert list(b.basket_ids) == list(build_baskets(_table(df)).basket_ids)  # the text path
    empty = HAND.assign(product_id=pd.Series([None] * len(HAND), dtype="string"))
    with pytest.raises(InputError, match="no line has a product_id"):
        build_coded(_table(empty), item="product_id")


@pytest.mark.parametrize("passes", [2, 3])
def test_baskets_coded_in_passes_equal_one_pass(monkeypatch, passes):
    """The baskets' list aggregate in passes of hashed basket keys (DuckDB holds a list
    aggregate in memory: at 30M lines it ran out of the store's 1.5 GB): the same baskets,
    customers, dates and rules as one pass, an order shared by two customers included (its
    key, not its customer, picks the pass, so it stays whole)."""
    import valuemax.basket._coded as coded_mod

    df = _seeded_log(seed=8, n=3_000, customers=200, days=60, days_an_order=5,
                     at=lambda day, cust: pd.to_timedelta(day, unit="D"), p_item=0.15)
    t = _table(df)
    one = build_coded(t)
    # the list aggregate (the path when the hashes cannot group the lines exactly)
    monkeypatch.setattr(coded_mod, "_grouped_by_hash", lambda t, lines: None)
    monkeypatch.setattr(coded_mod, "hash_passes", lambda lines, per_line: passes)
    split = build_coded(t)
    assert split.n_baskets == one.n_baskets == df["order_id"].nunique()
    assert _rows(split) == _rows(one)
    assert split.matrix.has_canonical_format and split.items == one.items
    kw = {"min_support": 0.01, "min_confidence": 0.1, "max_len": 3}
    a, b = mine_rules(split, **kw), mine_rules(one, **kw)
    assert len(a.rules) > 0
    pd.testing.assert_frame_equal(a.rules, b.rules, check_exact=True)


def test_grouping_by_hash_equals_the_list_aggregate_and_falls_back_on_a_shared_hash(
        monkeypatch):
    """The baskets grouped in NumPy by their key's hash (the main path) are the baskets of
    the engine's list aggregate (same customers, first and last times and items), with
    one-line and many-line baskets and an order shared by two customers; when two keys
    share a hash (made so here), the list aggregate groups them."""
    import valuemax.basket._coded as coded_mod

    n = 2_000
    df = _seeded_log(seed=11, n=n, customers=150, days=400, days_an_order=3,
                     at=lambda day, cust: pd.to_timedelta(day * 3600 + cust, unit="s"),
                     p_item=0.2)
    t = _table(df)
    calls = []
    listed = coded_mod._listed
    monkeypatch.setattr(coded_mod, "_listed", lambda lines: calls.append(1) or listed(lines))
    hashed = build_coded(t)
    assert calls == []  # grouped by hash
    sizes = df.groupby("order_id").size()
    assert (sizes == 1).any() and (sizes > 2).any()
    assert hashed.n_baskets == df["order_id"].nunique()
    monkeypatch.setattr(coded_mod, "_grouped_by_hash", lambda t, lines: None)
    assert _rows(hashed) == _rows(build_coded(t)) == _rows(build_baskets(t))
    assert hashed.matrix.has_canonical_format
    monkeypatch.undo()
    calls.clear()
    # fewer distinct keys than hashes shared by several lines: two keys on one hash
    monkeypatch.setattr(coded_mod, "_listed", lambda lines: calls.append(1) or listed(lines))
    monkeypatch.setattr(coded_mod, "_distinct_keys", lambda t, shared: len(shared) - 1)
    fell_back = build_coded(t)
    assert calls == [1] and _rows(fell_back) == _rows(hashed)
    monkeypatch.undo()
    calls.clear()
    # lines that would not fit the memory limit at HASH_BYTES_PER_LINE in one piece: the
    # engine groups them (in its passes), with the same baskets
    monkeypatch.setattr(coded_mod, "_listed", lambda lines: calls.append(1) or listed(lines))
    monkeypatch.setattr(coded_mod, "hash_passes", lambda lines, per_line: (
        2 if per_line == coded_mod.HASH_BYTES_PER_LINE else 1))
    bounded = build_coded(t)
    assert calls and _rows(bounded) == _rows(hashed)


def test_distinct_keys_counts_the_keys_behind_the_shared_hashes():
    """``_distinct_keys`` counts the distinct basket keys on the lines of the given hashes
    only (here two orders of three lines each, one order left out)."""
    import valuemax.basket._coded as coded_mod
    from valuemax.basket._baskets import basket_lines

    df = pd.DataFrame({"customer_id": ["a"] * 7, "order_id": list("xxxyyyz"),
                       "order_ts": pd.Timestamp("2024-01-01"),
                       "product_id": list("pqrpqrp")})
    t = basket_lines(_table(df))[0]
    h = t.select("_basket", _h=t._basket.hash()).distinct().to_pyarrow().to_pydict()
    key = dict(zip(h["_basket"], h["_h"], strict=True))
    assert coded_mod._distinct_keys(t, np.array([key["x"], key["y"]])) == 2
    assert coded_mod._distinct_keys(t, np.array([key["z"]])) == 1
