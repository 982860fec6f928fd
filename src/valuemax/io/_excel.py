"""Excel workbooks (.xlsx): one sheet, every cell as text, read with fastexcel (calamine).

DuckDB's excel extension is downloaded at run time, so fastexcel reads the sheet. Only one
sheet is read (by default the first non-empty one); the other non-empty sheets are listed in
a note (with their row counts and how to choose one), never ignored silently. Up to
``_MAX_TITLE`` title rows above the header (at most one filled cell each, e.g. ``Sales report
2024`` in A1, or blank) are skipped and quoted in a note, as for CSV.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.io._encoding import file_sha256
from valuemax.io._formats import Loaded
from valuemax.io._frames import check_reserved, register_arrow
from valuemax.io._text import looks_like_data, unique_names

_HEAD_ROWS = 200
#: Title rows (at most one filled cell) a report-style sheet may put above its header.
_MAX_TITLE = 5


def _filled(row: list[Any]) -> list[str]:
    return [str(v).strip() for v in row if v is not None and str(v).strip()]


def _title_rows(rows: list[list[Any]]) -> int:
    """How many title rows precede the header: 0 unless the first row has at most one
    filled cell and, within ``_MAX_TITLE`` rows, a row with two or more follows only such
    rows."""
    for k, row in enumerate(rows[:_MAX_TITLE + 1]):
        if len(_filled(row)) > 1:
            return k
    return 0


def _sheet_heights(reader: Any, names: list[str]) -> dict[str, int]:
    """Rows in each sheet (header included), reading one row of each."""
    return {n: int(reader.load_sheet(n, header_row=None, n_rows=1, dtypes="string")
                   .total_height) for n in names}


def _date1904(path: Path) -> bool:
    """The workbook uses the 1904 date system (``<workbookPr date1904="1"/>`` in
    ``xl/workbook.xml``): its serial day numbers count from 1904-01-01."""
    try:
        with zipfile.ZipFile(path) as z:
            xml = z.read("xl/workbook.xml").decode("utf-8", "replace")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    pr = re.search(r"<(?:\w+:)?workbookPr\b[^>]*>", xml)
    return bool(pr and re.search(r'\bdate1904\s*=\s*["\'](?:1|true)["\']', pr.group(0)))


#: Text of a number cell too big for a double to hold every integer (16+ digits, or e+NN).
_BIG_TEXT = r"^[+-]?(\d{16,}|\d+(\.\d+)?[eE]\+?\d+)$"


def _inexact_numbers(reader: Any, sheet: str, data: Any, skip: int
                     ) -> dict[str, tuple[int, tuple[str, ...]]]:
    """Columns of ``data`` (the sheet as text, less its first ``skip`` rows) whose number
    cells reach 2**53 in magnitude -> (count, up to 3 examples as read).

    Only when some text looks like such a number, the sheet is read a second time as
    booleans: a number cell gives a value, a text cell none (``'9007199254740993'``
    typed as text keeps its digits and is not counted).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    cand = [i for i, c in enumerate(data.columns)
            if pc.any(pc.match_substring_regex(c, _BIG_TEXT)).as_py()]
    if not cand:
        return {}
    # every column (as the text read), so that leading blank rows are skipped alike
    kinds = reader.load_sheet(sheet, header_row=None, dtypes="boolean").to_arrow()
    found = {}
    for i in cand:  # columns, each one vectorised
        texts = data.column(i)
        cells = kinds.column(i).slice(skip, len(texts))
        numeric = pc.and_(pc.is_valid(cells), pc.match_substring_regex(texts, _BIG_TEXT))
        shaped = pc.filter(texts, pc.fill_null(numeric, False))
        big = pc.filter(shaped, pc.greater_equal(
            pc.abs(pc.cast(shaped, pa.float64())), float(2**53)))
        if len(big):
            found[data.column_names[i]] = (
                len(big), tuple(pc.unique(big).slice(0, 3).to_pylist()))
    return found


def _pick(sheet: str) -> str:
    return f"sheet={sheet!r} (CLI --sheet {sheet!r})"


