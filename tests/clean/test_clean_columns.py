"""Rules that depend on which columns the log has: product (netting), order id
(duplicates), unit price (the nonpositive_price wording); and the report's wording.

Whether a column exists comes from ``Ingested.mapping`` (logs read with
``read_transactions``); for an Ingested-like object without ``mapping`` (``log_factory``), a
column NULL on every line counts as absent.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from valuemax.clean import clean
from valuemax.exceptions import InputError
from valuemax.io import read_transactions

D = "2024-01-{:02d} 10:00:00"


def read(tmp_path: Path, text: str, name: str = "log.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_transactions(path)


def fetch(expr) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas()


def rule(report, code: str):
    return next(r for r in report.rules if r.code == code)


# --- 3. netting without a product: by amount (tests/clean/test_clean_returns_amount.py) --

def test_net_without_a_product_column_nets_by_amount(tmp_path):
    ing = read(tmp_path, "customer_id,order_id,order_date,amount\n"
                         "A,1,2011-01-03,10\nB,2,2011-01-04,5\nA,3,2011-01-05,-3\n")
    assert "product_id" not in ing.mapping
    # the refund of 3 comes off A's earlier purchase (10 -> 7)
    res = clean(ing, returns="net")
    assert fetch(res.quarantine)[["_row_id", "reason"]].values.tolist() == [
        [3, "return_netted_earlier"]]
    assert fetch(res.transactions)["amount"].tolist() == [7.0, 5.0]
    # exclude works, and the refund is a return
    q = fetch(clean(ing).quarantine)
    assert q[["_row_id", "reason"]].values.tolist() == [[3, "return"]]


# --- 4. no order id: equal lines are separate purchases --------------------------------

def test_equal_lines_without_order_id_are_kept(tmp_path):
    text = ("customer_id,date,number_of_cds,dollar_value\n"
            "00001,19970101,1,11.77\n00001,19970101,1,11.77\n00002,19970102,2,20.00\n"
            "00002,19970102,2,20.00\n00002,19970102,2,20.00\n")
    ing = read(tmp_path, text)
    assert "order_id" not in ing.mapping
    res = clean(ing)
    rep = res.report
    assert rep.rows_clean == 5 and rep.rows_quarantined == 0
    assert "duplicate_line" not in [r.code for r in rep.rules]
    note = next(n for n in rep.notes if n.startswith("duplicate_line"))
    assert note.startswith("duplicate_line not applied: the log has no order id column")
    assert "Map an order id column" in note
    # the same lines with an order id column but no product: still kept (two items of one
    # order at the same price look the same), with the note naming the missing column
    with_id = read(tmp_path, "order_id," + text.replace("\n0", "\nX,0"), "ids.csv")
    assert "order_id" in with_id.mapping
    rep = clean(with_id).report
    assert rep.rows_clean == 5 and "duplicate_line" not in [r.code for r in rep.rules]
    assert any(n.startswith("duplicate_line not applied: the log has no product column")
               for n in rep.notes)
    # with an order id and a product: copies are duplicates again
    both = read(tmp_path, "order_id,sku," + text.replace("\n0", "\nX,P,0"), "both.csv")
    assert {"order_id", "product_id"} <= set(both.mapping)
    assert clean(both).report["duplicate_line"] == 3


def test_equal_lines_without_order_id_values_are_kept_without_mapping(log_factory):
    line = (None, "A", "x", "2", D.format(1), "1.5", "7", "UK")
    res = clean(log_factory([line, line, line]))
    assert res.report.rows_clean == 3
    assert "duplicate_line" not in [r.code for r in res.report.rules]
    assert any(n.startswith("duplicate_line not applied") for n in res.report.notes)


def test_cdnow_master_keeps_same_day_purchases_and_free_purchases(datasets):
    # CDNOW: no order id; several customers buy more than once on the same day (README);
    # 80 lines have dollar_value <= 0 (README), none negative: free purchases, which the
    # standard preset keeps (the BTYD literature counts them) and classic quarantines
    ing = read_transactions(datasets("cdnow/CDNOW_master.txt"))
    rep = clean(ing, outliers="off").report
    assert rep.rows_in == 69_659 == rep.rows_clean
    assert rep["negative_price"] == 0 == rep.rows_quarantined
    assert str(rep.observation_end) == "1998-06-30"
    assert rule(rep, "negative_price").description == (
        "Amount is negative: corrections. Zero-amount lines are kept as free purchases (an "
        "occasion, no spend).")
    classic = clean(ing, preset="classic").report
    assert classic["nonpositive_price"] == 80 == classic.rows_quarantined


# --- 7. the price rules' descriptions -------------------------------------------------

def test_price_rule_descriptions_follow_the_columns(tmp_path, log_factory):
    amount_only = read(tmp_path, "customer_id,order_date,amount\nA,2011-01-03,10\n"
                                 "A,2011-01-04,0\n")
    rep = clean(amount_only).report
    assert (rep["negative_price"], rep.rows_clean) == (0, 2)  # the zero is a free purchase
    rep = clean(amount_only, preset="classic").report
    assert rep["nonpositive_price"] == 1
    assert rule(rep, "nonpositive_price").description == (
        "Amount is zero or negative: free items, corrections.")
    priced = log_factory([("1", "A", "x", "2", D.format(1), "0", "1", "UK"),
                          ("2", "A", "x", "2", D.format(1), "3", "1", "UK")])
    rep = clean(priced).report
    assert (rep["negative_price"], rep.rows_clean) == (0, 2)
    assert rule(rep, "negative_price").description == (
        "Unit price (or, where it is missing, the amount) is negative: corrections. "
        "Zero-priced lines are kept as free purchases (an occasion, no spend).")
    rep = clean(priced, preset="classic").report
    assert rep["nonpositive_price"] == 1
    assert rule(rep, "nonpositive_price").description == (
        "Unit price (or, where it is missing, the amount) is zero or negative: free items, "
        "corrections.")


# --- 6. counts and nouns agree -----------------------------------------------------------

def test_singular_wording(log_factory):
    with pytest.raises(InputError, match=r"^the only row was quarantined: "
                                         r"missing_customer_id 1\."):
        clean(log_factory([("1", "A", "x", "1", D.format(1), "1", "", "UK")]))
    rows = [("1", "A", "x", "1", D.format(1), "1", "1", "UK"),
            ("2", "A", "x", "1", D.format(2), "2", "1", "UK")]
    notes = clean(log_factory(rows)).report.notes
    assert notes[0].endswith("(1 line that day; the previous date with transactions is "
                             "2024-01-01, 1 day before)")
    assert not any("1 days" in n or "1 lines" in n for n in notes)


# --- a log column with the name of a column clean() makes ------------------------------

def test_log_columns_named_reason_is_outlier_returned_quantity_are_kept_renamed(tmp_path):
    # a return-reason column, and two more names clean() uses for its own columns: the
    # log's values are kept under <name>_source and never mistaken for valuemax's columns
    ing = read(tmp_path, "InvoiceNo,StockCode,Quantity,InvoiceDate,UnitPrice,CustomerID,"
               "Reason,is_outlier,returned_quantity\n"
               f"1,A,2,{D.format(1)},3.5,c1,gift,no,7\n"
               f"2,B,-1,{D.format(2)},3.5,c1,damaged,yes,8\n"
               f"3,A,1,{D.format(3)},3.5,c2,,no,9\n"
               f"4,A,abc,{D.format(4)},3.5,c2,typo,no,10\n")
    assert ing.extra_columns == ("Reason_source", "is_outlier_source",
                                 "returned_quantity_source")
    assert any("'Reason' has the name of a column valuemax makes; kept as 'Reason_source' "
               "(also in the quarantine" in n for n in ing.notes)
    assert any("'is_outlier' has the name of a column valuemax makes; kept as "
               "'is_outlier_source' in standardized() and the clean table" in n
               for n in ing.notes)
    result = clean(ing, returns="net")
    q = fetch(result.quarantine)
    assert list(q.columns) == ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate",
                               "UnitPrice", "CustomerID", "Reason_source", "is_outlier",
                               "returned_quantity", "_row_id", "reason"]
    assert q[["_row_id", "Reason_source", "reason"]].values.tolist() == [
        [2, "damaged", "return_unmatched"], [4, "typo", "unparseable_amount"]]
    t = fetch(result.transactions)
    assert t["_row_id"].tolist() == [1, 3]
    assert t["Reason_source"].fillna("<null>").tolist() == ["gift", "<null>"]
    assert t["is_outlier_source"].tolist() == ["no", "no"]
    assert t["returned_quantity_source"].tolist() == ["7", "9"]
    assert t["is_outlier"].tolist() == [False, False]
    assert t["returned_quantity"].tolist() == [0.0, 0.0]
