"""returns="net" on a hand log: every matched/netted value worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from valuemax.clean import clean

T = "2024-01-{:02d} 10:00:00"

# InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country
ROWS = [
    ("1", "P", "pen", "10", T.format(1), "2.0", "A", "UK"),  # 1 A buys 10 P = 20
    ("2", "P", "pen", "4", T.format(5), "2.5", "A", "UK"),  # 2 A buys 4 P = 10
    ("C3", "P", "pen", "-3", T.format(6), "2.5", "A", "UK"),  # 3 -> row 2 (most recent)
    ("4", "P", "pen", "-2", T.format(8), "2.5", "A", "UK"),  # 4 -> row 2 again (capped)
    ("C5", "Q", "cup", "-1", T.format(3), "5.0", "A", "UK"),  # 5 before any Q purchase
    ("6", "Q", "cup", "2", T.format(4), "5.0", "A", "UK"),  # 6 A buys 2 Q = 10
    ("7", "P", "pen", "5", T.format(2), "2.0", "B", "UK"),  # 7 B buys 5 P = 10
    ("C8", "P", "pen", "-2", T.format(9), "1.5", "B", "UK"),  # 8 -> row 7 (at 2.0 each)
    ("C9", "P", "pen", "-1", T.format(10), "2.0", "C", "UK"),  # 9 C never bought P
    ("10", "R", "rug", "1", T.format(4), "100", "B", "UK"),  # 10 B buys a rug = 100
    ("C11", "R", "rug", "-1", T.format(4), "100", "B", "UK"),  # 11 same time, later line
]

EXPECTED_REASON = {
    1: None, 2: "fully_returned", 3: "return_netted", 4: "return_netted",
    5: "return_unmatched", 6: None, 7: None, 8: "return_netted", 9: "return_unmatched",
    10: "fully_returned", 11: "return_netted",
}


def fetch(expr) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas()


@pytest.fixture
def netted(log_factory):
    return clean(log_factory(ROWS), returns="net", observation_end="2024-01-31")


def test_reasons(netted):
    q = fetch(netted.quarantine)
    got = dict(zip(q["_row_id"].astype(int), q["reason"], strict=True))
    tx = fetch(netted.transactions)
    got.update({int(r): None for r in tx["_row_id"]})
    assert dict(sorted(got.items())) == EXPECTED_REASON


def test_netted_values(netted):
    tx = fetch(netted.transactions).set_index("_row_id").sort_index()
    # row 1 untouched (row 2 is the most recent purchase; excess units are not carried back)
    # row 6 untouched (its return came first); row 7: 5 - 2 units at its own price 2.0
    assert tx.index.tolist() == [1, 6, 7]
    assert tx["quantity"].tolist() == [10.0, 2.0, 3.0]
    assert tx["amount"].tolist() == pytest.approx([20.0, 10.0, 6.0])
    assert tx["returned_quantity"].tolist() == [0.0, 0.0, 2.0]
    spend = tx.groupby("customer_id")["amount"].sum()
    assert spend.to_dict() == pytest.approx({"A": 30.0, "B": 6.0})
    assert (spend >= 0).all()
    rep = netted.report
    # row 2: 10 (all of it), row 7: 2 units x 2.0 = 4, row 10: 100
    assert rep.netted_revenue == pytest.approx(114.0)
    assert rep["return_netted"] == 4 and rep["return_unmatched"] == 2
    assert rep["fully_returned"] == 2
    assert rep.rows_clean == 3 and rep.rows_in == 11
    assert [r.code for r in rep.rules][-6:] == [
        "non_product", "return_netted", "return_unmatched", "nonpositive_quantity",
        "negative_price", "fully_returned",
    ]
    assert "cancellation" not in [r.code for r in rep.rules]


def test_quarantine_keeps_original_purchase_values(netted):
    q = fetch(netted.quarantine).set_index("_row_id")
    # the fully returned purchase is kept with its values as read, not the netted ones
    assert (q.loc[2, "Quantity"], q.loc[2, "UnitPrice"], q.loc[2, "reason"]) == (
        "4", "2.5", "fully_returned")


def test_exclude_is_the_other_option(log_factory):
    res = clean(log_factory(ROWS), observation_end="2024-01-31")
    q = fetch(res.quarantine)
    got = dict(zip(q["_row_id"].astype(int), q["reason"], strict=True))
    assert got == {3: "cancellation", 4: "return", 5: "cancellation", 8: "cancellation",
                   9: "cancellation", 11: "cancellation"}
    assert "returned_quantity" not in res.transactions.columns
    assert res.report.netted_revenue == 0.0


def test_default_end_includes_returns_on_the_last_day(log_factory, netted):
    # the log's last transaction is C's return on 10 Jan: it sets the default end and is
    # still a return (unmatched), not after_observation_end; B's return on 9 Jan is netted
    res = clean(log_factory(ROWS), returns="net")
    assert res.observation_end.isoformat() == "2024-01-10"
    assert res.report["after_observation_end"] == 0
    assert fetch(res.quarantine)["reason"].tolist() == fetch(netted.quarantine)["reason"].tolist()
    assert res.report.netted_revenue == pytest.approx(114.0)
