"""mine_rules on hand-built baskets against brute-force counts (itertools), and its guards."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.sparse as sp

from valuemax.basket import Baskets, build_baskets, mine_rules
from valuemax.basket._guard import estimate_itemsets
from valuemax.exceptions import InputError

METRICS = ("antecedent_count", "consequent_count", "count", "support", "confidence", "lift",
           "leverage", "conviction", "zhangs_metric")

SMALL = [{"bread", "milk"}, {"bread", "diapers", "beer", "eggs"},
         {"milk", "diapers", "beer", "cola"}, {"bread", "milk", "diapers", "beer"},
         {"bread", "milk", "diapers", "cola"}, {"milk"}, {"tea"}, {"bread", "milk", "beer"}]


def make(baskets: list[set[str]]) -> Baskets:
    items = sorted({x for b in baskets for x in b})
    idx = {x: j for j, x in enumerate(items)}
    rows = [i for i, b in enumerate(baskets) for _ in b]
    cols = [idx[x] for b in baskets for x in sorted(b)]
    m = sp.csr_matrix((np.ones(len(rows), dtype=bool), (rows, cols)),
                      shape=(len(baskets), len(items)))
    return Baskets(matrix=m, items=items, basket_ids=np.arange(len(baskets)), kind="file")


def check_against_brute(rs, baskets, brute, min_count, min_conf=Fraction(0)):
    exp_sets = brute.itemsets(baskets, min_count)
    got_sets = dict(zip(rs.itemsets["itemset"], rs.itemsets["count"], strict=True))
    assert got_sets == exp_sets
    np.testing.assert_allclose(rs.itemsets["support"],
                               rs.itemsets["count"] / len(baskets), rtol=0, atol=0)
    exp = brute.rules(exp_sets, len(baskets), min_conf)
    got = {(a, c): row for a, c, row in zip(rs.rules["antecedents"], rs.rules["consequents"],
                                            rs.rules[list(METRICS)].to_dict("records"),
                                            strict=True)}
    assert set(got) == set(exp)
    for key, want in exp.items():
        for m in METRICS:
            assert got[key][m] == pytest.approx(want[m], rel=1e-12, abs=1e-15), (key, m)
    return exp


@pytest.mark.parametrize("min_support", [0.25, 0.3, 0.125, 0.5])
def test_itemsets_and_every_metric_match_brute_force(brute, min_support):
    b = make(SMALL)
    rs = mine_rules(b, min_support=min_support)
    min_count = math.ceil(Fraction(str(min_support)) * len(SMALL))
    assert rs.thresholds["min_count"] == min_count
    exp = check_against_brute(rs, SMALL, brute, min_count)
    assert len(exp) > 0 and rs.n_baskets == 8
    assert rs.rules["rule"].iloc[0].count("→") == 1


def test_support_threshold_is_compared_exactly(brute):
    # 10 baskets; s*N = 3 exactly (0.3 * 10 is 3.0000000000000004 in floating point, which
    # makes mlxtend's own ceil ask for 4); and s*N = 2.5 (not an integer: count >= 3).
    baskets = [{"a", "b"}] * 3 + [{"a", "c"}] * 2 + [{"c"}] * 3 + [{"d"}] * 2
    b = make(baskets)
    rs = mine_rules(b, min_support=0.3)
    assert rs.thresholds["min_count"] == 3
    assert ("a", "b") in set(rs.itemsets["itemset"])  # count 3 == 0.3 * 10: kept
    check_against_brute(rs, baskets, brute, 3)
    rs = mine_rules(b, min_support=0.25)
    assert rs.thresholds["min_count"] == 3
    assert ("d",) not in set(rs.itemsets["itemset"])  # count 2 < 2.5
    assert ("a", "b") in set(rs.itemsets["itemset"])
    rs = mine_rules(b, min_support=0.2)  # s*N = 2: count 2 kept
    assert ("d",) in set(rs.itemsets["itemset"]) and ("a", "c") in set(rs.itemsets["itemset"])


def test_confidence_and_lift_thresholds_exact(brute):
    b = make(SMALL)
    # milk -> bread: 4 of 6 milk baskets hold bread; confidence 2/3 exactly
    rs = mine_rules(b, min_support=0.125, min_confidence=Fraction(2, 3).__float__())
    check_against_brute(rs, SMALL, brute, 1, Fraction("0.6666666666666666"))
    rs = mine_rules(b, min_support=0.125, min_confidence=0.5, min_lift=1.0)
    exp = {k: v for k, v in brute.rules(brute.itemsets(SMALL, 1), 8, Fraction(1, 2)).items()
           if v["count"] * 8 >= v["antecedent_count"] * v["consequent_count"]}
    assert set(zip(rs.rules["antecedents"], rs.rules["consequents"], strict=True)) == set(exp)
    rs2 = mine_rules(b, min_support=0.125, min_zhang=0.5, min_leverage=0.01)
    assert (rs2.rules["zhangs_metric"] >= 0.5).all() and (rs2.rules["leverage"] >= 0.01).all()
    assert 0 < len(rs2.rules) < len(mine_rules(b, min_support=0.125).rules)


def test_single_item_baskets_give_no_rules_but_count_in_n(brute):
    baskets = [{"a"}, {"a"}, {"b"}, {"c"}, {"a"}]
    rs = mine_rules(make(baskets), min_support=0.2)
    assert len(rs.rules) == 0 and list(rs.rules.columns)[:3] == ["rule", "antecedents",
                                                                  "consequents"]
    got = dict(zip(rs.itemsets["itemset"], rs.itemsets["support"], strict=True))
    assert got == {("a",): 0.6, ("b",): 0.2, ("c",): 0.2}
    # the single-item baskets stay in the denominators of the rules of a mixed log
    mixed = [{"x", "y"}, {"x", "y"}, {"x"}, {"z"}, {"z"}, {"z"}]
    rs = mine_rules(make(mixed), min_support=0.3)
    row = rs.rules.set_index("rule").loc["x → y"]
    assert row["support"] == pytest.approx(2 / 6) and row["lift"] == pytest.approx(
        (2 / 3) / (2 / 6))
    assert rs.to_dict()["n_rules"] == 2


def test_confidence_one_gives_infinite_conviction():
    baskets = [{"a", "b"}, {"a", "b"}, {"b"}, {"c"}]
    rs = mine_rules(make(baskets), min_support=0.5)
    row = rs.rules.set_index("rule").loc["a → b"]
    assert row["confidence"] == 1.0 and row["conviction"] == np.inf
    other = rs.rules.set_index("rule").loc["b → a"]
    assert other["conviction"] == pytest.approx((1 - 0.5) / (1 - 2 / 3))
    top = {r["rule"]: r for r in rs.to_dict()["top_rules"]}
    assert top["a → b"]["conviction"] is None  # JSON has no infinity
    # one rule of confidence 1 (a → b: both baskets with a hold b), so the note counts one
    assert rs.notes == ("conviction is +inf where confidence is 1 (1 rule; parquet keeps "
                        "inf; rules.csv leaves the cell empty; JSON writes null; the report "
                        "shows ∞).",)
    assert rs.to_dict()["notes"] == list(rs.notes)


def test_a_rule_and_its_reverse_tie_on_lift_and_confidence_breaks_the_tie():
    """lift(A → C) = lift(C → A) = N·n_AC/(n_A·n_C) exactly: the two floats are equal (from
    conf / support they differed in the last bit for some pairs, so a float, not confidence,
    ordered them) and the rule of higher confidence comes first."""
    rng = np.random.default_rng(7)
    items = [f"p{i}" for i in range(12)]
    baskets = [set(rng.choice(items, size=rng.integers(1, 6), replace=False))
               for _ in range(997)]
    rules = mine_rules(make(baskets), min_support=0.01, min_confidence=0.0, min_lift=0.0,
                       max_len=2).rules
    pos = {r: i for i, r in enumerate(rules["rule"])}
    pairs = 0
    for r in rules.itertuples(index=False):
        (a,), (c,) = r.antecedents, r.consequents
        back = rules.iloc[pos[f"{c} → {a}"]]
        n = len(baskets)
        assert r.lift == back["lift"] == r.count * n / (r.antecedent_count * r.consequent_count)
        if r.confidence > back["confidence"]:
            assert pos[r.rule] < pos[back["rule"]]
            pairs += 1
    assert pairs > 20  # the data has many such pairs


def test_rule_text_joins_items_as_the_item_columns_do():
    """Product names may hold commas (Online Retail: 'SET 3 RETROSPOT TEA,COFFEE,SUGAR'):
    the rule's text joins items with " | " like rules.csv's item columns."""
    baskets = [{"TEA,COFFEE", "MUG", "SPOON"}] * 3 + [{"MUG"}]
    rules = mine_rules(make(baskets), min_support=0.5).rules
    assert "MUG | SPOON → TEA,COFFEE" in set(rules["rule"])


def test_no_note_on_infinite_conviction_without_a_rule_of_confidence_one():
    """b → a has confidence 2/3 and a → b 2/3 too (a is in three baskets): no conviction is
    infinite, and no note says one is."""
    baskets = [{"a", "b"}, {"a", "b"}, {"a"}, {"b"}]
    rs = mine_rules(make(baskets), min_support=0.5)
    assert len(rs.rules) == 2 and (rs.rules["confidence"] < 1).all()
    assert rs.notes == () and rs.to_dict()["notes"] == []


def test_duplicate_lines_count_once(brute):
    df = pd.DataFrame({
        "customer_id": ["c1"] * 4 + ["c2"] * 3 + ["c3"],
        "order_id": ["o1", "o1", "o1", "o1", "o2", "o2", "o3", "o4"],
        "order_ts": pd.to_datetime(["2024-01-01"] * 4 + ["2024-01-02"] * 3 + ["2024-01-03"]),
        "product_id": ["A", "A", "B", "A", "A", "B", "B", "C"]})
    b = build_baskets(ibis.memtable(pa.Table.from_pandas(df)))
    assert (b.n_baskets, b.n_items, b.kind) == (4, 3, "order")
    assert b.matrix.sum() == 6 and b.matrix.dtype == bool
    assert list(b.basket_ids) == ["o1", "o2", "o3", "o4"]
    assert list(b.customer_ids) == ["c1", "c2", "c2", "c3"]
    rs = mine_rules(b, min_support=0.5)
    check_against_brute(rs, [{"A", "B"}, {"A", "B"}, {"B"}, {"C"}], brute, 2)


def test_customer_day_baskets_without_order_ids():
    df = pd.DataFrame({
        "customer_id": ["c1", "c1", "c1", "c2"],
        "order_ts": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 17:00",
                                    "2024-01-02 10:00", "2024-01-01 10:00"]),
        "product_name": ["tea", "milk", "tea", "tea"]})
    b = build_baskets(ibis.memtable(pa.Table.from_pandas(df)))
    assert b.kind == "customer-day" and b.item_column == "product_name"
    assert list(b.basket_ids) == ["c1|2024-01-01", "c1|2024-01-02", "c2|2024-01-01"]
    assert b.matrix.toarray().tolist() == [[True, True], [False, True], [False, True]]
    assert b.basket_dates.astype(str).tolist() == ["2024-01-01", "2024-01-02", "2024-01-01"]


def test_names_are_the_items_when_no_line_has_a_code(tmp_path):
    """A log with product names but no codes, read and cleaned: the clean table has a
    product_id column that is NULL everywhere, so the names are the items. Order 1 holds
    tea and milk (tea twice: once), order 2 tea: 2 baskets x 2 items."""
    from valuemax.clean import clean
    from valuemax.io import read_transactions

    path = tmp_path / "log.csv"
    path.write_text("customer_id,order_id,order_date,product_name,amount\n"
                    "c1,1,2024-01-01,tea,3\nc1,1,2024-01-01,milk,2\nc1,1,2024-01-01,tea,3\n"
                    "c2,2,2024-01-02,tea,3\n", encoding="utf-8")
    ing = read_transactions(path)
    assert "product_id" not in ing.mapping
    tx = clean(ing, preset="none").transactions
    assert "product_id" in tx.columns
    b = build_baskets(tx)
    assert b.item_column == "product_name" and b.items == ["milk", "tea"]
    assert b.matrix.toarray().tolist() == [[True, True], [False, True]]


def test_no_product_column_is_a_clear_error(tx_small):
    t = ibis.memtable(pa.Table.from_pandas(tx_small.drop(columns="product_id")))
    with pytest.raises(InputError, match=r"needs a product column.*product_id"):
        build_baskets(t)
    empty = ibis.memtable(pa.Table.from_pandas(tx_small.assign(product_id=None)))
    with pytest.raises(InputError, match=r"no line has a product_id or a product_name"):
        build_baskets(empty)


@pytest.mark.parametrize("s", [0, -0.1, 1.2, float("nan")])
def test_min_support_out_of_range(s):
    with pytest.raises(InputError, match="min_support"):
        mine_rules(make(SMALL), min_support=s)


def test_min_support_one_is_allowed():
    rs = mine_rules(make([{"a", "b"}, {"a"}]), min_support=1.0)
    assert list(rs.itemsets["itemset"]) == [("a",)] and len(rs.rules) == 0


def test_guard_refuses_an_exploding_basket():
    # 40 items bought together 3 times: 2^40 - 1 frequent itemsets at support 0.5
    big = {f"i{j:02d}" for j in range(40)}
    b = make([big, big, big, {"i00"}, {"x"}, {"y"}])
    with pytest.raises(InputError, match=r"(?s)limit of 2,000,000 itemsets.*Raise min_support "
                                         r"\(--min-support\) or set max_len.*the limit is "
                                         r"max_itemsets"):
        mine_rules(b, min_support=0.5)
    with pytest.raises(InputError, match=r"or lower max_len \(--max-len, now 10; e\.g\. 3\)"):
        mine_rules(b, min_support=0.5, max_len=10)
    rs = mine_rules(b, min_support=0.5, max_len=2)  # the fix the message names
    assert len(rs.itemsets) == 40 + 40 * 39 // 2


def _rows_to_baskets(rows):
    return [{"abcdef"[j] for j, v in enumerate(r) if v} for r in rows]


def test_guard_stops_streamed_mining_at_the_limit(brute):
    # the bound (18.25) is above the limit, the real count (17) is not: mined exactly; with a
    # limit of 16 the level-by-level mining stops at the level that passes it and refuses
    rows = [[1, 0, 1, 1, 1, 0], [0, 0, 1, 0, 1, 1], [1, 1, 1, 0, 1, 0], [1, 1, 1, 0, 0, 0],
            [1, 0, 1, 1, 0, 1]]
    baskets = _rows_to_baskets(rows)
    b = make(baskets)
    assert estimate_itemsets(b.matrix, 2, None) > 17
    rs = mine_rules(b, min_support=0.4, max_itemsets=17)
    assert len(rs.itemsets) == 17
    check_against_brute(rs, baskets, brute, 2)
    with pytest.raises(InputError, match=r"more than the limit of 16 .*upper bound.*raise "
                                         r"max_itemsets"):
        mine_rules(b, min_support=0.4, max_itemsets=16)


def test_guard_bound_is_an_upper_bound(brute, rng):
    for _ in range(300):
        m = rng.random((int(rng.integers(3, 12)), 6)) < 0.55
        baskets = _rows_to_baskets(m.astype(int).tolist())
        baskets = [x for x in baskets if x] or [{"a"}]
        b = make(baskets)
        for min_count in (1, 2, 3):
            for max_len in (None, 2, 3):
                exact = len(brute.itemsets(baskets, min_count, max_len))
                assert estimate_itemsets(b.matrix, min_count, max_len) >= exact - 1e-9


def test_rules_round_trip_through_parquet_keeps_infinite_conviction(tmp_path):
    import pyarrow.parquet as pq

    rs = mine_rules(make([{"a", "b"}, {"a", "b"}, {"b"}, {"c"}]), min_support=0.5)
    path = tmp_path / "rules.parquet"
    pq.write_table(pa.Table.from_pandas(rs.rules, preserve_index=False), path)
    back = pq.read_table(path).to_pandas()
    assert back["rule"].tolist() == rs.rules["rule"].tolist()
    assert [tuple(x) for x in back["antecedents"]] == rs.rules["antecedents"].tolist()
    assert np.isinf(back.set_index("rule").loc["a → b", "conviction"])


def test_rules_csv_writes_no_infinity(tmp_path):
    """rules.csv has no ``inf``: an infinite conviction is an empty cell (as the note says),
    a finite one its value, and parquet still keeps inf."""
    from valuemax.pipeline._outputs import write_rule_files

    rs = mine_rules(make([{"a", "b"}, {"a", "b"}, {"b"}, {"c"}]), min_support=0.5)
    write_rule_files(rs.rules, None, tmp_path, names={})
    text = (tmp_path / "rules.csv").read_text(encoding="utf-8-sig")
    assert "inf" not in text
    back = pd.read_csv(tmp_path / "rules.csv", encoding="utf-8-sig",
                       keep_default_na=False).set_index("rule")
    assert back.loc["a → b", "conviction"] == ""
    assert float(back.loc["b → a", "conviction"]) == pytest.approx((1 - 0.5) / (1 - 2 / 3))
    assert back.loc["a → b", "confidence"] == 1.0
    assert np.isinf(pd.read_parquet(tmp_path / "rules.parquet").set_index("rule")
                    .loc["a → b", "conviction"])
    assert "rules.csv leaves the cell empty" in rs.notes[0]


def test_a_given_support_keeps_the_chosen_confidence_lift_and_length():
    """``min_support`` alone used to reset confidence and lift to 0 and max_len to None on
    basket files (24 rules where the defaults gave 8): the others stay those of
    choose_thresholds, and the reason says which were given."""
    from valuemax.basket._thresholds import choose_thresholds, resolve_thresholds

    rng = np.random.default_rng(4)
    b = make([set(rng.choice(list("abcdefgh"), size=rng.integers(1, 5), replace=False))
              for _ in range(300)])
    chosen = choose_thresholds(b)
    th = resolve_thresholds(b, min_support=0.1)
    assert th["min_support"] == 0.1
    assert (th["min_confidence"], th["min_lift"], th["max_len"]) == (
        chosen["min_confidence"], chosen["min_lift"], chosen["max_len"]) == (0.3, 1.5, 3)
    assert th["reason"] == ("given: min_support 0.1; chosen from the data (min_confidence, "
                            "min_lift, max_len): min_confidence 0.3; min_lift 1.5; max_len 3")
    both = resolve_thresholds(b, min_confidence=0.5)
    assert both["min_support"] == chosen["min_support"] and both["min_confidence"] == 0.5
    assert both["reason"].startswith("given: min_confidence 0.5; chosen from the data "
                                     "(min_support, min_lift, max_len): min_support ")
    assert resolve_thresholds(b, min_support=0.2, min_confidence=0.1, min_lift=1.0,
                              max_len=2)["reason"] == "given by the caller"


@pytest.mark.parametrize(("min_support", "max_len"), [(0.01, None), (0.003, None), (0.002, 2),
                                                      (0.001, 3)])
def test_itemsets_equal_mlxtend_fpgrowth_on_groceries(min_support, max_len):
    """The level-by-level miner and mlxtend's FP-growth (Han et al. 2000), two independent
    implementations, find the same itemsets with the same counts on arules' Groceries."""
    from mlxtend.frequent_patterns import fpgrowth

    from valuemax.basket import read_baskets

    b = read_baskets(Path(__file__).parents[1] / "data" / "groceries_baskets.csv.gz")
    rs = mine_rules(b, min_support=min_support, max_len=max_len)
    n, min_count = b.n_baskets, math.ceil(min_support * b.n_baskets - 1e-9)
    frame = pd.DataFrame(b.matrix.toarray(), columns=b.items)
    ref = fpgrowth(frame, min_support=(min_count - 0.5) / n, use_colnames=True, max_len=max_len)
    want = {tuple(sorted(s)): round(float(sup) * n)
            for s, sup in zip(ref["itemsets"], ref["support"], strict=True)}
    got = dict(zip(rs.itemsets["itemset"], rs.itemsets["count"].tolist(), strict=True))
    assert len(got) > 100 and max(map(len, got)) >= 2
    assert got == want
