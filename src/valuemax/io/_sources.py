"""Loading typed sources into DuckDB: Parquet, JSON lines, Excel, Arrow-able frames, tables.

Each loader materialises the source once as ``table`` with its own columns and a 1-based
``_row_id`` in source order and returns a ``Loaded`` record (format, fingerprint, notes).
Excel is read with fastexcel (calamine), every cell as text, because DuckDB's excel extension
is downloaded at run time; in-memory frames are registered through Arrow.
"""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.io._encoding import file_sha256
from valuemax.io._formats import Loaded, readable_copy, sample_encoding
from valuemax.io._sql import duck, fetch, ident, lit
from valuemax.io._text import looks_like_data, unique_names

_TEMPORAL = ("DATE", "TIME", "TIMESTAMP")
_HEAD_ROWS = 200


class _HashSink:
    """A write-only file that feeds a SHA-256 digest (for Arrow IPC fingerprints)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.closed = False

    def write(self, data: Any) -> int:
        self.digest.update(data)
        return len(data)

    def flush(self) -> None:
        """Nothing is buffered."""

    def close(self) -> None:
        self.closed = True


def arrow_sha256(schema: Any, batches: Any) -> str:
    """Return the hex SHA-256 of the Arrow IPC stream of ``batches`` with ``schema``."""
    import pyarrow as pa

    sink = _HashSink()
    with pa.ipc.new_stream(pa.PythonFile(sink, mode="w"), schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    return sink.digest.hexdigest()


def _check_reserved(names: list[str], source: str) -> None:
    if "_row_id" in {str(n).lower() for n in names}:
        raise InputError(
            f"{source} has a column named '_row_id', which valuemax reserves for the input "
            f"line number; rename that column."
        )


def _ctas(con: Any, table: str, select: str, source: str, what: str) -> None:
    try:
        duck(con).execute(f"CREATE OR REPLACE TABLE {ident(table)} AS {select}")
    except Exception as exc:  # duckdb.Error
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{source} could not be read as {what}: {first}") from exc


def _describe(con: Any, relation: str, source: str, what: str) -> list[tuple[str, str]]:
    try:
        rows = fetch(con, f"DESCRIBE SELECT * FROM {relation}")
    except Exception as exc:  # duckdb.Error
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{source} could not be read as {what}: {first}") from exc
    names = [r[0] for r in rows]
    _check_reserved(names, source)
    return [(r[0], r[1]) for r in rows]


def load_parquet(con: Any, path: Path, *, table: str, source: str) -> Loaded:
    """Materialise a Parquet file; ``_row_id`` is the file row number + 1."""
    rel = f"read_parquet({lit(str(path))}, file_row_number=true)"
    _describe(con, f"read_parquet({lit(str(path))})", source, "Parquet")
    _ctas(con, table, f"SELECT * EXCLUDE (file_row_number), file_row_number + 1 AS _row_id "
          f"FROM {rel} ORDER BY file_row_number", source, "Parquet")
    return Loaded(source, "parquet", None, True, file_sha256(path))


def load_json(
    con: Any, path: Path, *, table: str, fmt: str, compression: str | None,
    encoding: str | None, tmpdir: Path, source: str,
) -> Loaded:
    """Materialise JSON lines (or a JSON array of records).

    JSON strings stay text: columns DuckDB would turn into dates or timestamps are read as
    VARCHAR, so the date format is decided (and reported) like for any text source.
    """
    enc, _, _ = sample_encoding(path, compression, encoding, source=source)
    read_path, comp, notes = readable_copy(path, compression, enc, tmpdir, source=source)
    layout = "newline_delimited" if fmt == "jsonl" else "auto"
    base = (f"read_json({lit(str(read_path))}, format={lit(layout)}, "
            f"compression={lit(comp or 'uncompressed')}")
    described = _describe(con, base + ")", source, "JSON")
    types = {n: ("VARCHAR" if t.startswith(_TEMPORAL) else t) for n, t in described}
    cols = "{" + ", ".join(f"{lit(n)}: {lit(t)}" for n, t in types.items()) + "}"
    _ctas(con, table, f"SELECT *, row_number() OVER () AS _row_id FROM {base}, "
          f"columns={cols})", source, "JSON")
    kept = [n for n, t in described if t.startswith(_TEMPORAL)]
    if kept:
        notes = (*notes, f"JSON string columns kept as text (not auto-converted): "
                 f"{', '.join(kept)}")
    return Loaded(source, fmt, enc, True, file_sha256(path), notes)


def load_xlsx(
    con: Any, path: Path, *, table: str, sheet: str | int | None,
    columns: tuple[str, ...] | None, source: str,
) -> Loaded:
    """Materialise one sheet of an .xlsx workbook, every cell as text (fastexcel).

    Raises
    ------
    InputError
        If the workbook cannot be opened, the sheet does not exist or is empty, or the first
        row looks like data while ``columns`` is not given.
    """
    import fastexcel
    import pyarrow as pa

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own error classes
        raise InputError(f"{source} could not be opened as an .xlsx workbook: {exc}") from exc
    names = list(reader.sheet_names)
    if sheet is None:
        sheet = 0
    if (isinstance(sheet, int) and not 0 <= sheet < len(names)) or (
        isinstance(sheet, str) and sheet not in names
    ):
        raise InputError(
            f"sheet={sheet!r} is not in {source}; its sheets are {names} (pass a name or a "
            f"0-based index)."
        )
    batch = reader.load_sheet(sheet, header_row=None, dtypes="string").to_arrow()
    data = pa.Table.from_batches([batch])
    sheet_name = names[sheet] if isinstance(sheet, int) else sheet
    if data.num_columns == 0 or data.num_rows == 0:
        raise InputError(f"sheet {sheet_name!r} of {source} is empty.")
    head = data.slice(0, _HEAD_ROWS + 1).to_pylist()
    rows = [[r[c] for c in data.column_names] for r in head]
    header = columns is None
    if columns is not None:
        if len(columns) != data.num_columns:
            raise InputError(
                f"columns= gives {len(columns)} names but sheet {sheet_name!r} of {source} "
                f"has {data.num_columns} columns. Pass {data.num_columns} names."
            )
        col_names, renames = unique_names(columns)
    else:
        reason = looks_like_data(rows[0], rows[1:])
        if reason is not None:
            raise InputError(
                f"the first row of sheet {sheet_name!r} of {source} looks like data, not a "
                f"header: {reason}. Pass the {data.num_columns} column names with "
                f"columns=[...] (CLI --columns a,b,c)."
            )
        col_names, renames = unique_names([None if v is None else str(v) for v in rows[0]])
        data = data.slice(1)
    _check_reserved(list(col_names), source)
    data = data.rename_columns(list(col_names))
    notes = (f"sheet {sheet_name!r}, every cell read as text", *renames)
    _register(con, table, data, source)
    return Loaded(source, "xlsx", None, header, file_sha256(path), notes)


def _register(con: Any, table: str, data: Any, source: str) -> None:
    import numpy as np
    import pyarrow as pa

    data = data.append_column(
        "_row_id", pa.array(np.arange(1, data.num_rows + 1, dtype=np.int64))
    )
    view = f"__valuemax_arrow_{secrets.token_hex(6)}"
    duck(con).register(view, data)
    try:
        _ctas(con, table, f"SELECT * FROM {ident(view)}", source, "a table")
    finally:
        duck(con).unregister(view)


def to_arrow(source: Any) -> tuple[Any, str] | None:
    """Return ``(pyarrow.Table, kind)`` for an in-memory table, or None if ``source`` is not one.

    Kinds: pandas, polars, arrow, ibis.
    """
    import pyarrow as pa

    module = type(source).__module__
    if module.startswith("pandas") and hasattr(source, "columns"):
        try:
            return pa.Table.from_pandas(source, preserve_index=None), "pandas"
        except (pa.ArrowException, TypeError, ValueError) as exc:
            raise InputError(
                f"the pandas DataFrame cannot be converted to Arrow: {exc}. Give each column "
                f"one type (e.g. df[col].astype(str))."
            ) from exc
    if module.startswith("polars"):
        frame = source.collect() if hasattr(source, "collect") else source
        return frame.to_arrow(), "polars"
    if isinstance(source, pa.Table):
        return source, "arrow"
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source]), "arrow"
    if isinstance(source, pa.RecordBatchReader):
        return source.read_all(), "arrow"
    if module.startswith("ibis") and hasattr(source, "to_pyarrow"):
        return source.to_pyarrow(), "ibis"
    return None


def load_arrow(con: Any, data: Any, *, kind: str, table: str) -> Loaded:
    """Materialise an in-memory Arrow table; fingerprint = SHA-256 of its Arrow IPC stream."""
    import pyarrow as pa

    name = {"pandas": "pandas.DataFrame", "polars": "polars.DataFrame", "arrow":
            "pyarrow.Table", "ibis": "ibis.Table"}[kind]
    _check_reserved(data.column_names, f"the {name}")
    fingerprint = arrow_sha256(data.schema, data.to_batches())
    decoded = [
        c.dictionary_decode() if pa.types.is_dictionary(c.type) else c for c in data.columns
    ]
    data = pa.Table.from_arrays(decoded, names=data.column_names)
    _register(con, table, data, f"the {name}")
    return Loaded(f"<{name}>", kind, None, True, fingerprint)


def _table_fingerprint(con: Any, table: str) -> str:
    result = duck(con).execute(
        f"SELECT * EXCLUDE (_row_id) FROM {ident(table)} ORDER BY _row_id")
    # duckdb 1.5 deprecates fetch_record_batch for to_arrow_reader
    reader = (getattr(result, "to_arrow_reader", None) or result.fetch_record_batch)()
    return arrow_sha256(reader.schema, reader)


def load_duckdb_url(con: Any, url: str, *, table: str) -> Loaded:
    """Materialise ``duckdb:///path.duckdb::table`` (opened read-only, then detached)."""
    body = url[len("duckdb://"):]
    if "::" not in body:
        raise InputError(
            f"{url!r} names no table: use 'duckdb:///path/to/file.duckdb::table_name'."
        )
    file_part, src_table = body.rsplit("::", 1)
    path = Path(file_part)
    if not path.is_file():
        raise InputError(f"DuckDB file not found: {str(path)!r} (from {url!r}).")
    alias = f"__valuemax_src_{secrets.token_hex(4)}"
    attached = True
    try:
        duck(con).execute(f"ATTACH {lit(str(path))} AS {ident(alias)} (READ_ONLY)")
    except Exception:  # already open in this connection: use that database
        rows = fetch(con, "SELECT database_name, path FROM duckdb_databases()")
        match = [db for db, p in rows if p and Path(p).resolve() == path.resolve()]
        if not match:
            raise
        alias, attached = match[0], False
    try:
        _copy_table(con, alias, src_table, table=table, source=url)
    finally:
        if attached:
            duck(con).execute(f"DETACH {ident(alias)}")
    return Loaded(url, "duckdb", None, True, _table_fingerprint(con, table))


