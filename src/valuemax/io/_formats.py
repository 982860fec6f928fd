"""File formats by extension, and loading text tables (CSV/TSV, whitespace) into DuckDB.

Text tables are materialised once with ``CREATE TABLE ... AS SELECT`` from DuckDB's
``read_csv`` given everything explicitly (delimiter, quote, escape, header, skip, compression
and every column as ``VARCHAR``), so nothing is re-sniffed or coerced; ``_row_id`` is
``row_number() OVER ()`` over the file order. Whitespace-separated files are read one line per
row and split in SQL with ``string_split_regex``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.io._date_formats import SourceZone
from valuemax.io._encoding import (
    check_decodes,
    check_text,
    detect_encoding,
    needs_transcoding,
    normalise_encoding,
    read_sample,
    transcode_to_utf8,
)
from valuemax.io._sql import duck, fetch, ident, lit
from valuemax.io._text import TextLayout, sniff_layout

#: Compression suffixes DuckDB and Python both read.
COMPRESSIONS: dict[str, str] = {".gz": "gzip", ".zst": "zstd"}
#: Extension -> format.
FORMATS: dict[str, str] = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".txt": "text",
    ".parquet": "parquet", ".pq": "parquet",
    ".xlsx": "xlsx", ".xlsm": "xlsx",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json",
}
_TEXT = ("csv", "tsv", "text")
_COMPRESSIBLE = (*_TEXT, "jsonl", "json")
_SUPPORTED = (
    ".csv, .tsv, .txt (delimited or whitespace-separated), each optionally .gz or .zst; "
    ".parquet; .xlsx; .jsonl/.ndjson/.json"
)
_MAX_LINE = 1 << 28  # longest line (bytes) read by raising DuckDB's max_line_size
_LINE_SPLIT = r"string_split_regex(regexp_replace(line, '^\s+|\s+$', '', 'g'), '\s+')"


@dataclass(frozen=True)
class Loaded:
    """What a loader did: the facts ``Ingested`` records about the source."""

    source: str
    format: str
    encoding: str | None
    header: bool
    fingerprint: str
    notes: tuple[str, ...] = ()
    #: Timezone-aware columns of a typed source -> their zone(s), when known.
    zones: Mapping[str, SourceZone] = field(default_factory=dict)
    #: Byte sequences of a text file not valid in its encoding, read as U+FFFD: the read
    #: quarantines their lines as ``undecodable_text``.
    undecodable: int = 0
    #: An .xlsx workbook in the 1904 date system (Mac Excel): its serial day numbers count
    #: from 1904-01-01, not 1899-12-30; the date plan refuses them (never 4 years early).
    date1904: bool = False
    #: Columns of an .xlsx sheet with number cells of magnitude 2**53 or more -> (their
    #: count, up to 3 examples): a double holds no such id exactly; the id check refuses them.
    inexact_numbers: Mapping[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)


def detect_format(path: Path) -> tuple[str, str | None]:
    """Return ``(format, compression)`` from the extension(s) of ``path``.

    Examples
    --------
    >>> detect_format(Path("orders.csv.gz"))
    ('csv', 'gzip')
    >>> detect_format(Path("CDNOW_master.txt"))
    ('text', None)

    Raises
    ------
    InputError
        If the extension is not supported (listing those that are).
    """
    suffixes = [s.lower() for s in path.suffixes]
    compression = COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    fmt = FORMATS.get(ext)
    if fmt is None or (compression and fmt not in _COMPRESSIBLE):
        shown = "".join(path.suffixes[-2:] if compression else path.suffixes[-1:]) or "none"
        hint = ""
        if ext == ".xls":
            hint = " Save the workbook as .xlsx (or export a CSV)."
        elif ext in ("", ".dat", ".log"):
            hint = " If it is delimited or whitespace-separated text, rename it to .csv or .txt."
        raise InputError(
            f"{path.name}: unsupported file type (extension {shown}). Supported: "
            f"{_SUPPORTED}.{hint}"
        )
    return fmt, compression


def sample_encoding(
    path: Path, compression: str | None, encoding: str | None, *, source: str
) -> tuple[str, str, bool]:
    """Return ``(encoding, decoded sample, at_eof)`` of a text file.

    Raises
    ------
    InputError
        If the file is empty, binary, or its encoding cannot be told.
    """
    sample, at_eof = read_sample(path, compression, source=source)
    if not sample:
        what = "decompresses to 0 bytes" if compression else "is empty (0 bytes)"
        raise InputError(f"{source} {what}; expected a header line and transaction lines.")
    given = normalise_encoding(encoding) if encoding else None
    check_text(sample, source=source,
               wide=given is not None and given.startswith(("utf-16", "utf-32")))
    if given is not None:
        check_decodes(sample, encoding or given, at_eof, source=source)
    enc = given or detect_encoding(sample, at_eof, source=source)
    if enc == "utf-8" and sample.startswith(codecs.BOM_UTF8):
        enc = "utf-8-sig"
    text = codecs.getincrementaldecoder(enc)(errors="replace").decode(sample, final=at_eof)
    return enc, text, at_eof


def readable_copy(
    path: Path, compression: str | None, encoding: str, tmpdir: Path, *, source: str,
    force: bool = False, unify_newlines: bool = False,
) -> tuple[Path, str | None, tuple[str, ...], int]:
    """Return ``(path, compression, notes, undecodable)`` DuckDB can read: ``path`` or a
    UTF-8 copy (always with ``force``: a UTF-8 file with invalid bytes), and the number of
    invalid byte sequences the copy replaced with U+FFFD."""
    if not force and not unify_newlines and not needs_transcoding(encoding):
        return path, compression, (), 0
    dest, replaced = transcode_to_utf8(path, compression, encoding,
                                       tmpdir / "transcoded-utf8.txt", source=source,
                                       unify_newlines=unify_newlines)
    what = (f"transcoded from {encoding} to UTF-8 (temporary copy, deleted)"
            if needs_transcoding(encoding) else
            "copied as UTF-8 with its invalid bytes replaced (temporary copy, deleted)"
            if force else "copied as UTF-8 (temporary copy, deleted)")
    notes = (what,)
    if unify_newlines:
        notes += ("mixed line endings (LF and CR LF): every CR LF read as LF",)
    return dest, None, notes, replaced


def _csv_error(exc: Exception, source: str, layout: TextLayout) -> InputError:
    lines = [ln for ln in str(exc).splitlines() if ln.strip()]
    keep = [ln if len(ln) < 200 else ln[:200] + "..." for ln in lines[:4]
            if not ln.startswith("Possible")]
    detail = " / ".join(keep[:3]).replace("Invalid Input Error: ", "")
    sep = "blanks" if layout.delimiter is None else repr(layout.delimiter)
    fix = "quote fields that contain the delimiter, or fix the line"
    if "unicode" in detail.lower() or "utf-8" in detail.lower():
        fix = "pass the file's encoding= (e.g. 'gb18030', 'cp1252'; CLI --encoding)"
    return InputError(
        f"{source} could not be read as text with {len(layout.names)} columns separated by "
        f"{sep}: {detail}. Fix: {fix}."
    )


def load_text(
    con: Any,
    path: Path,
    *,
    table: str,
    fmt: str,
    compression: str | None,
    columns: tuple[str, ...] | None,
    encoding: str | None,
    tmpdir: Path,
    source: str,
) -> tuple[TextLayout, str, tuple[str, ...]]:
    """Materialise a CSV/TSV/whitespace text file as ``table`` (all VARCHAR + ``_row_id``).

    Returns
    -------
    (TextLayout, str, tuple of str, int)
        The layout used, the encoding detected (or given), notes, and the number of byte
        sequences not valid in that encoding (read as U+FFFD).

    Raises
    ------
    InputError
        If the file is empty, binary, not a consistent table, has a data row where the header
        should be, cannot be decoded, or has lines with the wrong number of fields.
    """
    enc, text, at_eof = sample_encoding(path, compression, encoding, source=source)
    layout = sniff_layout(text, at_eof=at_eof, source=source, prefer_tab=fmt == "tsv",
                          columns=columns)
    if "_row_id" in {n.lower() for n in layout.names}:
        raise InputError(
            f"{source} has a column named '_row_id', which valuemax reserves for the line "
            f"number; rename that column."
        )
    # DuckDB's reader takes one line ending per file: a file mixing LF and CR LF (a title
    # line added by another tool) is copied with CR LF as LF
    mixed = "\r\n" in text and re.search(r"(?<!\r)\n", text) is not None
    read_path, read_comp, copied, replaced = readable_copy(path, compression, enc, tmpdir,
                                                           source=source, unify_newlines=mixed)
    try:
        _read_text(con, table, read_path, layout, read_comp, source)
    except _InvalidUnicode:  # DuckDB read a UTF-8 file natively and met invalid bytes
        read_path, read_comp, copied, replaced = readable_copy(
            path, compression, enc, tmpdir, source=source, force=True, unify_newlines=mixed)
        _read_text(con, table, read_path, layout, read_comp, source)
    notes = (*layout.notes, *copied)
    if compression:
        notes = (f"{compression}-compressed", *notes)
    return layout, enc, notes, replaced


class _InvalidUnicode(Exception):
    """DuckDB's CSV reader met bytes that are not UTF-8."""


