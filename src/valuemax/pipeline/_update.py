"""``update()``: append new lines to a store, clean them like the stored log, move the
customers and the observation end, and re-score (or refit) — in one DuckDB transaction.

What happens, in order (nothing is written to the store before step 6):

1. The store's last run (``runs``) gives the version, the reading options and the cleaning
   options (``valuemax.pipeline._recorded``: a store of another minor version is refused).
2. The new file is read with those options. A file already applied (its SHA-256 is a run's
   ``input_sha256``), or whose every line is a copy of a stored line, changes nothing and
   says so (``applied=False``). Other columns, types or mapping than the stored log's are
   refused with the difference; so are late lines (dated on or before the stored observation
   end; ``valuemax.pipeline._incremental`` states the policy).
3. The new lines are cleaned together with the stored lines of their customers: duplicates
   and return netting see the stored lines, as in one analysis of the whole log.
4. Active customers are rebuilt from their lines; every other customer's observation-end
   columns move (``valuemax.pipeline._customer_update``).
5. The stored purchase model forecasts the known customers' purchases over the new period;
   the forecast error since the last fit says whether to refit (``DriftCheck``).
6. In one transaction: the raw, clean and quarantine tables, the outlier flags, the customer
   table and the quality counts are updated; segments are re-ranked and customers re-scored
   with the stored models (or every model step is rerun with ``refit=True``, giving the store
   ``analyze`` of the whole log writes); a ``runs`` row with ``kind = 'update'`` is added.
   Any failure, or a kill, before the commit leaves the store as it was.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from valuemax import __version__
from valuemax._core._csv import write_csv
from valuemax._core.exceptions import InputError
from valuemax._core.validation import check_date
from valuemax.engines import connect
from valuemax.io import protect, read_transactions
from valuemax.io._read import HeaderOnlyError
from valuemax.pipeline import _refit
from valuemax.pipeline._clock import StepClock
from valuemax.pipeline._customer_update import CUSTOMERS, new_purchase_days, update_customers
from valuemax.pipeline._incremental import (
    IDS,
    NEW_RAW,
    U_CLEAN,
    U_QUAR,
    UNION,
    all_copies,
    build_union,
    check_late,
    check_layout,
    check_none_after,
    check_nothing_held,
    clean_union,
    flags_outliers,
    new_observation_end,
    outlier_sql,
    outlier_stats,
)
from valuemax.pipeline._options import both_names
from valuemax.pipeline._prepare import country_column
from valuemax.pipeline._recorded import Recorded, check_store_file, read_recorded
from valuemax.pipeline._rescore import (
    DriftCheck,
    daily_dispersion,
    drift_check,
    load_models,
    rescore,
)
from valuemax.pipeline._store import (
    fill_run_kinds,
    package_versions,
    write_segments,
    write_table,
)
from valuemax.pipeline._update_caveats import last_caveats, update_caveats
from valuemax.pipeline._update_checks import (
    check_out_folder,
    open_refused,
    stale_exports_note,
)
from valuemax.pipeline._update_numbers import (
    ID_KINDS_KEY,
    TOKENS_KEY,
    as_the_store,
    check_stored_parse,
    union_plan,
)
from valuemax.pipeline._workspace import Workspace
from valuemax.privacy import PseudonymKey

#: Name of the attached store in the working connection.
CATALOG = "vm_store"
#: Files ``update`` may write into ``out``.
UPDATE_OUTPUTS: tuple[str, ...] = ("customers.parquet", "customers.csv", "update.json")
#: Working tables: the update's runs row, the updated clean log (refit only).
RUN_ROW = "_vm_upd_run"
CLEAN_ALL = "_vm_upd_clean_all"
#: Steps of an update, in order (names of ``timings_s``).
STEPS: tuple[str, ...] = ("read", "clean", "customers", "drift", "scores", "store")


@dataclass
class UpdateResult:
    """What :func:`update` returns.

    Attributes
    ----------
    store : Path
        The store updated.
    source : str
        The new lines' source.
    input_sha256 : str
        SHA-256 of the new file (of the Arrow stream for a table).
    applied : bool
        False when nothing changed (the file was applied before, or every line is a copy of
        a stored line); ``message`` says why.
    message : str
        One line: what the update did (or why nothing).
    mode : {"rescore", "refit"}
        Stored models applied, or every model step rerun.
    run_id : str or None
        The ``runs`` row added (None when nothing was applied).
    rows_in, rows_clean, rows_quarantined : int
        New lines read, kept and quarantined (``rows_in == rows_clean + rows_quarantined``).
    quarantined_by_reason : dict
        Reason code -> new lines quarantined with it.
    restated_lines : int
        Stored lines whose cleaning changed (a stored purchase netted by a new return).
    restated_by_reason : dict
        Those lines by kind of change (``"re_netted"``, ``"to_quarantine"``, ``"to_clean"``,
        ``"reason_changed"``), each a dict reason -> lines (``{"clean": n}`` for re-netted).
        The update's ``runs`` row counts the net move from the clean log to the quarantine
        in its ``rows_clean`` (minus) and ``rows_quarantined`` (plus), so that the rows of
        ``runs`` add up to the store's tables.
    observation_end_before, observation_end : datetime.date
        The stored and the updated observation end (inclusive).
    n_customers, n_new_customers, n_active_customers : int
        Customers after the update, first seen in the new lines, in the new lines (kept or
        quarantined: their rows are rebuilt).
    n_customers_with_clean_lines : int
        Customers with at least one new line kept in the clean log.
    drift : DriftCheck or None
        The stored purchase model's forecast of the new period against what happened
        (None without a stored purchase model).
    customers : pandas.DataFrame or None
        One row per customer after the update: the customer table, segments and scores.
    notes : list of str
        What was kept from the last fit (stale until a refit), skipped steps.
    timings_s : dict
        Seconds per step (:data:`STEPS`).
    """

    store: Path
    source: str
    input_sha256: str
    applied: bool
    message: str
    mode: str
    run_id: str | None = None
    rows_in: int = 0
    rows_clean: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    restated_lines: int = 0
    restated_by_reason: dict[str, dict[str, int]] = field(default_factory=dict)
    observation_end_before: dt.date | None = None
    observation_end: dt.date | None = None
    n_customers: int = 0
    n_new_customers: int = 0
    n_active_customers: int = 0
    n_customers_with_clean_lines: int = 0
    drift: DriftCheck | None = None
    customers: pd.DataFrame | None = field(default=None, repr=False)
    notes: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (without the customer table)."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "customers"}
        out["store"] = str(self.store)
        out["drift"] = None if self.drift is None else self.drift.to_dict()
        for k in ("observation_end_before", "observation_end"):
            out[k] = None if out[k] is None else out[k].isoformat()
        return out


def update(
    store: str | Path,
    source: Any,
    *,
    refit: bool = False,
    out: str | Path | None = None,
    observation_end: dt.date | str | None = None,
    pseudonym_key: Any = None,
    pseudonym_key_file: str | Path | None = None,
    on_step: Callable[[str], None] | None = None,
) -> UpdateResult:
    """Append new transaction lines to a store and re-score every customer.

    Parameters
    ----------
    store : path
        A DuckDB store written by ``valuemax analyze`` (``--db``, or ``valuemax.duckdb`` in
        its output folder), possibly updated since.
    source : path, DataFrame, Arrow table or ``(con, table)``
        The new lines, in the stored log's layout (same columns; read with the store's
        mapping, header, date formats, encoding and decimal mark).
    refit : bool, default False
        False: re-score with the stored models (no fit; clusters, propensity scores and
        rules are kept from the last fit and said to be so in ``notes``). True: rerun every
        model step with the store's options, as ``analyze`` of the whole log would.
    out : path, optional
        Also write ``customers.parquet``/``.csv`` and ``update.json`` there (replaced in one
        step, as ``analyze`` does). A folder holding another command's outputs (e.g.
        ``analyze``'s report) is refused. Without ``out``, a store inside ``analyze``'s
        folder gets a note that the folder's exports are now older than the store.
    observation_end : date or 'YYYY-MM-DD', optional
        The new observation end (inclusive); default the date of the last new line. Never
        before the stored one.
    pseudonym_key, pseudonym_key_file : optional
        For a store built with ``pseudonymize=True``: its key (else read from
        ``VALUEMAX_PSEUDONYM_KEY``); new ids get the same pseudonyms. A key whose fingerprint
        differs from the store's is refused. The personal-data columns the store's run
        dropped (or kept with ``keep_pii``) are dropped (kept) from the new lines alike.
    on_step : callable, optional
        Called with each step's name (:data:`STEPS`) as it starts.

    Returns
    -------
    UpdateResult
        ``applied=False`` (and the store untouched) when the file was applied before or
        holds only copies of stored lines.

    Raises
    ------
    InputError
        If the store is missing, not a valuemax store, written by another minor version,
        or the new lines have other columns, types or mapping than the stored log, lines
        dated on or before the stored observation end, or unreadable content, or the store
        was pseudonymised and the key is missing or another one. The store is unchanged.

    Notes
    -----
    Everything is written in one DuckDB transaction: an error or a kill before it commits
    leaves the store as it was. With ``refit=True`` the store equals ``analyze`` of the
    stored log followed by the new lines (same clean log, quarantine, customers, models and
    scores); without it the clean log, quarantine and customers are the same and the scores
    are the stored models' (``drift`` says when they have fallen behind).

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib, valuemax
    >>> from valuemax.pipeline import update
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> log = pd.DataFrame({"customer_id": ["a", "b", "a"],
    ...                     "order_date": ["2024-01-02", "2024-01-03", "2024-01-09"],
    ...                     "amount": [10.0, 5.0, 7.5]})
    >>> _ = valuemax.analyze(log, db=d / "s.duckdb", clv=False, propensity=False,
    ...                      clusters="none")
    >>> new = pd.DataFrame({"customer_id": ["b"], "order_date": ["2024-01-20"],
    ...                     "amount": [3.0]})
    >>> r = update(d / "s.duckdb", new)
    >>> r.observation_end.isoformat(), r.rows_clean, r.n_customers
    ('2024-01-20', 1, 2)
    >>> update(d / "s.duckdb", new).applied  # the same lines again: nothing changes
    False
    """
    store = Path(store)
    check_store_file(store)
    if not isinstance(refit, bool):
        raise InputError(f"refit={refit!r} must be True or False")
    # checked before anything else: a bad date is refused even when nothing would change
    observation_end = check_date("observation_end", observation_end,
                                 none="the date of the last new line")
    started = datetime.now()
    timings: dict[str, float] = {}
    clock = StepClock(timings, on_step)
    check_out_folder(out)
    ws = (Workspace(Path(out), None, outputs=UPDATE_OUTPUTS, job="update")
          if out is not None else None)
    con = connect(None)
    try:
        try:
            con.raw_sql(f"ATTACH '{_sql_str(store)}' AS {CATALOG}")
        except Exception as exc:  # locked by another writer, unreadable
            raise open_refused(store, exc) from exc
        rec = read_recorded(con, CATALOG, store)
        key = rec.pseudonym_key(pseudonym_key, pseudonym_key_file)
        result = _update(con, rec, store, source, refit=refit, end_given=observation_end,
                         clock=clock, started=started, key=key)
        con.raw_sql(f"DETACH {CATALOG}")  # the store is complete before any file is published
        if ws is not None and result.applied:
            _write_outputs(ws, result)
        elif result.applied and (stale := stale_exports_note(store)) is not None:
            result.notes.append(stale)
        return result
    except Exception as exc:
        if ws is not None and (full := ws.disk_full(exc)) is not None:
            raise full from exc
        raise
    finally:
        with contextlib.suppress(Exception):
            con.raw_sql(f"DETACH {CATALOG}")
        con.disconnect()
        if ws is not None:
            ws.discard()


def _update(con: Any, rec: Recorded, store: Path, source: Any, *, refit: bool,
            end_given: Any, clock: StepClock, started: datetime,
            key: PseudonymKey | None) -> UpdateResult:
    """Apply ``source`` to the attached store: read, clean the union, rebuild and re-score
    the customers, record the run (:func:`_read_step`, :func:`_clean_step`,
    :func:`_rebuilt`, :func:`_score_and_record`, :func:`_applied`)."""
    p = dict(rec.parameters)
    mode = "refit" if refit else "rescore"
    stored_end = dt.date.fromisoformat(str(p["observation_end"])[:10])
    read = _read_step(con, rec, store, source, key=key, mode=mode, stored_end=stored_end,
                      clock=clock)
    if isinstance(read, UpdateResult):
        return read
    new, base = read
    cleaned = _clean_step(con, rec, new, p, stored_end, end_given, base, clock)
    if isinstance(cleaned, UpdateResult):
        return cleaned
    new, carried, id_kinds, offset, n_stored, (end, cleaned, counts, restated, med, mad) = \
        cleaned
    money = rec.ingest.get("amount_from", "amount") != "none"
    country = country_column(rec.ingest.get("extra_columns") or ())
    customers, models, drift, counted = _rebuilt(
        con, cleaned, p, money=money, country=country, stored_end=stored_end, end=end,
        since_fit=rec.since_fit, fit_end=rec.fit_end, refit=refit, offset=offset,
        clock=clock)
    params = {**p, "observation_end": end.isoformat(),
              "run_at": started.isoformat(timespec="seconds"),
              "update": _update_params(refit, stored_end, offset, n_stored, restated, drift)}
    # the zone a timezone-aware order_ts was read in: the note analyze gives, said again
    notes: list[str] = [n for n in new.notes if n.startswith("order_ts <- ") and "zone" in n]
    run_id = uuid.uuid4().hex
    rows_q = sum(counts.values())
    scored = _score_and_record(
        con, p, params, cleaned, refit=refit, models=models, end=end, money=money, country=country,
        mapping=dict(new.mapping), notes=notes, offset=offset, med=med, mad=mad,
        run_id=run_id, started=started,
        ingest={**new.to_dict(), TOKENS_KEY: carried, ID_KINDS_KEY: id_kinds},
        rows=(new.n_rows, new.n_rows - rows_q - _moves(restated), rows_q + _moves(restated)),
        n_customers=len(customers), clock=clock)
    return _applied(base, new.n_rows, counts, restated, stored_end, end, counted, refit,
                    models, run_id=run_id, n_customers=len(customers), drift=drift,
                    scored=scored, notes=notes)


def _read_step(con: Any, rec: Recorded, store: Path, source: Any, *,
               key: PseudonymKey | None, mode: str, stored_end: dt.date,
               clock: StepClock) -> tuple[Any, dict[str, Any]] | UpdateResult:
    """The new lines read and their result's common fields ``(new, base)``; or the result
    of an update that changes nothing (a header-only file, a file already applied)."""
    stored_raw = con.table("transactions_raw", database=(CATALOG, "main"))
    with clock("read"):
        try:
            new = _read_new(con, rec, source, key)
        except HeaderOnlyError as err:
            return _no_lines(err, rec, stored_raw.columns, store=store, mode=mode,
                             stored_end=stored_end, timings_s=clock.timings)
    label = new.source
    base = {"store": store, "source": label, "input_sha256": new.fingerprint, "mode": mode,
            "observation_end_before": stored_end, "observation_end": stored_end,
            "timings_s": clock.timings}
    if new.fingerprint in rec.fingerprints:
        run_id, at, src = rec.sources[new.fingerprint]
        return UpdateResult(**base, applied=False, message=(
            f"nothing changed: {label} (sha256 {new.fingerprint[:12]}...) was already "
            f"applied to this store by run {run_id[:8]} at {at} (from {src})"))
    return new, base


def _clean_step(con: Any, rec: Recorded, new: Any, p: dict[str, Any], stored_end: dt.date,
                end_given: Any, base: dict[str, Any], clock: StepClock) -> tuple | UpdateResult:
    """The new lines checked against the store and cleaned with the stored lines (the
    union): ``(new, carried, id_kinds, offset, n_stored, (end, cleaned, counts, restated,
    med, mad))``; or the result of an update whose every line is already stored."""
    stored_raw = con.table("transactions_raw", database=(CATALOG, "main"))
    label = new.source
    check_nothing_held(con, CATALOG, stored_end, base["store"])
    check_layout(new, stored_raw, rec, label)
    new, signs, id_kinds = as_the_store(new, rec.ingest, label)
    with clock("clean"):
        union, offset, n_stored = build_union(con, new, stored_raw)
        union, carried = union_plan(union, signs, rec.read_options().decimal, con=con,
                                    catalog=CATALOG, offset=offset)
        if all_copies(con, CATALOG, union, offset):
            return UpdateResult(**base, applied=False, message=(
                f"nothing changed: every one of the {new.n_rows:,} lines of {label} is "
                "already in the store (each equals a stored line in every column)"))
        found = _clean_new(con, union, offset, new.mapping, p, stored_end, end_given, label)
    return new, carried, id_kinds, offset, n_stored, found


def _score_and_record(con: Any, p: dict[str, Any], params: dict[str, Any], cleaned: Any, *,
                      refit: bool,
                      models: Any, end: dt.date, money: bool, country: Any,
                      mapping: dict[str, Any], notes: list[str], offset: int,
                      med: float | None, mad: float | None, run_id: str, started: datetime,
                      ingest: dict[str, Any], rows: tuple[int, int, int], n_customers: int,
                      clock: StepClock) -> pd.DataFrame:
    """Segments and scores of the updated customers (:func:`_scores`), then the run's row
    and the store's tables written (:func:`_run_row`, :func:`_commit`)."""
    with clock("scores"):
        _quality(con, offset, cleaned)
        scored, copy, drop, fitted = _scores(con, p, refit=refit, models=models, end=end,
                                             money=money, country=country, mapping=mapping,
                                             notes=notes, flag=outlier_sql(med, mad),
                                             offset=offset)
        caveats = update_caveats(last_caveats(con, CATALOG), scored, p, refit=refit,
                                 fitted=fitted, end=end)
    with clock("store"):
        _run_row(con, run_id=run_id, started=started, params=params, ingest=ingest,
                 rows=rows, n_customers=n_customers, timings=clock.timings,
                 caveats=caveats)
        _commit(con, offset, med, mad, copy=copy, drop=drop)
    return scored


