"""Text dates and text numbers parsed on PostgreSQL and MySQL/MariaDB as the local path does.

The local path parses ``order_ts`` text with DuckDB's ``try_strptime`` and text numbers with
RE2 regular expressions and ``TRY_CAST``; neither server has those (``to_timestamp`` and
``STR_TO_DATE`` are lenient in other ways and raise or warn on bad values, a failing
``CAST`` aborts the statement, each engine's ``\\s`` and ``\\d`` are other characters, and
MariaDB's regular expressions ignore case under its default collation). This module builds
the same parse from expressions whose meaning is the same on DuckDB, PostgreSQL and
MySQL/MariaDB:

- dates: each strptime format of the plan becomes an anchored regular expression (``%Y``
  four digits, ``%y`` two, ``%m %d %H %M %S %I`` one or two, ``%f`` one to six, ``%p``
  am/pm in any case, a blank run one or more of DuckDB's blanks: space, tab, newline,
  vertical tab, form feed, carriage return); its fields are taken out with
  ``regexp_replace(text, pattern, '\\k')``, checked (month 1-12, the day within its month
  with leap years, hour 0-23 or 1-12 with am/pm, minute and second 0-59; ``%y`` below 69
  is 20yy, else 19yy, as DuckDB) and written as ``YYYY-MM-DD HH:MM:SS.ffffff``, which both
  servers cast to a timestamp exactly. The first format that parses wins, as in
  ``try_strptime``. Only the plans :func:`engine_date_reason` accepts are parsed so.
- numbers: the trimming, currency signs, thousands separators and decimal commas of
  :mod:`valuemax.io._numbers`, with explicit character classes (RE2's ``\\s`` is
  ``[\\t\\n\\f\\r ]``, ``\\d`` is ``[0-9]``), case-insensitive currency codes as letter
  classes, null-like words compared exactly (MariaDB's ``=`` and ``IN`` ignore case and
  accents; Ibis compares strings in binary there), and a cast only of plain decimals of at
  most 300 characters without an exponent, which every engine converts to the nearest
  double without overflow (:func:`engine_number_reason` sends a log with other plain
  numbers to the local path).

Values are trimmed of RE2's blanks (the local ``strip_expr``'s characters) before parsing.
"""

from __future__ import annotations

import re
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from valuemax.engines import re_replace
from valuemax.engines._portable import backend_name

#: Backends whose text dates and numbers are parsed by this module.
ENGINE_TEXT = frozenset({"postgres", "mysql"})
#: RE2's ``\s`` (the characters the local path trims), as literal characters.
_RE2_BLANK = "[\t\n\f\r ]"
#: DuckDB strptime's blanks (a blank in a format matches a run of them).
_STRP_BLANK = "[\t\n\x0b\f\r ]+"
#: strptime directive -> (field, regular expression of its digits).
_FIELDS = {"%Y": ("Y", "([0-9]{4})"), "%y": ("y", "([0-9]{2})"), "%m": ("m", "([0-9]{1,2})"),
           "%d": ("d", "([0-9]{1,2})"), "%H": ("H", "([0-9]{1,2})"),
           "%I": ("I", "([0-9]{1,2})"), "%M": ("M", "([0-9]{1,2})"),
           "%S": ("S", "([0-9]{1,2})"), "%f": ("f", "([0-9]{1,6})"),
           "%p": ("p", "([AaPp][Mm])")}
#: A field's column in :func:`engine_date_stages` (names differing in case only would be
#: one column on DuckDB and MySQL/MariaDB).
_COLUMN = {"Y": "year", "y": "yy", "m": "month", "d": "day", "H": "hour", "I": "hour12",
           "M": "minute", "S": "second", "f": "frac", "p": "ampm"}
#: A plain decimal the engines cast to a double exactly as DuckDB (no exponent: no
#: overflow to infinity, which the servers refuse; the length is checked beside it).
_ENGINE_PLAIN = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$"
_MAX_PLAIN = 300


def _regex(col: Any, pattern: str) -> str:
    """``pattern`` (RE2) with RE2's meaning on ``col``'s backend: ``\\d`` as ``[0-9]``;
    case-sensitive on MySQL/MariaDB (their collation makes it ignore case); on PostgreSQL
    ``.`` not matching a newline (``(?p)``; there it does by default, RE2's does not)."""
    pattern = pattern.replace(r"\d", "[0-9]")
    kind = backend_name(col)
    return ("(?-i)" if kind == "mysql" else "(?p)" if kind == "postgres" else "") + pattern


def _search(col: Any, pattern: str) -> Any:
    return col.re_search(_regex(col, pattern))


def _replace(col: Any, pattern: str, replacement: str) -> Any:
    return re_replace(col, _regex(col, pattern), replacement)


