"""Decisions from customer value: who is valuable and slipping away, and what to do."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError

#: (action, rationale) for "high value at risk" customers.
AT_RISK_ACTION: tuple[str, str] = (
    "Win back one-to-one before they are gone: a personal message from an account manager, "
    "an offer built on their past favourites, and a question about why they stopped; "
    "prioritise by past spend.",
    "They are among the top spenders of the past but the purchase model gives them a low "
    "probability of still being active (P(alive)), so their future value is at stake while "
    "a win-back still costs little compared with what they spent.",
)


#: RFM segments read as "at risk" when P(alive) cannot rank customers.
AT_RISK_SEGMENTS: tuple[str, ...] = ("Can't Lose Them", "At Risk")


def high_value_at_risk(customers: pd.DataFrame, *, top_share: float = 0.2,
                       p_alive_below: float = 0.5,
                       segments: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Customers with a high past spend and a low probability of being alive.

    High past spend = the top ``top_share`` of customers by ``total_spend`` (ties at the
    threshold included); at risk = ``p_alive < p_alive_below``, or, with ``segments``, an
    RFM segment among ``segments`` (for logs where the purchase model sees no drop-out and
    P(alive) cannot rank customers; e.g. :data:`AT_RISK_SEGMENTS`).

    Parameters
    ----------
    customers : pandas.DataFrame of shape (n_customers, n_fields)
        Needs ``customer_id``, ``total_spend`` and ``p_alive`` (from ``valuemax.clv``).
    top_share : float, default 0.2
        Share of customers counted as high past spend, in (0, 1].
    p_alive_below : float, default 0.5
        P(alive) below which a customer is at risk, in (0, 1].
    segments : tuple of str, optional
        Read "at risk" from the ``segment`` column instead of ``p_alive``.

    Returns
    -------
    pandas.DataFrame
        The customers at risk, by ``total_spend`` descending, with the input columns plus
        ``action`` and ``rationale`` (:data:`AT_RISK_ACTION`). ``attrs`` holds
        ``spend_threshold`` (currency), ``top_share``, ``p_alive_below``, ``n_high_value``.

    Raises
    ------
    InputError
        If a column is missing, ``p_alive`` has missing values, or a threshold is outside
        its range.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": list("abcde"),
    ...                    "total_spend": [900.0, 800.0, 50.0, 40.0, 30.0],
    ...                    "p_alive": [0.1, 0.9, 0.05, 0.5, 0.2]})
    >>> high_value_at_risk(df, top_share=0.4)["customer_id"].tolist()
    ['a']
    >>> df["segment"] = ["Champions", "At Risk", "Lost", "New", "Lost"]
    >>> high_value_at_risk(df, top_share=0.4, segments=("At Risk",))["customer_id"].tolist()
    ['b']
    """
    need = ("customer_id", "total_spend", "segment" if segments is not None else "p_alive")
    missing = [c for c in need if c not in customers]
    if missing:
        raise InputError(f"high_value_at_risk needs columns {missing}; fit the value step "
                         "(valuemax.clv) first to get p_alive")
    if not 0 < top_share <= 1 or not 0 < p_alive_below <= 1:
        raise InputError(f"top_share={top_share!r} and p_alive_below={p_alive_below!r} must "
                         "be in (0, 1]")
    spend = customers["total_spend"].to_numpy(dtype=float)
    k = max(1, int(np.ceil(top_share * len(customers)))) if len(customers) else 0
    threshold = float(np.sort(spend)[::-1][k - 1]) if k else float("nan")
    high = spend >= threshold
    if segments is not None:
        risky = customers["segment"].isin(segments).to_numpy()
        why = ("They are among the top spenders of the past and their RFM segment ("
               f"{' or '.join(segments)}) says they have not bought for a long time; the "
               "purchase model cannot rank them here, so the segments stand in for P(alive).")
        return _at_risk(customers, high, risky, threshold, top_share, None, why)
    p = customers["p_alive"].to_numpy(dtype=float)
    if not np.isfinite(p).all():
        raise InputError(f"p_alive is missing for {int((~np.isfinite(p)).sum()):,} customers; "
                         "score every customer before choosing whom to win back")
    return _at_risk(customers, high, p < p_alive_below, threshold, top_share, p_alive_below)


def _at_risk(customers, high, risky, threshold, top_share, p_alive_below,
             rationale=AT_RISK_ACTION[1]) -> pd.DataFrame:
    out = customers.loc[high & risky].sort_values(
        "total_spend", ascending=False, kind="stable").copy()
    out["action"], out["rationale"] = AT_RISK_ACTION[0], rationale
    out.attrs.update(spend_threshold=threshold, top_share=top_share,
                     p_alive_below=p_alive_below, n_high_value=int(high.sum()))
    return out


def value_at_risk_summary(at_risk: pd.DataFrame, customers: pd.DataFrame,
                          clv_column: str | None = None) -> dict[str, Any]:
    """Counts and money of :func:`high_value_at_risk`'s result, for the report and JSON."""
    total = float(customers["total_spend"].sum())
    out = {"n_customers": len(at_risk), "n_high_value": at_risk.attrs.get("n_high_value"),
           "past_spend": float(at_risk["total_spend"].sum()),
           "past_spend_share": float(at_risk["total_spend"].sum() / total) if total else None,
           "spend_threshold": at_risk.attrs.get("spend_threshold"),
           "p_alive_below": at_risk.attrs.get("p_alive_below")}
    if clv_column is not None and clv_column in at_risk:
        out["clv"] = float(at_risk[clv_column].sum())
    return out
