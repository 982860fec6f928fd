"""read_transactions on every supported format, with mapping and parsed values checked."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import tempfile

import duckdb
import ibis
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

import valuemax.io
from valuemax.exceptions import InputError
from valuemax.io import Ingested, read_transactions

EXPECTED_MAPPING = {
    "customer_id": "Customer ID", "order_id": "order_no", "order_ts": "Order Date",
    "quantity": "Qty", "unit_price": "Unit Price", "product_id": "SKU",
    "product_name": "Product Name",
}
STD_COLUMNS = [
    "_row_id", "customer_id", "order_id", "order_ts", "amount", "quantity", "unit_price",
    "product_id", "product_name",
]


def _tables(con) -> list[str]:
    # not con.list_tables(): ibis 12 calls a method duckdb 1.5 deprecates (a warning = error)
    return [r[0] for r in con.raw_sql("SELECT table_name FROM duckdb_tables()").fetchall()]


def ts(*args: int) -> dt.datetime:
    return dt.datetime(*args)


def test_exported_names():
    assert sorted(valuemax.io.__all__) == ["Ingested", "ParsePlan", "normalise_encoding",
                                           "protect", "read_customer_table",
                                           "read_transactions", "table_encoding"]


def test_small_csv_mapping_and_values(small_csv, rows):
    ing = read_transactions(small_csv)
    assert isinstance(ing, Ingested)
    assert (ing.format, ing.encoding, ing.header, ing.n_rows) == ("csv", "utf-8", True, 4)
    assert ing.mapping == EXPECTED_MAPPING
    assert ing.extra_columns == ("Country",)
    assert ing.date_formats == ("%Y-%m-%d %H:%M:%S",)
    assert ing.fingerprint == hashlib.sha256(small_csv.read_bytes()).hexdigest()
    std = ing.standardized()
    assert std.columns == (*STD_COLUMNS, "Country", "_parse_error")
    assert str(std.schema()["order_ts"]) == "timestamp"
    assert rows(std, "_row_id", "customer_id", "order_id", "order_ts", "amount",
                "product_name", "Country", "_parse_error") == [
        (1, "007", "A1", ts(2024, 1, 5, 10), 7.0, "Mug", "UK", None),
        (2, "007", "A1", ts(2024, 1, 5, 10), 10.0, "Plate, large", "UK", None),
        (3, "008", "A2", ts(2024, 2, 1, 9, 30), 6.75, "Mug", "FR", None),
        (4, None, "A3", ts(2024, 2, 2, 9, 30), 1.0, "Spoon", "FR", "missing_customer_id"),
    ]
    # the raw table keeps the text exactly as read, all VARCHAR, plus _row_id
    assert rows(ing.raw, "Customer ID", "Unit Price")[0] == (" 007 ", "3.50")
    assert all(str(t) == "string" for c, t in ing.raw.schema().items() if c != "_row_id")
    assert any("trimmed surrounding blanks from 1 values" in n for n in ing.notes)
    assert any("amount = quantity * unit_price" in n for n in ing.notes)
    assert json.loads(json.dumps(ing.to_dict()))["mapping"] == EXPECTED_MAPPING


def test_row_order_is_file_order_on_a_parallel_read(write, rows):
    n = 120_000  # large enough for DuckDB's parallel CSV reader
    body = "".join(f"c{i % 97},2024-01-{1 + i % 28:02d},{i}\n" for i in range(1, n + 1))
    ing = read_transactions(write("big.csv", "customer_id,date,amount\n" + body))
    out = ing.raw.filter(ing.raw.amount.cast("int64") != ing.raw._row_id).count()
    assert ing.n_rows == n
    assert out.to_pyarrow().as_py() == 0


def test_gbk_chinese_headers(write, rows, tmp_path, monkeypatch):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the UTF-8 copy goes
    text = (
        "客户ID,订单号,下单时间,数量,单价,商品名称\n"
        "C001,D1,2024-01-05 10:00:00,2,3.5,苹果\n"
        "C002,D2,2024-01-06 11:00:00,1,12,香蕉牛奶\n"
    )
    ing = read_transactions(write("orders_gbk.csv", text, encoding="gbk"))
    assert ing.encoding == "gb18030"
    assert ing.mapping == {
        "customer_id": "客户ID", "order_id": "订单号", "order_ts": "下单时间",
        "quantity": "数量", "unit_price": "单价", "product_name": "商品名称",
    }
    assert rows(ing.standardized(), "customer_id", "amount", "product_name") == [
        ("C001", 7.0, "苹果"), ("C002", 12.0, "香蕉牛奶")]
    assert any("transcoded from gb18030" in n for n in ing.notes)
    # the temporary UTF-8 copy is deleted; the open connection's own (empty) spill folder
    # lives in the temp folder too, until the connection is closed
    left = list(scratch.iterdir())
    assert [p for p in left if not p.name.startswith("valuemax-duckdb-spill-")] == []
    assert all(p.is_dir() and list(p.iterdir()) == [] for p in left)
    ing.con.disconnect()
    assert list(scratch.iterdir()) == []


def test_taobao_order_export_headers_are_mapped(write, rows):
    """A Taobao seller's order export (its standard headers, GBK): the buyer's member name
    is the customer, the order's creation time the date, the amount actually paid the
    amount (not the list total) and the item title the product (new user: 宝贝标题 was
    left unmapped, so the basket step was skipped)."""
    text = (
        "订单编号,买家会员名,总金额,买家实际支付金额,订单创建时间,订单付款时间,宝贝标题\n"
        "T1001,小王,120.00,99.00,2024-03-01 10:00:00,2024-03-01 10:02:00,龙井绿茶 250g\n"
        "T1002,阿美,45.50,45.50,2024-03-02 09:30:00,2024-03-02 09:31:00,紫砂茶杯\n"
    )
    ing = read_transactions(write("ExportOrderList.csv", text, encoding="gbk"))
    assert ing.mapping == {
        "customer_id": "买家会员名", "order_id": "订单编号", "order_ts": "订单创建时间",
        "amount": "买家实际支付金额", "product_name": "宝贝标题",
    }
    assert rows(ing.standardized(), "customer_id", "amount", "product_name") == [
        ("小王", 99.0, "龙井绿茶 250g"), ("阿美", 45.5, "紫砂茶杯")]
    assert any("amount: several columns match ('买家实际支付金额', '总金额')" in n
               for n in ing.notes)


def test_other_encodings_are_not_guessed(write, rows):
    text = "customer,date,amount,city\nc1,2024-01-05,3,Zürich\nc2,2024-01-06,4,Genève\n"
    path = write("latin.csv", text, encoding="latin-1")
    with pytest.raises(InputError, match=r"neither UTF-8 nor GB18030; charset-normalizer "
                       r"suggests .*does not guess.*encoding='cp1252'"):
        read_transactions(path)
    ing = read_transactions(path, encoding="latin-1")
    assert ing.encoding == "iso8859-1"
    assert rows(ing.standardized(), "city") == [("Zürich",), ("Genève",)]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"])
def test_utf16(write, rows, encoding):
    text = "customer_id,date,amount\nc1,2024-01-05,3.5\nc2,2024-01-06,4\n"
    path = write("wide.csv", text, encoding=encoding)
    ing = read_transactions(path, encoding=None if encoding == "utf-16" else encoding)
    assert rows(ing.standardized(), "customer_id", "amount") == [("c1", 3.5), ("c2", 4.0)]


def test_headerless_csv_with_columns(write, rows):
    path = write("nohead.csv", "00004,2024-01-05,1.5\n00005,2024-01-06,2\n")
    ing = read_transactions(path, columns=("customer_id", "date", "amount"))
    assert ing.header is False
    assert rows(ing.standardized(), "_row_id", "customer_id", "amount") == [
        (1, "00004", 1.5), (2, "00005", 2.0)]


def test_utf8_bom(write, rows):
    text = "\ufeffcustomer_id,date,amount\nc1,2024-01-05,3.5\nc2,2024-01-06,4\n"
    ing = read_transactions(write("bom.csv", text))
    assert ing.encoding == "utf-8-sig"
    assert ing.mapping["customer_id"] == "customer_id"
    assert "customer_id" in ing.raw.columns
    assert rows(ing.standardized(), "customer_id", "amount") == [("c1", 3.5), ("c2", 4.0)]


@pytest.mark.parametrize("header", [
    ("customer_id", "order_date", "amount"), ("客户编号", "订单日期", "金额"),
    ("客户ID", "下单时间", "实付金额")])
def test_utf8_bom_before_english_and_chinese_headers(write, rows, header):
    """Excel's "CSV UTF-8" starts with a BOM: the first header (the customer id here, the
    column a stray U+FEFF would hide) still maps, under its own name without the mark."""
    text = "\ufeff" + ",".join(header) + "\nc1,2024-01-05,3.5\nc2,2024-01-06,4\n"
    path = write("bom_" + str(len(header[0])) + ".csv", text)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    ing = read_transactions(path)
    assert ing.encoding == "utf-8-sig"
    assert (ing.mapping["customer_id"], ing.mapping["order_ts"], ing.mapping["amount"]) == header
    assert not any("\ufeff" in c for c in ing.raw.columns)
    assert rows(ing.standardized(), "customer_id", "amount") == [("c1", 3.5), ("c2", 4.0)]


def test_tsv_with_commas_in_fields(write, rows):
    text = ("customer_id\tdate\tamount\tproduct_name\r\n"
            "c1\t2024-01-05\t3.5\tMug, large\r\nc2\t2024-01-06\t4\tPlate, small\r\n")
    ing = read_transactions(write("orders.tsv", text))
    assert ing.format == "tsv"
    assert rows(ing.standardized(), "customer_id", "amount", "product_name") == [
        ("c1", 3.5, "Mug, large"), ("c2", 4.0, "Plate, small")]


def test_semicolon_delimiter_is_sniffed(write, rows):
    text = "customer_id;date;amount\nc1;2024-01-05;3.5\nc2;2024-01-06;4\n"
    ing = read_transactions(write("semi.csv", text))
    assert any("delimiter ';'" in n for n in ing.notes)
    assert rows(ing.standardized(), "amount") == [(3.5,), (4.0,)]


def test_title_lines_above_the_header_are_skipped_and_quoted(write, rows):
    # a report-style export: a title, a quoted subtitle with the delimiter in it, a blank
    # line, then the table; _row_id counts the table's rows
    text = ('Sales report 2024\r\n"Shop: North, South"\r\n\r\n'
            "customer_id;date;amount\r\nc1;2024-01-05;3.5\r\nc2;2024-01-06;4\r\n")
    ing = read_transactions(write("titled.csv", text))
    assert ("skipped 2 title lines above the header ('Sales report 2024', "
            "'\"Shop: North, South\"'): not part of the table") in ing.notes
    assert ing.raw.columns[:3] == ("customer_id", "date", "amount")
    assert rows(ing.standardized(), "_row_id", "customer_id", "amount") == [
        (1, "c1", 3.5), (2, "c2", 4.0)]
    # a spreadsheet's title row saved as CSV pads it with delimiters
    padded = read_transactions(write("padded.csv", "Sales report 2024,,\n,,\n"
                                     "customer_id,date,amount\nc1,2024-01-05,3.5\n"))
    assert ("skipped 2 title lines above the header ('Sales report 2024'): not part of the "
            "table") in padded.notes
    assert rows(padded.standardized(), "customer_id", "amount") == [("c1", 3.5)]
    # a title (LF) added above a CR LF export, and an LF header over CR LF rows: DuckDB
    # reads one line ending per file, so the copy reads every CR LF as LF
    for name, text in (("mixed1.csv", "Sales report 2024\ncustomer_id,date,amount\r\n"
                                      "c1,2024-01-05,3.5\r\nc2,2024-01-06,4\r\n"),
                       ("mixed2.csv", "customer_id,date,amount\nc1,2024-01-05,3.5\r\n"
                                      "c2,2024-01-06,4\r\n")):
        mixed = read_transactions(write(name, text))
        assert "mixed line endings (LF and CR LF): every CR LF read as LF" in mixed.notes
        assert rows(mixed.standardized(), "customer_id", "amount") == [("c1", 3.5),
                                                                        ("c2", 4.0)]
    # six title lines are more than an export puts there: the layout error stands
    with pytest.raises(InputError, match="is not a table"):
        read_transactions(write("long.csv", "t\n" * 6 + "customer_id,date,amount\n"
                                "c1,2024-01-05,3.5\nc2,2024-01-06,4\n"))
    # a first line with two fields is a ragged table, not a title
    with pytest.raises(InputError, match="non-blank line 2 has 3"):
        read_transactions(write("ragged.csv", "a,b\ncustomer_id,date,amount\n"
                                "c1,2024-01-05,3.5\n"))


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_compressed(small_csv, rows, suffix):
    data = small_csv.read_bytes()
    packed = gzip.compress(data) if suffix == ".gz" else zstandard.ZstdCompressor().compress(data)
    path = small_csv.with_name("orders.csv" + suffix)
    path.write_bytes(packed)
    ing = read_transactions(path)
    plain = read_transactions(small_csv)
    assert ing.format == "csv"
    assert ing.fingerprint == hashlib.sha256(packed).hexdigest() != plain.fingerprint
    cols = ("_row_id", "customer_id", "amount", "order_ts")
    assert rows(ing.standardized(), *cols) == rows(plain.standardized(), *cols)


def test_parquet_typed_columns(tmp_path, rows):
    table = pa.table({
        "CustomerNo": pa.array(["00001", "00002", "00001"]),
        "InvoiceDate": pa.array([ts(2024, 1, 5, 10), ts(2024, 1, 6), None], pa.timestamp("us")),
        "Revenue": pa.array([1.5, None, 3.0]),
        "Qty": pa.array([1, 2, 3], pa.int32()),
    })
    path = tmp_path / "orders.parquet"
    pq.write_table(table, path, row_group_size=2)
    ing = read_transactions(path)
    assert ing.format == "parquet"
    assert ing.date_formats == ()
    assert ing.mapping == {"customer_id": "CustomerNo", "order_ts": "InvoiceDate",
                           "amount": "Revenue", "quantity": "Qty"}
    assert rows(ing.standardized(), "_row_id", "customer_id", "order_ts", "amount", "quantity",
                "_parse_error") == [
        (1, "00001", ts(2024, 1, 5, 10), 1.5, 1.0, None),
        (2, "00002", ts(2024, 1, 6), None, 2.0, "missing_amount"),
        (3, "00001", None, 3.0, 3.0, "missing_date"),
    ]


def test_parquet_raw_table_is_stored_in_file_order(tmp_path):
    # many row groups, scanned in parallel: the raw table is written without a sort and
    # must still hold the lines in file order, each with its own line number
    n = 30_000
    table = pa.table({
        "customer_id": pa.array([f"c{i % 97}" for i in range(n)]),
        "order_ts": pa.array([ts(2024, 1, 1 + i % 28) for i in range(n)], pa.timestamp("us")),
        "amount": pa.array([float(i) for i in range(n)]),
    })
    path = tmp_path / "many_groups.parquet"
    pq.write_table(table, path, row_group_size=1_000)
    ing = read_transactions(path)
    raw = ing.raw.to_pyarrow()
    assert raw["_row_id"].to_pylist() == list(range(1, n + 1))
    assert raw["amount"].to_pylist() == [float(i) for i in range(n)]


def test_xlsx_all_cells_as_text(tmp_path, rows):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Orders"
    ws.append(["客户ID", "Date", "Amount", "Code"])
    ws.append(["00001", ts(2024, 1, 5, 10), 12.5, 17850.0])
    ws.append(["00002", "2024-01-06 00:00:00", "£1,234.50", "A1"])
    other = wb.create_sheet("Notes")
    other.append(["nothing here"])
    path = tmp_path / "orders.xlsx"
    wb.save(path)
    ing = read_transactions(path, sheet="Orders")
    assert (ing.format, ing.encoding, ing.n_rows) == ("xlsx", None, 2)
    assert ing.mapping == {"customer_id": "客户ID", "order_ts": "Date", "amount": "Amount"}
    assert rows(ing.raw, "客户ID", "Amount", "Code") == [
        ("00001", "12.5", "17850"), ("00002", "£1,234.50", "A1")]
    assert rows(ing.standardized(), "customer_id", "order_ts", "amount") == [
        ("00001", ts(2024, 1, 5, 10), 12.5), ("00002", ts(2024, 1, 6), 1234.5)]
    assert ing.fingerprint == hashlib.sha256(path.read_bytes()).hexdigest()


def test_xlsx_title_rows_above_the_header_are_skipped(tmp_path, rows):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Sales report 2024"])
    ws.append([None, "exported 2025-01-02"])
    ws.append([])
    ws.append(["customer_id", "order_date", "amount"])
    ws.append(["c1", "2024-01-05", 3.5])
    ws.append(["c2", "2024-01-06", 4])
    wb.save(tmp_path / "titled.xlsx")
    ing = read_transactions(tmp_path / "titled.xlsx")
    assert ("skipped 3 title rows above the header ('Sales report 2024', "
            "'exported 2025-01-02'): not part of the table") in ing.notes
    assert rows(ing.standardized(), "_row_id", "customer_id", "amount") == [
        (1, "c1", 3.5), (2, "c2", 4.0)]


def test_xlsx_without_header_needs_columns(tmp_path, rows):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    for row in (["00004", "2024-01-05", 3.5], ["00005", "2024-01-06", 4], ["00006", "2024-01-07", 1]):
        wb.active.append(row)
    path = tmp_path / "noheader.xlsx"
    wb.save(path)
    with pytest.raises(InputError, match="looks like data"):
        read_transactions(path)
    ing = read_transactions(path, columns=["customer_id", "date", "amount"])
    assert ing.header is False
    assert rows(ing.standardized(), "_row_id", "customer_id", "amount") == [
        (1, "00004", 3.5), (2, "00005", 4.0), (3, "00006", 1.0)]


def test_jsonl_keeps_date_strings(write, rows):
    text = (
        '{"user_id": "001", "created_at": "2024-01-05", "total": 12.5, "channel": "web"}\n'
        '{"user_id": "002", "created_at": "2024-01-06", "total": 3, "channel": "app"}\n'
    )
    ing = read_transactions(write("orders.jsonl", text))
    assert ing.format == "jsonl"
    assert str(ing.raw.schema()["created_at"]) == "string"
    assert ing.mapping == {"customer_id": "user_id", "order_ts": "created_at", "amount": "total"}
    assert ing.date_formats == ("%Y-%m-%d",)
    assert rows(ing.standardized(), "customer_id", "order_ts", "amount", "channel") == [
        ("001", ts(2024, 1, 5), 12.5, "web"), ("002", ts(2024, 1, 6), 3.0, "app")]


FRAME = {
    "CustomerID": [17850.0, None, 13047.0],
    "InvoiceDate": ["2010-12-01 08:26:00", "2010-12-01 08:28:00", "2010-12-01 08:34:00"],
    "Quantity": [6, 2, 3],
    "UnitPrice": [2.55, 1.0, 0.5],
}
EXPECTED_FRAME = [
    (1, "17850", ts(2010, 12, 1, 8, 26), 15.3, None),
    (2, None, ts(2010, 12, 1, 8, 28), 2.0, "missing_customer_id"),
    (3, "13047", ts(2010, 12, 1, 8, 34), 1.5, None),
]


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow"])
def test_in_memory_tables(kind, rows):
    frame = {"pandas": pd.DataFrame, "polars": pl.DataFrame, "arrow": pa.table}[kind](FRAME)
    before = frame.copy() if kind == "pandas" else frame.clone() if kind == "polars" else frame
    ing = read_transactions(frame)
    assert ing.format == kind
    got = rows(ing.standardized(), "_row_id", "customer_id", "order_ts", "amount",
               "_parse_error")
    assert [(*g[:3], round(g[3], 6), *g[4:]) for g in got] == EXPECTED_FRAME
    assert any("written as integers" in n for n in ing.notes)
    assert frame.equals(before)  # the input is not modified
    assert ing.fingerprint == read_transactions(frame).fingerprint


def test_fingerprint_follows_content():
    one = read_transactions(pa.table(FRAME)).fingerprint
    changed = dict(FRAME, Quantity=[6, 2, 4])
    assert read_transactions(pa.table(changed)).fingerprint != one


def test_timezone_aware_frame_keeps_local_time_of_its_zone(rows):
    frame = pd.DataFrame({
        "customer_id": ["a", "b"],
        "order_ts": pd.to_datetime(["2024-01-05 10:00", "2024-06-05 10:00"]).tz_localize(
            "Europe/Berlin"),
        "amount": [1.0, 2.0],
    })
    ing = read_transactions(frame)
    # one zone: the Berlin wall-clock time (winter +01:00 and summer +02:00 alike)
    assert rows(ing.standardized(), "order_ts") == [
        (ts(2024, 1, 5, 10),), (ts(2024, 6, 5, 10),)]
    assert any("all in zone 'Europe/Berlin'; kept as the local wall-clock time" in n
               for n in ing.notes)


def test_duckdb_file_url_and_pairs(tmp_path, rows):
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as c:
        c.execute("CREATE TABLE orders AS SELECT * FROM (VALUES ('c1', '2024-01-05', 3.5), "
                  "('c2', '2024-01-06', 4.0)) t(customer_id, order_date, amount)")
    expected = [("c1", ts(2024, 1, 5), 3.5), ("c2", ts(2024, 1, 6), 4.0)]
    by_url = read_transactions(f"duckdb:///{db}::orders")
    assert by_url.format == "duckdb"
    assert rows(by_url.standardized(), "customer_id", "order_ts", "amount") == expected
    # an Ibis backend on the same file, writing the raw table next to the source table
    con = ibis.duckdb.connect(str(db))
    same = read_transactions((con, "orders"), con=con)
    assert set(_tables(con)) == {"orders", "transactions_raw"}
    assert rows(same.standardized(), "customer_id", "order_ts", "amount") == expected
    assert same.fingerprint == by_url.fingerprint
    con.disconnect()
    # a plain duckdb connection, copied through Arrow into a new in-memory store
    with duckdb.connect(str(db), read_only=True) as c:
        other = read_transactions((c, "orders"))
    assert rows(other.standardized(), "customer_id", "order_ts", "amount") == expected


def test_con_and_table_name(small_csv, tmp_path):
    store = tmp_path / "store.duckdb"
    ing = read_transactions(small_csv, con=store, table_name="my_raw")
    assert ing.raw.get_name() == "my_raw"
    assert ing.to_dict()["table"] == "my_raw"
    assert _tables(ing.con) == ["my_raw"]
    # reading again replaces the raw table
    again = read_transactions(small_csv, con=ing.con, table_name="my_raw")
    assert again.n_rows == 4


def test_unified_newlines_across_chunk_boundaries(tmp_path, monkeypatch):
    # a CR LF cut between two chunks is still one line end; a lone CR is kept
    import valuemax.io._encoding as enc

    text = "a,b\r\nc,d\ne\rf\r\n" * 7
    src = tmp_path / "in.csv"
    src.write_bytes(text.encode("utf-8"))
    for size in (1, 2, 3, 5, 64):
        monkeypatch.setattr(enc, "_CHUNK", size)
        out, replaced = enc.transcode_to_utf8(src, None, "utf-8", tmp_path / "out.txt",
                                              source="in.csv", unify_newlines=True)
        assert out.read_bytes().decode("utf-8") == text.replace("\r\n", "\n")
        assert replaced == 0
