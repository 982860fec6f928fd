"""Numbers (amount, quantity, unit_price), inspected in the engine.

Text numbers are parsed only when they are plain decimals (``^[+-]?\\d+(\\.\\d*)?(e..)?$``)
after removing, where the column has them, a currency sign or code (leading or trailing:
£ $ € ¥ ￥ 元 RMB CNY USD GBP EUR) and thousands separators. Each removal is noted with its
count; two currencies in one column are an error (never mixed currencies).

``decimal='.'`` (default): ``','`` is removed as a thousands separator only when every value
of the column that has a comma is grouped in threes (``1,234`` or ``1,234.50``); otherwise
such values stay unparseable and the note points at ``decimal=','``. ``decimal=','``: the
comma is the decimal mark (``12,50``) and ``'.'`` a thousands separator under the same rule
(``1.234,50``). In a column where some values are a number in parentheses, the accounting
notation of a negative (``(12.50)``, ``(£1,234.50)``), those values are read as negatives
(-12.5), with their count noted. Null-like words (``NA``, ``N/A``, ``-``, ``null``, ...) are missing values;
what is still not a finite number becomes NULL (``_parse_error='unparseable_amount'`` for the
amount), and an amount column in which no value is a number is an error.

The same Ibis expressions serve the inference queries here and ``Ingested.standardized()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt

from valuemax._core.exceptions import InputError
from valuemax.engines import is_inf, is_nan
from valuemax.engines._portable import backend_name
from valuemax.io._engine_parse import (
    ENGINE_TEXT,
    engine_number_stage1,
    engine_number_stage2,
)
from valuemax.io._ids import describe_tokens, is_null_token, null_token_counts
from valuemax.io._sql import as_text

#: Currency signs and codes, and the currency each stands for.
CURRENCY_TOKENS: dict[str, str] = {
    "£": "GBP", "GBP": "GBP", "$": "USD", "USD": "USD", "€": "EUR", "EUR": "EUR",
    "¥": "CNY", "￥": "CNY", "元": "CNY", "RMB": "CNY", "CNY": "CNY",
}
_ANY_TOKEN = r"£|\$|€|¥|￥|元|(?i:RMB|CNY|USD|GBP|EUR)"
_LEAD = rf"^[+-]?\s*({_ANY_TOKEN})"
_TRAIL = rf"({_ANY_TOKEN})$"
PLAIN = r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$"
#: ``1,234`` / ``1,234.50``: every comma followed by exactly three digits.
THOUSANDS = r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$"
#: ``1.234`` / ``1.234,50`` (``decimal=','``).
THOUSANDS_DOT = r"^[+-]?\d{1,3}(?:\.\d{3})+(?:,\d+)?$"
_DECIMAL_COMMA = r"^[+-]?\d+,\d{1,2}$"
_ONE_GROUP = r"^[+-]?\d{1,3},\d{3}$"
_SEP = {".": (",", THOUSANDS), ",": (".", THOUSANDS_DOT)}
#: Minus signs other than ``'-'``: U+2212 MINUS SIGN, U+2012 FIGURE DASH, U+2013 EN DASH,
#: U+FE63 SMALL HYPHEN-MINUS and U+FF0D FULLWIDTH HYPHEN-MINUS, read as ``'-'`` (the
#: first is what word processors and Unicode-aware exports write for a negative).
MINUS_FORMS = "\u2212\u2012\u2013\ufe63\uff0d"
#: ``(12.50)``: a negative in accounting notation (a digit inside, no sign, no other paren).
PARENS = r"^\([^()+-]*[0-9][^()+-]*\)$"


@dataclass(frozen=True)
class NumberPlan:
    """How a numeric column is parsed: ``'numeric'`` (cast) or ``'text'`` (cleaned, parsed).

    ``tokens``: currency signs/codes removed; ``thousands``: remove the thousands separator
    (``','``, or ``'.'`` when ``decimal=','``) from values grouped in threes; ``decimal``: the
    decimal mark; ``null_tokens``: null-like spellings read as missing; ``parens``: a value
    in parentheses (accounting notation) is a negative; ``minus``: the dashes of
    :data:`MINUS_FORMS` are read as ``'-'``.
    """

    kind: Literal["numeric", "text"]
    tokens: tuple[str, ...] = ()
    thousands: bool = False
    decimal: Literal[".", ","] = "."
    null_tokens: tuple[str, ...] = ()
    parens: bool = False
    minus: bool = False


def _token_alternation(tokens: tuple[str, ...]) -> str:
    return "|".join(f"(?i:{t})" if t.isalpha() and t.isascii() else re.escape(t) for t in tokens)


def cleaned_text(col: Any, plan: NumberPlan) -> Any:
    """The trimmed text of ``col`` with currency tokens and separators removed, the decimal
    mark made a point (NULL when a ``decimal=','`` value has a stray ``'.'``)."""
    s = as_text(col)
    if plan.minus:
        s = minus_as_hyphen(s)
    if plan.parens:
        s = accounting_negative(s, s.re_search(PARENS))
    if plan.tokens:
        alt = _token_alternation(plan.tokens)
        s = s.re_replace(rf"^([+-]?)\s*(?:{alt})\s*", r"\1").re_replace(rf"\s*(?:{alt})$", "")
    sep, grouped = _SEP[plan.decimal]
    if plan.thousands:
        s = ibis.ifelse(s.re_search(grouped), s.replace(sep, ""), s)
    if plan.decimal == ",":
        s = ibis.ifelse(s.contains("."), ibis.null(dt.string), s.replace(",", "."))
    return s


def minus_as_hyphen(s: Any) -> Any:
    """``s`` with each dash of :data:`MINUS_FORMS` written ``'-'`` (``'−5.00'`` ->
    ``'-5.00'``); anywhere but at the start the ``'-'`` still makes the value unparseable."""
    return s.re_replace(f"[{MINUS_FORMS}]", "-")


def accounting_negative(s: Any, in_parens: Any) -> Any:
    """``(12.50)`` -> ``-12.50`` where ``in_parens`` (the trimmed text ``s`` matches
    :data:`PARENS`); other values unchanged."""
    inner = s.substr(1, s.length() - 2).strip()
    return ibis.ifelse(in_parens, ibis.literal("-").concat(inner), s)


def number_stage1(col: Any, plan: NumberPlan) -> tuple[Any, Any]:
    """Stage 1 of parsing: ``(trimmed text, cleaned text)``, or the float64 value twice.

    Null-like words become ``''`` in the trimmed text (so they count as missing)."""
    if plan.kind == "numeric":
        v = col.cast(dt.float64)
        return v, v
    if backend_name(col) in ENGINE_TEXT:  # PostgreSQL, MySQL/MariaDB: the same meaning
        return engine_number_stage1(col, plan)
    text = as_text(col)
    if plan.null_tokens:
        text = ibis.ifelse(text.isin(list(plan.null_tokens)), "", text)
    return text, cleaned_text(col, plan)


def number_stage2(cleaned: Any, plan: NumberPlan) -> Any:
    """Stage 2: the float64 value of the cleaned text (NULL unless a plain decimal)."""
    if plan.kind == "numeric":
        return cleaned
    if backend_name(cleaned) in ENGINE_TEXT:
        return engine_number_stage2(cleaned)
    return ibis.ifelse(cleaned.re_search(PLAIN), cleaned.try_cast(dt.float64),
                       ibis.null(dt.float64))


def number_stage3(text: Any, value: Any, plan: NumberPlan) -> tuple[Any, Any, Any]:
    """Stage 3: ``(value, is_missing, is_unparseable)``; NaN and null-like words count as
    missing, +-inf (and overflow such as ``1e309``) as unparseable; both become NULL."""
    if plan.kind == "numeric":
        missing = text.isnull() | is_nan(text)
        bad = ~missing & is_inf(text)
    else:
        missing = text.isnull() | (text == "")
        # the engines' values are finite (engine_number_stage2 casts no exponent)
        bad = ~missing & (value.isnull() if backend_name(value) in ENGINE_TEXT
                          else value.isnull() | value.isinf())
    return ibis.ifelse(missing | bad, ibis.null(dt.float64), value), missing, bad


def infer_number_plan(
    raw: Any, column: str, canonical: str, code: str | None, decimal: Literal[".", ","] = "."
) -> tuple[NumberPlan, tuple[str, ...]]:
    """Inspect ``raw[column]``: currency tokens, separators, null-like words, non-numbers.

    Parameters
    ----------
    raw : ibis.Table
    column : str
        Source column mapped to ``canonical``.
    canonical : str
        amount, quantity or unit_price (for messages).
    code : str or None
        The ``_parse_error`` code non-numbers get (named in the note), if any; when given,
        a column with no number at all is an error.
    decimal : {'.', ','}
        The decimal mark of text numbers.

    Returns
    -------
    (NumberPlan, tuple of str)
        The plan and notes with counts.

    Raises
    ------
    InputError
        If the column mixes currencies, or ``code`` is given and none of its non-missing
        values is a number (with the decimal-comma hint when it applies).
    """
    col = raw[column]
    dtype = col.type()
    if dtype.is_numeric() and not dtype.is_boolean():
        return NumberPlan("numeric"), ()
    # every check runs on the distinct values with their counts
    distinct = raw.group_by(v=col).aggregate(m=lambda t: t.count())
    vals = (distinct.select(s=as_text(distinct.v), m=distinct.m)
            .filter(lambda t: t.s.notnull() & (t.s != ""))
            .group_by("s").aggregate(n=lambda t: t.m.sum()).cache())
    try:
        return _number_plan(vals, column, canonical, code, decimal)
    finally:
        vals.release()


#: Column names (compared trimmed and ignoring case) that hold each line's currency.
CURRENCY_COLUMNS = ("currency", "currency_code", "货币", "币种")


def check_currency_column(raw: Any, names: list[str]) -> None:
    """Refuse a log whose currency column holds more than one currency.

    Parameters
    ----------
    raw : ibis.Table
        The raw log.
    names : list of str
        Its columns; one named as in :data:`CURRENCY_COLUMNS` is checked. Its values are
        compared trimmed and in upper case (``'usd'`` is ``'USD'``); blanks are ignored.

    Raises
    ------
    InputError
        If that column has two or more distinct values: the lines per currency, and the
        fix (keep one currency, or convert the amounts first).
    """
    for name in names:
        if name.strip().casefold() not in CURRENCY_COLUMNS:
            continue
        code = as_text(raw[name]).strip().upper()
        t = raw.select(c=code).filter(lambda t: t.c.notnull() & (t.c != ""))
        rows = (t.group_by("c").aggregate(n=lambda t: t.count()).order_by([ibis.desc("n"), "c"])
                .limit(21).to_pyarrow().to_pylist())
        if len(rows) < 2:
            continue
        shown = ", ".join(f"{r['c']!r} in {r['n']:,} lines" for r in rows[:20])
        more = " and more" if len(rows) > 20 else ""
        raise InputError(
            f"column {name!r} mixes currencies: {shown}{more}. valuemax never adds up "
            f"different currencies: keep the lines of one currency (filter the file first, "
            f"or read a database with a query such as --query \"SELECT * FROM orders WHERE "
            f"{name} = '{rows[0]['c']}'\"), or convert the amounts to one currency before "
            f"reading the log."
        )


def _currency_tokens(vals: Any, column: str, canonical: str) -> dict[str, int]:
    """Currency token -> values carrying it, most frequent first (one currency only).

    ``vals`` has the text ``s`` the tokens are read from, its count ``n`` and, optionally,
    ``raw``, the text as the file has it (quoted in the error instead of ``s``, e.g.
    ``'( £1,234.50 )'``, not its accounting-negative rewrite ``'-£1,234.50'``)."""
    raw = vals.raw if "raw" in vals.columns else vals.s
    groups = (
        vals.mutate(lead=vals.s.re_extract(_LEAD, 1).upper(),
                    trail=vals.s.re_extract(_TRAIL, 1).upper(), ex_text=raw)
        .group_by(["lead", "trail"])
        .aggregate(n=lambda t: t.n.sum(), ex=lambda t: t.ex_text.min())
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
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def _number_plan(
    vals: Any, column: str, canonical: str, code: str | None, decimal: Literal[".", ","]
) -> tuple[NumberPlan, tuple[str, ...]]:
    label = f"{canonical} (column {column!r})"
    n_minus = int(vals.aggregate(n=vals.n.sum(where=vals.s.re_search(f"[{MINUS_FORMS}]")))
                  .to_pyarrow().column("n")[0].as_py() or 0)
    s = minus_as_hyphen(vals.s) if n_minus else vals.s
    n_parens = int(vals.aggregate(n=vals.n.sum(where=s.re_search(PARENS)))
                   .to_pyarrow().column("n")[0].as_py() or 0)
    counts = _currency_tokens(
        vals.mutate(raw=vals.s, s=accounting_negative(s, s.re_search(PARENS)))
        if n_parens
        else vals.mutate(s=s), column, canonical)
    tokens = tuple(counts)
    found = null_token_counts(vals, "s", "n")
    sep, grouped = _SEP[decimal]
    # tokens and parentheses off, separators kept
    c = cleaned_text(vals.s, NumberPlan("text", tokens, parens=n_parens > 0,
                                        minus=n_minus > 0))
    t = vals.select(s=vals.s, n=vals.n, c=c)
    st = t.aggregate(
        grouped=lambda t: t.n.sum(where=t.c.re_search(grouped)),
        with_sep=lambda t: t.n.sum(where=t.c.contains(sep)),
        one_group=lambda t: t.n.sum(where=t.c.re_search(_ONE_GROUP)),
        comma=lambda t: t.n.sum(where=t.c.re_search(_DECIMAL_COMMA)),
    ).to_pyarrow().to_pylist()[0]
    n_grouped, n_sep = int(st["grouped"] or 0), int(st["with_sep"] or 0)
    thousands = 0 < n_grouped == n_sep
    plan = NumberPlan("text", tokens, thousands, decimal, tuple(tok for tok, _ in found),
                      parens=n_parens > 0, minus=n_minus > 0)
    notes: list[str] = []
    removed = [f"currency sign {tok!r} from {n:,} values" for tok, n in counts.items()]
    if thousands:
        removed.append(f"thousands separator {sep!r} from {n_grouped:,} values")
    if decimal == ",":
        notes.append(f"{label}: read with decimal=',' (',' is the decimal mark"
                     f"{_comma_example(t, plan)})")
    if n_parens:
        removed.append(f"the parentheses of {n_parens:,} value{'s' if n_parens != 1 else ''} "
                       f"in accounting notation, read as negatives "
                       f"({_example(t, plan, PARENS)})")
    if n_minus:
        removed.append(f"the dash of {n_minus:,} value{'s' if n_minus != 1 else ''} written "
                       f"with a minus sign other than '-' (U+2212 '−', U+2013 '–', ...), "
                       f"read as '-' ({_example(t, plan, f'[{MINUS_FORMS}]')})")
    if removed:
        ambiguous = ""
        if decimal == "." and thousands and int(st["one_group"] or 0) == n_grouped:
            ambiguous = (" (every such value is like '1,234': if ',' is the decimal mark "
                         "here, pass decimal=',')")
        notes.append(f"{label}: removed {'; '.join(removed)}{ambiguous}")
    if found:
        where = " (quarantined with reason 'missing_amount')" if code else ""
        notes.append(f"{label}: {describe_tokens(found)} read as missing{where}")
    _check_bad(t, plan, label, code, 0 if thousands else n_sep - n_grouped,
               int(st["comma"] or 0), notes)
    return plan, tuple(notes)


def _example(t: Any, plan: NumberPlan, pattern: str) -> str:
    """``e.g. '(7.25)' -> -7.25``: the log's most frequent value matching ``pattern`` that
    is read as a number (the first in text order on a tie), and that number ('' when no
    such value is read as a number)."""
    ex = t.filter(t.s.re_search(pattern))
    ex = ex.select(s=ex.s, n=ex.n, v=cleaned_text(ex.s, plan).try_cast(dt.float64))
    row = ex.filter(ex.v.notnull()).order_by([ibis.desc("n"), "s"]).limit(1).to_pyarrow()
    if not row.num_rows:
        return ""
    text, value = row.column("s")[0].as_py(), row.column("v")[0].as_py()
    return f"e.g. {text!r} -> {value!r}"


def _comma_example(t: Any, plan: NumberPlan) -> str:
    """``, e.g. '1.234,50' -> 1234.5`` from the log's own values with a ',' (the most
    frequent read as a number), or that no value has one."""
    example = _example(t, plan, ",")
    return f", {example}" if example else "; no value of the column has a ','"


def _check_bad(
    t: Any, plan: NumberPlan, label: str, code: str | None, n_ungrouped: int, n_comma: int,
    notes: list[str],
) -> None:
    canonical = label.split(" ")[0]
    c = cleaned_text(t.s, plan)
    nonfinite = c.try_cast(dt.float64).isinf().fill_null(True)
    bad = ibis.ifelse(c.re_search(PLAIN), nonfinite, True) & ~is_null_token(t.s)
    st = t.aggregate(
        n=lambda t: t.n.sum(where=~is_null_token(t.s)), bad=lambda t: t.n.sum(where=bad),
    ).to_pyarrow().to_pylist()[0]
    n, n_bad = int(st["n"] or 0), int(st["bad"] or 0)
    if not n_bad:
        return
    examples = (t.filter(bad).order_by([ibis.desc("n"), "s"]).limit(3)
                .to_pyarrow().column("s").to_pylist())
    hint = ""
    if plan.decimal == "." and n_ungrouped:
        looks = ""
        if n_comma:
            ex = (t.filter(t.c.re_search(_DECIMAL_COMMA)).order_by([ibis.desc("n"), "s"])
                  .limit(1).to_pyarrow().column("s")[0].as_py())
            looks = f"; {n_comma:,} look like decimal commas, e.g. {ex!r}"
        hint = (f" ({n_ungrouped:,} values have a ',' that is not a thousands separator "
                f"grouped in threes{looks}: if ',' is the decimal mark, pass decimal=','; "
                f"',' is removed as a thousands separator only when every value with a "
                f"comma is grouped in threes, as in '1,234.50')")
    elif plan.decimal == "," and n_ungrouped:
        hint = (f" ({n_ungrouped:,} values have a '.', which with decimal=',' may only "
                f"separate thousands in groups of three, as in '1.234,50'; drop decimal=',' "
                f"if '.' is the decimal mark)")
    shown = ", ".join(repr(b) for b in examples)
    if code and n_bad == n:
        raise InputError(
            f"{label}: none of its {n:,} values is a number (e.g. {shown}){hint}. Expected "
            f"decimals such as 12.50 (currency signs and thousands separators are removed). "
            f"Check the mapping (mapping={{{canonical!r}: '<column>'}}, CLI --map "
            f"{canonical}=<column>) or fix the number format."
        )
    where = f", quarantined with reason {code!r}" if code else ""
    notes.append(f"{label}: {n_bad:,} of {n:,} values are not numbers (e.g. {shown}) -> "
                 f"NULL{where}{hint}")
