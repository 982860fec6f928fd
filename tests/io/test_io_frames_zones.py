"""In-memory frames (categoricals, indexes, empty frames) and time zones on every path."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from valuemax.exceptions import InputError
from valuemax.io import read_transactions


def ts(*args) -> dt.datetime:
    return dt.datetime(*args)


# ---------------------------------------------------------------- categoricals (QA 1)


def test_pandas_category_column_is_decoded(rows):
    frame = pd.DataFrame({
        "customer_id": pd.Categorical(["A", "A", "B"]), "order_id": ["1", "2", "3"],
        "order_date": pd.to_datetime(["2011-01-03", "2011-02-03", "2011-01-05"]),
        "amount": [10.5, 20, 5.25]})
    ing = read_transactions(frame)
    assert rows(ing.standardized(), "customer_id", "amount") == [
        ("A", 10.5), ("A", 20.0), ("B", 5.25)]
    assert ing.raw.schema()["customer_id"].is_string()
    assert any("categorical columns read as their values: 'customer_id'" in n
               for n in ing.notes)


def test_polars_categorical_and_chunked_arrow_dictionary(rows):
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"customer_id": pl.Series(["x", "y", "x"], dtype=pl.Categorical),
                          "date": ["2024-01-05", "2024-01-06", "2024-01-07"],
                          "amount": [1.0, 2.0, 3.0]})
    assert rows(read_transactions(frame).standardized(), "customer_id") == [
        ("x",), ("y",), ("x",)]
    chunks = pa.chunked_array([pa.array(["p", "q"]).dictionary_encode(),
                               pa.array(["q"]).dictionary_encode()])
    table = pa.table({"customer_id": chunks, "date": ["2024-01-05"] * 3, "amount": [1, 2, 3]})
    assert rows(read_transactions(table).standardized(), "customer_id") == [
        ("p",), ("q",), ("q",)]


# ---------------------------------------------------------------- frames (QA 11)


def test_empty_frames_say_what_is_missing():
    with pytest.raises(InputError, match=r"the pandas\.DataFrame has no columns \(0 rows\)"):
        read_transactions(pd.DataFrame())
    empty = pd.DataFrame({"customer_id": [], "date": [], "amount": []})
    with pytest.raises(InputError, match=r"has no rows \(3 columns: 'customer_id', 'date', "
                       r"'amount'\); expected one row per transaction line"):
        read_transactions(empty)


def test_unnamed_pandas_index_is_dropped(rows):
    frame = pd.DataFrame({"customer_id": ["a", "b"], "date": ["2024-01-05", "2024-01-06"],
                          "amount": [1.0, 2.0]}, index=[10, 20])
    ing = read_transactions(frame)
    assert ing.raw.columns == ("customer_id", "date", "amount", "_row_id")
    assert not any("index" in n for n in ing.notes)


def test_named_pandas_index_is_kept_as_a_column(rows):
    frame = pd.DataFrame({"date": ["2024-01-05", "2024-01-06"], "amount": [1.0, 2.0]},
                         index=pd.Index(["c1", "c2"], name="customer_id"))
    ing = read_transactions(frame)
    assert rows(ing.standardized(), "customer_id", "amount") == [("c1", 1.0), ("c2", 2.0)]
    assert "the pandas index 'customer_id' is kept as a column" in ing.notes
    clash = pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-05"], "amount": [1.0]},
                         index=pd.Index(["x"], name="customer_id"))
    ing = read_transactions(clash)
    assert rows(ing.raw, "customer_id_index", "customer_id") == [("x", "a")]
    assert any("named 'customer_id_index'" in n for n in ing.notes)


# ---------------------------------------------------------------- time zones (QA 6)


def test_aware_and_naive_timestamps_mixed_in_one_column_are_refused():
    frame = pd.DataFrame({
        "customer_id": ["a", "b"],
        "date": pd.Series([pd.Timestamp("2011-01-03 01:00", tz="Asia/Shanghai"),
                           pd.Timestamp("2011-01-03 01:00")], dtype=object),
        "amount": [1.0, 2.0]})
    with pytest.raises(InputError, match=r"column 'date' .* mixes 1 timezone-aware and 1 naive "
                       r"timestamps .*does not guess the zone of the naive ones"):
        read_transactions(frame)


def test_one_zone_keeps_local_days(rows):
    frame = pd.DataFrame({
        "customer_id": ["a", "b"],
        "date": pd.to_datetime(["2011-01-03 01:00", "2011-01-04 23:30"]).tz_localize(
            "Asia/Shanghai"),
        "amount": [1.0, 2.0]})
    ing = read_transactions(frame)
    # converting to UTC would move the first purchase to 2011-01-02
    assert rows(ing.standardized(), "order_ts") == [(ts(2011, 1, 3, 1),), (ts(2011, 1, 4, 23, 30),)]
    assert any("all in zone 'Asia/Shanghai'; kept as the local wall-clock time" in n
               for n in ing.notes)
    assert not any("'UTC'" in n for n in ing.notes)


def test_object_column_with_several_zones_is_converted_to_utc(rows):
    frame = pd.DataFrame({
        "customer_id": ["a", "b", "c"],
        "date": pd.Series([pd.Timestamp("2011-01-03 01:00", tz="Asia/Shanghai"),
                           pd.Timestamp("2011-01-04 01:00", tz="Asia/Shanghai"),
                           pd.Timestamp("2011-01-03 01:00", tz="UTC")], dtype=object),
        "amount": [1.0, 2.0, 3.0]})
    ing = read_transactions(frame)
    assert rows(ing.standardized(), "order_ts") == [
        (ts(2011, 1, 2, 17),), (ts(2011, 1, 3, 17),), (ts(2011, 1, 3, 1),)]
    assert any("in 2 different zones/offsets (+08:00: 2 values, +00:00: 1 values); converted "
               "to UTC" in n for n in ing.notes)


def test_parquet_zone_is_kept(tmp_path, rows):
    path = tmp_path / "tz.parquet"
    stamps = pd.to_datetime(["2011-01-03 01:00"]).tz_localize("Asia/Shanghai")
    pq.write_table(pa.table({"customer_id": ["a"], "date": pa.array(stamps), "amount": [1.0]}),
                   path)
    ing = read_transactions(path)
    assert rows(ing.standardized(), "order_ts") == [(ts(2011, 1, 3, 1),)]
    assert any("zone 'Asia/Shanghai'" in n for n in ing.notes)


def test_fixed_offset_zone_of_an_arrow_table(rows):
    table = pa.table({"customer_id": ["a"], "amount": [1.0],
                      "date": pa.array([ts(2011, 1, 2, 17)], pa.timestamp("us", tz="+08:00"))})
    ing = read_transactions(table)
    assert rows(ing.standardized(), "order_ts") == [(ts(2011, 1, 3, 1),)]


def test_duckdb_timestamptz_has_no_zone_and_is_utc(tmp_path, rows):
    db = tmp_path / "tz.duckdb"
    with duckdb.connect(str(db)) as c:
        c.execute("CREATE TABLE o AS SELECT 'a' AS customer_id, 1.0 AS amount, "
                  "TIMESTAMPTZ '2011-01-03 01:00:00+08' AS date")
    ing = read_transactions(f"duckdb:///{db}::o")
    assert rows(ing.standardized(), "order_ts") == [(ts(2011, 1, 2, 17),)]
    assert any("instants without a zone; converted to UTC" in n for n in ing.notes)


def test_text_offsets_one_offset_keeps_local_time(write, rows):
    text = ("customer_id,date,amount\na,2011-01-03T01:00:00+08:00,1\n"
            "b,2011-01-04 10:00:00+0800,2\n")
    ing = read_transactions(write("off.csv", text))
    assert rows(ing.standardized(), "order_ts") == [(ts(2011, 1, 3, 1),), (ts(2011, 1, 4, 10),)]
    assert any("all 2 values carry the UTC offset +08:00; kept as the local wall-clock time"
               in n for n in ing.notes)


def test_given_offset_format_follows_the_same_policy(write, rows):
    text = "customer_id,date,amount\na,03/01/2011 01:00 +0800,1\nb,04/01/2011 02:00 +0800,2\n"
    path = write("given.csv", text)
    ing = read_transactions(path, date_format="%d/%m/%Y %H:%M %z")
    assert rows(ing.standardized(), "order_ts") == [(ts(2011, 1, 3, 1),), (ts(2011, 1, 4, 2),)]
    assert any("carry the UTC offset +08:00" in n for n in ing.notes)


def test_duplicate_column_names_are_named_with_the_advice_to_rename_them():
    df = pd.DataFrame([["a", "2024-01-01", 1.0, 2.0, "x", "y", "z"]],
                      columns=["customer_id", "date", "amount", "amount", "note", "note", "note"])
    with pytest.raises(InputError) as caught:
        read_transactions(df)
    message = str(caught.value)
    assert "2 duplicate column name(s): 'amount' (2 times), 'note' (3 times)" in message
    assert "rename the duplicates" in message and "one type" not in message