def _applied(base: dict[str, Any], n_rows: int, counts: dict[str, int],
             restated: dict[str, dict[str, int]], stored_end: dt.date, end: dt.date,
             counted: tuple[int, int, int, int], refit: bool, models: Any, *, run_id: str,
             n_customers: int, drift: Any, scored: pd.DataFrame,
             notes: list[str]) -> UpdateResult:
    """The result of an applied update, with its one-line message."""
    rows_q = sum(counts.values())
    n_active, n_kept, n_new, _ = counted
    what = (f"{n_rows:,} new {'line' if n_rows == 1 else 'lines'} "
            f"({n_rows - rows_q:,} clean, {rows_q:,} "
            f"quarantined){_said(restated)}; observation end {stored_end.isoformat()} -> "
            f"{end.isoformat()}; {_said_customers(*counted)}; "
            + ("every model refitted" if refit else f"re-scored with the stored "
               f"{models.name if models else 'models'}"))
    return UpdateResult(
        **{**base, "observation_end": end}, applied=True, message=what, run_id=run_id,
        rows_in=n_rows, rows_clean=n_rows - rows_q, rows_quarantined=rows_q,
        quarantined_by_reason=counts, restated_lines=sum(sum(v.values())
                                                         for v in restated.values()),
        restated_by_reason=restated, n_customers=n_customers,
        n_new_customers=n_new, n_active_customers=n_active,
        n_customers_with_clean_lines=n_kept, drift=drift, customers=scored,
        notes=notes)


