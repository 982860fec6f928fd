"""customer_table on the hand-built log (values worked out by hand), options and bad input."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from valuemax.engines import connect
from valuemax.exceptions import InputError
from valuemax.features import calibration_holdout, customer_table

OBS_END = dt.date(2024, 1, 31)


def frame(expr) -> pd.DataFrame:
    """Execute ``expr`` through Arrow (ibis' own pandas conversion warns under pandas 3)."""
    return expr.to_pyarrow().to_pandas()


@pytest.fixture
def con():
    backend = connect(None)
    yield backend
    backend.disconnect()


def _table(con, df: pd.DataFrame, name: str = "tx"):
    return con.create_table(name, pa.Table.from_pandas(df, preserve_index=False))


@pytest.fixture
def small(con, tx_small):
    """tx_small in canonical form: amount = quantity * unit_price, 1-based _row_id."""
    df = tx_small.assign(
        amount=tx_small["quantity"] * tx_small["unit_price"],
        _row_id=np.arange(1, len(tx_small) + 1, dtype="int64"),
    )
    return _table(con, df)


# Worked out by hand from the 8 lines of tx_small, observation end 2024-01-31:
# c1: 01-01 o1 1*10 + 2*5 = 20 | 01-03 o2 1*20 = 20, o3 3*10 = 30 | 01-10 o4 1*40 = 40
#     5 lines, 4 orders, total 110, AOV 27.5; days {01, 03, 10}: frequency 2,
#     recency 10-1 = 9 days, T 31-1 = 30 days, recency_days 21, tenure 30,
#     monetary (day 03: 50, day 10: 40) / 2 = 45.
# c2: 01-05 o5 5*2 = 10: 1 line, 1 order, frequency 0, recency 0, T 26, monetary 0.
# c3: 01-02 o6 1*7 = 7 | 01-09 o7 2*4 = 8: frequency 1, recency 7, T 29,
#     recency_days 22, tenure 29, monetary 8.
BY_HAND = pd.DataFrame(
    {
        "customer_id": ["c1", "c2", "c3"],
        "first_purchase": [dt.date(2024, 1, 1), dt.date(2024, 1, 5), dt.date(2024, 1, 2)],
        "last_purchase": [dt.date(2024, 1, 10), dt.date(2024, 1, 5), dt.date(2024, 1, 9)],
        "n_orders": [4, 1, 2],
        "n_lines": [5, 1, 2],
        "total_spend": [110.0, 10.0, 15.0],
        "avg_order_value": [27.5, 10.0, 7.5],
        "recency_days": [21, 26, 22],
        "tenure_days": [30, 26, 29],
        "frequency": [2, 0, 1],
        "recency_in_days": [9.0, 0.0, 7.0],
        "T_in_days": [30.0, 26.0, 29.0],
        "monetary_value": [45.0, 0.0, 8.0],
    }
)


@pytest.mark.parametrize("time_unit, days", [("D", 1), ("W", 7)])
def test_tx_small_matches_hand_computation(small, time_unit, days):
    out = frame(customer_table(small, observation_end=OBS_END, time_unit=time_unit))
    exp = BY_HAND
    assert out["customer_id"].tolist() == exp["customer_id"].tolist()
    for col in (
        "first_purchase",
        "last_purchase",
        "n_orders",
        "n_lines",
        "recency_days",
        "tenure_days",
        "frequency",
    ):
        assert out[col].tolist() == exp[col].tolist(), col
    for col in ("total_spend", "avg_order_value", "monetary_value"):
        np.testing.assert_allclose(out[col], exp[col], rtol=1e-12, err_msg=col)
    np.testing.assert_allclose(out["recency"], exp["recency_in_days"] / days, rtol=1e-12)
    np.testing.assert_allclose(out["T"], exp["T_in_days"] / days, rtol=1e-12)


def test_output_types(small):
    schema = customer_table(small, observation_end=OBS_END, mode_columns=("product_id",)).schema()
    types = {name: str(dtype) for name, dtype in schema.items()}
    assert types == {
        "customer_id": "string",
        "first_purchase": "date",
        "last_purchase": "date",
        "n_orders": "int64",
        "n_lines": "int64",
        "total_spend": "float64",
        "avg_order_value": "float64",
        "recency_days": "int64",
        "tenure_days": "int64",
        "frequency": "int64",
        "recency": "float64",
        "T": "float64",
        "monetary_value": "float64",
        "product_id": "string",
    }


def test_null_order_id_makes_the_line_its_own_order(con, tx_small):
    df = tx_small.assign(amount=tx_small["quantity"] * tx_small["unit_price"])
    df["order_id"] = df["order_id"].astype(object)
    df.loc[[0, 1], "order_id"] = None  # c1's o1 lines: now two orders
    out = frame(customer_table(_table(con, df), observation_end=OBS_END))
    assert out["n_orders"].tolist() == [5, 1, 2]
    # purchase days do not change: still one occasion on 2024-01-01
    assert out["frequency"].tolist() == [2, 0, 1]
    no_orders = _table(con, df.drop(columns="order_id"), "tx_no_orders")
    out = frame(customer_table(no_orders, observation_end=OBS_END))
    assert out["n_orders"].tolist() == out["n_lines"].tolist() == [5, 1, 2]


def test_date_typed_order_ts_gives_the_same_table(con, small):
    as_dates = small.mutate(order_ts=small.order_ts.date())
    a = frame(customer_table(small, observation_end=OBS_END, time_unit="W"))
    b = frame(customer_table(as_dates, observation_end="2024-01-31", time_unit="W"))
    pd.testing.assert_frame_equal(a, b)


def test_mode_columns_most_frequent_then_smallest(con):
    df = pd.DataFrame(
        {
            "customer_id": ["x", "x", "x", "y", "y", "z", "z", "w", "w"],
            "order_ts": pd.to_datetime(["2024-01-01"] * 9),
            "amount": [1.0] * 9,
            "Country": ["b", "b", "a", "b", "a", None, None, None, "c"],
        }
    )
    out = frame(
        customer_table(_table(con, df), observation_end="2024-01-02", mode_columns=("Country",))
    )
    assert out["customer_id"].tolist() == ["w", "x", "y", "z"]
    # w: NULLs ignored -> c; x: b twice beats a; y: tie -> smallest a; z: only NULL -> NULL
    assert out["Country"].tolist()[:3] == ["c", "b", "a"]
    assert pd.isna(out["Country"].iloc[3])


def test_tx_small_modes(small):
    out = frame(customer_table(small, observation_end=OBS_END, mode_columns=("product_id",)))
    # c1: A x2, B x2, C x1 -> tie A/B -> A; c2: A; c3: C x1, A x1 -> A
    assert out["product_id"].tolist() == ["A", "A", "A"]


def test_empty_log_gives_empty_table(small):
    out = frame(customer_table(small.filter(small.amount < 0), observation_end=OBS_END))
    assert len(out) == 0
    assert "monetary_value" in out.columns


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("unit", ["M", "w", "days", None])
def test_bad_time_unit(small, unit):
    with pytest.raises(InputError, match=r"time_unit=.* is not a valid option; choose one of 'D', 'W'"):
        customer_table(small, observation_end=OBS_END, time_unit=unit)


def test_lines_after_observation_end_are_counted(small):
    # 2024-01-10 (c1) and 2024-01-09 (c3) fall after 2024-01-08
    with pytest.raises(
        InputError,
        match=r"2 of 8 transaction lines fall after "
        r"observation_end=2024-01-08 \(last purchase day 2024-01-10; "
        r"customer_id c1, c3\)",
    ):
        customer_table(small, observation_end="2024-01-08")


@pytest.mark.parametrize(
    "value, message",
    [
        ("2024-01-31 12:00", "has a time of day"),
        ("31/01/2024", "is not a date YYYY-MM-DD"),
        (20240131, "must be a date"),
        (dt.datetime(2024, 1, 31, tzinfo=dt.UTC), "has a time zone"),
    ],
)
def test_bad_observation_end(small, value, message):
    with pytest.raises(InputError, match=message):
        customer_table(small, observation_end=value)


def test_midnight_datetime_is_accepted(small):
    a = frame(customer_table(small, observation_end=pd.Timestamp("2024-01-31")))
    assert a["tenure_days"].tolist() == [30, 26, 29]


def test_null_customer_id_is_refused(con, tx_small):
    df = tx_small.assign(amount=tx_small["quantity"] * tx_small["unit_price"])
    df["customer_id"] = df["customer_id"].astype(object)
    df.loc[5, "customer_id"] = None
    with pytest.raises(InputError, match=r"1 with NULL customer_id \(of 8 transaction lines\)"):
        customer_table(_table(con, df), observation_end=OBS_END)


@pytest.mark.parametrize("bad", [1e300, -2e15, np.inf])
def test_implausible_amount_is_refused_with_the_customer(con, tx_small, bad):
    """An amount the fixed-point money sums cannot hold is an error naming the customer,
    never an engine's cast error or an absurd total."""
    df = tx_small.assign(amount=tx_small["quantity"] * tx_small["unit_price"])
    df.loc[5, "amount"] = bad
    who = df.loc[5, "customer_id"]
    with pytest.raises(InputError, match=rf"1 of 8 transaction lines have an amount of 1e\+15 "
                       rf"or more.*customer_id {who}\).*implausible_amount"):
        customer_table(_table(con, df), observation_end=OBS_END)


def test_missing_amount_suggests_the_fix(con, tx_small):
    with pytest.raises(InputError, match=r"lack column\(s\) 'amount'.*quantity \* t.unit_price"):
        customer_table(_table(con, tx_small), observation_end=OBS_END)


def test_not_an_ibis_table(tx_small):
    with pytest.raises(InputError, match=r"must be an ibis\.Table, got DataFrame"):
        customer_table(tx_small, observation_end=OBS_END)


def test_text_order_ts_is_refused(small):
    text = small.mutate(order_ts=small.order_ts.cast("string"))
    with pytest.raises(InputError, match="order_ts has type string"):
        customer_table(text, observation_end=OBS_END)


@pytest.mark.parametrize(
    "modes, message",
    [
        ("product_id", r"for one column write mode_columns=\('product_id',\)"),
        (("Country",), r"not in the transactions: 'Country'; available: "),
        (("quantity", "quantity"), "repeats a name"),
        (("amount",), None),
    ],
)
def test_bad_mode_columns(small, modes, message):
    if message is None:  # an existing, non-clashing column is fine
        out = frame(customer_table(small, observation_end=OBS_END, mode_columns=modes))
        assert out["amount"].tolist() == [10.0, 10.0, 7.0]  # ties -> smallest
        return
    with pytest.raises(InputError, match=message):
        customer_table(small, observation_end=OBS_END, mode_columns=modes)


def test_calibration_end_must_precede_observation_end(small):
    with pytest.raises(
        InputError, match="calibration_end=2024-01-31 must be before observation_end=2024-01-31"
    ):
        calibration_holdout(small, calibration_end=OBS_END, observation_end=OBS_END)


def test_calibration_holdout_tx_small(small):
    # calibration to 2024-01-04: c1 (01-01, 01-03) and c3 (01-02); c2 starts 01-05 -> out.
    # holdout (01-04, 01-31]: c1 buys on 01-10 (40), c3 on 01-09 (8); 27 days.
    out = frame(
        calibration_holdout(
            small, calibration_end="2024-01-04", observation_end=OBS_END, time_unit="D"
        )
    )
    assert out["customer_id"].tolist() == ["c1", "c3"]
    assert out["frequency"].tolist() == [1, 0]
    np.testing.assert_allclose(out["recency"], [2.0, 0.0])
    np.testing.assert_allclose(out["T"], [3.0, 2.0])
    np.testing.assert_allclose(out["monetary_value"], [50.0, 0.0])
    assert out["n_lines"].tolist() == [4, 1]
    assert out["frequency_holdout"].tolist() == [1, 1]
    np.testing.assert_allclose(out["monetary_holdout"], [40.0, 8.0])
    np.testing.assert_allclose(out["duration_holdout"], [27.0, 27.0])


def test_public_names():
    import valuemax.features

    assert valuemax.features.__all__ == ["calibration_holdout", "customer_table",
                                         "repeat_purchase_days"]


# ---------------------------------------------------------------- a log without prices


def test_no_money_table_is_the_hand_computation_without_money_columns(con, tx_small):
    # amount NULL on every line (how valuemax.io reads a log without prices)
    df = tx_small.drop(columns=["unit_price"]).assign(
        amount=np.nan, _row_id=np.arange(1, len(tx_small) + 1, dtype="int64"))
    tx = _table(con, df, "tx_noprice")
    out = frame(customer_table(tx, observation_end=OBS_END, money=False))
    assert not {"total_spend", "avg_order_value", "monetary_value"} & set(out.columns)
    want = BY_HAND.drop(columns=["total_spend", "avg_order_value", "monetary_value"])
    for col in ("n_orders", "n_lines", "recency_days", "tenure_days", "frequency"):
        assert out[col].tolist() == want[col].tolist(), col
    assert out["recency"].tolist() == want["recency_in_days"].tolist()
    assert out["T"].tolist() == want["T_in_days"].tolist()
    # the money default still refuses NULL amounts
    with pytest.raises(InputError, match=r"8 with NULL amount \(of 8 transaction lines\)"):
        customer_table(tx, observation_end=OBS_END)


def test_no_money_calibration_holdout_keeps_the_counts(con, small):
    with_money = frame(calibration_holdout(small, calibration_end="2024-01-04",
                                           observation_end=OBS_END))
    without = frame(calibration_holdout(small, calibration_end="2024-01-04",
                                        observation_end=OBS_END, money=False))
    money = ["total_spend", "avg_order_value", "monetary_value", "monetary_holdout"]
    assert not set(money) & set(without.columns)
    pd.testing.assert_frame_equal(without, with_money.drop(columns=money))


@pytest.mark.parametrize("modes", [(), ("country",)])
def test_duckdb_plan_shares_no_materialised_scan_of_the_lines(modes):
    """On DuckDB 1.4 a projection of the lines that two aggregates share compiles to a CTE,
    which DuckDB materialises in memory (every line's customer, order, day and amount):
    ``valuemax analyze`` of the 30M-line benchmark log ran out of the store's 1.5 GB limit
    in the customers step (the aggregates alone spill and pass). Each aggregate scans the
    table itself, so the SQL has no CTE at all; the calibration/holdout table builds on it."""
    con = connect(None)
    con.raw_sql("CREATE TABLE tx (customer_id VARCHAR, order_id VARCHAR, "
                "order_ts TIMESTAMP, amount DOUBLE, country VARCHAR)")
    t = con.table("tx")
    exprs = [customer_table(t, time_unit="D", observation_end="2024-01-01", mode_columns=modes),
             calibration_holdout(t, calibration_end="2023-06-01", observation_end="2024-01-01",
                                 time_unit="D")]
    for expr in exprs:
        words = ibis.to_sql(expr, dialect="duckdb").upper().split()
        assert "WITH" not in words, " ".join(words[:40])
    con.disconnect()
