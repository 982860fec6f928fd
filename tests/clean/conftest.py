"""Fixtures for the cleaning tests: Ingested-like objects built with DuckDB SQL.

``valuemax.io`` is built separately; these tests use only the ``Ingested`` contract
(``raw``, ``con``, ``extra_columns``, ``standardized()``), on Online-Retail-shaped columns.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa
import pytest

RAW_COLUMNS = (
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
    "CustomerID", "Country",
)

_names = itertools.count()

# The standardization the io stage performs on Online Retail, written directly in SQL.
_STANDARDIZE = """
SELECT
  _row_id,
  NULLIF(regexp_replace(trim(CustomerID), '\\.0$', ''), '') AS customer_id,
  InvoiceNo AS order_id,
  try_strptime(InvoiceDate, '%Y-%m-%d %H:%M:%S') AS order_ts,
  TRY_CAST(Quantity AS DOUBLE) * TRY_CAST(UnitPrice AS DOUBLE) AS amount,
  TRY_CAST(Quantity AS DOUBLE) AS quantity,
  TRY_CAST(UnitPrice AS DOUBLE) AS unit_price,
  StockCode AS product_id,
  Description AS product_name,
  Country,
  CASE
    WHEN CustomerID IS NULL OR trim(CustomerID) = '' THEN 'missing_customer_id'
    WHEN InvoiceDate IS NULL OR trim(InvoiceDate) = '' THEN 'missing_date'
    WHEN try_strptime(InvoiceDate, '%Y-%m-%d %H:%M:%S') IS NULL THEN 'unparseable_date'
    WHEN Quantity IS NULL OR trim(Quantity) = '' OR UnitPrice IS NULL OR trim(UnitPrice) = ''
      THEN 'missing_amount'
    WHEN TRY_CAST(Quantity AS DOUBLE) IS NULL OR TRY_CAST(UnitPrice AS DOUBLE) IS NULL
      THEN 'unparseable_amount'
  END AS _parse_error
FROM {raw}
"""


@dataclass(frozen=True)
class FakeIngested:
    """The part of ``valuemax.io.Ingested`` that ``clean`` uses."""

    con: Any
    raw: Any
    std: Any
    extra_columns: tuple[str, ...] = ("Country",)

    def standardized(self):
        return self.std


def _finish(con, raw_name: str) -> FakeIngested:
    std_name = f"{raw_name}_std"
    con.raw_sql(f"CREATE VIEW {std_name} AS {_STANDARDIZE.format(raw=raw_name)}")
    return FakeIngested(con=con, raw=con.table(raw_name), std=con.table(std_name))


def make_log(rows: list[tuple], con=None) -> FakeIngested:
    """An Online-Retail-shaped log from ``rows`` (tuples of strings/None in RAW_COLUMNS order).

    ``_row_id`` is the 1-based position in ``rows``.
    """
    con = con if con is not None else ibis.duckdb.connect()
    cols = {"_row_id": pa.array(range(1, len(rows) + 1), pa.int64())}
    for i, col in enumerate(RAW_COLUMNS):
        cols[col] = pa.array([r[i] for r in rows], pa.string())
    name = f"raw_{next(_names)}"
    # pyarrow, not pandas: ibis 12 reads a deprecated pandas 3 option on string frames
    con.create_table(name, pa.table(cols))
    return _finish(con, name)


@pytest.fixture
def log_factory():
    """Build a FakeIngested from a list of row tuples."""
    return make_log


@pytest.fixture(scope="session")
def online_retail(datasets) -> FakeIngested:
    """UCI Online Retail (541,909 lines) as an Ingested-like object on in-memory DuckDB."""
    path = datasets("online_retail/online_retail.csv.gz")
    con = ibis.duckdb.connect()
    con.raw_sql(
        "CREATE TABLE online_retail_raw AS SELECT row_number() OVER () AS _row_id, * "
        f"FROM read_csv('{path}', all_varchar = true, header = true)"
    )
    return _finish(con, "online_retail_raw")
