"""Decisions: what to do with each RFM segment, each customer cluster, and the valuable
customers who are slipping away; whom to contact under a budget, with a hold-out control."""

from valuemax.decide._actions import SEGMENT_ACTIONS, cluster_actions, segment_actions
from valuemax.decide._curve import HoldoutCurve, holdout_profit_curve
from valuemax.decide._holdout import HOLDOUT_ARM, holdout_assignments
from valuemax.decide._profit import PROFIT_FORMULA
from valuemax.decide._target import TARGET_COLUMNS, TargetResult, choose_targets
from valuemax.decide._value import (
    AT_RISK_ACTION,
    AT_RISK_SEGMENTS,
    high_value_at_risk,
    value_at_risk_summary,
)

__all__ = ["AT_RISK_ACTION", "AT_RISK_SEGMENTS", "HOLDOUT_ARM", "PROFIT_FORMULA",
           "SEGMENT_ACTIONS", "TARGET_COLUMNS", "HoldoutCurve", "TargetResult",
           "choose_targets", "cluster_actions", "high_value_at_risk", "holdout_assignments",
           "holdout_profit_curve", "segment_actions", "value_at_risk_summary"]
