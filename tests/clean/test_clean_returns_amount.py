"""returns="net" without a product column, and with product names only: values by hand.

Without products, a return is netted by amount: against the order its id names (``C100`` ->
``100``, ``101-R`` -> ``101``), else the customer's purchases that day, else their earlier
purchases, most recent first, never below zero; refund money left over goes on to the next
stage, and what no stage can place is counted as not netted.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from valuemax.clean import clean
from valuemax.io import read_transactions

from .test_clean_returns import EXPECTED_REASON
from .test_clean_returns import ROWS as PRODUCT_ROWS

AMOUNT_LOG = """customer_id,order_id,order_date,amount
A,100,2024-01-01,30
A,100,2024-01-01,20
A,101,2024-01-02,40
A,C100,2024-01-05,-20
A,101-R,2024-01-06,-50
B,200,2024-01-03,10
B,C999,2024-01-04,-5
B,201,2024-01-08,15
B,R1,2024-01-08,-15
C,C300,2024-01-02,-7
C,301,2024-01-03,12
D,400,2024-01-01,8
D,C400,2024-01-02,-20
"""


def read(tmp_path: Path, text: str):
    path = tmp_path / "log.csv"
    path.write_text(text, encoding="utf-8")
    return read_transactions(path)


def fetch(expr) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas()


def reasons(res) -> dict[int, str | None]:
    q = fetch(res.quarantine)
    got = dict(zip(q["_row_id"].astype(int), q["reason"], strict=True))
    got.update({int(r): None for r in fetch(res.transactions)["_row_id"]})
    return dict(sorted(got.items()))


@pytest.fixture
def amount_log(tmp_path):
    ing = read(tmp_path, AMOUNT_LOG)
    assert not {"product_id", "product_name", "quantity"} & set(ing.mapping)
    return ing


def test_netting_by_amount_worked_by_hand(amount_log):
    """Each line, by hand (rows numbered from 1 as in the file):

    - A: order 100 = rows 1 + 2 = 30 + 20, order 101 = row 3 = 40.
      Row 4 ``C100`` names order 100: its 20 is taken from the order's last line, row 2
      (20 -> 0, fully_returned). Row 5 ``101-R`` names order 101: 40 of its 50 empties
      row 3; the other 10 finds no purchase on 6 Jan and comes off A's earlier purchases,
      most recent first: row 1 (30 -> 20). A spends 90 - 70 = 20.
    - B: row 7 ``C999`` names no order of B, B bought nothing on 4 Jan, so its 5 comes off
      the earlier row 6 (10 -> 5): return_netted_earlier. Row 9 ``R1`` names no order (no
      prefix, no suffix) and nets against row 8 bought the same day (15 -> 0).
    - C: row 10 comes before any purchase of C: unmatched (7 not netted); row 11, bought
      later, is untouched (a refund never comes off a later purchase).
    - D: row 13 ``C400`` names order 400 (8): it takes 8 and the other 12 finds nothing
      left: D ends with no clean line, never a negative spend.

    Netted 20 + 10 + 40 (A) + 5 + 15 (B) + 8 (D) = 98; not netted 7 + 12 = 19; refunds
    20 + 50 + 5 + 15 + 7 + 20 = 117 = 98 + 19.
    """
    res = clean(amount_log, returns="net")
    assert reasons(res) == {
        1: None, 2: "fully_returned", 3: "fully_returned", 4: "return_netted_order",
        5: "return_netted_order", 6: None, 7: "return_netted_earlier", 8: "fully_returned",
        9: "return_netted_day", 10: "return_unmatched", 11: None, 12: "fully_returned",
        13: "return_netted_order",
    }
    tx = fetch(res.transactions).set_index("_row_id")
    assert tx["amount"].to_dict() == pytest.approx({1: 20.0, 6: 5.0, 11: 12.0})
    # no quantity column: units unknown on the netted lines, 0 on untouched ones
    assert tx["returned_quantity"].isna().tolist() == [True, True, False]
    assert tx.loc[11, "returned_quantity"] == 0
    rep = res.report
    assert rep.netting == "amount"
    assert rep.netted_revenue == pytest.approx(98.0)
    assert rep.refunds_not_netted == pytest.approx(19.0)
    assert (rep["return_netted_order"], rep["return_netted_day"],
            rep["return_netted_earlier"], rep["return_unmatched"],
            rep["fully_returned"]) == (3, 1, 1, 1, 4)
    assert rep.rows_in == 13 == rep.rows_clean + rep.rows_quarantined
    assert "return_netted" not in [r.code for r in rep.rules]
    note = next(n for n in rep.notes if n.startswith("returns netted by amount"))
    assert note.endswith("19.00 of refunds not netted (1 unmatched return line, 1 return "
                         "line larger than what was left to net against)")
    # the quarantine keeps the purchase as read, not the netted amount
    q = fetch(res.quarantine).set_index("_row_id")
    assert q.loc[2, "amount"] == "20"


def test_exclude_on_the_same_log_counts_the_same_returns(amount_log):
    """exclude: the 6 refund lines are cancellations (C prefix) or returns; purchases kept."""
    ex = clean(amount_log).report
    net = clean(amount_log, returns="net").report
    assert ex["cancellation"] + ex["return"] == 6 == sum(
        net[c] for c in ("return_netted_order", "return_netted_day", "return_netted_earlier",
                         "return_unmatched"))
    assert (ex["cancellation"], ex["return"]) == (4, 2)  # C100 C999 C300 C400 / 101-R R1
    assert ex.rows_clean == 7 == net.rows_clean + net["fully_returned"]


def test_order_suffixes_and_the_own_order(tmp_path):
    """Patterns naming the original order: ``1001_return``, ``1002/C``, ``C-1003``, and a
    negative line inside its own order (1004). Each takes its order's own line (10 each),
    though E bought later on the same day (row 9, untouched by the order-level stage).
    A cancellation naming an order that comes *later* (``C1006`` on 1 Mar, order 1006 on
    2 Mar) is not matched to it; E has nothing earlier, so it is unmatched.
    """
    text = ("customer_id,order_id,order_date,amount\n"
            "E,1001,2024-03-01,10\nE,1002,2024-03-01,10\nE,1003,2024-03-01,10\n"
            "E,1004,2024-03-01,10\n"
            "E,1001_return,2024-03-03,-10\nE,1002/C,2024-03-03,-10\nE,C-1003,2024-03-03,-10\n"
            "E,1004,2024-03-01,-10\nE,1005,2024-03-03,25\n"
            "F,C1006,2024-03-01,-4\nF,1006,2024-03-02,9\n")
    res = clean(read(tmp_path, text), returns="net")
    assert reasons(res) == {
        1: "fully_returned", 2: "fully_returned", 3: "fully_returned", 4: "fully_returned",
        5: "return_netted_order", 6: "return_netted_order", 7: "return_netted_order",
        8: "return_netted_order", 9: None, 10: "return_unmatched", 11: None,
    }
    tx = fetch(res.transactions).set_index("_row_id")
    assert tx["amount"].to_dict() == pytest.approx({9: 25.0, 11: 9.0})
    assert res.report.refunds_not_netted == pytest.approx(4.0)


def test_same_day_netting_scales_quantity(tmp_path):
    """With quantity and unit price (no product): 4 x 5 and 2 x 10 bought on 1 Feb, 1 x 10
    refunded the same day. The day's last purchase line (row 2, 20) gives 10: it keeps
    10 = 1 unit at 10, returned_quantity 1; row 1 untouched. Spend 40 - 10 = 30.
    """
    text = ("customer_id,order_id,order_date,quantity,unit_price\n"
            "A,1,2024-02-01,4,5\nA,2,2024-02-01,2,10\nA,C9,2024-02-01,-1,10\n")
    res = clean(read(tmp_path, text), returns="net")
    tx = fetch(res.transactions).set_index("_row_id")
    assert tx["amount"].tolist() == pytest.approx([20.0, 10.0])
    assert tx["quantity"].tolist() == pytest.approx([4.0, 1.0])
    assert tx["returned_quantity"].tolist() == pytest.approx([0.0, 1.0])
    assert res.report["return_netted_day"] == 1 and res.report.netted_revenue == 10.0


def test_over_return_across_days_never_goes_negative(tmp_path):
    """G buys 10 (day 1) and 5 (day 2), refunds 12 (day 3) then buys 7 (day 4) and refunds
    20 (day 5). Most recent first: the 12 takes 5 (row 2) and 7 of row 1 (10 -> 3); the 20
    takes 7 (row 4) and 3 (row 1) and has 10 left: not netted. Spend 0, never -10 (H's
    purchase, row 6, keeps the log from being all quarantined).
    """
    text = ("customer_id,order_id,order_date,amount\n"
            "G,1,2024-04-01,10\nG,2,2024-04-02,5\nG,3,2024-04-03,-12\nG,4,2024-04-04,7\n"
            "G,5,2024-04-05,-20\nH,6,2024-04-05,1\n")
    res = clean(read(tmp_path, text), returns="net", observation_end="2024-04-30")
    assert reasons(res) == {1: "fully_returned", 2: "fully_returned",
                            3: "return_netted_earlier", 4: "fully_returned",
                            5: "return_netted_earlier", 6: None}
    assert res.report.netted_revenue == pytest.approx(22.0)
    assert res.report.refunds_not_netted == pytest.approx(10.0)


def test_product_names_are_the_items(log_factory):
    """The product hand log with its codes removed: the names (pen, cup, rug stand for P,
    Q, R one to one) give the same matches and values as the codes (test_clean_returns:
    row 7 loses the 3.0 refunded for its 2 pens, not their 4.0 at its price)."""
    rows = [(r[0], None, *r[2:]) for r in PRODUCT_ROWS]
    res = clean(log_factory(rows), returns="net", observation_end="2024-01-31")
    assert reasons(res) == EXPECTED_REASON
    tx = fetch(res.transactions).set_index("_row_id")
    assert tx["amount"].tolist() == pytest.approx([20.0, 10.0, 7.0])
    assert res.report.netting == "product_name"
    assert res.report.netted_revenue == pytest.approx(113.0)
    assert any("same product name" in n for n in res.report.notes)


def test_zero_priced_lines_counted_in_every_preset(log_factory):
    """Row 1 priced 0 (a free item), row 2 one unit priced -1 (a price correction,
    ``negative_price``: not goods coming back), row 3 priced 0 without a customer (counted
    as missing_customer_id, not as zero-priced), row 4 an ordinary sale. standard keeps row
    1 and counts it; classic quarantines rows 1 and 2 as nonpositive_price and still counts
    row 1 as zero-priced; none keeps rows 1 and 2.
    """
    d = "2024-05-0{} 10:00:00"
    rows = [("1", "X", "free", "1", d.format(1), "0", "1", "UK"),
            ("2", "Y", "fix", "1", d.format(1), "-1", "1", "UK"),
            ("3", "X", "free", "1", d.format(2), "0", None, "UK"),
            ("4", "Z", "mug", "2", d.format(2), "3", "2", "UK")]
    std = clean(log_factory(rows)).report
    assert std.zero_priced == 1 and std.rows_clean == 2
    assert (std["return"], std["negative_price"]) == (0, 1)
    assert "zero-priced lines: 1 kept as free purchases (a purchase occasion without spend)" \
        in std.notes
    classic = clean(log_factory(rows), preset="classic").report
    assert classic.zero_priced == 1 and classic["nonpositive_price"] == 2
    assert any(n.startswith("zero-priced lines: 1 quarantined as nonpositive_price")
               for n in classic.notes)
    none = clean(log_factory(rows), preset="none").report
    assert none.zero_priced == 1 and none.rows_clean == 3
    assert std.to_dict()["zero_priced"] == 1


def test_amounts_beyond_exact_money_stay_out_of_the_netting(tmp_path):
    """A purchase of 1e35 and a refund of 1e33 (beyond DECIMAL(38, 6)) do not crash the
    run: both are implausible_amount, a rule before the returns, so they stay out of the
    netting. A's refund of 5 finds nothing to come off (A's only purchase is the huge one,
    kept out), so it is unmatched; B's 10 is untouched."""
    text = ("customer_id,order_id,order_date,amount\n"
            "A,1,2024-01-01,1e35\nA,2,2024-01-02,-5\nB,3,2024-01-01,10\n"
            "B,4,2024-01-02,-1e33\n")
    res = clean(read(tmp_path, text), returns="net")
    assert reasons(res) == {1: "implausible_amount", 2: "return_unmatched", 3: None,
                            4: "implausible_amount"}
    tx = fetch(res.transactions).set_index("_row_id")
    assert tx["amount"].tolist() == [10.0]
    assert res.report.refunds_not_netted == 5


