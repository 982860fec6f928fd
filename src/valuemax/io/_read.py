"""``read_transactions``: any supported source -> a raw table in DuckDB + an ``Ingested``."""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import ibis

from valuemax._core.exceptions import InputError
from valuemax._core.schema import CANONICAL_COLUMNS
from valuemax.engines import connect
from valuemax.io._date_formats import SPECIAL_FORMATS, SourceZone
from valuemax.io._dates import infer_date_plan
from valuemax.io._encoding import UNDECODABLE_SHARE, file_sha256
from valuemax.io._excel import load_xlsx
from valuemax.io._formats import Loaded, detect_format, load_text
from valuemax.io._frames import load_arrow, to_arrow
from valuemax.io._ids import infer_id_plan
from valuemax.io._ingested import Ingested, ParsePlan
from valuemax.io._mapping import (
    NO_PRICES_NOTE,
    check_required,
    has_money,
    resolve_mapping,
    validate_mapping,
)
from valuemax.io._numbers import check_currency_column, infer_number_plan
from valuemax.io._parquet_parts import parquet_parts
from valuemax.io._placeholders import placeholder_scan
from valuemax.io._sources import load_duckdb_pair, load_duckdb_url, load_json, load_parquet
from valuemax.io._sql import duck, ident
from valuemax.io._text import DELIMITERS, delimiter_name

# the canonical columns, the read's own, and the columns clean() adds to its tables (the
# quarantine's reason code, the clean table's is_outlier and returned_quantity): an extra
# column of the log with one of these names is kept under another name (_extra_names)
_RESERVED = {c.lower() for c in (*CANONICAL_COLUMNS, "_row_id", "_parse_error", "reason",
                                 "is_outlier", "returned_quantity")}


