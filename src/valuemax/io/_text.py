"""Layout of delimited and whitespace-separated text, decided on a leading sample.

The sample (the first MiB, at most ``_MAX_LINES`` lines) is parsed with the ``csv`` module for
each candidate delimiter; the first delimiter that splits every sampled line into the same
number (> 1) of fields wins, else whitespace runs (the CDNOW files). A report-style export may
put up to ``_MAX_TITLE`` title lines (one field each, e.g. ``Sales report 2024``) above the
header: when no layout fits the whole sample but one fits it below such lines, they are
skipped and quoted in a note. Whether the first line is
a header is decided here too: a first row whose cells parse like the rows below it (numbers,
dates) is data, and valuemax never takes it as a header silently (``columns=`` names the
columns of a headerless file).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from valuemax._core.exceptions import InputError
from valuemax._core.schema import COLUMN_ALIASES, normalise_name

#: Delimiters tried, in this order (tab first for .tsv files).
DELIMITERS: tuple[str, ...] = (",", "\t", ";", "|")
_MAX_LINES = 200
#: Title lines (one field each) an export may put above its header.
_MAX_TITLE = 5
_ALIASES = frozenset(normalise_name(a) for names in COLUMN_ALIASES.values() for a in names)
_NUMBER = re.compile(
    r"[+-]?\s*(?:[£$€¥￥]|RMB|CNY|USD|GBP|EUR)?\s*[+-]?"
    r"(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?\s*(?:元|RMB|CNY|USD|GBP|EUR)?",
    re.IGNORECASE,
)
_DIGIT = re.compile(r"\d")
_DATE = re.compile(
    r"(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{4}年\d{1,2}月\d{1,2}日"
    r"|\d{1,2}[- ][A-Za-z]{3,9}[- ]\d{4})(?:[ T].*)?"
)


def delimiter_name(delimiter: str) -> str:
    """Return a readable name for ``delimiter`` (``'\\t'`` -> ``'tab'``)."""
    return "tab" if delimiter == "\t" else repr(delimiter)


@dataclass(frozen=True)
class TextLayout:
    """How to read a text table.

    Attributes
    ----------
    kind : {'csv', 'whitespace'}
        Delimited (DuckDB ``read_csv``) or split on runs of blanks.
    delimiter : str or None
        The field delimiter of a ``'csv'`` layout.
    names : tuple of str
        Column names (from the header line, or ``columns=``), made unique.
    header : bool
        Whether the first non-blank line is a header.
    skip : int
        Leading blank lines before the header / first data line.
    notes : tuple of str
        What was decided, for ``Ingested.notes``.
    """

    kind: Literal["csv", "whitespace"]
    delimiter: str | None
    names: tuple[str, ...]
    header: bool
    skip: int
    notes: tuple[str, ...]


def _cell_kind(cell: str | None) -> str:
    value = (cell or "").strip()
    if not value:
        return "empty"
    if _DATE.fullmatch(value):
        return "date"
    if _DIGIT.search(value) and _NUMBER.fullmatch(value):
        return "number"
    return "text"


def looks_like_data(first: Sequence[str | None], rest: Sequence[Sequence[str | None]]) -> str | None:
    """Return why ``first`` looks like a data row rather than a header, or None.

    A column is typed when all its non-empty cells in ``rest`` are numbers (or all dates). The
    first row is data when, in every typed column, its cell has the column's type (and in at
    least one), and none of its cells is a known column name (``COLUMN_ALIASES``).

    Examples
    --------
    >>> looks_like_data(["00004", "19970101", "29.33"], [["00005", "19970102", "1.5"]])
    "its cells '00004', '19970101', '29.33' parse like the values below them"
    >>> looks_like_data(["customer_id", "date", "amount"], [["00005", "19970102", "1.5"]])
    """
    if not rest:
        return None
    n = len(first)
    data_votes = header_votes = 0
    for j in range(n):
        kinds = {_cell_kind(row[j]) for row in rest if j < len(row)} - {"empty"}
        if len(kinds) != 1 or kinds <= {"text"}:
            continue
        column_kind = kinds.pop()
        first_kind = _cell_kind(first[j])
        if first_kind == column_kind:
            data_votes += 1
        elif first_kind == "text":
            header_votes += 1
    if any(normalise_name(c or "") in _ALIASES for c in first):
        return None
    if data_votes and not header_votes:
        cells = ", ".join(repr(c) for c in first[:5])
        return f"its cells {cells} parse like the values below them"
    return None


def unique_names(names: Sequence[str | None]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return ``names`` made unique (case-insensitively) and non-empty, with notes on changes.

    Examples
    --------
    >>> unique_names(["a", "A", None])[0]
    ('a', 'A_2', 'column3')
    """
    out: list[str] = []
    seen: set[str] = set()
    notes: list[str] = []
    for i, raw in enumerate(names, start=1):
        name = (raw or "").lstrip("\ufeff")
        base = name if name.strip() else f"column{i}"
        candidate, k = base, 2
        while candidate.lower() in seen:
            candidate, k = f"{base}_{k}", k + 1
        if candidate != name:
            what = "has no name" if not name.strip() else f"repeats the name {name!r}"
            notes.append(f"column {i} {what}: named it {candidate!r}")
        seen.add(candidate.lower())
        out.append(candidate)
    return tuple(out), tuple(notes)


