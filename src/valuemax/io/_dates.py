"""The date format of ``order_ts``, inferred in the engine; never a guessed day/month order.

One aggregate query over the distinct values counts, for each format family
(``_date_formats.FAMILIES``), the values it parses (a regex guard on the shape, e.g. a
four-digit year, plus DuckDB ``try_strptime``):

- exactly one family parses every value: it is used;
- several do (e.g. ``01/02/2024`` is day-first and month-first): ``InputError`` asking for
  ``date_format=``, with examples;
- none does, but the values the best family misses are parsed by another family: the column
  mixes formats: ``InputError`` with the formats, their counts and examples;
- no value parses but all are numbers shaped like epoch seconds/milliseconds or Excel serial
  days: ``InputError`` naming the ``date_format`` that reads them;
- otherwise the values no family parses become NULL with ``_parse_error='unparseable_date'``.

Values with a UTC offset keep their own local wall-clock time (the offset each carries read
and dropped), whether they share one offset or not: a line's purchase day never depends on
the other lines of its file; a note says so, and with several offsets which days differ from
the UTC days and how many lines.
"""

from __future__ import annotations

import datetime as _dt
import secrets
from dataclasses import replace
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.io._date_formats import (
    BY_KEY,
    DAY_MONTH,
    FAMILIES,
    OFFSET_RE,
    SERIAL_RE,
    SPECIAL_FORMATS,
    DateFamily,
    DatePlan,
    SourceZone,
    format_offset,
    offset_minutes,
    special_sql,
)
from valuemax.io._date_messages import (
    ambiguous_error,
    conflicts_error,
    describe,
    mixed_error,
    numeric_dates_error,
)
from valuemax.io._sql import duck, fetch, fetch_one, ident, lit, lit_list, strip


class Values:
    """The distinct trimmed non-empty values of a column with their counts, in a temp table.

    Every inference query reads this small table instead of re-grouping the raw log.
    """

    def __init__(self, con: Any, table: str, column: str, is_string: bool) -> None:
        self.con, self.column = con, column
        self.name = f"__valuemax_dates_{secrets.token_hex(4)}"
        col = ident(column) if is_string else f"CAST({ident(column)} AS VARCHAR)"
        # group the raw values first: trimming then runs on distinct values only
        duck(con).execute(
            f"CREATE TEMP TABLE {ident(self.name)} AS SELECT {strip('v')} AS s, sum(m) AS n "
            f"FROM (SELECT {col} AS v, count(*) AS m FROM {ident(table)} GROUP BY 1) "
            f"WHERE v IS NOT NULL AND {strip('v')} <> '' GROUP BY 1"
        )

    def drop(self) -> None:
        """Drop the temp table."""
        duck(self.con).execute(f"DROP TABLE IF EXISTS {ident(self.name)}")

    def without(self, regex: str) -> Values:
        """A copy without the values matching ``regex`` (drop it too)."""
        rest = Values.__new__(Values)
        rest.con, rest.column = self.con, self.column
        rest.name = f"__valuemax_dates_{secrets.token_hex(4)}"
        duck(self.con).execute(f"CREATE TEMP TABLE {ident(rest.name)} AS SELECT * FROM "
                               f"{ident(self.name)} WHERE NOT regexp_matches(s, {lit(regex)})")
        return rest

    def agg(self, exprs: list[str]) -> tuple:
        """One row of the aggregate SQL expressions ``exprs`` over (s, n)."""
        return fetch_one(self.con, f"SELECT {', '.join(exprs)} FROM {ident(self.name)}")

    def rows(self, sql: str) -> list[tuple]:
        """All rows of ``SELECT {sql}`` over the values table (``sql`` after SELECT)."""
        return fetch(self.con, sql.replace("{values}", ident(self.name)))

    def examples(self, where: str) -> str:
        """Up to 3 of the most frequent values satisfying ``where``, quoted."""
        rows = fetch(self.con, f"SELECT s FROM {ident(self.name)} WHERE {where} "
                               f"ORDER BY n DESC, s LIMIT 3")
        return ", ".join(repr(r[0]) for r in rows)

    def format_counts(self, family: DateFamily, where: str = "true"
                      ) -> list[tuple[str, int, str | None]]:
        """``[(format, count, example)]`` of ``family``'s formats with count > 0, by count."""
        exprs = []
        for fmt in family.formats:
            one = DateFamily(family.key, family.guard, (fmt,), family.tz).parses("s")
            exprs += [f"sum(n) FILTER (WHERE {where} AND {one})",
                      f"arg_max(s, n) FILTER (WHERE {where} AND {one})"]
        row = self.agg(exprs)
        out = [(f, int(row[2 * i] or 0), row[2 * i + 1]) for i, f in enumerate(family.formats)]
        return sorted((o for o in out if o[1]), key=lambda o: -o[1])