def _rebuilt(con: Any, cleaned: Any, p: dict[str, Any], *, money: bool, country: Any,
             stored_end: dt.date, end: dt.date, since_fit: Any, refit: bool, offset: int,
             clock: StepClock, fit_end: str | None = None,
             ) -> tuple[pd.DataFrame, Any, Any, tuple[int, int, int, int]]:
    """The customers rebuilt from the union's clean lines, the stored model's drift check
    and the counts the update says: ``(customers, models, drift, (n_active, n_kept, n_new,
    n_customers))``."""
    time_unit = p["time_unit"]
    with clock("customers"):
        before = con.table("customers", database=(CATALOG, "main")).select(
            "customer_id", "frequency", "recency", "T").to_pyarrow().to_pandas()
        updated = update_customers(con, CATALOG, cleaned, time_unit=time_unit, money=money,
                                   country=country)
        customers = updated.to_pyarrow().to_pandas()
        new_days = pd.Series(new_purchase_days(con, stored_end), dtype="float64")
    with clock("drift"):
        models = load_models(con, CATALOG, time_unit) if p.get("clv", True) else None
        drift = None
        if models is not None:
            phi, phi_days = daily_dispersion(
                con.table("transactions_clean", database=(CATALOG, "main")), stored_end)
            drift = drift_check(models, before, new_days, stored_end, end, since_fit,
                                time_unit, refitted=refit, dispersion=phi,
                                dispersion_days=phi_days,
                                fit_end=dt.date.fromisoformat(fit_end) if fit_end else None)
    n_new = int((~customers["customer_id"].isin(before["customer_id"])).sum())
    n_active = int(con.table(IDS).count().to_pyarrow().as_py())
    n_kept = int(con.raw_sql(f"SELECT count(DISTINCT customer_id) FROM {U_CLEAN} "
                             f"WHERE _row_id > {offset}").fetchone()[0])
    counted = (n_active, n_kept, n_new, len(customers))
    return customers, models, drift, counted


