"""Engines are Ibis backends (STYLE.md b.12): DuckDB (default, the embedded store), PySpark.

``connect(target)`` takes a path to a DuckDB file (created when missing), ``None`` for an
in-memory DuckDB, a URL understood by ``ibis.connect``, or a live Ibis backend; PySpark sessions
come from ``spark_session()`` and are wrapped with ``connect(session)``.
"""

from valuemax.engines._connect import connect, spark_session

__all__ = ["connect", "spark_session"]
