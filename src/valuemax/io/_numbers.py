"""Numbers (amount, quantity, unit_price) and identifiers, inspected in the engine.

Text numbers are parsed only when they are plain decimals (``^[+-]?\\d+(\\.\\d*)?(e..)?$``)
after removing, where the column has them, a currency sign or code (leading or trailing:
£ $ € ¥ ￥ 元 RMB CNY USD GBP EUR) and thousands separators (``1,234.50``). Each removal is
noted with its count; two currencies in one column are an error (never mixed currencies).
What is still not a number becomes NULL (``_parse_error='unparseable_amount'`` for the amount).

Identifiers are trimmed text; blank -> NULL. A text column whose every value is a float-like
integer (``'17850.0'``, as pandas writes integer ids with missing values) loses the ``.0``; a
float column with integral values is written as integers. Leading zeros are kept.

The same Ibis expressions serve the inference queries here and ``Ingested.standardized()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt

from valuemax._core.exceptions import InputError
from valuemax.io._sql import strip_expr

#: Currency signs and codes, and the currency each stands for.
CURRENCY_TOKENS: dict[str, str] = {
    "£": "GBP", "GBP": "GBP", "$": "USD", "USD": "USD", "€": "EUR", "EUR": "EUR",
    "¥": "CNY", "￥": "CNY", "元": "CNY", "RMB": "CNY", "CNY": "CNY",
}
_ANY_TOKEN = r"£|\$|€|¥|￥|元|(?i:RMB|CNY|USD|GBP|EUR)"
_LEAD = rf"^[+-]?\s*({_ANY_TOKEN})"
_TRAIL = rf"({_ANY_TOKEN})$"
PLAIN = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
THOUSANDS = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$"
_DECIMAL_COMMA = r"^[+-]?\d+,\d{1,2}$"
_FLOAT_INT = r"^[+-]?\d+\.0+$"


@dataclass(frozen=True)
class NumberPlan:
    """How a numeric column is parsed: ``'numeric'`` (cast) or ``'text'`` (cleaned, parsed).

    ``tokens``: currency signs/codes removed; ``thousands``: remove ',' in ``1,234.5``.
    """

    kind: Literal["numeric", "text"]
    tokens: tuple[str, ...] = ()
    thousands: bool = False


@dataclass(frozen=True)
class IdPlan:
    """How an id column becomes text.

    ``kind``: ``'text'`` (trim, blank -> NULL), ``'float_text'`` (also drop ``.0``),
    ``'float_int'`` (float column, integral: via int64), ``'cast'`` (other types).
    """

    kind: Literal["text", "float_text", "float_int", "cast"]


def _token_alternation(tokens: tuple[str, ...]) -> str:
    return "|".join(f"(?i:{t})" if t.isalpha() and t.isascii() else re.escape(t) for t in tokens)


def _text(col: Any) -> Any:
    return strip_expr(col if col.type().is_string() else col.cast(dt.string))


def cleaned_text(col: Any, plan: NumberPlan) -> Any:
    """The trimmed text of ``col`` with the plan's currency tokens and separators removed."""
    s = _text(col)
    if plan.tokens:
        alt = _token_alternation(plan.tokens)
        s = s.re_replace(rf"^([+-]?)\s*(?:{alt})\s*", r"\1").re_replace(rf"\s*(?:{alt})$", "")
    if plan.thousands:
        s = ibis.ifelse(s.re_search(THOUSANDS), s.replace(",", ""), s)
    return s


def number_stage1(col: Any, plan: NumberPlan) -> tuple[Any, Any]:
    """Stage 1 of parsing: ``(trimmed text, cleaned text)``, or the float64 value twice."""
    if plan.kind == "numeric":
        v = col.cast(dt.float64)
        return v, v
    return _text(col), cleaned_text(col, plan)


def number_stage2(cleaned: Any, plan: NumberPlan) -> Any:
    """Stage 2: the float64 value of the cleaned text (NULL unless a plain decimal)."""
    if plan.kind == "numeric":
        return cleaned
    return ibis.ifelse(cleaned.re_search(PLAIN), cleaned.try_cast(dt.float64),
                       ibis.null(dt.float64))


