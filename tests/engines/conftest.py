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