def read_transactions(
    source: Any,
    *,
    con: Any = None,
    columns: Sequence[str] | str | None = None,
    mapping: Mapping[str, str | None] | None = None,
    date_format: str | Sequence[str] | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    decimal: Literal[".", ","] = ".",
    table_name: str = "transactions_raw",
) -> Ingested:
    """Read a transaction log into the engine and map it to the canonical columns.

    The source is materialised once in ``con`` as ``table_name``: its columns exactly as read
    (text formats: every column VARCHAR, nothing coerced) plus ``_row_id``, the 1-based
    position of the line in the input (header excluded). Nothing is cleaned here; how each
    column will be parsed (date formats, currency signs, thousands separators, float-like
    ids) is decided on the whole column in the engine, noted with counts, and applied lazily
    by ``Ingested.standardized()``.

    Parameters
    ----------
    source : str, path, DataFrame, Arrow table or (connection, table)
        A file: ``.csv``/``.tsv``/``.txt`` (delimiter sniffed, or whitespace-separated like the
        CDNOW files), each optionally ``.gz``/``.zst``; ``.parquet``; ``.xlsx``;
        ``.jsonl``/``.ndjson``/``.json``. A folder of Parquet parts (searched recursively;
        ``_``/``.`` markers skipped, Hive ``key=value`` folders read as columns) or a glob
        pattern of Parquet files: one log, its lines numbered in path order (one DuckDB
        scan, never whole in Python). ``'duckdb:///path.duckdb::table'`` or a pair
        ``(ibis DuckDB backend or duckdb connection, 'table')``. A pandas, polars or pyarrow
        table (registered through Arrow).
    con : ibis DuckDB backend, path or None
        Where the raw table is written; None opens an in-memory DuckDB; a path opens (or
        creates) that DuckDB file.
    columns : sequence of str or 'a,b,c', optional
        Names of the columns of a text/Excel file without a header line (e.g.
        ``CDNOW_sample.txt``). A first line that looks like data is never taken as a header.
    mapping : dict, optional
        Canonical column -> source column, overriding the automatic mapping (English and
        Chinese names); a None value leaves that canonical column unmapped.
    date_format : str or sequence of str, optional
        strptime format(s) of ``order_ts`` (DuckDB ``try_strptime``; several are tried in
        order, and a value two of them read as different dates raises). Or one of the
        numeric encodings ``'epoch_s'`` / ``'epoch_ms'`` (Unix epoch seconds/milliseconds,
        UTC) and ``'excel_serial'`` (Excel serial days, 1900 system; 40546 = 2011-01-03),
        which may be given beside strptime formats for a column holding both (five-digit
        numbers are then serials). Default: inferred; ambiguous day/month orders and mixed
        formats raise; in an .xlsx sheet, five-digit numbers among dates are read as Excel
        serials (noted with their count). Values with a UTC offset keep each value's own
        local wall-clock time (its offset dropped once read, so a line's day never depends
        on the other lines of its file), and a timezone-aware column its zone's local time
        (several zones: UTC); a note says which.
    encoding : str, optional
        Text encoding (Python codec name) of a text file; default detected (UTF-8, UTF-8
        with BOM, GB18030/GBK, else charset-normalizer).
    sheet : str or int, optional
        Excel sheet name or 0-based index; default the first non-empty sheet (empty sheets
        before it and the other non-empty sheets are named in notes).
    decimal : {'.', ','}, default '.'
        Decimal mark of text numbers (amount, quantity, unit_price). With ``'.'``, ``','``
        is removed as a thousands separator only when every value with a comma is grouped
        in threes (``1,234.50``). With ``','`` (European style), ``'12,50'`` is 12.5 and
        ``'1.234,50'`` is 1234.5 (``'.'`` only as a thousands separator grouped in threes).
    table_name : str, default 'transactions_raw'
        Name of the raw table in ``con`` (replaced if it exists).

    Returns
    -------
    Ingested

    Raises
    ------
    InputError
        File not found, empty, header only, binary or not a table, unsupported extension,
        inconsistent delimiters, a first line that looks like data without ``columns=``,
        undecodable text, missing required columns (customer_id, order_ts, and amount or
        quantity and unit_price), an ambiguous day/month order or mixed date formats, dates
        written as numbers (epoch, Excel serial) without ``date_format=``, timezone-aware and
        naive timestamps mixed in one column, mixed currencies, an amount column with no
        number at all, or invalid arguments.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"Customer ID": ["007", "008"], "Date": ["2024-01-05", "2024-02-01"],
    ...                    "Sales": ["£1,200.50", "£3.00"]})
    >>> ing = read_transactions(df)
    >>> ing.mapping
    {'customer_id': 'Customer ID', 'order_ts': 'Date', 'amount': 'Sales'}
    >>> ing.standardized().select("customer_id", "amount").to_pyarrow().to_pydict()
    {'customer_id': ['007', '008'], 'amount': [1200.5, 3.0]}
    """
    names = _check_columns(columns)
    user_map = validate_mapping(mapping)
    formats = _check_date_format(date_format)
    if decimal not in (".", ","):
        raise InputError(f"decimal= must be '.' or ',' (the decimal mark of text numbers); "
                         f"got {decimal!r}.")
    if encoding is not None and not isinstance(encoding, str):
        raise InputError(f"encoding= must be a codec name such as 'gb18030', got {encoding!r}.")
    if not isinstance(table_name, str) or not table_name.strip():
        raise InputError(f"table_name= must be a non-empty string, got {table_name!r}.")
    con = connect(con)
    if getattr(con, "name", None) != "duckdb":
        raise InputError(
            f"read_transactions writes the raw log to DuckDB; con= is a "
            f"{getattr(con, 'name', type(con).__name__)} backend. Pass a DuckDB backend "
            f"(valuemax.engines.connect(path)) or None."
        )
    loaded = _load(con, source, table=table_name, columns=names, encoding=encoding, sheet=sheet)
    try:
        return _ingest(con, loaded, table_name, user_map, formats, decimal)
    except InputError:
        duck(con).execute(f"DROP TABLE IF EXISTS {ident(table_name)}")
        raise


