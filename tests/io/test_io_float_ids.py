"""Float id columns: digits lost above 2**53 refused; fractions kept as text with a note."""

from __future__ import annotations

import decimal

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import valuemax
from valuemax.exceptions import InputError
from valuemax.io import read_transactions


def _frame(ids):
    return pd.DataFrame({"CustomerID": ids, "InvoiceDate": ["2024-01-05"] * len(ids),
                         "Amount": [1.0] * len(ids)})


def test_float_ids_at_or_above_2_53_are_refused_with_the_fix():
    # 9007199254740993 is not a float64: it reads as ...992, the same as the next id down
    df = _frame([9007199254740993.0, 9007199254740992.0, 12.0, -2.0**60])
    assert df["CustomerID"].iloc[0] == df["CustomerID"].iloc[1]  # the loss, before valuemax
    # -2**60 is below -2**53: "of magnitude 2**53 or more", not "at or above"
    message = (r"customer_id \(column 'CustomerID'\): 3 of 4 ids are floats of magnitude "
               r"2\*\*53 = 9,007,199,254,740,992 or more \(e\.g\. 9007199254740992\.0, "
               r"-1\.152921504606847e\+18\).*pd\.read_csv\(\.\.\., "
               r"dtype=\{'CustomerID': str\}\)")
    with pytest.raises(InputError, match=message):
        read_transactions(df)
    with pytest.raises(InputError, match=message):  # analyze reads the same way, first
        valuemax.analyze(df)


def test_infinite_float_ids_are_said_not_finite():
    with pytest.raises(InputError, match=r"2 of 3 ids are floats of magnitude 2\*\*53 = "
                                         r"9,007,199,254,740,992 or more \(1 not finite\)"):
        read_transactions(_frame([np.inf, 2.0**60, 12.0]))


def _workbook(path, ids):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["CustomerID", "InvoiceDate", "Amount", "Big"])
    for i in ids:
        ws.append([i, "2024-01-05", 1.0, 2**60])  # a big number outside the id column is fine
    wb.save(path)
    return path


def test_xlsx_number_cells_beyond_2_53_as_ids_are_refused(tmp_path):
    # number cells are doubles: 9007199254740993 is stored as ...992 and 12345678901234567890
    # as 12345678901234569216; their text ids were invented digits
    path = _workbook(tmp_path / "ids.xlsx", [9007199254740993, 12345678901234567890, 17850])
    message = (r"customer_id \(column 'CustomerID'\): 2 of 3 ids are floats of magnitude "
               r"2\*\*53 = 9,007,199,254,740,992 or more \(e\.g\. '9007199254740992', "
               r"'12345678901234569216'\).*store the ids as text in the workbook")
    with pytest.raises(InputError, match=message):
        read_transactions(path)
    with pytest.raises(InputError, match=message):
        valuemax.analyze(path)


def test_xlsx_text_cells_of_long_ids_keep_their_digits(tmp_path, rows):
    # the same ids typed as text (a Text column, or an apostrophe) are exact: accepted, and
    # the column 'Big' of number cells 2**60 is not an id column: not refused
    path = _workbook(tmp_path / "ids.xlsx", ["9007199254740993", "12345678901234567890", 17850])
    ing = read_transactions(path)
    assert rows(ing.standardized(), "customer_id") == [
        ("9007199254740993",), ("12345678901234567890",), ("17850",)]
    # mapped as the id, the number cells of 'Big' are refused
    with pytest.raises(InputError, match=r"customer_id \(column 'Big'\): 3 of 3 ids"):
        read_transactions(path, mapping={"customer_id": "Big"})


def test_float_ids_below_2_53_are_integers(rows):
    ing = read_transactions(_frame([2.0**53 - 1, 17850.0, np.nan]))
    assert rows(ing.standardized(), "customer_id") == [
        ("9007199254740991",), ("17850",), (None,)]


def test_float_ids_with_fractions_are_named_and_kept_as_text(rows):
    ing = read_transactions(_frame([1.5, 2.0, 12.25, 12.25, np.nan]))
    # whole numbers written as integers (as in an all-integral column: '2', never '2.0')
    assert rows(ing.standardized(), "customer_id") == [
        ("1.5",), ("2",), ("12.25",), ("12.25",), (None,)]
    assert any("3 of 4 ids are numbers with a fraction (e.g. 12.25, 1.5)" in n
               and "dtype={'CustomerID': str}" in n for n in ing.notes)


def test_decimal_ids_beyond_int64_stay_exact(rows):
    ids = pa.array([decimal.Decimal("12345678901234567890"), decimal.Decimal("5")],
                   pa.decimal128(38, 0))
    table = pa.table({"CustomerID": ids, "InvoiceDate": ["2024-01-05"] * 2,
                      "Amount": [1.0, 2.0]})
    ing = read_transactions(table)
    assert rows(ing.standardized(), "customer_id") == [("12345678901234567890",), ("5",)]
