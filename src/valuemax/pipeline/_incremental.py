"""New lines against a stored log: read like it, check them, clean them with the same rules.

The rules that look across lines (exact duplicates, returns netted against earlier purchases)
only ever compare lines of one customer: a duplicate repeats the customer column, and a
return is netted against that customer's purchases. So the new lines are cleaned together
with the stored lines of *the customers who appear in them* (read back from
``transactions_raw``), not with the whole stored log. ``clean()`` runs unchanged on that
union, so a new return nets against a stored purchase (which may become ``fully_returned``)
and a new line equal to a stored one is a ``duplicate_line``, exactly as in one analysis of
the whole log. The one statistic over all lines, the outlier flag's median and MAD of
log(amount) (``valuemax.clean``), is recomputed over the updated clean log
(:func:`outlier_stats`) and applied to every line.

New lines get ``_row_id`` = the stored log's largest ``_row_id`` + their line number: the
store then numbers lines as one file holding the stored log followed by the new lines.

Late lines. A usable line (customer, date and amount readable, plausible date) dated on or
before the stored observation end is *late*: the store's customer table, netting and models
treat that period as closed, and a late purchase could change which purchase an earlier
return was netted against. ``update`` refuses a file with late lines (every line is listed by
count with the first few), except exact copies of stored lines in a log whose duplicate rule
applies (they are quarantined as ``duplicate_line``, as in the whole log). The fix is to drop
them from the file, or to rebuild the store with ``valuemax analyze`` on the whole log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import ibis

from valuemax._core.exceptions import InputError
from valuemax._core.validation import check_date
from valuemax.clean import PRESETS, clean
from valuemax.clean._obsend import default_observation_end, refuse_future, usable
from valuemax.io._dates import zone_conflict
from valuemax.io._ids import id_expr

#: Names of the working tables (in memory, never in the store).
NEW_RAW = "_vm_upd_new_raw"
UNION = "_vm_upd_union"
IDS = "_vm_upd_ids"
U_CLEAN = "_vm_upd_clean"
U_QUAR = "_vm_upd_quarantine"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def check_layout(new: Any, stored_raw: Any, recorded: Any, source: str) -> None:
    """Refuse new lines whose columns, types or mapping differ from the stored log's.

    Raises
    ------
    InputError
        Listing the columns missing and extra, the types that differ, or the mapping
        entries that differ (canonical column, stored source column, new source column).
    """
    old = {c: str(t) for c, t in stored_raw.schema().items() if c != "_row_id"}
    now = {c: str(t) for c, t in new.raw.schema().items() if c != "_row_id"}
    missing = [c for c in old if c not in now]
    extra = [c for c in now if c not in old]
    if missing or extra:
        raise InputError(
            f"{source} has other columns than the store's log: "
            + "; ".join(x for x in (
                f"missing {', '.join(map(repr, missing))}" if missing else "",
                f"not in the store {', '.join(map(repr, extra))}" if extra else "") if x)
            + f" (the store's log has {', '.join(map(repr, old))}). An update reads new lines "
            "with the store's columns and mapping; export them with the same columns, or "
            "rebuild the store with valuemax analyze on the whole log"
        )
    if "date_zone" in recorded.ingest:  # older stores record no zone: not compared
        why = zone_conflict(recorded.ingest["date_zone"], new.plan.date,
                            new.mapping["order_ts"], source)
        if why:
            raise InputError(why)
    old_t = {c: t for c, t in stored_raw.schema().items() if c != "_row_id"}
    new_t = dict(new.raw.schema().items())
    types = [f"{c!r} {old[c]} in the store, {now[c]} here" for c in old
             if old[c] != now[c] and not widens(new_t[c], old_t[c])]
    if types:
        raise InputError(
            f"{source} has the store's columns with other types: {'; '.join(types[:5])}. "
            + _types_fix(recorded.ingest.get("format"), old)
        )
    stored_map = dict(recorded.ingest.get("mapping") or {})
    diff = [f"{k}: {stored_map.get(k)!r} in the store, {new.mapping.get(k)!r} here"
            for k in sorted(set(stored_map) | set(new.mapping))
            if stored_map.get(k) != new.mapping.get(k)]
    if diff:
        raise InputError(
            f"{source} maps its columns differently from the store's log: {'; '.join(diff)}. "
            "An update reuses the store's mapping; give the new lines the store's column "
            "names, or rebuild the store with valuemax analyze on the whole log"
        )


def widens(new: Any, stored: Any) -> bool:
    """Whether values of type ``new`` fit the stored column's type ``stored`` exactly: a
    narrower integer (int32 into int64, uint16 into int32), a float32 or an integer of
    at most 32 bits into float64."""
    if new.is_integer() and stored.is_integer():
        if new.is_unsigned_integer() and not stored.is_unsigned_integer():
            return new.nbytes < stored.nbytes
        return (new.is_unsigned_integer() == stored.is_unsigned_integer()
                and new.nbytes <= stored.nbytes)
    if stored.is_floating() and stored.nbytes == 8:
        return (new.is_floating() and new.nbytes <= 8) or (new.is_integer() and new.nbytes <= 4)
    return False


def _types_fix(fmt: Any, old: dict[str, str]) -> str:
    """How to give new lines the stored log's types, for the store's source format."""
    shown = ", ".join(f"{c!r} {t}" for c, t in old.items())
    if fmt in ("pandas", "polars", "arrow", "ibis", "parquet", "duckdb"):
        return (f"The store's log was read from a typed table ({fmt}): pass the new lines as "
                f"a table of the same kind with its column types ({shown}; e.g. pandas "
                "DataFrame.astype, or a Parquet file written from such a table); a text "
                "file's columns are all text, so a CSV day file cannot update this store")
    return (f"Export the new lines in the store log's format ({fmt or 'the same file type'}"
            f", columns {shown})")


def build_union(con: Any, new: Any, stored_raw: Any) -> tuple[Any, int, int]:
    """Materialise the new lines (renumbered) with the stored lines of their customers.

    Returns
    -------
    (Ingested, int, int)
        The new ``Ingested`` whose ``raw`` is the union table (:data:`UNION`), the offset
        added to the new lines' ``_row_id`` (the stored log's largest), and the number of
        stored lines in the union.
    """
    offset = int(stored_raw._row_id.max().fill_null(0).to_pyarrow().as_py())
    std = new.standardized()
    ids = std.filter(std.customer_id.notnull()).select("customer_id").distinct()
    con.create_table(IDS, ids, temp=True, overwrite=True)
    cols = list(new.raw.columns)
    sid = id_expr(stored_raw[new.mapping["customer_id"]], new.plan.ids["customer_id"])
    stored = stored_raw.filter(sid.isin(con.table(IDS).customer_id)).select(*cols)
    fresh = new.raw.mutate(_row_id=new.raw._row_id + offset).select(*cols)
    stored_types = stored_raw.schema()
    fresh = fresh.cast({c: stored_types[c] for c in cols
                        if fresh.schema()[c] != stored_types[c]})
    con.create_table(UNION, stored.union(fresh), temp=True, overwrite=True)
    union = con.table(UNION)
    n_stored = int(union.filter(union._row_id <= offset).count().to_pyarrow().as_py())
    n = int(union.count().to_pyarrow().as_py())
    return dataclasses.replace(new, raw=union, n_rows=n), offset, n_stored


def copies_of_stored(con: Any, offset: int) -> Any:
    """``_row_id`` (renumbered) of new lines equal, in every raw column, to a stored line of
    the union (NULLs equal). An Ibis table with one column ``_row_id``."""
    u = con.table(UNION)
    cols = [c for c in u.columns if c != "_row_id"]
    old = u.filter(u._row_id <= offset).select(*cols).distinct()
    new = u.filter(u._row_id > offset)
    # INTERSECT semantics per line: a semi join on every column, NULL-safe
    conds = [new[c].identical_to(old[c]) for c in cols]
    return new.semi_join(old, conds).select("_row_id")


def all_copies(con: Any, catalog: str, union_ing: Any, offset: int) -> bool:
    """True when every new line equals a line of the stored raw log (NULLs equal).

    First against the stored lines of the new lines' customers (the union): only when
    every new line with a customer id is such a copy is the whole stored log consulted, for
    the lines without one (a re-sent file), so a normal update never scans it.
    """
    std = union_ing.standardized()
    fresh = std.filter(std._row_id > offset)
    n_new = int(fresh.count().to_pyarrow().as_py())
    with_id = int(fresh.filter(fresh.customer_id.notnull()).count().to_pyarrow().as_py())
    n_copies = int(copies_of_stored(con, offset).count().to_pyarrow().as_py())
    if n_new == 0 or n_copies < with_id:
        return False
    if n_copies == n_new:
        return True
    raw = con.table(NEW_RAW)
    cols = ", ".join(_q(c) for c in raw.columns if c != "_row_id")
    left = con.raw_sql(
        f"SELECT count(*) FROM (SELECT {cols} FROM {_q(NEW_RAW)} EXCEPT "
        f"SELECT {cols} FROM {catalog}.main.transactions_raw)").fetchone()[0]
    return int(left) == 0


def _first_lines(lines: Any, offset: int) -> str:
    """The first 5 of the new file's ``lines``: "line N (customer 'c', YYYY-MM-DD)", with N
    counted in the file (``_row_id - offset``)."""
    rows = (lines.order_by("_row_id").limit(5)
            .select("_row_id", "customer_id", day=lines.order_ts.date()).to_pyarrow().to_pylist())
    return ", ".join(f"line {r['_row_id'] - offset} (customer {r['customer_id']!r}, "
                     f"{r['day'].isoformat()})" for r in rows)


def check_late(con: Any, union_ing: Any, offset: int, stored_end: dt.date, dedupe: bool,
               source: str) -> None:
    """Refuse usable new lines dated on or before ``stored_end`` (the late-line policy).

    Exact copies of stored lines are exempt when ``dedupe`` (the duplicate rule applies to
    this log: they become ``duplicate_line``).

    Raises
    ------
    InputError
        With the count, the first five lines (line number in the file, customer, date), the
        stored observation end and the fixes.
    """
    std = union_ing.standardized()
    late = std.filter((std._row_id > offset) & usable(std)
                      & (std.order_ts.date() <= ibis.literal(stored_end)))
    if dedupe:
        late = late.anti_join(copies_of_stored(con, offset), "_row_id")
    _refuse_lines(late, offset, lambda n, shown: (
        f"{source}: {n:,} line{'s are' if n > 1 else ' is'} dated on or before the store's "
        f"observation end {stored_end.isoformat()} (e.g. {shown}). The store already covers "
        "every day up to that date: an update appends only later lines (a late purchase "
        "could change which purchase an earlier return was netted against, and the stored "
        "scores treat that period as closed). Drop lines dated up to "
        f"{stored_end.isoformat()} from the file, or rebuild the store with valuemax "
        "analyze on the whole log"
    ))


def _refuse_lines(lines: Any, offset: int, message: Any) -> None:
    """Raise ``InputError(message(n, shown))`` when ``lines`` holds any row: ``n`` their
    count, ``shown`` the first ones (:func:`_first_lines`)."""
    n = int(lines.count().to_pyarrow().as_py())
    if n:
        raise InputError(message(n, _first_lines(lines, offset)))


def new_observation_end(con: Any, union_ing: Any, stored_end: dt.date,
                        given: Any, *, catalog: str, offset: int) -> dt.date:
    """The updated observation end: ``given``, else the last usable date (the far-date guard
    of ``valuemax.clean`` applies, to the new lines, the rows beyond ``offset``, against
    every stored line), never before ``stored_end``.

    Raises
    ------
    InputError
        If ``given`` is not a date or is before the stored observation end, or the guard
        refuses a far-off last date (its message gives the fix).
    """
    if given is not None:
        end = check_date("observation_end", given)
        refuse_future(end)
        if end < stored_end:
            raise InputError(
                f"observation_end={end.isoformat()} is before the store's observation end "
                f"{stored_end.isoformat()}; an update only moves it forward. Give a later "
                "date or leave it out (the date of the last new line)")
        return end
    std = union_ing.standardized()
    clean_lines = con.table("transactions_clean", database=(catalog, "main"))
    day = clean_lines.order_ts.date().name("_vm_d")
    prior = con.to_pyarrow(clean_lines.group_by(day).aggregate(_vm_n=clean_lines.count()))
    n_stored = con.table("transactions_raw", database=(catalog, "main")).count()
    end, _ = default_observation_end(
        con, std.filter(std._row_id > offset), prior=(prior, int(n_stored.to_pyarrow().as_py())),
        fix=lambda cut, last: (
            "An update does not hold lines back: correct the dates in the file or leave those "
            f"lines out; if they are genuine, pass observation_end='{last.isoformat()}' (CLI "
            f"--observation-end {last.isoformat()})"), offset=offset,
        future_fix=lambda cut: (
            "An update does not hold lines back: correct the dates in the file or leave those "
            "lines out"))
    return stored_end if end is None or end < stored_end else end


def clean_union(con: Any, union_ing: Any, parameters: dict[str, Any],
                end: dt.date) -> Any:
    """Clean the union with the recorded rules; materialise its clean lines and quarantine.

    Returns
    -------
    CleanResult
        Of the union; :data:`U_CLEAN` and :data:`U_QUAR` hold its tables.
    """
    cleaned = clean(union_ing, preset=parameters["preset"], observation_end=end,
                    returns=parameters["returns"], require_clean=False)
    con.create_table(U_CLEAN, cleaned.transactions, temp=True, overwrite=True)
    con.create_table(U_QUAR, cleaned.quarantine, temp=True, overwrite=True)
    return cleaned


def flags_outliers(parameters: dict[str, Any]) -> bool:
    """Whether the recorded preset flags outliers (``is_outlier``)."""
    return PRESETS[parameters["preset"]].outliers == "flag"


def outlier_stats(con: Any, catalog: str, offset: int) -> tuple[float | None, float | None]:
    """Median and MAD of log(amount) over the updated clean log (``valuemax.clean``'s rule).

    The updated clean log is the stored clean lines of the customers not in the union plus
    the union's clean lines; amounts <= 0 (and NULL) do not count.
    """
    stored = con.table("transactions_clean", database=(catalog, "main"))
    u = con.table(UNION)
    redone = u.filter(u._row_id <= offset).select("_row_id")
    keep = stored.anti_join(redone, "_row_id").select("amount")
    both = keep.union(con.table(U_CLEAN).select("amount"))
    x = both.select(_vm_x=ibis.ifelse(both.amount > 0, both.amount, ibis.null("float64")).ln())
    s1 = x.aggregate(_vm_med=x._vm_x.median())
    c = x.cross_join(s1)
    s2 = c.aggregate(_vm_mad=(c._vm_x - c._vm_med).abs().median())
    row = s1.cross_join(s2).to_pyarrow().to_pylist()[0]
    return row["_vm_med"], row["_vm_mad"]


def outlier_sql(med: float | None, mad: float | None) -> str:
    """The SQL of ``is_outlier`` for the given median and MAD (``valuemax.clean``'s rule:
    modified z-score ``0.6745 (x - median) / MAD`` over 3.5 in absolute value)."""
    from valuemax.clean._report import OUTLIER_Z

    if med is None or mad is None or not mad > 0:
        return "FALSE"
    return (f"COALESCE(abs((0.6745 * (ln(CASE WHEN amount > 0 THEN amount END) - ({med!r})))"
            f" / ({mad!r})) > {OUTLIER_Z!r}, FALSE)")


def check_nothing_held(con: Any, catalog: str, stored_end: dt.date, store: Any) -> None:
    """Refuse a store holding lines back as ``after_observation_end``.

    ``analyze`` with an observation end before the log's last line keeps the later lines in
    the quarantine. An update re-cleans only the stored lines of the customers with new
    lines, so the other customers' held lines would stay out for good, and a file sending
    them again would count them twice (a log without order ids cannot tell the copies
    apart).

    Raises
    ------
    InputError
        With the count, the stored observation end and the fix (rebuild with ``analyze``).
    """
    q = con.table("quarantine", database=(catalog, "main"))
    n = int(q.filter(q.reason == "after_observation_end").count().to_pyarrow().as_py())
    if n:
        raise InputError(
            f"store {str(store)!r} holds {n:,} line{'s' if n > 1 else ''} back in its "
            "quarantine as after_observation_end (dated after its observation end "
            f"{stored_end.isoformat()}, given to analyze or update as observation_end=); an "
            "update cannot take them in without counting them twice or leaving some out. "
            "Rebuild the store with valuemax analyze on the whole log (without "
            "observation_end= or with a later one), then update it with later lines only"
        )


def check_none_after(con: Any, union_ing: Any, offset: int, end: dt.date,
                     source: str) -> None:
    """Refuse usable new lines dated after an update's given observation end ``end``.

    Held back, they would block every later update (see :func:`check_nothing_held`).

    Raises
    ------
    InputError
        With the count, the first lines and the fix.
    """
    std = union_ing.standardized()
    after = std.filter((std._row_id > offset) & usable(std)
                       & (std.order_ts.date() > ibis.literal(end)))
    _refuse_lines(after, offset, lambda n, shown: (
        f"{source}: {n:,} line{'s are' if n > 1 else ' is'} dated after observation_end="
        f"{end.isoformat()} (e.g. {shown}); an update does not hold lines back for a later "
        "one. Leave them out of the file, or give a later observation_end= (or none)"
    ))


__all__ = ["IDS", "NEW_RAW", "UNION", "U_CLEAN", "U_QUAR", "all_copies", "build_union",
           "check_late", "check_layout", "check_none_after", "check_nothing_held",
           "clean_union", "copies_of_stored", "flags_outliers", "new_observation_end",
           "outlier_sql", "outlier_stats"]
