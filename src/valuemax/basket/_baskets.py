"""Baskets: the sparse basket × item incidence, built in the engine or read from a file."""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp

from valuemax._core.exceptions import InputError
from valuemax.clean import CleanResult
from valuemax.engines import to_arrow

BasketKind = Literal["order", "customer-day", "file"]


@dataclass(frozen=True)
class Baskets:
    """A basket × item incidence matrix (each item counted once per basket).

    Attributes
    ----------
    matrix : scipy.sparse.csr_matrix of shape (n_baskets, n_items), dtype bool
        True where the basket holds the item.
    items : list of str, length n_items
        Item labels, sorted; column ``j`` of ``matrix`` is ``items[j]``.
    basket_ids : ndarray of shape (n_baskets,)
        Basket labels (order ids, ``"customer|YYYY-MM-DD"``, or the 1-based line number);
        :func:`build_baskets` gives them sorted, as numpy ``StringDType`` text (no Python
        object per basket).
        None when built by :func:`~valuemax.basket._coded.build_coded` (the main job's
        path, which needs no basket label; its rows are in the engine's order).
    customer_ids : ndarray of shape (n_baskets,) or None
        The customer of each basket (None for a plain basket file).
    basket_dates : ndarray of datetime64[D] of shape (n_baskets,) or None
        Date of each basket (its first line), None when unknown.
    kind : {"order", "customer-day", "file"}
        What a basket is.
    item_column : str
        The column (or file) the items come from.
    notes : tuple of str
        What was decided on the way (dropped empty lines, NULL items, ...), with counts.
    basket_ends : ndarray of datetime64 of shape (n_baskets,) or None
        Time of each basket's last line when the log's times have no time zone (from
        :func:`build_baskets`), else None; tells whether a basket spans a split date
        without scanning the lines again.
    """

    matrix: sp.csr_matrix
    items: list[str]
    basket_ids: np.ndarray | None
    customer_ids: np.ndarray | None = None
    basket_dates: np.ndarray | None = None
    kind: BasketKind = "order"
    item_column: str = "product_id"
    notes: tuple[str, ...] = field(default=())
    basket_ends: np.ndarray | None = field(default=None, repr=False)
    # (codes, sorted distinct ids) of customer_ids when build_baskets coded them in Arrow
    _customers: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False,
                                                             compare=False)

    @property
    def n_baskets(self) -> int:
        """Number of baskets (rows of ``matrix``), single-item baskets included."""
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        """Number of distinct items (columns of ``matrix``)."""
        return int(self.matrix.shape[1])

    def basket_sizes(self) -> np.ndarray:
        """Distinct items per basket, ndarray of int64 of shape (n_baskets,)."""
        return np.diff(self.matrix.indptr).astype(np.int64)

    def item_counts(self) -> np.ndarray:
        """Baskets holding each item, ndarray of int64 of shape (n_items,)."""
        return np.bincount(self.matrix.indices, minlength=self.n_items).astype(np.int64)

    def summary(self) -> dict[str, Any]:
        """JSON-able counts: n_baskets, n_items, kind, item_column, mean/max basket size."""
        sizes = self.basket_sizes()
        return {"n_baskets": self.n_baskets, "n_items": self.n_items, "kind": self.kind,
                "item_column": self.item_column,
                "mean_basket_size": float(sizes.mean()) if len(sizes) else 0.0,
                "max_basket_size": int(sizes.max()) if len(sizes) else 0,
                "single_item_baskets": int((sizes == 1).sum())}


def from_codes(basket_codes: np.ndarray, item_codes: np.ndarray, n_baskets: int,
               n_items: int) -> sp.csr_matrix:
    """Boolean CSR incidence from (basket, item) code pairs; duplicate pairs count once."""
    data = np.ones(len(basket_codes), dtype=bool)
    m = sp.csr_matrix((data, (basket_codes, item_codes)), shape=(n_baskets, n_items),
                      dtype=bool)
    m.sum_duplicates()
    m.sort_indices()
    return m