def number_stage3(text: Any, value: Any, plan: NumberPlan) -> tuple[Any, Any, Any]:
    """Stage 3: ``(value, is_missing, is_unparseable)``; NaN counts as missing, +-inf as
    unparseable, and both become NULL."""
    if plan.kind == "numeric":
        missing = text.isnull() | text.isnan()
        bad = ~missing & text.isinf()
    else:
        missing = text.isnull() | (text == "")
        bad = ~missing & (value.isnull() | value.isinf())
    return ibis.ifelse(missing | bad, ibis.null(dt.float64), value), missing, bad


def infer_number_plan(
    raw: Any, column: str, canonical: str, code: str | None
) -> tuple[NumberPlan, tuple[str, ...]]:
    """Inspect ``raw[column]``: currency tokens, thousands separators, non-numbers.

    Parameters
    ----------
    raw : ibis.Table
    column : str
        Source column mapped to ``canonical``.
    canonical : str
        amount, quantity or unit_price (for messages).
    code : str or None
        The ``_parse_error`` code non-numbers get (named in the note), if any.

    Returns
    -------
    (NumberPlan, tuple of str)
        The plan and notes with counts.

    Raises
    ------
    InputError
        If the column mixes currencies.
    """
    col = raw[column]
    dtype = col.type()
    if dtype.is_numeric() and not dtype.is_boolean():
        return NumberPlan("numeric"), ()
    # every check runs on the distinct values with their counts
    distinct = raw.group_by(v=col).aggregate(m=lambda t: t.count())
    vals = (distinct.select(s=_text(distinct.v), m=distinct.m)
            .filter(lambda t: t.s.notnull() & (t.s != ""))
            .group_by("s").aggregate(n=lambda t: t.m.sum()).cache())
    try:
        return _number_plan(vals, column, canonical, code)
    finally:
        vals.release()


