"""Features, value ranking, naming and profiles shared by the clustering models.

Features (DESIGN.md §7): ``log1p`` of recency days, orders and spend, then standardised
(zero mean, unit variance), because raw spend and order counts are heavily right-skewed and
would dominate Euclidean distances. Constant features are dropped with a note.

Cluster names: each cluster's median recency days, orders and spend are compared with the
overall median of the customers clustered, on the ``1 + value`` scale:
``ratio = (1 + cluster median) / (1 + overall median)``. A dimension is "high" when
``ratio > 1.2``, "low" when ``ratio < 1 / 1.2``, "mid" otherwise; for recency the direction
is reversed (fewer days = "high", i.e. recent), so "high" is always better, as in RFM scores.
The name is "<headline> (<recency>, <frequency>, <spend>)": the headline crosses the recency
level with a value level ("high" if frequency or spend is high and neither is low, "low" if
one is low and neither is high, "mid" otherwise), e.g. "High-value loyal (recent, frequent,
high spend)", "Lapsed low spenders (lapsed, infrequent, low spend)". A dimension with one value
for every customer clustered (recency 0 for all in a one-day export, one order each) says
nothing about any cluster: its word is left out of the name, and a constant recency leaves the
headline to the value level alone ("High-value", "Mid-value", "Low spenders"), so no cluster
of a one-day log is called lapsing or cooling off. Its level stays "mid".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.segment._validation import check_customers

#: Multiplicative band around the overall median within which a cluster is "mid".
LEVEL_BAND = 1.2

#: Profile columns shared by ClusterResult and HierarchicalResult, in order.
PROFILE_COLUMNS: tuple[str, ...] = (
    "cluster", "name", "n_customers", "share_customers", "revenue", "revenue_share",
    "mean_recency_days", "mean_n_orders", "mean_total_spend", "top_countries",
    "r_level", "f_level", "m_level",
)

_WORDS = {
    "recency": {"high": "recent", "mid": "mid recency", "low": "lapsed"},
    "frequency": {"high": "frequent", "mid": "mid frequency", "low": "infrequent"},
    "monetary": {"high": "high spend", "mid": "mid spend", "low": "low spend"},
}
_HEADLINES = {
    ("high", "high"): "High-value loyal", ("high", "mid"): "Active mid-value",
    ("high", "low"): "Recent low {low}", ("mid", "high"): "Valuable, cooling off",
    ("mid", "mid"): "Average customers", ("mid", "low"): "Occasional low {low}",
    ("low", "high"): "Lapsing high-value", ("low", "mid"): "Lapsing mid-value",
    ("low", "low"): "Lapsed low {low}",
}
#: Headlines by value level alone, when every customer has the same recency.
_VALUE_HEADLINES = {"high": "High-value", "mid": "Mid-value", "low": "Low {low}"}


#: The customer table's columns the clusterings read, by role.
CLUSTER_COLUMNS = {"recency": "recency_days", "frequency": "n_orders",
                   "monetary": "total_spend"}


def clustering_features(
    customers: Any, country: Any, *, who: str,
) -> tuple[dict[str, np.ndarray], np.ndarray, tuple[str, ...], list[str]]:
    """Check a clustering's customer table and ``country``; return what it clusters on.

    Parameters
    ----------
    customers : pandas.DataFrame of shape (n_customers, n_columns)
        With :data:`CLUSTER_COLUMNS`.
    country : str or None
        The country column's name (profiles only).
    who : str
        The calling function, named in messages.

    Returns
    -------
    values : dict of str to ndarray of shape (n_customers,)
        :func:`~valuemax.segment._validation.check_customers`' arrays, by role.
    matrix, names, notes
        As :func:`standardised_features`.

    Raises
    ------
    InputError
        If ``country`` is not a str or None; as
        :func:`~valuemax.segment._validation.check_customers`.
    """
    if country is not None and not isinstance(country, str):
        raise InputError(f"country={country!r} must be a column name (str) or None.")
    values = check_customers(customers, CLUSTER_COLUMNS, who=who)
    return (values, *standardised_features(values))


def country_values(customers: Any, country: str | None, notes: list[str],
                   rows: Any = None) -> Any:
    """The ``country`` column of ``customers`` (its ``rows`` positions when given) for the
    cluster profiles, or None: no ``country``, or no such column (said in ``notes``)."""
    if country is None:
        return None
    if country not in customers.columns:
        notes.append(f"no column {country!r}: top_countries left empty.")
        return None
    column = customers[country]
    return column if rows is None else column.iloc[rows]


def standardised_features(
    values: dict[str, np.ndarray],
) -> tuple[np.ndarray, tuple[str, ...], list[str]]:
    """Return the standardised log1p features, their names and notes on dropped ones.

    Parameters
    ----------
    values : dict of str to ndarray of shape (n_customers,)
        ``"recency"`` (days >= 0), ``"frequency"`` (orders >= 1), ``"monetary"`` (>= 0).

    Returns
    -------
    matrix : ndarray of shape (n_customers, n_features)
        Standardised (``sklearn.preprocessing.StandardScaler``) ``log1p`` features; 0 to 3
        columns (constant features are dropped).
    names : tuple of str
        Feature names, e.g. ``("log1p_recency_days", "log1p_n_orders")``.
    notes : list of str
        One sentence per dropped feature.
    """
    from sklearn.preprocessing import StandardScaler

    cols, names, notes = [], [], []
    labels = {"recency": "recency_days", "frequency": "n_orders", "monetary": "total_spend"}
    for role in ("recency", "frequency", "monetary"):
        x = values[role]
        if np.ptp(x) == 0:
            notes.append(
                f"feature log1p({labels[role]}) dropped: constant (every customer has "
                f"{labels[role]} = {x[0]:g}), so it cannot separate clusters."
            )
            continue
        cols.append(np.log1p(x))
        names.append(f"log1p_{labels[role]}")
    if not cols:
        return np.empty((len(values["recency"]), 0)), (), notes
    matrix = StandardScaler().fit_transform(np.column_stack(cols))
    return matrix, tuple(names), notes


def sample_indices(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    """Sorted positions of a seeded sample without replacement (all positions if n <= size)."""
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size=size, replace=False))


def n_distinct(matrix: np.ndarray) -> int:
    """Number of distinct rows of ``matrix``."""
    if matrix.shape[1] == 0:
        return 1 if len(matrix) else 0
    return len(np.unique(matrix, axis=0))


def rank_by_value(raw: np.ndarray, monetary: np.ndarray) -> tuple[np.ndarray, dict[int, int]]:
    """Renumber arbitrary labels to 1..k by mean spend, descending (1 = highest).

    Ties in mean spend keep the order of the raw labels. Returns the new labels and the
    mapping raw label -> new label.
    """
    uniq, inverse = np.unique(raw, return_inverse=True)
    means = np.bincount(inverse, weights=monetary) / np.bincount(inverse)
    order = np.lexsort((uniq, -means))  # by mean desc, then raw label
    new = np.empty(len(uniq), dtype=np.int64)
    new[order] = np.arange(1, len(uniq) + 1)
    return new[inverse], {int(u): int(v) for u, v in zip(uniq, new, strict=True)}


def _levels(x: np.ndarray, labels: np.ndarray, k: int, reverse: bool) -> list[str]:
    overall = np.median(x)
    med = pd.Series(x).groupby(labels).median().reindex(range(1, k + 1)).to_numpy()
    ratio = (1.0 + med) / (1.0 + overall)
    if reverse:
        ratio = 1.0 / ratio
    return [("high" if q > LEVEL_BAND else "low" if q < 1 / LEVEL_BAND else "mid")
            for q in ratio]


def _value_level(f: str, m: str) -> str:
    levels = {f, m}
    if "high" in levels and "low" not in levels:
        return "high"
    if "low" in levels and "high" not in levels:
        return "low"
    return "mid"


def _cluster_name(rl: str, fl: str, ml: str, *, constant: dict[str, bool]) -> str:
    """"<headline> (<words>)" of a cluster's levels; dimensions constant over every
    customer clustered are left out (see the module docstring)."""
    vl = _value_level(fl, ml)
    template = _VALUE_HEADLINES[vl] if constant["recency"] else _HEADLINES[(rl, vl)]
    head = template.format(low="spenders" if ml == "low" else "value")
    words = [_WORDS[role][level] for role, level in
             (("recency", rl), ("frequency", fl), ("monetary", ml)) if not constant[role]]
    return f"{head} ({', '.join(words)})" if words else head


def _top_countries(country: pd.Series, labels: np.ndarray, k: int, top: int = 3) -> list[str]:
    """"United Kingdom 88%, Germany 3%" per cluster (shares of the cluster's customers)."""
    c = pd.Series(country.to_numpy(), dtype=object).where(country.notna().to_numpy(),
                                                           "(missing)").astype(str)
    shares = c.groupby(labels).value_counts(normalize=True)
    out = []
    for cl in range(1, k + 1):
        s = shares.loc[cl].head(top) if cl in shares.index.get_level_values(0) else []
        parts = [f"{name} {p:.0%}" if p >= 0.005 else f"{name} <1%" for name, p in s.items()]
        out.append(", ".join(parts))
    return out


def cluster_profile(
    values: dict[str, np.ndarray], labels: np.ndarray, k: int, country: pd.Series | None,
) -> tuple[pd.DataFrame, dict[int, str]]:
    """Profile and names of clusters labelled 1..k (one row per cluster).

    Parameters
    ----------
    values : dict of str to ndarray of shape (n,)
        Raw recency days, orders, spend of the clustered customers.
    labels : ndarray of shape (n,)
        Cluster 1..k of each customer.
    k : int
        Number of clusters.
    country : pandas.Series of shape (n,) or None
        Country-like column of the clustered customers; ``top_countries`` is "" when None.

    Returns
    -------
    profile : pandas.DataFrame of shape (k, 13)
        Columns :data:`PROFILE_COLUMNS`; ``r_level``/``f_level``/``m_level`` in
        {"high", "mid", "low"} by the median rule of this module.
    names : dict of int to str
        Cluster -> descriptive name, unique.
    """
    r, f, m = values["recency"], values["frequency"], values["monetary"]
    counts = np.bincount(labels, minlength=k + 1)[1:]
    revenue = np.bincount(labels, weights=m, minlength=k + 1)[1:]
    total = revenue.sum()
    lv = {
        "r_level": _levels(r, labels, k, reverse=True),
        "f_level": _levels(f, labels, k, reverse=False),
        "m_level": _levels(m, labels, k, reverse=False),
    }
    names_list = [_cluster_name(lv["r_level"][i], lv["f_level"][i], lv["m_level"][i],
                                constant={role: bool(np.ptp(x) == 0) if len(x) else True
                                          for role, x in values.items()})
                  for i in range(k)]
    dup = pd.Series(names_list).duplicated(keep=False).to_numpy()
    names_list = [f"{n} #{i + 1}" if d else n for i, (n, d) in enumerate(zip(names_list, dup,
                                                                             strict=True))]
    profile = pd.DataFrame(
        {
            "cluster": np.arange(1, k + 1, dtype=np.int64),
            "name": names_list,
            "n_customers": counts.astype(np.int64),
            "share_customers": counts / counts.sum(),
            "revenue": revenue,
            "revenue_share": revenue / total if total > 0 else np.zeros(k),
            "mean_recency_days": np.bincount(labels, weights=r, minlength=k + 1)[1:] / counts,
            "mean_n_orders": np.bincount(labels, weights=f, minlength=k + 1)[1:] / counts,
            "mean_total_spend": revenue / counts,
            "top_countries": [""] * k if country is None else _top_countries(country, labels, k),
            **lv,
        },
        columns=list(PROFILE_COLUMNS),
    )
    return profile, dict(zip(range(1, k + 1), names_list, strict=True))


def empty_profile() -> pd.DataFrame:
    """A profile with no rows (for skipped results)."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in PROFILE_COLUMNS})
