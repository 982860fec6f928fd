"""A staging table of text (dates and amounts as text, as a CSV load leaves them) is
normalised on PostgreSQL and MariaDB themselves: the plan's date formats and number
cleaning run there as portable expressions (``io/_engine_parse.py``), nothing is pushed,
and every value, flag and result equals the local path's."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest
from tests.io.test_engine_parse import NUMBERS, date_battery, portable_families, staged

from valuemax.engines import to_arrow
from valuemax.io._date_formats import DatePlan, date_stage1, date_stage2
from valuemax.io._numbers import NumberPlan, number_stage1, number_stage2, number_stage3
from valuemax.pipeline import analyze
from valuemax.pipeline._engine import drop_engine_tables, write_engine_table

from .test_engine_normalise import SERVERS, WORK
from .test_parity import CDNOW_CLV, assert_same_quality, assert_same_table, assert_same_value

pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated")



def _both(con, name, values, build):
    """``build(column)`` evaluated over ``values`` on the server and in DuckDB, in order."""
    data = pa.table({"i": list(range(len(values))), "s": pa.array(values, pa.string())})
    write_engine_table(con, name, data)
    try:
        there = con.table(name)
        got = to_arrow(there.select(i=there.i, **build(there.s)).order_by("i")).to_pylist()
    finally:
        drop_engine_tables(con, (name,))
    here = ibis.duckdb.connect().create_table("v", data)
    return got, here.select(i=here.i, **build(here.s)).order_by("i").to_pyarrow().to_pylist()


@pytest.mark.parametrize("which", SERVERS)
def test_date_families_parse_there_as_duckdb(which, request, table_name):
    """Every portable date family, 120 seeded values each (fields in and out of range, every
    blank, am/pm in any case) plus leap days: the server's timestamp (microseconds kept) or
    NULL equals DuckDB's ``try_strptime``, value by value."""
    con = request.getfixturevalue(which)
    battery = date_battery(11, 120)
    battery["iso"] += ["2012-02-29", "2011-02-29", "1900-02-29", "2011-01-05 10:30:00.123456"]
    for fam in portable_families():
        plan = DatePlan("text", fam.formats, fam.guard)
        data = pa.table({"i": list(range(len(battery[fam.key]))),
                         "s": pa.array(battery[fam.key], pa.string())})
        write_engine_table(con, table_name, data)
        try:  # in stages, as standardized() runs it there
            got = to_arrow(staged(con.table(table_name), plan)).column("v").to_pylist()
        finally:
            drop_engine_tables(con, (table_name,))
        here = ibis.duckdb.connect().create_table("v", data)
        exp = here.select(i=here.i, v=date_stage2(date_stage1(here.s, plan), plan)) \
            .order_by("i").to_pyarrow().column("v").to_pylist()
        assert got == exp, fam.key
        assert sum(v is not None for v in exp) >= 5, fam.key


@pytest.mark.parametrize("which", SERVERS)
@pytest.mark.parametrize("plan", [
    NumberPlan("text", ("£", "GBP"), True, ".", ("N/A", "NA", "-")),
    NumberPlan("text", ("£",), True, ",", ("na",)),
    NumberPlan("text", ("£", "GBP"), True, ".", ("N/A",), parens=True),
], ids=["tokens_thousands", "decimal_comma", "accounting_parens"])
def test_numbers_parse_there_as_duckdb(which, plan, request, table_name):
    """Currency signs and codes in any case, thousands separators, decimal commas, null-like
    words compared exactly (MariaDB's own comparison ignores case), blanks: the server's
    value, missing and unparseable flags equal DuckDB's (values with an exponent or over
    300 characters left out: those logs are normalised locally)."""
    values = [v for v in NUMBERS if v not in ("1e3", "1" * 320)]

    def build(s):
        text, cleaned = number_stage1(s, plan)
        v, missing, bad = number_stage3(text, number_stage2(cleaned, plan), plan)
        return {"v": v, "m": missing, "b": bad}

    got, exp = _both(request.getfixturevalue(which), table_name, values, build)
    assert [(r["v"], bool(r["m"]), bool(r["b"])) for r in got] == \
        [(r["v"], bool(r["m"]), bool(r["b"])) for r in exp]
    assert sum(r["v"] is not None for r in exp) >= 8


