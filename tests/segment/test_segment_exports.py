"""The public names of valuemax.segment (STYLE.md b.5) and lazy heavy imports (b.13)."""

from __future__ import annotations

import subprocess
import sys

import valuemax.segment


def test_all_is_exact():
    assert sorted(valuemax.segment.__all__) == sorted([
        "RFM_SEGMENT_RULES", "SEGMENT_NAMES", "ClusterResult", "HierarchicalResult",
        "RFMScores", "SegmentRule", "assign_segments", "kmeans_segments", "rfm_scores",
        "segment_summary", "ward_segments",
    ])
    for name in valuemax.segment.__all__:
        assert hasattr(valuemax.segment, name)


def test_import_segment_and_decide_loads_no_sklearn_or_scipy_cluster():
    code = ("import sys, valuemax.segment, valuemax.decide; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sklearn' "
            "or m.startswith('scipy.cluster')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
