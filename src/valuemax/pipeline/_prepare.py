"""Read and clean a log for any job: the shared first two steps, and ``inspect()``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from valuemax._core.schema import geography_column
from valuemax.clean import clean
from valuemax.engines import connect
from valuemax.io import protect, read_transactions
from valuemax.pipeline._options import CleanOptions, PrivacyOptions, ReadOptions, gather
from valuemax.privacy import PseudonymKey


@dataclass(frozen=True)
class Inspection:
    """What ``inspect()`` returns: how the source was read and the quality report.

    ``problems`` lists every problem found (empty on success); ``quality`` is None when
    the log could not be read and cleaned.
    """

    ingest: dict[str, Any]
    quality: Any
    problems: tuple[str, ...] = ()


def read_source(read: ReadOptions, source: Any, con: Any, *,
                pseudonym_key: PseudonymKey | None = None,
                keep_pii: Sequence[str] = ()) -> Any:
    """Read ``source`` into ``con`` as ``read`` says and protect it (personal-data columns
    dropped unless kept, ids pseudonymised with a key); returns
    :class:`valuemax.io.Ingested`."""
    ingested = read_transactions(
        source, con=con, columns=read.columns, mapping=read.mapping,
        date_format=read.date_format, encoding=read.encoding, sheet=read.sheet,
        decimal=read.decimal,
    )
    return protect(ingested, pseudonym_key=pseudonym_key, keep_pii=keep_pii)


def default_returns(returns: str | None, preset: str, ingested: Any) -> str:
    """``returns`` as given, else ``"net"`` for the standard preset, ``"exclude"`` otherwise.

    Netting matches a return to the customer's earlier purchase of the same product, or by
    amount in a log without products (``valuemax.clean.clean``); the classic preset
    reproduces the published rule set (exclude). ``ingested`` is kept for the signature.
    """
    if returns is not None:
        return returns
    return "net" if preset == "standard" else "exclude"


def country_column(extra: Sequence[str]) -> str | None:
    """The extra column holding the customer's country (or region, province, city: see
    :data:`valuemax._core.schema.GEOGRAPHY_COLUMNS`), if the log has one."""
    return geography_column(extra)


def read_and_clean(source: Any, con: Any, read: ReadOptions, cleaning: CleanOptions, *,
                   privacy: PrivacyOptions | None = None) -> tuple[Any, Any, str]:
    """Read then clean ``source`` in ``con``; returns ``(ingested, cleaned, returns)``.

    ``privacy``: its key is loaded here (:meth:`PrivacyOptions.key`); None protects with
    the defaults (personal-data columns dropped, ids kept).
    """
    privacy = privacy or PrivacyOptions()
    ingested = read_source(read, source, con, pseudonym_key=privacy.key(),
                           keep_pii=privacy.keep_pii)
    returns = default_returns(cleaning.returns, cleaning.preset, ingested)
    cleaned = clean(ingested, preset=cleaning.preset,
                    observation_end=cleaning.observation_end, returns=returns)
    return ingested, cleaned, returns


def _diagnose(source: Any, read: ReadOptions) -> tuple[dict[str, Any], list[str]]:
    """Every problem of reading ``source``, each check run on its own.

    ``read_transactions`` stops at the first problem; this pass loads the file once, then
    resolves the mapping and infers each mapped column's format (dates, ids, numbers)
    separately, collecting every ``InputError``. Returns what was found (format, encoding,
    header, mapping, date formats, notes) and the problems, in reading order.
    """
    from valuemax._core.exceptions import InputError
    from valuemax.io._dates import infer_date_plan
    from valuemax.io._ids import infer_id_plan
    from valuemax.io._mapping import (
        NO_PRICES_NOTE,
        check_required,
        has_money,
        resolve_mapping,
        validate_mapping,
    )
    from valuemax.io._numbers import infer_number_plan
    from valuemax.io._read import _check_columns, _check_date_format, _load

    found: dict[str, Any] = {"source": str(source) if isinstance(source, str) else
                             type(source).__name__}
    problems: list[str] = []
    con = connect(None)
    try:
        try:
            names = _check_columns(read.columns)
            user = validate_mapping(read.mapping)
            formats = _check_date_format(read.date_format)
            loaded = _load(con, source, table="_vm_inspect", columns=names,
                           encoding=read.encoding, sheet=read.sheet)
        except InputError as exc:  # nothing to map without a table
            return found, [str(exc)]
        found.update(source=loaded.source, format=loaded.format, encoding=loaded.encoding,
                     header=loaded.header, notes=list(loaded.notes))
        raw = con.table("_vm_inspect")
        columns = [c for c in raw.columns if c != "_row_id"]
        found["columns"] = columns
        try:
            mapping, notes = resolve_mapping(columns, user, source=loaded.source)
        except InputError as exc:
            problems.append(str(exc))
            mapping, notes = resolve_mapping(columns, {}, source=loaded.source)
        found["mapping"] = mapping
        found["notes"] += list(notes)
        try:
            check_required(mapping, columns, source=loaded.source, user=user,
                           header=loaded.header)
        except InputError as exc:
            problems.append(str(exc))
        else:
            if not has_money(mapping):
                found["notes"].append(NO_PRICES_NOTE)
        schema = raw.schema()
        if "order_ts" in mapping:
            col = mapping["order_ts"]
            try:
                plan, _ = infer_date_plan(con, "_vm_inspect", col, schema[col], formats,
                                          loaded.zones.get(col),
                                          excel=loaded.format == "xlsx",
                                          date1904=loaded.date1904)
                found["date_formats"] = list(plan.recorded)
            except InputError as exc:
                problems.append(str(exc))
        for canonical in ("customer_id", "order_id", "product_id"):
            if canonical in mapping:
                try:
                    infer_id_plan(raw, mapping[canonical], canonical,
                                  inexact=loaded.inexact_numbers.get(mapping[canonical]))
                except InputError as exc:
                    problems.append(str(exc))
        for canonical in ("amount", "quantity", "unit_price"):
            if canonical in mapping:
                try:
                    infer_number_plan(raw, mapping[canonical], canonical, None, read.decimal)
                except InputError as exc:
                    problems.append(str(exc))
        return found, problems
    finally:
        con.disconnect()


def inspect(
    source: Any,
    *,
    read: ReadOptions | None = None,
    clean: CleanOptions | None = None,
    **shorthand: Any,
) -> Inspection:
    """Read and clean ``source`` in memory; return the mapping and the quality report.

    Parameters
    ----------
    source : path, DataFrame or ``(con, table)``
        The transaction log, as :func:`valuemax.pipeline.analyze` takes it.
    read : ReadOptions, optional
        How to read it (default ``ReadOptions()``).
    clean : CleanOptions, optional
        How to clean it (default ``CleanOptions()``).
    **shorthand
        The fields of ``read`` and ``clean`` as flat keywords (``columns``, ``mapping``,
        ``date_format``, ``encoding``, ``sheet``, ``decimal``, ``preset``,
        ``observation_end``, ``returns``), as :func:`valuemax.pipeline.analyze` takes them.

    Nothing is written.

    Returns
    -------
    Inspection

    Raises
    ------
    TypeError
        An unknown keyword, or an options object with one of its own flat keywords.
    InputError
        On unreadable input or invalid options. Inspection does not stop at the first
        problem: the message lists every problem found (each column's format is checked
        on its own), and the exception's ``inspection`` attribute holds an
        :class:`Inspection` with what was found (format, encoding, mapping, date formats)
        and ``problems``.
    """
    from valuemax._core.exceptions import InputError

    opts = gather("inspect", {"read": read, "clean": clean}, shorthand)
    reading = opts["read"]
    con = connect(None)
    try:
        ingested, cleaned, _ = read_and_clean(source, con, reading, opts["clean"])
        return Inspection(ingest=ingested.to_dict(), quality=cleaned.report)
    except InputError as exc:
        first = exc
    finally:
        con.disconnect()
    found, problems = _diagnose(source, reading)
    if str(first) not in problems:  # e.g. a cleaning problem, after a clean read
        problems.append(str(first))
    listed = " ".join(f"({i}) {p}" for i, p in enumerate(problems, 1))
    error = InputError(f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in "
                       f"{found.get('source')}: {listed}" if len(problems) > 1 else problems[0])
    error.inspection = Inspection(ingest=found, quality=None,  # type: ignore[attr-defined]
                                  problems=tuple(problems))
    raise error from first