def load_xlsx(
    con: Any, path: Path, *, table: str, sheet: str | int | None,
    columns: tuple[str, ...] | None, source: str,
) -> Loaded:
    """Materialise one sheet of an .xlsx workbook, every cell as text (fastexcel).

    ``sheet=None`` reads the first non-empty sheet (a note names the empty ones skipped).

    Raises
    ------
    InputError
        If the workbook cannot be opened, the sheet does not exist or is empty (listing the
        non-empty sheets), or the first row looks like data while ``columns`` is not given.
    """
    import fastexcel
    import pyarrow as pa

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own error classes
        raise InputError(f"{source} could not be opened as an .xlsx workbook: {exc}") from exc
    names = list(reader.sheet_names)
    default = sheet is None
    if default:
        sheet = 0
    if (isinstance(sheet, int) and not 0 <= sheet < len(names)) or (
        isinstance(sheet, str) and sheet not in names
    ):
        raise InputError(
            f"sheet={sheet!r} is not in {source}; its sheets are {names} (pass a name or a "
            f"0-based index; CLI --sheet)."
        )
    sheet_name = names[sheet] if isinstance(sheet, int) else sheet
    heights = _sheet_heights(reader, names)
    skipped: tuple[str, ...] = ()
    if default and not heights[sheet_name] and any(heights.values()):
        empty = names[:next(i for i, n in enumerate(names) if heights[n])]
        sheet_name = names[len(empty)]
        skipped = (f"sheet(s) {', '.join(map(repr, empty))} are empty; read the first "
                   f"non-empty sheet, {sheet_name!r} (choose one with sheet=, CLI --sheet)",)
    others = {n: h for n, h in heights.items() if h and n != sheet_name}
    batch = reader.load_sheet(sheet_name, header_row=None, dtypes="string").to_arrow()
    data = pa.Table.from_batches([batch])
    n_sheet = data.num_rows
    if data.num_columns == 0 or data.num_rows == 0:
        if others:
            shown = ", ".join(f"{n!r} ({h:,} rows)" for n, h in others.items())
            fix = f"The non-empty sheets are {shown}: pass {_pick(next(iter(others)))}."
        else:
            fix = "No sheet of the workbook has data."
        raise InputError(f"sheet {sheet_name!r} of {source} is empty. {fix}")
    head = data.slice(0, _HEAD_ROWS + 1).to_pylist()
    rows = [[r[c] for c in data.column_names] for r in head]
    header = columns is None
    notes_title: tuple[str, ...] = ()
    if columns is not None:
        if len(columns) != data.num_columns:
            raise InputError(
                f"columns= gives {len(columns)} names but sheet {sheet_name!r} of {source} "
                f"has {data.num_columns} columns. Pass {data.num_columns} names."
            )
        col_names, renames = unique_names(columns)
    else:
        titles = _title_rows(rows) if data.num_columns > 1 else 0
        if titles:
            shown = ", ".join(repr(c[:60]) for r in rows[:titles] for c in _filled(r))
            notes_title = (f"skipped {titles} title row{'s' if titles > 1 else ''} above the "
                           f"header{f' ({shown})' if shown else ''}: not part of the table",)
            rows, data = rows[titles:], data.slice(titles)
        reason = looks_like_data(rows[0], rows[1:])
        if reason is not None:
            raise InputError(
                f"the first row of sheet {sheet_name!r} of {source} looks like data, not a "
                f"header: {reason}. Pass the {data.num_columns} column names with "
                f"columns=[...] (CLI --columns a,b,c)."
            )
        col_names, renames = unique_names([None if v is None else str(v) for v in rows[0]])
        data = data.slice(1)
    check_reserved(list(col_names), source)
    data = data.rename_columns(list(col_names))
    notes = (*skipped, f"sheet {sheet_name!r}, every cell read as text",
             *notes_title, *renames)
    if others:
        shown = ", ".join(f"{n!r} ({h:,} rows)" for n, h in others.items())
        notes += (f"the workbook has {len(others)} other non-empty sheet(s), not read: {shown}; "
                  f"only sheet {sheet_name!r} was read. Choose another with "
                  f"{_pick(next(iter(others)))}",)
    register_arrow(con, table, data, source)
    inexact = _inexact_numbers(reader, sheet_name, data, n_sheet - data.num_rows)
    return Loaded(source, "xlsx", None, header, file_sha256(path), notes,
                  date1904=_date1904(path), inexact_numbers=inexact)
