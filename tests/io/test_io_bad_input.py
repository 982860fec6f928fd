"""Bad input: every case raises InputError saying what, how much, what was expected, the fix."""

from __future__ import annotations

import gzip

import pandas as pd
import pytest

from valuemax.exceptions import InputError
from valuemax.io import read_transactions

GOOD = "customer_id,date,amount\nc1,2024-01-05,1\n"


def test_file_not_found(tmp_path):
    with pytest.raises(InputError, match=r"file not found: .*nope\.csv.*Check the path"):
        read_transactions(tmp_path / "nope.csv")


def test_folder_without_files(tmp_path):
    (tmp_path / "_SUCCESS").write_text("")  # a marker alone is not a part
    with pytest.raises(InputError, match=r"the folder .* names no file; expected Parquet"):
        read_transactions(tmp_path)


def test_empty_file(write):
    with pytest.raises(InputError, match=r"is empty \(0 bytes\)"):
        read_transactions(write("empty.csv", ""))


def test_empty_after_decompression(tmp_path):
    path = tmp_path / "empty.csv.gz"
    path.write_bytes(gzip.compress(b""))
    with pytest.raises(InputError, match="decompresses to 0 bytes"):
        read_transactions(path)


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(b"this is not gzip at all")
    with pytest.raises(InputError, match="cannot be decompressed as gzip"):
        read_transactions(path)


def test_blank_lines_only(write):
    with pytest.raises(InputError, match="only blank lines"):
        read_transactions(write("blank.csv", "\n  \n\n"))


def test_header_only(write):
    with pytest.raises(InputError, match=r"has a header \(3 columns: 'customer_id', 'date', "
                       r"'amount'\) but no data rows"):
        read_transactions(write("head.csv", "customer_id,date,amount\n"))


