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
    ("C8", "P", "pen", "-2", T.format(9), "1.5", "B", "UK"),  # 8 -> row 7 (bought at 2.0)
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
    # row 6 untouched (its return came first); row 7: 5 - 2 units, and 10.0 less the 3.0
    # refunded for them (2 x 1.5): never more money than the refund (at its own price 2.0
    # the 2 units were worth 4.0)
    assert tx.index.tolist() == [1, 6, 7]
    assert tx["quantity"].tolist() == [10.0, 2.0, 3.0]
    assert tx["amount"].tolist() == pytest.approx([20.0, 10.0, 7.0])
    assert tx["returned_quantity"].tolist() == [0.0, 0.0, 2.0]
    spend = tx.groupby("customer_id")["amount"].sum()
    assert spend.to_dict() == pytest.approx({"A": 30.0, "B": 7.0})
    assert (spend >= 0).all()
    rep = netted.report
    # row 2: 10 (all of it), row 7: the refund 3 (not 2 units x 2.0 = 4), row 10: 100
    assert rep.netted_revenue == pytest.approx(113.0)
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
    assert res.report.netted_revenue == pytest.approx(113.0)


def test_excess_beyond_the_matched_purchase_is_reported(netted):
    """Row 2 (4 pens) meets rows 3 and 4 (3 + 2 units): the first 3 units and 1 of row 4's
    come off it; row 4's other unit (2.5 at its own price) is the excess, not carried to
    row 1 and not dropped: it is counted. Refunds 7.5 + 5 + 5 + 3 + 2 + 100 = 122.5 =
    deducted 113 + not netted 9.5 (unmatched rows 5 and 9: 5 + 2; excess 2.5): row 8
    refunded 3.0 for 2 pens bought at 2.0 each, and 3.0 is deducted, not 4.0 (a purchase
    loses at most the refund netted against it), so no refund price difference is left.
    Purchases 20 + 10 + 10 + 10 + 100 = 150 - 113 = clean spend 37.
    """
    rep = netted.report
    assert (rep.excess_lines, rep.excess_units) == (1, 1.0)
    assert rep.refunds_excess == pytest.approx(2.5)
    assert rep.refunds == pytest.approx(122.5)
    assert rep.refunds_not_netted == pytest.approx(9.5)
    rec = rep.reconciliation()
    assert rec == pytest.approx({
        "matched_by": "product_id", "spend_before_netting": 150.0, "refunds_deducted": 113.0,
        "clean_spend": 37.0, "refunds": 122.5, "refunds_not_netted": 9.5,
        "refunds_beyond_purchase": 2.5, "return_lines_beyond_purchase": 1,
        "units_beyond_purchase": 1.0, "refunds_unmatched": 7.0, "return_lines_unmatched": 2,
        "refund_price_difference": 0.0,
    })
    tx = fetch(netted.transactions)
    assert rec["clean_spend"] == pytest.approx(tx["amount"].sum())
    lines = rep.reconciliation_lines()
    assert lines[0].endswith("purchases 150.00 - refunds deducted 113.00 = clean spend 37.00")
    assert lines[1] == "refunds on return lines 122.50 = deducted 113.00 + not netted 9.50"
    # row 8, the one return at another unit price: said in the netting note
    assert any(n.endswith("; 1 matched return line at another unit price than their "
                          "purchase: 1 return line refunded 3.00 for units bought for 4.00: a "
                          "purchase loses at most the refunds netted against it, never the "
                          "units' full price (a purchase whose units all came back for less "
                          "money stays clean with quantity 0 and the money not refunded)")
               for n in rep.notes)
    assert lines[2].startswith("refunds not netted 9.50 = beyond the purchase 2.50 (1 return "
                               "line beyond")
    assert "; 1 unit) + unmatched" in lines[2]
    assert "unmatched 7.00 (2 return lines" in lines[2]
    assert lines[0] in rep.to_text()
    assert rep.to_dict()["refunds_excess"] == pytest.approx(2.5)


def test_excess_is_the_later_return_at_its_own_price(log_factory):
    """A buys 5 pens at 1.0; returns 3 (at 1.0), then 4 (at 2.0): the first return and 2
    units of the second take the 5; the second's other 2 units (share 2/4 of its 8.0
    refund, 4.0) are the excess. Deducted 5.0; the 2 applied units of the second return
    were refunded 2.0 more than bought (2 x (2.0 - 1.0)): 11 = 5 + 4 + 2."""
    rows = [
        ("1", "P", "pen", "5", T.format(1), "1.0", "A", "UK"),
        ("C2", "P", "pen", "-3", T.format(2), "1.0", "A", "UK"),
        ("C3", "P", "pen", "-4", T.format(3), "2.0", "A", "UK"),
        ("4", "Q", "cup", "1", T.format(1), "3.0", "B", "UK"),
    ]
    rep = clean(log_factory(rows), returns="net", observation_end="2024-01-31").report
    rec = rep.reconciliation()
    assert rep["fully_returned"] == 1 and rep["return_netted"] == 2
    assert (rec["return_lines_beyond_purchase"], rec["units_beyond_purchase"]) == (1, 2.0)
    assert rec["refunds_beyond_purchase"] == pytest.approx(4.0)
    assert rec["refunds_deducted"] == pytest.approx(5.0)
    assert rec["refund_price_difference"] == pytest.approx(2.0)
    assert rec["refunds_unmatched"] == 0.0
    assert rec["spend_before_netting"] - rec["refunds_deducted"] == rec["clean_spend"] == 3.0


