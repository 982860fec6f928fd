"""Engines are Ibis backends (STYLE.md b.12): DuckDB (default, the embedded store), PySpark.

``connect(target)`` takes a path to a DuckDB file (created when missing), ``None`` for an
in-memory DuckDB, a URL understood by ``ibis.connect``, or a live Ibis backend; PySpark sessions
come from ``spark_session()`` and are wrapped with ``connect(session)``. ``connect_url(url)``
opens PostgreSQL and MySQL/MariaDB servers with clear errors (missing driver, unreachable
server, refused login; never echoing the password), ``redact(url)`` hides the password.
``median_table`` is a median that also runs on MySQL/MariaDB (no quantiles there);
``refresh_statistics`` has a server's planner read a table just written (``ANALYZE``),
``add_key`` gives a materialised table its id as primary key on MySQL/MariaDB;
``is_nan``/``is_inf`` test floats where MySQL/MariaDB have no such function;
``spark_checkpoint`` computes a Spark expression now and cuts its plan there;
``spark_number_rows`` numbers a Spark source's rows 1..n (no order needed),
``spark_drop_columns`` drops columns from a Spark view or table.
``load_arrow``/``append_arrow`` send an Arrow table to a server through its bulk path
(PostgreSQL ``COPY``, MySQL/MariaDB ``LOAD DATA LOCAL INFILE``); ``to_arrow``/
``to_arrow_batches`` read an expression's rows back as Arrow, exactly (MySQL/MariaDB through
the driver's cursor: Ibis's pandas path loses int64 digits beyond 2**53 next to a NULL).
"""

from valuemax.engines._bulk import append_arrow, load_arrow
from valuemax.engines._connect import connect, connect_url, redact, spark_session
from valuemax.engines._fetch import to_arrow, to_arrow_batches
from valuemax.engines._portable import (
    add_key,
    is_inf,
    is_nan,
    median_table,
    re_replace,
    refresh_statistics,
    spark_checkpoint,
)
from valuemax.engines._spark_rows import spark_drop_columns, spark_number_rows

__all__ = [
    "add_key",
    "append_arrow",
    "connect",
    "connect_url",
    "is_inf",
    "is_nan",
    "load_arrow",
    "median_table",
    "re_replace",
    "redact",
    "refresh_statistics",
    "spark_checkpoint",
    "spark_drop_columns",
    "spark_number_rows",
    "spark_session",
    "to_arrow",
    "to_arrow_batches",
]
