"""Day files an update can read beside the store's log: a date-only day on a store read
with a date-and-time format, narrower integer columns of a DataFrame, and advice that
can be followed when the types differ."""

from __future__ import annotations

import pandas as pd
import pytest

import valuemax
from valuemax._core.exceptions import InputError
from valuemax.pipeline import update

from ._stores import table

OPTIONS = {"clv": False, "propensity": False, "clusters": "none"}
HEADER = "order_id,customer_id,order_date,product_id,quantity,unit_price\n"


def test_date_only_day_on_a_datetime_store(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(HEADER + "1,c1,2024-01-05 10:00:00,P1,1,10.00\n"
                   "2,c1,2024-01-10 11:30:00,P2,2,5.50\n3,c2,2024-01-06 09:00:00,P1,1,20.00\n"
                   "4,c3,2024-01-20 12:00:00,P3,1,7.00\n", encoding="utf-8")
    store = tmp_path / "s.duckdb"
    valuemax.analyze(log, db=store, **OPTIONS)
    day = tmp_path / "day.csv"
    day.write_text(HEADER + "5,c1,2024-02-01,P1,1,10.00\n", encoding="utf-8")
    result = update(store, day)
    assert result.rows_clean == 1 and result.observation_end.isoformat() == "2024-02-01"
    c = table(store, "customers", "customer_id").set_index("customer_id")
    assert c.loc["c1", "n_orders"] == 3 and str(c.loc["c1", "last_purchase"])[:10] == \
        "2024-02-01"
    # the stored lines keep their times (read with the store's own format)
    clean = table(store, "transactions_clean", "_row_id")
    assert str(clean.loc[0, "order_ts"]) == "2024-01-05 10:00:00"


def _frame(rows):
    return pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "quantity",
                                       "unit_price"]).assign(
        order_date=lambda d: pd.to_datetime(d["order_date"]))


@pytest.fixture
def frame_store(tmp_path):
    log = _frame([["1", "a", "2024-01-02", 2, 5.0], ["2", "b", "2024-01-03", 1, 4.0],
                  ["3", "a", "2024-01-09", 1, 7.5]])
    assert log["quantity"].dtype == "int64"
    store = tmp_path / "s.duckdb"
    valuemax.analyze(log, db=store, **OPTIONS)
    return store


def test_narrower_integers_widened(frame_store):
    new = _frame([["4", "b", "2024-01-20", 3, 2.0]]).astype({"quantity": "int32"})
    result = update(frame_store, new)
    assert result.rows_clean == 1
    c = table(frame_store, "customers", "customer_id").set_index("customer_id")
    assert c.loc["b", "n_orders"] == 2 and c.loc["b", "total_spend"] == pytest.approx(10.0)
    raw = table(frame_store, "transactions_raw", "_row_id")
    assert raw["quantity"].tolist() == [2, 1, 1, 3] and raw["quantity"].dtype == "int64"


def test_csv_day_on_a_frame_store_says_what_works(frame_store, tmp_path):
    day = tmp_path / "day.csv"
    day.write_text("order_id,customer_id,order_date,quantity,unit_price\n"
                   "4,b,2024-01-20,3,2.0\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"read from a typed table \(pandas\): pass the new "
                                         r"lines as a table of the same kind.*'quantity' int64"
                                         r".*a CSV day file cannot update this store"):
        update(frame_store, day)