def _clean_new(con: Any, union: Any, offset: int, mapping: dict[str, Any],
               p: dict[str, Any], stored_end: dt.date, end_given: Any, label: str
               ) -> tuple[dt.date, Any, dict[str, int], dict[str, dict[str, int]],
                          float | None, float | None]:
    """The union of stored and new lines checked (no late line, none after the end) and
    cleaned with the store's options: the new observation end, the cleaned lines, the new
    lines' counts per reason, the stored lines restated, and the outlier median and MAD
    (None when the store's preset does not flag outliers)."""
    dedupe = ("order_id" in mapping and ("product_id" in mapping or "product_name" in mapping)
              and p["preset"] == "standard")
    check_late(con, union, offset, stored_end, dedupe, label)
    end = new_observation_end(con, union, stored_end, end_given, catalog=CATALOG,
                              offset=offset)
    check_none_after(con, union, offset, end, label)
    cleaned = clean_union(con, union, p, end)
    check_stored_parse(con, CATALOG, UNION, U_QUAR, offset)
    counts = _new_line_counts(con, offset)
    restated = _restated(con, offset)
    med = mad = None
    if flags_outliers(p):
        med, mad = outlier_stats(con, CATALOG, offset)
    return end, cleaned, counts, restated, med, mad


def _read_new(con: Any, rec: Recorded, source: Any, key: PseudonymKey | None) -> Any:
    """The new lines read with the store's recorded options into ``NEW_RAW`` and protected
    as the store is (the same columns dropped, the same pseudonyms)."""
    read = rec.read_options()
    try:
        new = read_transactions(source, con=con, columns=read.columns, mapping=read.mapping,
                                date_format=read.date_format, encoding=read.encoding,
                                sheet=read.sheet, decimal=read.decimal, table_name=NEW_RAW)
    except HeaderOnlyError:
        raise
    except InputError as err:
        raise InputError(_read_refused(err, read, rec.ingest.get("mapping"))) from err
    return protect(new, pseudonym_key=key, keep_pii=rec.keep_pii)