def ingest_stored(
    con: Any, table: str, *, source: str, fingerprint: str,
    zones: Mapping[str, SourceZone] | None = None,
    mapping: Mapping[str, str | None] | None = None,
    date_format: str | Sequence[str] | None = None,
    decimal: Literal[".", ","] = ".",
) -> Ingested:
    """Map and plan a table already in the store that carries its own ``_row_id``.

    What :func:`read_transactions` does after loading, for a log another engine numbered
    and streamed into ``con`` as ``table`` (``analyze(engine=..., table=...)``: the
    engine's line numbers are the store's, so a plan decided here applies to the engine's
    copy line for line).

    Parameters
    ----------
    con : ibis DuckDB backend
        The store holding ``table``.
    table : str
        The raw log: the source's columns and ``_row_id`` (int64, 1..n).
    source : str
        How messages name the source.
    fingerprint : str
        SHA-256 (hex) recorded for the source.
    zones : mapping, optional
        Timezone-aware columns -> their zone (``SourceZone``).
    mapping, date_format, decimal
        As :func:`read_transactions` takes them.

    Returns
    -------
    Ingested

    Raises
    ------
    InputError
        As :func:`read_transactions` (missing columns, ambiguous dates, ...); the table is
        dropped then.
    """
    user_map = validate_mapping(mapping)
    formats = _check_date_format(date_format)
    if decimal not in (".", ","):
        raise InputError(f"decimal= must be '.' or ',' (the decimal mark of text numbers); "
                         f"got {decimal!r}.")
    loaded = Loaded(source, "ibis", None, True, fingerprint, (), dict(zones or {}))
    try:
        return _ingest(con, loaded, table, user_map, formats, decimal)
    except InputError:
        duck(con).execute(f"DROP TABLE IF EXISTS {ident(table)}")
        raise


def _check_columns(columns: Any) -> tuple[str, ...] | None:
    if columns is None:
        return None
    if isinstance(columns, str):
        columns = [c.strip() for c in columns.split(",")]
    names = tuple(columns)
    if not names or not all(isinstance(c, str) and c.strip() for c in names):
        raise InputError(f"columns= must be non-empty names, e.g. ['customer_id', 'date', "
                         f"'amount'] (CLI --columns customer_id,date,amount); got {columns!r}.")
    dup = sorted({c for c in names if [n.lower() for n in names].count(c.lower()) > 1})
    if dup:
        raise InputError(f"columns= repeats {', '.join(map(repr, dup))}; names must be unique.")
    return names


def _check_date_format(date_format: Any) -> tuple[str, ...] | None:
    if date_format is None:
        return None
    formats = (date_format,) if isinstance(date_format, str) else tuple(date_format)
    special = [f for f in formats if f in SPECIAL_FORMATS]
    if special == ["excel_serial"] and len(formats) > 1 and all(
            isinstance(f, str) and "%" in f for f in formats if f != "excel_serial"):
        return formats  # Excel serials beside date text (an .xlsx column of both kinds)
    if special and len(formats) > 1:
        raise InputError(
            f"date_format={special[0]!r} reads numbers, not text: pass it alone, not with "
            f"other formats (got {date_format!r})."
        )
    if not formats or not (special or all(isinstance(f, str) and "%" in f for f in formats)):
        raise InputError(
            f"date_format= must be a strptime format such as '%d/%m/%Y', a tuple of them, or "
            f"one of {', '.join(map(repr, SPECIAL_FORMATS))} for numeric dates; got "
            f"{date_format!r}."
        )
    return formats


