"""Cross-sell recommendations: rules first, then item-item cosine co-occurrence."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import scipy.sparse as sp

from valuemax._core.exceptions import InputError
from valuemax.basket._baskets import Baskets, build_baskets, sorted_codes

_CHUNK = 4096


def customer_items(baskets: Baskets) -> tuple[np.ndarray, sp.csr_matrix]:
    """Customers (sorted) and their customer × item bought matrix (bool CSR)."""
    if baskets.customer_ids is None:
        raise InputError("recommend needs baskets with customers (customer_ids); a plain "
                         "basket file has none. Use build_baskets(transactions) or "
                         "baskets_from_long(...).")
    known = baskets._customers  # coded by build_baskets
    if known is not None:
        codes, custs = known
        present = np.bincount(codes, minlength=len(custs)) > 0
        if not present.all():  # a cut of the baskets: the customers left, same order
            codes = (np.cumsum(present) - 1)[codes]
            custs = custs[present]
    else:
        codes, custs = _customer_codes(baskets.customer_ids)
    owner = sp.csr_matrix((np.ones(len(codes), dtype=np.int32),
                           (codes, np.arange(len(codes)))), shape=(len(custs), len(codes)))
    hist = (owner @ baskets.matrix.astype(np.int32)).tocsr()
    hist.data = (hist.data > 0)
    return custs, hist.astype(bool)


def _customer_codes(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pandas.factorize(ids, sort=True)``; text ids without nulls are coded in Arrow."""
    try:
        arr = pa.array(ids)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = None
    if arr is not None and pa.types.is_string(arr.type) and arr.null_count == 0:
        codes, uniques = sorted_codes(arr)
        return codes, uniques.to_numpy(zero_copy_only=False)
    codes, uniques = pd.factorize(pd.Series(ids, dtype=object), sort=True)
    return codes, np.asarray(uniques, dtype=object)