def engine_strip(col: Any) -> Any:
    """``col`` (text) without leading/trailing RE2 blanks, the same on every engine (the
    edge characters are compared, in binary on MySQL/MariaDB, before any regular
    expression runs: most values have no blank to remove)."""
    s = col if col.type().is_string() else col.cast(dt.string)
    first, last = s.substr(0, 1), s.right(1)
    edged = ibis.or_(*(c == b for c in (first, last) for b in "\t\n\f\r "))
    return ibis.ifelse(edged, _replace(s, f"^{_RE2_BLANK}+|{_RE2_BLANK}+$", ""), s)


# ---------------------------------------------------------------------------------------
# dates

def _format_regex(fmt: str) -> tuple[str, tuple[str, ...]] | None:
    """The anchored pattern of a strptime format and its fields in order, or None when the
    format has a directive this module does not parse (``%b``, ``%z``, ...)."""
    out, fields, i = ["^"], [], 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            field = _FIELDS.get(fmt[i:i + 2])
            if field is None:
                return None
            fields.append(field[0])
            out.append(field[1])
            i += 2
        elif ch.isspace():
            while i < len(fmt) and fmt[i].isspace():
                i += 1
            out.append(_STRP_BLANK)
        else:
            out.append(re.escape(ch) if ch.isascii() else ch)
            i += 1
    out.append("$")
    return "".join(out), tuple(fields)


def engine_date_reason(plan: Any) -> str | None:
    """Why the date plan ``plan`` cannot be parsed by :func:`engine_date_value`, or None.

    Parsed: text plans inferred from a family (a shape guard), formats of ``%Y %y %m %d
    %H %I %M %S %f %p``, blanks and literal characters; not: UTC offsets (``%z``), month
    names (``%b``/``%B``), epoch numbers and Excel serials, a user's ``date_format``
    (no shape guard).
    """
    if plan.kind != "text":
        return f"order_ts is {plan.kind}"
    if plan.guard is None:
        return "order_ts is parsed with a given date_format"
    if plan.tz:
        return "order_ts text carries UTC offsets"
    if plan.serials:
        return "order_ts mixes dates with Excel serial day numbers"
    for fmt in plan.formats:
        if _format_regex(fmt) is None:
            return f"order_ts has the format {fmt!r} (month names or offsets)"
    return None


def _field(text: Any, pattern: str, fields: tuple[str, ...], name: str) -> Any:
    """The digits of field ``name`` of a value matching ``pattern`` (NULL otherwise)."""
    if name not in fields:
        return None
    group = fields.index(name) + 1
    return ibis.ifelse(_search(text, pattern), _replace(text, pattern, f"\\{group}"),
                       ibis.null(dt.string))


def _days_in_month(year: Any, month: Any) -> Any:
    leap = ((year % 4) == 0) & (((year % 100) != 0) | ((year % 400) == 0))
    return ibis.cases((month == 2, ibis.ifelse(leap, 29, 28)),
                      (month.isin([4, 6, 9, 11]), 30), else_=31)


def _timestamp_text(fields: tuple[str, ...], get: Any) -> Any:
    """``YYYY-MM-DD HH:MM:SS.ffffff`` from a format's field texts (``get(name)``: the
    digits, NULL when the value does not match), NULL when a field is out of range."""

    def num(name: str, default: int) -> Any:
        return get(name).cast(dt.int64) if name in fields else ibis.literal(default)

    if "y" in fields:
        yy = num("y", 0)
        year = ibis.ifelse(yy < 69, yy + 2000, yy + 1900)
    else:
        year = num("Y", 0)
    month, day, minute, second = num("m", 1), num("d", 1), num("M", 0), num("S", 0)
    if "I" in fields:
        hour12 = num("I", 0)
        pm = get("p").upper() == "PM"
        hour = (hour12 % 12) + ibis.ifelse(pm, 12, 0)
        hour_ok = hour12.between(1, 12)
    else:
        hour = num("H", 0)
        hour_ok = hour.between(0, 23)
    frac = get("f").rpad(6, "0") if "f" in fields else ibis.literal("000000")
    ok = ((year >= 1) & month.between(1, 12) & hour_ok & (day >= 1)
          & (day <= _days_in_month(year, month)) & minute.between(0, 59)
          & second.between(0, 59))

    def pad(v: Any, n: int) -> Any:
        return v.cast(dt.string).lpad(n, "0")

    iso = (pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + " " + pad(hour, 2)
           + ":" + pad(minute, 2) + ":" + pad(second, 2) + "." + frac)
    return ibis.ifelse(ok, iso, ibis.null(dt.string))


def _format_value(text: Any, fmt: str) -> Any:
    """The timestamp text of ``text`` by one format (NULL when it does not parse)."""
    pattern, fields = _format_regex(fmt)
    return _timestamp_text(fields, lambda name: _field(text, pattern, fields, name))