def _load(
    con: Any, source: Any, *, table: str, columns: tuple[str, ...] | None,
    encoding: str | None, sheet: str | int | None,
) -> Loaded:
    path_like = isinstance(source, str | os.PathLike)
    if isinstance(source, str) and source.startswith("duckdb://"):
        _only(columns=columns, encoding=encoding, sheet=sheet, kind="a DuckDB table")
        return load_duckdb_url(con, source, table=table)
    if isinstance(source, tuple) and len(source) == 2:
        _only(columns=columns, encoding=encoding, sheet=sheet, kind="a DuckDB table")
        return load_duckdb_pair(con, source, table=table)
    if not path_like:
        frame = to_arrow(source)
        if frame is None:
            raise InputError(
                f"cannot read a {type(source).__name__}: pass a file path, "
                f"'duckdb:///file.duckdb::table', a (connection, table) pair, or a pandas / "
                f"polars / pyarrow table."
            )
        data, kind, notes, zones = frame
        _only(columns=columns, encoding=encoding, sheet=sheet, kind=f"a {kind} table")
        return load_arrow(con, data, kind=kind, table=table, notes=notes, zones=zones)
    path = Path(source).expanduser()
    label = str(source)
    parts = parquet_parts(path, label)
    if parts is not None:  # a folder of Parquet parts or a glob pattern: one log
        _only(columns=columns, encoding=encoding, sheet=sheet, kind="a set of Parquet files")
        return load_parquet(con, parts.files, table=table, source=label,
                            skipped=parts.skipped)
    if not path.exists():
        raise InputError(f"file not found: {label!r} (looked in {str(path.resolve())!r}). "
                         f"Check the path.")
    fmt, compression = detect_format(path)
    if path.stat().st_size == 0:
        raise InputError(f"{label} is empty (0 bytes); expected a header line and "
                         f"transaction lines.")
    if fmt == "parquet":
        _only(columns=columns, encoding=encoding, sheet=sheet, kind="a Parquet file")
        return load_parquet(con, path, table=table, source=label)
    if fmt == "xlsx":
        _only(encoding=encoding, kind="an .xlsx workbook")
        return load_xlsx(con, path, table=table, sheet=sheet, columns=columns, source=label)
    _only(sheet=sheet, kind="a text file")
    with tempfile.TemporaryDirectory(prefix="valuemax-io-") as tmp:
        if fmt in ("jsonl", "json"):
            _only(columns=columns, kind="a JSON file")
            return load_json(con, path, table=table, fmt=fmt, compression=compression,
                             encoding=encoding, tmpdir=Path(tmp), source=label)
        layout, enc, notes, undecodable = load_text(
            con, path, table=table, fmt=fmt, compression=compression, columns=columns,
            encoding=encoding, tmpdir=Path(tmp), source=label,
        )
    kind = "whitespace" if layout.kind == "whitespace" else (
        "tsv" if layout.delimiter == "\t" else "csv")
    return Loaded(label, kind, enc, layout.header, file_sha256(path), notes,
                  undecodable=undecodable)


def _only(*, kind: str, **given: Any) -> None:
    """Raise when an option that does not apply to this kind of source was given."""
    purpose = {"columns": "names the columns of a headerless text or Excel file (use "
                          "mapping= to choose columns)",
               "encoding": "applies to text files", "sheet": "applies to .xlsx workbooks"}
    for name, value in given.items():
        if value is not None:
            raise InputError(f"{name}= {purpose[name]}; the source is {kind}. Drop {name}=.")


