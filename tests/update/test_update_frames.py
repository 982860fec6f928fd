"""DataFrames given to update: time zones ruled as analyze rules them, float ids checked."""

from __future__ import annotations

import datetime as dt
import io
import shutil

import duckdb
import pandas as pd
import pytest

import valuemax
from valuemax.exceptions import InputError
from valuemax.pipeline import update

from ._logs import FIRST, HEADER, SECOND

OPTIONS = {"clv": False, "propensity": False, "clusters": "none"}
#: February without the copy of a January line (a late line would be refused first).
FEBRUARY = "".join(line + "\n" for line in SECOND.splitlines() if not line.startswith("1001,"))


def _frame(text, tz=None):
    df = pd.read_csv(io.StringIO(HEADER + text), dtype=str)
    df["InvoiceDate"] = pd.to_datetime(df["InvoiceDate"])
    if tz:
        df["InvoiceDate"] = df["InvoiceDate"].dt.tz_localize(tz)
    return df


@pytest.fixture(scope="module")
def shanghai(tmp_path_factory):
    """A store of January from a DataFrame whose dates are in zone Asia/Shanghai."""
    store = tmp_path_factory.mktemp("zones") / "shanghai.duckdb"
    valuemax.analyze(_frame(FIRST, "Asia/Shanghai"), db=store, **OPTIONS)
    return store


@pytest.fixture
def store(shanghai, tmp_path):
    dst = tmp_path / "s.duckdb"
    shutil.copy2(shanghai, dst)
    return dst


def snapshot(store):
    """Every table of the store in a fixed row order, as Arrow (duckdb's pandas conversion
    of a TIMESTAMPTZ column warns under pandas 3)."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetch_arrow_table()
                for n in sorted(names)}
    finally:
        con.close()


def _unchanged(store, before):
    after = snapshot(store)
    assert after.keys() == before.keys()
    for name in before:
        assert after[name].equals(before[name]), name


@pytest.mark.parametrize(("tz", "message"), [
    ("America/New_York", r"is read in zone 'America/New_York', but the store's log was read "
                         r"in zone 'Asia/Shanghai'.*tz_convert\('Asia/Shanghai'\)"),
    (None, r"has no time zone, but the store's log was timezone-aware, read as wall-clock "
           r"time in zone 'Asia/Shanghai'.*tz_localize\('Asia/Shanghai'\)"),
])
def test_another_zone_than_the_stores_is_refused(store, tz, message):
    before = snapshot(store)
    with pytest.raises(InputError, match=message):
        update(store, _frame(FEBRUARY, tz))
    _unchanged(store, before)


def test_the_stores_zone_keeps_wall_clock_times_as_analyze(store):
    result = update(store, _frame(FEBRUARY, "Asia/Shanghai"))
    assert result.applied
    assert any("all in zone 'Asia/Shanghai'; kept as the local wall-clock time" in n
               for n in result.notes)
    con = duckdb.connect(str(store), read_only=True)
    try:
        (ts,) = con.execute("SELECT order_ts FROM transactions_clean WHERE customer_id = 'c5' "
                            "LIMIT 1").fetchone()
    finally:
        con.close()
    assert ts == dt.datetime(2024, 2, 5, 10)  # the wall-clock time written, as analyze keeps


def test_tz_aware_frame_on_a_naive_store_is_refused(tmp_path):
    store = tmp_path / "csv.duckdb"
    path = tmp_path / "first.csv"
    path.write_text(HEADER + FIRST, encoding="utf-8")
    valuemax.analyze(path, db=store, **OPTIONS)
    with pytest.raises(InputError, match=r"is timezone-aware \(read in zone 'Asia/Shanghai'\), "
                                         r"but the store's log had naive timestamps.*"
                                         r"tz_localize\(None\)"):
        update(store, _frame(FEBRUARY, "Asia/Shanghai"))


def test_float_ids_beyond_2_53_are_refused_by_update(store):
    df = _frame(FEBRUARY, "Asia/Shanghai")
    df["CustomerID"] = [9007199254740993.0 + 2 * i for i in range(len(df))]
    before = snapshot(store)
    with pytest.raises(InputError, match=(
            rf"customer_id \(column 'CustomerID'\): {len(df)} of {len(df)} ids are "
            r"floats of magnitude 2\*\*53 = 9,007,199,254,740,992 or more \(e\.g\. 9007199254740992\.0")):
        update(store, df)
    _unchanged(store, before)