def _offsets(values: Values, family: DateFamily) -> tuple[int, bool, str]:
    """``(shift in minutes, local, note)`` for values with a UTC offset (``family``'s).

    The rule is per line: every value keeps its own local wall-clock time, the offset it
    carries read and dropped, so a purchase's day is the customer's local day whatever the
    other lines of the file carry (a store and its daily update files count days alike). One
    offset: a shift by it (the same times); several: ``local``, and the note says how many
    lines fall on another day than their UTC day, and which days.
    """
    parses = family.parses("s")
    rows = values.rows(f"SELECT regexp_extract(s, {lit(OFFSET_RE)}, 1), sum(n) FROM "
                       f"{{values}} WHERE {parses} GROUP BY 1")
    seen: dict[int | None, int] = {}
    for raw, n in rows:
        key = offset_minutes(raw)
        seen[key] = seen.get(key, 0) + int(n)
    total = sum(seen.values())
    if len(seen) == 1 and None not in seen:
        (minutes,) = seen
        off = format_offset(minutes)
        return minutes, False, (
            f"order_ts: all {total:,} values carry the UTC offset {off}; kept as the local "
            f"wall-clock time at {off} (naive, not converted to UTC), so purchase days are "
            f"the customers' local days")
    shown = ", ".join(f"{'unrecognised' if k is None else format_offset(k)}: {n:,} values"
                      for k, n in sorted(seen.items(), key=lambda kv: -kv[1]))
    local = (f"CAST(try_strptime(regexp_replace(s, {lit(OFFSET_RE)}, ''), "
             f"{lit_list([f.replace('%z', '') for f in family.formats])}) AS DATE)")
    utc = f"CAST(timezone('UTC', {family.value('s')}) AS DATE)"
    moved = values.rows(f"SELECT {local} AS d, sum(n) FROM {{values}} WHERE {parses} AND "
                        f"{local} <> {utc} GROUP BY 1 ORDER BY 1")
    n_moved = sum(int(n) for _, n in moved)
    days = ", ".join(f"{d:%Y-%m-%d}: {int(n):,} line{'s' if n != 1 else ''}"
                     for d, n in moved[:5])
    more = f", and {len(moved) - 5:,} more days" if len(moved) > 5 else ""
    where = (f"{n_moved:,} of {total:,} lines fall on another day than their UTC day and are "
             f"counted on their local day ({days}{more})" if n_moved else
             "no line's local day differs from its UTC day")
    return 0, True, (
        f"order_ts: the values carry {len(seen)} different UTC offsets ({shown}); each line "
        f"kept as its own local wall-clock time (its offset dropped once read, naive), so "
        f"purchase days are the customers' local days, in analyze and update alike; {where}. "
        f"To count UTC days instead, convert the column to UTC before loading")


def _special_plan(values: Values, kind: str) -> tuple[DatePlan, tuple[str, ...]]:
    ts = special_sql(kind, "s")
    total, parsed, lo, hi = values.agg(["sum(n)", f"sum(n) FILTER (WHERE {ts} IS NOT NULL)",
                                        f"min({ts})", f"max({ts})"])
    total, parsed = int(total or 0), int(parsed or 0)
    bad = f"{ts} IS NULL"
    if total and not parsed:
        raise InputError(
            f"order_ts (column {values.column!r}): date_format={kind!r} ({SPECIAL_FORMATS[kind]}) "
            f"parses none of its {total:,} values (e.g. {values.examples(bad)}); it expects "
            f"plain numbers. Pass the format the values are written in."
        )
    notes = [f"order_ts <- {values.column!r}: read as {SPECIAL_FORMATS[kind]} "
             f"(date_format={kind!r}, given): {parsed:,} values from {lo} to {hi}, naive"]
    if parsed < total:
        notes.append(f"order_ts: {total - parsed:,} of {total:,} values are not such numbers "
                     f"(e.g. {values.examples(bad)}) -> NULL, quarantined with reason 'unparseable_date'")
    return DatePlan(kind, (kind,)), tuple(notes)  # type: ignore[arg-type]


