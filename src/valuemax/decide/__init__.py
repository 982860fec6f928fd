"""Decisions: what to do with each RFM segment and each customer cluster."""

from valuemax.decide._actions import SEGMENT_ACTIONS, cluster_actions, segment_actions

__all__ = ["SEGMENT_ACTIONS", "cluster_actions", "segment_actions"]
