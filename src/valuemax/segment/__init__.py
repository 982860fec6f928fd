"""Customer segments from the customer table (never the raw log).

- RFM quantile scores that stay exact with ties (:func:`rfm_scores`), the named-segment rule
  table (:data:`RFM_SEGMENT_RULES`, first match wins, total on the 125 cells),
  :func:`assign_segments` and :func:`segment_summary`;
- k-means clusters on standardised log R/F/M with k chosen by silhouette and clusters ranked
  by value (:func:`kmeans_segments`), and Ward hierarchical clusters of a sample
  (:func:`ward_segments`).

scikit-learn and scipy are imported lazily, inside the clustering functions.
"""

from valuemax.segment._kmeans import ClusterResult, kmeans_segments
from valuemax.segment._rfm import RFMScores, rfm_scores
from valuemax.segment._rules import (
    RFM_SEGMENT_RULES,
    SEGMENT_NAMES,
    SegmentRule,
    assign_segments,
    segment_summary,
)
from valuemax.segment._ward import HierarchicalResult, ward_segments

__all__ = [
    "RFM_SEGMENT_RULES",
    "SEGMENT_NAMES",
    "ClusterResult",
    "HierarchicalResult",
    "RFMScores",
    "SegmentRule",
    "assign_segments",
    "kmeans_segments",
    "rfm_scores",
    "segment_summary",
    "ward_segments",
]
