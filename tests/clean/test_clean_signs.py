"""Lines whose quantity and amount have opposite signs: counted in a note with examples and
where they went, never changed (DESIGN.md 5: no silent coercion)."""

from __future__ import annotations

import pandas as pd
import pytest

from valuemax.clean import clean
from valuemax.io import read_transactions


def _log(quantity, amount, unit_price=None) -> pd.DataFrame:
    n = len(quantity)
    log = pd.DataFrame({
        "customer_id": ["c0"] * n,
        "order_id": [str(i) for i in range(n)],
        "order_ts": [f"2024-01-{1 + i:02d}" for i in range(n)],
        "product_id": ["p"] * n, "quantity": quantity, "amount": amount})
    if unit_price is not None:
        log["unit_price"] = unit_price
    return log


def _sign_notes(res) -> list[str]:
    return [n for n in res.report.notes if "opposite signs" in n]


# rows 1..5: a purchase, -2 units for +10.00, a purchase, 2 units for -6.00, a plain return
QTY, AMT = [5, -2, 6, 2, -1], [25.0, 10.0, 18.0, -6.0, -5.0]


@pytest.mark.parametrize(("options", "went"), [
    ({}, "2 return"),
    ({"returns": "net"}, "2 return_netted"),
    ({"preset": "none"}, "2 kept clean"),
])
def test_opposite_signs_are_counted_with_examples_and_where_they_went(options, went):
    res = clean(read_transactions(_log(QTY, AMT)), **options)
    (note,) = _sign_notes(res)
    assert note.startswith("2 lines have a quantity and an amount of opposite signs (e.g. "
                           "row 2: quantity -2, amount 10.00; row 4: quantity 2, amount "
                           "-6.00); their values are not changed")
    assert f"where they went: {went}. Check the export's signs" in note
    # nothing lost, nothing changed: the lines are where the note says, as read
    q = res.quarantine.to_pyarrow().to_pandas().set_index("_row_id")
    if options.get("preset") == "none":
        tx = res.transactions.to_pyarrow().to_pandas().set_index("_row_id")
        assert tx.loc[[2, 4], "amount"].tolist() == [10.0, -6.0]
    else:
        assert q.loc[[2, 4], "reason"].tolist() == [went.split()[1]] * 2
        assert q.loc[[2, 4], "amount"].tolist() == [10.0, -6.0]
    assert res.report.rows_in == 5 == res.report.rows_clean + res.report.rows_quarantined


def test_consistent_signs_give_no_note():
    # a plain return (-1 for -5.00) and a negative price on a positive quantity (a price
    # correction: 2 x -3.00 = -6.00) are not conflicts
    res = clean(read_transactions(_log([2, -1, 2], [10.0, -5.0, -6.0], [5.0, 5.0, -3.0])))
    assert _sign_notes(res) == []
    assert res.report["negative_price"] == 1 and res.report["return"] == 1
