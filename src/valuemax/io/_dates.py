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

Values with a UTC offset keep their local wall-clock time when they all share one offset and
are converted to UTC when the offsets differ; either way a note says so.
"""

from __future__ import annotations

import secrets
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.io._date_formats import (
    BY_KEY,
    DAY_MONTH,
    FAMILIES,
    OFFSET_RE,
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
from valuemax.io._sql import duck, fetch, fetch_one, ident, lit, strip


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


def _offsets(values: Values, parses: str) -> tuple[int, str]:
    """``(shift in minutes, note)`` for values with a UTC offset (those satisfying ``parses``).

    One offset: keep the local wall-clock time (shift = that offset). Several: UTC (0).
    """
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
        return minutes, (
            f"order_ts: all {total:,} values carry the UTC offset {off}; kept as the local "
            f"wall-clock time at {off} (naive, not converted to UTC), so purchase days are "
            f"the customers' local days")
    shown = ", ".join(f"{'unrecognised' if k is None else format_offset(k)}: {n:,} values"
                      for k, n in sorted(seen.items(), key=lambda kv: -kv[1]))
    return 0, (f"order_ts: the values carry {len(seen)} different UTC offsets ({shown}); "
               f"converted to UTC (naive), so purchase days are UTC days")


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
    shift = 0
    if family.tz:
        shift, note = _offsets(values, family.parses("s"))
        notes.append(note)
    if parsed < total:
        notes.append(f"order_ts: {total - parsed:,} of {total:,} values do not match "
                     f"date_format (e.g. {ex}) -> NULL, quarantined with reason 'unparseable_date'")
    return DatePlan("text", formats, None, family.tz, shift=shift), tuple(notes)


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
    zone: SourceZone | None = None,
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

    Returns
    -------
    (DatePlan, tuple of str)
        The plan and notes (formats chosen with counts, zones, unparseable values).

    Raises
    ------
    InputError
        If the column is empty, no format parses any value, the day/month order is ambiguous,
        or the column mixes formats; or ``user_formats`` is invalid, parses nothing or reads
        a value as two different dates.
    """
    if dtype.is_timestamp():
        if dtype.timezone is not None:
            return _zoned_plan(con, column, zone)
        return DatePlan("timestamp"), (f"order_ts <- {column!r}: already a timestamp column",)
    if dtype.is_date():
        return DatePlan("date"), (f"order_ts <- {column!r}: a date column (taken at 00:00)",)
    values = Values(con, table, column, dtype.is_string())
    try:
        if user_formats:
            return _user_plan(values, user_formats)
        return _infer(values)
    finally:
        values.drop()


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
    shift = 0
    if family.tz:
        shift, note = _offsets(values, family.parses("s"))
        notes.append(note)
    parsed = sum(n for _, n, _ in counts)
    if parsed < total:
        ex = values.examples(f"NOT {family.parses('s')}")
        notes.append(f"order_ts: {total - parsed:,} of {total:,} values match no date format "
                     f"(e.g. {ex}) -> NULL, quarantined with reason 'unparseable_date'")
    formats = tuple(fmt for fmt, _, _ in counts)
    return DatePlan("text", formats, family.guard, family.tz, shift=shift), tuple(notes)