@pytest.fixture(scope="module")
def chinese_text(cdnow_typed):
    """The CDNOW sample as a Chinese shop's CSV load leaves it in a staging table: Chinese
    column names, every column text, dates ``1997年1月1日`` (every seventh with a time),
    amounts ``￥1,234.50`` or ``1,234.50 RMB`` (every fiftieth 1,000 more, so with a
    thousands separator); 5 impossible dates (30 February), 3 dates
    that are words, 2 blank, 3 amounts ``N/A`` (missing), 4 that are not numbers."""
    rows = cdnow_typed.to_pylist()
    ids, dates, qty, amounts = [], [], [], []
    for i, r in enumerate(rows):
        d = r["date"]
        when = f"{d.year}年{d.month}月{d.day}日" + (f" {i % 24}:{i % 60:02d}" if i % 7 == 0
                                                    else "")
        dates.append(when)
        money = f"{r['amount'] + (1_000 if i % 50 == 1 else 0):,.2f}"
        amounts.append(f"{money} RMB" if i % 5 == 0 else f"￥{money}")
        ids.append(r["customer_id"])
        qty.append(str(r["quantity"]))
    for k in range(5):
        dates[100 + k] = "1997年2月30日"
    for k in range(3):
        dates[200 + k] = "不详"
    dates[300], dates[301] = "", ""
    for k in range(3):
        amounts[400 + k] = "N/A"
    for k, bad in enumerate(("￥12.3.4", "abc", "￥", "12..5")):
        amounts[500 + k] = bad
    return pa.table({"客户编号": ids, "订单日期": dates, "数量": qty, "金额": amounts})


@pytest.fixture(scope="module")
def chinese_local(chinese_text, tmp_path_factory):
    """The local path on the same table written as a GBK-encoded CSV file."""
    path = tmp_path_factory.mktemp("gbk") / "orders.csv"
    chinese_text.to_pandas().to_csv(path, index=False, encoding="gbk")
    return analyze(str(path), **CDNOW_CLV)


@pytest.mark.parametrize("which", SERVERS)
def test_chinese_text_table_normalised_there(which, request, chinese_text, chinese_local):
    """The text table normalised on the server (0 rows pushed, no local normalisation), with
    the GBK file's local results: the quarantine's reason counts (10 date problems and 7
    amount problems found by construction), customer ids, every RFM/BTYD column (1e-9
    relative), calibration/holdout, segments and the chosen CLV model."""
    exp = chinese_local
    assert exp.ingest["encoding"] == "gb18030"
    counts = {r.code: r.count for r in exp.quality.rules}
    assert counts["unparseable_date"] == 8 and counts["missing_date"] == 2
    assert counts["missing_amount"] == 3 and counts["unparseable_amount"] == 4
    notes = " ".join(exp.ingest["notes"])
    assert "thousands separator ','" in notes and "currency sign 'RMB'" in notes
    con = request.getfixturevalue(which)
    write_engine_table(con, "vm_text_zh", chinese_text)
    try:
        res = analyze(None, engine=con, table="vm_text_zh", **CDNOW_CLV)
    finally:
        drop_engine_tables(con, ("vm_text_zh", *WORK))
    assert res.params["normalised_on"] == "engine" and res.params["rows_pushed"] == 0
    assert "normalised_locally_because" not in res.params
    assert res.ingest["mapping"] == exp.ingest["mapping"]
    assert_same_quality(res.quality, exp.quality)
    assert_same_table(res.customers, exp.customers)
    assert_same_table(res.calibration, exp.calibration)
    assert res.customers.set_index("customer_id").segment.sort_index().tolist() == \
        exp.customers.set_index("customer_id").segment.sort_index().tolist()
    assert_same_value(res.value, exp.value)


@pytest.mark.parametrize("which", SERVERS)
def test_exponent_amounts_normalised_locally_with_the_reason(which, request, chinese_text):
    """An amount written with an exponent (``1.5e3``) overflows differently on the servers:
    the run normalises locally, says which column and how many values, and gives the local
    result."""
    amounts = chinese_text["金额"].to_pylist()
    amounts[600] = "1.5e3"
    data = chinese_text.set_column(3, "金额", pa.array(amounts))
    con = request.getfixturevalue(which)
    write_engine_table(con, "vm_text_exp", data)
    try:
        res = analyze(None, engine=con, table="vm_text_exp", **{**CDNOW_CLV, "clv": False})
    finally:
        drop_engine_tables(con, ("vm_text_exp", *WORK))
    assert res.params["normalised_on"] == "local"
    assert res.params["normalised_locally_because"] == (
        "amount (column '金额') has 1 numbers written with an exponent or over 300 "
        "characters, which overflow differently there")
    exp = analyze(data, **{**CDNOW_CLV, "clv": False})
    assert_same_quality(res.quality, exp.quality)
    assert_same_table(res.customers, exp.customers)
