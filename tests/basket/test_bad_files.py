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


def test_a_table_read_as_baskets_is_refused_with_the_evidence(tmp_path):
    """An Online Retail export passed as a basket file: its header, invoice numbers, dates
    and prices would be mined as items; refused, with the evidence and the two right
    readings."""
    path = tmp_path / "orders.csv"
    path.write_text(
        "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
        "536365,85123A,6,2010-12-01 08:26,2.55,17850\n"
        "536365,71053,6,2010-12-01 08:26,3.39,17850\n"
        "536366,22633,6,2010-12-01 08:28,1.85,17850\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"looks like a table, not one basket per line: "
                                         r"every line has 6 fields and 3 of 4 lines hold a "
                                         r"date or time\..*input_format='transactions'.*"
                                         r"input_format='long'"):
        read_baskets(path)


def test_a_header_above_numbers_is_refused(tmp_path):
    path = tmp_path / "ids.csv"
    path.write_text("basket,item\n1,101\n1,102\n2,101\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"every line has 2 fields, and the first line has "
                                         r"no number while 6 of the 6 fields below it are "
                                         r"numbers \(a header 'basket', 'item'\)"):
        read_baskets(path)


def test_equal_width_baskets_of_names_are_read(tmp_path):
    """Baskets that happen to have the same size are not a table: product names, no dates,
    no header above numbers."""
    path = tmp_path / "pairs.csv"
    path.write_text("milk,bread\neggs,jam\nmilk,jam\n", encoding="utf-8")
    b = read_baskets(path)
    assert b.items == ["bread", "eggs", "jam", "milk"]
    assert b.matrix.shape == (3, 4) and b.matrix.sum() == 6
