"""RFM quantile scores that stay correct with heavy ties (Hughes 1994; the R package rfm)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuemax.segment._validation import check_customers, check_int

#: numpy quantile method used for the cut points (Hyndman & Fan 1996 type 7, numpy's default).
QUANTILE_METHOD = "linear"


@dataclass(frozen=True)
class RFMScores:
    """R, F and M scores per customer, the cut points that made them, and notes.

    Attributes
    ----------
    scores : pandas.DataFrame of shape (n_customers, 4)
        Indexed like the input. ``r_score``, ``f_score``, ``m_score`` (int8 in
        ``1..n_bins``, higher = better: more recent, more orders, more spend) and ``rfm_cell``
        (str, e.g. ``"545"``).
    cut_points : dict of str to tuple of float
        ``"recency"``, ``"frequency"``, ``"monetary"`` -> the ``n_bins - 1`` quantiles used,
        ascending, in the column's unit (days, orders, currency).
    columns : dict of str to str
        Role -> column name scored.
    notes : tuple of str
        One sentence per dimension whose ties left some scores unused.
    n_bins : int
        Number of scores per dimension.
    quantiles : tuple of float
        Probabilities of the cut points (``k / n_bins``, k = 1..n_bins-1).
    """

    scores: pd.DataFrame
    cut_points: dict[str, tuple[float, ...]]
    columns: dict[str, str]
    notes: tuple[str, ...]
    n_bins: int = 5
    quantiles: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8)

    def to_frame(self) -> pd.DataFrame:
        """Cut points as a table.

        Returns
        -------
        pandas.DataFrame of shape (3, 2 + n_bins - 1)
            ``dimension``, ``column`` and one column per quantile (``q20``, ``q40``, ...).
        """
        names = [f"q{round(100 * q)}" for q in self.quantiles]
        rows = [
            {"dimension": dim, "column": self.columns[dim], **dict(zip(names, cuts, strict=True))}
            for dim, cuts in self.cut_points.items()
        ]
        return pd.DataFrame(rows, columns=["dimension", "column", *names])


def _unused_note(
    dim: str, col: str, values: np.ndarray, cuts: np.ndarray, scores: np.ndarray,
    quantiles: tuple[float, ...], reverse: bool,
) -> str | None:
    """Explain which scores no customer got, and why, or None when all are used."""
    n_bins = len(cuts) + 1
    unused = np.setdiff1d(np.arange(1, n_bins + 1), np.unique(scores))
    if unused.size == 0:
        return None
    equal = [
        f"the {quantiles[i]:.0%} and {quantiles[i + 1]:.0%} quantiles are both {cuts[i]:g}"
        for i in range(len(cuts) - 1) if cuts[i] == cuts[i + 1]
    ]
    uniq, counts = np.unique(values, return_counts=True)
    top = int(np.argmax(counts))
    share = counts[top] / values.size
    why = "; ".join(equal) if equal else "no value falls between some adjacent cut points"
    direction = " (recency is reversed: fewer days = higher score)" if reverse else ""
    return (
        f"{dim} ({col}): score(s) {', '.join(str(int(s)) for s in unused)} of 1..{n_bins} are "
        f"never assigned because of ties: {why} (cut points "
        f"{tuple(round(float(c), 6) for c in cuts)}; {share:.1%} of customers have "
        f"{col} == {uniq[top]:g}). Equal values always get equal scores, so these bins stay "
        f"empty instead of splitting tied customers{direction}."
    )


def _same_recency_note(recency: np.ndarray, n_bins: int) -> str | None:
    """A plain note when every customer has the same recency (e.g. a one-day export): R is
    then ``n_bins`` for all, and the lifecycle part of the segment names says nothing."""
    if recency.size == 0 or np.ptp(recency) > 0:
        return None
    days = float(recency[0])
    return (f"Every customer last bought the same number of days before the observation end "
            f"({days:g}; e.g. a log of a single day), so the recency score is {n_bins} for "
            "all: recency tells no customer from another, and the recency part of the segment "
            "names (New, Champions, At Risk, Lost, ...) says nothing here. The segments "
            "differ by frequency and spend only; a longer log is needed for lifecycle "
            "segments.")


def rfm_scores(
    customers: pd.DataFrame,
    *,
    n_bins: int = 5,
    recency: str = "recency_days",
    frequency: str = "n_orders",
    monetary: str | None = "total_spend",
) -> RFMScores:
    """Score each customer 1..n_bins on recency, frequency and monetary value.

    Quantile scoring after Hughes (1994) [1]_ as in the R package rfm [2]_, made exact for
    ties. For each dimension the cut points are the ``k / n_bins`` quantiles (k = 1..n_bins-1;
    the 20/40/60/80% quantiles for quintiles) of the column over all customers, computed
    with ``numpy.quantile(method="linear")`` (Hyndman & Fan type 7). Then

    - frequency and monetary: ``score = 1 + (number of cut points strictly below the value)``
      (right-closed bins, the same bins as ``pandas.qcut`` when the cut points differ);
    - recency (days, fewer is better): ``score = n_bins - (number of cut points strictly
      below the value)``: the same right-closed bins, numbered from the most recent.

    So equal values always get equal scores and a higher score is always better, and a
    customer on a cut point is scored with the customers of lower values on every
    dimension: with the fewest orders and the least spend (the low ends, 1 order and 0,
    score 1) but with the most recent (0 days, a purchase on the observation end, scores
    ``n_bins``), also when ties make cut points coincide (a one-day log: every recency and
    every cut point 0, every R score ``n_bins``). When ties
    make cut points coincide (e.g. 60% of customers bought once, so several frequency
    quantiles equal 1) the corresponding scores stay unused; nothing is re-ranked, and
    ``notes`` says which scores are unused and why.

    Parameters
    ----------
    customers : pandas.DataFrame of shape (n_customers, n_columns)
        One row per customer; not modified.
    n_bins : int, default 5
        Scores per dimension, 2..9 (one digit each in ``rfm_cell``).
    recency, frequency, monetary : str
        Columns holding days since the last purchase (>= 0), orders (>= 1) and total spend
        (>= 0, in the log's currency). ``monetary=None`` (a log without prices): M is not
        computed; ``scores`` has no ``m_score``, ``rfm_cell`` has two digits (R, F) and
        ``cut_points`` has no ``"monetary"``.

    Returns
    -------
    RFMScores
        Scores indexed like ``customers``, cut points, notes.

    Raises
    ------
    InputError
        If ``customers`` has no rows, a column is missing (missing and available columns
        are listed) or not numeric, values are NaN/infinite, recency < 0, frequency < 1,
        monetary < 0 (with counts and example ids), or ``n_bins`` is not an int in 2..9.

    References
    ----------
    .. [1] Hughes, A. M. (1994). Strategic Database Marketing. Probus, Chicago.
    .. [2] Hebbali, A. rfm: Recency, Frequency and Monetary Value Analysis. R package,
       https://CRAN.R-project.org/package=rfm

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"recency_days": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    ...                   "n_orders": [10, 9, 8, 7, 6, 5, 4, 3, 2, 1],
    ...                   "total_spend": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10]})
    >>> res = rfm_scores(c)
    >>> [round(c, 6) for c in res.cut_points["monetary"]]
    [2.8, 4.6, 6.4, 8.2]
    >>> res.scores["rfm_cell"].tolist()[:3]
    ['551', '551', '442']
    """
    n_bins = check_int(n_bins, "n_bins", minimum=2, maximum=9)
    columns = {"recency": recency, "frequency": frequency, "monetary": monetary}
    if monetary is None:
        del columns["monetary"]
    values = check_customers(customers, columns, who="rfm_scores")
    quantiles = tuple(k / n_bins for k in range(1, n_bins))
    cut_points: dict[str, tuple[float, ...]] = {}
    score_cols: dict[str, np.ndarray] = {}
    notes: list[str] = []
    dims = (("recency", "r_score"), ("frequency", "f_score"), ("monetary", "m_score"))
    for dim, out in dims[:len(columns)]:
        x = values[dim]
        cuts = np.quantile(x, quantiles, method=QUANTILE_METHOD)
        if dim == "recency":
            score = 1 + len(cuts) - np.searchsorted(cuts, x, side="left")
        else:
            score = 1 + np.searchsorted(cuts, x, side="left")
        cut_points[dim] = tuple(float(c) for c in cuts)
        score_cols[out] = score.astype(np.int8)
        note = _unused_note(dim, columns[dim], x, cuts, score, quantiles, dim == "recency")
        if note is not None:
            notes.append(note)
    same = _same_recency_note(values["recency"], n_bins)
    if same is not None:
        notes.insert(0, same)
    scores = pd.DataFrame(score_cols, index=customers.index)
    scores["rfm_cell"] = scores["r_score"].astype(str) + scores["f_score"].astype(str)
    if "m_score" in scores:
        scores["rfm_cell"] += scores["m_score"].astype(str)
    return RFMScores(
        scores=scores, cut_points=cut_points, columns=columns, notes=tuple(notes),
        n_bins=n_bins, quantiles=quantiles,
    )
