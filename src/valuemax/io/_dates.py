"""The date format of ``order_ts``, inferred in the engine; never a guessed day/month order.

Candidate formats come in families that share the order and separators of the date part
(ISO, ISO with a UTC offset, ``%d/%m/%Y``, ``%m/%d/%Y``, ``%Y%m%d``, ``%Y年%m月%d日``, ...);
formats of one family differ only in the time part, so one column may use several of them.
One aggregate query over the distinct values counts, for each family, the values it parses
(a regex guard on the shape, e.g. a four-digit year, plus DuckDB ``try_strptime``):

- exactly one family parses every value: it is used;
- several do (e.g. ``01/02/2024`` is day-first and month-first): ``InputError`` asking for
  ``date_format=``, with examples;
- none does, but the values the best family misses are parsed by another family: the column
  mixes formats: ``InputError`` with the formats, their counts and examples;
- otherwise the values no family parses become NULL with ``_parse_error='unparseable_date'``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt

from valuemax._core.exceptions import InputError
from valuemax.io._sql import duck, fetch, fetch_one, ident, lit, lit_list, strip, strip_expr

_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?: ?[AaPp][Mm])?)?"
_T_ISO = ("", " %H:%M:%S", " %H:%M", " %H:%M:%S.%f", "T%H:%M:%S", "T%H:%M", "T%H:%M:%S.%f")
_T_PLAIN = ("", " %H:%M:%S", " %H:%M")
_T_US = (*_T_PLAIN, " %I:%M:%S %p", " %I:%M %p")
_T_ZH = ("", " %H:%M:%S", " %H:%M", "%H:%M:%S", "%H:%M", " %H时%M分%S秒", "%H时%M分%S秒")
_TZ_SUFFIX = ("%H:%M:%S%z", "%H:%M:%S.%f%z", "%H:%M%z")


@dataclass(frozen=True)
class DateFamily:
    """Formats sharing one date-part order and separator, and the regex their values match."""

    key: str
    guard: str
    formats: tuple[str, ...]
    tz: bool = False

    def parses(self, value_sql: str) -> str:
        """SQL: true when the value parses with one of this family's formats."""
        prepared = f"regexp_replace({value_sql}, 'Z$', '+00:00')" if self.tz else value_sql
        # CASE, not AND: DuckDB would run the (slow when failing) try_strptime on every value
        return (f"(CASE WHEN regexp_matches({value_sql}, {lit(self.guard)}) THEN "
                f"try_strptime({prepared}, {lit_list(self.formats)}) END IS NOT NULL)")


def _fam(key: str, date_re: str, date_fmt: str, times: Sequence[str]) -> DateFamily:
    return DateFamily(key, f"^{date_re}{_TIME}$", tuple(date_fmt + t for t in times))


FAMILIES: tuple[DateFamily, ...] = (
    _fam("iso", r"\d{4}-\d{1,2}-\d{1,2}", "%Y-%m-%d", _T_ISO),
    DateFamily(
        "iso_offset",
        r"^\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)$",
        tuple(f"%Y-%m-%d{sep}{t}" for sep in ("T", " ") for t in _TZ_SUFFIX),
        tz=True,
    ),
    _fam("ymd_slash", r"\d{4}/\d{1,2}/\d{1,2}", "%Y/%m/%d", _T_PLAIN),
    _fam("ymd_dot", r"\d{4}\.\d{1,2}\.\d{1,2}", "%Y.%m.%d", _T_PLAIN),
    DateFamily("ymd_compact", r"^\d{8}(?:\d{6})?$", ("%Y%m%d", "%Y%m%d%H%M%S")),
    _fam("dmy_slash", r"\d{1,2}/\d{1,2}/\d{4}", "%d/%m/%Y", _T_US),
    _fam("mdy_slash", r"\d{1,2}/\d{1,2}/\d{4}", "%m/%d/%Y", _T_US),
    _fam("dmy_slash_yy", r"\d{1,2}/\d{1,2}/\d{2}", "%d/%m/%y", _T_US),
    _fam("mdy_slash_yy", r"\d{1,2}/\d{1,2}/\d{2}", "%m/%d/%y", _T_US),
    _fam("dmy_dash", r"\d{1,2}-\d{1,2}-\d{4}", "%d-%m-%Y", _T_PLAIN),
    _fam("mdy_dash", r"\d{1,2}-\d{1,2}-\d{4}", "%m-%d-%Y", _T_PLAIN),
    _fam("dmy_dot", r"\d{1,2}\.\d{1,2}\.\d{4}", "%d.%m.%Y", _T_PLAIN),
    DateFamily("zh", r"^\d{4}年\d{1,2}月\d{1,2}日.*$", tuple("%Y年%m月%d日" + t for t in _T_ZH)),
    DateFamily(
        "d_mon_y", rf"^\d{{1,2}}[- ][A-Za-z]{{3,9}}[- ]\d{{4}}{_TIME}$",
        tuple(f"%d{s}{m}{s}%Y{t}" for s in ("-", " ") for m in ("%b", "%B") for t in _T_PLAIN),
    ),
    DateFamily(
        "mon_d_y", rf"^[A-Za-z]{{3,9}} \d{{1,2}},? \d{{4}}{_TIME}$",
        tuple(f"{m} %d{c} %Y{t}" for m in ("%b", "%B") for c in (",", "") for t in _T_PLAIN),
    ),
)
_BY_KEY = {f.key: f for f in FAMILIES}
_DAY_MONTH = {"dmy_slash": "mdy_slash", "mdy_slash": "dmy_slash", "dmy_slash_yy":
              "mdy_slash_yy", "mdy_slash_yy": "dmy_slash_yy", "dmy_dash": "mdy_dash",
              "mdy_dash": "dmy_dash"}