def _no_lines(err: HeaderOnlyError, rec: Recorded, stored: Any, *, store: Path, mode: str,
              stored_end: dt.date, timings_s: dict[str, float]) -> UpdateResult:
    """A file with the store log's columns and no line (a day without sales) changes
    nothing; a header with other columns is refused as such a file with lines would be
    (the store's personal-data columns, dropped when read, may be there or not)."""
    privacy = rec.ingest.get("privacy") or {}
    dropped = set(privacy.get("dropped") or []) if isinstance(privacy, dict) else set()
    old = [c for c in stored if c != "_row_id"]
    missing = [c for c in old if c not in err.columns]
    extra = [c for c in err.columns if c not in old and c not in dropped]
    if missing or extra:
        raise InputError(
            f"{err.source} has a header but no data rows, and other columns than the store's "
            "log: " + "; ".join(x for x in (
                f"missing {', '.join(map(repr, missing))}" if missing else "",
                f"not in the store {', '.join(map(repr, extra))}" if extra else "") if x)
            + f" (the store's log has {', '.join(map(repr, old))}): export the new lines in "
            "the layout of the store's log") from err
    return UpdateResult(store=store, source=err.source, input_sha256=err.fingerprint,
                        applied=False, mode=mode, observation_end_before=stored_end,
                        observation_end=stored_end, timings_s=timings_s, message=(
                            f"nothing changed: {err.source} has the store's columns but no "
                            "lines (a day without sales?)"))


