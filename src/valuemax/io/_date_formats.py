"""Date formats of ``order_ts``: the candidate families, the plan, and its Ibis expressions.

Formats come in families that share the order and separators of the date part (ISO, ISO with
a UTC offset, ``%d/%m/%Y``, ``%m/%d/%Y``, ``%Y%m%d``, ``%Y年%m月%d日``, ...); formats of one
family differ only in the time part. Besides strptime formats, ``date_format`` accepts the
numeric encodings in ``SPECIAL_FORMATS`` (Unix epoch seconds/milliseconds, Excel serial days).

Time zones (DESIGN.md §5: never dropped without a note): text values with a UTC offset keep
each its own local wall-clock time (purchase days are the customer's local days, whatever
the other lines carry); a timezone-aware column in one zone keeps that zone's wall-clock
time, in several zones it is converted to UTC.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt

from valuemax.engines._portable import backend_name
from valuemax.io._engine_parse import ENGINE_TEXT, engine_date_value, engine_strip
from valuemax.io._sql import lit, lit_list, strip_expr

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

    def value(self, value_sql: str) -> str:
        """SQL: the value parsed with the first of this family's formats that fits, or NULL."""
        prepared = f"regexp_replace({value_sql}, 'Z$', '+00:00')" if self.tz else value_sql
        # CASE, not AND: DuckDB would run the (slow when failing) try_strptime on every value
        return (f"(CASE WHEN regexp_matches({value_sql}, {lit(self.guard)}) THEN "
                f"try_strptime({prepared}, {lit_list(self.formats)}) END)")

    def parses(self, value_sql: str) -> str:
        """SQL: true when the value parses with one of this family's formats."""
        return f"({self.value(value_sql)} IS NOT NULL)"


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
BY_KEY = {f.key: f for f in FAMILIES}
DAY_MONTH = {"dmy_slash": "mdy_slash", "mdy_slash": "dmy_slash", "dmy_slash_yy":
             "mdy_slash_yy", "mdy_slash_yy": "dmy_slash_yy", "dmy_dash": "mdy_dash",
              "mdy_dash": "dmy_dash"}

#: ``date_format`` values that are not strptime formats: numeric date encodings.
SPECIAL_FORMATS: dict[str, str] = {
    "epoch_s": "Unix epoch seconds (UTC)",
    "epoch_ms": "Unix epoch milliseconds (UTC)",
    "excel_serial": "Excel serial day numbers (1900 date system; 40546 = 2011-01-03)",
}
_NUMERIC = r"^[+-]?\d+(?:\.\d+)?$"
#: An Excel serial day number as a workbook cell holds it (five digits: 1927-05-18 .. 2173).
SERIAL_RE = r"^\d{5}(?:\.\d+)?$"
_EXCEL_EPOCH = 25569.0  # Excel serial of 1970-01-01
_MICROS = {"epoch_s": 1e6, "epoch_ms": 1e3, "excel_serial": 86_400e6}
#: A UTC offset at the end of a value: Z, +08, +0800, +08:00.
OFFSET_RE = r"(Z|[+-]\d{2}(?::?\d{2})?)$"


def special_sql(kind: str, value_sql: str) -> str:
    """SQL: the naive timestamp of a ``SPECIAL_FORMATS`` value (text), or NULL.

    Mirrors ``date_stage2`` for the inference queries.
    """
    v = (f"(CASE WHEN regexp_matches({value_sql}, {lit(_NUMERIC)}) THEN "
         f"TRY_CAST({value_sql} AS DOUBLE) END)")
    if kind == "excel_serial":
        v = f"(CASE WHEN {v} >= 61 THEN {v} - {_EXCEL_EPOCH} END)"
    return f"make_timestamp(TRY_CAST({v} * {_MICROS[kind]} AS BIGINT))"


def offset_minutes(offset: str) -> int | None:
    """Minutes east of UTC of an offset such as ``'+08:00'``, ``'-0530'``, ``'Z'``.

    Examples
    --------
    >>> offset_minutes("+08:00"), offset_minutes("-0530"), offset_minutes("Z")
    (480, -330, 0)
    """
    if offset in ("Z", "z"):
        return 0
    m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})?", offset or "")
    if not m:
        return None
    minutes = int(m.group(2)) * 60 + int(m.group(3) or 0)
    return -minutes if m.group(1) == "-" else minutes


def format_offset(minutes: int) -> str:
    """``'+08:00'`` for 480.

    Examples
    --------
    >>> format_offset(-330)
    '-05:30'
    """
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