def _user_plan(values: Values, formats: tuple[str, ...]) -> tuple[DatePlan, tuple[str, ...]]:
    if formats[0] in SPECIAL_FORMATS:
        return _special_plan(values, formats[0])
    column = values.column
    tz = ["%z" in f for f in formats]
    if any(tz) and not all(tz):
        raise InputError(
            f"date_format={formats!r} mixes formats with and without a UTC offset (%z); "
            f"pass only one kind."
        )
    family = DateFamily("user", ".*", formats, tz=all(tz))
    try:
        total, parsed = values.agg(["sum(n)", f"sum(n) FILTER (WHERE {family.parses('s')})"])
    except Exception as exc:  # duckdb.InvalidInputException on a bad format string
        raise InputError(f"date_format={formats!r} is not a valid strptime format: "
                         f"{str(exc).splitlines()[0]}") from exc
    total, parsed = int(total or 0), int(parsed or 0)
    ex = values.examples(f"NOT {family.parses('s')}") if parsed < total else ""
    if total and not parsed:
        raise InputError(
            f"order_ts (column {column!r}): date_format={formats!r} parses none of its "
            f"{total:,} values (e.g. {ex}). Pass the format the values are written in."
        )
    if len(formats) > 1:
        _check_conflicts(values, family)
    notes = [f"order_ts <- {column!r}: parsed with date_format={list(formats)!r} (given)"]
    shift, local = 0, False
    if family.tz:
        shift, local, note = _offsets(values, family)
        notes.append(note)
    if parsed < total:
        notes.append(f"order_ts: {total - parsed:,} of {total:,} values do not match "
                     f"date_format (e.g. {ex}) -> NULL, quarantined with reason 'unparseable_date'")
    return DatePlan("text", formats, None, family.tz, shift=shift, local=local), tuple(notes)


def _check_conflicts(values: Values, family: DateFamily) -> None:
    """Raise when a value parses under two of the given formats to different dates."""
    one = [DateFamily("user", ".*", (f,), family.tz).value("s") for f in family.formats]
    pairs = [(i, j) for i in range(len(one)) for j in range(i + 1, len(one))]
    exprs = []
    for i, j in pairs:
        cond = f"{one[i]} <> {one[j]}"
        exprs += [f"sum(n) FILTER (WHERE {cond})",
                  f"arg_max(struct_pack(s := s, a := {one[i]}, b := {one[j]}), n) "
                  f"FILTER (WHERE {cond})"]
    row = values.agg(exprs)
    found = [(family.formats[i], family.formats[j], int(row[2 * k]), row[2 * k + 1])
             for k, (i, j) in enumerate(pairs) if row[2 * k]]
    if found:
        raise conflicts_error(values.column, family.formats, found)