def _ingest(
    con: Any, loaded: Loaded, table: str, user_map: dict[str, str | None],
    formats: tuple[str, ...] | None, decimal: Literal[".", ","],
) -> Ingested:
    raw = con.table(table)
    names = [c for c in raw.columns if c != "_row_id"]
    n_rows = int(raw.count().to_pyarrow().as_py())
    _check_shape(loaded, names, n_rows)
    undecodable_notes = _undecodable(raw, names, n_rows, loaded) if loaded.undecodable else ()
    mapping, map_notes = resolve_mapping(names, user_map, source=loaded.source)
    check_required(mapping, names, source=loaded.source, user=user_map,
                   header=loaded.header and loaded.format in ("csv", "tsv", "whitespace", "xlsx"))
    schema = raw.schema()
    ts_col = mapping["order_ts"]
    date_plan, date_notes = infer_date_plan(con, table, ts_col, schema[ts_col], formats,
                                            loaded.zones.get(ts_col),
                                            excel=loaded.format == "xlsx",
                                            date1904=loaded.date1904)
    ids, id_notes = {}, []
    for canonical in ("customer_id", "order_id", "product_id"):
        if canonical in mapping:
            ids[canonical], notes = infer_id_plan(
                raw, mapping[canonical], canonical,
                inexact=loaded.inexact_numbers.get(mapping[canonical]))
            id_notes += notes
    numbers, number_notes = {}, []
    amount_from = ("amount" if "amount" in mapping else
                   "quantity_x_unit_price" if has_money(mapping) else "none")
    if amount_from != "none":
        check_currency_column(raw, names)
    for canonical in ("amount", "quantity", "unit_price"):
        if canonical in mapping:
            feeds_amount = canonical == "amount" or amount_from == "quantity_x_unit_price"
            code = "unparseable_amount" if feeds_amount else None
            numbers[canonical], notes = infer_number_plan(raw, mapping[canonical], canonical,
                                                          code, decimal)
            number_notes += notes
    if amount_from == "amount":
        how = f"amount <- {mapping['amount']!r}"
        if "quantity" in mapping and "unit_price" in mapping:
            how += " (quantity * unit_price not used: the amount column is taken as given)"
    elif amount_from == "none":
        how = NO_PRICES_NOTE
    else:
        how = (f"amount = quantity * unit_price ({mapping['quantity']!r} * "
               f"{mapping['unit_price']!r}; no amount column)")
    extra_names, extra_notes = _extra_names(names, mapping)
    plan = ParsePlan(ids, date_plan, numbers, amount_from, extra_names,
                     undecodable=loaded.undecodable > 0)
    notes = (*loaded.notes, *undecodable_notes, *map_notes, how, *date_notes, *id_notes,
             *number_notes, *extra_notes)
    ingested = Ingested(
        raw=raw, con=con, source=loaded.source, format=loaded.format, encoding=loaded.encoding,
        header=loaded.header, mapping=mapping, date_formats=date_plan.recorded,
        number_notes=tuple(number_notes), notes=notes, fingerprint=loaded.fingerprint,
        n_rows=n_rows, extra_columns=tuple(extra_names.values()), plan=plan, ids_raw=raw,
    )
    days, note, counts = placeholder_scan(ingested.standardized(), n_rows)
    if not days:
        return dataclasses.replace(ingested, day_counts=(raw, counts))
    return dataclasses.replace(ingested, plan=dataclasses.replace(plan, placeholder_days=days),
                               notes=(*notes, note), day_counts=(raw, counts))


class HeaderOnlyError(InputError):
    """A file with its column names and no data row (``read_transactions`` raises it).

    ``valuemax update`` tells it apart: a day without sales, exported in the store's
    layout, changes nothing.

    Attributes
    ----------
    source : str
        The file as named in messages.
    fingerprint : str
        SHA-256 of the file.
    columns : tuple of str
        The header's column names.
    """

    def __init__(self, message: str, *, loaded: Loaded, columns: Sequence[str]) -> None:
        super().__init__(message)
        self.source = loaded.source
        self.fingerprint = loaded.fingerprint
        self.columns = tuple(columns)


def _check_shape(loaded: Loaded, names: list[str], n_rows: int) -> None:
    with_header = loaded.format in ("csv", "tsv", "whitespace", "xlsx")
    if not names:
        raise InputError(f"{loaded.source} has no columns ({n_rows:,} rows); expected a "
                         f"transaction log with customer, date and amount columns.")
    if len(names) == 1:
        name = names[0]
        hits = [d for d in (*DELIMITERS, " ") if d in name]
        if hits:
            d = hits[0]
            raise InputError(
                f"{loaded.source} was read as one column named {name!r}; the name contains "
                f"{delimiter_name(d)}, so the data is probably {delimiter_name(d)}-separated. "
                f"Split it with that delimiter (e.g. pandas.read_csv(path, sep={d!r})) or pass "
                f"the file itself (valuemax sniffs the delimiter of text files)."
            )
        raise InputError(
            f"{loaded.source} has a single column {name!r}; a transaction log needs at least "
            f"customer, date and amount columns."
        )
    shown = ", ".join(repr(c) for c in names[:8])
    if n_rows == 0 and not with_header:
        raise InputError(
            f"{'the table ' if loaded.source.startswith('<') else ''}{loaded.source} has no "
            f"rows ({len(names)} columns: {shown}); expected one row per transaction line."
        )
    if n_rows == 0:
        raise HeaderOnlyError(
            f"{loaded.source} has a header ({len(names)} columns: {shown}) but no data rows."
            + (" If that line is data, pass the column names with columns=."
               if loaded.header else ""), loaded=loaded, columns=names)