def _pick_item(t: ir.Table, item: str) -> str:
    """The item column: ``item`` as given, or for ``"auto"`` the first product column filled.

    ``"auto"`` takes ``product_id`` when at least one line has one, else ``product_name``
    (a log with product names but no codes: the names are the items). The clean table
    always has both canonical columns, NULL when the log lacks them, hence the count (one
    aggregate query).
    """
    columns = list(t.columns)
    if item != "auto":
        if item not in columns:
            raise InputError(f"build_baskets: item={item!r} is not a column of the "
                             f"transactions (columns: {', '.join(columns)}); pass "
                             "item='auto' or one of them.")
        return item
    present = [c for c in ("product_id", "product_name") if c in columns]
    if present:
        filled = t.aggregate(**{c: t[c].count() for c in present}).to_pyarrow().to_pylist()[0]
        for col in present:
            if filled[col]:
                return col
    raise InputError(
        "build_baskets needs a product column: no line has a product_id or a product_name "
        f"(columns: {', '.join(columns)}). Map the stock code or product description with "
        "read_transactions(..., mapping={'product_id': 'YourColumn'}) or "
        "mapping={'product_name': 'YourColumn'}.")


def basket_lines(transactions: CleanResult | ir.Table, item: str = "auto", *,
                 customers: bool = False) -> tuple[ir.Table, str, BasketKind, list[str]]:
    """The lines that go into baskets, keyed (:func:`_keyed`), with the item column, the
    basket kind and the notes (lines without an item, lines without an order id).

    With ``customers=True`` the notes' count query also counts those lines' NULL
    customers, returned as a fifth element.

    Raises
    ------
    InputError
        As :func:`build_baskets`.
    """
    if isinstance(transactions, CleanResult):
        transactions = transactions.transactions
    columns = list(transactions.columns)
    item_col = _pick_item(transactions, item)
    for col in ("customer_id", "order_ts"):
        if col not in columns:
            raise InputError(f"build_baskets needs column {col!r}; the transactions have "
                             f"{', '.join(columns)}.")
    has_order = "order_id" in columns
    t = _keyed(transactions, item_col)
    extra = ({"n_null_customer": (t._item.notnull() & t.customer_id.isnull()).sum()
              .coalesce(0)} if customers else {})
    counts = t.aggregate(n=t.count(), n_null=t._item.isnull().sum().coalesce(0),
                         n_no_order=(~t._is_order).sum().coalesce(0), **extra)
    got = [int(x) for x in counts.to_pyarrow().to_pandas().iloc[0]]
    n, n_null, n_no_order = got[:3]
    notes: list[str] = []
    if n_null:
        notes.append(f"{n_null:,} of {n:,} lines have no {item_col} and are left out of the "
                     "baskets.")
    if n == n_null:
        raise InputError(f"build_baskets: no line has a {item_col}; there is nothing to "
                         "put in baskets.")
    kind: BasketKind = "order" if has_order and n_no_order == 0 else "customer-day"
    if has_order and 0 < n_no_order < n:
        notes.append(f"{n_no_order:,} of {n:,} lines have no order_id: they form customer-day "
                     "baskets (customer and calendar date).")
    elif not has_order or n_no_order:
        notes.append(f"the log has no order ids: its {n:,} lines form customer-day baskets "
                     "(a customer's lines on one calendar day); if an order or invoice column "
                     "exists, map it as order_id (CLI: --map order_id=COLUMN).")
    out = (t.filter(t._item.notnull()), item_col, kind, notes)
    return (*out, got[3]) if customers else out