@dataclass(frozen=True)
class SourceZone:
    """The time zone(s) of a timezone-aware column of a typed source.

    ``zone``: the one zone (IANA name such as ``'Asia/Shanghai'``, or an offset ``'+08:00'``)
    all its values carry, or None when they carry several (``seen``: zone or offset -> count)
    or the source stores instants without a zone.
    """

    zone: str | None
    seen: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class DatePlan:
    """How ``standardized()`` turns the source column into ``order_ts``.

    ``kind``: ``'text'`` (parse with ``formats``, only values matching ``guard`` when set;
    ``tz``: formats with ``%z``), ``'timestamp'``, ``'timestamptz'``, ``'date'`` (midnight)
    or one of ``SPECIAL_FORMATS``. Zone-aware values become the wall-clock time in ``zone``
    (a DuckDB zone name; None: UTC), plus ``shift`` minutes (the one UTC offset they share);
    with ``local`` (text values carrying several UTC offsets) each value keeps its own
    wall-clock time, its offset read and dropped, so a line's purchase day never depends on
    the other lines of the file. ``serials``: values shaped like ``SERIAL_RE`` are Excel
    serial day numbers (an .xlsx date column where some cells hold the number, not a date).
    """

    kind: Literal["text", "timestamp", "timestamptz", "date", "epoch_s", "epoch_ms",
                  "excel_serial"]
    formats: tuple[str, ...] = ()
    guard: str | None = None
    tz: bool = False
    zone: str | None = None
    shift: int = 0
    local: bool = False
    serials: bool = False

    @property
    def recorded(self) -> tuple[str, ...]:
        """The ``date_format`` that reads a new file as this plan does (``update``)."""
        return (*self.formats, "excel_serial") if self.serials else self.formats


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


@ibis.udf.scalar.builtin(name="make_timestamp")
def _make_timestamp(micros: dt.int64) -> _TS:
    """DuckDB ``make_timestamp(microseconds since 1970-01-01)``: a naive timestamp."""


def date_stage1(col: Any, plan: DatePlan) -> Any:
    """Stage 1 of parsing: the trimmed text of a text column, else the column itself."""
    if plan.kind in ("timestamp", "timestamptz", "date"):
        return col
    if plan.kind == "text" and backend_name(col) in ENGINE_TEXT:
        return engine_strip(col)
    return strip_expr(col if col.type().is_string() else col.cast(dt.string))


def _local(instant: Any, plan: DatePlan) -> Any:
    """The naive wall-clock time of a TIMESTAMP WITH TIME ZONE per the plan's zone/shift."""
    naive = _at_zone(plan.zone or "UTC", instant)
    return naive + ibis.interval(minutes=plan.shift) if plan.shift else naive


def date_stage2(text: Any, plan: DatePlan) -> Any:
    """Stage 2: the naive timestamp (see ``DatePlan`` for zones), NULL when unparseable."""
    if plan.kind == "timestamptz":
        return _local(text, plan)
    if plan.kind in ("timestamp", "date"):
        return text.cast(_TS)
    if plan.kind in SPECIAL_FORMATS:
        return _special_value(text, plan.kind)
    if not plan.tz and backend_name(text) in ENGINE_TEXT:  # no try_strptime there
        return engine_date_value(text, plan)
    if plan.local:  # each value's own wall-clock time: the offset read, then dropped
        naive = [f.replace("%z", "") for f in plan.formats]
        parsed = ibis.ifelse(text.re_search(OFFSET_RE), _try_strptime(
            text.re_replace(OFFSET_RE, ""), ibis.literal(naive, type=_STR_LIST)),
            ibis.null(_TS))
    elif plan.tz:
        fmts = ibis.literal(list(plan.formats), type=_STR_LIST)
        parsed = _local(_try_strptime_tz(text.re_replace("Z$", "+00:00"), fmts), plan)
    else:
        parsed = _try_strptime(text, ibis.literal(list(plan.formats), type=_STR_LIST))
    if plan.guard is not None:
        parsed = ibis.ifelse(text.re_search(plan.guard), parsed, ibis.null(_TS))
    if plan.serials:
        parsed = ibis.ifelse(text.re_search(SERIAL_RE), _special_value(text, "excel_serial"),
                             parsed)
    return parsed


def _special_value(text: Any, kind: str) -> Any:
    """The naive timestamp of a ``SPECIAL_FORMATS`` number (text), NULL when not one."""
    v = ibis.ifelse(text.re_search(_NUMERIC), text.try_cast(dt.float64), ibis.null(dt.float64))
    if kind == "excel_serial":  # serials below 61 fall before Excel's 1900-02-29 bug
        v = ibis.ifelse(v >= 61, v - _EXCEL_EPOCH, ibis.null(dt.float64))
    return _make_timestamp((v * _MICROS[kind]).try_cast(dt.int64))


def date_stage3(text: Any, ts: Any, plan: DatePlan) -> tuple[Any, Any]:
    """Stage 3: ``(is_missing, is_unparseable)``."""
    if plan.kind in ("timestamp", "timestamptz", "date"):
        return text.isnull(), ibis.literal(False)
    missing = text.isnull() | (text == "")
    return missing, ~missing & ts.isnull()
