"""Named RFM segments: a published rule table made total, assignment and summary.

The rule table (:data:`RFM_SEGMENT_RULES`) is the 11-segment table of the rfm R package's
vignette "RFM - Transaction Level Data" [1]_, reordered and adapted so that, first match
wins, each of the 125 quintile cells gets exactly one segment (adaptations listed at the
table). rfm 0.3.0 ships a different 10-segment example in ``rfm_segment()``; the 11-segment
vignette table is the one with all the names used here.

References
----------
.. [1] Hebbali, A. rfm: Recency, Frequency and Monetary Value Analysis (R package), vignette
   "RFM - Transaction Level Data", https://github.com/rsquaredacademy/rfm
   (vignettes/rfm-transaction-level-data.Rmd); CRAN https://CRAN.R-project.org/package=rfm
.. [2] Hughes, A. M. (1994). Strategic Database Marketing. Probus, Chicago.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.segment._rfm import RFMScores
from valuemax.segment._validation import check_customers


@dataclass(frozen=True)
class SegmentRule:
    """One row of the segment rule table: inclusive score ranges and a description.

    Attributes
    ----------
    name : str
        Segment name.
    r, f, m : tuple of int
        Inclusive ``(low, high)`` score range on the 1..5 scale (5 = best).
    description : str
        Who falls in the segment.
    """

    name: str
    r: tuple[int, int]
    f: tuple[int, int]
    m: tuple[int, int]
    description: str

    def matches(self, r: np.ndarray, f: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Boolean mask of the (r, f, m) score triples inside all three ranges."""
        return (
            (r >= self.r[0]) & (r <= self.r[1]) & (f >= self.f[0]) & (f <= self.f[1])
            & (m >= self.m[0]) & (m <= self.m[1])
        )


#: The named-segment rules, applied in order, first match wins; every one of the 125
#: (R, F, M) cells of quintile scores matches exactly one segment (first match).
#:
#: Source: the 11-segment table of the rfm R package's vignette "RFM - Transaction Level
#: Data" (Hebbali, rsquaredacademy/rfm; ranges R/F/M: Champions 4-5/4-5/4-5, Loyal Customers
#: 2-5/3-5/3-5, Potential Loyalist 3-5/1-3/1-3, New Customers 4-5/<=1/<=1, Promising
#: 3-4/<=1/<=1, Need Attention 2-3/2-3/2-3, About To Sleep 2-3/<=2/<=2, At Risk
#: <=2/2-5/2-5, Can't Lose Them <=1/4-5/4-5, Hibernating 1-2/1-2/1-2, Lost <=2/<=2/<=2).
#: Applied first-match in that order (as its case_when does), four segments can never match
#: (New and Promising lie inside Potential Loyalist, Can't Lose Them inside At Risk, Lost
#: equals Hibernating) and 36 of the 125 cells get no segment ("Others"). Adaptations, so that
#: all 11 are reachable and every cell has exactly one segment:
#:
#: 1. Order, specific before general: Can't Lose Them before At Risk; New, Promising, Need
#:    Attention and About To Sleep before Potential Loyalist. New takes (4,1,1), (5,1,1),
#:    Promising (3,1,1), Need Attention (3,2,2), (3,2,3), (3,3,2), About To Sleep (3,1,2),
#:    (3,2,1) from Potential Loyalist; Can't Lose Them its 4 cells from At Risk.
#: 2. Low frequency and spend (F, M <= 2) split by recency, as the descriptions say: About To
#:    Sleep R = 3 (was 2-3), Hibernating R = 2 (was 1-2), Lost R = 1 (was <= 2). So (2,1,1),
#:    (2,1,2), (2,2,1) move from About To Sleep to Hibernating; (1,1,1), (1,1,2), (1,2,1) from
#:    Hibernating and (1,2,2) from At Risk to Lost.
#: 3. Catch-alls for the 36 cells the source leaves out (mixed high/low F and M): Potential
#:    Loyalist widened to F 1-5, M 1-5 (was 1-3, 1-3) for R >= 3, At Risk widened to F 1-5,
#:    M 1-5 (was 2-5, 2-5) for R <= 2, both placed after the specific rules.
#:
#: The other 70 cells keep the source's segment (tests/segment/test_segment_rules.py checks
#: the 19 changes above exactly). Names follow the source, shortened ("Loyal", "New"). Cells
#: per segment: Potential Loyalist 40, Loyal 28, At Risk 27, Champions 8, Need Attention 6,
#: Can't Lose Them 4, Lost 4, Hibernating 3, About To Sleep 2, New 2, Promising 1.
RFM_SEGMENT_RULES: tuple[SegmentRule, ...] = (
    SegmentRule("Champions", (4, 5), (4, 5), (4, 5),
                "Bought recently, buy often and spend the most."),
    SegmentRule("Loyal", (2, 5), (3, 5), (3, 5),
                "Buy regularly and spend well; responsive to promotions."),
    SegmentRule("Can't Lose Them", (1, 1), (4, 5), (4, 5),
                "Used to buy often and spend the most, but not for the longest time."),
    SegmentRule("New", (4, 5), (1, 1), (1, 1),
                "Bought very recently, once, and a small amount."),
    SegmentRule("Promising", (3, 4), (1, 1), (1, 1),
                "Bought fairly recently, once, and a small amount."),
    SegmentRule("Need Attention", (2, 3), (2, 3), (2, 3),
                "Middling recency, frequency and spend; drifting."),
    SegmentRule("About To Sleep", (3, 3), (1, 2), (1, 2),
                "Average recency with low frequency and spend; likely to lapse."),
    SegmentRule("Potential Loyalist", (3, 5), (1, 5), (1, 5),
                "Recent customers not yet buying often and spending much at once; "
                "can be grown into loyal customers."),
    SegmentRule("Lost", (1, 1), (1, 2), (1, 2),
                "Longest since the last purchase, with low frequency and spend."),
    SegmentRule("Hibernating", (2, 2), (1, 2), (1, 2),
                "Long since the last purchase, with low frequency and spend."),
    SegmentRule("At Risk", (1, 2), (1, 5), (1, 5),
                "Have not bought for a long time, but bought often or spent well before."),
)