def infer_date_plan(
    con: Any, table: str, column: str, dtype: Any, user_formats: tuple[str, ...] | None,
    zone: SourceZone | None = None, *, excel: bool = False, date1904: bool = False,
) -> tuple[DatePlan, tuple[str, ...]]:
    """Decide how to parse ``column`` of ``table`` into naive timestamps.

    Parameters
    ----------
    con : ibis DuckDB backend
    table, column : str
        The raw table and the source column mapped to ``order_ts``.
    dtype : ibis DataType
        The column's type.
    user_formats : tuple of str or None
        ``date_format=``: used as given (values it does not parse become NULL).
    zone : SourceZone or None
        The zone(s) of a timezone-aware column of a typed source, when known.
    excel : bool
        The table was read from an .xlsx sheet (every cell as text): five-digit numbers in a
        column of dates are cells holding Excel serial day numbers, read as such with a note
        (as with ``'excel_serial'`` given beside strptime formats).
    date1904 : bool
        The workbook uses the 1904 date system: serial day numbers in it are refused
        (``'excel_serial'`` reads the 1900 system; read 4 years and 1 day early otherwise).

    Returns
    -------
    (DatePlan, tuple of str)
        The plan and notes (formats chosen with counts, zones, unparseable values).

    Raises
    ------
    InputError
        If the column is empty, no format parses any value, the day/month order is ambiguous,
        or the column mixes formats; or ``user_formats`` is invalid, parses nothing or reads
        a value as two different dates; or serial day numbers occur in a 1904 workbook.
    """
    if dtype.is_timestamp():
        if dtype.timezone is not None:
            return _zoned_plan(con, column, zone)
        return DatePlan("timestamp"), (f"order_ts <- {column!r}: already a timestamp column",)
    if dtype.is_date():
        return DatePlan("date"), (f"order_ts <- {column!r}: a date column (taken at 00:00)",)
    values = Values(con, table, column, dtype.is_string())
    try:
        if date1904:
            _refuse_1904_serials(values, column, user_formats)
        mixed = _with_serials(values, user_formats, excel)
        if mixed is not None:
            return mixed
        if user_formats:
            return _user_plan(values, user_formats)
        return _infer(values)
    finally:
        values.drop()


def _refuse_1904_serials(values: Values, column: str, formats: tuple[str, ...] | None) -> None:
    """Refuse serial day numbers in a workbook of the 1904 date system (Mac Excel), where
    serial 0 is 1904-01-01: read with the 1900 origin they would be 4 years and 1 day
    early. Date cells (read as dates by the workbook reader) are not affected."""
    serial = f"regexp_matches(s, {lit(SERIAL_RE)})"
    n, ex = values.agg([f"sum(n) FILTER (WHERE {serial})",
                        f"first(s ORDER BY n DESC, s) FILTER (WHERE {serial})"])
    given = bool(formats) and "excel_serial" in formats
    if not int(n or 0) and not given:
        return
    what = (f"{column!r} holds {int(n or 0):,} serial day numbers (e.g. {ex!r})"
            if n else "date_format includes 'excel_serial'")
    raise InputError(
        f"order_ts: the workbook uses the 1904 date system (Mac Excel; serial 0 = "
        f"1904-01-01) and {what}; valuemax reads serials in the 1900 date system only, so "
        f"they would be read 4 years and 1 day early. Format those cells as dates in Excel "
        f"(or untick 'Use 1904 date system' and re-enter them), or write the dates as text "
        f"(2024-03-01), and call again.")


def _with_serials(values: Values, formats: tuple[str, ...] | None, excel: bool
                  ) -> tuple[DatePlan, tuple[str, ...]] | None:
    """The plan of a column mixing dates with Excel serial day numbers, or None.

    Applies to an .xlsx sheet (``excel``, no ``date_format``) and to ``date_format`` holding
    ``'excel_serial'`` beside strptime formats; also to ``'excel_serial'`` alone on an .xlsx
    sheet whose other values are dates of one inferred format. The serials are read as
    Excel serial days, the other values with the given or inferred formats, and a note says
    how many were serials, with an example and the range they were read as.
    """
    given = bool(formats) and "excel_serial" in formats
    others = tuple(f for f in formats or () if f != "excel_serial")
    if (formats and not given) or not (excel or others):
        return None
    serial = f"regexp_matches(s, {lit(SERIAL_RE)})"
    ts = special_sql("excel_serial", "s")
    total, n, lo, hi, ex = values.agg([
        "sum(n)", f"sum(n) FILTER (WHERE {serial})", f"min({ts}) FILTER (WHERE {serial})",
        f"max({ts}) FILTER (WHERE {serial})",
        f"first(s ORDER BY n DESC, s) FILTER (WHERE {serial})"])
    total, n = int(total or 0), int(n or 0)
    if not others and (not n or n == total):  # no serial or only numbers: one kind
        return None
    rest = values.without(SERIAL_RE)
    try:
        if others:
            plan, notes = _user_plan(rest, others)
        else:
            try:
                plan, notes = _infer(rest)
            except InputError:
                if given:  # 'excel_serial' alone: the other values are quarantined, noted
                    return None
                raise
    finally:
        rest.drop()
    how = "date_format includes 'excel_serial' (given)" if given else (
        "the cells hold the number of the day, not a date: an .xlsx date column formatted "
        "as a number or General")
    note = (f"order_ts: {n:,} of {total:,} values of {values.column!r} are Excel serial day "
            f"numbers (e.g. {ex!r} = {_serial_day(ex)}; {how}): read as "
            f"{SPECIAL_FORMATS['excel_serial']}, from {lo} to {hi}, beside the "
            f"{total - n:,} date values")
    if not given:
        note += (f". If those numbers are not dates, correct the cells; a day file read "
                 f"later with date_format={(*plan.formats, 'excel_serial')!r} reads them alike")
    return replace(plan, serials=True), (*notes, note) if n else notes


