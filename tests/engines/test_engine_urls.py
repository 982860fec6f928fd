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
    with pytest.raises(InputError, match=r"engine duckdb://.*typo\.duckdb: no DuckDB database "
                                         r"there.*name a new store with --db"):
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


@pytest.mark.parametrize("target", ["ann:S3cr3tPW@localhost/shop", "ann:S3cr3tPW@db:5432/x"])
def test_a_server_address_without_scheme_is_refused_masked(target, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match=r"looks like a database server's address without its "
                                         r"scheme") as info:
        connect(target)
    assert "S3cr3tPW" not in str(info.value) and "ann:***@" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # no folder or DuckDB file made of it


def test_passwords_in_other_engine_messages_are_masked(tmp_path):
    from valuemax.engines._connect import check_spark_master

    with pytest.raises(InputError) as info:
        connect(f"duckdb://ann:S3cr3tPW@{tmp_path}/none.duckdb")
    assert "S3cr3tPW" not in str(info.value)
    with pytest.raises(InputError) as info:
        check_spark_master("spark://ann:S3cr3tPW@127.0.0.1:7077")
    assert "S3cr3tPW" not in str(info.value) and "ann:***@" in str(info.value)


@pytest.mark.parametrize("name", ["rot13", "hex", "base64", "zlib"])
def test_data_transforms_are_not_encodings(name, tmp_path):
    from valuemax.io import read_customer_table, read_transactions

    path = tmp_path / "t.csv"
    path.write_text("customer_id,date,amount\nc1,2024-01-01,3\n", encoding="utf-8")
    for read in (read_customer_table, read_transactions):
        with pytest.raises(InputError, match=rf"encoding='{name}' is a data transform"):
            read(path, encoding=name)


def test_a_password_with_an_at_sign_or_in_the_query_is_masked_whole(tmp_path):
    """An unencoded ``@`` in the password and a ``?password=`` parameter (the breaker's
    URLs): no part of either secret in the refusal, nor in the options' repr."""
    from valuemax.pipeline import EngineOptions

    url = "postgres://bob:p@ss:w0rd@127.0.0.1:1/db?password=other&sslmode=disable"
    with pytest.raises(InputError) as info:
        connect(url)  # nothing listens on port 1: refused at once
    shown = [str(info.value), repr(EngineOptions(engine=url))]
    for text in shown:
        assert "ss:w0rd" not in text and "p@ss" not in text and "other" not in text, text
        assert "bob:***@127.0.0.1:1/db?password=***&sslmode=disable" in text, text
