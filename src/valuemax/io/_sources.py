"""Loading typed sources into DuckDB: Parquet, JSON lines, DuckDB tables.

Each loader materialises the source once as ``table`` with its own columns and a 1-based
``_row_id`` in source order and returns a ``Loaded`` record (format, fingerprint, notes,
zones). Excel is in ``_excel``, in-memory frames in ``_frames``.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.io._date_formats import SourceZone
from valuemax.io._encoding import file_sha256
from valuemax.io._formats import Loaded, readable_copy, sample_encoding
from valuemax.io._frames import arrow_sha256, check_reserved, ctas, load_arrow
from valuemax.io._parquet_parts import parts_sha256
from valuemax.io._parquet_schemas import check_hive_file, check_parts
from valuemax.io._sql import duck, fetch, fetch_one, ident, lit

#: JSON columns read as text: DuckDB's dates/times (kept as written) and JSON (mixed types).
_AS_TEXT = ("DATE", "TIME", "TIMESTAMP", "JSON")


def _describe(con: Any, relation: str, source: str, what: str) -> list[tuple[str, str]]:
    try:
        rows = fetch(con, f"DESCRIBE SELECT * FROM {relation}")
    except Exception as exc:  # duckdb.Error
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{source} could not be read as {what}: {first}") from exc
    names = [r[0] for r in rows]
    check_reserved(names, source)
    return [(r[0], r[1]) for r in rows]


def load_parquet(
    con: Any, path: Path | list[Path], *, table: str, source: str, skipped: int = 0,
) -> Loaded:
    """Materialise a Parquet file, or the parts of one log (``_parquet_parts``).

    ``_row_id`` is the row's number in the file + 1; over parts, its number in the parts
    taken in the given order (the rows of the parts before it, from their footers, plus
    its number in its part + 1). The parts are read in one DuckDB scan (their columns
    matched by name, Hive ``key=value`` folders as columns), streamed into ``table``,
    after ``_parquet_schemas.check_parts`` found their schemas one (``skipped``: the
    marker files left out of the parts, for the note).
    """
    files = path if isinstance(path, list) else [path]
    notes: tuple[str, ...] = ()
    if isinstance(path, list):
        notes = (f"{source}: read {len(files)} Parquet part(s) as one log; skipped "
                 f"{skipped} marker or hidden file(s) (_SUCCESS, .crc, names starting with "
                 f"'_' or '.')", *check_parts(files, source))
    else:
        check_hive_file(path, source)
    listing = (lit(str(path)) if isinstance(path, Path)
               else "[" + ", ".join(lit(str(f)) for f in files) + "]")
    many = "" if isinstance(path, Path) else ", union_by_name=true"
    rel = f"read_parquet({listing}, file_row_number=true{many})"
    _describe(con, f"read_parquet({listing}{many})", source, "Parquet")
    row_id = "file_row_number + 1"
    if len(files) > 1:
        row_id = (f"list_extract({_part_offsets(files, source)}::BIGINT[], "
                  f"file_index::BIGINT + 1) + {row_id}")
    # DuckDB keeps a scan's order in a CREATE TABLE AS when preserve_insertion_order is on
    # (its default): the table is then in file order without a sort of the whole log (at
    # 10M lines the sort held the log in memory, 1.5 GB)
    kept = bool(fetch_one(con, "SELECT current_setting('preserve_insertion_order')")[0])
    ctas(con, table, f"SELECT * EXCLUDE (file_row_number), {row_id} AS _row_id "
          f"FROM {rel}{'' if kept else ' ORDER BY _row_id'}", source, "Parquet")
    fingerprint = file_sha256(path) if isinstance(path, Path) else parts_sha256(files)
    zones: dict[str, SourceZone] = {}
    for f in reversed(files):  # check_parts refused parts whose zones disagree
        zones.update(_parquet_zones(f))
    return Loaded(source, "parquet", None, True, fingerprint, notes, zones)


def _part_offsets(files: list[Path], source: str) -> str:
    """A DuckDB list literal: the rows of the parts before each part (from the footers)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    offsets, total = [], 0
    for f in files:
        offsets.append(total)
        try:
            total += pq.ParquetFile(f).metadata.num_rows
        except (pa.ArrowException, OSError) as exc:
            raise InputError(f"{source}: the part {str(f)!r} could not be read as Parquet "
                             f"({exc}). Remove it or export again.") from exc
    return "[" + ", ".join(map(str, offsets)) + "]"


def _parquet_zones(path: Path) -> dict[str, SourceZone]:
    """The zone of each timezone-aware column, from the Parquet file's Arrow schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError):  # DuckDB read it; without a schema, no zones known
        return {}
    return {f.name: SourceZone(f.type.tz) for f in schema
            if pa.types.is_timestamp(f.type) and f.type.tz}


def load_json(
    con: Any, path: Path, *, table: str, fmt: str, compression: str | None,
    encoding: str | None, tmpdir: Path, source: str,
) -> Loaded:
    """Materialise JSON lines (or a JSON array of records).

    JSON strings stay text: columns DuckDB would turn into dates or timestamps are read as
    VARCHAR, so the date format is decided (and reported) like for any text source; columns
    mixing value types (``"A"`` and ``7``) are read as VARCHAR too, strings without their
    JSON quotes (``A``, ``7``).
    """
    enc, _, _ = sample_encoding(path, compression, encoding, source=source)
    read_path, comp, notes, replaced = readable_copy(path, compression, enc, tmpdir,
                                                     source=source)
    layout = "newline_delimited" if fmt == "jsonl" else "auto"
    base = (f"read_json({lit(str(read_path))}, format={lit(layout)}, "
            f"compression={lit(comp or 'uncompressed')}")
    described = _describe(con, base + ")", source, "JSON")
    types = {n: ("VARCHAR" if t.startswith(_AS_TEXT) else t) for n, t in described}
    cols = "{" + ", ".join(f"{lit(n)}: {lit(t)}" for n, t in types.items()) + "}"
    ctas(con, table, f"SELECT *, row_number() OVER () AS _row_id FROM {base}, "
          f"columns={cols})", source, "JSON")
    kept = [n for n, t in described if t.startswith(_AS_TEXT[:3])]
    if kept:
        notes = (*notes, f"JSON string columns kept as text (not auto-converted): "
                 f"{', '.join(kept)}")
    mixed = [n for n, t in described if t == "JSON"]
    if mixed:
        notes = (*notes, f"JSON columns holding values of several types (e.g. strings and "
                         f"numbers) read as text, strings without their quotes: "
                         f"{', '.join(mixed)}")
    return Loaded(source, fmt, enc, True, file_sha256(path), notes, undecodable=replaced)


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
    ctas(con, table, f"SELECT *, row_number() OVER () AS _row_id FROM {rel}", source,
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