@dataclass(frozen=True)
class DatePlan:
    """How ``standardized()`` turns the source column into ``order_ts``.

    ``kind``: ``'text'`` (parse with ``formats``, only values matching ``guard`` when set;
    ``tz``: formats with ``%z``, converted to UTC), ``'timestamp'``, ``'timestamptz'``
    (converted to UTC) or ``'date'`` (midnight).
    """

    kind: Literal["text", "timestamp", "timestamptz", "date"]
    formats: tuple[str, ...] = ()
    guard: str | None = None
    tz: bool = False


class _Values:
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
        duck(self.con).execute(f"DROP TABLE IF EXISTS {ident(self.name)}")

    def agg(self, exprs: list[str]) -> tuple:
        return fetch_one(self.con, f"SELECT {', '.join(exprs)} FROM {ident(self.name)}")

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


def _user_plan(values: _Values, formats: tuple[str, ...]) -> tuple[DatePlan, tuple[str, ...]]:
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
    notes = [f"order_ts <- {column!r}: parsed with date_format={list(formats)!r} (given)"]
    if parsed < total:
        notes.append(f"order_ts: {total - parsed:,} of {total:,} values do not match "
                     f"date_format (e.g. {ex}) -> NULL, _parse_error='unparseable_date'")
    return DatePlan("text", formats, None, all(tz)), tuple(notes)