def _copy_table(con: Any, database: str, src_table: str, *, table: str, source: str) -> None:
    parts = src_table.split(".")
    schema, name = (parts[0], parts[1]) if len(parts) == 2 else ("main", src_table)
    tables = fetch(
        con, "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
        "UNION ALL SELECT schema_name, view_name FROM duckdb_views() WHERE database_name = ? "
        "AND NOT internal", [database, database])
    if (schema, name) not in tables:
        shown = ", ".join(sorted(n if s == "main" else f"{s}.{n}" for s, n in tables)) or "none"
        raise InputError(f"{source}: no table {src_table!r}; the database has: {shown}.")
    if database == duck(con).execute("SELECT current_database()").fetchone()[0] and (
        schema == "main" and name == table
    ):
        raise InputError(
            f"{source}: the source table is {table!r}, the table the raw log is written to; "
            f"pass another table_name=."
        )
    rel = f"{ident(database)}.{ident(schema)}.{ident(name)}"
    _describe(con, rel, source, "a DuckDB table")
    _ctas(con, table, f"SELECT *, row_number() OVER () AS _row_id FROM {rel}", source,
          "a DuckDB table")


def load_duckdb_pair(con: Any, pair: tuple[Any, str], *, table: str) -> Loaded:
    """Materialise ``(connection, table_name)``: an Ibis DuckDB backend or duckdb connection."""
    src_con, src_table = pair
    source = f"<DuckDB table {src_table!r}>"
    if not isinstance(src_table, str):
        raise InputError(f"a (connection, table) source needs a table name string, got "
                         f"{type(src_table).__name__}.")
    raw = getattr(src_con, "con", src_con)
    if raw is duck(con):
        db = duck(con).execute("SELECT current_database()").fetchone()[0]
        _copy_table(con, db, src_table, table=table, source=source)
        return Loaded(source, "duckdb", None, True, _table_fingerprint(con, table))
    try:
        relation = raw.table(src_table)
        data = (getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table)()
    except Exception as exc:  # duckdb.CatalogException and friends
        raise InputError(f"{source} cannot be read from the connection given: "
                         f"{str(exc).splitlines()[0]}") from exc
    loaded = load_arrow(con, data, kind="arrow", table=table)
    return Loaded(source, "duckdb", None, True, loaded.fingerprint)