SEGMENT_NAMES: tuple[str, ...] = tuple(rule.name for rule in RFM_SEGMENT_RULES)


def assign_segments(scores: RFMScores | pd.DataFrame) -> pd.Series:
    """Name each customer's segment from its R, F, M scores (first matching rule wins).

    Parameters
    ----------
    scores : RFMScores or pandas.DataFrame of shape (n_customers, >= 3)
        Output of :func:`rfm_scores` with ``n_bins=5``, or a frame with integer columns
        ``r_score``, ``f_score``, ``m_score`` in 1..5. Scores made without M
        (``rfm_scores(customers, monetary=None)``, a log without prices) are named from R
        and F: the rules are evaluated with M taken as F.

    Returns
    -------
    pandas.Series of shape (n_customers,)
        Categorical named ``segment`` with categories in rule order
        (:data:`RFM_SEGMENT_RULES`), indexed like ``scores``; never missing.

    Raises
    ------
    InputError
        If score columns are missing, missing values, non-integral, outside 1..5, or
        ``scores`` was made with ``n_bins != 5``.

    References
    ----------
    .. [1] Hebbali, A. rfm (R package), vignette "RFM - Transaction Level Data" (the
       source of the rule table, adapted as documented at :data:`RFM_SEGMENT_RULES`).

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"r_score": [5, 1, 1], "f_score": [5, 5, 1], "m_score": [5, 5, 1]})
    >>> assign_segments(s).tolist()
    ['Champions', "Can't Lose Them", 'Lost']
    """
    if isinstance(scores, RFMScores):
        if scores.n_bins != 5:
            raise InputError(
                f"assign_segments: the rule table is defined on 1..5 scores; these scores "
                f"have n_bins={scores.n_bins}. Call rfm_scores(customers, n_bins=5)."
            )
        frame = scores.scores
        no_m = "monetary" not in scores.columns  # scored with monetary=None
    elif isinstance(scores, pd.DataFrame):
        no_m = False
        frame = scores
    else:
        raise InputError(
            f"assign_segments needs RFMScores or a DataFrame; got {type(scores).__name__}."
        )
    # no M (a log without prices, rfm_scores(monetary=None)): the rules are evaluated
    # with M taken as F, the customer's other measure of value
    cols = ("r_score", "f_score", "f_score" if no_m else "m_score")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise InputError(
            f"assign_segments: column(s) {missing} not found; available columns: "
            f"{list(map(str, frame.columns))}. Pass rfm_scores(customers) (for a log "
            "without prices, rfm_scores(customers, monetary=None): segments from R and F)."
        )
    arrays = []
    for c in cols:
        if frame[c].isna().any() or not pd.api.types.is_numeric_dtype(frame[c]):
            raise InputError(f"assign_segments: {c!r} must be integer scores without gaps.")
        a = frame[c].to_numpy(dtype=np.float64)
        bad = (a != np.round(a)) | (a < 1) | (a > 5)
        if bad.any():
            raise InputError(
                f"assign_segments: {c!r} must be integers in 1..5; {int(bad.sum()):,} of "
                f"{len(a):,} rows are not (e.g. {a[bad][:5].tolist()})."
            )
        arrays.append(a.astype(np.int8))
    r, f, m = arrays
    codes = np.full(len(frame), -1, dtype=np.int16)
    for i, rule in enumerate(RFM_SEGMENT_RULES):
        codes[(codes == -1) & rule.matches(r, f, m)] = i
    # The table is total on 1..5 (tested on all 125 cells), so no code is left at -1.
    cat = pd.Categorical.from_codes(codes, categories=list(SEGMENT_NAMES))
    return pd.Series(cat, index=frame.index, name="segment")


