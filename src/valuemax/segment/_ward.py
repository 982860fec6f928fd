"""Ward hierarchical clustering of a customer sample, with a dendrogram (Ward 1963)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InsufficientData
from valuemax.segment._kmeans import silhouettes_on
from valuemax.segment._profile import (
    cluster_profile,
    clustering_features,
    country_values,
    empty_profile,
    n_distinct,
    rank_by_value,
    sample_indices,
)
from valuemax.segment._validation import check_int

_K_RANGE = (2, 10)


@dataclass(frozen=True)
class HierarchicalResult:
    """Ward clusters of a seeded customer sample, ranked by value, with the dendrogram.

    Attributes
    ----------
    k : int or None
        Number of clusters (None when skipped).
    labels : pandas.Series of shape (n_used,) or None
        Cluster 1..k (1 = highest mean total spend) of the sampled customers, indexed by
        their labels in the input.
    linkage : ndarray of shape (n_used - 1, 4) or None
        ``scipy.cluster.hierarchy.linkage(method="ward")`` matrix.
    dendrogram : dict
        ``icoord``, ``dcoord``, ``ivl``, ``leaves`` from ``scipy.cluster.hierarchy.dendrogram``
        (``no_plot=True, truncate_mode="lastp", p=30``); empty when skipped.
    profile : pandas.DataFrame of shape (k, 13)
        Same columns as ``ClusterResult.profile``, over the sample.
    n_used : int
        Customers clustered (the sample size).
    notes : tuple of str
        Choices and changes made.
    skipped : str or None
        Why no clustering was done.
    selection : pandas.DataFrame of shape (n_k, 3)
        ``k, n_clusters, silhouette`` for each k tried (``n_clusters`` < k when merge heights
        tie).
    features : tuple of str
        Features clustered on.
    criterion : str
        How k was chosen.
    method : str
        ``"ward"``.
    """

    k: int | None
    labels: pd.Series | None
    linkage: np.ndarray | None
    dendrogram: dict[str, Any]
    profile: pd.DataFrame
    n_used: int
    notes: tuple[str, ...] = field(default=())
    skipped: str | None = None
    selection: pd.DataFrame = field(default_factory=pd.DataFrame)
    features: tuple[str, ...] = ()
    criterion: str = ""
    method: str = "ward"


def ward_segments(
    customers: pd.DataFrame,
    *,
    k: int | None = None,
    max_customers: int = 5000,
    random_state: int = 0,
    country: str | None = "Country",
) -> HierarchicalResult:
    """Ward agglomerative clustering on the k-means features, on a seeded sample.

    Same standardised ``log1p`` recency/orders/spend features as :func:`kmeans_segments`.
    Ward's minimum-variance linkage [1]_ (``scipy.cluster.hierarchy.linkage``) needs
    O(n^2) memory, so it runs on a seeded sample of at most ``max_customers`` customers. The
    tree is cut with ``fcluster(criterion="maxclust")``; when ``k`` is None, k in 2..10
    (capped at the number of distinct points: k groups of identical customers are k
    clusters) with the highest mean silhouette [2]_ on the sample wins (ties: smaller k; an
    undefined silhouette, k = number of points, never wins). Clusters are renumbered by mean total spend (1 = highest) and named
    as in :func:`kmeans_segments`.

    Parameters
    ----------
    customers : pandas.DataFrame of shape (n_customers, n_columns)
        ``recency_days``, ``n_orders``, ``total_spend``; not modified.
    k : int or None, default None
        Number of clusters (>= 2); None chooses it by silhouette. A k above the number of
        distinct points is refused (see Raises).
    max_customers : int, default 5000
        Largest sample clustered (>= 3).
    random_state : int, default 0
        Seed of the sample.
    country : str or None, default "Country"
        Column for the profile's ``top_countries``; None (or absent, with a note) gives "".

    Returns
    -------
    HierarchicalResult
        ``skipped`` says why when a single customer or a single distinct point is sampled.

    Raises
    ------
    InputError
        As :func:`rfm_scores` for the columns; if ``k``, ``max_customers`` or
        ``random_state`` are not integers in range; if ``k`` is above the number of distinct
        (recency_days, n_orders, total_spend) profiles of the sample.

    References
    ----------
    .. [1] Ward, J. H. (1963). Hierarchical grouping to optimize an objective function.
       J. Am. Stat. Assoc. 58(301):236-244. doi:10.1080/01621459.1963.10500845
    .. [2] Rousseeuw, P. J. (1987). Silhouettes. J. Comput. Appl. Math. 20:53-65.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"recency_days": [3, 4, 5, 300, 310, 320],
    ...                   "n_orders": [20, 22, 18, 1, 1, 2],
    ...                   "total_spend": [5000.0, 5200, 4800, 40, 50, 60]})
    >>> res = ward_segments(c)
    >>> res.k, res.labels.tolist()
    (2, [1, 1, 1, 2, 2, 2])
    """
    if k is not None:
        k = check_int(k, "k", minimum=2)
    max_customers = check_int(max_customers, "max_customers", minimum=3)
    random_state = check_int(random_state, "random_state", minimum=0)
    values, x, features, notes = clustering_features(customers, country, who="ward_segments")
    n = len(customers)
    rng = np.random.default_rng(random_state)
    idx = sample_indices(rng, n, max_customers)
    xs = x[idx]
    if len(idx) < n:
        notes.append(f"Ward clustering on a seeded sample of {len(idx):,} of {n:,} customers "
                     "(memory grows with the square of the sample).")
    distinct = n_distinct(xs) if x.shape[1] else 1
    if n < 2 or distinct < 2:
        reason = ("a single customer cannot be clustered" if n < 2 else
                  "all sampled customers have the same recency, orders and spend")
        return HierarchicalResult(k=None, labels=None, linkage=None, dendrogram={},
                                  profile=empty_profile(), n_used=len(idx), notes=tuple(notes),
                                  skipped=reason, features=features,
                                  criterion=f"not clustered: {reason}")
    from scipy.cluster.hierarchy import dendrogram, linkage

    if k is not None and k > distinct:
        raise InsufficientData(
            f"ward_segments: k={k} clusters asked, but the {len(idx):,} customers clustered "
            f"have only {distinct} distinct (recency_days, n_orders, total_spend) profiles, "
            f"and a tree cannot be cut into more clusters than distinct points. Pass k <= "
            f"{distinct}, or k=None to let the silhouette choose."
        )
    z = linkage(xs, method="ward")
    if k is not None:
        ks = [k]
    else:
        ks = list(range(_K_RANGE[0], min(_K_RANGE[1], distinct) + 1))
        if ks[-1] < _K_RANGE[1]:
            notes.append(f"k tried up to {ks[-1]} (= the number of distinct customer "
                         "profiles).")
    selection, cuts = _cut_each_k(z, xs, ks)
    best, criterion = _choose_cut(selection, ks, asked=k is not None, n_used=len(idx))
    sub = {role: v[idx] for role, v in values.items()}
    labels, mapping = rank_by_value(cuts[best], sub["monetary"])
    k_found = len(mapping)
    if k_found < best:
        notes.append(f"cutting the tree at k={best} gave {k_found} clusters (tied merge "
                     "heights).")
    profile, _names = cluster_profile(sub, labels, k_found,
                                      country_values(customers, country, notes, idx))
    d = dendrogram(z, no_plot=True, truncate_mode="lastp", p=30)
    return HierarchicalResult(
        k=k_found, labels=pd.Series(labels, index=customers.index[idx], name="cluster"),
        linkage=z, dendrogram={key: d[key] for key in ("icoord", "dcoord", "ivl", "leaves")},
        profile=profile, n_used=len(idx), notes=tuple(notes), skipped=None,
        selection=selection, features=features, criterion=criterion,
    )


def _cut_each_k(z: np.ndarray, xs: np.ndarray, ks: list[int],
                ) -> tuple[pd.DataFrame, dict[int, np.ndarray]]:
    """The tree ``z`` cut into each k of ``ks``, one thread (as in ``kmeans_segments``:
    reproducible and not oversubscribed): the selection table (``k``, clusters obtained,
    mean silhouette on ``xs``) and the labels by k."""
    from scipy.cluster.hierarchy import fcluster
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        cuts = {kk: fcluster(z, t=kk, criterion="maxclust") for kk in ks}
        sil = silhouettes_on(xs, [cuts[kk] for kk in ks])
    return pd.DataFrame({"k": ks, "n_clusters": [len(np.unique(cuts[kk])) for kk in ks],
                         "silhouette": sil}), cuts


def _choose_cut(selection: pd.DataFrame, ks: list[int], *, asked: bool,
                n_used: int) -> tuple[int, str]:
    """The k asked, else the k of the highest mean silhouette (the first tried when none
    could be computed), and the sentence that says why."""
    sil = selection["silhouette"].to_numpy()
    if asked or np.all(np.isnan(sil)):
        best = ks[0]
        return best, (f"k = {best} as requested" if asked else
                      f"k = {best}: no silhouette could be computed")
    best = int(selection["k"].iloc[int(np.nanargmax(sil))])
    return best, (f"k = {best} has the highest mean silhouette ({np.nanmax(sil):.3f}) "
                  f"among k = {ks[0]}..{ks[-1]} on the {n_used:,} sampled customers.")