def _undecodable(raw: Any, names: list[str], n_rows: int, loaded: Loaded) -> tuple[str, ...]:
    """The note on the lines holding bytes not valid in the file's encoding (read as
    U+FFFD; ``standardized()`` gives them ``_parse_error='undecodable_text'``).

    Raises
    ------
    InputError
        If the header has such bytes, or more than ``UNDECODABLE_SHARE`` of the lines (or
        all of them) do: the encoding is then taken to be wrong.
    """
    enc = loaded.encoding
    fix = ("pass the file's encoding (e.g. encoding='cp1252' for Western European Excel "
           "exports, 'gb18030', 'latin-1', 'shift_jis'; CLI --encoding)")
    bad_names = [n for n in names if "\ufffd" in n]
    if bad_names:
        raise InputError(f"the header of {loaded.source} has bytes that are not valid {enc} "
                         f"({', '.join(map(repr, bad_names))}), so its column names cannot "
                         f"be read: rewrite the header line, or {fix}.")
    hit = ibis.or_(*(raw[c].cast("string").contains("\ufffd") for c in names))
    bad = raw.filter(hit)
    n_bad = int(bad.count().to_pyarrow().as_py())
    first = bad.order_by("_row_id").limit(1).to_pyarrow().to_pylist()
    example = ""
    if first:
        cells = [str(first[0][c]) for c in names if first[0][c] is not None]
        shown = next((c for c in cells if "\ufffd" in c), "")
        example = f"; first in data row {first[0]['_row_id']:,}: {shown[:60]!r}"
    if n_bad == n_rows or n_bad > UNDECODABLE_SHARE * n_rows:
        raise InputError(
            f"{n_bad:,} of the {n_rows:,} lines of {loaded.source} have bytes that are not "
            f"valid {enc}{example}: more than {UNDECODABLE_SHARE:.0%} of the lines, so the "
            f"file is likely in another encoding; {fix}.")
    return (f"{n_bad:,} of {n_rows:,} lines have bytes that are not valid {enc} (a corrupted "
            f"or partly re-encoded export; {loaded.undecodable:,} byte sequences shown as "
            f"U+FFFD){example}: quarantined as undecodable_text (unless the bytes are only in a "
            f"personal-data column the privacy defaults drop). If those bytes are accented "
            f"letters, the file is in another encoding: {fix}",)


def _extra_names(names: list[str], mapping: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    used = set(mapping.values())
    taken = {n.lower() for n in names} | _RESERVED
    out: dict[str, str] = {}
    notes: list[str] = []
    for name in names:
        if name in used:
            continue
        new = name
        if name.lower() in _RESERVED:
            new, k = f"{name}_source", 2
            while new.lower() in taken:
                new, k = f"{name}_source{k}", k + 1
            taken.add(new.lower())
            where = (" (also in the quarantine, whose 'reason' is the reason code)"
                     if name.lower() == "reason" else
                     " in standardized() and the clean table")
            notes.append(f"extra column {name!r} has the name of a column valuemax makes; "
                         f"kept as {new!r}{where}")
        out[name] = new
    if out:
        notes.append(f"extra columns kept under their own names: "
                     f"{', '.join(repr(v) for v in out.values())}")
    return out, notes
