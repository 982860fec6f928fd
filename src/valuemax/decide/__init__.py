"""Decisions: what to do with each RFM segment, each customer cluster, and the valuable
customers who are slipping away."""

from valuemax.decide._actions import SEGMENT_ACTIONS, cluster_actions, segment_actions
from valuemax.decide._value import (
    AT_RISK_ACTION,
    AT_RISK_SEGMENTS,
    high_value_at_risk,
    value_at_risk_summary,
)

__all__ = ["AT_RISK_ACTION", "AT_RISK_SEGMENTS", "SEGMENT_ACTIONS", "cluster_actions", "high_value_at_risk",
           "segment_actions", "value_at_risk_summary"]
