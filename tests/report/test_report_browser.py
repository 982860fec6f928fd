"""valuemax.report in a real browser: headless Debian chromium, offline, no errors."""

from __future__ import annotations

import dataclasses

import pytest

from valuemax.pipeline import StageStatus
from valuemax.report import write_report


@pytest.mark.browser
def test_report_renders_in_chromium(small_run, tmp_path, check_report_in_browser):
    path = write_report(small_run, tmp_path / "report.html")
    shot = tmp_path / "report.png"
    seen = check_report_in_browser(path, screenshot=shot)
    assert seen["n_plots"] == path.read_text(encoding="utf-8").count("Plotly.newPlot(") > 0
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = seen["text"]
    for title in ("1. Data", "2. Customers", "3. Segments (RFM)", "4. Clusters",
                  "5. Customer value", "6. What goes with value", "7. Who buys next",
                  "8. What sells together", "9. Run"):
        assert title in text
    assert "订单号" in text and "商品名称" in text  # Chinese column names, decoded as UTF-8
    assert "<script>alert(1)</script>" in text  # user text shown as text, never run


@pytest.mark.browser
def test_report_with_missing_pieces_renders(small_run, tmp_path, check_report_in_browser):
    why = "clustering turned off (clusters='none')"
    res = dataclasses.replace(
        small_run, clusters=None, cluster_actions=None, hierarchy=None,
        customers=small_run.customers.drop(columns=["Country", "r_score", "f_score"]),
        stages={**{k: v for k, v in small_run.stages.items() if k != "ward"},
                "kmeans": StageStatus("skipped", why)},
        skipped={"kmeans": why})
    path = write_report(res, tmp_path / "report.html")
    seen = check_report_in_browser(path)
    assert seen["n_plots"] == path.read_text(encoding="utf-8").count("Plotly.newPlot(") > 0
    assert "Clustering was skipped" in seen["text"]