def _number_plan(
    vals: Any, column: str, canonical: str, code: str | None
) -> tuple[NumberPlan, tuple[str, ...]]:
    groups = (
        vals.mutate(lead=vals.s.re_extract(_LEAD, 1).upper(),
                    trail=vals.s.re_extract(_TRAIL, 1).upper())
        .group_by(["lead", "trail"])
        .aggregate(n=lambda t: t.n.sum(), ex=lambda t: t.s.min())
        .to_pyarrow().to_pylist()
    )
    counts: dict[str, int] = {}
    examples: dict[str, str] = {}
    for g in groups:
        for tok in {g["lead"], g["trail"]} - {"", None}:
            counts[tok] = counts.get(tok, 0) + g["n"]
            examples.setdefault(tok, g["ex"])
    currencies = {CURRENCY_TOKENS[t] for t in counts}
    if len(currencies) > 1:
        shown = ", ".join(f"{t!r} in {n:,} values (e.g. {examples[t]!r})"
                          for t, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        raise InputError(
            f"{canonical} (column {column!r}) mixes currencies: {shown}. valuemax never adds "
            f"up different currencies: convert the values to one currency (or split the log "
            f"by currency) before reading it."
        )
    tokens = tuple(sorted(counts, key=lambda t: -counts[t]))
    c = cleaned_text(vals.s, NumberPlan("text", tokens, thousands=False))
    stats = vals.select(s=vals.s, n=vals.n, c=c).aggregate(
        n=lambda t: t.n.sum(),
        thousands=lambda t: t.n.sum(where=t.c.re_search(THOUSANDS)),
        ok=lambda t: t.n.sum(where=t.c.re_search(PLAIN) | t.c.re_search(THOUSANDS)),
        comma=lambda t: t.n.sum(where=t.s.re_search(_DECIMAL_COMMA)),
    ).to_pyarrow().to_pylist()[0]
    n, n_thousands = int(stats["n"] or 0), int(stats["thousands"] or 0)
    plan = NumberPlan("text", tokens, thousands=n_thousands > 0)
    notes: list[str] = []
    removed = [f"currency sign {t!r} from {counts[t]:,} values" for t in tokens]
    if n_thousands:
        removed.append(f"thousands separator ',' from {n_thousands:,} values")
    if removed:
        notes.append(f"{canonical} (column {column!r}): removed {'; '.join(removed)}")
    n_bad = n - int(stats["ok"] or 0)
    if n_bad:
        bad = (vals.mutate(c=cleaned_text(vals.s, plan)).filter(lambda t: ~t.c.re_search(PLAIN))
               .order_by([ibis.desc("n"), "s"]).limit(3).to_pyarrow().column("s").to_pylist())
        where = f", _parse_error={code!r}" if code else ""
        hint = ""
        if int(stats["comma"] or 0):
            hint = (f" ({int(stats['comma']):,} look like decimal commas, e.g. '12,50': "
                    f"write decimals with a point)")
        notes.append(
            f"{canonical} (column {column!r}): {n_bad:,} of {n:,} values are not numbers "
            f"(e.g. {', '.join(repr(b) for b in bad)}) -> NULL{where}{hint}"
        )
    return plan, tuple(notes)


def id_expr(col: Any, plan: IdPlan) -> Any:
    """The id as trimmed text, blank -> NULL, per ``plan``."""
    if plan.kind == "float_int":
        v = col.cast(dt.float64)
        return ibis.ifelse(v.isnan(), ibis.null(dt.int64), v.try_cast(dt.int64)).cast(dt.string)
    s = _text(col)
    if plan.kind == "float_text":
        s = s.re_replace(r"\.0+$", "")
    return s.nullif("")


def infer_id_plan(raw: Any, column: str, canonical: str) -> tuple[IdPlan, tuple[str, ...]]:
    """Inspect an id column: float-like integers, surrounding blanks, blank values.

    Returns
    -------
    (IdPlan, tuple of str)
    """
    col = raw[column]
    dtype = col.type()
    label = f"{canonical} (column {column!r})"
    if dtype.is_floating() or dtype.is_decimal():
        v = col.cast(dt.float64)
        st = raw.select(v=v).filter(lambda t: t.v.notnull() & ~t.v.isnan()).aggregate(
            n=lambda t: t.count(), integral=lambda t: (t.v == t.v.floor()).sum(),
        ).to_pyarrow().to_pylist()[0]
        n, integral = int(st["n"] or 0), int(st["integral"] or 0)
        if n and integral == n:
            return IdPlan("float_int"), (
                f"{label}: a float column with integral values; written as integers "
                f"(17850.0 -> '17850') for {n:,} values",)
        return IdPlan("cast"), (f"{label}: a float column with {n - integral:,} non-integral "
                                f"values; ids are its values as text",)
    if not dtype.is_string():
        return IdPlan("cast"), ()
    distinct = raw.filter(col.notnull()).group_by(raw_=col).aggregate(m=lambda t: t.count())
    s = strip_expr(distinct.raw_)
    st = distinct.select(raw_=distinct.raw_, s=s, m=distinct.m).aggregate(
        n=lambda t: t.m.sum(),
        blank=lambda t: t.m.sum(where=t.s == ""),
        padded=lambda t: t.m.sum(where=(t.s != t.raw_) & (t.s != "")),
        float_like=lambda t: t.m.sum(where=t.s.re_search(_FLOAT_INT)),
    ).to_pyarrow().to_pylist()[0]
    n, blank = int(st["n"] or 0), int(st["blank"] or 0)
    padded, float_like = int(st["padded"] or 0), int(st["float_like"] or 0)
    notes = []
    kind: Literal["text", "float_text"] = "text"
    if float_like and float_like == n - blank:
        kind = "float_text"
        notes.append(f"{label}: every value is a float-like integer ('17850.0'); removed the "
                     f"'.0' from {float_like:,} values")
    if padded:
        notes.append(f"{label}: trimmed surrounding blanks from {padded:,} values")
    if blank:
        notes.append(f"{label}: {blank:,} blank values -> NULL")
    return IdPlan(kind), tuple(notes)
