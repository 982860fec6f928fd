"""Engine URLs: an existing DuckDB file, the two servers' schemes, nothing else.

A ``duckdb://`` URL to a missing file must not create one (the typo would surface later as
"table not found" in an empty database); a scheme valuemax does not run on is refused with
the supported ones.
"""

from __future__ import annotations

import duckdb
import pytest

from valuemax.engines import connect
from valuemax.exceptions import InputError


def test_a_missing_duckdb_file_is_refused_and_not_created(tmp_path):
    missing = tmp_path / "typo.duckdb"
    with pytest.raises(InputError, match=r"no DuckDB database at .*typo\.duckdb.*name a new "
                                         r"store with --db"):
        connect(f"duckdb://{missing}")
    assert not missing.exists()


def test_an_existing_duckdb_file_opens(tmp_path):
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE TABLE orders AS SELECT 1 AS customer_id, 2.5 AS amount")
    con = connect(f"duckdb://{path}")
    assert con.table("orders").to_pyarrow().to_pylist() == [{"customer_id": 1, "amount": 2.5}]


@pytest.mark.parametrize("url", ["sqlite:///tmp/x.db", "bigquery://project/dataset",
                                 "snowflake://me:secret@account/db"])
def test_unsupported_schemes_are_refused(url):
    with pytest.raises(InputError, match=r"is not supported; valuemax runs on DuckDB") as info:
        connect(url)
    assert "secret" not in str(info.value)
