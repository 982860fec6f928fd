"""Text inputs: UTF-16 without BOM, decode errors, very long fields, JSON types, Excel sheets."""

from __future__ import annotations

import csv

import pytest

from valuemax.exceptions import InputError
from valuemax.io import read_transactions

TEXT = "customer_id,date,amount\nA,2011-01-03,10\nB,2011-01-04,5\n"


# ---------------------------------------------------------------- encodings (QA 2)


def test_utf16_without_bom_names_the_byte_order(write, rows):
    le = write("le.csv", TEXT, encoding="utf-16-le")
    with pytest.raises(InputError, match=r"NUL bytes .* pass encoding='utf-16-le' \(CLI "
                       r"--encoding utf-16-le\): its NUL bytes sit at odd offsets"):
        read_transactions(le)
    with pytest.raises(InputError, match=r"could not decode .*le\.csv as utf-16 at byte 0: "
                       r"UTF-16 stream does not start with BOM; try encoding='utf-16-le'"):
        read_transactions(le, encoding="utf-16")
    ing = read_transactions(le, encoding="utf-16-le")
    assert rows(ing.standardized(), "customer_id", "amount") == [("A", 10.0), ("B", 5.0)]
    be = write("be.csv", TEXT, encoding="utf-16-be")
    with pytest.raises(InputError, match=r"pass encoding='utf-16-be'"):
        read_transactions(be)


def test_wrong_given_encoding_is_an_input_error(write):
    utf8 = write("u8.csv", TEXT)
    with pytest.raises(InputError, match=r"could not decode .* as utf-16 at byte 0: it has no "
                       r"NUL bytes, so it is not UTF-16/32 .*; try encoding='utf-8'"):
        read_transactions(utf8, encoding="utf-16")
    accents = write("accents.csv", "customer_id,date,amount\nJosé,2011-01-03,1\n")
    with pytest.raises(InputError, match=r"could not decode .* as ascii at byte 27: ordinal "
                       r"not in range\(128\); try encoding='utf-8'"):
        read_transactions(accents, encoding="ascii")


# ---------------------------------------------------------------- long fields (QA 3)


def test_field_longer_than_the_csv_module_limit(write, rows):
    limit = csv.field_size_limit()
    note = "x" * 140_000
    text = ("customer_id,order_id,order_date,amount,note\n"
            f"A,1,2011-01-03,10,{note}\nB,2,2011-01-04,5,ok\n")
    ing = read_transactions(write("long.csv", text))
    assert [len(r[0]) for r in rows(ing.raw, "note")] == [140_000, 2]
    assert csv.field_size_limit() == limit  # the process-wide limit is restored


def test_line_longer_than_duckdbs_default_line_size(write, rows):
    text = f"customer_id,date,amount,note\nA,2011-01-03,10,{'y' * 2_500_000}\nB,2011-01-04,5,ok\n"
    ing = read_transactions(write("longer.csv", text))
    assert [len(r[0]) for r in rows(ing.raw, "note")] == [2_500_000, 2]


# ---------------------------------------------------------------- JSON types (QA 4)


def test_json_mixed_types_are_text_without_quotes(write, rows):
    text = (
        '{"customer_id": "A", "order_id": "1", "order_date": "2011-01-03", "amount": 10}\n'
        '{"customer_id": 7, "order_id": "2", "order_date": "2011-02-03", "amount": 20}\n'
        '{"customer_id": "B", "order_id": "3", "order_date": "2011-02-04", "amount": "20"}\n'
    )
    ing = read_transactions(write("mixed.jsonl", text))
    assert rows(ing.raw, "customer_id", "amount") == [("A", "10"), ("7", "20"), ("B", "20")]
    assert rows(ing.standardized(), "customer_id", "amount", "_parse_error") == [
        ("A", 10.0, None), ("7", 20.0, None), ("B", 20.0, None)]
    assert any("several types" in n and "customer_id, amount" in n for n in ing.notes)


# ---------------------------------------------------------------- Excel sheets (QA 12)


def _book(tmp_path, sheets):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, data in sheets.items():
        ws = wb.create_sheet(name)
        for row in data:
            ws.append(row)
    path = tmp_path / "book.xlsx"
    wb.save(path)
    return path


HEAD = ["customer_id", "date", "amount"]


def test_other_non_empty_sheets_are_noted(tmp_path, rows):
    path = _book(tmp_path, {
        "2011": [HEAD, ["a", "2011-01-03", "1"]],
        "Notes": [],
        "2012": [HEAD, ["b", "2012-01-03", "2"], ["c", "2012-01-04", "3"]],
    })
    ing = read_transactions(path)
    assert rows(ing.standardized(), "customer_id") == [("a",)]
    assert ("the workbook has 1 other non-empty sheet(s), not read: '2012' (3 rows); only "
            "sheet '2011' was read. Choose another with sheet='2012' (CLI --sheet '2012')"
            in ing.notes)
    assert rows(read_transactions(path, sheet="2012").standardized(), "customer_id") == [
        ("b",), ("c",)]


def test_empty_sheet_lists_the_non_empty_ones(tmp_path, rows):
    path = _book(tmp_path, {"Cover": [], "Data": [HEAD, ["a", "2011-01-03", "1"]]})
    with pytest.raises(InputError, match=r"sheet 'Cover' of .* is empty\. The non-empty sheets "
                       r"are 'Data' \(2 rows\): pass sheet='Data' \(CLI --sheet 'Data'\)"):
        read_transactions(path, sheet="Cover")
    ing = read_transactions(path)  # by default: the first non-empty sheet, said in a note
    assert rows(ing.standardized(), "customer_id") == [("a",)]
    assert ing.notes[0] == ("sheet(s) 'Cover' are empty; read the first non-empty sheet, "
                            "'Data' (choose one with sheet=, CLI --sheet)")
    empty = _book(tmp_path, {"A": [], "B": []})
    with pytest.raises(InputError, match=r"sheet 'A' of .* is empty\. No sheet of the "
                       r"workbook has data"):
        read_transactions(empty)


def test_line_breaks_inside_fields_as_pandas_writes_them(tmp_path, rows):
    """Breaker: valid CSV refused as "ragged": names holding U+2028, a form feed or U+0085
    (which pandas and csv leave unquoted; Python's splitlines breaks on them) and a quoted
    newline in a field that spans the sample's 200th line."""
    import pandas as pd

    names = ["多行\n文本", "cup\u2028lid", "tea\x0cpot", "mug\x85x", "plain"]
    df = pd.DataFrame({"order_id": [f"O{i}" for i in range(345)],
                       "customer_id": [f"C{i % 14:03d}" for i in range(345)],
                       "order_ts": [f"2024-01-{1 + i % 28:02d}" for i in range(345)],
                       "amount": [8.27] * 345,
                       "product_name": [names[i % 5] for i in range(345)]})
    path = tmp_path / "small.csv"
    df.to_csv(path, index=False)
    ing = read_transactions(path)
    assert ing.n_rows == 345
    got = rows(ing.standardized().order_by("_row_id"), "product_name")
    assert [g[0] for g in got] == df["product_name"].tolist()