def infer_date_plan(
    con: Any, table: str, column: str, dtype: Any, user_formats: tuple[str, ...] | None
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

    Returns
    -------
    (DatePlan, tuple of str)
        The plan and notes (formats chosen with counts, conversions, unparseable values).

    Raises
    ------
    InputError
        If the column is empty, no format parses any value, the day/month order is ambiguous,
        or the column mixes formats; or ``user_formats`` is invalid or parses nothing.
    """
    if dtype.is_timestamp():
        if dtype.timezone is not None:
            return DatePlan("timestamptz"), (
                f"order_ts <- {column!r}: timezone-aware timestamps (zone {dtype.timezone!r}) "
                f"converted to UTC and stored naive",)
        return DatePlan("timestamp"), (f"order_ts <- {column!r}: already a timestamp column",)
    if dtype.is_date():
        return DatePlan("date"), (f"order_ts <- {column!r}: a date column (taken at 00:00)",)
    values = _Values(con, table, column, dtype.is_string())
    try:
        if user_formats:
            return _user_plan(values, user_formats)
        return _infer(values)
    finally:
        values.drop()


def _infer(values: _Values) -> tuple[DatePlan, tuple[str, ...]]:
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
        raise _ambiguous(values, full, total)
    if full:
        return _plan_for(values, _BY_KEY[full[0]], total)
    best = max(FAMILIES, key=lambda f: cover[f.key])
    if cover[best.key] == 0:
        raise InputError(
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
            raise _ambiguous(values, [best.key, *same], total)
        mixed = [k for k, r in rest.items() if r]
        if mixed:
            raise _mixed(values, best, [_BY_KEY[k] for k in mixed])
    return _plan_for(values, best, total)


def _describe(counts: list[tuple[str, int, str | None]]) -> str:
    return ", ".join(f"{fmt!r} ({n:,} values, e.g. {ex!r})" for fmt, n, ex in counts)


def _plan_for(values: _Values, family: DateFamily, total: int
              ) -> tuple[DatePlan, tuple[str, ...]]:
    counts = values.format_counts(family)
    parsed = sum(n for _, n, _ in counts)
    notes = [f"order_ts <- {values.column!r}: date format inferred: {_describe(counts)}"]
    pair = _DAY_MONTH.get(family.key)
    if pair:
        only = f"{family.parses('s')} AND NOT {_BY_KEY[pair].parses('s')}"
        (n,) = values.agg([f"sum(n) FILTER (WHERE {only})"])
        order = "day-first" if family.key.startswith("dmy") else "month-first"
        notes.append(f"order_ts: {order}: {int(n or 0):,} values such as "
                     f"{values.examples(only)} can only be read {order}")
    if family.key.endswith("_yy"):
        notes.append("order_ts: two-digit years: 00-68 are read as 20xx, 69-99 as 19xx")
    if family.tz:
        notes.append(f"order_ts: {parsed:,} values carry a UTC offset; converted to UTC, naive")
    if parsed < total:
        ex = values.examples(f"NOT {family.parses('s')}")
        notes.append(f"order_ts: {total - parsed:,} of {total:,} values match no date format "
                     f"(e.g. {ex}) -> NULL, _parse_error='unparseable_date'")
    formats = tuple(fmt for fmt, _, _ in counts)
    return DatePlan("text", formats, family.guard, family.tz), tuple(notes)


def _ambiguous(values: _Values, keys: list[str], total: int) -> InputError:
    fams = [_BY_KEY[k] for k in keys]
    tops = [(values.format_counts(f) or [(f.formats[0], 0, None)])[0] for f in fams]
    examples = values.examples("true")
    formats = [fmt for fmt, _, _ in tops]
    day_month = any(k in _DAY_MONTH for k in keys)
    why = "the day/month order is ambiguous: " if day_month else ""
    options = " or ".join(f"date_format={f!r}" for f in formats)
    return InputError(
        f"order_ts (column {values.column!r}): {why}all {total:,} values parse with each of "
        f"{', '.join(repr(f) for f in formats)} (e.g. {examples}"
        f"{'; no day is above 12' if day_month else ''}). valuemax never guesses: pass "
        f"{options} (CLI --date-format '{formats[0]}')."
    )


def _mixed(values: _Values, best: DateFamily, others: list[DateFamily]) -> InputError:
    best_counts = values.format_counts(best)
    parts, formats = [_describe(best_counts)], [f for f, _, _ in best_counts]
    for fam in others:
        counts = values.format_counts(fam, f"NOT {best.parses('s')}")
        parts.append(_describe(counts))
        formats += [f for f, _, _ in counts]
    return InputError(
        f"order_ts (column {values.column!r}) holds dates in more than one format: "
        f"{'; '.join(parts)}. valuemax does not guess which is meant: if all are right, pass "
        f"them together, e.g. date_format={tuple(formats)!r} (date_format accepts several "
        f"formats as a tuple; each value is parsed by the first that fits, as DuckDB "
        f"try_strptime does with a list; CLI --date-format '{formats[0]}' --date-format "
        f"'{formats[-1]}'); otherwise correct the column."
    )


_STR_LIST = dt.Array(dt.string)
_TS = dt.Timestamp()
_TSZ = dt.Timestamp(timezone="UTC")


@ibis.udf.scalar.builtin(name="try_strptime")
def _try_strptime(value: str, formats: _STR_LIST) -> _TS:
    """DuckDB ``try_strptime(value, [formats])``: the first format that parses, else NULL."""


@ibis.udf.scalar.builtin(name="try_strptime")
def _try_strptime_tz(value: str, formats: _STR_LIST) -> _TSZ:
    """DuckDB ``try_strptime`` with ``%z`` formats (a TIMESTAMP WITH TIME ZONE)."""


@ibis.udf.scalar.builtin(name="timezone")
def _at_zone(zone: str, value: _TSZ) -> _TS:
    """DuckDB ``timezone(zone, timestamptz)``: the naive wall time in ``zone``."""


def date_stage1(col: Any, plan: DatePlan) -> Any:
    """Stage 1 of parsing: the trimmed text of a text column, else the column itself."""
    if plan.kind != "text":
        return col
    return strip_expr(col if col.type().is_string() else col.cast(dt.string))


def date_stage2(text: Any, plan: DatePlan) -> Any:
    """Stage 2: the naive timestamp (UTC for zone-aware input), NULL when unparseable."""
    if plan.kind == "timestamptz":
        return _at_zone("UTC", text)
    if plan.kind in ("timestamp", "date"):
        return text.cast(_TS)
    fmts = ibis.literal(list(plan.formats), type=_STR_LIST)
    if plan.tz:
        parsed = _at_zone("UTC", _try_strptime_tz(text.re_replace("Z$", "+00:00"), fmts))
    else:
        parsed = _try_strptime(text, fmts)
    if plan.guard is not None:
        parsed = ibis.ifelse(text.re_search(plan.guard), parsed, ibis.null(_TS))
    return parsed


def date_stage3(text: Any, ts: Any, plan: DatePlan) -> tuple[Any, Any]:
    """Stage 3: ``(is_missing, is_unparseable)``."""
    if plan.kind != "text":
        return text.isnull(), ibis.literal(False)
    missing = text.isnull() | (text == "")
    return missing, ~missing & ts.isnull()
