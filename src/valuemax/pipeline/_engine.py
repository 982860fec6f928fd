"""``analyze(engine=...)``: the source read from another engine, the Ibis steps run there.

What runs where (DESIGN.md §2), for ``engine`` = Spark, PostgreSQL or MySQL/MariaDB:

- reading a ``table=`` or ``query=``: on the engine; its rows reach the local DuckDB store
  once, through Arrow batches, as ``transactions_raw`` (numbered on the engine first,
  :mod:`valuemax.pipeline._engine_read`);
- the mapping and the parse plan (date formats, numbers, ids): decided in the local DuckDB
  (the format inference is DuckDB SQL); applied by the engine to its own copy of a typed
  ``table=``/``query=`` (PostgreSQL, MySQL/MariaDB: text dates and numbers too,
  :mod:`valuemax.io._engine_parse`) (and Spark to a typed file's raw log, pushed alone)
  (:mod:`valuemax.pipeline._engine_read`), else in the local DuckDB (the date parser is
  DuckDB's ``try_strptime``) and pushed (:func:`push_log`);
- cleaning with the quarantine and its reason codes (returns netting included), the customer
  table (RFM + BTYD summary), the calibration/holdout table and the baskets (the basket ×
  item pairs of the clean lines, of the training and test periods of the recommendation
  check, and the product names): on the engine, as Ibis
  expressions over the normalised log copied there (the run's working tables are named
  ``valuemax_tmp_<tag>_*``: :mod:`valuemax.pipeline._engine_tables`); results
  published there, when the run succeeds, as ``valuemax_transactions_raw``,
  ``valuemax_transactions_clean``, ``valuemax_quarantine``, ``valuemax_customers`` and
  ``valuemax_calibration_holdout`` (in one step), and a row per run appended to
  ``valuemax_runs``
  (Spark: temporary views of the session), in the engine's default schema or in the one
  ``schema=`` names (a PostgreSQL schema, a MySQL/MariaDB database, a Spark database:
  created when missing; on Spark then tables of that database, not views);
- everything after (segments, clusters, value models, propensity frames, the mining of the
  baskets' itemsets and rules, the store, the report): in the local DuckDB or in Python, on
  copies of the engine's clean log and customer table, and on the distinct basket × item
  pairs the engine returned.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.engines import (
    append_arrow,
    connect,
    load_arrow,
    redact,
    refresh_statistics,
    spark_session,
    to_arrow_batches,
)
from valuemax.engines._connect import check_spark_master

#: Engine names accepted besides URLs and live backends.
ENGINE_NAMES = ("duckdb", "spark")
#: A schema name valuemax creates and writes to: an unquoted identifier on every engine
#: (63 characters: PostgreSQL's limit; MySQL allows 64).
_SCHEMA_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
#: What ``schema=`` is called on each backend, for messages.
_SCHEMA_KIND = {"postgres": "schema", "mysql": "database", "pyspark": "database"}


def open_engine(engine: Any, *, spark_master: str | None = None) -> tuple[Any, str] | None:
    """Return ``(backend, label)`` for ``engine``, or None for the local DuckDB.

    Parameters
    ----------
    engine : None, "duckdb", "spark", URL, Ibis backend or SparkSession
        None and ``"duckdb"``: the local store. ``"spark"``: a local-mode session
        (:func:`valuemax.engines.spark_session`). ``postgres://...``/``mysql://...``/
        ``mariadb://...``: that server. A live Ibis backend or SparkSession: used as is.
    spark_master : str, optional
        With ``"spark"``: the master of the session started
        (:func:`valuemax.engines._connect.check_spark_master`), default ``local[*]``.

    Returns
    -------
    tuple of (ibis backend, str) or None
        The label names the engine for notes and the run record (a URL without its
        password).

    Raises
    ------
    InputError
        An unknown name, a missing extra, an unreachable server or a refused login; a
        ``spark_master`` without ``engine="spark"`` or malformed.
    """
    _check_spark_master(engine, spark_master)
    if engine is None or engine == "duckdb":
        return None
    if engine == "spark":
        session = spark_session(master=spark_master)
        return connect(session), f"spark ({session.sparkContext.master})"
    if isinstance(engine, str):
        if "://" not in engine:
            raise InputError(
                f"engine={engine!r} is not one of {list(ENGINE_NAMES)} nor a URL such as "
                f"'postgres://user:password@host:5432/database' or 'mysql://...' (CLI --engine)"
            )
        return connect(engine), redact(engine)
    backend = connect(engine)
    return backend, getattr(backend, "name", type(engine).__name__)


def _check_spark_master(engine: Any, spark_master: str | None) -> None:
    if spark_master is not None:
        check_spark_master(spark_master)
        if engine != "spark":
            raise InputError(
                f"spark_master={spark_master!r} starts a Spark session: it needs "
                f"engine='spark' (CLI --engine spark), "
                + ("but no engine was given" if engine is None else
                   f"got engine={_shown(engine)}")
                + "; an existing SparkSession passed as engine= keeps its own master"
            )


def _shown(engine: Any) -> str:
    return repr(redact(engine)) if isinstance(engine, str) else type(engine).__name__


def check_schema(schema: Any, engine: Any) -> None:
    """Check ``schema=``: an identifier, and only with an engine other than the local DuckDB.

    Raises
    ------
    InputError
        A name that is not a plain identifier (letters, digits, ``_``; not starting with a
        digit; at most 63 characters), or a schema without ``engine``.
    """
    if schema is None:
        return
    if not isinstance(schema, str) or not _SCHEMA_NAME.fullmatch(schema):
        raise InputError(
            f"schema={schema!r} is not a plain name: use letters, digits and underscores, "
            f"not starting with a digit, at most 63 characters, e.g. 'valuemax_results' "
            f"(CLI --schema)"
        )
    if engine is None or engine == "duckdb":
        raise InputError(
            f"schema={schema!r} names where the results go in another engine: add "
            f"engine='postgres://...', 'mysql://...' or 'spark' (CLI --engine); with the "
            f"local DuckDB the results are in its store (db=)"
        )


def prepare_schema(econ: Any, label: str, schema: str | None) -> None:
    """Create ``schema`` in ``econ`` when missing and check that a table can be created there.

    Runs before any work, so a schema the user may not create or write to stops the run at
    once (a probe table ``valuemax_probe_*`` is created there and dropped).

    Raises
    ------
    InputError
        The engine refuses to create the schema or a table in it: its first line of error,
        and the fix (the right to create it, or an existing schema one may write to).
    """
    if schema is None:
        return
    kind = _SCHEMA_KIND.get(getattr(econ, "name", ""), "schema")
    fix = (f"ask the server's administrator to create it or to grant you the right, or pass "
           f"an existing {kind} you may create tables in with schema= (CLI --schema)")
    try:
        exists = schema in econ.list_databases()
        if not exists:
            econ.create_database(schema, force=True)
    except Exception as exc:  # the drivers' own error classes
        # a run started at the same time may have created it in between (PostgreSQL's
        # CREATE SCHEMA IF NOT EXISTS then fails on its unique name)
        if not _has_schema(econ, schema):
            raise InputError(f"cannot create the {kind} {schema!r} on {label}: "
                             f"{_first(exc)}; {fix}") from None
    probe = f"valuemax_probe_{uuid.uuid4().hex[:12]}"
    import pyarrow as pa

    try:
        write_engine_table(econ, probe, pa.table({"ok": pa.array([1], pa.int64())}),
                           schema=schema)
    except Exception as exc:  # the drivers' own error classes
        raise InputError(f"cannot create tables in the {kind} {schema!r} on {label}: "
                         f"{_first(exc)}; {fix}") from None
    finally:
        drop_engine_tables(econ, (probe,), schema=schema)


def _has_schema(econ: Any, schema: str) -> bool:
    try:
        return schema in econ.list_databases()
    except Exception:  # the drivers' own error classes: the first error is the one shown
        return False


def check_engine_options(engine: Any, table: Any, query: Any, schema: Any,
                         spark_master: Any) -> None:
    """Check the engine keywords together (:class:`valuemax.pipeline.EngineOptions`).

    Raises
    ------
    InputError
        ``table``/``query`` empty, both given, or given without a non-DuckDB ``engine``;
        ``schema`` malformed or without an engine (:func:`check_schema`); ``spark_master``
        malformed or without ``engine="spark"``.
    """
    given = [n for n, v in (("table", table), ("query", query)) if v is not None]
    for name in given:
        value = table if name == "table" else query
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{name}= must be a non-empty string, got {value!r} "
                             f"(CLI --{name})")
    if len(given) == 2:
        raise InputError("pass table= or query=, not both (CLI --table or --query)")
    if given and (engine is None or engine == "duckdb"):
        raise InputError(
            f"{given[0]}= reads from another engine: add engine='postgres://...', "
            f"'mysql://...' or 'spark' (CLI --engine URL), or pass the file as the source"
        )
    check_schema(schema, engine)
    _check_spark_master(engine, spark_master)


def check_engine_source(source: Any, table: str | None, query: str | None) -> None:
    """Check that exactly one source is named: ``source``, or ``table``/``query`` (already
    checked with their engine by :func:`check_engine_options`).

    Raises
    ------
    InputError
        Both ``source`` and ``table``/``query``, or none at all.
    """
    given = [n for n, v in (("table", table), ("query", query)) if v is not None]
    if given and source is not None:
        raise InputError(f"pass the source or {given[0]}=, not both (CLI: drop SOURCE or "
                         f"--{given[0]})")
    if not given and source is None:
        raise InputError("no source: pass a file (CLI SOURCE), or table=/query= with engine= "
                         "(CLI --table/--query with --engine)")


def engine_source(econ: Any, label: str, *, table: str | None, query: str | None) -> Any:
    """The Ibis table ``table`` names in ``econ``, or the result of ``query`` there.

    Raises
    ------
    InputError
        Both or neither given; a table the engine does not have (its tables are listed);
        a query the engine rejects (its first line of error).
    """
    if (table is None) == (query is None):
        raise InputError("pass exactly one of table= (a table in the engine) or query= (SQL "
                         "run there) with engine= (CLI --table or --query)")
    if table is not None:
        try:
            names = econ.list_tables()
        except Exception as exc:  # the drivers' own error classes
            raise InputError(f"cannot list the tables of {label}: {_first(exc)}") from None
        if table not in names:
            shown = ", ".join(sorted(names)[:10]) or "none"
            more = f" (and {len(names) - 10} more)" if len(names) > 10 else ""
            raise InputError(
                f"{label} has no table {table!r}; its tables: {shown}{more}. Check the name "
                f"given with table=."
            )
        return econ.table(table)
    try:
        return econ.sql(query)
    except Exception as exc:  # the drivers' own error classes
        raise InputError(
            f"the query failed on {label}: {_first(exc)}. Check the SQL given with query= in "
            f"the engine's own client first."
        ) from None


def _first(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


@dataclass(frozen=True)
class EngineLog:
    """The normalised log copied into another engine: what :func:`valuemax.clean.clean`
    takes (``raw``, ``con``, ``extra_columns``, ``mapping``, ``standardized()``)."""

    raw: Any = field(repr=False)
    std: Any = field(repr=False)
    con: Any = field(repr=False)
    extra_columns: tuple[str, ...]
    mapping: dict[str, str]
    #: Rows sent from the driver to the engine to build it (raw and normalised log
    #: together; 0 when the engine normalised its own table).
    rows_pushed: int = 0

    def standardized(self) -> Any:
        """The normalised log in the engine (lazy Ibis table)."""
        return self.std


def _is_spark(econ: Any) -> bool:
    return getattr(econ, "name", None) == "pyspark"


def engine_table(econ: Any, name: str, schema: str | None = None) -> Any:
    """The table ``name`` of ``econ``, in ``schema`` when given (else the default one)."""
    return econ.table(name) if schema is None else econ.table(name, database=schema)


def write_engine_table(econ: Any, name: str, data: Any, schema: str | None = None) -> Any:
    """Write ``data`` (Arrow table or an expression of ``econ``) as ``name`` in ``econ``.

    Without ``schema``, Spark gets a cached temporary view of its session (no warehouse
    folder is written), the servers a table of their default schema; with ``schema``, a
    table of that schema (Spark: of that database, in its warehouse); either replaced when
    it exists. A server then gathers the table's planner statistics
    (:func:`valuemax.engines.refresh_statistics`). Arrow tables reach a server through its
    bulk path (:func:`valuemax.engines.load_arrow`: ``COPY``, ``LOAD DATA LOCAL INFILE``);
    an expression is computed there (``CREATE TABLE`` and ``INSERT ... SELECT``).
    """
    if schema is not None:
        if not hasattr(data, "op"):
            table = load_arrow(econ, name, data, schema)
        else:
            table = econ.create_table(name, data, database=schema, overwrite=True)
        refresh_statistics(econ, name, schema)
        return table
    if _is_spark(econ):
        session = econ._session  # the SparkSession behind the Ibis backend
        if hasattr(data, "op"):
            econ.create_view(name, data, overwrite=True)
        else:
            session.createDataFrame(data).createOrReplaceTempView(name)
        session.catalog.cacheTable(name)
        return econ.table(name)
    if not hasattr(data, "op"):
        table = load_arrow(econ, name, data)
    else:
        table = econ.create_table(name, data, overwrite=True)
    refresh_statistics(econ, name)  # the next queries read it: plan them on its real size
    return table


def push_log(econ: Any, ingested: Any, schema: str | None = None, *,
             tables: Any) -> EngineLog:
    """Copy the raw and the normalised log from the local DuckDB into ``econ`` (in
    ``schema`` when given), as the run's working tables (``tables``, a
    :class:`~valuemax.pipeline._engine_tables.RunTables`).

    Returns
    -------
    EngineLog
        Over ``valuemax_tmp_<tag>_transactions_raw`` and ``..._transactions_std`` in ``econ``.
    """
    names = (tables.work("transactions_raw"), tables.work("transactions_std"))
    tables = (ingested.raw.to_pyarrow(), ingested.standardized().to_pyarrow())
    if getattr(econ, "name", None) == "mysql":
        # MariaDB joins without an index by nested loops: the quarantine and the duplicate
        # test join on _row_id (measured on 20,000 lines: minutes without the key), made
        # the primary key of the empty tables (adding it after the load rebuilt each
        # table: the push of 200,000 lines 7.0-9.4 s before, 4.1-4.6 s since)
        raw, std = (load_arrow(econ, name, data, schema, key="_row_id")
                    for name, data in zip(names, tables, strict=True))
        for name in names:
            refresh_statistics(econ, name, schema)
    else:
        raw, std = (write_engine_table(econ, name, data, schema)
                    for name, data in zip(names, tables, strict=True))
    return EngineLog(raw, std, econ, tuple(ingested.extra_columns), dict(ingested.mapping),
                     rows_pushed=sum(t.num_rows for t in tables))


def copy_to_store(con: Any, name: str, expr: Any, schema: Any = None, *,
                  watch: Any = None) -> None:
    """Copy the result of ``expr`` (an expression of another engine) into the local store.

    Streams Arrow batches (:func:`valuemax.engines.to_arrow_batches`: int64 and decimals
    exact on MySQL/MariaDB too, where Ibis's own read would pass them through pandas'
    float64 next to a NULL); timestamps come back in microseconds (Spark returns nanoseconds,
    the other engines microseconds: the values are microsecond-exact either way), and a
    column the engine returns as a decimal (Spark, for some float64 expressions) gets the
    expression's declared type (``schema``, an Ibis schema; default ``expr``'s: pass the
    schema of the expression a Spark view was made from, the view's own already says
    decimal). ``watch``, when given, is called with each Arrow batch, in order, before it
    is stored.
    """
    import pyarrow as pa

    from valuemax.io._sql import duck, ident

    reader = to_arrow_batches(expr)
    declared = (expr.schema() if schema is None else schema).to_pyarrow()

    def target(f: pa.Field) -> pa.Field:
        if pa.types.is_timestamp(f.type):
            return f.with_type(pa.timestamp("us", f.type.tz))
        # Spark hands some float64 expressions back as decimals: the declared type wins
        want = declared.field(f.name).type if f.name in declared.names else f.type
        return f.with_type(want) if pa.types.is_decimal(f.type) else f

    schema = pa.schema([target(f) for f in reader.schema])

    def batches():
        for batch in reader:
            batch = pa.RecordBatch.from_arrays(
                [col.cast(t.type) for col, t in zip(batch.columns, schema, strict=True)],
                schema=schema)
            if watch is not None:
                watch(batch)
            yield batch

    view = f"_vm_copy_{uuid.uuid4().hex[:12]}"
    raw = duck(con)
    raw.register(view, pa.RecordBatchReader.from_batches(schema, batches()))
    try:
        raw.execute(f"CREATE OR REPLACE TABLE {ident(name)} AS SELECT * FROM {ident(view)}")
    finally:
        raw.unregister(view)


#: The table of runs kept in the engine, one row per ``analyze`` run there.
RUNS_TABLE = "valuemax_runs"


def record_engine_run(econ: Any, schema: str | None, *, run_id: str, started: Any,
                      source: str, quality: Any, n_customers: int, engine: str,
                      version: str) -> Any:
    """Append this run's row to ``valuemax_runs`` in ``econ`` (in ``schema`` when given),
    created when missing.

    The row (one per ``analyze`` run on that engine) lets the engine's users see which
    run wrote the ``valuemax_*`` tables beside it without the local store: ``run_id`` (the
    store's ``runs.run_id``), ``started_at`` and ``finished_at`` (naive local time, to the
    microsecond), ``source`` (the file, or the engine's table or query), ``rows_in``,
    ``rows_clean``, ``rows_quarantined``, ``n_customers`` (int64), ``engine`` (the URL
    without its password, or ``spark (MASTER)``) and ``valuemax_version``. Spark without
    ``schema``: a temporary view of the session, as the other tables (gone with it).

    Parameters
    ----------
    econ : ibis backend
        The engine the run's row-level steps ran on.
    schema : str or None
        Where the run's tables went (``analyze(schema=)``).
    run_id, source, engine, version : str
    started : datetime.datetime
        When the run started (its end is taken now).
    quality : QualityReport
        The run's cleaning counts (``rows_in``, ``rows_clean``, ``rows_quarantined``).
    n_customers : int

    Returns
    -------
    ibis.Table
        ``valuemax_runs`` with the new row.
    """
    from datetime import datetime

    import pyarrow as pa

    row = pa.table({
        "run_id": pa.array([run_id], pa.string()),
        "started_at": pa.array([started], pa.timestamp("us")),
        "finished_at": pa.array([datetime.now()], pa.timestamp("us")),
        "source": pa.array([str(source)], pa.string()),
        "rows_in": pa.array([int(quality.rows_in)], pa.int64()),
        "rows_clean": pa.array([int(quality.rows_clean)], pa.int64()),
        "rows_quarantined": pa.array([int(quality.rows_quarantined)], pa.int64()),
        "n_customers": pa.array([int(n_customers)], pa.int64()),
        "engine": pa.array([engine], pa.string()),
        "valuemax_version": pa.array([version], pa.string()),
    })
    if _is_spark(econ) and schema is None:  # a session view: rebuilt with the new row
        session = econ._session
        if session.catalog.tableExists(RUNS_TABLE):
            row = pa.concat_tables([econ.table(RUNS_TABLE).to_pyarrow().cast(row.schema), row])
        session.catalog.dropTempView(RUNS_TABLE)
        return write_engine_table(econ, RUNS_TABLE, row)
    listed = econ.list_tables() if schema is None else econ.list_tables(database=schema)
    if RUNS_TABLE not in listed:
        return write_engine_table(econ, RUNS_TABLE, row, schema)
    append_arrow(econ, RUNS_TABLE, row, schema)
    return engine_table(econ, RUNS_TABLE, schema)


def drop_engine_tables(econ: Any, names: tuple[str, ...], schema: str | None = None) -> None:
    """Drop the working tables (or Spark views) of a run, in ``schema`` when given; missing
    ones are ignored."""
    for name in names:
        try:
            if schema is not None:
                econ.drop_table(name, database=schema, force=True)
            elif _is_spark(econ):
                econ._session.catalog.dropTempView(name)
            else:
                econ.drop_table(name, force=True)
        except Exception:  # cleanup only: the run's result does not depend on it
            pass


__all__ = ["ENGINE_NAMES", "EngineLog", "check_engine_options", "check_engine_source", "check_schema", "copy_to_store",
           "drop_engine_tables", "engine_source", "engine_table", "open_engine",
           "prepare_schema", "push_log", "record_engine_run", "write_engine_table"]
