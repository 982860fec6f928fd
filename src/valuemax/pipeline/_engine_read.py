"""A source normalised on the engine itself (PostgreSQL, MySQL/MariaDB, Spark).

A ``table=``/``query=`` source is numbered once, on the engine
(the run's ``valuemax_tmp_<tag>_transactions_raw``: the source's columns and ``_row_id``,
written there by the
engine, not pushed; Spark numbers its rows without an order,
:func:`valuemax.engines.spark_number_rows`), and streamed in that order into the store's
``transactions_raw``, where the mapping and the parse plan are decided as for any source
(:func:`valuemax.io._read.ingest_stored`) and the personal-data columns found
(:func:`valuemax.io.protect`). The plan is then applied to the engine's copy as Ibis
expressions (:meth:`valuemax.io.Ingested.standardized` over the engine's table), written
there as ``valuemax_tmp_<tag>_transactions_std``: the log never travels from the driver to the
engine. A file on Spark (:data:`RAW_PUSHED`) is read by the local DuckDB as any file; only
its raw log is pushed (:func:`push_raw`), and Spark normalises it the same way.

That is done only where the engine's expression gives the local path's values exactly
(:func:`local_only_reason`); otherwise the run normalises in the local DuckDB and pushes
the normalised log (and the raw one, when not there yet) as before
(:func:`valuemax.pipeline._engine.push_log`), with a note saying why.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from valuemax._core.exceptions import InputError
from valuemax.engines import (
    refresh_statistics,
    spark_checkpoint,
    spark_drop_columns,
    spark_number_rows,
)
from valuemax.io import protect
from valuemax.io._date_formats import SourceZone
from valuemax.io._engine_parse import (
    ENGINE_TEXT,
    engine_date_reason,
    engine_number_reason,
    year_reason,
)
from valuemax.io._frames import arrow_sha256, check_reserved
from valuemax.io._read import ingest_stored
from valuemax.pipeline._engine import (
    EngineLog,
    copy_to_store,
    drop_engine_tables,
    write_engine_table,
)

#: Backends whose sources are normalised on the engine (others: locally, then pushed).
NORMALISED_ON_ENGINE = frozenset({"postgres", "mysql", "pyspark"})
#: Backends a file's raw log is pushed to alone, then normalised there when it can be
#: exactly (the servers get the raw and the normalised log, normalised locally).
RAW_PUSHED = frozenset({"pyspark"})
#: The working tables of the engine path, by their run-scoped names' ending
#: (``valuemax_tmp_<tag>_transactions_raw``: :class:`~valuemax.pipeline._engine_tables.RunTables`).
RAW, STD = "transactions_raw", "transactions_std"
#: Edge blanks as the local path trims them (RE2 ``\s``: :func:`valuemax.io._sql.strip_expr`).
_EDGE = r"^\s|\s$"

log = logging.getLogger("valuemax")


def stage_on_engine(econ: Any, source: Any, con: Any, reading: Any, *, label: str,
                    key: Any, keep_pii: Any, schema: str | None, tables: Any) -> Any:
    """Number the source's rows on the engine and stream them into the store.

    Writes the run's ``valuemax_tmp_<tag>_transactions_raw`` on ``econ`` (in ``schema`` when given): the
    source's columns then ``_row_id`` (int64, 1..n, ``ROW_NUMBER()`` in the engine's scan
    order; Spark: in the order it holds the rows, :func:`valuemax.engines.spark_number_rows`),
    computed by the engine (``CREATE TABLE ... AS SELECT``; MySQL/MariaDB: with ``_row_id``
    as its primary key; Spark without ``schema``: a cached temporary view). Its rows, in ``_row_id`` order, become the store's
    ``transactions_raw`` (Arrow batches, bounded memory), which is mapped, planned and
    protected as any source.

    Parameters
    ----------
    econ : ibis backend
        PostgreSQL, MySQL/MariaDB or PySpark (:data:`NORMALISED_ON_ENGINE`).
    source : ibis.Table
        The ``table=``/``query=`` of the run, on ``econ``.
    con : ibis DuckDB backend
        The store.
    reading : ReadOptions
        ``mapping``, ``date_format``, ``decimal`` apply; ``columns``, ``encoding`` and
        ``sheet`` are for files.
    label : str
        How messages name the source.
    key : PseudonymKey or None
    keep_pii : sequence of str
    schema : str or None
    tables : RunTables
        The run's table names (:mod:`valuemax.pipeline._engine_tables`).

    Returns
    -------
    Ingested
        Over the store's ``transactions_raw``, protected (:func:`valuemax.io.protect`).

    Raises
    ------
    InputError
        A source column named ``_row_id``; anything :func:`valuemax.io.read_transactions`
        raises on the log (the engine's table is dropped then); an option for files.
    """
    for name in ("columns", "encoding", "sheet"):
        if getattr(reading, name) is not None:
            raise InputError(f"{name}= applies to files; the source is {label}. Drop {name}=.")
    check_reserved(list(source.columns), label)
    eraw = _number_rows(econ, source, schema, tables.work(RAW))
    try:
        _copy_in_order(econ, con, eraw)
        local = con.table("transactions_raw")
        fingerprint = arrow_sha256(*_batches(local))
        zones = {n: SourceZone(t.timezone) for n, t in source.schema().items()
                 if t.is_timestamp() and t.timezone}
        ingested = ingest_stored(con, "transactions_raw", source=label,
                                 fingerprint=fingerprint, zones=zones,
                                 mapping=reading.mapping, date_format=reading.date_format,
                                 decimal=reading.decimal)
        return protect(ingested, pseudonym_key=key, keep_pii=keep_pii)
    except BaseException:
        drop_engine_tables(econ, (tables.work(RAW),), schema)
        raise


def _number_rows(econ: Any, source: Any, schema: str | None, raw: str) -> Any:
    """Write ``raw`` (the run's raw table) on the engine: ``source`` and ``_row_id``."""
    if econ.name != "pyspark":
        numbered = source.mutate(_row_id=(ibis.row_number() + 1).cast(dt.int64))
        eraw = write_engine_table(econ, raw, numbered, schema)
        try:
            _add_key(econ, raw, schema)
        except BaseException:
            drop_engine_tables(econ, (raw,), schema)
            raise
        return eraw
    if schema is None:  # a cached view of the session, as write_engine_table makes
        return spark_number_rows(econ, source, raw)
    view = f"_vm_numbered_{uuid.uuid4().hex[:12]}"
    try:
        return write_engine_table(econ, raw, spark_number_rows(econ, source, view), schema)
    finally:
        drop_engine_tables(econ, (view,))


def _copy_in_order(econ: Any, con: Any, eraw: Any) -> None:
    """The engine's numbered rows into the store's ``transactions_raw``, in ``_row_id``
    order. On Spark the rows are copied as they come and sorted by the local DuckDB only
    when they did not come in order: a Spark ``ORDER BY`` is a range shuffle of the whole
    log (the read of 1M lines: 89 s with it, 75 s without, one run each on a loaded
    machine), and Spark's partitions, read one after the other
    (:mod:`valuemax.engines._spark_fetch`), hold the numbers in order already
    (:func:`valuemax.engines.spark_number_rows` numbers them partition by partition), so
    the table is kept as written (DuckDB keeps the insertion order) without a second copy
    of the log sorted."""
    if econ.name != "pyspark":
        copy_to_store(con, "transactions_raw", eraw.order_by("_row_id"))
        return
    from valuemax.io._sql import duck

    order = _InOrder()
    copy_to_store(con, "transactions_raw", eraw, watch=order)
    kept = bool(duck(con).execute(
        "SELECT current_setting('preserve_insertion_order')").fetchone()[0])
    if not (order.ordered and kept):
        duck(con).execute("CREATE OR REPLACE TABLE transactions_raw AS SELECT * FROM "
                          "transactions_raw ORDER BY _row_id")


class _InOrder:
    """Called with each batch of a copy: ``ordered`` stays True while ``_row_id`` runs
    1, 2, 3, ... across the batches."""

    def __init__(self) -> None:
        self.ordered, self.next = True, 1

    def __call__(self, batch: Any) -> None:
        import pyarrow.compute as pc

        ids = batch.column("_row_id")
        n = len(ids)
        if not self.ordered or n == 0:
            return
        steps_by_one = n == 1 or pc.all(pc.equal(
            pc.subtract(ids.slice(1), ids.slice(0, n - 1)), 1)).as_py()
        self.ordered = ids[0].as_py() == self.next and bool(steps_by_one) \
            and ids.null_count == 0
        self.next = self.next + n


def _batches(local: Any) -> tuple[Any, Any]:
    """Schema and batches of the stored raw log without ``_row_id`` (its fingerprint)."""
    reader = local.order_by("_row_id").drop("_row_id").to_pyarrow_batches()
    return reader.schema, reader


def _add_key(econ: Any, name: str, schema: str | None) -> None:
    """MySQL/MariaDB: ``_row_id`` becomes the primary key of ``name`` (joins on it are then
    key lookups: see :func:`valuemax.pipeline._engine.push_log`); statistics refreshed."""
    if econ.name == "mysql":
        where = f"`{name}`" if schema is None else f"`{schema}`.`{name}`"
        econ.raw_sql(f"ALTER TABLE {where} ADD PRIMARY KEY (`_row_id`)").close()
        refresh_statistics(econ, name, schema)


def local_only_reason(econ: Any, ingested: Any, eraw: Any) -> str | None:
    """Why the engine cannot give the local path's normalised log exactly, or None.

    The engine path applies the plan decided on the same rows; it is exact for typed
    sources: ``order_ts`` a timestamp or a date (no time zone), amount/quantity/unit_price
    numeric (on PostgreSQL and MySQL/MariaDB also text dates in an inferred format of
    digits and text numbers, parsed by :mod:`valuemax.io._engine_parse`; see
    :func:`_text_reason`), ids text (trimmed of nothing: no value with edge blanks, counted both locally
    and on the engine, as each engine's regular expressions call other characters blanks;
    on MySQL/MariaDB without null-like words, which it compares ignoring case and accents)
    or integers, the product name text or integer, and no pseudonyms (HMAC-SHA256 in the
    local DuckDB, with no identical keyed hash on the servers).

    Parameters
    ----------
    econ : ibis backend
    ingested : Ingested
        The protected log in the store.
    eraw : ibis.Table
        The run's raw table on the engine.

    Returns
    -------
    str or None
        A sentence for the run's notes (what, which column, why), or None.
    """
    plan, mapping, engine = ingested.plan, ingested.mapping, econ.name
    if ingested.privacy is not None and ingested.privacy.pseudonymized:
        return ("customer ids are pseudonymised with HMAC-SHA256 in the local DuckDB, and "
                f"{engine} has no identical keyed hash")
    reason = _text_reason(econ, ingested)
    if reason is not None:
        return reason
    zone = _spark_zone(econ)
    if zone not in (None, "UTC", "Etc/UTC", "GMT", "Z", "+00:00"):
        return (f"the Spark session's time zone is {zone!r}: Spark shifts its timestamps and "
                f"dates by it when they reach Arrow; set spark.sql.session.timeZone to UTC "
                f"(valuemax's own sessions do) to normalise there")
    schema = ingested.raw.schema()
    texts = []
    for name in (*plan.ids, "product_name"):
        if name not in mapping:
            continue
        col, dtype = mapping[name], schema[mapping[name]]
        if dtype.is_string():
            if name in plan.ids:  # ids are trimmed; the product name is taken as is
                texts.append(col)
            tokens = plan.ids[name].null_tokens if name in plan.ids else ()
            if tokens and engine == "mysql":
                return (f"{name} (column {col!r}) has null-like words {list(tokens)}, which "
                        f"{engine} compares ignoring case and accents")
        elif not dtype.is_integer():
            return (f"{name} (column {col!r}) is {dtype}: each engine writes such values as "
                    f"text differently; store it as text or an integer to normalise there")
    return _edge_blanks(ingested.raw, eraw, texts, engine)


def _text_reason(econ: Any, ingested: Any) -> str | None:
    """Why ``order_ts`` or a number column cannot be parsed on the engine as locally.

    A timestamp or date column is cast everywhere. Text dates and text numbers are parsed
    on PostgreSQL and MySQL/MariaDB by :mod:`valuemax.io._engine_parse` (the plan's
    formats as portable regular expressions; checked on the store's copy: no year before
    1000, no number with an exponent); Spark and other plans stay local.
    """
    plan, mapping, engine = ingested.plan, ingested.mapping, econ.name
    ts = mapping["order_ts"]
    if plan.date.kind not in ("timestamp", "date"):
        what = (f"text parsed with {list(plan.date.formats)}" if plan.date.kind == "text"
                else plan.date.kind)
        if engine not in ENGINE_TEXT:
            return (f"order_ts (column {ts!r}) is {what}: DuckDB's date parsing and time "
                    f"zones have no identical counterpart on {engine}; store it as a "
                    f"timestamp without time zone to normalise there")
        why = engine_date_reason(plan.date)
        dtype = ingested.raw.schema()[ts]
        if why is None and not (dtype.is_string() or dtype.is_integer()):
            why = f"order_ts is {dtype}, written as text differently by each engine"
        if why is not None:
            return (f"order_ts (column {ts!r}) is {what}: {why}, parsed only by DuckDB "
                    f"locally; store it as a timestamp without time zone (or as text in "
                    f"one of the formats of docs/scaling.md) to normalise there")
        reason = year_reason(ingested.raw, ts, plan.date)
        if reason is not None:
            return reason
    for name, number in plan.numbers.items():
        if number.kind == "numeric":
            continue
        if engine not in ENGINE_TEXT:
            return (f"{name} (column {mapping[name]!r}) is text: its number parsing "
                    f"(separators, currency signs) has no identical counterpart on "
                    f"{engine}; store it as a number to normalise there")
        reason = engine_number_reason(ingested.raw, mapping[name], name, number)
        if reason is not None:
            return reason
    return None


def _spark_zone(econ: Any) -> str | None:
    """The session time zone of a PySpark backend (None for other engines)."""
    if econ.name != "pyspark":
        return None
    return econ._session.conf.get("spark.sql.session.timeZone")


def _edge_blanks(local: Any, eraw: Any, columns: list[str], engine: str) -> str | None:
    """Why trimming would differ: a text id with edge blanks, locally or on the engine."""
    if not columns:
        return None

    def counts(t: Any) -> dict[str, int]:
        row = t.aggregate(**{f"c{i}": t[c].re_search(_EDGE).ifelse(1, 0).sum()
                             for i, c in enumerate(columns)}).to_pyarrow().to_pylist()[0]
        return {c: int(row[f"c{i}"] or 0) for i, c in enumerate(columns)}

    here, there = counts(local), counts(eraw)
    for col in columns:
        if here[col] or there[col]:
            return (f"column {col!r} has values with surrounding blanks ({here[col]:,} by "
                    f"DuckDB's reckoning, {there[col]:,} by {engine}'s), and the two trim "
                    f"different characters")
    return None


def normalise_on_engine(econ: Any, ingested: Any, schema: str | None,
                        pushed: int = 0, *, tables: Any) -> EngineLog:
    """Apply ``ingested``'s plan to the run's raw table on the engine (``tables``:
    ``valuemax_tmp_<tag>_transactions_raw``), written there as ``..._transactions_std`` (personal-data columns dropped from the raw first;
    Spark without ``schema``: computed once, :func:`valuemax.engines.spark_checkpoint`).
    ``pushed``: the rows pushed to build the raw table (:func:`push_raw`), recorded.

    Returns
    -------
    EngineLog
        Over the engine's raw and normalised tables.
    """
    raw, std_name = tables.work(RAW), tables.work(STD)
    eraw = _engine_raw(econ, schema, raw)
    dropped = () if ingested.privacy is None else ingested.privacy.dropped
    # what protect() dropped from the store's copy leaves the engine's too (a pushed raw
    # log was pushed without it)
    dropped = tuple(c for c in dropped if c in eraw.columns)
    if dropped and econ.name == "pyspark":
        eraw = spark_drop_columns(econ, raw, dropped, schema)
    elif dropped:
        q = '`' if econ.name == "mysql" else '"'
        where = f"{q}{raw}{q}" if schema is None else f"{q}{schema}{q}.{q}{raw}{q}"
        econ.raw_sql(f"ALTER TABLE {where} " + ", ".join(
            f"DROP COLUMN {q}{c.replace(q, q * 2)}{q}" for c in dropped)).close()
        eraw = _engine_raw(econ, schema, raw)
    there = dataclasses.replace(ingested, raw=eraw, day_counts=None)
    if econ.name == "pyspark" and schema is None:
        std = spark_checkpoint(econ, there.standardized(), std_name)
    else:
        std = write_engine_table(econ, std_name, there.standardized(), schema)
    _add_key(econ, std_name, schema)
    return EngineLog(eraw, std, econ, tuple(ingested.extra_columns), dict(ingested.mapping),
                     rows_pushed=pushed)


def push_raw(econ: Any, ingested: Any, schema: str | None, *,
             tables: Any) -> tuple[Any, int]:
    """Push the raw log of a file (read by the local DuckDB, protected) to ``econ`` as the
    run's raw table (``tables``); returns the engine's table and the rows pushed."""
    data = ingested.raw.to_pyarrow()
    return write_engine_table(econ, tables.work(RAW), data, schema), data.num_rows


def push_normalised(econ: Any, ingested: Any, eraw: Any, schema: str | None,
                    pushed: int, *, tables: Any) -> EngineLog:
    """Push the log normalised locally beside the raw log already on ``econ``
    (:func:`push_raw`, ``pushed`` rows): the run's ``..._transactions_std``."""
    data = ingested.standardized().to_pyarrow()
    std = write_engine_table(econ, tables.work(STD), data, schema)
    return EngineLog(eraw, std, econ, tuple(ingested.extra_columns), dict(ingested.mapping),
                     rows_pushed=pushed + data.num_rows)


def _engine_raw(econ: Any, schema: str | None, raw: str) -> Any:
    return econ.table(raw) if schema is None else econ.table(raw, database=schema)


def note_local(reason: str, label: str) -> str:
    """The run's note when the normalisation stayed local, logged as a warning."""
    note = (f"normalised in the local DuckDB, not on {label}: {reason}; the raw and the "
            f"normalised log were pushed to the engine (results are those of the local path)")
    log.warning("valuemax: %s", note)
    return note


__all__ = ["NORMALISED_ON_ENGINE", "RAW_PUSHED", "local_only_reason", "normalise_on_engine",
           "note_local", "push_normalised", "push_raw", "stage_on_engine"]

