"""Customer-level tables (experiment readouts, uplift studies, targeting scores) from files.

One row per customer, so small enough for memory: CSV (plain, ``.gz``, ``.zst``) or Parquet,
read in the same text encodings as transaction logs (:mod:`valuemax.io._encoding`): UTF-8
with or without a byte-order mark, UTF-16 with a mark and GB18030/GBK are detected; any other
encoding is given with ``encoding=`` (CLI ``--encoding``) and checked before reading.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.io._encoding import (
    check_decodes,
    check_text,
    detect_encoding,
    normalise_encoding,
    read_sample,
)

_CSV = (".csv", ".csv.gz", ".csv.zst", ".txt", ".tsv")
_PARQUET = (".parquet", ".pq")


def _compression(name: str) -> str | None:
    return "gzip" if name.endswith(".gz") else "zstd" if name.endswith(".zst") else None


def table_encoding(path: str | Path, encoding: str | None = None, *,
                   what: str = "table") -> str:
    """The Python codec name to read the text file ``path`` with.

    Parameters
    ----------
    path : str or Path
        A CSV/text file, plain or ``.gz``/``.zst``-compressed.
    encoding : str, optional
        The user's encoding (any Python codec name, e.g. ``'gbk'``); default: detected
        (:func:`~valuemax.io._encoding.detect_encoding`: UTF-8 with or without a byte-order
        mark, UTF-16 with a mark, GB18030 whose non-ASCII text is mostly Chinese).
    what : str, default "table"
        How the messages name the file (e.g. ``"experiment table"``).

    Returns
    -------
    str
        A codec name (``'utf-8'``, ``'utf-8-sig'``, ``'gb18030'``, the given one ...).

    Raises
    ------
    InputError
        If the file is binary, the given encoding is unknown or does not decode the file's
        first megabyte (with the byte offset and an encoding to try), or no encoding is
        given and the text is neither UTF-8/16 nor GB18030 (with charset-normalizer's
        suggestions).
    """
    p = Path(path)
    source = f"{what} {p.name!r}"
    sample, at_eof = read_sample(p, _compression(p.name.lower()), source=source)
    if encoding is None:
        check_text(sample, source=source)
        return detect_encoding(sample, at_eof, source=source)
    name = normalise_encoding(encoding)
    check_text(sample, source=source, wide=name.startswith(("utf-16", "utf-32")))
    check_decodes(sample, name, at_eof, source=source)
    return name


def encoding_used(source: Any, encoding: str | None = None, *,
                  what: str = "table") -> str | None:
    """The text encoding :func:`read_customer_table` reads ``source`` with, for the record.

    Parameters
    ----------
    source : str, Path or pandas.DataFrame
        As for :func:`read_customer_table`.
    encoding : str, optional
        The user's encoding; default: detected (see :func:`table_encoding`).
    what : str, default "table"
        How the messages name the file.

    Returns
    -------
    str or None
        The codec name for a CSV file (given or detected, e.g. ``'gb18030'``), None for a
        Parquet file, a DataFrame or a path that is not a file (nothing is decoded there;
        :func:`read_customer_table` says what is wrong with such a path).

    Raises
    ------
    InputError
        As :func:`table_encoding`, for a CSV file that cannot be decoded.
    """
    if isinstance(source, pd.DataFrame) or not Path(source).is_file():
        return None
    name = Path(source).name.lower()
    if not name.endswith(_CSV):
        return None
    return table_encoding(source, encoding, what=what)


def read_customer_table(source: Any, *, encoding: str | None = None,
                        dtype: Mapping[str, str] | None = None,
                        what: str = "table") -> pd.DataFrame:
    """A customer-level table as a pandas DataFrame (a DataFrame is returned as given).

    Parameters
    ----------
    source : str, Path or pandas.DataFrame
        A CSV file (``.csv``, ``.csv.gz``, ``.csv.zst``, ``.txt``, ``.tsv``; a header line,
        comma-separated, tab-separated for ``.tsv``) or a Parquet file (``.parquet``,
        ``.pq``), one row per customer.
    encoding : str, optional
        Text encoding of a CSV file (see :func:`table_encoding`); not used for Parquet.
    dtype : mapping of column -> pandas dtype, optional
        Columns to read with a given type (e.g. ids as ``"string"``, so that ``007`` stays
        ``007``); columns absent from the file are ignored.
    what : str, default "table"
        How the messages name the file.

    Returns
    -------
    pandas.DataFrame
        The rows as read (not copied when ``source`` is a DataFrame).

    Raises
    ------
    InputError
        If the file does not exist, its format is not CSV or Parquet, it is empty (no
        header), or its text cannot be decoded (see :func:`table_encoding`).
    """
    if encoding is not None:
        normalise_encoding(encoding)  # a bad name is refused for Parquet too
    if isinstance(source, pd.DataFrame):
        return source
    path = Path(source)
    if not path.is_file():
        raise InputError(f"{what} {str(path)!r} does not exist; pass the path of a CSV or "
                         "Parquet file with one row per customer.")
    name = path.name.lower()
    if name.endswith(_PARQUET):
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {what} {path.name!r} as Parquet: "
                             f"{' '.join(str(exc).split())[:300]}") from None
    if not name.endswith(_CSV):
        raise InputError(f"{what} {path.name!r}: unknown format; use .csv, .csv.gz, .csv.zst "
                         "or .parquet.")
    codec = table_encoding(path, encoding, what=what)
    sep = "\t" if name.endswith(".tsv") else ","
    try:
        header = pd.read_csv(path, nrows=0, encoding=codec, sep=sep).columns if dtype else ()
        types = {c: t for c, t in (dtype or {}).items() if c in header}
        return pd.read_csv(path, encoding=codec, dtype=types or None, sep=sep)
    except pd.errors.EmptyDataError:
        raise InputError(f"{what} {path.name!r} is empty (no header, no row); it needs a "
                         "header and one row per customer.") from None
    except (UnicodeError, pd.errors.ParserError) as exc:
        raise InputError(f"cannot read {what} {path.name!r} as {codec} CSV: "
                         f"{' '.join(str(exc).split())[:300]}; pass the right encoding= "
                         "(CLI --encoding), e.g. 'gbk' or 'utf-8'.") from None
