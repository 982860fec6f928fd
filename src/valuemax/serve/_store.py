"""The store as the service sees it: an in-memory snapshot of one run, reloaded on change.

DuckDB lets one process open a database file read-write, or any number of processes open it
read-only, never both at once: a process that holds the file open (even read-only) keeps a
writer (``valuemax analyze --db``, ``valuemax update``) from opening it. So the service never
keeps the store open. :class:`StoreReader` opens it read-only only while it copies what the
endpoints need into memory (a :class:`Snapshot`), then closes it:

- one row per customer (``customers`` left-joined with ``segments``, the segment's action
  from ``segment_summary``, ``clv`` and ``propensity_scores``) as an Arrow table with a
  ``customer_id -> row`` index (ids compared as text, exactly as stored: ``"00004"`` is not
  ``"4"``);
- the recommendations (``customer_id``, ``rank``, ``item``, ``score``, ``source``);
- the segment table, the run (``runs``: the newest row) and the fitted value models rebuilt
  from ``clv_params`` with ``from_params``.

Every request looks at the store file's (and its ``.wal``'s) size, modification time and
inode; when they changed, a background thread loads a new snapshot while requests go on with
the old one, and swaps it in when complete. While a writer holds the file, the read-only open
fails; the old snapshot stays, ``/health`` says a reload is pending and why, and the reload is
retried (every ``retry_seconds``) until the writer has finished.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from valuemax import __version__
from valuemax._core.exceptions import InputError
from valuemax._core.runs import newest_caveats, of_log
from valuemax.clv import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel, ParetoNBDModel

_DUCKDB_MAGIC = b"DUCK"

#: Tables without which a file is not a valuemax store the service can answer from.
REQUIRED_TABLES: tuple[str, ...] = ("customers", "runs")

#: Purchase models as named in ``clv_params.model`` -> their estimator class.
PURCHASE_MODELS: dict[str, Any] = {
    "BG/NBD": BetaGeoModel, "MBG/NBD": ModifiedBetaGeoModel, "Pareto/NBD": ParetoNBDModel,
}
SPEND_MODEL = "Gamma-Gamma"

#: Tables joined into one row per customer, with the prefix their columns get.
_JOINED = (("segments", "s"), ("clv", "v"), ("propensity_scores", "p"))


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What the endpoints read: one run of the store, held in memory.

    Attributes
    ----------
    path : str
        The store file.
    run : dict
        The newest ``runs`` row: ``run_id``, ``finished_at``, ``valuemax_version``,
        ``version_warning`` (:func:`version_warning`), ``pseudonymized`` and
        ``pseudonym_key_fingerprint`` (from the parameters) and the run's ``parameters`` (decoded JSON, merged over the older runs' so that an ``update``
        row that records only what it changed still leaves ``time_unit`` known), and
        ``caveats``: the newest recorded ``{"value": [warnings]}`` (shown in every value
        block).
    observation_end : datetime.date
        Inclusive end of observation of the newest run.
    time_unit : {"D", "W"}
        Unit of ``frequency/recency/T`` in ``customers``.
    tables : frozenset of str
        Tables present in the store.
    profiles : pyarrow.Table
        One row per customer, columns prefixed ``c.`` (customers), ``s.`` (segments),
        ``v.`` (clv), ``p.`` (propensity_scores), ``r.`` (where the customer's
        recommendations are); text columns with few distinct values dictionary-encoded.
    index : dict of str to int
        ``customer_id`` (text) -> row of ``profiles``.
    recommendations : pyarrow.Table or None
        ``rank, item, score, source`` sorted by customer and rank; a customer's block
        starts at row ``r.start`` of ``profiles`` and has ``r.n`` rows.
    actions : dict of str to str
        Segment name -> its recommended action (``segment_summary``).
    arrays : tuple of (str, pyarrow.Array)
        The columns of ``profiles``, each in one chunk (for row lookups).
    segments : list of dict
        ``segment_summary`` rows, largest segment first.
    purchase_model, spend_model : estimator or None
        The fitted models rebuilt from ``clv_params`` (None when absent).
    model_name : str or None
        ``"BG/NBD"``, ``"MBG/NBD"`` or ``"Pareto/NBD"``.
    value_horizon : int or None
        CLV horizon in months (from the ``clv`` columns ``expected_purchases_<H>``).
    churn_horizon : int or None
        Buy-again horizon in days (from ``propensity_scores.p_buy_<H>d``).
    discount_rate, margin : float
        The run's CLV options.
    missing : dict of str to str
        Why a part is absent from every answer (``value``, ``clv``, ``churn``,
        ``next_best_products``, ``segment``), in plain words.
    stamp : tuple
        The file state the snapshot was read from (see :func:`file_stamp`).
    loaded_at : datetime.datetime
        When the snapshot was read (UTC).
    first_day : datetime.date or None
        The store's first purchase day (earliest ``first_purchase``; None: no customers).
    """

    path: str
    run: dict[str, Any]
    observation_end: dt.date
    time_unit: str
    tables: frozenset[str]
    profiles: pa.Table
    index: dict[str, int]
    recommendations: pa.Table | None
    actions: dict[str, str | None]
    arrays: tuple[tuple[str, pa.Array], ...]
    segments: list[dict[str, Any]]
    purchase_model: Any
    spend_model: Any
    model_name: str | None
    value_horizon: int | None
    churn_horizon: int | None
    discount_rate: float
    margin: float
    missing: dict[str, str]
    stamp: tuple
    loaded_at: dt.datetime
    first_day: dt.date | None = None

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        """The customer's joined row as ``{prefixed column: value}``, or None when unknown."""
        row = self.index.get(customer_id)
        if row is None:
            return None
        # one scalar per column: about 4x quicker than a one-row slice's to_pylist
        return {name: array[row].as_py() for name, array in self.arrays}

    def products(self, profile: dict[str, Any]) -> list[dict[str, Any]]:
        """The recommendations of a customer (its :meth:`profile`), best first; empty when
        there are none."""
        start, n = profile.get("r.start"), profile.get("r.n")
        if self.recommendations is None or start is None or not n:
            return []
        return self.recommendations.slice(start, n).to_pylist()


