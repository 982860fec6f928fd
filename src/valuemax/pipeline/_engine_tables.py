"""Run-scoped working tables on another engine, and the atomic publication of the results.

Two ``analyze(engine=...)`` runs in one schema must not meet: every table a run writes on
the engine while it works carries its run id, ``valuemax_tmp_<tag>_<name>`` (``tag``: the
first 12 hex digits of the run's ``run_id``, the id of its ``runs`` row in the store and of
its ``valuemax_runs`` row in the engine), e.g. ``valuemax_tmp_3f2a9c01be47_customers``.

When the run has succeeded its result tables replace the documented ones
(``valuemax_transactions_raw``, ``valuemax_transactions_clean``, ``valuemax_quarantine``,
``valuemax_customers``, ``valuemax_calibration_holdout``: :data:`RESULTS`) in one step
(:func:`publish_results`), and its row is appended to ``valuemax_runs``, both under a lock
per schema, so that concurrent runs publish one after the other and a reader sees one run's
whole set of tables, never a mix:

- PostgreSQL: ``DROP TABLE`` + ``ALTER TABLE ... RENAME`` of every table in one transaction,
  under the session advisory lock ``pg_advisory_lock(hashtext('valuemax_publish:<schema>'))``;
- MySQL/MariaDB: one ``RENAME TABLE old TO parked, new TO old, ...`` statement (atomic
  there), under ``GET_LOCK('valuemax_pub_<hash of the database>')``; the parked tables are
  dropped after;
- DuckDB: ``DROP`` + ``ALTER TABLE ... RENAME`` in one transaction;
- Spark: table by table (``ALTER TABLE/VIEW ... RENAME TO``), under a lock of the driver
  process: Spark's catalog has no multi-table transaction, so the old tables are parked
  under the run's names first and put back if a rename fails (a failed publication leaves
  the previous set); a reader of the schema may briefly miss a table while a run publishes
  (the tables themselves are whole).

A result table the run did not produce (``valuemax_calibration_holdout`` without
``calibration_end``) is dropped in the same step, so the set stays one run's.

Whatever happens (an error, Ctrl-C), :func:`drop_run_tables` drops the run's
``valuemax_tmp_<tag>_*`` tables at its end. A run killed outright (SIGKILL, a lost machine)
leaves them: :func:`drop_leftover_tables` drops those of runs no longer going on. A run
holds a server lock for its whole life (PostgreSQL ``pg_advisory_lock(<tag as a number>)``,
MySQL/MariaDB ``GET_LOCK('valuemax_run_<tag>')``), released by the server when its connection
ends, so the clean-up never touches the tables of a live run there (each run there does it
for its schema as it starts, :func:`sweep_on_server`); DuckDB files and Spark have no such
lock (only the runs of the calling process are known to be alive): run it there
when no other process is running ``analyze`` on that schema.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.pipeline._engine import drop_engine_tables, open_engine

log = logging.getLogger("valuemax")

#: The prefix of every working table of a run on an engine.
TMP_PREFIX = "valuemax_tmp_"
#: The run's tables published under ``valuemax_<name>`` when it succeeds.
RESULTS = ("transactions_raw", "transactions_clean", "quarantine", "customers",
           "calibration_holdout")
#: A working table's name: the run's tag, then what it holds.
TMP_NAME = re.compile(r"valuemax_tmp_([0-9a-f]{12})_\w+")
#: The tags of the runs going on in this process.
_LIVE: set[str] = set()
#: Publications of this process, one at a time (Spark and DuckDB have no server lock).
_PUBLISH = threading.Lock()
#: Seconds a run waits for another run's publication in the same schema (MySQL/MariaDB).
PUBLISH_WAIT_S = 600


@dataclass(frozen=True)
class RunTables:
    """The engine table names of one run (``run_id``: 32 hex digits, the run's id)."""

    run_id: str

    @classmethod
    def new(cls) -> RunTables:
        """Names for a new run (a fresh random ``run_id``)."""
        return cls(uuid.uuid4().hex)

    @property
    def tag(self) -> str:
        """The run id's first 12 hex digits, in every working table's name."""
        return self.run_id[:12]

    @property
    def prefix(self) -> str:
        """``valuemax_tmp_<tag>_``: every working table of the run starts with it."""
        return f"{TMP_PREFIX}{self.tag}_"

    def work(self, name: str) -> str:
        """The run's working table ``name``: ``valuemax_tmp_<tag>_<name>``."""
        return self.prefix + name

    @staticmethod
    def result(name: str) -> str:
        """The published table ``name``: ``valuemax_<name>``."""
        return f"valuemax_{name}"


def _kind(econ: Any) -> str:
    return getattr(econ, "name", "")


def _quoted(econ: Any, name: str, schema: str | None) -> str:
    q = "`" if _kind(econ) in ("mysql", "pyspark") else '"'

    def one(x: str) -> str:
        return q + x.replace(q, q * 2) + q
    return one(name) if schema is None else f"{one(schema)}.{one(name)}"


def _scalar(econ: Any, sql: str, params: tuple = ()) -> Any:
    """The first value of ``sql`` run on a server's own connection (PostgreSQL, MySQL)."""
    cursor = econ.con.cursor()
    try:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else row[0]


def _run_lock(tables: RunTables) -> str:
    return f"valuemax_run_{tables.tag}"


def hold_run(econ: Any, tables: RunTables) -> None:
    """Mark the run as alive until :func:`release_run`: in this process, and on a server with
    a lock of its session (PostgreSQL advisory lock, MySQL/MariaDB ``GET_LOCK``), which the
    server releases by itself when the connection ends."""
    _LIVE.add(tables.tag)
    kind = _kind(econ)
    if kind == "postgres":
        _scalar(econ, "SELECT pg_advisory_lock(%s)", (int(tables.tag, 16),))
    elif kind == "mysql":
        _scalar(econ, "SELECT GET_LOCK(%s, 0)", (_run_lock(tables),))


def release_run(econ: Any, tables: RunTables) -> None:
    """Undo :func:`hold_run` (errors ignored: the connection may be gone)."""
    _LIVE.discard(tables.tag)
    kind = _kind(econ)
    with contextlib.suppress(Exception):  # the drivers' own error classes
        if kind == "postgres":
            _scalar(econ, "SELECT pg_advisory_unlock(%s)", (int(tables.tag, 16),))
        elif kind == "mysql":
            _scalar(econ, "SELECT RELEASE_LOCK(%s)", (_run_lock(tables),))


def _alive(econ: Any, tag: str) -> bool:
    """Whether the run ``tag`` is going on: in this process, or (servers) holding its lock."""
    if tag in _LIVE:
        return True
    kind = _kind(econ)
    if kind == "postgres":
        return bool(_scalar(econ, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                  "AND granted AND ((classid::bigint << 32) | objid::bigint) "
                                  "= %s AND objsubid = 1", (int(tag, 16),)))
    if kind == "mysql":
        return _scalar(econ, "SELECT IS_USED_LOCK(%s)", (f"valuemax_run_{tag}",)) is not None
    return False


def _listed(econ: Any, schema: str | None) -> list[str]:
    return list(econ.list_tables() if schema is None else econ.list_tables(database=schema))


def drop_run_tables(econ: Any, tables: RunTables, schema: str | None = None) -> list[str]:
    """Drop every working table of the run (``valuemax_tmp_<tag>_*``) in ``schema`` (default
    the connection's; Spark: also the session's temporary views); returns their names.
    Errors are ignored: clean-up only, the run's result does not depend on it."""
    try:
        names = [n for n in _listed(econ, schema) if n.startswith(tables.prefix)]
    except Exception:  # the drivers' own error classes: a lost connection
        return []
    drop_engine_tables(econ, tuple(names), schema)
    if schema is not None and _kind(econ) == "pyspark":  # views of the session too
        drop_run_tables(econ, tables, None)
    return names


@contextlib.contextmanager
def _publish_lock(econ: Any, schema: str | None) -> Iterator[None]:
    """One publication at a time per schema: in this process, and across processes on a
    server (PostgreSQL: a session advisory lock; MySQL/MariaDB: ``GET_LOCK``)."""
    kind = _kind(econ)
    with _PUBLISH:
        if kind == "postgres":
            where = schema or _scalar(econ, "SELECT current_schema()")
            _scalar(econ, "SELECT pg_advisory_lock(hashtext(%s))", (f"valuemax_publish:{where}",))
            unlock = ("SELECT pg_advisory_unlock(hashtext(%s))", (f"valuemax_publish:{where}",))
        elif kind == "mysql":
            where = schema or _scalar(econ, "SELECT DATABASE()") or ""
            name = "valuemax_pub_" + hashlib.sha256(where.encode()).hexdigest()[:24]
            if _scalar(econ, "SELECT GET_LOCK(%s, %s)", (name, PUBLISH_WAIT_S)) != 1:
                raise InputError(
                    f"another valuemax run kept the result tables of database {where!r} "
                    f"locked for {PUBLISH_WAIT_S} s; this run's tables are dropped: run it "
                    f"again, or give it its own schema= (CLI --schema)")
            unlock = ("SELECT RELEASE_LOCK(%s)", (name,))
        else:
            unlock = None
        try:
            yield
        finally:
            if unlock is not None:
                with contextlib.suppress(Exception):  # the connection may be gone
                    _scalar(econ, *unlock)


def publish_results(econ: Any, tables: RunTables, schema: str | None,
                    record: Any = None) -> None:
    """Put the run's result tables in place of the ``valuemax_*`` ones, then call ``record``
    (the append of the run's ``valuemax_runs`` row), both under the schema's publication
    lock (see the module's docstring for each engine's swap).

    Parameters
    ----------
    econ : ibis backend
    tables : RunTables
        The run's names; its working tables ``valuemax_tmp_<tag>_<name>`` for ``name`` in
        :data:`RESULTS` that exist become ``valuemax_<name>``; the others' ``valuemax_<name>``
        are dropped.
    schema : str or None
    record : callable, optional
        Called with no argument once the tables are in place, still under the lock.
    """
    with _publish_lock(econ, schema):
        listed = set(_listed(econ, schema))
        if _kind(econ) == "pyspark" and schema is not None:
            listed |= set(_listed(econ, None))  # Spark lists its temporary views apart
        moves = [(tables.work(n), RunTables.result(n)) for n in RESULTS
                 if tables.work(n) in listed]
        stale = [RunTables.result(n) for n in RESULTS if tables.work(n) not in listed
                 and RunTables.result(n) in listed]
        _SWAPS.get(_kind(econ), _swap_each)(econ, tables, schema, moves, stale, listed)
        if record is not None:
            record()


def _swap_postgres(econ, tables, schema, moves, stale, listed) -> None:
    con = econ.con
    with con.transaction(), con.cursor() as cursor:
        for _, final in moves:
            cursor.execute(f"DROP TABLE IF EXISTS {_quoted(econ, final, schema)}")
        for name in stale:
            cursor.execute(f"DROP TABLE IF EXISTS {_quoted(econ, name, schema)}")
        for work, final in moves:
            cursor.execute(f"ALTER TABLE {_quoted(econ, work, schema)} RENAME TO "
                           f"{_quoted(econ, final, None)}")


def _swap_mysql(econ, tables, schema, moves, stale, listed) -> None:
    parked = [(final, tables.work("old_" + final.removeprefix("valuemax_")))
              for _, final in moves if final in listed]
    parked += [(name, tables.work("old_" + name.removeprefix("valuemax_"))) for name in stale]
    pairs = parked + moves
    if pairs:
        econ.raw_sql("RENAME TABLE " + ", ".join(
            f"{_quoted(econ, a, schema)} TO {_quoted(econ, b, schema)}"
            for a, b in pairs)).close()
    drop_engine_tables(econ, tuple(b for _, b in parked), schema)


def _swap_duckdb(econ, tables, schema, moves, stale, listed) -> None:
    raw = econ.con
    raw.execute("BEGIN TRANSACTION")
    try:
        for name in [final for _, final in moves] + stale:
            raw.execute(f"DROP TABLE IF EXISTS {_quoted(econ, name, schema)}")
        for work, final in moves:
            raw.execute(f"ALTER TABLE {_quoted(econ, work, schema)} RENAME TO "
                        f"{_quoted(econ, final, None)}")
        raw.execute("COMMIT")
    except BaseException:
        raw.execute("ROLLBACK")
        raise


def _swap_each(econ, tables, schema, moves, stale, listed) -> None:
    """Other engines: each table dropped then renamed (in the connection's default schema)."""
    drop_engine_tables(econ, tuple(final for _, final in moves) + tuple(stale), schema)
    for work, final in moves:
        econ.rename_table(work, final)  # ibis: in the connection's default schema


def _swap_spark(econ, tables, schema, moves, stale, listed) -> None:
    """Spark: its catalog has no multi-table transaction, so the swap is made undoable. The
    published tables (temporary views of the session without ``schema``, cached data kept
    with them) are first parked (``valuemax_old_<tag>_<name>``: not a working table's name,
    so no clean-up drops them while they hold the previous results), then the run's
    tables renamed into place, then the parked ones dropped. A rename that fails undoes
    those done before it, in reverse order, and the error is raised: the previous results
    stay published whole (should an undo fail too, the error log names where each table
    is). A reader of the schema may still miss a table for the instant between its park
    and its replacement."""
    present = listed if schema is None else set(_listed(econ, schema))
    parked = [(final, f"valuemax_old_{tables.tag}_{final.removeprefix('valuemax_')}")
              for final in [f for _, f in moves] + list(stale) if final in present]
    done: list[tuple[str, str]] = []
    try:
        for old, new in parked + moves:
            _spark_rename(econ, old, new, schema)
            done.append((old, new))
    except BaseException:
        for old, new in reversed(done):
            try:
                _spark_rename(econ, new, old, schema)
            except Exception:  # the engine is failing: say which table is where
                log.error("valuemax: could not move %s back to %s on Spark after a failed "
                          "publication", new, old)
        raise
    drop_engine_tables(econ, tuple(name for _, name in parked), schema)


def _spark_rename(econ: Any, old: str, new: str, schema: str | None) -> None:
    """``ALTER VIEW`` (a temporary view of the session) or ``ALTER TABLE`` (in ``schema``)
    ``old RENAME TO new``."""
    kind = "VIEW" if schema is None else "TABLE"
    econ._session.sql(f"ALTER {kind} {_quoted(econ, old, schema)} RENAME TO "
                      f"{_quoted(econ, new, schema)}")


_SWAPS = {"postgres": _swap_postgres, "mysql": _swap_mysql, "duckdb": _swap_duckdb,
          "pyspark": _swap_spark}


def drop_leftover_tables(engine: Any, schema: str | None = None) -> list[str]:
    """Drop the working tables left by ``analyze`` runs that ended without cleaning up
    (killed, a lost machine), in ``schema`` (default the connection's) of ``engine``.

    A working table is named ``valuemax_tmp_<tag>_<name>`` (``tag``: the first 12 hex digits
    of the run's id). The tables of a run still going on are kept: on PostgreSQL and
    MySQL/MariaDB a live run holds a server lock named after its tag (released by the server
    when its connection ends); on DuckDB files and Spark only the runs of the calling process
    are known, so call it there when no other process runs ``analyze`` on that schema.

    Parameters
    ----------
    engine : URL, Ibis backend or SparkSession
        As ``analyze(engine=)``: ``postgres://...``, ``mysql://...``, ``"spark"``, a live
        backend.
    schema : str, optional
        The schema (PostgreSQL), database (MySQL/MariaDB, Spark) the runs wrote to.

    Returns
    -------
    list of str
        The tables dropped, sorted.

    Raises
    ------
    InputError
        An unreachable server, a refused login, an unknown engine name.

    Examples
    --------
    >>> from valuemax.pipeline import drop_leftover_tables
    >>> drop_leftover_tables("postgres://me@db:5432/sales", schema="valuemax")  # doctest: +SKIP
    ['valuemax_tmp_3f2a9c01be47_transactions_raw', ...]
    """
    opened = open_engine(engine)
    if opened is None:
        return []  # the local store has no working tables: they are its own temp tables
    econ = opened[0]
    try:
        return drop_dead_runs(econ, schema)
    finally:
        if isinstance(engine, str) and "://" in engine:
            econ.disconnect()


def drop_dead_runs(econ: Any, schema: str | None) -> list[str]:
    """Drop the ``valuemax_tmp_<tag>_*`` tables of ``schema`` whose run is not alive (see
    :func:`drop_leftover_tables`); returns their names, sorted."""
    found = sorted(n for n in _listed(econ, schema) if TMP_NAME.fullmatch(n))
    dead = {t for t in {TMP_NAME.fullmatch(n).group(1) for n in found} if not _alive(econ, t)}
    dropped = [n for n in found if TMP_NAME.fullmatch(n).group(1) in dead]
    drop_engine_tables(econ, tuple(dropped), schema)
    return dropped


def sweep_on_server(econ: Any, schema: str | None) -> list[str]:
    """At a run's start on PostgreSQL or MySQL/MariaDB (where a live run's lock tells it
    apart), drop the working tables killed runs left in ``schema``; logged. Other engines:
    nothing (:func:`drop_leftover_tables` is called by hand there). Errors are ignored."""
    if _kind(econ) not in ("postgres", "mysql"):
        return []
    try:
        dropped = drop_dead_runs(econ, schema)
    except Exception:  # the drivers' own error classes: clean-up only
        return []
    if dropped:
        log.info("valuemax: dropped %d working table(s) left by killed runs: %s",
                 len(dropped), ", ".join(dropped))
    return dropped


__all__ = ["RESULTS", "TMP_PREFIX", "RunTables", "drop_dead_runs", "drop_leftover_tables",
           "drop_run_tables", "hold_run", "publish_results", "release_run", "sweep_on_server"]
