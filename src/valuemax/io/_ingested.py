"""``Ingested``: the raw log as read, how it maps to the canonical columns, and its parsing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import ibis
import ibis.expr.datatypes as dt

from valuemax.engines import is_inf
from valuemax.engines._portable import backend_name
from valuemax.io._date_formats import DatePlan, date_stage1, date_stage2, date_stage3
from valuemax.io._dates import plan_zone
from valuemax.io._engine_parse import ENGINE_TEXT, engine_date_stages, fence
from valuemax.io._ids import IdPlan, id_expr
from valuemax.io._numbers import NumberPlan, number_stage1, number_stage2, number_stage3

_NUMBER_COLUMNS = ("amount", "quantity", "unit_price")


def _amount(parsed: dict[str, tuple[Any, Any, Any]], amount_from: str) -> tuple[Any, Any, Any]:
    """``(amount, is_missing, is_unparseable)`` from the parsed numbers: the amount column,
    NULL by design without prices (not a missing value), or quantity x unit price (a
    product that overflows, 1e200 * 1e200 = inf, is not a number either)."""
    if amount_from == "amount":
        return parsed["amount"]
    if amount_from == "none":
        return ibis.null(dt.float64), ibis.literal(False), ibis.literal(False)
    (q, q_missing, q_bad), (p, p_missing, p_bad) = parsed["quantity"], parsed["unit_price"]
    a_missing = q_missing | p_missing
    a_bad = ~a_missing & (q_bad | p_bad | is_inf(q * p))
    return ibis.ifelse(a_bad, ibis.null(dt.float64), q * p), a_missing, a_bad


@dataclass(frozen=True)
class ParsePlan:
    """How ``Ingested.standardized()`` parses each mapped column (decided at read time).

    Attributes
    ----------
    ids : dict
        customer_id / order_id / product_id -> ``IdPlan``.
    date : DatePlan
        How order_ts is parsed (formats, guard, time zone).
    numbers : dict
        amount / quantity / unit_price -> ``NumberPlan`` (currency signs, separators).
    amount_from : {'amount', 'quantity_x_unit_price', 'none'}
        Where ``amount`` comes from; ``'none'``: the log has no prices, ``amount`` is NULL
        on every row (and not a parse error) and nothing in money is computed.
    extra_names : dict
        Extra source column -> its name in the standardized table (renamed only when it
        would collide with a canonical column).
    placeholder_days : tuple of datetime.date
        Days whose lines get ``_parse_error='placeholder_date'`` (see
        :mod:`valuemax.io._placeholders`).
    undecodable : bool
        The text file had bytes not valid in its encoding, read as U+FFFD: lines holding
        U+FFFD in any column get ``_parse_error='undecodable_text'``.
    """

    ids: dict[str, IdPlan]
    date: DatePlan
    numbers: dict[str, NumberPlan]
    amount_from: Literal["amount", "quantity_x_unit_price", "none"]
    extra_names: dict[str, str] = field(default_factory=dict)
    placeholder_days: tuple[Any, ...] = ()
    undecodable: bool = False


@dataclass(frozen=True)
class Ingested:
    """A transaction log materialised in the engine, with its mapping and parsing decisions.

    Attributes
    ----------
    raw : ibis.Table
        The table ``table_name`` in ``con``: the source's columns exactly as read (text
        formats: all VARCHAR) plus ``_row_id`` (int64, 1-based input line, header excluded).
    con : ibis DuckDB backend
        The engine holding ``raw``.
    source : str
        The path, URL or a description of the in-memory table.
    format : str
        csv, tsv, whitespace, parquet, xlsx, jsonl, json, duckdb, pandas, polars, arrow, ibis.
    encoding : str or None
        Python codec name of a text source (``'utf-8'``, ``'utf-8-sig'`` = UTF-8 with a
        byte-order mark, ``'gb18030'``, ...); None for typed sources.
    header : bool
        Whether column names came from the source (False when ``columns=`` named them).
    mapping : dict of str to str
        Canonical column -> source column.
    date_formats : tuple of str
        strptime formats used for ``order_ts`` (or the numeric encoding, e.g. ``epoch_s``;
        empty when it was already a timestamp).
    number_notes : tuple of str
        Normalisations of amount / quantity / unit_price, with counts.
    notes : tuple of str
        Every decision and normalisation, with counts (includes ``number_notes``).
    fingerprint : str
        SHA-256 (hex) of the input file's bytes, or of the Arrow IPC stream of a table.
    n_rows : int
        Rows in ``raw``.
    extra_columns : tuple of str
        Source columns kept under their own names in ``standardized()``.
    plan : ParsePlan
        How ``standardized()`` parses each column.
    privacy : valuemax.privacy.PrivacyReport or None
        Set by :func:`valuemax.io.protect`: personal-data columns found and dropped,
        pseudonymisation of customer ids (None: the log was not protected).
    day_counts : (ibis.Table, pyarrow.Table) or None
        Set at read time: ``raw`` and, for it, the usable lines per day of
        ``standardized()`` (columns ``_vm_d`` date, ``_vm_n`` lines; a usable line has no
        parse error and a date in 1900-01-01 .. 2100-01-01), counted by the placeholder
        query. Read it through :meth:`usable_day_counts`, which ignores it once ``raw`` is
        replaced by another table.
    ids_raw : ibis.Table or None
        The raw table the id plans (``plan.ids``) were inferred from: their ``unpadded``
        (no trim needed) holds only while ``raw`` is that table.
    """

    raw: Any = field(repr=False)
    con: Any = field(repr=False)
    source: str
    format: str
    encoding: str | None
    header: bool
    mapping: dict[str, str]
    date_formats: tuple[str, ...]
    number_notes: tuple[str, ...]
    notes: tuple[str, ...]
    fingerprint: str
    n_rows: int
    extra_columns: tuple[str, ...]
    plan: ParsePlan = field(repr=False)
    privacy: Any = field(default=None, repr=False)
    day_counts: Any = field(default=None, repr=False, compare=False)
    ids_raw: Any = field(default=None, repr=False, compare=False)

    def usable_day_counts(self) -> Any:
        """The usable lines per day counted at read time, or None when unknown.

        Returns
        -------
        pyarrow.Table or None
            ``_vm_d`` (date, one row per day) and ``_vm_n`` (int64, usable lines that day):
            the lines of ``standardized()`` without a parse error and dated 1900-01-01 ..
            2100-01-01. None when not counted, or counted for another ``raw`` table (e.g.
            a log extended by ``valuemax update``). Saves ``clean`` a pass over the log.
        """
        if self.day_counts is None or self.day_counts[0] is not self.raw:
            return None
        return self.day_counts[1]

    def standardized(self) -> Any:
        """The log in canonical columns and types, one row per raw row (lazy Ibis table).

        Returns
        -------
        ibis.Table
            ``_row_id`` (int64), customer_id, order_id (string), order_ts (naive timestamp),
            amount, quantity, unit_price (float64), product_id, product_name (string); absent
            optional columns are typed NULL columns; then ``extra_columns``; then
            ``_parse_error`` (string or NULL): the first of ``'undecodable_text'`` (a text
            file's line with bytes not valid in its encoding), ``'missing_customer_id'``,
            ``'missing_date'``, ``'unparseable_date'``, ``'placeholder_date'``, ``'missing_amount'``,
            ``'unparseable_amount'`` that applies. Unparseable values are NULL.
        """
        t = self.raw
        plan = self.plan
        mapping = self.mapping

        def src(canonical: str) -> Any:
            return t[mapping[canonical]] if canonical in mapping else None

        def text_id(canonical: str) -> Any:
            col = src(canonical)
            if col is None:
                return ibis.null(dt.string)
            idp = plan.ids[canonical]
            # the plan's unpadded holds for the raw table it was inferred from only
            return id_expr(col, idp, trimmed=idp.unpadded and self.ids_raw is t)

        # Three projections, kept apart with .view() so that every regex / strptime runs once
        # per row: 1. trimmed and cleaned text, 2. parsed values, 3. flags and final columns.
        pname = src("product_name")
        first: dict[str, Any] = {
            "_row_id": t["_row_id"].cast(dt.int64),
            "customer_id": text_id("customer_id"),
            "order_id": text_id("order_id"),
            "product_id": text_id("product_id"),
            "product_name": ibis.null(dt.string) if pname is None else pname.cast(dt.string),
            "__ts_text": date_stage1(src("order_ts"), plan.date),
        }
        numbers = [c for c in _NUMBER_COLUMNS if c in mapping]
        for name in numbers:
            first[f"__{name}_text"], first[f"__{name}_clean"] = number_stage1(
                src(name), plan.numbers[name])
        for column, name in plan.extra_names.items():
            first[name] = t[column]
        if plan.undecodable:
            first["__undecodable"] = ibis.or_(*(
                t[c].cast(dt.string).contains("\ufffd") for c in t.columns if c != "_row_id"))
        s1 = fence(t.select(**first).view())  # fence: a stage on the servers (no-op here)
        if plan.date.kind == "text" and not plan.date.tz and backend_name(t) in ENGINE_TEXT:
            s1, ts = engine_date_stages(s1, "__ts_text", plan.date)  # each regex once
        else:
            ts = date_stage2(s1["__ts_text"], plan.date)
        second = {"__ts": ts}
        for name in numbers:
            second[f"__{name}_value"] = number_stage2(s1[f"__{name}_clean"], plan.numbers[name])
        s2 = fence(s1.mutate(**second).view())

        ts_missing, ts_bad = date_stage3(s2["__ts_text"], s2["__ts"], plan.date)
        parsed: dict[str, tuple[Any, Any, Any]] = {
            name: (ibis.null(dt.float64), ibis.literal(True), ibis.literal(False))
            for name in _NUMBER_COLUMNS
        }
        for name in numbers:
            parsed[name] = number_stage3(s2[f"__{name}_text"], s2[f"__{name}_value"],
                                         plan.numbers[name])
        amount, a_missing, a_bad = _amount(parsed, plan.amount_from)
        out = {
            "_row_id": s2["_row_id"],
            "customer_id": s2["customer_id"],
            "order_id": s2["order_id"],
            "order_ts": s2["__ts"],
            "amount": amount,
            "quantity": parsed["quantity"][0],
            "unit_price": parsed["unit_price"][0],
            "product_id": s2["product_id"],
            "product_name": s2["product_name"],
            **{name: s2[name] for name in plan.extra_names.values()},
            "_parse_error": ibis.cases(
                (s2["__undecodable"] if plan.undecodable else ibis.literal(False),
                 "undecodable_text"),
                (s2["customer_id"].isnull(), "missing_customer_id"),
                (ts_missing, "missing_date"),
                (ts_bad, "unparseable_date"),
                (s2["__ts"].date().isin(plan.placeholder_days) if plan.placeholder_days
                 else ibis.literal(False), "placeholder_date"),
                (a_missing, "missing_amount"),
                (a_bad, "unparseable_amount"),
                else_=ibis.null(dt.string),
            ),
        }
        return s2.select(**out)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able description (for summary.json and the ``runs`` table).

        Returns
        -------
        dict
            table, source, format, encoding, header, mapping, date_formats, date_zone (the
            zone a timezone-aware ``order_ts`` was read in, else None), number_notes,
            notes, fingerprint, n_rows, extra_columns, amount_from, privacy (None when
            the log was not protected, else :meth:`valuemax.privacy.PrivacyReport.to_dict`).
        """
        return {
            "table": self.raw.get_name(),
            "source": self.source,
            "format": self.format,
            "encoding": self.encoding,
            "header": self.header,
            "mapping": dict(self.mapping),
            "date_formats": list(self.date_formats),
            "date_zone": plan_zone(self.plan.date),
            "number_notes": list(self.number_notes),
            "notes": list(self.notes),
            "fingerprint": self.fingerprint,
            "n_rows": self.n_rows,
            "extra_columns": list(self.extra_columns),
            "amount_from": self.plan.amount_from,
            "privacy": None if self.privacy is None else self.privacy.to_dict(),
        }