def file_stamp(path: Path) -> tuple:
    """(size, mtime_ns, inode) of the store file and of its ``.wal`` (None when absent).

    A writer that commits changes at least one of them: the WAL grows, a checkpoint rewrites
    the file, a new store swapped in has another inode.
    """
    out = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            st = p.stat()
        except FileNotFoundError:
            out.append(None)
        else:
            out.append((st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(out)


def check_store_file(path: Path) -> None:
    """Raise InputError unless ``path`` is an existing DuckDB file (read, never written)."""
    if not path.exists():
        raise InputError(f"--db {str(path)!r} does not exist; write a store first with "
                         f"valuemax analyze LOG --db {path}")
    if path.is_dir():
        raise InputError(f"--db {str(path)!r} is a folder; give the store file, e.g. "
                         f"{str(path / 'valuemax.duckdb')!r}")
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
    except OSError as exc:
        raise InputError(f"--db {str(path)!r} cannot be read ({exc.strerror})") from None
    if head[8:12] != _DUCKDB_MAGIC:
        raise InputError(f"--db {str(path)!r} is not a DuckDB database; give a store written "
                         "by valuemax analyze --db")


def _open(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=True,
                          config={"autoinstall_known_extensions": False,
                                  "autoload_known_extensions": False})


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _runs(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, Any], dict[str, Any]]:
    """The newest run and the parameters merged from the oldest to the newest run."""
    cols = _columns(con, "runs")
    order = "finished_at" if "finished_at" in cols else "rowid"
    rows = con.execute(f"SELECT * FROM runs ORDER BY {order}").fetchall()
    if not rows:
        raise InputError("the store's runs table is empty: no run was recorded; write the "
                         "store with valuemax analyze LOG --db STORE")
    # the runs of the log (analyze, update): a campaign's target, experiment or uplift run
    # written to the store (--db) scored nobody, so it is neither the served run nor a
    # source of its parameters (review: /health served an experiment's run_id)
    n_runs, rows = len(rows), [r for r in rows if _of_log(cols, r)] or rows
    params: dict[str, Any] = {}
    for row in rows:
        rec = dict(zip(cols, row, strict=True))
        try:
            params.update(json.loads(rec.get("parameters") or "{}"))
        except (TypeError, ValueError):
            raise InputError(f"run {rec.get('run_id')} of the store has unreadable parameters "
                             "(not JSON); the store is damaged: write it again with valuemax "
                             "analyze LOG --db STORE") from None
    newest = dict(zip(cols, rows[-1], strict=True))
    run = {"run_id": str(newest.get("run_id")),
           "finished_at": newest.get("finished_at"),
           "valuemax_version": newest.get("valuemax_version"),
           "n_runs": n_runs, "caveats": _caveats(cols, rows),
           "pseudonymized": bool(params.get("pseudonymize")),
           "pseudonym_key_fingerprint": params.get("pseudonym_key_fingerprint"),
           "version_warning": version_warning(newest.get("valuemax_version"))}
    return run, params


def version_warning(store_version: Any) -> str | None:
    """A warning when the store's newest run was written by another minor version of
    valuemax than this one (the tables may mean something else; ``valuemax update``
    refuses such a store), else None."""
    if not store_version:
        return ("the store does not record which valuemax version wrote it; its tables may "
                f"not match valuemax {__version__}: rebuild it with valuemax analyze LOG "
                "--db STORE")
    have = str(store_version).split(".")[:2]
    if have == __version__.split(".")[:2]:
        return None
    return (f"the store was written by valuemax {store_version}, this service is valuemax "
            f"{__version__} (another minor version: the tables and options may mean "
            "something else, and valuemax update refuses the store); rebuild it with "
            "valuemax analyze LOG --db STORE")


def _of_log(cols: list[str], row: tuple) -> bool:
    """Whether a ``runs`` row is a run of the log (:func:`~valuemax._core.runs.of_log`;
    every row of a store written before the ``ingest`` column is)."""
    return "ingest" not in cols or of_log(row[cols.index("ingest")])


def _caveats(cols: list[str], rows: list[tuple]) -> dict[str, list[str]]:
    """The ``caveats`` of the newest run of the log that recorded them (an update records
    its own for what it changed; a row of an update of an earlier version recorded none and
    is skipped; a campaign's target or experiment run written to the store has no reading
    options and is skipped): ``{"value": [...], "propensity": [...]}``, or {} for a store
    written before the column existed."""
    if "caveats" not in cols:
        return {}
    at = cols.index("caveats")
    ingest = cols.index("ingest") if "ingest" in cols else None
    return newest_caveats((row[at], None if ingest is None else row[ingest])
                          for row in reversed(rows))


def _item_name(tables: frozenset[str], cols: dict[str, list[str]]) -> str:
    """SQL for a recommendation's product name: the first name (in sort order) its code has
    in the clean log, as the report's cross-sell tables name it (NULL without names)."""
    have = cols.get("transactions_clean", []) if "transactions_clean" in tables else []
    if not {"product_id", "product_name"} <= set(have):
        return "CAST(NULL AS VARCHAR)"
    return ("(SELECT min(CAST(t.product_name AS VARCHAR)) FROM transactions_clean t WHERE "
            "CAST(t.product_id AS VARCHAR) = CAST(recommendations.item AS VARCHAR))")


def _horizon(columns: list[str], pattern: str) -> int | None:
    for col in columns:
        m = re.fullmatch(pattern, col)
        if m:
            return int(m.group(1))
    return None


def _models(con, tables, time_unit: str):
    """Rebuild the purchase and spend models from ``clv_params`` (None, None when absent)."""
    if "clv_params" not in tables:
        return None, None, None
    rows = con.execute("SELECT model, parameter, estimate FROM clv_params").fetchall()
    by_model: dict[str, dict[str, float]] = {}
    for model, name, value in rows:
        by_model.setdefault(str(model), {})[str(name)] = float(value)
    purchase = name = spend = None
    for model, cls in PURCHASE_MODELS.items():
        if model in by_model:
            purchase = cls.from_params(**by_model[model], time_unit=time_unit)
            name = model
            break
    if SPEND_MODEL in by_model:
        spend = GammaGammaModel.from_params(**by_model[SPEND_MODEL])
    return purchase, spend, name


def _missing(tables, params, run_id, value_horizon, spend) -> dict[str, str]:
    """Plain-words reasons for the parts absent from the store."""
    out: dict[str, str] = {}
    in_run = f"in run {run_id}"
    if "clv" not in tables:
        out["value"] = ("customer value was turned off (--no-clv, clv=False) " + in_run
                        if params.get("clv") is False else
                        "the customer-value step was skipped " + in_run + " (too few repeat "
                        "buyers or no model converged; that run's summary.json says why)")
    elif value_horizon is None or spend is None:
        out["clv"] = ("Gamma-Gamma and CLV were not computed " + in_run + ": the log has no "
                      "prices or too few repeat buyers with positive spend; P(alive) and "
                      "expected purchases are given")
    if "propensity_scores" not in tables:
        out["churn"] = ("the buy-again model was turned off (--no-propensity, propensity=False) "
                        + in_run
                        if params.get("propensity") is False else
                        "the buy-again (churn) step was skipped " + in_run + " (it needs a "
                        "log spanning two horizons; that run's summary.json says why)")
    if "recommendations" not in tables:
        out["next_best_products"] = ("no recommendations " + in_run + ": the basket step was "
                                     "skipped (e.g. the log has no product column) or found "
                                     "no rules")
    if "segments" not in tables:
        out["segment"] = "the store has no segments table " + in_run
    return out


def _compact(table: pa.Table) -> pa.Table:
    """Dictionary-encode text columns with few distinct values (segment names, cluster
    names, churn risk): one copy of each text instead of one per customer."""
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if name != "customer_id" and pa.types.is_string(col.type) and len(col) > 0 \
                and pc.count_distinct(col).as_py() <= len(col) // 10:
            table = table.set_column(i, name, col.dictionary_encode())
    return table


def load_snapshot(path: Path) -> Snapshot:
    """Read one run of the store at ``path`` into memory (the file is closed on return).

    Parameters
    ----------
    path : pathlib.Path
        A DuckDB store written by ``valuemax analyze --db``.

    Returns
    -------
    Snapshot

    Raises
    ------
    InputError
        If the file is not a DuckDB store, lacks ``customers`` or ``runs``, or holds a
        customer id twice.
    duckdb.IOException
        If another process holds the file open for writing (the caller retries).
    """
    stamp = file_stamp(path)
    con = _open(path)
    try:
        tables = frozenset(r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall())
        absent = [t for t in REQUIRED_TABLES if t not in tables]
        if absent:
            raise InputError(f"--db {str(path)!r} is not a valuemax store: no table "
                             f"{', '.join(absent)} (found: {', '.join(sorted(tables)) or 'none'}"
                             "); write one with valuemax analyze LOG --db STORE")
        run, params = _runs(con)
        time_unit = str(params.get("time_unit", "D"))
        obs = params.get("observation_end")
        if obs is None:
            obs = con.execute("SELECT max(last_purchase) FROM customers").fetchone()[0]
        observation_end = dt.date.fromisoformat(str(obs)[:10])
        cols = {t: _columns(con, t) for t in tables}
        select = ["CAST(c.customer_id AS VARCHAR) AS customer_id"]
        select += [f"c.{_quote(col)} AS {_quote('c.' + col)}" for col in cols["customers"]
                   if col != "customer_id"]
        joins = []
        for table, alias in _JOINED:
            if table not in tables:
                continue
            select += [f"{alias}.{_quote(col)} AS {_quote(alias + '.' + col)}"
                       for col in cols[table] if col != "customer_id"]
            joins.append(f"LEFT JOIN {_quote(table)} {alias} ON CAST({alias}.customer_id AS "
                         "VARCHAR) = CAST(c.customer_id AS VARCHAR)")
        recs = None
        if "recommendations" in tables:
            # one block per customer, best first; the block's first row and length join the
            # customer's row ("r.start", "r.n"), so no second index by id is needed
            key = "CAST(customer_id AS VARCHAR)"
            recs = con.sql(f"SELECT rank, item, {_item_name(tables, cols)} AS name, score, "
                           f"source FROM recommendations ORDER BY {key}, rank").to_arrow_table()
            joins.append(
                f"LEFT JOIN (SELECT cid, min(rn) AS start, count(*) AS n FROM (SELECT {key} AS "
                f"cid, row_number() OVER (ORDER BY {key}, rank) - 1 AS rn FROM "
                "recommendations) GROUP BY cid) r ON r.cid = CAST(c.customer_id AS VARCHAR)")
            select += ['r.start AS "r.start"', 'r.n AS "r.n"']
        sql = f"SELECT {', '.join(select)} FROM customers c {' '.join(joins)}"
        # one chunk per column: rows are looked up in these arrays, without a second copy
        profiles = _compact(con.sql(sql).to_arrow_table()).combine_chunks()
        ids = profiles.column("customer_id").to_pylist()
        index = dict(zip(ids, range(len(ids)), strict=True))
        if len(index) != len(ids):
            n_dup = len(ids) - len(index)
            raise InputError(f"--db {str(path)!r}: {n_dup:,} customer ids appear more than once "
                             "in customers (or in a table joined to it); a store holds one row "
                             "per customer. Rewrite it with valuemax analyze LOG --db STORE")
        segments = []
        if "segment_summary" in tables:
            frame = con.sql("SELECT * FROM segment_summary ORDER BY n_customers DESC, "
                            "segment").to_arrow_table()
            segments = frame.to_pylist()
        purchase, spend, model_name = _models(con, tables, time_unit)
    finally:
        con.close()
    value_horizon = _horizon(cols.get("clv", []), r"clv_(\d+)")
    if value_horizon is None:
        value_horizon = _horizon(cols.get("clv", []), r"expected_purchases_(\d+)")
    churn_horizon = _horizon(cols.get("propensity_scores", []), r"p_buy_(\d+)d")
    return Snapshot(
        path=str(path), run=run, observation_end=observation_end, time_unit=time_unit,
        tables=tables, profiles=profiles, index=index, recommendations=recs,
        actions={str(r.get("segment")): r.get("action") for r in segments},
        arrays=tuple((name, col.chunk(0) if col.num_chunks == 1 else col.combine_chunks())
                     for name, col in zip(profiles.column_names, profiles.columns, strict=True)),
        segments=segments, purchase_model=purchase, spend_model=spend,
        model_name=model_name, value_horizon=value_horizon, churn_horizon=churn_horizon,
        discount_rate=float(params.get("discount_rate", 0.01)),
        margin=float(params.get("margin", 1.0)),
        missing=_missing(tables, params, run["run_id"], value_horizon, spend),
        stamp=stamp, loaded_at=dt.datetime.now(dt.UTC), first_day=_first_day(profiles),
    )


def _first_day(profiles: Any) -> dt.date | None:
    """The store's first purchase day (the earliest ``first_purchase``), None if unknown."""
    import pyarrow.compute as pc

    if "c.first_purchase" not in profiles.column_names or not profiles.num_rows:
        return None
    got = pc.min(profiles.column("c.first_purchase")).as_py()
    return got.date() if isinstance(got, dt.datetime) else got


class StoreReader:
    """The current :class:`Snapshot` of a store, reloaded in the background when it changes.

    Parameters
    ----------
    path : str or pathlib.Path
        The store file.
    retry_seconds : float, default 1.0
        Least time between two reload attempts while a writer holds the file.

    Raises
    ------
    InputError
        At construction, if the store cannot be read (see :func:`load_snapshot`), or another
        process holds it open for writing.
    """

    def __init__(self, path: str | Path, *, retry_seconds: float = 1.0) -> None:
        self.path = Path(path)
        self.retry_seconds = float(retry_seconds)
        check_store_file(self.path)
        try:
            self._snapshot = load_snapshot(self.path)
        except duckdb.IOException as exc:
            raise InputError(f"--db {str(self.path)!r} cannot be opened read-only: {exc}. "
                             "Another process holds it open for writing; start the service "
                             "when that run has finished") from None
        self._lock = threading.Lock()
        self._loading = False
        self._last_try = 0.0
        self._unreadable: tuple | None = None  # a file state that failed for good
        self.reload_error: str | None = None

    @property
    def pending(self) -> bool:
        """True when the file changed and the new run is not loaded yet."""
        return file_stamp(self.path) != self._snapshot.stamp

    def current(self) -> Snapshot:
        """The newest loaded snapshot; starts a background reload when the file changed."""
        snap = self._snapshot
        stamp = file_stamp(self.path)
        if stamp != snap.stamp and stamp != self._unreadable:
            self._maybe_reload()
        return snap

    def _maybe_reload(self) -> None:
        with self._lock:
            now = time.monotonic()
            if self._loading or now - self._last_try < self.retry_seconds:
                return
            self._loading, self._last_try = True, now
        threading.Thread(target=self._reload, name="valuemax-serve-reload", daemon=True).start()

    def _reload(self) -> None:
        stamp = file_stamp(self.path)
        try:
            self._snapshot = load_snapshot(self.path)
            self.reload_error = None
        except duckdb.IOException as exc:
            # a writer holds the file (DuckDB allows no reader beside it): keep answering
            # from the loaded run, say why in /health, retry after retry_seconds
            self.reload_error = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        except (duckdb.Error, InputError, OSError, ValueError) as exc:
            # the new file is no readable store: keep the loaded run, and do not try this
            # file state again (a store is loaded whole, so retrying it costs a full read)
            self._unreadable = stamp
            self.reload_error = (f"{type(exc).__name__}: {str(exc).splitlines()[0]} (the "
                                 "loaded run is served until the store is written again)")
        finally:
            with self._lock:
                self._loading = False
                self._last_try = time.monotonic()