def build_baskets(transactions: CleanResult | ir.Table, *, item: str = "auto") -> Baskets:
    """Build the basket × item incidence in the engine; only distinct pairs reach Python.

    A basket is an order (``order_id``); lines without an order id (or a log without that
    column) are grouped into customer-days (``customer_id`` and the calendar date of
    ``order_ts``). Repeated lines of one item in one basket count once. Lines whose item is
    NULL are left out (counted in ``notes``).

    Parameters
    ----------
    transactions : CleanResult or ibis.Table
        The result of :func:`valuemax.clean.clean` (its ``transactions`` are used), or a
        plain Ibis table of clean transactions with the canonical columns
        (``customer_id``, ``order_ts``, and ``order_id``, ``product_id``/``product_name``
        when present).
    item : str, default "auto"
        The item column; ``"auto"`` takes ``product_id`` when any line has one, else
        ``product_name`` (a log with product names but no codes uses the names as items).

    Returns
    -------
    Baskets
        ``kind`` is ``"order"`` when every basket is an order, else ``"customer-day"``.

    Notes
    -----
    No row check runs here, for either type: the baskets read no amount and need no
    observation end, and a line without an item is left out with a note. A CleanResult
    guarantees in addition that no line has a NULL customer or date, so every basket has
    a customer and a date; a plain table is taken as given (a NULL ``customer_id`` on a
    line with an order id leaves that basket's customer NULL). Both give the same baskets
    for the same lines.

    Raises
    ------
    InputError
        If there is no product column, ``item`` is not a column, or no line has an item.

    Examples
    --------
    >>> import ibis, pandas as pd, pyarrow as pa
    >>> df = pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "1", "2"],
    ...                    "order_ts": pd.to_datetime(["2024-01-01"] * 3),
    ...                    "product_id": ["x", "x", "y"]})
    >>> b = build_baskets(ibis.memtable(pa.Table.from_pandas(df)))
    >>> (b.n_baskets, b.n_items, int(b.matrix.sum()))
    (2, 2, 2)
    """
    t, item_col, kind, notes = basket_lines(transactions, item)
    # to_arrow: on Spark the engine's Arrow batches, partition by partition (Ibis's
    # to_pyarrow builds a pandas frame of every pair first)
    pairs = to_arrow(t.select("_basket", "_item").distinct())
    if pairs.num_rows == 0:
        raise InputError(f"build_baskets: no line has a {item_col}; there is nothing to "
                         "put in baskets.")
    info = to_arrow(t.group_by("_basket")
                    .aggregate(_customer=t.customer_id.cast("string").min(),
                               _ts=t.order_ts.min(), _last=t.order_ts.max()))
    # one row per basket: sorted by id once in Arrow (bytewise, as sorted_codes), the
    # pairs coded by a hash look-up into the sorted ids
    keys = info.column("_basket").combine_chunks()
    order = pc.sort_indices(keys)
    b_ids = keys.take(order)
    info = info.select(["_customer", "_ts", "_last"]).take(order)
    b_codes = np.asarray(pc.index_in(pairs.column("_basket"), value_set=b_ids),
                         dtype=np.int64)
    i_codes, items = sorted_codes(pairs.column("_item"))
    del pairs
    ts = info.column("_ts").combine_chunks()
    customer_ids, coded = _labels(info.column("_customer"))
    matrix = from_codes(b_codes, i_codes, len(b_ids), len(items))
    del b_codes, i_codes
    return Baskets(
        matrix=matrix, items=items.to_pylist(), basket_ids=_text(b_ids),
        customer_ids=customer_ids,
        basket_dates=pd.to_datetime(ts.to_pandas()).to_numpy().astype("datetime64[D]"),
        kind=kind, item_column=item_col, notes=tuple(notes),
        basket_ends=_naive(info.column("_last").combine_chunks()), _customers=coded)