def segment_summary(
    customers: pd.DataFrame,
    segments: pd.Series,
    *,
    recency: str = "recency_days",
    frequency: str = "n_orders",
    monetary: str | None = "total_spend",
) -> pd.DataFrame:
    """Size, revenue and mean R/F/M of each segment, ranked by revenue.

    Parameters
    ----------
    customers : pandas.DataFrame of shape (n_customers, n_columns)
        The customer table; not modified.
    segments : pandas.Series of shape (n_customers,)
        Segment per customer, indexed like ``customers``. When categorical, every category
        gets a row (empty ones with 0 customers); otherwise every name of
        :data:`RFM_SEGMENT_RULES` gets a row when all values are among them, else only the
        values present do (in order of appearance).
    recency, frequency, monetary : str
        Columns with days since the last purchase, orders and total spend.
        ``monetary=None`` (a log without prices): no ``revenue``, ``revenue_share`` nor
        ``mean_total_spend`` columns (5 columns), sorted by ``n_customers``, descending.

    Returns
    -------
    pandas.DataFrame of shape (n_segments, 8)
        ``segment``, ``n_customers``, ``share_customers`` (sums to 1), ``revenue`` (sum of
        spend), ``revenue_share`` (sums to 1; all 0 if total revenue is 0),
        ``mean_recency_days``, ``mean_n_orders``, ``mean_total_spend`` (NaN for an empty
        segment: there is no customer to average). Sorted by revenue, descending (ties in
        category order).

    Raises
    ------
    InputError
        As :func:`rfm_scores` for the customer columns; if ``segments`` is not indexed like
        ``customers`` or has missing values.
    """
    columns = {"recency": recency, "frequency": frequency, "monetary": monetary}
    if monetary is None:
        del columns["monetary"]
    values = check_customers(customers, columns, who="segment_summary")
    if not isinstance(segments, pd.Series) or not segments.index.equals(customers.index):
        raise InputError(
            "segment_summary: segments must be a pandas Series indexed exactly like "
            "customers (e.g. assign_segments(rfm_scores(customers)))."
        )
    if segments.isna().any():
        raise InputError(
            f"segment_summary: {int(segments.isna().sum()):,} customers have no segment."
        )
    if isinstance(segments.dtype, pd.CategoricalDtype):
        categories = list(segments.cat.categories)
    else:
        present = [str(s) for s in pd.unique(segments.astype(str))]
        known = set(SEGMENT_NAMES).issuperset(present)
        categories = list(SEGMENT_NAMES) if known else present
    key = pd.Categorical(segments.astype(str), categories=[str(c) for c in categories])
    frame = pd.DataFrame(
        {"segment": key, "r": values["recency"], "f": values["frequency"],
         "m": values.get("monetary", np.zeros(len(customers)))}
    )
    g = frame.groupby("segment", observed=False)
    n = g.size()
    out = pd.DataFrame(
        {
            "segment": n.index.astype(str),
            "n_customers": n.to_numpy(dtype=np.int64),
            "revenue": g["m"].sum().to_numpy(dtype=np.float64),
            "mean_recency_days": g["r"].mean().to_numpy(),
            "mean_n_orders": g["f"].mean().to_numpy(),
            "mean_total_spend": g["m"].mean().to_numpy(),
        }
    )
    total = out["revenue"].sum()
    out.insert(2, "share_customers", out["n_customers"] / len(frame))
    out.insert(4, "revenue_share", out["revenue"] / total if total > 0 else 0.0)
    if monetary is None:
        out = out.drop(columns=["revenue", "revenue_share", "mean_total_spend"])
        return out.sort_values("n_customers", ascending=False, kind="stable").reset_index(
            drop=True)
    out = out.sort_values("revenue", ascending=False, kind="stable")
    return out.reset_index(drop=True)
