"""Numbers of an update: the stored lines re-cleaned with the new ones are read as the store
read them.

An update cleans the new lines together with the stored lines of their customers
(``valuemax.pipeline._incremental``), so the stored raw text is parsed again. The reader
decides how to parse a number column (currency signs, thousands separators, accounting
negatives, null-like words: ``valuemax.io._numbers``) from the values of the file it reads:
a day file without a currency sign would parse the stored ``'$48.56'`` as not a number. So
the number plans of the union are inferred from the union's own values (the stored lines of
the new lines' customers and the new lines), with the currency signs the store recorded
added, and:

* a new file whose currency differs from the store's (``'€'`` on a ``'$'`` store) is refused,
  as ``analyze`` refuses a log mixing currencies;
* a stored line whose parse outcome would still change (a parse error it did not have, or
  lost) is refused with the lines: the update would silently restate the stored log.

The currency signs of every number column are carried in each update's ``runs.ingest``
(``currency_tokens``), so a day file without signs does not make the store forget them.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.clean._rules import PARSE_ERRORS
from valuemax.io._numbers import CURRENCY_TOKENS, infer_number_plan

#: ``runs.ingest`` key: number column -> currency signs/codes the store's values carry.
TOKENS_KEY = "currency_tokens"
#: ``runs.ingest`` key: id column -> how the store made its text ids (``IdPlan.kind``).
ID_KINDS_KEY = "id_kinds"
_FLOAT_IDS = re.compile(r"^(customer_id|order_id|product_id) \(column .*?\): every value is a "
                        r"float-like integer")
_NOTE = re.compile(r"^(amount|quantity|unit_price) \(column .*?\): removed (.*)$")
_SIGN = re.compile(r"currency sign '([^']+)' from")


def stored_tokens(ingest: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Number column -> the currency signs the store's values carry.

    From ``ingest[TOKENS_KEY]`` (an update's row) or else the reader's notes of the run
    that read the log (``number_notes``: "unit_price (column 'p'): removed currency sign
    '$' from 1,757 values").

    Examples
    --------
    >>> stored_tokens({"number_notes": ["unit_price (column 'p'): removed currency sign "
    ...                                 "'$' from 5 values; thousands separator ',' from "
    ...                                 "1 values"]})
    {'unit_price': ('$',)}
    """
    if isinstance(ingest.get(TOKENS_KEY), dict):
        return {k: tuple(v) for k, v in ingest[TOKENS_KEY].items() if v}
    out: dict[str, tuple[str, ...]] = {}
    for note in ingest.get("number_notes") or ():
        m = _NOTE.match(str(note))
        if m and (signs := tuple(_SIGN.findall(m.group(2)))):
            out[m.group(1)] = signs
    return out


def stored_id_kinds(ingest: dict[str, Any]) -> dict[str, str]:
    """Id column -> ``'float_text'`` where the store's text ids were all float-like
    (``'1001.0'`` read as ``'1001'``), else ``'text'``: from ``ingest[ID_KINDS_KEY]`` (an
    update's row) or the reader's notes of the run that read the log.

    Examples
    --------
    >>> stored_id_kinds({"notes": ["customer_id (column 'c'): every value is a float-like "
    ...                            "integer (e.g. '7.0' -> '7'); removed the '.0' from 4 "
    ...                            "values"]})
    {'customer_id': 'float_text'}
    """
    if isinstance(ingest.get(ID_KINDS_KEY), dict):
        return {str(k): str(v) for k, v in ingest[ID_KINDS_KEY].items()}
    return {m.group(1): "float_text" for note in ingest.get("notes") or ()
            if (m := _FLOAT_IDS.match(str(note)))}


def with_store_ids(new: Any, kinds: dict[str, str]) -> tuple[Any, dict[str, str]]:
    """``new`` with its text id columns made text as the store made its own (``'1001.0'``
    -> ``'1001'`` only where the store did so), so that new lines link to the stored
    customers and the stored lines keep their ids; and the kinds to record."""
    ids = dict(new.plan.ids)
    for canonical, plan in ids.items():
        if plan.kind in ("text", "float_text"):
            ids[canonical] = dataclasses.replace(plan, kind=kinds.get(canonical, "text"))
    recorded = {c: p.kind for c, p in ids.items() if p.kind in ("text", "float_text")}
    return dataclasses.replace(new, plan=dataclasses.replace(new.plan, ids=ids)), recorded


def as_the_store(new: Any, ingest: dict[str, Any], source: str
                 ) -> tuple[Any, dict[str, tuple[str, ...]], dict[str, str]]:
    """``new`` checked against the store's currency (:func:`check_currency`) and with its
    ids made text as the store's (:func:`with_store_ids`); the store's currency signs and
    the id kinds to record."""
    signs = stored_tokens(ingest)
    check_currency(new, signs, source)
    new, kinds = with_store_ids(new, stored_id_kinds(ingest))
    return new, signs, kinds


def _currencies(tokens: tuple[str, ...]) -> set[str]:
    return {CURRENCY_TOKENS.get(t.upper(), CURRENCY_TOKENS.get(t, t)) for t in tokens}


