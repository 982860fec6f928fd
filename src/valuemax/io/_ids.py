"""Identifiers (customer_id, order_id, product_id) and null-like text, inspected in the engine.

Identifiers are trimmed text; blank -> NULL, and so are the null-like words spreadsheets and
dataframe libraries write for a missing value (``NA``, ``N/A``, ``None``, ``nan``, ``null``,
``-``, ...; ``NULL_TOKENS``), each noted with its count. A text column whose every value is a
float-like integer (``'17850.0'``, as pandas writes integer ids with missing values) loses
the ``.0``; a float column with integral values is written as integers. Leading zeros are
kept. When only some ids carry ``.0`` (``'1'`` and ``'1.0'`` both occur), they stay different
ids and a note says how many.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt

from valuemax._core.exceptions import InputError
from valuemax.engines import re_replace
from valuemax.io._sql import as_text, strip_expr

#: Text read as a missing value (compared case-insensitively after trimming).
NULL_TOKENS: tuple[str, ...] = ("na", "n/a", "#n/a", "<na>", "none", "nan", "null", "-")
_FLOAT_INT = r"^[+-]?\d+\.0+$"
#: An id of digits with leading zeros (``000123``): its number without them may occur too.
_ZERO_LED = r"^0+[1-9][0-9]*$"


@dataclass(frozen=True)
class IdPlan:
    """How an id column becomes text.

    ``kind``: ``'text'`` (trim, blank -> NULL), ``'float_text'`` (also drop ``.0``),
    ``'float_int'`` (float column, integral: via int64), ``'float_mixed'`` (float column
    with fractions: whole numbers via int64, the others as text), ``'cast'`` (other types).
    ``null_tokens``: the null-like spellings seen in the column (read as NULL).
    ``unpadded``: the read found no value with a blank at either end and no blank value
    (``kind`` ``'text'``/``'float_text'``), so trimming changes none of its values;
    :meth:`valuemax.io.Ingested.standardized` then skips the trim, but only on the raw
    table the plan was inferred from (another table, e.g. ``valuemax update``'s union of
    stored and new lines, is trimmed).
    """

    kind: Literal["text", "float_text", "float_int", "float_mixed", "cast"]
    null_tokens: tuple[str, ...] = ()
    unpadded: bool = field(default=False, compare=False)


def is_null_token(text: Any) -> Any:
    """Ibis boolean: the trimmed text ``text`` is one of ``NULL_TOKENS`` (any case)."""
    return text.lower().isin(list(NULL_TOKENS))


def null_token_counts(vals: Any, text: str, count: str) -> list[tuple[str, int]]:
    """``[(spelling, rows)]`` of the null-like values in ``vals``, most frequent first.

    ``vals`` is a small Ibis table of distinct trimmed values ``text`` with their ``count``.
    """
    rows = (vals.filter(is_null_token(vals[text]))
            .group_by(t=vals[text]).aggregate(n=lambda t: t[count].sum())
            .order_by([ibis.desc("n"), "t"]).to_pyarrow().to_pylist())
    return [(r["t"], int(r["n"])) for r in rows]


def describe_tokens(found: list[tuple[str, int]]) -> str:
    """``"5 values 'NA', 'null'"``: the count and spellings of null-like values."""
    total = sum(n for _, n in found)
    return f"{total:,} values {', '.join(repr(t) for t, _ in found)}"


def id_expr(col: Any, plan: IdPlan, *, trimmed: bool = False) -> Any:
    """The id as trimmed text, blank or null-like -> NULL, per ``plan``.

    ``trimmed=True``: ``col`` is known to hold no value that trimming would change (its
    plan's ``unpadded``, on the table it was inferred from), so the trim (a regular
    expression per value: about 0.7 CPU s per id column at 10M lines) is left out; the
    values are the same.
    """
    if plan.kind == "float_int" and col.type().is_decimal():  # exact, not via float64
        return col.cast(dt.Decimal(38, 0)).cast(dt.string)
    if plan.kind in ("float_int", "float_mixed"):
        v = col.cast(dt.float64)
        whole = ibis.ifelse(v.isnan(), ibis.null(dt.int64), v.try_cast(dt.int64)).cast(dt.string)
        if plan.kind == "float_int":
            return whole
        return ibis.ifelse(_whole(v), whole, col.cast(dt.string))
    s = col if trimmed and col.type().is_string() else as_text(col)
    if plan.kind == "float_text":
        s = re_replace(s, r"\.0+$", "")
    if plan.null_tokens:
        s = ibis.ifelse(s.isin(list(plan.null_tokens)), "", s)
    return s.nullif("")


#: 2**53: from here on a float64 cannot hold every integer (9007199254740993 reads as ...992).
FLOAT_EXACT = 2**53


def _whole(v: Any) -> Any:
    """Ibis boolean: the float ``v`` is a whole number. From 2**53 on every float is one
    (and ``floor``, typed as an integer, would overflow beyond int64): not computed there."""
    return ibis.ifelse(v.abs() >= FLOAT_EXACT, True, v == v.floor())


def _as_strings(label: str) -> str:
    column = label.split("'")[1] if "'" in label else "CustomerID"
    return (f"read the ids as strings where they are loaded (pandas: pd.read_csv(..., "
            f"dtype={{{column!r}: str}}) or pd.read_excel(..., dtype={{{column!r}: str}}); "
            f"polars: schema_overrides={{{column!r}: pl.Utf8}})")


def _examples(raw: Any, v: Any, where: Any) -> str:
    rows = raw.select(v=v).filter(where).v.name("v").value_counts().order_by(
        [ibis.desc("v_count"), "v"]).limit(3).to_pyarrow().to_pylist()
    return ", ".join(repr(float(r["v"])) for r in rows)


def _inexact_error(label: str, big: int, n: int, examples: str, inf: int, fix: str
                   ) -> InputError:
    """The refusal of ids that are floats of magnitude 2**53 or more (or not finite)."""
    what = f"of magnitude 2**53 = {FLOAT_EXACT:,} or more" + (
        f" ({inf:,} not finite)" if inf else "")
    return InputError(
        f"{label}: {big:,} of {n:,} ids are floats {what} (e.g. {examples}), where a "
        f"float64 cannot hold every integer: their last digits were lost before valuemax "
        f"saw them, and different ids may have become one. Expected ids as text or "
        f"integers: {fix}.")


def _excel_inexact(raw: Any, col: Any, label: str, inexact: tuple[int, tuple[str, ...]]
                   ) -> InputError:
    """The refusal of an .xlsx id column with number cells of magnitude 2**53 or more."""
    n = int(raw.filter(col.notnull()).count().to_pyarrow().as_py())
    fix = ("store the ids as text in the workbook (format the column as Text before "
           "entering or pasting them, or prefix each with an apostrophe: '9007199254740993; "
           "a number cell already typed lost its digits, re-enter them from the source), "
           "and call again")
    return _inexact_error(label, inexact[0], n, ", ".join(map(repr, inexact[1])), 0,
                          "the workbook's number cells are float64: " + fix)


def _float_column_plan(raw: Any, col: Any, label: str) -> tuple[IdPlan, tuple[str, ...]]:
    """A float (or decimal) id column: integral values written as integers; refused when a
    float value is of magnitude 2**53 or more (its digits were lost before valuemax saw it); values
    with a fraction kept as text with a note naming them and how to read ids as text."""
    v = col.cast(dt.float64)
    floating = col.type().is_floating()
    st = raw.select(v=v).filter(lambda t: t.v.notnull() & ~t.v.isnan()).aggregate(
        n=lambda t: t.count(), integral=lambda t: _whole(t.v).sum(),
        example=lambda t: t.v.min(), big=lambda t: (t.v.abs() >= FLOAT_EXACT).sum(),
        inf=lambda t: t.v.isinf().sum(),
    ).to_pyarrow().to_pylist()[0]
    n, integral, big = int(st["n"] or 0), int(st["integral"] or 0), int(st["big"] or 0)
    if floating and big:
        raise _inexact_error(label, big, n, _examples(raw, v, v.abs() >= FLOAT_EXACT),
                             int(st["inf"] or 0), f"{_as_strings(label)}, and call again")
    if n and integral == n:
        ex = float(st["example"])
        return IdPlan("float_int"), (
            f"{label}: a float column with integral values; written as integers "
            f"({ex!r} -> '{int(ex)}') for {n:,} values",)
    fraction = ~v.isnan() & ~_whole(v)
    return IdPlan("float_mixed"), (
        f"{label}: {n - integral:,} of {n:,} ids are numbers with a fraction (e.g. "
        f"{_examples(raw, v, fraction)}): ids are names, not quantities, so a numeric column "
        f"may be mapped as the id (check mapping=) or the ids were rounded when stored as "
        f"floats. Kept as their text ('1.5'), whole numbers written as integers; if the ids "
        f"are text, {_as_strings(label)}",)


#: Above this share of distinct values among its lines, an id column's plan is counted over
#: its lines, not over a GROUP BY of its values (order ids: about one value per line).
MOSTLY_DISTINCT: float = 0.5


def _values(raw: Any, col: Any) -> Any:
    """The non-null values of ``col`` with their counts: ``raw_``, ``s`` (trimmed), ``m``.

    Grouped by value, so the plan's regular expressions run once per distinct value,
    unless the column's distinct values (``approx_count_distinct``) are more than
    :data:`MOSTLY_DISTINCT` of its lines: then one row per line with ``m = 1``. The
    counts of every condition are the same either way; the GROUP BY of a column of
    about one value per line is a hash table the size of the log (at 100M lines it ran
    DuckDB out of its 3 GB memory limit).
    """
    lines = raw.filter(col.notnull())
    st = lines.aggregate(n=lines[col.get_name()].count(),
                         d=lines[col.get_name()].approx_nunique()).to_pyarrow().to_pylist()[0]
    if int(st["n"] or 0) and int(st["d"] or 0) > MOSTLY_DISTINCT * int(st["n"]):
        return lines.select(raw_=col, s=strip_expr(col), m=ibis.literal(1, "int64"))
    distinct = lines.group_by(raw_=col).aggregate(m=lambda t: t.count())
    return distinct.select(raw_=distinct.raw_, s=strip_expr(distinct.raw_), m=distinct.m)


def _commonest_float_like(vals: Any) -> str:
    """The float-like id value (``'17850.0'``) with the most lines (trimmed), for a note."""
    fl = vals.filter(vals.s.re_search(_FLOAT_INT))
    per = fl.group_by(["raw_", "s"]).aggregate(m=lambda t: t.m.sum())
    return per.aggregate(ex=per.s.argmax(per.m)).to_pyarrow().to_pylist()[0]["ex"]


def infer_id_plan(raw: Any, column: str, canonical: str, *,
                  inexact: tuple[int, tuple[str, ...]] | None = None,
                  ) -> tuple[IdPlan, tuple[str, ...]]:
    """Inspect an id column: float-like integers, blanks, null-like words.

    Parameters
    ----------
    raw : ibis.Table
    column : str
        Source column mapped to ``canonical``.
    canonical : str
        customer_id, order_id or product_id (for messages).
    inexact : (int, tuple of str) or None
        The count and examples of number cells of magnitude 2**53 or more in the column
        (an .xlsx sheet, read as text; :attr:`Loaded.inexact_numbers`): refused.

    Returns
    -------
    (IdPlan, tuple of str)
        The plan and notes with counts.

    Raises
    ------
    InputError
        If ids are floats (a float column, or ``inexact``) of magnitude 2**53 or more.
    """
    col = raw[column]
    dtype = col.type()
    label = f"{canonical} (column {column!r})"
    if inexact:
        raise _excel_inexact(raw, col, label, inexact)
    if dtype.is_floating() or dtype.is_decimal():
        return _float_column_plan(raw, col, label)
    if not dtype.is_string():
        return IdPlan("cast"), ()
    vals = _values(raw, col)
    st = vals.aggregate(
        n=lambda t: t.m.sum(),
        blank=lambda t: t.m.sum(where=t.s == ""),
        padded=lambda t: t.m.sum(where=(t.s != t.raw_) & (t.s != "")),
        float_like=lambda t: t.m.sum(where=t.s.re_search(_FLOAT_INT)),
        tokens=lambda t: t.m.sum(where=is_null_token(t.s)),
        zero_led=lambda t: t.m.sum(where=t.s.re_search(_ZERO_LED)),
    ).to_pyarrow().to_pylist()[0]
    n, blank = int(st["n"] or 0), int(st["blank"] or 0)
    padded, float_like = int(st["padded"] or 0), int(st["float_like"] or 0)
    # the spellings need a second pass over the distinct values: only when there are some
    tokens = null_token_counts(vals, "s", "m") if st["tokens"] else []
    n_null = sum(k for _, k in tokens)
    notes = []
    kind: Literal["text", "float_text"] = "text"
    if float_like and float_like == n - blank - n_null:
        kind = "float_text"
        ex = _commonest_float_like(vals)
        notes.append(f"{label}: every value is a float-like integer (e.g. {ex!r} -> "
                     f"{ex.split('.')[0]!r}); removed the '.0' from {float_like:,} values")
    elif float_like:
        notes += _mixed_float_note(vals, label, canonical)
    if st["zero_led"]:
        notes += _leading_zeros_note(vals, label, canonical)
    if padded:
        notes.append(f"{label}: trimmed surrounding blanks from {padded:,} values")
    if blank:
        notes.append(f"{label}: {blank:,} blank values -> NULL")
    if tokens:
        what = {"customer_id": " (quarantined with reason 'missing_customer_id')",
                "order_id": " (each such line is its own order)"}.get(canonical, "")
        notes.append(f"{label}: {describe_tokens(tokens)} read as missing{what}")
    return IdPlan(kind, tuple(t for t, _ in tokens), unpadded=not padded and not blank), tuple(notes)


def _spelling_pairs(vals: Any, pattern: str, strip: str) -> dict[str, Any] | None:
    """Ids matching ``pattern`` whose spelling without ``strip`` (a regular expression)
    occurs too: their number ``k``, their ``rows`` (lines of both spellings) and an example
    (``ex``, ``ex_base``); None when there is none."""
    per = vals.group_by("s").aggregate(m=lambda t: t.m.sum())
    odd = per.filter(per.s.re_search(pattern))
    odd = odd.mutate(base=odd.s.re_replace(strip, ""))
    plain = per.select(base=per.s, m_plain=per.m)
    st = odd.join(plain, "base").aggregate(
        k=lambda t: t.count(), rows=lambda t: (t.m + t.m_plain).sum(),
        ex=lambda t: t.s.min(), ex_base=lambda t: t.base.argmin(t.s),
    ).to_pyarrow().to_pylist()[0]
    return st if int(st["k"] or 0) else None


def _leading_zeros_note(vals: Any, label: str, canonical: str) -> list[str]:
    """A note when ids such as ``'000123'`` and ``'123'`` both occur (kept as different
    ids: a spreadsheet drops the zeros of the cells it reads as numbers, often of part of a
    column only)."""
    st = _spelling_pairs(vals, _ZERO_LED, r"^0+")
    if st is None:
        return []
    who = "customers" if canonical == "customer_id" else "ids"
    return [f"{label}: {int(st['k']):,} ids occur both with and without leading zeros (e.g. "
            f"{st['ex_base']!r} and {st['ex']!r}; {int(st['rows']):,} lines); they are "
            f"treated as different {who}. If they are the same (a spreadsheet drops the "
            f"zeros of cells it reads as numbers), write the ids one way before loading."]


def _mixed_float_note(vals: Any, label: str, canonical: str) -> list[str]:
    """A note when ids such as ``'1'`` and ``'1.0'`` both occur (kept as different ids)."""
    st = _spelling_pairs(vals, _FLOAT_INT, r"\.0+$")
    if st is None:
        return []
    who = "customers" if canonical == "customer_id" else "ids"
    return [f"{label}: {int(st['k']):,} ids occur both with and without '.0' (e.g. "
            f"{st['ex_base']!r} and {st['ex']!r}; {int(st['rows']):,} lines); they are "
            f"treated as different {who} because not every value has '.0'. If they are the "
            f"same, write the ids one way before loading."]