def _as_timestamp(iso: Any) -> Any:
    return iso.cast(dt.Timestamp(scale=6))


def engine_date_value(text: Any, plan: Any) -> Any:
    """The naive timestamp of trimmed ``text`` per ``plan`` (NULL when unparseable), as
    DuckDB's ``try_strptime`` over the plan's formats gives it (plans
    :func:`engine_date_reason` accepts). Microseconds are kept (MySQL: ``DATETIME(6)``).

    One expression, in which every field's regular expression is repeated where the field
    is used: :func:`engine_date_stages` computes the same in steps, each regular expression
    once per row (what ``Ingested.standardized`` uses on the servers)."""
    values = [_format_value(text, fmt) for fmt in plan.formats]
    iso = ibis.coalesce(*values) if len(values) > 1 else values[0]
    return _as_timestamp(ibis.ifelse(_search(text, plan.guard), iso, ibis.null(dt.string)))


@ibis.udf.scalar.builtin(name="split_part")
def _split_part_sql(value: str, sep: str, k: dt.int32) -> str:
    """PostgreSQL/DuckDB ``split_part(value, sep, k)``: the k-th piece (1-based)."""


@ibis.udf.scalar.builtin(name="substring_index")
def _substring_index(value: str, sep: str, k: dt.int32) -> str:
    """MySQL/MariaDB ``SUBSTRING_INDEX(value, sep, k)``: before the k-th ``sep`` (k > 0),
    after the -k-th from the end (k < 0)."""


def _split_part(value: Any, k: int) -> Any:
    """The ``k``-th (1-based) ``'|'``-separated piece of ``value`` (NULL stays NULL)."""
    if backend_name(value) == "mysql":
        return _substring_index(_substring_index(value, "|", k), "|", -1)
    return _split_part_sql(value, "|", k)


def fence(t: Any) -> Any:
    """``t`` as a stage the server computes once per row before the next stage reads it.

    PostgreSQL pulls a plain subquery up into the query reading it, repeating each of its
    expressions wherever the outer query uses the column (a parse read in ten places ran
    ten times); a volatile column (``random()``) keeps the subquery apart. MySQL/MariaDB
    merge derived tables likewise, except those with a ``LIMIT`` (Ibis writes one for an
    offset). Other engines: ``t`` itself (DuckDB and Spark reuse common expressions)."""
    kind = backend_name(t)
    if kind == "postgres":
        return t.mutate(_vm_fence=ibis.random()).view()
    if kind == "mysql":
        return t.limit(None, offset=0).view()
    return t


def engine_date_stages(t: Any, text: str, plan: Any) -> tuple[Any, Any]:
    """The parse of ``t[text]`` (trimmed) in stages: ``(table, timestamp expression)``.

    The table is ``t`` with, per format ``i``, ``__ts{i}_ok`` (the value has its shape and
    matches the format) and then its fields ``__ts{i}_{year,month,...}`` (text, NULL when not
    matched), each a stage (:func:`fence`): one regular expression per field and format
    and row. The expression (over the table) is :func:`engine_date_value`'s timestamp."""
    regexes = [_format_regex(fmt) for fmt in plan.formats]
    shaped = _search(t[text], plan.guard)
    t = fence(t.mutate(**{f"__ts{i}_ok": shaped & _search(t[text], pattern)
                          for i, (pattern, _) in enumerate(regexes)}))
    # one regular expression per format: its fields joined by '|' (digits, am/pm)
    t = fence(t.mutate(**{
        f"__ts{i}_all": ibis.ifelse(t[f"__ts{i}_ok"], _replace(
            t[text], pattern, "|".join(f"\\{k}" for k in range(1, len(fields) + 1))),
            ibis.null(dt.string))
        for i, (pattern, fields) in enumerate(regexes)}))
    t = fence(t.mutate(**{
        f"__ts{i}_{_COLUMN[name]}": _split_part(t[f"__ts{i}_all"], k)
        for i, (_, fields) in enumerate(regexes) for k, name in enumerate(fields, 1)}))
    values = [_timestamp_text(fields, lambda name, i=i: t[f"__ts{i}_{_COLUMN[name]}"])
              for i, (_, fields) in enumerate(regexes)]
    iso = ibis.coalesce(*values) if len(values) > 1 else values[0]
    return t, _as_timestamp(iso)


def engine_date_year(text: Any, plan: Any) -> Any:
    """The year of trimmed ``text`` by the first of the plan's formats whose pattern it
    matches (int64; NULL when none), for :func:`year_reason`."""
    years = []
    for fmt in plan.formats:
        pattern, fields = _format_regex(fmt)
        if "Y" in fields:
            years.append(_field(text, pattern, fields, "Y").cast(dt.int64))
    if not years:
        return ibis.null(dt.int64)
    return ibis.ifelse(_search(text, plan.guard), ibis.coalesce(*years) if len(years) > 1
                       else years[0], ibis.null(dt.int64))


