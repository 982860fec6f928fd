"""Basket files as they come: quoted commas, other encodings, incomplete long rows, and a
blow-up the guard refuses before mining."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from valuemax.basket import Baskets, baskets_from_long, mine_rules, read_baskets
from valuemax.exceptions import InputError


def test_quoted_items_keep_their_commas(tmp_path):
    path = tmp_path / "b.csv"
    path.write_text('"cheese, cream",milk\nmilk,bread\n"cheese, cream"\n', encoding="utf-8")
    b = read_baskets(path)
    assert b.items == ["bread", "cheese, cream", "milk"]
    assert b.n_baskets == 3 and int(b.matrix.sum()) == 5


def test_a_file_in_another_encoding_is_refused_with_the_fix(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("café,thé\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"not utf-8 text .* pass encoding="):
        read_baskets(path)
    assert read_baskets(path, encoding="latin-1").items == ["café", "thé"]


def test_long_rows_without_item_or_key_are_counted(tmp_path):
    path = tmp_path / "long.csv"
    path.write_text("Member_number,Date,itemDescription\n1,2024-01-01,milk\n"
                    "1,2024-01-01,\n,2024-01-02,bread\n2,2024-01-03,eggs\n", encoding="utf-8")
    b = baskets_from_long(path)
    assert b.n_baskets == 2
    assert b.notes == ("2 of 4 lines have no item or no basket key (Member_number, Date): "
                       "left out.",)


def test_an_astronomical_bound_is_refused_before_mining():
    n_baskets, n_items = 300, 200
    dense = np.ones((n_baskets, n_items), dtype=bool)  # every basket holds every item
    b = Baskets(matrix=sp.csr_matrix(dense), items=[f"i{k}" for k in range(n_items)],
                basket_ids=np.arange(n_baskets), kind="file", item_column="item")
    with pytest.raises(InputError, match=r"over 1,000 times the limit .*--max-len"):
        mine_rules(b, min_support=0.01)


@pytest.mark.parametrize(("kw", "match"), [
    ({"min_leverage": float("nan")}, "min_leverage must be a finite number"),
    ({"min_conviction": "x"}, "min_conviction must be a finite number"),
    ({"max_itemsets": -1}, "max_itemsets must be an integer >= 1"),
])
def test_metric_thresholds_are_checked(tmp_path, kw, match):
    path = tmp_path / "b.csv"
    path.write_text("a,b\na,b\nb,c\n", encoding="utf-8")
    with pytest.raises(InputError, match=match):
        mine_rules(read_baskets(path), min_support=0.5, **kw)
    assert len(mine_rules(read_baskets(path), min_support=0.5, max_len=np.int64(2)).rules) == 2