def test_png_is_not_a_table(write, tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    with pytest.raises(InputError, match="not a text table: it is a PNG image"):
        read_transactions(path)


def test_binary_is_not_a_table(tmp_path):
    path = tmp_path / "blob.txt"
    path.write_bytes(b"ab\x00\x01\x02" * 100)
    with pytest.raises(InputError, match=r"not a text table: .* 100 NUL bytes"):
        read_transactions(path)


def test_prose_is_not_a_table(write):
    text = "Dear customer\nthank you for your order\nbest regards\nthe team\n"
    with pytest.raises(InputError, match=r"is not a table: no delimiter .* splits its lines.*'Dear customer'"):
        read_transactions(write("letter.txt", text))


def test_single_column_is_not_a_table(write):
    with pytest.raises(InputError, match=r"not a table: no delimiter .*first line 'customer_id'"):
        read_transactions(write("ids.csv", "customer_id\nc1\nc2\n"))


def test_ragged_delimiter(write):
    text = "customer_id;date;amount\nc1;2024-01-05;1\nc2;2024-01-06;1;extra\n"
    with pytest.raises(InputError, match=r"header splits into 3 fields on ';' but non-blank "
                       r"line 3 has 4.*quote fields"):
        read_transactions(write("ragged.csv", text))


def test_wrong_delimiter_in_a_frame():
    frame = pd.DataFrame({"customer_id;date;amount": ["c1;2024-01-05;3", "c2;2024-01-06;4"]})
    with pytest.raises(InputError, match=r"one column named 'customer_id;date;amount'.*"
                       r"probably ';'-separated.*sep=';'"):
        read_transactions(frame)


def test_ragged_line_after_the_sample(write):
    body = "c1,2024-01-05,1\n" * 300 + "c2,2024-01-06,1,oops\n"
    with pytest.raises(InputError, match=r"could not be read .* 3 columns separated by ','.*"
                       r"Expected Number of Columns: 3 Found: 4"):
        read_transactions(write("late.csv", "customer_id,date,amount\n" + body))


def test_ragged_whitespace_lines(write):
    body = "customer_id date amount\n" + "c1 20240105 1\n" * 250 + "c3 20240107\n"
    with pytest.raises(InputError, match=r"1 whitespace-separated lines do not have 3 fields.*"
                       r"data line 251: 'c3 20240107'"):
        read_transactions(write("ws.txt", body))


def test_invalid_utf8_after_the_sample(write, tmp_path, rows):
    # one corrupted line past the sniffed sample (DuckDB reads UTF-8 natively and stops
    # there): the file is copied with the bytes replaced and that line is quarantined
    path = tmp_path / "late.csv"
    path.write_bytes(GOOD.encode() + b"c1,2024-01-05,1\n" * 80_000 + b"c\xe9,2024-01-05,1\n")
    ing = read_transactions(path)
    assert rows(ing.standardized().filter(lambda t: t._parse_error.notnull()),
                "_row_id", "customer_id", "_parse_error") == [
        (80_002, "c\ufffd", "undecodable_text")]
    assert any(n.startswith("1 of 80,002 lines have bytes that are not valid utf-8") and
               "first in data row 80,002: 'c\ufffd'" in n for n in ing.notes)
    # many such lines: a Western European export read as UTF-8, refused with the fix
    path.write_bytes(GOOD.encode() + b"c1,2024-01-05,1\n" * 80_000
                     + b"Jos\xe9,2024-01-05,1\n" * 1_000)
    with pytest.raises(InputError, match=r"1,000 of the 81,001 lines .* not valid utf-8; "
                       r"first in data row 80,002: 'Jos\ufffd': more than 1% of the lines, so the "
                       r"file is likely in another encoding; .*encoding='cp1252'"):
        read_transactions(path)


def test_corrupted_gbk_lines_are_quarantined(tmp_path, rows):
    # a Chinese export (GBK) with two bytes destroyed in one line, detected or given
    text = "客户编号,订单日期,金额\n" + "".join(f"客户{i},2024-01-{i % 28 + 1:02d},{i}.5\n"
                                           for i in range(1, 200))
    data = text.encode("gbk")
    cut = data.index("客户7,".encode("gbk"))
    path = tmp_path / "gbk.csv"
    path.write_bytes(data[:cut] + b"\xff\xff" + data[cut + 2:])
    for encoding in (None, "gbk"):
        ing = read_transactions(path, encoding=encoding)
        bad = rows(ing.standardized().filter(lambda t: t._parse_error.notnull()),
                   "_row_id", "_parse_error")
        assert bad == [(7, "undecodable_text")]
        good = rows(ing.standardized().filter(lambda t: t._row_id == 8), "customer_id",
                    "amount")
        assert good == [("客户8", 8.5)]
        assert any(n.startswith("1 of 199 lines have bytes that are not valid gb") for n in
                   ing.notes)
    # four lines destroyed (2%): over the 1% quarantined, refused with the count, the
    # file's line and the limit, whether the encoding is detected or given
    broken = bytearray(data)
    for i in (7, 20, 50, 90):
        at = broken.index(f"客户{i},".encode("gbk"))
        broken[at:at + 2] = b"\xff\xff"
    path.write_bytes(bytes(broken))
    for encoding in (None, "gb18030"):
        with pytest.raises(InputError, match=r"reads as gb18030 except for bytes that are not "
                           r"valid gb18030 on 4 of the 200 lines sampled \(2.0%; first on line "
                           r"8 of the file: '\ufffd.*more than the 1% of lines valuemax "
                           r"quarantines"):
            read_transactions(path, encoding=encoding)
    # bytes destroyed in the header: the column names cannot be trusted
    path.write_bytes(b"\xff\xff" + data[2:])
    with pytest.raises(InputError, match=r"the header of .*gbk.csv has bytes that are not valid gbk "
                       r"\('\ufffd+户编号'\), so its column names cannot be read"):
        read_transactions(path, encoding="gbk")


def test_unsupported_extension(write):
    with pytest.raises(InputError, match=r"unsupported file type \(extension \.docx\)"):
        read_transactions(write("report.docx", GOOD))
    with pytest.raises(InputError, match=r"\.xls\).*Save the workbook as \.xlsx"):
        read_transactions(write("old.xls", GOOD))
    with pytest.raises(InputError, match=r"\.parquet\.gz"):
        read_transactions(write("x.parquet.gz", GOOD))


def test_unsupported_object():
    with pytest.raises(InputError, match="cannot read a dict"):
        read_transactions({"customer_id": ["a"]})


def test_missing_required_columns(write):
    text = "Kunde,Datum,Betrag\nk1,2024-01-05,1\n"
    with pytest.raises(InputError, match=(
        r"cannot find the column\(s\) for customer_id; order_ts; amount \(or quantity and "
        r"unit_price; quantity and unit_price not found\)\. Unmapped columns: 'Kunde', "
        r"'Datum', 'Betrag'\. Name them with mapping=.*--map customer_id=<column>")):
        read_transactions(write("de.csv", text))


def test_mapping_to_a_missing_column(write):
    with pytest.raises(InputError, match=r"mapping\['customer_id'\] = 'Client', but .* has no "
                       r"such column\. Available columns: 'customer_id', 'date', 'amount'"):
        read_transactions(write("g.csv", GOOD), mapping={"customer_id": "Client"})


def test_mapping_with_a_bad_key(write):
    with pytest.raises(InputError, match="'customer' is not a canonical column"):
        read_transactions(write("g.csv", GOOD), mapping={"customer": "customer_id"})


def test_columns_with_the_wrong_length(write):
    with pytest.raises(InputError, match=r"columns= gives 2 names .* has 3 fields per line"):
        read_transactions(write("g.txt", "c1 20240105 1\nc2 20240106 2\n"),
                          columns=["customer_id", "date"])


def test_columns_given_for_a_file_with_a_header(write):
    text = "customer_id,date,amount\nc1,2024-01-05,1\nc2,2024-01-06,2\n"
    with pytest.raises(InputError, match="columns= is for files without a header line"):
        read_transactions(write("h.csv", text), columns=["a", "b", "c"])


def test_options_that_do_not_apply(write, tmp_path):
    with pytest.raises(InputError, match=r"sheet= applies to \.xlsx workbooks"):
        read_transactions(write("g.csv", GOOD), sheet="Orders")
    frame = pd.DataFrame({"customer_id": ["a"], "date": ["2024-01-05"], "amount": [1.0]})
    with pytest.raises(InputError, match="encoding= applies to text files"):
        read_transactions(frame, encoding="gbk")
    with pytest.raises(InputError, match="columns= names the columns of a headerless"):
        read_transactions(frame, columns=["a", "b", "c"])


def test_unknown_encoding(write):
    with pytest.raises(InputError, match="encoding='klingon' is not a known text encoding"):
        read_transactions(write("g.csv", GOOD), encoding="klingon")


def test_missing_sheet(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.active.title = "Orders"
    wb.active.append(["customer_id", "date", "amount"])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    with pytest.raises(InputError, match=r"sheet='Sales' is not in .*\['Orders'\]"):
        read_transactions(path, sheet="Sales")


def test_reserved_column_name(write):
    with pytest.raises(InputError, match="named '_row_id'"):
        read_transactions(write("r.csv", "_row_id,customer_id,date,amount\n1,c1,2024-01-05,1\n"))


def test_duckdb_url_errors(tmp_path):
    import duckdb

    db = tmp_path / "s.duckdb"
    with duckdb.connect(str(db)) as c:
        c.execute("CREATE TABLE orders AS SELECT 1 AS a")
    with pytest.raises(InputError, match="names no table"):
        read_transactions(f"duckdb:///{db}")
    with pytest.raises(InputError, match="no table 'sales'; the database has: orders"):
        read_transactions(f"duckdb:///{db}::sales")
    with pytest.raises(InputError, match="DuckDB file not found"):
        read_transactions(f"duckdb:///{tmp_path / 'none.duckdb'}::orders")
