"""POST /score's summary of a customer's lines sums money as the store does: the same bits
as the customer table (valuemax.features.customer_table) on the same lines."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from valuemax.engines import connect
from valuemax.features import customer_table
from valuemax.serve._score import summarise_lines

END = dt.date(2024, 6, 30)


def _lines() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    rows = [("c0", dt.date(2024, 1, 5), 10.0, "o1"), ("c0", dt.date(2024, 2, 1), 0.1, "o2"),
            ("c0", dt.date(2024, 2, 1), 36.77, "o3")]  # 0.1 + 36.77 = 36.870000000000005
    for i in range(1, 40):
        for _ in range(int(rng.integers(1, 12))):
            day = dt.date(2024, 1, 1) + dt.timedelta(days=int(rng.integers(0, 180)))
            amount = round(float(rng.uniform(0.01, 80)), int(rng.integers(0, 4)))
            rows.append((f"c{i}", day, amount, f"o{len(rows)}"))
    return pd.DataFrame(rows, columns=["customer_id", "order_ts", "amount", "order_id"])


def test_scored_money_figures_equal_the_stored_ones_to_the_bit():
    lines = _lines()
    con = connect(None, threads=1)
    import pyarrow as pa

    table = con.create_table("lines", pa.Table.from_pandas(
        lines.assign(order_ts=pd.to_datetime(lines.order_ts)), preserve_index=False))
    stored = customer_table(table, observation_end=END, time_unit="D").to_pyarrow().to_pandas()
    stored = stored.set_index("customer_id")
    for cid, own in lines.groupby("customer_id"):
        got = summarise_lines(list(own.order_ts), list(own.amount), list(own.order_id),
                              observation_end=END, time_unit="D")
        row = stored.loc[cid]
        for col in ("total_spend", "avg_order_value", "monetary_value"):
            assert got[col] == row[col], (cid, col, got[col], row[col])
        assert got["frequency"] == row["frequency"]
    c0 = summarise_lines(list(lines.order_ts[:3]), list(lines.amount[:3]), ["o1", "o2", "o3"],
                         observation_end=END, time_unit="D")
    assert c0["monetary_value"] == 36.87 and repr(c0["monetary_value"]) == "36.87"
    assert 0.1 + 36.77 != 36.87  # the float sum the old code printed
    con.disconnect()