def _serial_day(example: str) -> str:
    moment = _dt.datetime(1899, 12, 30) + _dt.timedelta(days=float(example))
    return f"{moment:%Y-%m-%d %H:%M:%S}"


def plan_zone(plan: DatePlan) -> str | None:
    """The zone whose wall-clock time a timezone-aware ``order_ts`` column is read in (a zone
    name, an offset ``'+08:00'``, or ``'UTC'`` for several zones or bare instants); None for
    every other plan (naive timestamps, dates, text)."""
    if plan.kind != "timestamptz":
        return None
    return plan.zone or (format_offset(plan.shift) if plan.shift else "UTC")


def zone_conflict(stored: str | None, plan: DatePlan, column: str, source: str
                  ) -> str | None:
    """Why new lines read with ``plan`` would count days otherwise than a store whose log
    was read in zone ``stored`` (``plan_zone`` of its plan), or None.

    The rule of :func:`infer_date_plan` (one zone: its wall-clock time; several: UTC) is
    applied to each file it reads; a store and its daily update files count the same days
    only when they are read in the same zone, so a zone (or its absence) other than the
    store's is refused, naming both and the pandas call that converts.
    """
    new = plan_zone(plan)
    if new == stored:
        return None
    col = f"df[{column!r}]"
    if stored is None:
        return (f"{source}: order_ts (column {column!r}) is timezone-aware (read in zone "
                f"{new!r}), but the store's log had naive timestamps (local wall-clock times "
                f"without a zone): the new lines' days would be counted in another clock. "
                f"Pass the wall-clock times without the zone, as the store's: "
                f"{col} = {col}.dt.tz_localize(None) (or {col}.dt.tz_convert('<the store's "
                f"zone>').dt.tz_localize(None) if they are in another zone)")
    if new is None:
        return (f"{source}: order_ts (column {column!r}) has no time zone, but the store's "
                f"log was timezone-aware, read as wall-clock time in zone {stored!r}. Give "
                f"the new lines that zone: {col} = {col}.dt.tz_localize({stored!r}) (if "
                f"they are wall-clock times there)")
    return (f"{source}: order_ts (column {column!r}) is read in zone {new!r}, but the store's "
            f"log was read in zone {stored!r} (one zone: its wall-clock time; several: UTC): "
            f"the new lines' days would be counted in another zone than the stored lines'. "
            f"Convert them to the store's zone: {col} = {col}.dt.tz_convert({stored!r})")


def _zoned_plan(con: Any, column: str, zone: SourceZone | None
                ) -> tuple[DatePlan, tuple[str, ...]]:
    head = f"order_ts <- {column!r}: timezone-aware timestamps"
    if zone is None:
        return DatePlan("timestamptz"), (
            f"{head} stored as instants without a zone; converted to UTC (naive), so "
            f"purchase days are UTC days",)
    if zone.zone is None:
        shown = ", ".join(f"{z}: {n:,} values" for z, n in zone.seen)
        return DatePlan("timestamptz"), (
            f"{head} in {len(zone.seen)} different zones/offsets ({shown}); converted to UTC "
            f"(naive), so purchase days are UTC days",)
    keep = (f"{head}, all in zone {zone.zone!r}; kept as the local wall-clock time in that "
            f"zone (naive, not converted to UTC), so purchase days are the customers' local "
            f"days")
    try:
        duck(con).execute("SELECT timezone(?, TIMESTAMPTZ '2000-01-01 00:00:00+00')",
                          [zone.zone]).fetchall()
        return DatePlan("timestamptz", zone=zone.zone), (keep,)
    except Exception:  # duckdb.NotImplementedException: a zone ICU does not know
        minutes = offset_minutes(zone.zone)
        if minutes is not None:
            return DatePlan("timestamptz", shift=minutes), (keep,)
    return DatePlan("timestamptz"), (
        f"{head}, all in zone {zone.zone!r}, which DuckDB does not know; converted to UTC "
        f"(naive), so purchase days are UTC days. Convert the column to a known zone (e.g. "
        f"'Asia/Shanghai') to keep local days",)


