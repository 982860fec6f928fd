"""Real database servers for the engine tests (no Docker, no mocks).

``make test`` starts PostgreSQL and MariaDB on loopback (scripts/test-servers.sh) and exports
their URLs; a fixture skips only when its variable is absent (pytest run by hand), and fails
instead under CI (``CI`` set), where the servers must be there.
"""

from __future__ import annotations

import os
import uuid

import pytest


def _server_url(variable: str) -> str:
    url = os.environ.get(variable)
    if url:
        return url
    message = (f"{variable} is not set: run the tests with `make test`, or "
               f"`bash scripts/test-servers.sh run python -m pytest ...`")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """``postgres://valuemax:PASSWORD@127.0.0.1:PORT/valuemax_test``."""
    return _server_url("VALUEMAX_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    """``mysql://valuemax:PASSWORD@127.0.0.1:PORT/valuemax_test`` (a MariaDB server)."""
    return _server_url("VALUEMAX_TEST_MARIADB_URL")


@pytest.fixture(scope="session")
def postgres(postgres_url):
    from valuemax.engines import connect

    con = connect(postgres_url)
    yield con
    con.disconnect()


@pytest.fixture(scope="session")
def mariadb(mariadb_url):
    from valuemax.engines import connect

    con = connect(mariadb_url)
    yield con
    con.disconnect()


@pytest.fixture
def table_name():
    """A fresh table name, so tests sharing a server database never meet."""
    return f"vm_t_{uuid.uuid4().hex[:10]}"


CDNOW_COLUMNS = ["customer_id", "customer_index", "date", "quantity", "amount"]


@pytest.fixture(scope="session")
def cdnow_typed(datasets):
    """The CDNOW sample as a warehouse would hold it: ids as text (leading zeros kept), the
    date as a timestamp, quantity int64, amount float64 (6,919 lines, 2,357 customers)."""
    import pandas as pd
    import pyarrow as pa

    frame = pd.read_csv(datasets("cdnow/CDNOW_sample.txt"), sep=r"\s+", header=None,
                        names=CDNOW_COLUMNS, dtype={"customer_id": str, "customer_index": str,
                                                    "date": str})
    frame["date"] = pd.to_datetime(frame["date"], format="%Y%m%d").astype("datetime64[us]")
    return pa.Table.from_pandas(frame, preserve_index=False)


@pytest.fixture(scope="session")
def retail_slice(datasets):
    """The first 20,000 lines of Online Retail as a staging table would hold them: every
    column text, as in the CSV. They have cancellations, returns, missing customer ids,
    non-product codes (POST, M, ...) and copied lines."""
    import pandas as pd
    import pyarrow as pa

    frame = pd.read_csv(datasets("online_retail/online_retail.csv.gz"), dtype=str,
                        nrows=20_000, keep_default_na=False)
    return pa.Table.from_pandas(frame, preserve_index=False)


@pytest.fixture(scope="session")
def retail_typed(retail_slice):
    """The Online Retail slice as a warehouse types it: the invoice date a timestamp,
    Quantity int64, UnitPrice float64, CustomerID an integer (NULL when missing), codes and
    names text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = retail_slice
    cid = pc.if_else(pc.equal(t["CustomerID"], ""), None, t["CustomerID"])
    return t.set_column(t.schema.get_field_index("InvoiceDate"), "InvoiceDate",
                        pc.strptime(t["InvoiceDate"], "%Y-%m-%d %H:%M:%S", "us")) \
        .set_column(t.schema.get_field_index("Quantity"), "Quantity",
                    pc.cast(t["Quantity"], pa.int64())) \
        .set_column(t.schema.get_field_index("UnitPrice"), "UnitPrice",
                    pc.cast(t["UnitPrice"], pa.float64())) \
        .set_column(t.schema.get_field_index("CustomerID"), "CustomerID",
                    pc.cast(pc.cast(cid, pa.float64()), pa.int64()))
