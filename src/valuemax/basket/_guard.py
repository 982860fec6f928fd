"""An upper bound on the number of frequent itemsets, computed before mining."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.special import comb


def estimate_itemsets(matrix: sp.csr_matrix, min_count: int, max_len: int | None) -> float:
    """Upper bound on the number of itemsets contained in at least ``min_count`` baskets.

    Level 1 and 2 are counted exactly (frequent items; frequent pairs from the sparse
    product ``XᵀX`` of the frequent columns). For a length ``j >= 3``, a frequent itemset is
    a clique of the frequent-pair graph inside each basket holding it; a basket whose items
    span ``e`` frequent pairs holds at most ``C(x, j)`` such cliques with ``C(x, 2) = e``
    (Lovász's form of the Kruskal-Katona theorem). Each itemset lies in ``min_count``
    baskets, so in at least ``min_count - s`` baskets outside the ``s`` richest ones:
    ``n_j <= min_s (Σ_{b ∉ top s} C(x_b, j)) / (min_count - s)``, also capped by
    ``C(x_all, j)`` with ``C(x_all, 2)`` = all frequent pairs.

    Parameters
    ----------
    matrix : scipy.sparse.csr_matrix of shape (n_baskets, n_items), bool
        The incidence.
    min_count : int
        Minimum number of baskets (>= 1).
    max_len : int or None
        Longest itemset; None for no limit.

    Returns
    -------
    float
        The bound (may be ``inf``).
    """
    counts = np.bincount(matrix.indices, minlength=matrix.shape[1])
    freq = np.flatnonzero(counts >= min_count)
    n1 = float(len(freq))
    if n1 == 0 or max_len == 1:
        return n1
    # pairs and their cliques lie in baskets of two frequent items or more: the others add
    # to the diagonal only (zeroed below) and hold no pair (their e_b is 0)
    x = matrix[np.flatnonzero(np.diff(matrix.indptr) >= 2)][:, freq].tocsr()
    x = x[np.flatnonzero(np.diff(x.indptr) >= 2)].astype(np.int64)
    co = (x.T @ x).tocsr()
    co.data = (co.data >= min_count).astype(np.int64)
    co.setdiag(0)
    co.eliminate_zeros()
    n2 = float(co.nnz) / 2.0
    total = n1 + n2
    if n2 == 0 or max_len == 2:
        return total
    # frequent pairs inside each basket: rowsum((X P) ∘ X) / 2
    e_b = np.asarray((x @ co).multiply(x).sum(axis=1)).ravel() / 2.0
    e_b = e_b[e_b >= 3]  # fewer than 3 pairs: no triangle
    if len(e_b) == 0:
        return total
    xb = np.sort((1.0 + np.sqrt(1.0 + 8.0 * e_b)) / 2.0)[::-1]
    x_all = (1.0 + np.sqrt(1.0 + 8.0 * n2)) / 2.0
    top = int(np.floor(xb[0]))
    last = top if max_len is None else min(top, max_len)
    s = np.arange(min(min_count, len(xb)))
    for j in range(3, last + 1):
        if np.count_nonzero(xb >= j) < min_count:
            break  # a basket holding a j-clique has C(j, 2) pairs, so x_b >= j
        c = np.where(xb >= j, comb(xb, j), 0.0)
        suffix = np.cumsum(c[::-1])[::-1]  # suffix[s] = sum over baskets s.. (richest first)
        bound = float(np.min(suffix[s] / (min_count - s)))
        bound = min(bound, float(comb(x_all, j)))
        total += bound
        if not np.isfinite(total):
            return float("inf")
    return total