#: A line ends at CR LF, LF or CR only: ``str.splitlines`` also breaks at U+2028, U+0085,
#: form and vertical feeds, which CSV writers (pandas, ``csv``) leave unquoted in a field.
_LINE_END = re.compile(r"\r\n|\n|\r")


def _sample_lines(text: str, at_eof: bool) -> tuple[list[str], int, bool]:
    """The sample's non-blank lines (at most ``_MAX_LINES``), the blank lines before the
    first, and whether the sample stops before the text does (its last row may then be a
    quoted field cut in two)."""
    lines = _LINE_END.split(text)
    if not at_eof and lines:
        lines = lines[:-1]  # possibly cut in the middle
    leading = 0
    while leading < len(lines) and not lines[leading].strip():
        leading += 1
    filled = [ln for ln in lines[leading:] if ln.strip()]
    return filled[:_MAX_LINES], leading, not at_eof or len(filled) > _MAX_LINES


def _split_rows(lines: list[str], delimiter: str) -> list[list[str]]:
    text = "\n".join(lines)
    # csv refuses fields over field_size_limit() (131,072 characters by default); the limit
    # is process-wide, so it is raised only for this call and restored
    limit = csv.field_size_limit()
    csv.field_size_limit(max(limit, len(text) + 1))
    try:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"',
                            doublequote=True, strict=False)
        return [row for row in reader if row]
    finally:
        csv.field_size_limit(limit)


def sniff_layout(
    text: str,
    *,
    at_eof: bool,
    source: str,
    prefer_tab: bool,
    columns: tuple[str, ...] | None,
) -> TextLayout:
    """Decide the delimiter, header and column names of a text table from its sample.

    Parameters
    ----------
    text : str
        The decoded leading sample of the file.
    at_eof : bool
        Whether ``text`` is the whole file (else its last line may be cut).
    source : str
        The file name, for messages.
    prefer_tab : bool
        Try tab before comma (``.tsv`` files).
    columns : tuple of str or None
        Names of the columns of a headerless file.

    Returns
    -------
    TextLayout

    Raises
    ------
    InputError
        If the file has no non-blank line, no delimiter gives consistent columns (with the
        delimiter that splits the header and the first line that disagrees), the first line
        looks like data and ``columns`` is not given, or ``columns`` does not fit.
    """
    lines, leading, cut = _sample_lines(text, at_eof)
    if not lines:
        raise InputError(f"{source} has no data: it contains only blank lines.")
    order = ("\t", ",", ";", "|") if prefer_tab else DELIMITERS
    for delimiter in order:
        rows = _split_rows(lines, delimiter)
        if cut and len(rows) > 2:  # a sample cut inside a quoted field: a partial last row
            rows = rows[:-1]
        widths = {len(r) for r in rows}
        if len(widths) == 1 and widths.pop() > 1:
            notes = [f"read as delimited text: delimiter {delimiter_name(delimiter)} (sniffed), "
                     f"quote '\"'"]
            k = _padded_titles(rows) if columns is None else 0
            if k:  # a spreadsheet's title row saved as CSV: 'Sales report 2024,,,'
                notes.insert(0, _title_note(k, [r[0] for r in rows[:k]]))
                return _with_header("csv", delimiter, rows[k:], _raw_index(text, k), notes,
                                    source, columns)
            return _with_header("csv", delimiter, rows, leading, notes, source, columns)
    rows = [ln.split() for ln in lines]
    widths = {len(r) for r in rows}
    if len(widths) == 1 and widths.pop() > 1:
        notes = ["read as whitespace-separated text (fields split on runs of blanks)"]
        return _with_header("whitespace", None, rows, leading, notes, source, columns)
    titled = _below_title(text, lines, order, cut, source, columns)
    if titled is not None:
        return titled
    raise InputError(_no_layout_message(lines, source))


def _padded_titles(rows: list[list[str]]) -> int:
    """How many of the first rows (at most ``_MAX_TITLE``) fill only their first field, above
    a row that fills two or more (0 when the first row fills more than one)."""
    for k, row in enumerate(rows[:_MAX_TITLE + 1]):
        if sum(bool(c.strip()) for c in row) > 1:
            return k
        if row[1:] and any(c.strip() for c in row[1:]):
            return 0
    return 0