def _read_text(con: Any, table: str, read_path: Path, layout: TextLayout,
               read_comp: str | None, source: str) -> None:
    """Materialise ``read_path`` (UTF-8) as ``table`` with ``layout``; raises
    ``_InvalidUnicode`` when it is not valid UTF-8, ``InputError`` on other errors."""
    comp = lit(read_comp or "none")
    if layout.kind == "csv":
        cols = "{" + ", ".join(f"{lit(n)}: 'VARCHAR'" for n in layout.names) + "}"
        sql = (
            f"CREATE OR REPLACE TABLE {ident(table)} AS SELECT *, row_number() OVER () AS "
            f"_row_id FROM read_csv({lit(str(read_path))}, columns={cols}, "
            f"delim={lit(layout.delimiter or ',')}, quote='\"', escape='\"', "
            f"header={str(layout.header).lower()}, skip={layout.skip}, comment='', "
            f"auto_detect=false, compression={comp}{{max_line}})"
        )
    else:
        sql = _whitespace_sql(table, read_path, layout, comp)
    max_line = ""
    for _ in range(4):  # lines over DuckDB's max_line_size (2 MB): retry with a larger one
        try:
            duck(con).execute(sql.replace("{max_line}", max_line))
            break
        except Exception as exc:  # duckdb.Error and its subclasses
            if layout.kind == "whitespace" and "valuemax-fields" in str(exc):
                raise _ragged_whitespace(con, read_path, layout, comp, source) from exc
            if "invalid unicode" in str(exc).lower():
                raise _InvalidUnicode(str(exc)) from exc
            size = re.search(r"Maximum line size .*Actual Size:\s*(\d+)", str(exc))
            if layout.kind != "csv" or size is None or int(size.group(1)) > _MAX_LINE:
                raise _csv_error(exc, source, layout) from exc
            max_line = f", max_line_size={2 * int(size.group(1))}"