def check_currency(new: Any, stored: dict[str, tuple[str, ...]], source: str) -> None:
    """Refuse new lines whose currency signs name another currency than the store's.

    Raises
    ------
    InputError
        With the column, the signs of each side and the fix.
    """
    for canonical, plan in new.plan.numbers.items():
        have, now = stored.get(canonical, ()), tuple(getattr(plan, "tokens", ()) or ())
        if have and now and _currencies(have) != _currencies(now):
            raise InputError(
                f"{source}: {canonical} (column {new.mapping[canonical]!r}) is written with "
                f"{', '.join(map(repr, now))} ({', '.join(sorted(_currencies(now)))}), the "
                f"store's log with {', '.join(map(repr, have))} "
                f"({', '.join(sorted(_currencies(have)))}). valuemax never adds up different "
                "currencies: convert the new lines to the store's currency, or keep them in "
                "a store of their own")


def union_plan(union: Any, stored: dict[str, tuple[str, ...]], decimal: str, *,
               con: Any, catalog: str, offset: int) -> tuple[Any, dict[str, list[str]]]:
    """The union ``Ingested`` with number plans inferred from its values plus the store's
    currency signs, the placeholder days of its stored lines kept (the days of the stored
    ``placeholder_date`` lines, besides those found in the new file), and the currency
    signs to record (column -> signs).

    Raises
    ------
    InputError
        If the union mixes currencies (the reader's message).
    """
    numbers = dict(union.plan.numbers)
    carried: dict[str, list[str]] = {}
    for canonical, plan in numbers.items():
        if plan.kind != "text":
            continue
        code = ("unparseable_amount" if canonical == "amount"
                or union.plan.amount_from == "quantity_x_unit_price" else None)
        fresh, _ = infer_number_plan(union.raw, union.mapping[canonical], canonical, code,
                                     decimal)  # type: ignore[arg-type]
        tokens = tuple(dict.fromkeys((*stored.get(canonical, ()), *fresh.tokens)))
        numbers[canonical] = dataclasses.replace(fresh, tokens=tokens)
        if tokens:
            carried[canonical] = list(tokens)
    days = _stored_placeholder_days(con, catalog, union, offset)
    plan = dataclasses.replace(union.plan, numbers=numbers, placeholder_days=tuple(
        sorted(set(union.plan.placeholder_days) | days)))
    return dataclasses.replace(union, plan=plan), carried


def _stored_placeholder_days(con: Any, catalog: str, union: Any, offset: int) -> set[Any]:
    """Days of the union's stored lines the store quarantined as ``placeholder_date``."""
    q = con.table("quarantine", database=(catalog, "main"))
    ids = q.filter(q.reason == "placeholder_date").select("_row_id")
    std = union.standardized()
    mine = std.filter((std._row_id <= offset) & std.order_ts.notnull())
    days = mine.semi_join(ids, "_row_id").select(d=mine.order_ts.date()).distinct()
    return {r["d"] for r in days.to_pyarrow().to_pylist()}


def check_stored_parse(con: Any, catalog: str, union_table: str, quar_table: str,
                       offset: int) -> None:
    """Refuse when a stored line re-cleaned by the update gets another parse outcome.

    A stored line's parse error (``PARSE_ERRORS``) depends only on its own text and the
    store's reading; an update must not change it (it would restate the stored log without
    a rule across lines saying why).

    Raises
    ------
    InputError
        With the count, the first five lines (stored ``_row_id``, before -> after) and the
        fix.
    """
    codes = ", ".join(f"'{c}'" for c in PARSE_ERRORS)
    sql = f"""
    WITH ids AS (SELECT _row_id FROM {union_table} WHERE _row_id <= {offset}),
    old AS (SELECT i._row_id, CASE WHEN q.reason IN ({codes}) THEN q.reason END AS r
            FROM ids i LEFT JOIN {catalog}.main.quarantine q USING (_row_id)),
    new AS (SELECT i._row_id, CASE WHEN q.reason IN ({codes}) THEN q.reason END AS r
            FROM ids i LEFT JOIN {quar_table} q USING (_row_id))
    SELECT old._row_id, old.r, new.r FROM old JOIN new USING (_row_id)
    WHERE old.r IS DISTINCT FROM new.r ORDER BY old._row_id"""
    rows = con.raw_sql(sql).fetchall()
    if rows:
        shown = ", ".join(f"line {r[0]} ({r[1] or 'read'} -> {r[2] or 'read'})"
                          for r in rows[:5])
        raise InputError(
            f"this update would read {len(rows):,} stored line{'s' if len(rows) > 1 else ''} "
            f"of the new lines' customers differently from the store (e.g. {shown}): the new "
            "file changes how the log's numbers or dates are read (another number format, "
            "currency sign or date notation). Export the new lines in the format of the "
            "store's log, or rebuild the store with valuemax analyze on the whole log")


__all__ = ["ID_KINDS_KEY", "TOKENS_KEY", "as_the_store", "check_currency",
           "check_stored_parse", "stored_id_kinds", "stored_tokens", "union_plan",
           "with_store_ids"]