# ---------------------------------------------------------------------------------------
# numbers

def _token_alternation(tokens: tuple[str, ...]) -> str:
    def one(tok: str) -> str:
        if tok.isalpha() and tok.isascii():
            return "".join(f"[{c.upper()}{c.lower()}]" for c in tok)  # RE2's (?i:...)
        return re.escape(tok)
    return "|".join(one(t) for t in tokens)


def engine_cleaned_text(col: Any, plan: Any) -> Any:
    """:func:`valuemax.io._numbers.cleaned_text` with the same meaning on every engine."""
    s = engine_strip(col)
    if getattr(plan, "parens", False):
        from valuemax.io._numbers import accounting_negative

        s = accounting_negative(s, _search(s, r"^\([^()+-]*[0-9][^()+-]*\)$"))
    if plan.tokens:
        alt = _token_alternation(plan.tokens)
        s = _replace(_replace(s, rf"^([+-]?){_RE2_BLANK}*(?:{alt}){_RE2_BLANK}*", r"\1"),
                     rf"{_RE2_BLANK}*(?:{alt})$", "")
    sep, grouped = ((",", r"^[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$") if plan.decimal == "."
                    else (".", r"^[+-]?[0-9]{1,3}(?:\.[0-9]{3})+(?:,[0-9]+)?$"))
    if plan.thousands:
        s = ibis.ifelse(_search(s, grouped), s.replace(sep, ""), s)
    if plan.decimal == ",":
        s = ibis.ifelse(s.contains("."), ibis.null(dt.string), s.replace(",", "."))
    return s


def engine_number_stage1(col: Any, plan: Any) -> tuple[Any, Any]:
    """:func:`valuemax.io._numbers.number_stage1` of a text column on every engine:
    ``(trimmed text, null-like words as '', cleaned text)``."""
    text = engine_strip(col)
    if plan.null_tokens:
        is_token = ibis.or_(*(text == tok for tok in plan.null_tokens))
        text = ibis.ifelse(is_token, "", text)
    return text, engine_cleaned_text(col, plan)


def engine_number_stage2(cleaned: Any) -> Any:
    """The double of a plain decimal of at most 300 characters (NULL otherwise)."""
    plain = _search(cleaned, _ENGINE_PLAIN) & (cleaned.length() <= _MAX_PLAIN)
    return ibis.ifelse(plain, cleaned.cast(dt.float64), ibis.null(dt.float64))


def engine_number_reason(raw: Any, column: str, canonical: str, plan: Any) -> str | None:
    """Why the text numbers of ``raw[column]`` (the store's copy, DuckDB) cannot be parsed
    on the engine as locally, or None: a plain number with an exponent or longer than 300
    characters (the servers refuse what overflows a double, DuckDB makes it infinite)."""
    from valuemax.io._numbers import PLAIN, cleaned_text

    if getattr(plan, "minus", False):
        return (f"{canonical} (column {column!r}) has minus signs other than '-' (U+2212 "
                f"'−', U+2013 '–', ...), read as '-' only by the local parse")
    c = cleaned_text(raw[column], plan)
    odd = c.re_search(PLAIN) & (c.re_search("[eE]") | (c.length() > _MAX_PLAIN))
    n = int(raw.aggregate(n=odd.sum()).to_pyarrow().column("n")[0].as_py() or 0)
    if n:
        return (f"{canonical} (column {column!r}) has {n:,} numbers written with an exponent "
                f"or over {_MAX_PLAIN} characters, which overflow differently there")
    return None


def year_reason(raw: Any, column: str, plan: Any) -> str | None:
    """Why the text dates of ``raw[column]`` (the store's copy) cannot be parsed on the
    engine as locally, or None: a year before 1000 (DuckDB has year 0 as 1 BC, PostgreSQL
    has no year 0 and MariaDB's DATETIME starts in year 1000)."""
    year = engine_date_year(engine_strip(raw[column]), plan)
    n = int(raw.aggregate(n=(year < 1000).sum()).to_pyarrow().column("n")[0].as_py() or 0)
    if n:
        return f"order_ts (column {column!r}) has {n:,} dates before the year 1000"
    return None


__all__ = [
    "ENGINE_TEXT",
    "engine_cleaned_text",
    "engine_date_reason",
    "engine_date_stages",
    "engine_date_value",
    "engine_number_reason",
    "engine_number_stage1",
    "engine_number_stage2",
    "engine_strip",
    "fence",
    "year_reason",
]
