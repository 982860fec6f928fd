"""Fixtures for the features tests: real logs loaded with plain DuckDB SQL (the Spark session
is the whole test session's, tests/conftest.py).

The io stage is not used here on purpose: the logs are put into canonical shape by the SQL
below, so these tests check the features stage alone.
"""

from __future__ import annotations

import pytest

from valuemax.engines import connect

# CDNOW_sample.txt: no header, blank-padded columns customer_id, customer_index,
# date (YYYYMMDD), number_of_cds, dollar_value; CRLF line ends.
CDNOW_SQL = r"""
CREATE TABLE cdnow AS
WITH raw AS (
    SELECT row_number() OVER () AS _row_id,
           string_split_regex(regexp_replace(line, '^\s+|\s+$', '', 'g'), '\s+') AS f
    FROM read_csv('{path}', columns = {{'line': 'VARCHAR'}}, header = false,
                  delim = '\t', quote = '', escape = '')
)
SELECT _row_id,
       f[1] AS customer_id,
       f[2] AS customer_index,
       CAST(NULL AS VARCHAR) AS order_id,
       CAST(strptime(f[3], '%Y%m%d') AS TIMESTAMP) AS order_ts,
       CAST(f[5] AS DOUBLE) AS amount,
       CAST(f[4] AS DOUBLE) AS quantity
FROM raw
"""

# Online Retail with the literature's cleaning (datasets/README.md): 397,884 lines.
RETAIL_SQL = r"""
CREATE TABLE retail AS
SELECT _row_id,
       regexp_replace(CustomerID, '\.0$', '') AS customer_id,
       InvoiceNo AS order_id,
       strptime(InvoiceDate, '%Y-%m-%d %H:%M:%S') AS order_ts,
       CAST(Quantity AS DOUBLE) * CAST(UnitPrice AS DOUBLE) AS amount,
       Country
FROM (
    SELECT row_number() OVER () AS _row_id, *
    FROM read_csv('{path}', all_varchar = true, header = true)
)
WHERE CustomerID IS NOT NULL
  AND NOT starts_with(InvoiceNo, 'C')
  AND CAST(Quantity AS DOUBLE) > 0
  AND CAST(UnitPrice AS DOUBLE) > 0
"""


@pytest.fixture(scope="session")
def duck():
    """One in-memory DuckDB (Ibis backend) holding the real logs for this test session."""
    con = connect(None)
    yield con
    con.disconnect()


@pytest.fixture(scope="session")
def cdnow(duck, datasets):
    """The CDNOW 1/10 sample as canonical transactions (6,919 lines, 2,357 customers)."""
    path = datasets("cdnow/CDNOW_sample.txt")
    duck.raw_sql(CDNOW_SQL.format(path=path.as_posix()))
    return duck.table("cdnow")


@pytest.fixture(scope="session")
def retail(duck, datasets):
    """Online Retail after the classic cleaning, as canonical transactions (+ Country)."""
    path = datasets("online_retail/online_retail.csv.gz")
    duck.raw_sql(RETAIL_SQL.format(path=path.as_posix()))
    return duck.table("retail")