def _infer(values: Values) -> tuple[DatePlan, tuple[str, ...]]:
    column = values.column
    guards = values.agg(["sum(n)", *(f"sum(n) FILTER (WHERE regexp_matches(s, {lit(f.guard)}))"
                                     for f in FAMILIES)])
    total = int(guards[0] or 0)
    if total == 0:
        raise InputError(
            f"order_ts (column {column!r}) has no values: every line lacks a date. Map the "
            f"date column with mapping={{'order_ts': '<column>'}} (CLI --map order_ts=<column>)."
        )
    shaped = [f for f, g in zip(FAMILIES, guards[1:], strict=True) if g]
    row = values.agg([f"sum(n) FILTER (WHERE {f.parses('s')})" for f in shaped]) if shaped else ()
    cover = {f.key: 0 for f in FAMILIES} | {f.key: int(c or 0) for f, c in zip(shaped, row,
                                                                               strict=True)}
    full = [k for k, c in cover.items() if c == total]
    if len(full) > 1:
        raise ambiguous_error(values, full, total)
    if full:
        return _plan_for(values, BY_KEY[full[0]], total)
    best = max(FAMILIES, key=lambda f: cover[f.key])
    if cover[best.key] == 0:
        raise numeric_dates_error(values, total) or InputError(
            f"order_ts (column {column!r}): none of its {total:,} values is a date in a known "
            f"format (e.g. {values.examples('true')}). Check the mapping (mapping="
            f"{{'order_ts': '<column>'}}) or pass the format with date_format='...' (CLI "
            f"--date-format)."
        )
    rivals = [f for f in FAMILIES if f is not best and cover[f.key]]
    if rivals:
        exprs = [f"sum(n) FILTER (WHERE NOT {best.parses('s')} AND {f.parses('s')})"
                 for f in rivals]
        rest = dict(zip([f.key for f in rivals], values.agg(exprs), strict=True))
        same = [k for k, r in rest.items() if not r and cover[k] == cover[best.key]]
        if same:
            raise ambiguous_error(values, [best.key, *same], total)
        mixed = [k for k, r in rest.items() if r]
        if mixed:
            raise mixed_error(values, best, [BY_KEY[k] for k in mixed])
    return _plan_for(values, best, total)


def _plan_for(values: Values, family: DateFamily, total: int
              ) -> tuple[DatePlan, tuple[str, ...]]:
    counts = values.format_counts(family)
    notes = [f"order_ts <- {values.column!r}: date format inferred: {describe(counts)}"]
    pair = DAY_MONTH.get(family.key)
    if pair:
        only = f"{family.parses('s')} AND NOT {BY_KEY[pair].parses('s')}"
        (n,) = values.agg([f"sum(n) FILTER (WHERE {only})"])
        order = "day-first" if family.key.startswith("dmy") else "month-first"
        notes.append(f"order_ts: {order}: {int(n or 0):,} values such as "
                     f"{values.examples(only)} can only be read {order}")
    if family.key.endswith("_yy"):
        notes.append("order_ts: two-digit years: 00-68 are read as 20xx, 69-99 as 19xx")
    shift, local = 0, False
    if family.tz:
        shift, local, note = _offsets(values, family)
        notes.append(note)
    parsed = sum(n for _, n, _ in counts)
    if parsed < total:
        ex = values.examples(f"NOT {family.parses('s')}")
        notes.append(f"order_ts: {total - parsed:,} of {total:,} values match no date format "
                     f"(e.g. {ex}) -> NULL, quarantined with reason 'unparseable_date'")
    formats = tuple(fmt for fmt, _, _ in counts)
    return (DatePlan("text", formats, family.guard, family.tz, shift=shift, local=local),
            tuple(notes))
