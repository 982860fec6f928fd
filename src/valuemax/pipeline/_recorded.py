"""What a store remembers of its last run: version, options and fitted state, and the policy
that decides whether ``update`` may continue from it.

``update`` reads new lines *as the store's log was read* and cleans them *with the same
rules*: both come from the last row of ``runs`` (its ``parameters`` and ``ingest`` JSON).
Every run row, analyze's or update's, carries the full set of options forward, so the last
row alone is enough (an option a later feature records, e.g. a pseudonym key's fingerprint,
is carried into every update row unchanged and can be checked here).

Version policy. A store records the valuemax version of each run. ``update`` continues a
store written by the same *minor* version (``0.1.x`` by ``0.1.y``: the tables and options
mean the same within a minor version) and refuses any other, saying which version wrote it
and how to rebuild it (``valuemax analyze`` on the whole log). Within a minor version the
schema is still checked: every table and column ``update`` reads must be there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from valuemax import __version__
from valuemax._core.exceptions import InputError
from valuemax.pipeline._options import RENAMED, ReadOptions
from valuemax.privacy import KEY_ENV, PseudonymKey, key_fingerprint, load_key

#: Tables ``update`` reads and rewrites, with the columns it needs in each.
REQUIRED: dict[str, tuple[str, ...]] = {
    "runs": ("run_id", "started_at", "valuemax_version", "input_sha256", "parameters",
             "ingest", "source"),
    "transactions_raw": ("_row_id",),
    "transactions_clean": ("_row_id", "customer_id", "order_ts", "amount", "is_outlier"),
    "quarantine": ("_row_id", "reason"),
    "customers": ("customer_id", "first_purchase", "last_purchase", "n_orders", "n_lines",
                  "recency_days", "tenure_days", "frequency", "recency", "T"),
    "quality": ("rule", "description", "rows", "share"),
}
#: Keys of the recorded ``parameters`` an update needs to read and clean like the store.
NEEDED_PARAMETERS = ("preset", "observation_end", "time_unit", "returns", "mapping", "columns",
                     "date_format", "encoding", "sheet", "decimal", "random_state")
#: Keys recorded under an older name by stores written before the rename: old -> new
#: (the jobs' keywords, renamed alike).
OLD_PARAMETER_NAMES: dict[str, str] = RENAMED


def current_names(parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` with the keys of :data:`OLD_PARAMETER_NAMES` under their new names.

    The one place a store's old key names are read: everything after it (refit, re-score,
    the update's own run row) sees only the new ones.

    Examples
    --------
    >>> current_names({"seed": 3, "clv_horizon": 6, "horizon": 30, "preset": "standard"})
    {'preset': 'standard', 'random_state': 3, 'horizon_months': 6, 'horizon_days': 30}
    """
    renamed = {OLD_PARAMETER_NAMES[k]: v for k, v in parameters.items()
               if k in OLD_PARAMETER_NAMES and OLD_PARAMETER_NAMES[k] not in parameters}
    return {**{k: v for k, v in parameters.items() if k not in OLD_PARAMETER_NAMES},
            **renamed}


@dataclass(frozen=True)
class Recorded:
    """The store's last run, as ``update`` continues from it.

    Attributes
    ----------
    run_id : str
        ``runs.run_id`` of the last run.
    version : str
        valuemax version that wrote it.
    parameters : dict
        Its recorded options (``analyze``'s keywords; ``observation_end`` is the date used).
    ingest : dict
        How its log was read (mapping, date formats, extra columns, ...).
    fingerprints : frozenset of str
        ``input_sha256`` of every run of the store (analyze and update).
    sources : dict
        ``input_sha256`` -> (run_id, started_at, source) of the run that read it.
    since_fit : (float, float)
        Purchases the stored purchase model predicted, and those made, summed over the
        updates since the models were last fitted (by ``analyze`` or an update with refit).
    fit_end : str or None
        The observation end (ISO date) of that fit, None when no run recorded one.
    """

    run_id: str
    version: str
    parameters: dict[str, Any]
    ingest: dict[str, Any]
    fingerprints: frozenset[str]
    sources: dict[str, tuple[str, str, str]]
    since_fit: tuple[float, float] = (0.0, 0.0)
    fit_end: str | None = None

    def read_options(self) -> ReadOptions:
        """How to read new lines: the recorded reading options, with the date formats the
        store's log was parsed with (so a small file cannot be read with another day/month
        order than the store's)."""
        p = self.parameters
        formats = p.get("date_format") or (self.ingest.get("date_formats") or None)
        if formats and not isinstance(formats, str):
            formats = with_date_only(tuple(formats))
        return ReadOptions(p.get("columns"), p.get("mapping") or None, formats,
                           p.get("encoding"), p.get("sheet"), p.get("decimal") or ".")

    @property
    def keep_pii(self) -> tuple[str, ...]:
        """The personal-data columns the store's run kept (``keep_pii``)."""
        return tuple(self.parameters.get("keep_pii") or ())

    def pseudonym_key(self, key: Any = None, key_file: Any = None) -> PseudonymKey | None:
        """The key that pseudonymises new lines as the store's were, or None if they were not.

        A store built with ``--pseudonymize`` records the fingerprint of its key
        (:func:`valuemax.privacy.key_fingerprint`); the key of an update (given, from
        ``key_file``, else ``VALUEMAX_PSEUDONYM_KEY``) must have the same fingerprint, or the
        new lines' pseudonyms would never link to the stored customers.

        Raises
        ------
        InputError
            If the store was pseudonymised and no key is found or its fingerprint differs,
            or a key is given for a store that was not pseudonymised. No message contains the
            key.
        """
        p = self.parameters
        stored = p.get("pseudonym_key_fingerprint")
        if not p.get("pseudonymize"):
            if key is not None or key_file is not None:
                raise InputError("a pseudonym key was given, but this store's customer ids "
                                 "are not pseudonymised (it was built without "
                                 "--pseudonymize); leave the key out")
            return None
        loaded = load_key(key, key_file=key_file)
        given = key_fingerprint(loaded)
        if given != stored:
            raise InputError(
                f"wrong pseudonym key: this store was built with the key of fingerprint "
                f"{str(stored)[:12]}..., the key given has fingerprint {given[:12]}...; its "
                "pseudonyms would not link to the stored customers. Give the store's key "
                f"(pseudonym_key_file/--pseudonym-key-file, or {KEY_ENV})")
        return loaded


