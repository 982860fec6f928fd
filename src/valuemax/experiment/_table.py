"""The customer-level experiment table as an Ibis expression, and its quarantine.

A file is read by DuckDB, a DataFrame is registered in an in-memory DuckDB, an Ibis table is
used where it lives (DuckDB, PySpark, PostgreSQL...). Customers assigned twice, to two arms,
or without an arm leave into a quarantine with their reason; nothing else is dropped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from valuemax._core.exceptions import InputError

#: Quarantine reasons, in the order they are checked.
REASON_NO_ARM = "arm_missing"
REASON_NO_ID = "customer_id_missing"

#: Up to this many duplicated ids are removed with ``NOT IN (...)``; more with an anti-join.
MAX_LITERAL_IDS = 10_000
REASON_TWO_ARMS = "assigned_to_several_arms"
REASON_TWICE = "assigned_twice_same_arm"


def as_table(source: Any, con: Any = None, name: str = "experiment_input",
             encoding: str | None = None) -> ir.Table:
    """Return ``source`` as an Ibis table.

    Parameters
    ----------
    source : str, Path, ibis.Table, pandas/polars DataFrame or pyarrow Table
        A CSV file (plain, ``.gz`` or ``.zst``; header line, types sniffed by DuckDB) or a
        Parquet file; or a table already in memory or in an engine.
    con : ibis backend, optional
        Where to read a file or register a frame (default: a new in-memory DuckDB); an Ibis
        table is returned as it is.
    name : str, default "experiment_input"
        Stem of the temporary table a frame is registered under (a random suffix is added).
    encoding : str, optional
        Text encoding of a CSV file (default: detected among UTF-8, UTF-16 with a byte-order
        mark and GB18030/GBK; see :func:`valuemax.io.table_encoding`). UTF-8 is read by
        DuckDB, any other encoding by pandas (:func:`valuemax.io.read_customer_table`).

    Returns
    -------
    ibis.Table

    Raises
    ------
    InputError
        If the file does not exist or cannot be read (its encoding included), or the object
        is not a table.
    """
    if isinstance(source, ir.Table):
        return source
    from valuemax.engines import connect
    from valuemax.io import normalise_encoding, read_customer_table, table_encoding

    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"experiment table {str(path)!r} does not exist; pass the path of "
                             "a CSV or Parquet file with one row per customer.")
        con = con if con is not None else connect(None)
        parquet = path.suffix.lower() in {".parquet", ".pq"}
        if parquet and encoding is not None:
            normalise_encoding(encoding)  # not used for Parquet, but a bad name is refused
        if not parquet and table_encoding(path, encoding, what="experiment table") not in (
                "utf-8", "utf-8-sig"):
            source = read_customer_table(path, encoding=encoding, what="experiment table")
            return con.create_table(f"{name}_{uuid.uuid4().hex[:12]}",
                                    pa.Table.from_pandas(source, preserve_index=False),
                                    temp=True)
        try:
            if parquet:
                return con.read_parquet(str(path))
            return con.read_csv(str(path))
        except Exception as exc:  # DuckDB's own parse errors carry the details
            raise InputError(f"cannot read {str(path)!r} as CSV or Parquet: "
                             f"{' '.join(str(exc).split())[:300]}") from exc
    if isinstance(source, pd.DataFrame):
        data = pa.Table.from_pandas(source, preserve_index=False)
    elif isinstance(source, pa.Table):
        data = source
    elif type(source).__module__.startswith("polars"):
        data = source.to_arrow()
    else:
        raise InputError(f"cannot read an experiment table from {type(source).__name__}; pass "
                         "a file path, a pandas/polars DataFrame, a pyarrow Table or an Ibis "
                         "table.")
    con = con if con is not None else connect(None)
    return con.create_table(f"{name}_{uuid.uuid4().hex[:12]}", data, temp=True)


def check_columns(table: ir.Table, arm: str, columns: dict[str, list[str]]) -> None:
    """Raise InputError naming missing or non-numeric columns (and the available ones)."""
    available = list(table.columns)
    wanted = {"arm": [arm], **columns}
    missing = [f"{c} ({role})" for role, cols in wanted.items() for c in cols
               if c not in available]
    if missing:
        raise InputError(f"column(s) not in the experiment table: {', '.join(missing)}; "
                         f"available: {', '.join(available)}.")
    for role in ("metric", "covariate"):
        for col in columns.get(role, []):
            dtype = table[col].type()
            if not (dtype.is_numeric() or dtype.is_boolean()):
                raise InputError(
                    f"{role} {col!r} must be numeric (a rate needs 0/1 per customer, a mean "
                    f"any number); it is {dtype}. Convert it before the readout or pick "
                    "another column.")


@dataclass(frozen=True)
class Split:
    """The clean rows and the quarantined ones (with a ``reason`` column)."""

    clean: ir.Table
    quarantine: pd.DataFrame


def quarantine_assignments(table: ir.Table, *, arm: str, id_column: str | None) -> Split:
    """Split off rows without an arm and customers assigned twice or to several arms.

    A customer id on more than one row is quarantined with all its rows: with one arm
    (``assigned_twice_same_arm``) or several (``assigned_to_several_arms``). A row whose arm
    is NULL is ``arm_missing``, one whose id is NULL ``customer_id_missing``. Without
    ``id_column`` only the NULL-arm rule applies.

    Returns
    -------
    Split
        ``clean`` (lazy) and ``quarantine`` (pandas: the id when given, the arm as text,
        ``reason``), which holds only the offending rows.
    """
    arm_col = table[arm]
    no_arm = table.filter(arm_col.isnull())
    pieces = [no_arm.select(
        **({"customer_id": no_arm[id_column].cast("string")} if id_column else {}),
        arm=ibis.null().cast("string"), reason=ibis.literal(REASON_NO_ARM))]
    clean = table.filter(arm_col.notnull())
    if id_column is not None:
        no_id = clean.filter(clean[id_column].isnull())
        pieces.append(no_id.select(customer_id=ibis.null().cast("string"),
                                   arm=no_id[arm].cast("string"),
                                   reason=ibis.literal(REASON_NO_ID)))
        clean = clean.filter(clean[id_column].notnull())
        ids = clean.group_by(id_column).aggregate(_n_rows=clean.count(),
                                                  _n_arms=clean[arm].nunique())
        dup = ids.filter(ids._n_rows > 1)
        joined = clean.inner_join(dup, id_column)
        pieces.append(joined.select(
            customer_id=joined[id_column].cast("string"), arm=joined[arm].cast("string"),
            reason=ibis.cases((joined._n_arms > 1, REASON_TWO_ARMS), else_=REASON_TWICE)))
    quarantine = pieces[0]
    for piece in pieces[1:]:
        quarantine = quarantine.union(piece)
    frame = quarantine.to_pyarrow().to_pandas()
    if id_column is not None:
        # the duplicated ids are few: filter them out by value rather than re-running the
        # group-by of every id in each later query (10M customers, 2 shared cores: 90 s -> 38 s)
        dup_ids = frame.loc[frame["reason"].isin([REASON_TWICE, REASON_TWO_ARMS]),
                            "customer_id"].unique().tolist()
        if len(dup_ids) > MAX_LITERAL_IDS:
            clean = clean.anti_join(dup, id_column)
        elif dup_ids:
            clean = clean.filter(~clean[id_column].cast("string").isin(dup_ids))
    return Split(clean=clean, quarantine=frame)