def top_n_dense(score_rows: Any, bought: sp.csr_matrix, n: int, *, exclude: bool,
                positive: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top ``n`` columns per row of a customer chunk, best first: (rows, cols, scores)."""
    dense = np.asarray(score_rows.toarray() if sp.issparse(score_rows) else score_rows,
                       dtype=float)
    if exclude:
        b = bought.tocoo()
        dense[b.row, b.col] = -np.inf
    k = min(n, dense.shape[1])
    if k == 0:
        return (np.array([], dtype=np.int64),) * 2 + (np.array([], dtype=float),)
    part = np.argpartition(-dense, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(dense, part, axis=1)
    order = np.lexsort((part, -vals), axis=1)
    part = np.take_along_axis(part, order, axis=1)
    vals = np.take_along_axis(vals, order, axis=1)
    rows = np.repeat(np.arange(dense.shape[0]), k)
    cols, vals = part.ravel(), vals.ravel()
    ok = vals > 0 if positive else np.isfinite(vals)
    return rows[ok], cols[ok], vals[ok]


def top_n_sparse(scores: sp.spmatrix, bought: sp.csr_matrix | None, n: int,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top ``n`` positive entries per row of a sparse score matrix, best first.

    The sparse counterpart of :func:`top_n_dense` with ``positive=True``: only stored,
    positive scores can be suggested, so the row × item table is never made dense. Entries
    where ``bought`` is True are left out (``bought`` None: none). Ties rank by the smaller
    column.

    Parameters
    ----------
    scores : scipy.sparse matrix of shape (n_rows, n_items)
        Scores; missing entries are 0.
    bought : scipy.sparse.csr_matrix of shape (n_rows, n_items), bool, or None
        Entries to leave out.
    n : int
        Entries per row (>= 1).

    Returns
    -------
    tuple of (ndarray of int64, ndarray of int64, ndarray of float64)
        Row, column and score of each kept entry, sorted by row, then score (descending),
        then column.
    """
    s = sp.csr_matrix(scores, dtype=np.float64)
    s.sum_duplicates()
    m, p = s.shape
    if m and p and s.nnz >= DENSE_FROM * m * p:
        step = max(1, _BLOCK // p)
        parts = []
        for i in range(0, m, step):
            block = s[i:i + step].toarray()
            if bought is not None:
                block[bought[i:i + step].toarray()] = 0.0
            parts.append(_top_n_block(block, n, i))
        rows, cols, vals = (np.concatenate(x) for x in zip(*parts, strict=True))
        return rows, cols, vals
    return _top_n_csr(s, bought, n)


def _top_n_csr(s: sp.csr_matrix, bought: sp.csr_matrix | None, n: int,
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`top_n_sparse` of a CSR matrix without duplicate entries (e.g. a sparse
    product), in time linear in its stored entries.

    A row's ``n`` best entries not bought lie among its ``n + b`` best positive entries,
    ``b`` the row's bought items (at most ``b`` of those are left out, and every entry
    below them ranks after ``n`` kept ones). A floor of that ``(n + b)``-th largest score
    (:func:`_row_floor`: from the row's first values, exact on short rows) keeps few
    entries with one comparison per stored entry; those are checked against ``bought``,
    cut again to each row's ``n``-th largest (exact on the rows left, now short) and sorted
    by score, then column — the same entries in the same order as sorting every stored
    entry that is not bought.
    """
    m, p = s.shape
    indptr = s.indptr.astype(np.int64)
    need = np.full(m, n, dtype=np.int64)
    if bought is not None:
        bought = bought.tocsr()
        need += np.diff(bought.indptr)
    rows, cols, vals = _above_floor(s.indices, s.data, indptr, need)
    if bought is not None and bought.nnz and len(rows):
        keys = np.repeat(np.arange(m, dtype=np.int64), np.diff(bought.indptr)) * p
        keys += bought.indices
        keys.sort()
        probe = rows * p + cols
        at = np.minimum(np.searchsorted(keys, probe), len(keys) - 1)
        keep = keys[at] != probe
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    # each row's n-th largest of the entries left (exact: the rows are short now)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=m))])
    rows, cols, vals = _above_floor(cols, vals, indptr, np.full(m, n, dtype=np.int64))
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    start = np.searchsorted(rows, rows, side="left")
    keep = (np.arange(len(rows)) - start) < n
    return rows[keep], cols[keep], vals[keep]


def _above_floor(cols: np.ndarray, vals: np.ndarray, indptr: np.ndarray, need: np.ndarray,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The positive entries of rows laid out as in CSR (row ``r`` at ``[indptr[r],
    indptr[r + 1])``) at or above their row's :func:`_row_floor`: (rows, cols as int64,
    vals), in their stored order."""
    floor = np.maximum(_row_floor(vals, indptr, need), _TINY)  # > 0: positive scores only
    idx = np.flatnonzero(vals >= np.repeat(floor, np.diff(indptr)))
    rows = np.searchsorted(indptr, idx, side="right") - 1
    return rows.astype(np.int64), cols[idx].astype(np.int64), vals[idx]


#: Values per row from which :func:`_row_floor` takes each row's floor.
_SAMPLE = 128
#: The smallest positive double: a floor of at least it keeps positive scores only.
_TINY = np.nextafter(0.0, 1.0)


def _row_floor(vals: np.ndarray, indptr: np.ndarray, need: np.ndarray) -> np.ndarray:
    """Each row's ``need[r]``-th largest among its first :data:`_SAMPLE` values (0 for a
    row of fewer values, or a ``need`` over :data:`_SAMPLE`): at most the row's
    ``need``-th largest, equal to it on a row of at most :data:`_SAMPLE` values. ``vals``
    holds the rows one after the other, row ``r`` at ``vals[indptr[r]:indptr[r + 1]]``
    (int64 ``indptr``); ``need`` >= 1."""
    m = len(indptr) - 1
    counts = np.diff(indptr)
    floor = np.zeros(m)
    width = int(min(_SAMPLE, counts.max(initial=0)))
    if width == 0:
        return floor
    step = max(1, _BLOCK // width)
    pos = np.arange(width, dtype=np.int64)
    for a in range(0, m, step):
        b = min(a + step, m)
        q = need[a:b]
        fit = q <= width  # a larger need: floor 0, every value kept
        top = int(q[fit].max(initial=0))
        if top == 0:
            continue
        at = np.minimum(indptr[a:b, None] + pos, max(len(vals) - 1, 0))
        sample = np.where(pos < counts[a:b, None], vals[at], 0.0)
        best = np.sort(np.partition(sample, width - top, axis=1)[:, width - top:], axis=1)
        got = best[np.arange(b - a), np.clip(top - q, 0, top - 1)]
        floor[a:b] = np.where(fit, got, 0.0)
    return floor


#: Share of stored entries from which :func:`top_n_sparse` selects on dense row blocks (a
#: partition per row) rather than sorting every stored entry: item co-occurrence scores of
#: customers are mostly dense (Online Retail: ~all of 4,325 x 3,665).
DENSE_FROM = 0.05
#: Entries of one dense row block (8 bytes each: 32 MB).
_BLOCK = 1 << 22
#: Largest item × item similarity table multiplied as a dense array by :func:`recommend_for`
#: (8 bytes an entry: 5,792 items); larger tables stay sparse.
_DENSE_COS_BYTES = 1 << 28
#: Bytes of one column tile of the dense similarity table (:func:`_column_tiles`): small
#: enough to stay in a core's cache while a block of customers is multiplied with it.
_TILE_BYTES = 1 << 21


def _top_n_block(dense: np.ndarray, n: int, first_row: int,
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`top_n_sparse` of a dense block of rows (0 = no score) whose first row is
    ``first_row``: the same entries in the same order.

    Every entry of a row's top ``n`` is at least the row's ``n``-th largest value, so only
    entries at or above it (all ties at the ``n``-th place included) are sorted by score,
    then column; a partition finds that value in linear time.
    """
    k = min(n, dense.shape[1])
    kth = np.partition(dense, dense.shape[1] - k, axis=1)[:, dense.shape[1] - k]
    rows, cols = np.nonzero((dense >= kth[:, None]) & (dense > 0))
    vals = dense[rows, cols]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    start = np.searchsorted(rows, rows, side="left")
    keep = (np.arange(len(rows)) - start) < n
    return (rows[keep].astype(np.int64) + first_row, cols[keep].astype(np.int64),
            vals[keep])


def cosine_items(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Item × item cosine similarity of the basket columns, zero diagonal (sparse)."""
    return _scaled(*_cooccurrence(matrix))


def _cooccurrence(matrix: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """Baskets holding both items (float64 CSR of shape (p, p), counts exact, diagonal kept)
    and ``1 / sqrt(baskets holding the item)`` (0 for an item in none)."""
    # pairs come from baskets of two items or more: the one-item baskets (most orders of
    # a large log) add only to the diagonal, which is the item counts and zeroed later
    rich = np.flatnonzero(np.diff(matrix.indptr) >= 2)
    x = matrix[rich].astype(np.float64)
    co = (x.T @ x).tocsr()
    d = np.sqrt(np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64))
    return co, np.divide(1.0, d, out=np.zeros_like(d), where=d > 0)


def _scaled(co: sp.csr_matrix, inv: np.ndarray) -> sp.csr_matrix:
    """The cosines of :func:`_cooccurrence`'s counts: each entry times ``inv[row]``, then
    times ``inv[column]`` (the products of ``diags(inv) @ co @ diags(inv)``, to the bit,
    without two sparse products), diagonal removed."""
    rows = np.repeat(np.arange(co.shape[0]), np.diff(co.indptr))
    cos = sp.csr_matrix(((inv[rows] * co.data) * inv[co.indices], co.indices.copy(),
                         co.indptr.copy()), shape=co.shape)
    cos.setdiag(0.0)
    cos.eliminate_zeros()
    return cos


def _similarity(matrix: sp.csr_matrix,
                ) -> tuple[int, list[tuple[int, np.ndarray]] | None, sp.csr_matrix | None]:
    """The item × item cosines as :func:`recommend_codes` multiplies them: ``(p, tiles,
    None)`` with the dense column tiles of :func:`_column_tiles` when the table is small
    enough for memory (:data:`_DENSE_COS_BYTES`) and mostly filled (:data:`DENSE_FROM`),
    else ``(p, None, cosine_items(matrix))``.

    The dense table is scaled from the counts made dense (the same products in the same
    order as :func:`_scaled`, so the same bits), without the sparse table's scaling,
    diagonal removal and column conversion (Online Retail: ~0.5 CPU s a table).
    """
    co, inv = _cooccurrence(matrix)
    p = co.shape[0]
    off_diagonal = co.nnz - np.count_nonzero(co.diagonal())  # the cosines stored
    if p * p * 8 > _DENSE_COS_BYTES or off_diagonal < DENSE_FROM * p * p:
        return p, None, _scaled(co, inv)
    dense = co.toarray()
    del co
    np.fill_diagonal(dense, 0.0)
    dense *= inv[:, None]  # (count x inv[row]) x inv[column], as _scaled
    dense *= inv[None, :]
    width = max(1, _TILE_BYTES // (8 * max(p, 1)))
    return p, [(a, np.ascontiguousarray(dense[:, a:a + width])) for a in range(0, p, width)], None


def _column_tiles(cos: sp.csr_matrix) -> list[tuple[int, np.ndarray]]:
    """The similarity table as dense column tiles of about :data:`_TILE_BYTES` each.

    Returns
    -------
    list of (int, ndarray of shape (p, w))
        Each tile's first column and its C-ordered entries (0 where ``cos`` stores none).
    """
    p = cos.shape[1]
    width = max(1, _TILE_BYTES // (8 * max(cos.shape[0], 1)))
    csc = cos.tocsc()  # column slices without a scan of every row
    return [(a, np.ascontiguousarray(csc[:, a:a + width].toarray()))
            for a in range(0, p, width)]


def _times_tiles(h: sp.csr_matrix, tiles: list[tuple[int, np.ndarray]], p: int) -> np.ndarray:
    """``h @ dense`` of the tiles of :func:`_column_tiles` (``dense`` of shape (q, p)).

    Tile by tile, so the rows of the table each customer adds stay in the CPU cache instead
    of streaming the whole table once per item bought (Online Retail: 3,645 items, 106 MB;
    about 2.5x faster). Each entry is the same sum in the same order (the items of the
    row, in the order stored) as the product with the whole table: the same bits.
    """
    hf = h.astype(np.float64)
    out = np.empty((h.shape[0], p))
    for a, tile in tiles:
        out[:, a:a + tile.shape[1]] = hf @ tile
    return out


def _rule_scores(rules: pd.DataFrame, items: list[str], hist: sp.csr_matrix,
                 exclude: bool) -> pd.DataFrame:
    cols = ["_c", "_i", "score", "lift"]
    if rules is None or len(rules) == 0:
        return pd.DataFrame({c: pd.Series([], dtype="float64") for c in cols})
    index = {x: j for j, x in enumerate(items)}
    ants = rules["antecedents"].tolist()
    ok = np.array([all(a in index for a in ant) and all(c in index for c in con)
                   for ant, con in zip(ants, rules["consequents"], strict=True)], dtype=bool)
    rules = rules[ok].reset_index(drop=True)
    if len(rules) == 0:
        return pd.DataFrame({c: pd.Series([], dtype="float64") for c in cols})
    r_idx = np.repeat(np.arange(len(rules)), [len(a) for a in rules["antecedents"]])
    i_idx = [index[a] for ant in rules["antecedents"] for a in ant]
    amat = sp.csr_matrix((np.ones(len(r_idx), dtype=np.int32), (r_idx, i_idx)),
                         shape=(len(rules), len(items)))
    need = np.asarray(amat.sum(axis=1)).ravel()
    held = (hist.astype(np.int32) @ amat.T).tocoo()
    app = held.data == need[held.col]
    pairs = pd.DataFrame({"_c": held.row[app], "_r": held.col[app]})
    cons = pd.DataFrame({"_r": np.repeat(np.arange(len(rules)),
                                         [len(c) for c in rules["consequents"]]),
                         "_i": [index[c] for con in rules["consequents"] for c in con]})
    cons["score"] = rules["confidence"].to_numpy()[cons["_r"]]
    cons["lift"] = rules["lift"].to_numpy()[cons["_r"]]
    got = pairs.merge(cons, on="_r")
    if exclude and len(got):
        got = got[~np.asarray(hist[got["_c"].to_numpy(), got["_i"].to_numpy()]).ravel()]
    return (got.groupby(["_c", "_i"], as_index=False)
            .agg(score=("score", "max"), lift=("lift", "max")))


def recommend(rules: Any, baskets_by_customer_or_transactions: Any, *, n: int = 5,
              exclude_bought: bool = True) -> pd.DataFrame:
    """Top-``n`` cross-sell items per customer: from the rules, then by co-occurrence.

    Rule score of item ``i`` for customer ``c``: the largest confidence ``P(C | A)`` over the
    rules ``A → C`` with ``i`` in ``C`` whose antecedent ``A`` the customer has bought (in
    any basket), ties broken by the larger lift. When the rules give fewer than ``n`` items,
    the rest come from item-item cosine similarity of the basket columns (Sarwar et al.
    2001): score = Σ_{j bought} cos(i, j) / (number of items bought), computed with sparse
    products, customers in chunks (never a dense basket × item table). Rule items rank
    first. Only items with a positive score are suggested.

    Parameters
    ----------
    rules : RuleSet or pandas.DataFrame
        Mined rules (``antecedents``, ``consequents``, ``confidence``, ``lift``).
    baskets_by_customer_or_transactions : Baskets or ibis.Table
        Baskets with ``customer_ids`` (their union is what each customer has bought, and
        their columns give the co-occurrence), or clean transactions (then
        :func:`build_baskets` is called).
    n : int, default 5
        Items per customer (>= 1).
    exclude_bought : bool, default True
        Suggest only items the customer has not bought.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``rank`` (1 = best), ``item``, ``score`` and ``source``
        (``"rule"`` or ``"co-occurrence"``); at most ``n`` rows per customer, sorted by
        customer and rank.

    Raises
    ------
    InputError
        If ``n < 1`` or the baskets have no customers.
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InputError(f"recommend: n must be an integer >= 1; got {n!r}.")
    b = baskets_by_customer_or_transactions
    if not isinstance(b, Baskets):
        b = build_baskets(b)
    custs, hist = customer_items(b)
    return recommend_for(rules, b, custs, hist, n=n, exclude_bought=exclude_bought)


def recommend_for(rules: Any, baskets: Baskets, custs: np.ndarray, hist: sp.csr_matrix, *,
                  n: int, exclude_bought: bool = True) -> pd.DataFrame:
    """:func:`recommend` for the customers ``custs`` (rows of ``hist``) only.

    Each customer's list depends only on the rules, the co-occurrence of all of
    ``baskets`` and that customer's own history, so the lists of a subset of customers
    (e.g. those a holdout evaluates) equal their lists in :func:`recommend` on all.

    Parameters
    ----------
    rules : RuleSet or pandas.DataFrame
        As in :func:`recommend`.
    baskets : Baskets
        The baskets the co-occurrence comes from.
    custs : ndarray of shape (n_customers,)
        Customer ids, one per row of ``hist``.
    hist : scipy.sparse.csr_matrix of shape (n_customers, n_items), bool
        What each customer has bought (:func:`customer_items`, rows selected).
    n : int
        Items per customer.
    exclude_bought : bool, default True
        Suggest only items the customer has not bought.

    Returns
    -------
    pandas.DataFrame
        As :func:`recommend`.
    """
    c, i, v, o, rank = recommend_codes(rules, baskets, hist, n=n,
                                       exclude_bought=exclude_bought)
    items = np.asarray(baskets.items, dtype=object)
    source = np.array(["rule", "co-occurrence"], dtype=object)
    return pd.DataFrame({
        "customer_id": pd.Series(np.asarray(custs, dtype=object)[c], dtype=object),
        "rank": rank + 1, "item": pd.Series(items[i], dtype=object), "score": v,
        "source": pd.Series(source[o], dtype=object)})


def recommend_codes(rules: Any, baskets: Baskets, hist: sp.csr_matrix, *, n: int,
                    exclude_bought: bool = True,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`recommend_for` as positions: the lists without building a frame.

    Returns
    -------
    tuple of five ndarrays of the same length (one entry per recommendation)
        Row of ``hist`` (int64), column of ``baskets.items`` (int64), score (float64),
        source (int64: 0 rule, 1 co-occurrence) and 0-based rank (int64), sorted by row
        and rank.
    """
    b = baskets
    table = getattr(rules, "rules", rules)
    by_rule = _rule_scores(table, b.items, hist, exclude_bought)
    by_rule = by_rule.sort_values(["_c", "score", "lift", "_i"],
                                  ascending=[True, False, False, True])
    by_rule = by_rule.groupby("_c").head(n).assign(source="rule", _o=0)
    # a mostly filled similarity table small enough for memory is multiplied as a dense
    # array: the same sums in the same order (each row of scores adds the rows of ``cos`` of
    # the items bought, in the order stored), without building a sparse product that is
    # dense anyway (Online Retail: 3,665 items, cosines ~all non-zero)
    p, tiles, cos = _similarity(b.matrix)
    size = np.asarray(hist.sum(axis=1)).ravel().astype(float)
    rule = (by_rule["_c"].to_numpy(dtype=np.int64), by_rule["_i"].to_numpy(dtype=np.int64),
            by_rule["score"].to_numpy(dtype=float))
    del by_rule
    merged, pending, lo = [], [], 0
    step = _CHUNK if tiles is None else max(1, _BLOCK // max(p, 1))  # dense: 32 MB a block
    group = max(1, _MERGE_ROWS // step)  # chunks merged with their rule rows at a time
    n_rows = hist.shape[0]
    for start in range(0, n_rows, step):
        h = hist[start:start + step]
        scale = 1.0 / np.maximum(size[start:start + step], 1.0)
        if tiles is None:
            s = (h.astype(np.float64) @ cos).tocsr()
            # each row times its scale: the products of ``diags(scale) @ s``, to the bit
            s.data *= np.repeat(scale, np.diff(s.indptr))
            r, c, v = _top_n_csr(s, h if exclude_bought else None, n)
        else:
            block = _times_tiles(h, tiles, p) * scale[:, None]
            if exclude_bought:
                block[h.nonzero()] = 0.0
            r, c, v = _top_n_block(block, n, 0)
        if not pending:
            lo = start  # first row of the customers merged next
        pending.append((r + start, c, v))
        end = min(start + step, n_rows)
        if len(pending) == group or end == n_rows:  # rows [lo, end) all scored
            merged.append(_merge_sources(rule, pending, lo, end, n, p))
            pending = []
    if not merged:  # no customer row: the rule rows alone (none either)
        merged.append(_merge_sources(rule, [], 0, 0, n, p))
    return _concat_columns(merged)  # type: ignore[return-value]


def _concat_columns(parts: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """The parts' arrays joined column by column, each column's pieces dropped once
    joined (``parts`` is emptied): at most one column is held twice, not all five (at 1M
    customers the five columns are 200 MB)."""
    width = len(parts[0])
    cols = [list(x) for x in zip(*parts, strict=True)]
    parts.clear()
    out = []
    for k in range(width):
        out.append(np.concatenate(cols[k]))
        cols[k] = []
    return tuple(out)


#: Customers whose rule and co-occurrence suggestions are merged at a time in
#: :func:`recommend_codes` (each customer's list depends on their own rows only, so the
#: merge by blocks of customers gives the merge of all at once, row for row; at 3M
#: customers the one merge held about 2 GB of candidate arrays at once).
_MERGE_ROWS = 1 << 17


def _merge_sources(rule: tuple[np.ndarray, np.ndarray, np.ndarray],
                   co: list[tuple[np.ndarray, np.ndarray, np.ndarray]], lo: int, hi: int,
                   n: int, p: int,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The top ``n`` of the customers in rows ``[lo, hi)``: their rule rows (``rule``:
    customer, item, score, sorted by customer) first, then their co-occurrence rows
    (``co``: chunks of (row, column, score) sorted by row, covering exactly those rows),
    an item in both kept once (its rule row); as :func:`recommend_codes` returns them."""
    a, b = np.searchsorted(rule[0], [lo, hi]) if hi > lo else (0, len(rule[0]))
    co_c, co_i, co_v = (np.concatenate(x) for x in zip(*co, strict=True)) if co else (
        np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
    # rule items first (each customer's sorted by score, lift, item), then co-occurrence
    # items (sorted by score, item): both parts are sorted by customer, so a stable sort
    # on (customer, part) merges them; an item in both keeps its rule row
    c_all = np.concatenate([rule[0][a:b], co_c])
    i_all = np.concatenate([rule[1][a:b], co_i])
    v_all = np.concatenate([rule[2][a:b], co_v])
    o_all = np.concatenate([np.zeros(b - a, dtype=np.int64),
                            np.ones(len(co_c), dtype=np.int64)])
    del co_c, co_i, co_v
    order = np.argsort(c_all * 2 + o_all, kind="stable")
    c_all, i_all, v_all, o_all = c_all[order], i_all[order], v_all[order], o_all[order]
    first = ~pd.Series(c_all * max(p, 1) + i_all).duplicated().to_numpy()
    c_all, i_all, v_all, o_all = c_all[first], i_all[first], v_all[first], o_all[first]
    rank = np.arange(len(c_all)) - np.searchsorted(c_all, c_all, side="left")
    top = rank < n
    return (c_all[top], i_all[top], v_all[top].astype(np.float64), o_all[top],
            rank[top].astype(np.int64))