def _labels(values: pa.Array | pa.ChunkedArray,
            ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """``values.to_numpy()`` (object) with one Python string per distinct value (the
    customers of ten million baskets are a million strings, not ten million), and their
    codes into the sorted distinct values (:func:`sorted_codes`; None with NULLs)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if values.null_count or not pa.types.is_string(values.type):
        return values.to_numpy(zero_copy_only=False), None
    codes, uniques = sorted_codes(values)
    labels = uniques.to_numpy(zero_copy_only=False)
    return labels[codes], (codes, labels)


def _text(values: pa.Array) -> np.ndarray:
    """Text without NULLs as a numpy ``StringDType`` array (no Python object per value;
    converted a million values at a time), any other array as ``to_numpy()``."""
    if values.null_count or not pa.types.is_string(values.type):
        return values.to_numpy(zero_copy_only=False)
    out = np.empty(len(values), dtype=np.dtypes.StringDType())
    step = 1 << 20
    for start in range(0, len(values), step):
        out[start:start + step] = values.slice(start, step).to_numpy(zero_copy_only=False)
    return out


def _naive(ts: pa.Array) -> np.ndarray | None:
    """Timestamps without a time zone as datetime64 (None for any other type or NULLs)."""
    if not pa.types.is_timestamp(ts.type) or ts.type.tz is not None or ts.null_count:
        return None
    return ts.to_numpy()


def _keyed(t: ir.Table, item_col: str) -> ir.Table:
    """``t`` with ``_basket`` (order id, else customer and day), ``_item`` and ``_is_order``.

    A product name used as the item is stripped of surrounding blanks: an export that wrote
    "WHITE MUG" on some lines and "WHITE MUG " on others sells one product, not two (and a
    customer who bought one must not be recommended the other)."""
    day = t.order_ts.cast("date").cast("string")
    cday = t.customer_id.cast("string").concat("|", day)
    has_order = "order_id" in t.columns
    key = t.order_id.cast("string").coalesce(cday) if has_order else cday
    item = t[item_col].cast("string")
    if item_col == "product_name":  # "WHITE MUG " is the product "WHITE MUG" (codes: as given)
        item = item.strip()
    return t.mutate(_basket=key, _item=item,
                    _is_order=(t.order_id.notnull() if has_order else ibis.literal(False)))


def split_baskets(transactions: ir.Table, baskets: Baskets, split: Any) -> Baskets | None:
    """The baskets of the lines before ``split``, cut from ``baskets`` without a new query.

    Equal to ``build_baskets(transactions.filter(order_ts < split), item=...)`` (same
    matrix, items, customers and dates) when no basket has lines on both sides of the
    split, which the baskets' first and last times tell (``basket_ends``, kept by
    :func:`build_baskets` when the times have no zone), else one aggregate query in the
    engine checks; otherwise (or when no basket is before the split) None, and the
    caller builds them from the lines.

    Parameters
    ----------
    transactions : ibis.Table
        The clean lines ``baskets`` was built from.
    baskets : Baskets
        ``build_baskets(transactions)`` with dates.
    split : datetime.date
        First day after the training period.

    Returns
    -------
    Baskets or None
    """
    if baskets.basket_dates is None or baskets.customer_ids is None:
        return None
    keep = baskets.basket_dates < np.datetime64(split.isoformat(), "D")
    ts_type = transactions.order_ts.type()
    if baskets.basket_ends is not None and getattr(ts_type, "timezone", "") is None:
        # times without a zone: a basket spans the split when its first line is before
        # it and its last on or after it (both kept by build_baskets: no query)
        ends = baskets.basket_ends
        if not keep.any() or (keep & (ends >= np.datetime64(split.isoformat(), "D"))).any():
            return None
    else:
        k = _keyed(transactions, baskets.item_column)
        k = k.filter(k._item.notnull())
        per = k.group_by("_basket").aggregate(_lo=k.order_ts.min(), _hi=k.order_ts.max())
        got = per.aggregate(
            # a boolean's sum (ibis counts the true values; PostgreSQL cannot cast it to
            # bigint)
            span=((per._lo < split) & (per._hi >= split)).sum().coalesce(0),
            before=(per._lo < split).sum().coalesce(0)).to_pyarrow().to_pylist()[0]
        # the dates (first line's day) must pick the same number of baskets as the engine
        if got["span"] or not keep.any() or int(keep.sum()) != got["before"]:
            return None
    m = baskets.matrix[np.flatnonzero(keep)]
    cols = np.flatnonzero(np.bincount(m.indices, minlength=m.shape[1]) > 0)
    m = m[:, cols].tocsr()
    m.sort_indices()
    return Baskets(matrix=m, items=[baskets.items[j] for j in cols],
                   basket_ids=(None if baskets.basket_ids is None
                               else baskets.basket_ids[keep]),
                   customer_ids=baskets.customer_ids[keep],
                   basket_dates=baskets.basket_dates[keep], kind=baskets.kind,
                   item_column=baskets.item_column,
                   basket_ends=(None if baskets.basket_ends is None
                                else baskets.basket_ends[keep]),
                   _customers=(None if baskets._customers is None
                               else (baskets._customers[0][keep], baskets._customers[1])))


def sorted_codes(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """Codes of ``values`` into their sorted distinct values, computed in Arrow.

    The same result as ``pandas.factorize(values, sort=True)`` on strings without nulls
    (Arrow sorts UTF-8 bytewise, i.e. by code point, as Python does), without making a
    Python object per value.

    Parameters
    ----------
    values : pyarrow.Array or ChunkedArray of length n, no nulls

    Returns
    -------
    codes : ndarray of int64 of shape (n,)
        Position of each value in ``uniques``.
    uniques : pyarrow.Array
        The distinct values, sorted.
    """
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    enc = pc.dictionary_encode(values)
    order = np.asarray(pc.sort_indices(enc.dictionary), dtype=np.int64)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    codes = rank[np.asarray(enc.indices, dtype=np.int64)]
    return codes, enc.dictionary.take(pa.array(order))


def _open_text(path: Path, encoding: str = "utf-8"):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return path.open("r", encoding=encoding, newline="")


#: A field that looks like a date or a time of day (``2011-12-09``, ``9/12/2011``,
#: ``20111209``, ``08:26``): no product name in a basket file does.
DATE_LIKE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|"
                       r"^\d{8}$|\d{1,2}:\d{2}")
#: A field that is a plain number (an amount, a quantity or an id).
NUMBER = re.compile(r"^[-+]?[\d.,]+$")


def table_evidence(rows: list[list[str]]) -> str | None:
    """Why ``rows`` (split lines of a file) look like a table rather than baskets, or None.

    A table has the same number of fields on every line; it is taken for one when, besides,
    fields of half its lines or more look like dates or times, or its first line holds no
    number while over a fifth of the fields below it are numbers (a header above amounts or
    ids). A basket file has as many fields as each basket has items, and items are
    product names.

    Examples
    --------
    >>> table_evidence([["InvoiceNo", "Quantity", "Price"], ["536365", "6", "2.55"],
    ...                 ["536366", "2", "1.85"]])[:58]
    'every line has 3 fields, and the first line has no number '
    >>> table_evidence([["milk", "bread"], ["eggs"], ["milk", "jam"]]) is None
    True
    """
    lines = [[c.strip() for c in r] for r in rows if any(c.strip() for c in r)]
    widths = {len(r) for r in lines}
    if len(lines) < 3 or len(widths) != 1 or min(widths) < 2:
        return None
    width = widths.pop()
    dated = sum(any(DATE_LIKE.search(c) for c in r) for r in lines)
    if dated * 2 >= len(lines):
        return (f"every line has {width} fields and {dated:,} of {len(lines):,} lines hold a "
                "date or time")
    below = [c for r in lines[1:] for c in r if c]
    numbers = sum(bool(NUMBER.match(c)) for c in below)
    if not any(NUMBER.match(c) for c in lines[0]) and numbers * 5 > len(below):
        return (f"every line has {width} fields, and the first line has no number while "
                f"{numbers:,} of the {len(below):,} fields below it are numbers (a header "
                f"{', '.join(repr(c) for c in lines[0][:4])}{', ...' if width > 4 else ''})")
    return None


def read_baskets(path: str | Path, *, sep: str = ",", encoding: str = "utf-8") -> Baskets:
    """Read a plain basket file: one basket per line, items separated by ``sep``, no header.

    Items are stripped of surrounding blanks (the labels changed are named in ``notes``:
    Groceries has ``'cream cheese '`` at the end of some lines only); an item repeated on a line counts once; blank
    lines are skipped (counted in ``notes``). ``.gz`` files are decompressed. Basket ids are
    the 1-based line numbers.

    Parameters
    ----------
    path : str or Path
        The file (e.g. the arules ``Groceries`` export ``groceries_baskets.csv.gz``).
    sep : str, default ","
        Item separator.
    encoding : str, default "utf-8"
        Text encoding of the file; a file that is not valid in it is refused (InputError
        naming the byte), never decoded with replacement characters. Items may be quoted
        (``"a, b",c``: the csv module's rules).

    Returns
    -------
    Baskets
        ``kind="file"``, no customers or dates.

    Raises
    ------
    InputError
        If the file is missing or holds no item, or looks like a table (same number of
        fields on every line with dates, or a header above numbers: see
        :func:`table_evidence`).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"read_baskets: no file at {path}.")
    b_codes: list[int] = []
    names: list[str] = []
    line_ids: list[int] = []
    blank = 0
    padded: set[str] = set()
    try:
        with _open_text(path, encoding) as fh:
            rows = list(csv.reader(fh, delimiter=sep))  # "a, b",c: one item "a, b"
    except UnicodeDecodeError as exc:
        raise InputError(f"read_baskets: {path} is not {encoding} text ({exc.reason} at byte "
                         f"{exc.start:,}); pass encoding= (e.g. 'gb18030' or 'latin-1'), or "
                         "--encoding on the command line.") from None
    for lineno, raw in enumerate(rows, start=1):
        its = [x.strip() for x in raw]
        padded.update(x for x, y in zip(raw, its, strict=True) if x != y and y)
        its = [x for x in its if x]
        if not its:
            blank += 1
            continue
        b = len(line_ids)
        line_ids.append(lineno)
        b_codes.extend([b] * len(its))
        names.extend(its)
    if not names:
        raise InputError(f"read_baskets: {path} holds no item (every line is blank).")
    table = table_evidence(rows[:200])
    if table:
        raise InputError(
            f"read_baskets: {path} looks like a table, not one basket per line: {table}. Its "
            "header, ids, dates and amounts would be mined as items. Read a transaction log "
            "as one (input_format='transactions', CLI --input transactions), or a table of "
            "one line per basket and item with input_format='long' and its basket and item "
            "columns (CLI --input long --basket-columns ... --item-column ...).")
    i_codes, items = pd.factorize(pd.Series(names, dtype=object), sort=True)
    notes = [f"{blank:,} blank lines skipped."] if blank else []
    if padded:
        shown = ", ".join(repr(x) for x in sorted(padded)[:5])
        notes.append(f"{len(padded):,} item labels had surrounding blanks, removed so that "
                     f"each item has one label (e.g. {shown}).")
    return Baskets(matrix=from_codes(np.asarray(b_codes), i_codes, len(line_ids), len(items)),
                   items=[str(x) for x in items], basket_ids=np.asarray(line_ids),
                   kind="file", item_column=path.name, notes=tuple(notes))


