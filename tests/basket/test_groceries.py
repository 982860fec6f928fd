"""The Groceries data (Hahsler et al. 2006): basket file and long format.

Published: arules' ``apriori(Groceries, parameter = list(support = 0.001, confidence = 0.5))``
gives 5,668 rules (single-item consequents); 9,835 baskets and 169 items.
"""

from __future__ import annotations

import gzip
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from valuemax.basket import baskets_from_long, mine_rules, read_baskets


@pytest.fixture(scope="module")
def groceries(datasets):
    return read_baskets(datasets("groceries/groceries_baskets.csv.gz"))


@pytest.fixture(scope="module")
def groceries_sets(datasets):
    with gzip.open(datasets("groceries/groceries_baskets.csv.gz"), "rt") as fh:
        return [{x.strip() for x in line.rstrip("\n").split(",")} for line in fh]


def test_basket_file_loads(groceries, groceries_sets):
    assert (groceries.n_baskets, groceries.n_items, groceries.kind) == (9_835, 169, "file")
    assert groceries.matrix.sum() == sum(len(b) for b in groceries_sets)
    # 'cream cheese ' and 'roll products ' carry a trailing blank in the arules export
    assert len(groceries.notes) == 1 and "'cream cheese '" in groceries.notes[0]
    whole_milk = groceries.items.index("whole milk")
    assert groceries.item_counts()[whole_milk] == sum("whole milk" in b for b in groceries_sets)
    assert groceries.item_counts()[whole_milk] == 2_513  # 25.55 % in arules' itemFrequency


def test_rules_agree_with_an_independent_count(groceries, groceries_sets, brute):
    rs = mine_rules(groceries, min_support=0.001, min_confidence=0.5)
    assert rs.thresholds["min_count"] == 10  # 0.001 * 9,835 = 9.835
    exp_sets = brute.levelwise(groceries_sets, 10)
    got_sets = dict(zip(rs.itemsets["itemset"], rs.itemsets["count"], strict=True))
    assert len(got_sets) == len(exp_sets) == 13_492
    assert got_sets == exp_sets
    exp = brute.rules(exp_sets, 9_835, Fraction(1, 2))
    got = rs.rules.set_index(["antecedents", "consequents"])
    assert set(got.index) == set(exp)
    assert len(exp) == 5_829
    for m in ("count", "antecedent_count", "consequent_count", "confidence", "lift",
              "leverage", "conviction", "zhangs_metric"):
        want = np.array([exp[k][m] for k in got.index], dtype=float)
        np.testing.assert_allclose(got[m].to_numpy(dtype=float), want, rtol=1e-12)
    single = rs.rules[rs.rules["consequents"].map(len) == 1]
    assert len(single) == 5_668  # arules, support 0.001, confidence 0.5


def test_long_format_loads(datasets):
    path = datasets("groceries/groceries.csv.gz")
    b = baskets_from_long(path)
    lines = pd.read_csv(path, dtype=str)
    assert len(lines) == 38_765
    assert (b.n_baskets, b.n_items, b.kind) == (14_963, 167, "customer-day")
    pairs = lines.drop_duplicates()
    assert b.matrix.sum() == len(pairs)  # repeated lines of one item in a basket count once
    assert len(set(b.customer_ids)) == 3_898
    first = pairs.sort_values(["Member_number", "Date"]).iloc[0]
    key = f"{first['Member_number']}|{first['Date']}"
    row = list(b.basket_ids).index(key)
    exp = set(pairs[(pairs.Member_number == first.Member_number)
                    & (pairs.Date == first.Date)].itemDescription)
    assert {b.items[j] for j in b.matrix[row].indices} == exp
    same = baskets_from_long(lines)
    assert (same.matrix != b.matrix).nnz == 0 and same.items == b.items