def _commit(con: Any, offset: int, med: float | None, mad: float | None, *,
            copy: Any, drop: Any) -> None:
    """Every write to the store in one transaction (DuckDB lets one transaction write one
    database): the new lines and quarantine, the tables to copy, the tables to drop and the
    run's record; rolled back whole on any error or signal."""
    con.raw_sql("BEGIN TRANSACTION")
    try:
        _apply_data(con, offset, med, mad)
        for name in copy:
            _copy_to_store(con, name)
        for name in drop:
            con.raw_sql(f'DROP TABLE IF EXISTS {CATALOG}.main."{name}"')
        _record(con)
        con.raw_sql("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            con.raw_sql("ROLLBACK")
        raise


def _read_refused(err: InputError, read: Any, stored_mapping: Any) -> str:
    """The reader's message, then why its advice on options does not apply to ``update``.

    ``update`` has no reading options: new lines are read with the store's recorded options
    and must have the columns the store's log was mapped from, so that they link to the
    stored lines. The reader's own hints name ``analyze``'s options; this says so, lists the
    stored column mapping and options, and what to do instead.
    """
    recorded = [f"{name} {value!r}" for name, value in (
        ("column mapping", stored_mapping or read.mapping), ("columns", read.columns),
        ("date format", read.date_format), ("encoding", read.encoding),
        ("sheet", read.sheet)) if value]
    return (f"{err} -- update reads new lines as the store's log was read ("
            + (", ".join(recorded) if recorded else "default options")
            + "), with no reading options of its own: any option named above is one of "
            "`valuemax analyze`. Export the new lines in the layout of the store's log, or run "
            "`valuemax analyze` on the whole log with the options it needs.")


def _new_line_counts(con: Any, offset: int) -> dict[str, int]:
    q = con.table(U_QUAR)
    q = q.filter(q._row_id > offset)
    rows = q.group_by("reason").aggregate(n=q.count()).to_pyarrow().to_pylist()
    return {r["reason"]: int(r["n"]) for r in sorted(rows, key=lambda r: r["reason"])}


def _restated(con: Any, offset: int) -> dict[str, dict[str, int]]:
    """Stored lines of the union whose reason, quantity or amount changed, by kind of move.

    Returns
    -------
    dict
        ``"re_netted"`` (clean before and after, other quantity or amount: ``{"clean": n}``),
        ``"to_quarantine"`` (clean before; new reason -> n), ``"to_clean"`` (quarantined
        before; old reason -> n), ``"reason_changed"`` (``"old -> new"`` -> n). Empty kinds
        are left out.
    """
    sql = f"""
    WITH old AS (
        SELECT _row_id, NULL::VARCHAR AS reason, amount, quantity
        FROM {CATALOG}.main.transactions_clean
        WHERE _row_id IN (SELECT _row_id FROM {UNION} WHERE _row_id <= {offset})
        UNION ALL
        SELECT _row_id, reason, NULL::DOUBLE, NULL::DOUBLE FROM {CATALOG}.main.quarantine
        WHERE _row_id IN (SELECT _row_id FROM {UNION} WHERE _row_id <= {offset})),
    new AS (
        SELECT _row_id, NULL::VARCHAR AS reason, amount, quantity FROM {U_CLEAN}
        WHERE _row_id <= {offset}
        UNION ALL
        SELECT _row_id, reason, NULL::DOUBLE, NULL::DOUBLE FROM {U_QUAR} WHERE _row_id <= {offset})
    SELECT CASE WHEN old.reason IS NULL AND new.reason IS NULL THEN 're_netted'
                WHEN old.reason IS NULL THEN 'to_quarantine'
                WHEN new.reason IS NULL THEN 'to_clean' ELSE 'reason_changed' END AS kind,
           CASE WHEN old.reason IS NULL AND new.reason IS NULL THEN 'clean'
                WHEN old.reason IS NULL THEN new.reason
                WHEN new.reason IS NULL THEN old.reason
                ELSE old.reason || ' -> ' || new.reason END AS what, count(*) AS n
    FROM old JOIN new USING (_row_id)
    WHERE old.reason IS DISTINCT FROM new.reason OR old.amount IS DISTINCT FROM new.amount
       OR old.quantity IS DISTINCT FROM new.quantity
    GROUP BY ALL ORDER BY ALL"""
    out: dict[str, dict[str, int]] = {}
    for kind, what, n in con.raw_sql(sql).fetchall():
        out.setdefault(kind, {})[what] = int(n)
    return out


def _moves(restated: dict[str, dict[str, int]]) -> int:
    """Stored lines moved from the clean log to the quarantine, net of the reverse."""
    return (sum(restated.get("to_quarantine", {}).values())
            - sum(restated.get("to_clean", {}).values()))


def _update_params(refit: bool, stored_end: dt.date, offset: int, n_stored: int,
                   restated: dict[str, dict[str, int]], drift: Any) -> dict[str, Any]:
    """The ``update`` entry of the run's recorded parameters."""
    return {"refit": refit, "previous_observation_end": stored_end.isoformat(),
            "rows_offset": offset, "stored_lines_recleaned": n_stored,
            "restated_lines": sum(sum(v.values()) for v in restated.values()),
            "restated": restated, "drift": None if drift is None else drift.to_dict()}


def _said_customers(n_active: int, n_kept: int, n_new: int, n_all: int) -> str:
    """``'4 customers in the new lines (3 with a new clean line, 1 new), 5 in all'``."""
    return (f"{n_active:,} customer{'s' if n_active != 1 else ''} in the new lines "
            f"({n_kept:,} with a new clean line, {n_new:,} new), {n_all:,} in all")


def _said(restated: dict[str, dict[str, int]]) -> str:
    """``'; 3 stored lines restated (2 re-netted, 1 moved to the quarantine:
    fully_returned 1)'``, or ``''``."""
    n = sum(sum(v.values()) for v in restated.values())
    if not n:
        return ""
    parts = []
    for kind, label in (("re_netted", "re-netted"), ("to_quarantine", "moved to the quarantine"),
                        ("to_clean", "moved back to the clean log"),
                        ("reason_changed", "with another quarantine reason")):
        if kind in restated:
            k = sum(restated[kind].values())
            why = "" if kind == "re_netted" else ": " + ", ".join(
                f"{r} {c:,}" for r, c in restated[kind].items())
            parts.append(f"{k:,} {label}{why}")
    return f"; {n:,} stored line{'s' if n > 1 else ''} restated ({'; '.join(parts)})"


def _apply_data(con: Any, offset: int, med: float | None, mad: float | None) -> None:
    """The data half of the transaction: raw, clean, quarantine, outlier flags, customers
    and quality counts (all computed beforehand in the working connection)."""
    s = f"{CATALOG}.main"
    redone = f"(SELECT _row_id FROM {UNION} WHERE _row_id <= {offset})"
    con.raw_sql(f"DELETE FROM {s}.transactions_clean WHERE _row_id IN {redone}")
    con.raw_sql(f"DELETE FROM {s}.quarantine WHERE _row_id IN {redone}")
    con.raw_sql(f"INSERT INTO {s}.transactions_clean BY NAME SELECT * FROM {U_CLEAN}")
    con.raw_sql(f"INSERT INTO {s}.quarantine BY NAME SELECT * FROM {U_QUAR}")
    con.raw_sql(f"INSERT INTO {s}.transactions_raw BY NAME SELECT * FROM {UNION} "
                f"WHERE _row_id > {offset}")
    if med is not None or mad is not None:
        flag = outlier_sql(med, mad)
        con.raw_sql(f"UPDATE {s}.transactions_clean SET is_outlier = {flag} "
                    f"WHERE is_outlier IS DISTINCT FROM {flag}")
    con.raw_sql(f"CREATE OR REPLACE TABLE {s}.customers AS SELECT * FROM {CUSTOMERS} "
                "ORDER BY customer_id")
    _copy_to_store(con, "quality")


def _quality(con: Any, offset: int, cleaned: Any) -> None:
    """The quality table after the update (rows per rule over the whole updated log), in
    the working connection as ``quality``."""
    s = f"{CATALOG}.main"
    n_in = offset + int(con.raw_sql(f"SELECT count(*) FROM {UNION} WHERE _row_id > {offset}"
                                    ).fetchone()[0])
    per = dict(con.raw_sql(
        f"SELECT reason, count(*) FROM (SELECT reason FROM {s}.quarantine WHERE _row_id NOT IN "
        f"(SELECT _row_id FROM {UNION} WHERE _row_id <= {offset}) UNION ALL "
        f"SELECT reason FROM {U_QUAR}) GROUP BY reason").fetchall())
    quality = con.table("quality", database=(CATALOG, "main")).to_pyarrow().to_pandas()
    known = set(quality["rule"])
    described = {r.code: r.description for r in cleaned.report.rules}
    new_codes = sorted(c for c in per if c not in known)
    extra = pd.DataFrame({"rule": new_codes,
                          "description": [described.get(c, c) for c in new_codes]})
    quality = pd.concat([quality[["rule", "description"]], extra], ignore_index=True)
    # descriptions name the observation end: take the updated ones
    quality["description"] = [described.get(c, d) for c, d in
                              zip(quality["rule"], quality["description"], strict=True)]
    quality["rows"] = pd.array([int(per.get(c, 0)) for c in quality["rule"]], dtype="int64")
    quality["share"] = quality["rows"] / max(n_in, 1)
    write_table(con, "quality", quality)


def _scores(con: Any, p: dict[str, Any], *, refit: bool, models: Any, end: dt.date,
            money: bool, country: str | None, mapping: dict[str, str], notes: list[str],
            flag: str, offset: int) -> tuple[pd.DataFrame, list[str], list[str], Any]:
    """Segments and scores of the updated customers, as tables of the working connection.

    Returns
    -------
    (DataFrame, list of str, list of str, object)
        The customers with their scores, the tables to copy into the store, the store
        tables to drop (model tables a refit did not produce), and what the caveats are
        built from (:func:`~valuemax.pipeline._update_caveats.update_caveats`): the refit's
        value result (None without one), or the rescore's RFM result.
    """
    s = (CATALOG, "main")
    customers = con.table(CUSTOMERS).order_by("customer_id").to_pyarrow().to_pandas()
    if refit:
        # the updated clean log, for the steps that read lines (value, propensity, baskets)
        con.raw_sql(
            f"CREATE OR REPLACE TEMP TABLE {CLEAN_ALL} AS SELECT * REPLACE ({flag} AS "
            f"is_outlier) FROM (SELECT * FROM {CATALOG}.main.transactions_clean WHERE _row_id "
            f"NOT IN (SELECT _row_id FROM {UNION} WHERE _row_id <= {offset}) UNION ALL BY NAME "
            f"SELECT * FROM {U_CLEAN}) ORDER BY _row_id")
        scored, skipped, value = _refit.refit(con, con.table(CLEAN_ALL), customers, p, end=end,
                                          money=money, country=country, mapping=mapping)
        produced = set(con.list_tables()) & set(_refit.MODEL_TABLES)
        notes.extend(f"{step} skipped: {why}" for step, why in skipped.items())
        return (scored, sorted(produced),
                [n for n in _refit.MODEL_TABLES if n not in produced], value)
    have = {r[0] for r in con.raw_sql(
        "SELECT table_name FROM information_schema.tables "
        f"WHERE table_catalog = '{CATALOG}' AND table_schema = 'main'").fetchall()}
    scored, summary, rfm = _refit.rfm_segments(customers, money)
    if "segments" in have:
        old = con.table("segments", database=s).to_pyarrow().to_pandas()
        kept = [c for c in ("cluster", "cluster_name", "cluster_mixed", "ward_cluster")
                if c in old]
        if kept:
            scored = scored.merge(old[["customer_id", *kept]], on="customer_id", how="left")
            n_none = int(scored[kept[0]].isna().sum())
            notes.append(f"clusters kept from the last fit ({', '.join(kept)}); "
                         f"{n_none:,} {'customer' if n_none == 1 else 'customers'} "
                         "without one (new, or not clustered) get one "
                         f"with {both_names('refit=True')}")
    write_segments(con, scored, summary)
    copy = ["segments", "segment_summary"]
    if models is not None:
        table = rescore(models, scored, p, money)
        scored = scored.merge(table, on="customer_id", how="left", validate="one_to_one")
        write_table(con, "clv", table)
        copy.append("clv")
    elif p.get("clv", True):
        notes.append("no stored purchase model (the value step was skipped at the last fit): "
                     f"no CLV scores until {both_names('refit=True')}")
    if "propensity_scores" in have:
        prop = con.table("propensity_scores", database=s).to_pyarrow().to_pandas()
        scored = scored.merge(prop, on="customer_id", how="left")
        notes.append("buy-again propensity scores (p_buy_*, churn_risk) are from the last fit "
                     "and were not re-scored (the model is not stored); "
                     f"{both_names('refit=True')} refreshes them")
    if "rules" in have:
        notes.append("association rules and recommendations are from the last fit")
    if "calibration_holdout" in have:
        notes.append("the calibration/holdout table describes the last fit's period; "
                     "--refit rebuilds it")
    return scored, copy, [], rfm


def _replace(con: Any, name: str, frame: pd.DataFrame) -> None:
    """Replace the store table ``name`` with ``frame`` (written as ``analyze`` writes)."""
    write_table(con, name, frame)
    _copy_to_store(con, name)


def _copy_to_store(con: Any, name: str) -> None:
    """Replace the store table ``name`` with the working connection's table of that name."""
    con.raw_sql(f'CREATE OR REPLACE TABLE {CATALOG}.main."{name}" AS '
                f'SELECT * FROM memory.main."{name}"')


def _run_row(con: Any, *, run_id: str, started: datetime, params: dict[str, Any],
             ingest: dict[str, Any], rows: tuple[int, int, int], n_customers: int,
             timings: dict[str, float], caveats: dict[str, list[str]]) -> None:
    """The update's ``runs`` row, as the working connection's table :data:`RUN_ROW`.

    ``caveats`` (``{step: [text]}``, :func:`~valuemax.pipeline._update_caveats.update_caveats`)
    are the update's own: the API and the dashboard show the newest run's.

    ``rows`` = (new lines, net change of the clean log, net change of the quarantine): the
    new lines kept and quarantined, with the stored lines the update moved between the two
    (a purchase ``fully_returned`` by a new return) counted where they went, so that the
    ``runs`` rows add up to the store's tables (``rows_in`` = their sum still)."""
    import getpass
    import platform

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        user = "unknown"
    row = pa.table({
        "run_id": [run_id], "started_at": [pd.Timestamp(started)],
        "finished_at": [pd.Timestamp(datetime.now())], "user": [user],
        "host": [platform.node()], "valuemax_version": [__version__],
        "source": [str(ingest.get("source"))], "input_sha256": [str(ingest.get("fingerprint"))],
        "parameters": [json.dumps(params, default=str, ensure_ascii=False)],
        "ingest": [json.dumps(ingest, default=str, ensure_ascii=False)],
        "versions": [json.dumps(package_versions())], "rows_in": [rows[0]],
        "rows_clean": [rows[1]], "rows_quarantined": [rows[2]],
        "n_customers": [n_customers], "timings_s": [json.dumps(timings)], "kind": ["update"],
        "caveats": [json.dumps(caveats, ensure_ascii=False)],
    })
    con.create_table(RUN_ROW, row, overwrite=True)


def _record(con: Any) -> None:
    """Append the update's row to ``runs`` (``kind = 'update'``; the column is added to a
    store written before analyze recorded it, each earlier row getting the command that
    wrote it: :func:`~valuemax.pipeline._store.fill_run_kinds`)."""
    cols = {r[0] for r in con.raw_sql(
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_catalog = '{CATALOG}' AND table_name = 'runs'").fetchall()}
    if "kind" not in cols:  # a store written before analyze recorded it
        con.raw_sql(f"ALTER TABLE {CATALOG}.main.runs ADD COLUMN kind VARCHAR")
        fill_run_kinds(con, f"{CATALOG}.main.runs")
    if "caveats" not in cols:  # a store written before runs recorded caveats
        con.raw_sql(f"ALTER TABLE {CATALOG}.main.runs ADD COLUMN caveats VARCHAR")
    con.raw_sql(f"INSERT INTO {CATALOG}.main.runs BY NAME SELECT * FROM {RUN_ROW}")


def _write_outputs(ws: Workspace, result: UpdateResult) -> None:
    assert ws.tmp is not None
    if result.customers is not None:
        result.customers.to_parquet(ws.tmp / "customers.parquet", index=False)
        write_csv(result.customers, ws.tmp / "customers.csv")
    (ws.tmp / "update.json").write_text(
        json.dumps(result.to_dict(), indent=2, ensure_ascii=False, default=str) + "\n",
        encoding="utf-8")
    ws.publish()


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


__all__ = ["CATALOG", "STEPS", "UPDATE_OUTPUTS", "UpdateResult", "update"]