def with_date_only(formats: tuple[str, ...]) -> tuple[str, ...]:
    """``formats`` followed by the date part of each date-and-time format (``'%Y-%m-%d
    %H:%M:%S'`` -> also ``'%Y-%m-%d'``), so that a day file writing only the day (a CSV
    export of a store read from Excel datetime cells) is read as that day at 00:00, with
    the store's day/month order. Formats with a UTC offset (``%z``) are left alone.

    Examples
    --------
    >>> with_date_only(("%d/%m/%Y %H:%M", "%Y-%m-%dT%H:%M:%S"))
    ('%d/%m/%Y %H:%M', '%Y-%m-%dT%H:%M:%S', '%d/%m/%Y', '%Y-%m-%d')
    >>> with_date_only(("%Y-%m-%d",))
    ('%Y-%m-%d',)
    """
    out = list(formats)
    if any("%z" in f for f in formats):
        return tuple(out)
    for f in formats:
        head = re.split(r"[ T]%[HI]", f, maxsplit=1)[0]
        if head != f and "%" in head and "%H" not in head and head not in out:
            out.append(head)
    return tuple(out)


def minor(version: str) -> tuple[str, ...]:
    """``'0.1.3'`` -> ``('0', '1')``: the part of a version that must match."""
    return tuple(str(version).split(".")[:2])


def check_store_file(store: Path) -> None:
    """Refuse a missing store or a file that is not a DuckDB database."""
    if not store.exists():
        raise InputError(f"store db/--db {str(store)!r} not found; create it first with "
                         f"valuemax analyze LOG --db {store}")
    if store.is_dir():
        raise InputError(f"store db/--db {str(store)!r} is a folder; give the .duckdb file")
    with store.open("rb") as fh:
        head = fh.read(12)
    if head[8:12] != b"DUCK":
        raise InputError(f"store db/--db {str(store)!r} is not a DuckDB database; give the "
                         "valuemax.duckdb file written by valuemax analyze")