def test_excess_in_money_when_the_purchase_has_no_quantity():
    """net_returns on its own: a purchase of 10.0 without a quantity is netted in money; of
    its returns (6.0, then 7.0 for 1 unit), the second has 3.0 beyond what was left
    (share 3/7: 4/7 of its unit netted, 3/7 beyond)."""
    import datetime as dt

    import ibis
    import pyarrow as pa

    from valuemax.clean._returns import net_returns

    day = [dt.datetime(2024, 1, d) for d in (1, 2, 3)]
    # pyarrow, not a dict: ibis 12 reads a deprecated pandas 3 option on string frames
    t = ibis.memtable(pa.table({
        "_row_id": [1, 2, 3], "customer_id": ["A"] * 3, "product_id": ["P"] * 3,
        "order_ts": day, "quantity": pa.array([None, -2.0, -1.0], pa.float64()),
        "amount": [10.0, -6.0, -7.0], "ret": [False, True, True],
    }))
    no = ibis.literal(False)
    out = net_returns(t, is_return=t.ret, pre_fires=no, post_fires=no)
    got = fetch(out.order_by("_row_id")).set_index("_row_id")
    assert got["_vm_amt_net"].tolist() == [0.0, -6.0, -7.0]
    assert got["_vm_matched"].tolist() == [False, True, True]
    # the refund placed nowhere: the second return's 3.0; its units netted: 1 - 3/7
    assert got["_vm_left"].tolist() == pytest.approx([0.0, 0.0, 3.0])
    assert got["returned_quantity"].tolist()[1:] == pytest.approx([2.0, 4.0 / 7.0])
    assert pd.isna(got.loc[1, "returned_quantity"])  # netted in money: no units


def test_every_return_netted_says_so(log_factory):
    # rows 1, 3 (A: 3 of 10 pens returned) and 10, 11 (B's rug): nothing left un-netted,
    # so no "beyond the purchase 0.00 (0 return lines ...; 0 units)" parts are printed
    rows = [ROWS[i] for i in (0, 2, 9, 10)]
    rep = clean(log_factory(rows), returns="net", observation_end="2024-01-31").report
    assert rep.reconciliation_lines()[2] == "refunds not netted 0.00 (every return was netted)"


def test_positive_quantity_at_a_negative_price_is_a_price_correction(log_factory):
    # a price correction (1 pen at -2.0) is not a returned pen: it must not take a pen off
    # A's purchase (before: return_netted, and row 1 lost 2.0); B's cup return still nets
    rows = [ROWS[0], ("12", "P", "pen", "1", T.format(6), "-2.0", "A", "UK"),
            ("13", "Q", "cup", "2", T.format(4), "5.0", "B", "UK"),
            ("14", "Q", "cup", "-1", T.format(7), "5.0", "B", "UK")]
    res = clean(log_factory(rows), returns="net", observation_end="2024-01-31")
    q = fetch(res.quarantine)
    assert dict(zip(q["_row_id"], q["reason"], strict=True)) == {
        2: "negative_price", 4: "return_netted"}
    assert fetch(res.transactions)["amount"].tolist() == [20.0, 5.0]


def test_a_log_without_returns_says_so_and_claims_no_netting(log_factory):
    # purchases only (rows 1, 2, 6, 7): no "refunds not netted 0.00 (every return was
    # netted)" about returns that never were
    rows = [ROWS[i] for i in (0, 1, 5, 6)]
    rep = clean(log_factory(rows), returns="net", observation_end="2024-01-31").report
    assert rep.reconciliation()["refunds"] == 0.0
    assert rep.reconciliation_lines() == ["returns netted: none (the log has no return lines)"]


def test_a_small_refund_never_removes_a_large_purchase(log_factory):
    """Breaker: netted by units, a 12.50 refund of one unit took the whole 1,200.00 of the
    unit bought (fully_returned), reconciled as -1,187.50 "refunded at another price". Now
    a purchase loses at most the refunds netted against it: the unit comes off its
    quantity, 12.50 off its money; the 1,187.50 the customer was not refunded stays spend
    (a clean line of quantity 0)."""
    rows = [
        ("1", "TV", "tv", "1", T.format(1), "1200.0", "A", "UK"),
        ("C2", "TV", "tv", "-1", T.format(2), "12.5", "A", "UK"),
        ("3", "P", "pen", "4", T.format(1), "2.0", "B", "UK"),  # B: a plain return, same price
        ("C4", "P", "pen", "-1", T.format(2), "2.0", "B", "UK"),
    ]
    res = clean(log_factory(rows), returns="net", observation_end="2024-01-31")
    tx = fetch(res.transactions).set_index("_row_id").sort_index()
    assert tx.index.tolist() == [1, 3]
    assert tx.loc[1, ["quantity", "amount", "returned_quantity"]].tolist() == pytest.approx(
        [0.0, 1187.5, 1.0])
    assert tx.loc[3, ["quantity", "amount"]].tolist() == pytest.approx([3.0, 6.0])
    rep = res.report
    assert rep["fully_returned"] == 0 and rep["return_netted"] == 2
    rec = rep.reconciliation()
    assert rec["refunds_deducted"] == pytest.approx(12.5 + 2.0)
    assert rec["refund_price_difference"] == 0.0  # each refund deducted in full, no more
    assert rec["spend_before_netting"] - rec["refunds_deducted"] == pytest.approx(
        rec["clean_spend"]) == pytest.approx(1187.5 + 6.0)
    (note,) = [n for n in rep.notes if n.startswith("returns netted:")]
    assert note.endswith("; 1 matched return line at another unit price than their purchase: "
                         "1 return line refunded 12.50 for units bought for 1,200.00: a "
                         "purchase loses at most the refunds netted against it, never the "
                         "units' full price (a purchase whose units all came back for less "
                         "money stays clean with quantity 0 and the money not refunded)")
