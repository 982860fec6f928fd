"""The one CSV writer of valuemax: text cells cannot run as spreadsheet formulas.

Every CSV valuemax writes (``customers.csv``, ``rules.csv``, ``recommendations.csv``, the
``clv``/``propensity``/``rules --out`` exports and the report's "Download CSV" links) goes
through :func:`write_csv` or :func:`csv_text`. A text cell (or column name) that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``, as OWASP's "CSV
Injection" guidance recommends, so that Excel, LibreOffice and Google Sheets show it as text
instead of evaluating it (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``). Numbers stay numbers
(``-2.5`` in a numeric column, or a Python number in a mixed column, is written as is);
Parquet, the store and the report's tables keep the original values.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

#: First characters that make a spreadsheet evaluate a cell (OWASP, "CSV Injection").
FORMULA_START: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def _escape_text(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_safe(frame: Any) -> Any:
    """A copy of ``frame`` whose text cells and column names cannot run as formulas.

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_rows, n_columns)
        Any table; not modified.

    Returns
    -------
    pandas.DataFrame of shape (n_rows, n_columns)
        Text cells (str, pandas string or categorical labels) starting with ``= + - @``,
        tab or carriage return prefixed with ``'``; numeric, boolean and date columns, and
        numbers inside mixed object columns, unchanged. Column names escaped the same way.

    Examples
    --------
    >>> import pandas as pd
    >>> safe = csv_safe(pd.DataFrame({"id": ["=1+2", "ok", "-x"], "v": [-1.5, 2.0, 3.0]}))
    >>> safe["id"].tolist(), safe["v"].tolist()
    (["'=1+2", 'ok', "'-x"], [-1.5, 2.0, 3.0])
    """
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object).where(s.notna(), None)
        elif not (pd.api.types.is_string_dtype(s.dtype) or s.dtype == object):
            continue
        text = s.astype(object)
        try:  # one check per distinct value, not per row
            risky = [v for v in pd.unique(text[text.notna()])
                     if isinstance(v, str) and v.startswith(FORMULA_START)]
            mask = text.isin(risky) if risky else None
        except TypeError:  # unhashable cells (lists): check each cell
            mask = text.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START))
            mask = mask if mask.any() else None
        if mask is not None:
            text = text.copy()
            text[mask] = "'" + text[mask].astype(str)
            out[col] = text
        elif s is not out[col]:
            out[col] = s
    out.columns = [_escape_text(c) for c in out.columns]
    return out


def csv_text(frame: Any) -> str:
    """``frame`` as formula-safe CSV text (no index, RFC 4180 ``\\r\\n`` line ends, so that a
    cell holding a carriage return or a line feed is quoted).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to render; not modified.

    Returns
    -------
    str
        The CSV, escaped by :func:`csv_safe`.
    """
    buf = io.StringIO()
    csv_safe(frame).to_csv(buf, index=False, lineterminator="\r\n")
    return buf.getvalue()


def write_csv(frame: Any, path: str | Path, *, bom: bool = True) -> None:
    """Write ``frame`` to ``path`` as formula-safe CSV (RFC 4180 ``\\r\\n`` line ends).

    Parameters
    ----------
    frame : pandas.DataFrame
        The table to write; not modified.
    path : str or Path
        Target file (replaced).
    bom : bool, default True
        Start with a UTF-8 byte-order mark, so that Excel opens non-ASCII text correctly.

    Raises
    ------
    OSError
        If the file cannot be written (e.g. ``ENOSPC``: the caller names the file).
    """
    csv_safe(frame).to_csv(path, index=False, encoding="utf-8-sig" if bom else "utf-8",
                           lineterminator="\r\n")


__all__ = ["FORMULA_START", "csv_safe", "csv_text", "write_csv"]
