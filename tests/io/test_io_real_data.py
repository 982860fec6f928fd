"""The shared real data sets (datasets/README.md figures) read as shipped."""

from __future__ import annotations

import csv
import datetime as dt
import gzip

import pytest

from valuemax.exceptions import InputError
from valuemax.io import read_transactions

SAMPLE_COLUMNS = ["customer_id", "customer_index", "date", "number_of_cds", "dollar_value"]


@pytest.fixture(scope="module")
def retail(datasets):
    return read_transactions(datasets("online_retail/online_retail.csv.gz"))


def _value(expr):
    return expr.to_pyarrow().as_py()


def test_cdnow_master(datasets, rows):
    path = datasets("cdnow/CDNOW_master.txt")
    ing = read_transactions(path)
    assert (ing.format, ing.header, ing.n_rows) == ("whitespace", True, 69_659)
    assert ing.mapping == {"customer_id": "customer_id", "order_ts": "date",
                           "amount": "dollar_value", "quantity": "number_of_cds"}
    assert ing.date_formats == ("%Y%m%d",)
    std = ing.standardized()
    assert _value(std.customer_id.nunique()) == 23_570
    assert _value(std._parse_error.notnull().sum()) == 0
    assert _value((std.amount <= 0).sum()) == 80  # README: 80 lines with dollar_value <= 0
    assert rows(std.limit(2), "_row_id", "customer_id", "order_ts", "quantity", "amount") == [
        (1, "00001", dt.datetime(1997, 1, 1), 1.0, 11.77),
        (2, "00002", dt.datetime(1997, 1, 12), 1.0, 12.0),
    ]
    # every raw line, in file order, is the file's line split on blanks
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    lines = raw.decode().splitlines()[1:]
    expected = [tuple(line.split()) for line in lines]
    assert rows(ing.raw, "customer_id", "date", "number_of_cds", "dollar_value") == expected


def test_cdnow_sample_needs_columns(datasets):
    with pytest.raises(InputError, match=r"looks like data.*columns=\[\.\.\.\] \(CLI --columns"):
        read_transactions(datasets("cdnow/CDNOW_sample.txt"))


def test_cdnow_sample_with_columns(datasets):
    ing = read_transactions(datasets("cdnow/CDNOW_sample.txt"), columns=SAMPLE_COLUMNS)
    assert (ing.header, ing.n_rows) == (False, 6_919)
    assert ing.extra_columns == ("customer_index",)
    std = ing.standardized()
    assert _value(std.customer_id.nunique()) == 2_357
    assert _value(std.order_ts.min()) == dt.datetime(1997, 1, 1)
    assert _value(std.order_ts.max()) == dt.datetime(1998, 6, 30)
    # the CLI form of columns=
    assert read_transactions(datasets("cdnow/CDNOW_sample.txt"),
                             columns=",".join(SAMPLE_COLUMNS)).n_rows == 6_919


def test_online_retail_mapping(retail):
    assert retail.n_rows == 541_909
    assert retail.mapping == {
        "customer_id": "CustomerID", "order_id": "InvoiceNo", "order_ts": "InvoiceDate",
        "quantity": "Quantity", "unit_price": "UnitPrice", "product_id": "StockCode",
        "product_name": "Description",
    }
    assert retail.extra_columns == ("Country",)
    assert retail.date_formats == ("%Y-%m-%d %H:%M:%S",)
    assert retail.plan.amount_from == "quantity_x_unit_price"
    assert any("removed the '.0' from 406,829 values" in n for n in retail.notes)


def test_online_retail_values(retail, rows):
    std = retail.standardized()
    counts = dict(rows(std.group_by("_parse_error").aggregate(
        _row_id=std.count()).order_by("_parse_error"), "_parse_error", "_row_id"))
    assert counts == {"missing_customer_id": 135_080, None: 406_829}
    assert _value(std.customer_id.nunique()) == 4_372
    first = rows(std.filter(std._row_id == 1), "customer_id", "order_id", "order_ts",
                 "amount", "quantity", "unit_price", "product_id", "Country")
    assert first == [("17850", "536365", dt.datetime(2010, 12, 1, 8, 26), 6 * 2.55, 6.0, 2.55,
                      "85123A", "United Kingdom")]
    # amount is quantity * unit_price on every line
    assert _value((std.amount - std.quantity * std.unit_price).abs().max()) == 0
    # the raw table keeps the original text
    assert rows(retail.raw.filter(retail.raw._row_id == 1), "CustomerID", "UnitPrice") == [
        ("17850.0", "2.55")]


def test_online_retail_row_order(retail, datasets, rows):
    with gzip.open(datasets("online_retail/online_retail.csv.gz"), "rt", newline="") as fh:
        lines = list(csv.reader(fh))[1:]
    got = rows(retail.raw, "InvoiceNo", "StockCode", "Quantity")
    assert got == [(r[0], r[1], r[3]) for r in lines]