def baskets_from_long(data: pd.DataFrame | str | Path,
                      basket_columns: tuple[str, ...] | list[str] = ("Member_number", "Date"),
                      item_column: str = "itemDescription") -> Baskets:
    """Baskets from a long table (one line per basket and item), grouped in DuckDB.

    A basket is one combination of ``basket_columns`` (by default a member on a day, as in
    the Kaggle ``Groceries_dataset.csv``); every column is read as text, nothing coerced.

    Parameters
    ----------
    data : DataFrame, str or Path
        The table, or a CSV file (``.gz`` ok) with a header line.
    basket_columns : sequence of str, default ("Member_number", "Date")
        Columns whose combination is a basket; the first is taken as the customer.
    item_column : str, default "itemDescription"
        The item column.

    Returns
    -------
    Baskets
        ``kind="customer-day"``, basket ids ``"value|value"``, ``customer_ids`` from the
        first basket column, no dates.

    Raises
    ------
    InputError
        If a column is missing or no line has an item.
    """
    from valuemax.engines import connect

    con = connect(None)
    try:
        if isinstance(data, pd.DataFrame):
            t = ibis.memtable(pa.Table.from_pandas(data.astype("string"), preserve_index=False))
        else:
            if not Path(data).is_file():
                raise InputError(f"baskets_from_long: no file at {data}.")
            t = con.read_csv(str(data), all_varchar=True)
        cols = [*basket_columns, item_column]
        missing = [c for c in cols if c not in t.columns]
        if missing:
            raise InputError(f"baskets_from_long: missing column(s) {', '.join(missing)}; the "
                             f"table has {', '.join(t.columns)}. Pass basket_columns= and "
                             "item_column=.")
        key = t[basket_columns[0]].cast("string")
        for c in basket_columns[1:]:
            key = key.concat("|", t[c].cast("string"))
        t = t.mutate(_basket=key, _item=t[item_column].cast("string").strip(),
                     _customer=t[basket_columns[0]].cast("string"))
        usable = t._item.notnull() & (t._item != "") & t._basket.notnull()
        n_lines = int(con.to_pyarrow(t.count()).as_py())
        t = t.filter(usable)
        n_dropped = n_lines - int(con.to_pyarrow(t.count()).as_py())
        pairs = con.to_pyarrow(t.select("_basket", "_item", "_customer").distinct()).to_pandas()
    finally:
        con.disconnect()
    if pairs.empty:
        raise InputError("baskets_from_long: no line has an item.")
    b_codes, b_ids = pd.factorize(pairs["_basket"], sort=True)
    i_codes, items = pd.factorize(pairs["_item"], sort=True)
    cust = pairs.drop_duplicates("_basket").set_index("_basket")["_customer"].reindex(b_ids)
    return Baskets(matrix=from_codes(b_codes, i_codes, len(b_ids), len(items)),
                   items=[str(x) for x in items], basket_ids=np.asarray(b_ids, dtype=object),
                   customer_ids=cust.to_numpy(dtype=object), kind="customer-day",
                   item_column=item_column,
                   notes=(f"{n_dropped:,} of {n_lines:,} lines have no item or no basket key "
                          f"({', '.join(basket_columns)}): left out.",) if n_dropped else ())
