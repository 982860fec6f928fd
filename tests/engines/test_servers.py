"""The test servers themselves: reachable with the exported URL, a table round-trips, a wrong
password or port is refused with one clear line that never shows the password."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from valuemax._core.exceptions import InputError
from valuemax.engines import connect, redact

# Third-party noise: ibis 12's MySQL backend fetches through pandas and reads a pandas option
# that pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated")


def _round_trip(con, name):
    data = pa.table({
        "customer_id": ["a", "b", "c"],
        "order_ts": [dt.datetime(2024, 1, 1, 9, 30, 0, 123456), dt.datetime(2024, 2, 29),
                     dt.datetime(1997, 1, 1)],
        "amount": [1.25, 1e-9, 12345678.901],
    })
    con.create_table(name, data)
    try:
        back = con.table(name).order_by("customer_id").to_pyarrow()
    finally:
        con.drop_table(name)
    assert back.column("customer_id").to_pylist() == ["a", "b", "c"]
    assert back.column("amount").to_pylist() == [1.25, 1e-9, 12345678.901]
    # microseconds survive on both servers (MariaDB: DATETIME(6) from Ibis)
    assert [t.replace(tzinfo=None) for t in back.column("order_ts").to_pylist()] == \
        data.column("order_ts").to_pylist()


@pytest.mark.postgres
def test_postgres_round_trip(postgres, table_name):
    assert postgres.name == "postgres"
    assert int(postgres.version.split(".")[0]) >= 13
    _round_trip(postgres, table_name)


@pytest.mark.mariadb
def test_mariadb_round_trip(mariadb, table_name):
    assert mariadb.name == "mysql"
    assert "MariaDB" in mariadb.raw_sql("SELECT VERSION()").fetchone()[0] or \
        mariadb.version.startswith("10.")
    _round_trip(mariadb, table_name)


def _wrong_password(url: str) -> tuple[str, str]:
    head, rest = url.split("://", 1)
    creds, host = rest.split("@", 1)
    user, password = creds.split(":", 1)
    return f"{head}://{user}:not-{password}@{host}", password


@pytest.mark.parametrize("which", [pytest.param("postgres_url", marks=pytest.mark.postgres),
                                   pytest.param("mariadb_url", marks=pytest.mark.mariadb)])
def test_wrong_password_is_refused_without_echoing_it(request, which):
    url = request.getfixturevalue(which)
    bad, real = _wrong_password(url)
    with pytest.raises(InputError, match=r"^cannot connect to .*:\*\*\*@127\.0\.0\.1") as err:
        connect(bad)
    message = str(err.value)
    assert "\n" not in message
    assert real not in message and f"not-{real}" not in message
    assert "password" in message.lower()
    assert err.value.__cause__ is None  # the driver's exception (with the URL) is not chained


@pytest.mark.parametrize("which", [pytest.param("postgres_url", marks=pytest.mark.postgres),
                                   pytest.param("mariadb_url", marks=pytest.mark.mariadb)])
def test_unreachable_port_is_refused(request, which):
    import socket

    url = request.getfixturevalue(which)
    with socket.socket() as s:  # a port nobody listens on: bound, never listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        head, rest = url.split("@", 1)
        bad = f"{head}@127.0.0.1:{port}/{rest.split('/', 1)[1]}"
        with pytest.raises(InputError, match=rf"^cannot connect to .*127\.0\.0\.1:{port}"):
            connect(bad)
    assert redact(bad).split("@")[0].endswith(":***")


@pytest.mark.parametrize("password", ["{port}", "connection", "127.0.0.1"])
def test_a_password_that_is_a_word_of_the_message_withholds_it(password):
    """The breaker's passwords: each replaced everywhere in the driver's message showed, by
    what vanished ("***ort 5999", "*** failed: *** to server"), what the password is. The
    message is withheld instead, the URL still masked. No server needed: the port is bound
    and never listens (psycopg is a test extra)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        secret = password.format(port=port)
        bad = f"postgres://ann:{secret}@127.0.0.1:{port}/shop"
        with pytest.raises(InputError) as err:
            connect(bad)
    message = str(err.value)
    assert message.startswith(f"cannot connect to postgres://ann:***@127.0.0.1:{port}/shop: ")
    assert "the server's message is withheld: it contains the password's text" in message
    assert "***ort" not in message and "*** failed" not in message
