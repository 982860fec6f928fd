"""Marketing actions per RFM segment and per cluster.

The actions paraphrase common RFM practice: the segment playbooks published with the rfm R
package's vignette (Hebbali, rsquaredacademy/rfm) and Putler's "RFM analysis for successful
customer segmentation" (the segment table with "actionable tips"), made concrete enough to
execute. Each rationale ties the action to the segment's R/F/M pattern in
:data:`valuemax.segment.RFM_SEGMENT_RULES`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.segment import RFM_SEGMENT_RULES, SEGMENT_NAMES, assign_segments

#: segment -> (action, rationale); one entry per name in RFM_SEGMENT_RULES.
SEGMENT_ACTIONS: dict[str, tuple[str, str]] = {
    "Champions": (
        "Reward and recognise: VIP tier or loyalty perks, early access to new products, and "
        "ask for reviews and referrals; no discounts needed.",
        "They bought recently, buy often and spend the most (R, F, M 4-5), so recognition "
        "keeps them and price cuts would only give margin away.",
    ),
    "Loyal": (
        "Upsell and cross-sell higher-value products, invite to the loyalty programme, and "
        "ask for reviews.",
        "They buy often and spend well (F, M 3-5) and bought reasonably recently (R 2-5), so "
        "they respond to relevant offers without needing deep discounts.",
    ),
    "Can't Lose Them": (
        "Win them back one-to-one: a personal call or email from an account manager, a strong "
        "tailored offer on their past favourites, and ask why they stopped.",
        "They used to buy most often and spend the most (F, M 4-5) but have not bought for "
        "the longest time (R = 1): the largest value at stake.",
    ),
    "New": (
        "Onboard: welcome email series, product how-to content, and a time-limited incentive "
        "for the second purchase.",
        "They bought very recently (R 4-5) but only once and little (F = M = 1), so the "
        "second purchase is the step that turns them into customers.",
    ),
    "Promising": (
        "Build the relationship: brand and product content plus a small introductory offer "
        "(e.g. free shipping) on the next order.",
        "They bought fairly recently (R 3-4) but once and little (F = M = 1), so a low-cost "
        "nudge is worth more than a large discount.",
    ),
    "Need Attention": (
        "Re-engage with limited-time offers and recommendations personalised on past "
        "purchases.",
        "Their recency, frequency and spend are all middling (R, F, M 2-3): they are drifting "
        "but still respond to timely, relevant contact.",
    ),
    "About To Sleep": (
        "Reactivate with popular or trending products and a modest time-limited discount; "
        "reconnect through useful content.",
        "They are of average recency (R = 3) with low frequency and spend (F, M 1-2), so "
        "they will lapse without a reason to come back.",
    ),
    "Potential Loyalist": (
        "Grow them: loyalty programme membership, recommendations of complementary products, "
        "and bundles or subscriptions that build purchase frequency.",
        "They bought recently (R 3-5) but are not yet top-tier on both frequency and spend, "
        "so they are the best prospects to become Loyal.",
    ),
    "Lost": (
        "Try one low-cost revival (survey plus offer by email), then suppress them from paid "
        "campaigns.",
        "They have the longest time since the last purchase (R = 1) with low frequency and "
        "spend (F, M 1-2), so further paid reactivation rarely pays back.",
    ),
    "Hibernating": (
        "Include them only in cheap broad campaigns (newsletter, seasonal offers, other "
        "relevant categories); no one-to-one contact.",
        "They have not bought for a long time (R = 2) and bought little (F, M 1-2), so the "
        "value at stake only justifies low-cost channels.",
    ),
    "At Risk": (
        "Send personalised win-back emails with a strong offer, reminders of what they bought "
        "and news relevant to it.",
        "They have not bought for a long time (R 1-2) but bought often or spent well before, "
        "so their revenue is lost without action.",
    ),
}

#: Representative score of a cluster level when it is mapped to an RFM cell.
_LEVEL_SCORE = {"high": 5, "mid": 3, "low": 1}
_LEVEL_WORDS = {
    "r_level": {"high": "recent", "mid": "of middling recency", "low": "lapsed"},
    "f_level": {"high": "frequent", "mid": "of middling frequency", "low": "infrequent"},
    "m_level": {"high": "high-spending", "mid": "mid-spending", "low": "low-spending"},
}


def segment_actions() -> pd.DataFrame:
    """Recommended action and one-sentence rationale for every named RFM segment.

    Returns
    -------
    pandas.DataFrame of shape (11, 3)
        ``segment``, ``action``, ``rationale``, in the order of
        :data:`valuemax.segment.RFM_SEGMENT_RULES`.

    Examples
    --------
    >>> a = segment_actions()
    >>> len(a), a.loc[a.segment == "Champions", "action"].str.contains("no discounts").item()
    (11, True)
    """
    return pd.DataFrame(
        [(name, *SEGMENT_ACTIONS[name]) for name in SEGMENT_NAMES],
        columns=["segment", "action", "rationale"],
    )


def cluster_actions(profile: pd.DataFrame, members: pd.DataFrame | None = None) -> pd.DataFrame:
    """Choose an action for each cluster from its relative R/F/M levels.

    Each cluster's levels (``r_level``, ``f_level``, ``m_level`` in {"high", "mid", "low"},
    from its median against the overall median, "high" = better) are mapped to the RFM cell
    with scores high = 5, mid = 3, low = 1; the cluster gets the action of the named segment
    :data:`~valuemax.segment.RFM_SEGMENT_RULES` assigns to that cell. So a recent, frequent,
    high-spending cluster (cell 555) is treated like Champions, a lapsed, frequent,
    high-spending one (155) like Can't Lose Them.

    A cluster's centre can look like one segment while most of its customers sit in others
    (with k = 2 the second cluster is everyone who is not a top customer: recent first-time
    buyers beside long-lapsed ones). Given ``members`` (each customer's cluster and named RFM
    segment), a cluster where fewer than :data:`MIXED_BELOW` of the customers are in
    segments with the centre's action gets no cluster-wide action: it is "mixed", and the
    action says to act on each customer's RFM segment, naming the main ones.

    Parameters
    ----------
    profile : pandas.DataFrame of shape (k, >= 4)
        ``ClusterResult.profile`` or ``HierarchicalResult.profile``: needs ``cluster``,
        ``r_level``, ``f_level``, ``m_level``.
    members : pandas.DataFrame of shape (n_customers, >= 2), optional
        ``cluster`` and ``segment`` (a name of :data:`valuemax.segment.SEGMENT_NAMES`) per
        customer, e.g. the customer table after ``assign_segments`` and the clustering.

    Returns
    -------
    pandas.DataFrame of shape (k, 3), or (k, 4) with ``members``
        ``cluster``, ``action``, ``rationale`` (the levels, the analogous RFM cell and
        segment, and why) and, with ``members``, ``share_same_action`` (share of the
        cluster's customers whose segment has the centre's action, in [0, 1]).

    Raises
    ------
    InputError
        If a column is missing (missing and available listed) or a level is not one of
        "high", "mid", "low".

    Examples
    --------
    >>> import pandas as pd
    >>> p = pd.DataFrame({"cluster": [1, 2], "r_level": ["high", "low"],
    ...                   "f_level": ["high", "low"], "m_level": ["high", "low"]})
    >>> cluster_actions(p)["rationale"].str.extract(r"like (.+?) \\(")[0].tolist()
    ['Champions', 'Lost']
    """
    needed = ["cluster", "r_level", "f_level", "m_level"]
    if not isinstance(profile, pd.DataFrame):
        raise InputError(f"cluster_actions needs a DataFrame; got {type(profile).__name__}.")
    missing = [c for c in needed if c not in profile.columns]
    if missing:
        raise InputError(
            f"cluster_actions: column(s) {missing} not found; available columns: "
            f"{list(map(str, profile.columns))}. Pass kmeans_segments(...).profile."
        )
    scores = {}
    for col in needed[1:]:
        bad = ~profile[col].isin(list(_LEVEL_SCORE))
        if bad.any():
            raise InputError(
                f"cluster_actions: {col!r} must be one of {list(_LEVEL_SCORE)}; got "
                f"{profile.loc[bad, col].unique().tolist()}."
            )
        scores[col[0] + "_score"] = profile[col].map(_LEVEL_SCORE).to_numpy(dtype=np.int64)
    cells = pd.DataFrame(scores, index=profile.index)
    segments = assign_segments(cells).astype(str)
    rules = {rule.name: rule for rule in RFM_SEGMENT_RULES}
    rows, centres = [], []
    for i, seg in zip(profile.index, segments, strict=True):
        words = [_LEVEL_WORDS[c][profile.at[i, c]] for c in needed[1:]]
        cell = "".join(str(cells.at[i, c]) for c in cells.columns)
        action = SEGMENT_ACTIONS[seg][0]
        centres.append(f"{words[0]}, {words[1]} and {words[2]} relative to the overall "
                       f"median, like {seg} (RFM cell {cell})")
        rows.append((
            profile.at[i, "cluster"], action,
            f"Customers here are {words[0]}, {words[1]} and {words[2]} relative to the "
            f"overall median, so they are treated like {seg} (RFM cell {cell}: "
            f"{rules[seg].description[0].lower()}{rules[seg].description[1:-1]}).",
        ))
    out = pd.DataFrame(rows, columns=["cluster", "action", "rationale"])
    if members is None:
        return out
    return _mixed(out, centres, members)


#: A cluster gets the action of its centre's segment only when at least this share of its
#: customers are in segments with that action; below it the cluster is "mixed".
MIXED_BELOW = 0.5


def _mixed(out: pd.DataFrame, centres: list[str], members: pd.DataFrame) -> pd.DataFrame:
    """``out`` with ``share_same_action``, and the action and rationale of the mixed
    clusters replaced (see :func:`cluster_actions`)."""
    missing = [c for c in ("cluster", "segment") if c not in members.columns]
    if missing:
        raise InputError(f"cluster_actions: members lacks column(s) {missing}; available "
                         f"columns: {list(map(str, members.columns))}. Pass the customer "
                         "table with its cluster and RFM segment.")
    m = members[["cluster", "segment"]].dropna()
    segment = m["segment"].astype(str)
    # the segments as codes into their distinct names: per-customer work stays in numpy
    codes, names = pd.factorize(segment)
    unknown = sorted(set(names) - set(SEGMENT_ACTIONS))
    if unknown:
        raise InputError(f"cluster_actions: members has segment(s) {unknown[:5]} that are "
                         f"not RFM segment names ({', '.join(SEGMENT_NAMES)}).")
    cluster = m["cluster"].to_numpy()
    shares, actions, rationales = [], [], []
    for (_, row), centre in zip(out.iterrows(), centres, strict=True):
        here = cluster == row["cluster"]
        n = int(here.sum())
        if not n:
            raise InputError(f"cluster_actions: members has no customer in cluster "
                             f"{row['cluster']!r}; pass the members of this profile's clusters.")
        same = np.array([SEGMENT_ACTIONS[name][0] == row["action"] for name in names])
        k = int(same[codes[here]].sum())
        share = k / n
        shares.append(share)
        if share >= MIXED_BELOW:
            actions.append(row["action"])
            rationales.append(row["rationale"])
            continue
        top = segment[here].value_counts(normalize=True).head(3)
        named = ", ".join(f"{name} {p:.0%}" for name, p in top.items())
        actions.append(f"Mixed cluster: act on each customer's RFM segment (here mostly "
                       f"{named}); no one action fits it.")
        # counts, not a rounded share: "only 0% of its 7 customers" read as a glitch
        held = (f"none of its {n:,} customers is in a segment with that action" if not k
                else f"only {k:,} of its {n:,} customers ({share:.0%}) "
                     f"{'is' if k == 1 else 'are'} in segments with that action")
        rationales.append(f"Its centre is {centre}, but {held}, so one cluster-wide action "
                          f"would treat {'all' if not k else 'most'} of them wrongly.")
    return out.assign(action=actions, rationale=rationales, share_same_action=shares)