def test_by_amount_the_reconciliation_adds_up(amount_log):
    """The hand log above: purchases 30 + 20 + 40 + 10 + 15 + 12 + 8 = 135 - deducted 98 =
    clean spend 37 (20 + 5 + 12); refunds 117 = 98 + not netted 19: row 13's 12 beyond what
    was left (its order's 8 taken) and row 10's 7 unmatched; by amount nothing is refunded
    at another price (difference 0). No quantity column: no excess units."""
    rec = clean(amount_log, returns="net").report.reconciliation()
    assert rec == pytest.approx({
        "matched_by": "amount", "spend_before_netting": 135.0, "refunds_deducted": 98.0,
        "clean_spend": 37.0, "refunds": 117.0, "refunds_not_netted": 19.0,
        "refunds_beyond_purchase": 12.0, "return_lines_beyond_purchase": 1,
        "units_beyond_purchase": 0.0, "refunds_unmatched": 7.0, "return_lines_unmatched": 1,
        "refund_price_difference": 0.0,
    })


def test_by_amount_excess_units_in_proportion(tmp_path):
    """With quantities: G buys 2 x 5.0; returns 4 x 5.0 the next day: 10 of its 20 finds
    nothing left, so half its units (2) are the excess."""
    text = ("customer_id,order_id,order_date,quantity,price\n"
            "G,1,2024-04-01,2,5\nG,2,2024-04-02,-4,5\nH,3,2024-04-02,1,1\n")
    rep = clean(read(tmp_path, text), returns="net", observation_end="2024-04-30").report
    rec = rep.reconciliation()
    assert (rec["return_lines_beyond_purchase"], rec["units_beyond_purchase"]) == (1, 2.0)
    assert rec["refunds_beyond_purchase"] == pytest.approx(10.0)
    assert rec["refunds_deducted"] == pytest.approx(10.0) and rec["clean_spend"] == 1.0
