"""Public surface: curated names, light import, no mutation of inputs."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

import valuemax


def test_import_is_light():
    code = (
        "import sys, valuemax, valuemax.io, valuemax.clean, valuemax.features;"
        "heavy = [m for m in ('plotly', 'pyspark', 'sklearn') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_top_level_names():
    assert sorted(valuemax.__all__) == sorted(
        ["AnalysisResult", "CleanOptions", "EngineOptions", "PrivacyOptions",
         "PropensityOptions", "ReadOptions", "SegmentOptions", "ValueOptions", "__version__",
         "analyze", "inspect", "read_transactions"]
    )
    for name in valuemax.__all__:
        assert getattr(valuemax, name) is not None


def test_analyze_leaves_the_input_frame_unchanged(tx_small):
    before = tx_small.copy(deep=True)
    res = valuemax.analyze(tx_small, clusters="none")
    pd.testing.assert_frame_equal(tx_small, before)
    assert len(res.customers) == 3
    assert res.quality.rows_in == 8