def _raw_index(text: str, k: int) -> int:
    """The raw line index of the sample's ``k``-th non-blank line (0-based)."""
    raw = _LINE_END.split(text)
    return [i for i, ln in enumerate(raw) if ln.strip()][k]


def _title_note(k: int, titles: list[str]) -> str:
    shown = ", ".join(repr(t.strip()[:60]) for t in titles if t.strip())
    return (f"skipped {k} title line{'s' if k > 1 else ''} above the header"
            f"{f' ({shown})' if shown else ''}: not part of the table")


def _below_title(text: str, lines: list[str], order: Sequence[str], cut: bool, source: str,
                 columns: tuple[str, ...] | None) -> TextLayout | None:
    """The delimited layout of the sample below its first ``k <= _MAX_TITLE`` lines, when
    each of those has one field and the rest has the same number (> 1) of fields on one
    delimiter; None otherwise. ``skip`` then counts every raw line above the header."""
    for k in range(1, min(_MAX_TITLE, len(lines) - 2) + 1):
        for delimiter in order:
            if any(len(_split_rows([ln], delimiter)[0]) != 1 for ln in lines[:k]):
                continue
            rows = _split_rows(lines[k:], delimiter)
            if cut and len(rows) > 2:
                rows = rows[:-1]
            widths = {len(r) for r in rows}
            if len(widths) == 1 and widths.pop() > 1:
                notes = [_title_note(k, lines[:k]),
                         f"read as delimited text: delimiter {delimiter_name(delimiter)} "
                         f"(sniffed), quote '\"'"]
                return _with_header("csv", delimiter, rows, _raw_index(text, k), notes,
                                    source, columns)
    return None


def _no_layout_message(lines: list[str], source: str) -> str:
    for delimiter in DELIMITERS:
        rows = _split_rows(lines, delimiter)
        n_head = len(rows[0])
        if n_head > 1:
            bad = next(i for i, r in enumerate(rows) if len(r) != n_head)
            return (
                f"{source}: the header splits into {n_head} fields on "
                f"{delimiter_name(delimiter)} but non-blank line {bad + 1} has "
                f"{len(rows[bad])} ({lines[bad][:80]!r}). Expected every line to have the "
                f"same number of fields: quote fields that contain the delimiter, or fix the "
                f"ragged lines."
            )
    return (
        f"{source} is not a table: no delimiter (',', tab, ';', '|' or blanks) splits its "
        f"lines into the same number (> 1) of fields (first line {lines[0][:80]!r}). Expected "
        f"a header line naming the columns, then one line per transaction."
    )


def _with_header(
    kind: Literal["csv", "whitespace"],
    delimiter: str | None,
    rows: list[list[str]],
    leading: int,
    notes: list[str],
    source: str,
    columns: tuple[str, ...] | None,
) -> TextLayout:
    width = len(rows[0])
    if columns is not None:
        if len(columns) != width:
            raise InputError(
                f"columns= gives {len(columns)} names ({', '.join(columns)}) but {source} has "
                f"{width} fields per line (first line {_show(rows[0])}). Pass {width} names."
            )
        if looks_like_data(rows[0], rows[1:]) is None and _header_evidence(rows):
            raise InputError(
                f"columns= is for files without a header line, but the first line of {source} "
                f"looks like a header ({_show(rows[0])}): drop columns= and name the columns "
                f"with mapping= instead (CLI --map)."
            )
        names, renames = unique_names(columns)
        notes.append("no header line: column names from columns=")
        return TextLayout(kind, delimiter, names, False, leading, (*notes, *renames))
    reason = looks_like_data(rows[0], rows[1:])
    if reason is not None:
        example = ",".join(f"name{j + 1}" for j in range(min(width, 3)))
        raise InputError(
            f"the first line of {source} looks like data, not a header: {reason}. "
            f"valuemax does not take a data row as column names; pass the {width} column "
            f"names with columns=[...] (CLI --columns {example},...)."
        )
    names, renames = unique_names(rows[0])
    notes.append("first line is the header")
    return TextLayout(kind, delimiter, names, True, leading, (*notes, *renames))


def _header_evidence(rows: list[list[str]]) -> bool:
    """True when some typed column has a text cell in the first row."""
    first, rest = rows[0], rows[1:]
    for j, cell in enumerate(first):
        kinds = {_cell_kind(r[j]) for r in rest if j < len(r)} - {"empty"}
        if len(kinds) == 1 and kinds != {"text"} and _cell_kind(cell) == "text":
            return True
    return False


def _show(row: Sequence[str | None]) -> str:
    cells = ", ".join(repr(c) for c in row[:6])
    return f"{cells}{', ...' if len(row) > 6 else ''}"
