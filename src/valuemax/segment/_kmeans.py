"""K-means customer clusters with k chosen by silhouette and clusters ranked by value."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InsufficientData
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

#: Largest sample the silhouette is computed on (O(n^2) distances).
SILHOUETTE_SAMPLE = 10_000
#: A k is chosen by the silhouette only when each of its clusters holds at least this many
#: customers of the fit sample, and at least :data:`MIN_CLUSTER_SHARE` of them.
MIN_CLUSTER_CUSTOMERS = 5
MIN_CLUSTER_SHARE = 0.01
#: Largest sample k-means is fitted on; every customer is then assigned to a centre.
FIT_SAMPLE = 200_000
#: Customers drawn for the 2-D PCA projection plot.
PROJECTION_SAMPLE = 5_000


@dataclass(frozen=True)
class ClusterResult:
    """K-means clusters of customers, ranked by value, with the evidence for k.

    Attributes
    ----------
    method : str
        ``"kmeans"``.
    k : int or None
        Number of clusters (None when skipped).
    labels : pandas.Series of shape (n_customers,) or None
        Cluster 1..k per customer, indexed like the input; 1 = highest mean total spend.
    names : dict of int to str
        Cluster -> descriptive name from its R/F/M levels.
    profile : pandas.DataFrame of shape (k, 13)
        ``cluster, name, n_customers, share_customers, revenue, revenue_share,
        mean_recency_days, mean_n_orders, mean_total_spend, top_countries, r_level,
        f_level, m_level``.
    selection : pandas.DataFrame of shape (n_k, 3)
        ``k, silhouette, inertia, smallest_cluster`` for every k tried (inertia and the
        smallest cluster's customers on the fit sample).
    projection : pandas.DataFrame of shape (<= 5000, 3)
        ``pc1, pc2, cluster`` for a seeded sample of customers (index = their labels).
    centers_projection : pandas.DataFrame of shape (k, 3)
        ``cluster, pc1, pc2`` of the cluster centres.
    features : tuple of str
        Features clustered on.
    criterion : str
        How k was chosen.
    notes : tuple of str
        Every choice and change made (dropped features, samples, caps).
    skipped : str or None
        Why no clustering was done (then labels is None and the frames are empty).
    """

    method: str
    k: int | None
    labels: pd.Series | None
    names: dict[int, str]
    profile: pd.DataFrame
    selection: pd.DataFrame
    projection: pd.DataFrame
    centers_projection: pd.DataFrame
    features: tuple[str, ...]
    criterion: str
    notes: tuple[str, ...] = field(default=())
    skipped: str | None = None


def _skipped(reason: str, features: tuple[str, ...], notes: list[str]) -> ClusterResult:
    return ClusterResult(
        method="kmeans", k=None, labels=None, names={}, profile=empty_profile(),
        selection=pd.DataFrame({"k": pd.Series(dtype=np.int64),
                                "silhouette": pd.Series(dtype=float),
                                "inertia": pd.Series(dtype=float)}),
        projection=pd.DataFrame({"pc1": pd.Series(dtype=float), "pc2": pd.Series(dtype=float),
                                 "cluster": pd.Series(dtype=np.int64)}),
        centers_projection=pd.DataFrame({"cluster": pd.Series(dtype=np.int64),
                                         "pc1": pd.Series(dtype=float),
                                         "pc2": pd.Series(dtype=float)}),
        features=features, criterion=f"not clustered: {reason}", notes=tuple(notes),
        skipped=reason,
    )


def silhouette_on(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette of ``labels`` on ``x`` (Rousseeuw 1987).

    Silhouette of point ``i``: ``(b - a) / max(a, b)`` with ``a`` its mean Euclidean
    distance to the other points of its cluster and ``b`` the smallest mean distance to the
    points of another cluster; 0 for a point alone in its cluster (and where ``a = b = 0``),
    as ``sklearn.metrics.silhouette_score``. One labelling of :func:`silhouettes_on`.

    Parameters
    ----------
    x : ndarray of shape (n_points, n_features)
    labels : ndarray of shape (n_points,)

    Returns
    -------
    float
        NaN when it is undefined: fewer than 2 labels, or as many labels as points (every
        cluster a single point).
    """
    return silhouettes_on(x, [labels])[0]


def silhouettes_on(x: np.ndarray, labelings: list[np.ndarray]) -> list[float]:
    """Mean silhouette (Rousseeuw 1987) of each labelling of the same points ``x``.

    The silhouette of :func:`silhouette_on`, for several labellings (one per k tried) in
    one pass over the pairwise distances: exact distances (``scipy.spatial.distance.cdist``)
    in blocks of rows, summed per cluster of every labelling by one matrix product per
    block (no Python loop over points, and the distances computed once instead of once per
    k). Equal to ``sklearn.metrics.silhouette_score`` to rounding (the test compares them);
    on 10,000 points and k = 2..10 about 7 times faster than one pass per k, which itself
    was about 5 times faster than scikit-learn's function.

    Parameters
    ----------
    x : ndarray of shape (n_points, n_features)
    labelings : list of ndarray of shape (n_points,)

    Returns
    -------
    list of float
        One mean silhouette per labelling, in order; NaN where it is undefined (fewer than
        2 labels, or as many labels as points).
    """
    from scipy.spatial.distance import cdist

    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    parts: list[tuple[np.ndarray, int, int] | None] = []  # codes, k, first column
    width = 0
    for labels in labelings:
        uniq, codes = np.unique(labels, return_inverse=True)
        k = len(uniq)
        if k < 2 or k > n - 1:
            parts.append(None)
            continue
        parts.append((codes.ravel(), k, width))
        width += k
    if width == 0:
        return [float("nan")] * len(parts)
    onehot = np.zeros((n, width))
    rows = np.arange(n)
    for part in parts:
        if part is not None:
            codes, _, first = part
            onehot[rows, first + codes] = 1.0
    sums = np.empty((n, width))
    block = max(1, 8_000_000 // max(n, 1))  # about 64 MB of distances at a time
    for lo in range(0, n, block):
        sums[lo:lo + block] = cdist(x[lo:lo + block], x) @ onehot
    out = []
    for part in parts:
        if part is None:
            out.append(float("nan"))
            continue
        codes, k, first = part
        sizes = np.bincount(codes, minlength=k).astype(np.float64)
        mine = sums[:, first:first + k]
        own = sizes[codes]
        a = mine[rows, codes] / np.maximum(own - 1.0, 1.0)
        other = mine / sizes
        other[rows, codes] = np.inf
        b = other.min(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            sil = (b - a) / np.maximum(a, b)
        out.append(float(np.nan_to_num(sil * (own > 1)).mean()))
    return out


def project_2d(fit_x: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """PCA (fitted on ``fit_x``) coordinates of each array, as (n, 2); pc2 = 0 if 1 feature."""
    if fit_x.shape[1] == 1:
        return [np.column_stack([o[:, 0], np.zeros(len(o))]) for o in others]
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2).fit(fit_x)
    return [pca.transform(o) for o in others]


def kmeans_segments(
    customers: pd.DataFrame,
    *,
    k_min: int = 2,
    k_max: int = 10,
    random_state: int = 0,
    sample_size: int | None = None,
    country: str | None = "Country",
) -> ClusterResult:
    """Cluster customers with k-means on standardised log R/F/M; k by best silhouette.

    Features: ``log1p(recency_days)``, ``log1p(n_orders)``, ``log1p(total_spend)``,
    standardised with ``StandardScaler`` (spend and order counts are log-transformed before
    standardising, DESIGN.md §7); constant features are dropped with a note. For each k in
    ``k_min..k_max`` (k_max capped at the number of distinct points of the fit sample: k
    groups of identical customers are k clusters, with silhouette 1),
    ``KMeans(n_clusters=k, n_init=10, random_state=random_state)`` is
    fitted on a seeded sample of at most 200,000 customers (all when fewer) and scored by the
    mean silhouette [1]_ on a seeded sample of at most 10,000 of the fitted points (the same
    points for every k); k with the highest silhouette wins among the k whose every cluster
    holds at least 5 customers and 1% of the fit sample (:func:`min_cluster_size`; all k
    when none does, said in ``criterion``) (ties: smaller k; a k whose silhouette is
    undefined, k = number of points, is never chosen over one with a silhouette); with
    ``k_min == k_max`` that k is used as asked. Inertia is
    reported alongside for an elbow plot. Every customer is then assigned to its nearest
    centre (``predict``), and clusters are renumbered by mean total spend (1 = highest).
    Names come from each cluster's median R/F/M against the overall median (see
    ``valuemax.segment._profile``: "high" when (1 + cluster median) / (1 + overall median)
    > 1.2, "low" when < 1/1.2, reversed for recency days), as "<headline> (<recency>,
    <frequency>, <spend>)", e.g. "High-value loyal (recent, frequent, high spend)".

    Parameters
    ----------
    customers : pandas.DataFrame of shape (n_customers, n_columns)
        ``recency_days`` (>= 0), ``n_orders`` (>= 1), ``total_spend`` (>= 0); not modified.
    k_min, k_max : int, default 2, 10
        Range of k tried; 2 <= k_min <= k_max; ``k_min == k_max`` fixes k. k_min must not
        exceed the number of distinct customer profiles (see Raises).
    random_state : int, default 0
        Seed of every sample and of k-means (same seed -> same labels).
    sample_size : int or None, default None
        Customers k-means is fitted on (None: min(n_customers, 200,000)).
    country : str or None, default "Country"
        Column for ``top_countries``; None (or absent, with a note) gives "".

    Returns
    -------
    ClusterResult
        ``skipped`` says why when there is a single customer or a single distinct point
        (then ``labels`` is None). ``notes`` says when k_max was capped, or when fewer than
        the chosen k clusters received customers.

    Raises
    ------
    InputError
        As :func:`rfm_scores` for the columns; if ``k_min``/``k_max``/``sample_size``/
        ``random_state`` are not integers in range; if ``k_min`` is above the number of
        distinct (recency_days, n_orders, total_spend) profiles of the fit sample (k-means
        cannot make more clusters than distinct points; the message gives the number).

    Notes
    -----
    k-means, the silhouette and the assignment run single-threaded (``threadpoolctl``,
    restored afterwards): results are then bit-identical across machines with different core
    counts, and on a busy machine this is also faster (OpenMP threads oversubscribe the CPUs:
    measured 8.4 s vs 0.9 s for one 200,000-point fit at load 7 on 2 cores).

    References
    ----------
    .. [1] Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and
       validation of cluster analysis. J. Comput. Appl. Math. 20:53-65.
       doi:10.1016/0377-0427(87)90125-7
    .. [2] MacQueen, J. (1967). Some methods for classification and analysis of
       multivariate observations. Proc. 5th Berkeley Symp. 1:281-297.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"recency_days": [3, 4, 5, 300, 310, 320],
    ...                   "n_orders": [20, 22, 18, 1, 1, 2],
    ...                   "total_spend": [5000.0, 5200, 4800, 40, 50, 60]})
    >>> res = kmeans_segments(c)
    >>> res.k, res.labels.tolist()
    (2, [1, 1, 1, 2, 2, 2])
    """
    k_min = check_int(k_min, "k_min", minimum=2)
    k_max = check_int(k_max, "k_max", minimum=k_min)
    random_state = check_int(random_state, "random_state", minimum=0)
    fit_size = FIT_SAMPLE if sample_size is None else check_int(
        sample_size, "sample_size", minimum=3)
    values, x, features, notes = clustering_features(customers, country, who="kmeans_segments")
    n = len(customers)
    if n < 2:
        return _skipped("a single customer cannot be clustered", features, notes)
    if x.shape[1] == 0:
        return _skipped("all customers have identical recency, orders and spend", features,
                        notes)
    rng = np.random.default_rng(random_state)
    fit_idx = sample_indices(rng, n, fit_size)
    xf = x[fit_idx]
    if len(fit_idx) < n:
        notes.append(f"k-means fitted on a seeded sample of {len(fit_idx):,} of {n:,} "
                     "customers (random_state); every customer then assigned to its nearest "
                     "centre.")
    distinct = n_distinct(xf)
    if distinct < 2:
        return _skipped(
            "all customers in the fit sample have the same recency, orders and spend",
            features, notes)
    if k_min > distinct:
        raise InsufficientData(
            f"kmeans_segments: k_min={k_min} asks for at least {k_min} clusters, but the "
            f"{len(xf):,} customers clustered have only {distinct} distinct (recency_days, "
            f"n_orders, total_spend) profiles, and k-means cannot make more clusters than "
            f"distinct points. Pass k_min <= {distinct} (keyword k_min), or the default k_min=2 "
            "to let the silhouette choose k."
        )
    fixed = k_min == k_max
    k_lo, k_hi = k_min, min(k_max, distinct)
    if k_hi < k_max:
        notes.append(f"k tried up to {k_hi} (= the number of distinct customer profiles); "
                     f"asked k_max={k_max}.")
    sil_idx = sample_indices(rng, len(xf), SILHOUETTE_SAMPLE)
    if len(sil_idx) < len(xf):
        notes.append(f"silhouette computed on a seeded sample of {len(sil_idx):,} of "
                     f"{len(xf):,} fitted customers (the same for every k).")
    from threadpoolctl import threadpool_limits

    selection, models = _fit_each_k(xf, sil_idx, k_lo, k_hi, random_state)
    best, criterion = _choose_k(selection, fixed, k_lo, k_hi, len(sil_idx), len(xf))
    model = models[best]
    with threadpool_limits(limits=1):
        raw = model.predict(x)
    labels, mapping = rank_by_value(raw, values["monetary"])
    k = len(mapping)
    if k < best:
        notes.append(f"k = {best} was chosen but only {k} clusters received customers when "
                     "every customer was assigned to its nearest centre.")
    profile, names = cluster_profile(values, labels, k,
                                     country_values(customers, country, notes))
    proj_idx = sample_indices(rng, n, PROJECTION_SAMPLE)
    projection, centers_projection = _projection(xf, x, proj_idx, model, labels, mapping,
                                                 customers.index)
    return ClusterResult(
        method="kmeans", k=k,
        labels=pd.Series(labels, index=customers.index, name="cluster"),
        names=names, profile=profile, selection=selection, projection=projection,
        centers_projection=centers_projection, features=features, criterion=criterion,
        notes=tuple(notes), skipped=None,
    )


def _fit_each_k(xf: np.ndarray, sil_idx: np.ndarray, k_lo: int, k_hi: int,
                random_state: int) -> tuple[pd.DataFrame, dict[int, Any]]:
    """K-means for each k in ``k_lo..k_hi`` on the fit rows ``xf``, one thread (see
    :func:`kmeans_segments`' Notes): the selection table (``k``, mean silhouette on the rows
    ``sil_idx`` of ``xf``, inertia) and the fitted models by k."""
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    ks = range(k_lo, k_hi + 1)
    with threadpool_limits(limits=1):  # reproducible sums, no oversubscription (see Notes)
        models = {k: KMeans(n_clusters=k, n_init=10, random_state=random_state).fit(xf)
                  for k in ks}
        sil = silhouettes_on(xf[sil_idx], [models[k].labels_[sil_idx] for k in ks])
    return pd.DataFrame({"k": list(ks), "silhouette": sil,
                         "inertia": [float(models[k].inertia_) for k in ks],
                         "smallest_cluster": [int(np.bincount(models[k].labels_).min())
                                              for k in ks]}), models


def _choose_k(selection: pd.DataFrame, fixed: bool, k_lo: int, k_hi: int,
              n_sil: int, n_fit: int) -> tuple[int, str]:
    """The k of the highest mean silhouette among the k whose smallest cluster holds at
    least :func:`min_cluster_size` customers and the sentence that says why. When no k does,
    the k whose smallest cluster is the largest (the highest silhouette among ties): the
    silhouette alone would pick the k that isolates outliers best. ``k_lo`` when fixed or
    when no silhouette could be computed."""
    sil = selection["silhouette"].to_numpy()
    if fixed:
        best = k_lo
        return best, f"k = {best} as requested (k_min = k_max)."
    if np.all(np.isnan(sil)):
        best = k_lo
        return best, (f"k = {best}: the silhouette could not be computed for any k in "
                      f"{k_lo}..{k_hi} (one cluster dominated the silhouette sample).")
    floor = min_cluster_size(n_fit)
    small = selection["smallest_cluster"].to_numpy() < floor
    usable = ~small & ~np.isnan(sil)
    if usable.any():
        i = int(np.nanargmax(np.where(usable, sil, np.nan)))
    else:
        return _largest_smallest_cluster(selection, k_lo, k_hi, n_sil, n_fit, floor)
    best = int(selection["k"].iloc[i])
    why = (f"k = {best} has the highest mean silhouette ({sil[i]:.3f}; Rousseeuw 1987) "
           f"among k = {k_lo}..{k_hi}")
    top = int(np.nanargmax(sil))
    if top != i:
        why += (f" whose every cluster holds at least {floor:,} of the {n_fit:,} customers "
                f"fitted (k = {int(selection['k'].iloc[top])} scored {sil[top]:.3f} but left "
                f"a cluster of {int(selection['smallest_cluster'].iloc[top]):,}, too small "
                "to act on)")
    return best, (f"{why}, on standardised log1p recency/orders/spend ({n_sil:,} seeded "
                  "points); inertia is shown for the elbow.")


def _largest_smallest_cluster(selection: pd.DataFrame, k_lo: int, k_hi: int, n_sil: int,
                              n_fit: int, floor: int) -> tuple[int, str]:
    """The k (with a silhouette) whose smallest cluster is the largest, ties broken by the
    higher silhouette then the smaller k, when every k leaves a cluster under ``floor``."""
    sil = selection["silhouette"].to_numpy()
    smallest = selection["smallest_cluster"].to_numpy()
    ks = selection["k"].to_numpy()
    order = sorted((i for i in range(len(ks)) if not np.isnan(sil[i])),
                   key=lambda i: (-smallest[i], -sil[i], ks[i]))
    i = order[0]
    best = int(ks[i])
    return best, (
        f"every k in {k_lo}..{k_hi} left a cluster under {floor:,} of the {n_fit:,} customers "
        f"fitted, too small to act on; k = {best} keeps the largest smallest cluster "
        f"({int(smallest[i]):,} customers; mean silhouette {sil[i]:.3f}, Rousseeuw 1987) "
        "rather than the k that isolates outliers best: read the smallest clusters as "
        f"outliers, on standardised log1p recency/orders/spend ({n_sil:,} seeded points); "
        "inertia is shown for the elbow.")


def min_cluster_size(n_fit: int) -> int:
    """The fewest customers a cluster must hold for its k to be chosen by the silhouette:
    :data:`MIN_CLUSTER_CUSTOMERS` or :data:`MIN_CLUSTER_SHARE` of the customers fitted,
    whichever is larger (a k-means cluster of one or two customers is an outlier, not a
    segment to act on)."""
    return max(MIN_CLUSTER_CUSTOMERS, math.ceil(MIN_CLUSTER_SHARE * n_fit))


def _projection(xf: np.ndarray, x: np.ndarray, proj_idx: np.ndarray, model: Any,
                labels: np.ndarray, mapping: dict[int, int],
                index: pd.Index) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The 2-D PCA projection (fitted on ``xf``) of the customers ``proj_idx`` with their
    ranked cluster, and of the centres that received customers, by ranked cluster."""
    pts, centers = project_2d(xf, x[proj_idx], model.cluster_centers_)
    projection = pd.DataFrame({"pc1": pts[:, 0], "pc2": pts[:, 1],
                               "cluster": labels[proj_idx]}, index=index[proj_idx])
    present = np.array(sorted(mapping), dtype=np.int64)
    centers_projection = pd.DataFrame({"cluster": [mapping[int(p)] for p in present],
                                       "pc1": centers[present, 0], "pc2": centers[present, 1]})
    return projection, centers_projection.sort_values("cluster").reset_index(drop=True)