def read_recorded(con: Any, catalog: str, store: Path) -> Recorded:
    """Check the store's schema and version, and return its last run.

    Parameters
    ----------
    con : ibis DuckDB backend
        Connection with the store attached as ``catalog``.
    catalog : str
        Name of the attached store.
    store : Path
        The store's path (for messages).

    Returns
    -------
    Recorded

    Raises
    ------
    InputError
        If a table or column ``update`` needs is missing, the store has no run, or its last
        run was written by another minor version of valuemax (the message names both
        versions and the fix).
    """
    cols: dict[str, set[str]] = {}
    for table, column in con.raw_sql(
        "SELECT table_name, column_name FROM information_schema.columns "
        f"WHERE table_catalog = '{catalog}' AND table_schema = 'main'"
    ).fetchall():
        cols.setdefault(table, set()).add(column)
    runs = con.raw_sql(
        f"SELECT run_id, CAST(started_at AS VARCHAR), valuemax_version, input_sha256, "
        f"parameters, ingest, source FROM {catalog}.main.runs ORDER BY started_at"
    ).fetchall() if "runs" in cols else []
    if runs:
        last = runs[-1]
        if minor(last[2]) != minor(__version__):
            raise InputError(
                f"store {str(store)!r} was written by valuemax {last[2]} (run {last[0][:8]} "
                f"at {last[1][:19]}); this is valuemax {__version__}, which updates only "
                f"stores written by valuemax {'.'.join(minor(__version__))}.x (the tables and "
                "recorded options of another version may mean something else). Rebuild the "
                f"store with this version: valuemax analyze WHOLE_LOG --db {store}"
            )
    missing = [f"{t} ({', '.join(c for c in need if c not in cols.get(t, set()))})"
               if t in cols else f"{t} (the table)"
               for t, need in REQUIRED.items() if not set(need) <= cols.get(t, set())]
    if missing:
        raise InputError(
            f"store {str(store)!r} lacks what an update continues from: {'; '.join(missing)}. "
            "Is it a store written by valuemax analyze? Rebuild it with valuemax analyze "
            f"WHOLE_LOG --db {store}"
        )
    if not runs:
        raise InputError(f"store {str(store)!r} has no run in its runs table; rebuild it with "
                         f"valuemax analyze WHOLE_LOG --db {store}")
    # the last run of the log (analyze or update): a campaign's target or experiment run
    # written to the same store later (--db) records no reading options and is skipped
    run_id, _, version, _, params, ingest, _ = next(
        (r for r in reversed(runs) if _log_run(r[4], r[5])), runs[-1])
    parameters, ingest_d = current_names(json.loads(params)), json.loads(ingest or "{}")
    absent = [k for k in NEEDED_PARAMETERS if k not in parameters]
    if absent or "mapping" not in ingest_d:
        raise InputError(
            f"store {str(store)!r}: its last run (valuemax {version}) did not record "
            f"{', '.join(absent or ['the mapping'])}, which an update needs to read and clean "
            f"new lines like the stored log. Rebuild it with valuemax analyze WHOLE_LOG --db "
            f"{store}"
        )
    sources = {r[3]: (r[0], r[1][:19], r[6]) for r in runs if r[3]}
    return Recorded(run_id, version, parameters, ingest_d,
                    frozenset(r[3] for r in runs if r[3]), sources, _since_fit(runs),
                    _fit_end(runs))


def _log_run(params: Any, ingest: Any) -> bool:
    """Whether a ``runs`` row is a run of the log (it recorded the reading options and the
    parameters an update needs), not a target, experiment or uplift run."""
    try:
        p, i = current_names(json.loads(params or "{}")), json.loads(ingest or "{}")
    except (TypeError, ValueError):
        return False
    return isinstance(i, dict) and "mapping" in i and all(k in p for k in NEEDED_PARAMETERS)


def _since_fit(runs: list[tuple[Any, ...]]) -> tuple[float, float]:
    """Predicted and actual purchases summed over the re-scoring updates after the last fit
    (each update records its period's figures under ``parameters.update.drift``). A fit is
    a run of the log that is not an update (``analyze``) or an update with ``refit``; a
    campaign's target, experiment or uplift run written to the store (``--db``) fits
    nothing and is passed over (review: an experiment readout reset the totals, and the
    next update compared one day with "since it was fitted").

    >>> log = '{"mapping": {}}'
    >>> def run(p, ingest=log):
    ...     params = json.dumps({**dict.fromkeys(NEEDED_PARAMETERS), **p})
    ...     return ("id", "t", "v", None, params, ingest, None)
    >>> def upd(pred, act, refit=False):
    ...     return run({"update": {"refit": refit, "drift": {"predicted": pred, "actual": act}}})
    >>> _since_fit([run({}), upd(2.0, 1.0), run({}, ingest="{}"), upd(3.0, 4.0)])
    (5.0, 5.0)
    >>> _since_fit([run({}), upd(2.0, 1.0), upd(9.0, 9.0, refit=True), upd(3.0, 4.0)])
    (3.0, 4.0)
    """
    predicted = actual = 0.0
    for row in runs:
        if not _log_run(row[4], row[5]):
            continue
        upd = json.loads(row[4]).get("update") or {}
        if not upd or upd.get("refit"):
            predicted = actual = 0.0
            continue
        drift = upd.get("drift") or {}
        predicted += float(drift.get("predicted") or 0.0)
        actual += float(drift.get("actual") or 0.0)
    return predicted, actual


def _fit_end(runs: list[tuple[Any, ...]]) -> str | None:
    """The observation end of the last run of the log that fitted the models (``analyze``
    or an update with refit), as an ISO date; None when none recorded it."""
    end = None
    for row in runs:
        if not _log_run(row[4], row[5]):
            continue
        p = json.loads(row[4])
        upd = p.get("update") or {}
        if (not upd or upd.get("refit")) and p.get("observation_end"):
            end = str(p["observation_end"])[:10]
    return end


__all__ = [
    "NEEDED_PARAMETERS",
    "OLD_PARAMETER_NAMES",
    "REQUIRED",
    "Recorded",
    "check_store_file",
    "current_names",
    "minor",
    "read_recorded",
]
