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
    message = (r"customer_id \(column 'CustomerID'\): 3 of 4 ids are floats at or above "
               r"2\*\*53 = 9,007,199,254,740,992 \(e\.g\. 9007199254740992\.0, "
               r"-1\.152921504606847e\+18\).*pd\.read_csv\(\.\.\., "
               r"dtype=\{'CustomerID': str\}\)")
    with pytest.raises(InputError, match=message):
        read_transactions(df)
    with pytest.raises(InputError, match=message):  # analyze reads the same way, first
        valuemax.analyze(df)


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
