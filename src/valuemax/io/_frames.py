"""In-memory tables (pandas, polars, pyarrow, ibis) -> Arrow -> DuckDB, and Arrow registration.

Frames are converted to Arrow once and registered in DuckDB with a 1-based ``_row_id``.
Dictionary (categorical) columns are decoded to their values with Arrow compute. A pandas
index is not data unless it is named: an unnamed index is dropped, a named one becomes a
column (with a note). Time zones: a timezone-aware Arrow column has one zone, kept for the
date plan (``SourceZone``); a pandas object column mixing zones is noted as such, and one
mixing timezone-aware and naive values is an error (the zone of the naive ones is unknown).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.engines import to_arrow as engine_rows
from valuemax.io._date_formats import SourceZone
from valuemax.io._formats import Loaded
from valuemax.io._sql import duck, ident

_KIND_NAMES = {"pandas": "pandas.DataFrame", "polars": "polars.DataFrame",
               "arrow": "pyarrow.Table", "ibis": "ibis.Table"}


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


def check_reserved(names: list[str], source: str) -> None:
    """Raise ``InputError`` when the source has a column named ``_row_id``."""
    if "_row_id" in {str(n).lower() for n in names}:
        raise InputError(
            f"{source} has a column named '_row_id', which valuemax reserves for the input "
            f"line number; rename that column."
        )


def ctas(con: Any, table: str, select: str, source: str, what: str) -> None:
    """``CREATE OR REPLACE TABLE table AS select``; engine errors become ``InputError``."""
    try:
        duck(con).execute(f"CREATE OR REPLACE TABLE {ident(table)} AS {select}")
    except Exception as exc:  # duckdb.Error
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{source} could not be read as {what}: {first}") from exc


def register_arrow(con: Any, table: str, data: Any, source: str) -> None:
    """Materialise the Arrow table ``data`` as ``table`` with a 1-based ``_row_id``."""
    import numpy as np
    import pyarrow as pa

    data = data.append_column(
        "_row_id", pa.array(np.arange(1, data.num_rows + 1, dtype=np.int64))
    )
    view = f"__valuemax_arrow_{secrets.token_hex(6)}"
    duck(con).register(view, data)
    try:
        ctas(con, table, f"SELECT * FROM {ident(view)}", source, "a table")
    finally:
        duck(con).unregister(view)


def _pandas_zones(df: Any) -> dict[str, SourceZone]:
    """Zones of pandas object columns of datetimes that mix zones (one zone: not listed).

    Raises
    ------
    InputError
        If an object column mixes timezone-aware and naive timestamps.
    """
    import pandas as pd

    out: dict[str, SourceZone] = {}
    for i, name in enumerate(df.columns):
        col = df.iloc[:, i]
        if col.dtype != object or pd.api.types.infer_dtype(col, skipna=True) not in (
                "datetime", "datetime64"):
            continue
        text = col.dropna().astype(str)
        offsets = text.str.extract(r"([+-]\d{2}:\d{2})$", expand=False)
        aware = int(offsets.notna().sum())
        naive = len(offsets) - aware
        if aware and naive:
            raise InputError(
                f"column {str(name)!r} of the pandas.DataFrame mixes {aware:,} timezone-aware "
                f"and {naive:,} naive timestamps (e.g. {text[offsets.notna()].iloc[0]!r} and "
                f"{text[offsets.isna()].iloc[0]!r}); valuemax does not guess the zone of the "
                f"naive ones. Give every value a zone (or none) before loading, e.g. "
                f"localize the naive ones with pandas' tz_localize('<zone>')."
            )
        if aware:
            try:
                pd.to_datetime(col)  # succeeds when every value has the same zone
            except (ValueError, TypeError):
                counts = offsets.value_counts()
                out[str(name)] = SourceZone(None, tuple((str(k), int(v))
                                                        for k, v in counts.items()))
    return out


def _periods_to_timestamps(df: Any) -> tuple[Any, list[str]]:
    """A copy of ``df`` whose pandas ``Period`` columns and index levels are timestamps.

    Arrow stores a Period as a bare integer count of periods since 1970, which would read as
    numbers (or be mistaken for serial day numbers); each period becomes the timestamp of its
    start (``to_timestamp()``), with a note naming the column and its frequency.
    """
    import pandas as pd

    def is_period(values: Any) -> bool:
        return isinstance(values.dtype, pd.PeriodDtype) or (
            values.dtype == object and len(values)
            and pd.api.types.infer_dtype(values, skipna=True) == "period")

    notes: list[str] = []
    cols = [i for i in range(df.shape[1]) if is_period(df.iloc[:, i])]
    levels = [k for k in range(df.index.nlevels) if is_period(df.index.get_level_values(k))]
    if not cols and not levels:
        return df, notes
    out = df.copy()
    for i in cols:
        col = pd.Series(pd.PeriodIndex(df.iloc[:, i]), index=df.index)
        out.isetitem(i, col.dt.to_timestamp())
        notes.append(f"column {str(df.columns[i])!r} holds pandas Periods (freq "
                     f"{col.dt.freq.freqstr}): read as the timestamp at the start of each period "
                     "(to_timestamp())")
    if levels:
        arrays = [pd.PeriodIndex(df.index.get_level_values(k)).to_timestamp() if k in levels
                  else df.index.get_level_values(k) for k in range(df.index.nlevels)]
        out.index = pd.MultiIndex.from_arrays(arrays, names=df.index.names) \
            if df.index.nlevels > 1 else pd.Index(arrays[0], name=df.index.name)
        notes += [f"index level {df.index.names[k]!r} holds pandas Periods: read as the "
                  "timestamp at the start of each period (to_timestamp())" for k in levels]
    return out, notes


def _from_pandas(df: Any) -> tuple[Any, tuple[str, ...], dict[str, SourceZone]]:
    import pyarrow as pa

    dup = df.columns[df.columns.duplicated(keep=False)]
    if len(dup):
        names = list(dict.fromkeys(dup))
        counts = ", ".join(f"{n!r} ({int((df.columns == n).sum())} times)" for n in names[:10])
        raise InputError(
            f"the pandas DataFrame has {len(names)} duplicate column name(s): {counts}; each "
            "column needs a name of its own: rename the duplicates (e.g. df.columns = "
            "[...] or df.loc[:, ~df.columns.duplicated()] to keep the first) and call again")
    df, period_notes = _periods_to_timestamps(df)
    zones = _pandas_zones(df)
    try:
        data = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        raise InputError(
            f"the pandas DataFrame cannot be converted to Arrow: {exc}. Give each column "
            f"one type (e.g. df[col].astype(str))."
        ) from exc
    notes: list[str] = list(period_notes)
    taken = set(data.column_names)
    at = 0
    for level, name in enumerate(df.index.names):
        if name is None:
            continue
        new, k = str(name), 1
        while new in taken:
            new, k = f"{name}_index" + (str(k) if k > 1 else ""), k + 1
        taken.add(new)
        values = pa.Array.from_pandas(df.index.get_level_values(level))
        data = data.add_column(at, new, values)
        at += 1
        renamed = f" named {new!r} ({str(name)!r} is also a column)" if new != str(name) else ""
        notes.append(f"the pandas index {str(name)!r} is kept as a column{renamed}")
    return data, tuple(notes), zones


def to_arrow(source: Any) -> tuple[Any, str, tuple[str, ...], dict[str, SourceZone]] | None:
    """Return ``(pyarrow.Table, kind, notes, zones)`` for an in-memory table, else None.

    Kinds: pandas, polars, arrow, ibis. ``zones``: columns whose values carry several zones.

    Raises
    ------
    InputError
        If a pandas frame cannot be converted, or mixes aware and naive timestamps.
    """
    import pyarrow as pa

    module = type(source).__module__
    if module.startswith("pandas") and hasattr(source, "columns"):
        data, notes, zones = _from_pandas(source)
        return data, "pandas", notes, zones
    if module.startswith("polars"):
        frame = source.collect() if hasattr(source, "collect") else source
        return frame.to_arrow(), "polars", (), {}
    if isinstance(source, pa.Table):
        return source, "arrow", (), {}
    if isinstance(source, pa.RecordBatch):
        return pa.Table.from_batches([source]), "arrow", (), {}
    if isinstance(source, pa.RecordBatchReader):
        return source.read_all(), "arrow", (), {}
    if module.startswith("ibis") and hasattr(source, "to_pyarrow"):
        return engine_rows(source), "ibis", (), {}  # int64 exact on MySQL too
    return None


def load_arrow(
    con: Any, data: Any, *, kind: str, table: str, notes: tuple[str, ...] = (),
    zones: dict[str, SourceZone] | None = None,
) -> Loaded:
    """Materialise an in-memory Arrow table; fingerprint = SHA-256 of its Arrow IPC stream.

    Raises
    ------
    InputError
        If the table has no columns or a column named ``_row_id``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    name = _KIND_NAMES[kind]
    if data.num_columns == 0:
        raise InputError(
            f"the {name} has no columns ({data.num_rows:,} rows); expected a transaction log "
            f"with customer, date and amount columns."
        )
    check_reserved(data.column_names, f"the {name}")
    fingerprint = arrow_sha256(data.schema, data.to_batches())
    categorical = [n for n, c in zip(data.column_names, data.columns, strict=True)
                   if pa.types.is_dictionary(c.type)]
    decoded = [pc.cast(c, c.type.value_type) if pa.types.is_dictionary(c.type) else c
               for c in data.columns]
    data = pa.Table.from_arrays(decoded, names=data.column_names)
    if categorical:
        notes = (*notes, f"categorical columns read as their values: "
                         f"{', '.join(repr(c) for c in categorical)}")
    all_zones = {f.name: SourceZone(f.type.tz) for f in data.schema
                 if pa.types.is_timestamp(f.type) and f.type.tz}
    all_zones.update(zones or {})
    register_arrow(con, table, data, f"the {name}")
    return Loaded(f"<{name}>", kind, None, True, fingerprint, notes, all_zones)
