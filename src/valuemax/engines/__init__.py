"""Engines are Ibis backends (STYLE.md b.12): DuckDB (default, the embedded store), PySpark.

``connect(target)`` takes a path to a DuckDB file (created when missing), ``None`` for an
in-memory DuckDB, a URL understood by ``ibis.connect``, or a live Ibis backend; PySpark sessions
come from ``spark_session()`` and are wrapped with ``connect(session)``. ``connect_url(url)``
opens PostgreSQL and MySQL/MariaDB servers with clear errors (missing driver, unreachable
server, refused login; never echoing the password), ``redact(url)`` hides the password.
``median_table`` is a median that also runs on MySQL/MariaDB (no quantiles there).
"""

from valuemax.engines._connect import connect, connect_url, redact, spark_session
from valuemax.engines._portable import median_table

__all__ = ["connect", "connect_url", "median_table", "redact", "spark_session"]
