"""The money of the returns netted, where a user reads it: summary.json, the terminal and the
report's data-quality section (the session's default run of Online Retail, returns="net").

The figures are recounted independently from the raw rows in
tests/clean/test_clean_online_retail.py (215 return lines, 5,350 units and 13,498.31 beyond
the matched purchase line); here they must reach every output, and add up.
"""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from valuemax.cli._render import print_summary


def test_summary_json_reconciles_the_returns_money(retail_analysis):
    summary = json.loads((retail_analysis.out / "summary.json").read_text(encoding="utf-8"))
    rec = summary["returns_netting"]
    assert rec["matched_by"] == "product_id"
    assert (rec["return_lines_beyond_purchase"], rec["units_beyond_purchase"]) == (215, 5_350)
    assert rec["refunds_beyond_purchase"] == pytest.approx(13_498.31, abs=0.005)
    # purchases - deducted = clean spend = what the customers spent (their table's sum)
    spend = float(retail_analysis.customers["total_spend"].sum())
    assert rec["spend_before_netting"] - rec["refunds_deducted"] == pytest.approx(
        rec["clean_spend"], abs=0.005)
    assert rec["clean_spend"] == pytest.approx(spend, abs=0.005)
    # refunds = deducted + not netted + price difference; not netted = excess + unmatched
    assert rec["refunds_not_netted"] == pytest.approx(
        rec["refunds_beyond_purchase"] + rec["refunds_unmatched"], abs=1e-6)
    assert rec["refunds"] == pytest.approx(
        rec["refunds_deducted"] + rec["refunds_not_netted"] + rec["refund_price_difference"],
        abs=1e-6)
    assert rec["return_lines_unmatched"] == summary["quarantine_by_reason"]["return_unmatched"]


def test_terminal_and_report_state_the_excess(retail_analysis):
    console = Console(record=True, width=120, force_terminal=False)
    print_summary(console, retail_analysis)
    text = " ".join(console.export_text().split())
    assert "beyond the purchase 13,498.31 (215 return lines" in text
    assert "5,350 units" in text
    assert "= clean spend" in text
    html = (retail_analysis.out / "report.html").read_text(encoding="utf-8")
    assert "Money of the returns netted" in html
    assert "Refunds not netted 35,664.50 = beyond the purchase 13,498.31 (215 return lines" in html


def test_without_netting_the_summary_says_why(retail_classic_analysis):
    summary = json.loads(
        (retail_classic_analysis.out / "summary.json").read_text(encoding="utf-8"))
    assert summary["returns_netting"]["skipped"].startswith("returns='exclude'")
    assert retail_classic_analysis.quality.reconciliation_lines() == []


def test_calibration_without_calibration_end_says_why(retail_analysis):
    """A run without calibration_end builds no calibration/holdout table: summary.json's
    ``calibration`` says so and names the CLV step's own split (it printed null). The split
    is the default one: the last third of the span held out (2010-12-01 .. 2011-12-09 is
    373 days; 124 held out: 2011-08-07)."""
    summary = json.loads((retail_analysis.out / "summary.json").read_text(encoding="utf-8"))
    assert retail_analysis.calibration is None
    assert summary["clv"]["calibration_end"] == "2011-08-07"
    assert summary["calibration"] == {"skipped": (
        "no calibration_end given (--calibration-end DATE): no calibration/holdout table "
        "(calibration_holdout.parquet) was built; the CLV model choice held out the days "
        "after 2011-08-07 on its own (clv.calibration_end, clv.holdout)")}
    top_nulls = sorted(k for k, v in summary.items() if v is None)
    assert top_nulls == [], top_nulls