def _lines_sql(path: Path, layout: TextLayout, comp: str) -> str:
    skip = layout.skip + (1 if layout.header else 0)
    return (
        f"SELECT {_LINE_SPLIT} AS p FROM read_csv({lit(str(path))}, columns={{'line': "
        f"'VARCHAR'}}, delim={lit(chr(1))}, quote='', escape='', header=false, skip={skip}, "
        f"comment='', auto_detect=false, compression={comp}) "
        f"WHERE line IS NOT NULL AND regexp_matches(line, '\\S')"
    )


def _whitespace_sql(table: str, path: Path, layout: TextLayout, comp: str) -> str:
    n = len(layout.names)
    fields = ", ".join(f"p[{i + 1}] AS {ident(name)}" for i, name in enumerate(layout.names))
    guard = (
        f"CASE WHEN len(p) = {n} THEN p ELSE error('valuemax-fields: a line has ' || len(p) "
        f"|| ' fields') END"
    )
    return (
        f"CREATE OR REPLACE TABLE {ident(table)} AS SELECT {fields}, row_number() OVER () "
        f"AS _row_id FROM (SELECT {guard} AS p FROM ({_lines_sql(path, layout, comp)}))"
    )


def _ragged_whitespace(
    con: Any, path: Path, layout: TextLayout, comp: str, source: str
) -> InputError:
    n = len(layout.names)
    sql = (
        f"SELECT count(*) FILTER (WHERE len(p) <> {n}), "
        f"list(i) FILTER (WHERE len(p) <> {n})[1:3], "
        f"list(array_to_string(p, ' ')) FILTER (WHERE len(p) <> {n})[1:3] "
        f"FROM (SELECT p, row_number() OVER () AS i FROM ({_lines_sql(path, layout, comp)}))"
    )
    count, where, examples = fetch(con, sql)[0]
    shown = "; ".join(f"data line {i}: {e[:60]!r}" for i, e in zip(where, examples, strict=True))
    return InputError(
        f"{source}: {count:,} whitespace-separated lines do not have {n} fields "
        f"({', '.join(layout.names)}): {shown}. Fields must not contain blanks; fix those "
        f"lines or save the file as CSV with quoted fields."
    )
