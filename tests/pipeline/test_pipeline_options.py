"""Options of the main job: calibration/holdout, Ward, returns netting, the real report in a browser."""

from __future__ import annotations

import json

import duckdb
import pytest

import valuemax

CDNOW_COLS = ["customer_id", "customer_index", "date", "number_of_cds", "dollar_value"]


@pytest.fixture(scope="module")
def cdnow_sample_run(datasets, tmp_path_factory):
    out = tmp_path_factory.mktemp("cdnow") / "out"
    return valuemax.analyze(
        str(datasets("cdnow/CDNOW_sample.txt")), out=out, columns=CDNOW_COLS,
        mapping={"customer_id": "customer_index"}, preset="none", time_unit="W",
        calibration_end="1997-09-30", clusters="kmeans+ward", random_state=0,
    )


def test_calibration_holdout_matches_the_published_cdnow_summary(cdnow_sample_run):
    # Fader, Hardie & Lee (2005) 1/10 sample, 39-week calibration: 2,357 customers, 1,411 with
    # no repeat purchase; customer 0001: x = 2, t_x = 30.43, T = 38.86 weeks.
    cal = cdnow_sample_run.calibration.set_index("customer_id")
    assert len(cal) == 2_357
    assert int((cal["frequency"] == 0).sum()) == 1_411
    assert cal.loc["0001", "frequency"] == 2
    assert cal.loc["0001", "recency"] == pytest.approx(30.43, abs=0.005)
    assert cal.loc["0001", "T"] == pytest.approx(38.86, abs=0.005)
    # 1997-09-30 .. 1998-06-30 is 273 days = 39 weeks
    assert cal["duration_holdout"].between(39 - 1e-9, 39 + 1e-9).all()
    summary = json.loads((cdnow_sample_run.out / "summary.json").read_text(encoding="utf-8"))
    assert summary["calibration"] == {"calibration_end": "1997-09-30", "n_customers": 2_357,
                                      "repeat_buyers": 946, "used_by_clv": True,
                                      "not_used_because": None}
    with duckdb.connect(str(cdnow_sample_run.out / "valuemax.duckdb"), read_only=True) as con:
        assert con.sql("select count(*) from calibration_holdout").fetchone()[0] == 2_357
        ingest = json.loads(con.sql("select ingest from runs").fetchone()[0])
        assert ingest["mapping"]["customer_id"] == "customer_index"
        assert ingest["date_formats"] == ["%Y%m%d"]


def test_ward_runs_beside_kmeans(cdnow_sample_run):
    ward = cdnow_sample_run.hierarchy
    assert ward is not None and ward.skipped is None
    assert 2 <= ward.k <= 10
    assert ward.linkage.shape == (ward.n_used - 1, 4)
    html = (cdnow_sample_run.out / "report.html").read_text(encoding="utf-8")
    assert "Ward" in html


def test_returns_net_never_gives_negative_spend(datasets):
    res = valuemax.analyze(str(datasets("online_retail/online_retail.csv.gz")),
                           returns="net", clusters="none")
    q = res.quality
    assert q.rows_in == q.rows_clean + q.rows_quarantined == 541_909
    frame = q.to_frame().set_index("rule")
    assert "return_netted" in frame.index and "cancellation" not in frame.index
    assert (res.customers["total_spend"] >= 0).all()


@pytest.mark.browser
def test_real_report_renders_in_chromium(cdnow_sample_run, check_report_in_browser, tmp_path):
    shot = tmp_path / "report.png"
    seen = check_report_in_browser(cdnow_sample_run.out / "report.html", screenshot=shot)
    assert seen["n_plots"] >= 10
    assert shot.stat().st_size > 10_000
    for heading in ("Data", "Customers", "Segments", "Clusters", "Run"):
        assert heading in seen["text"]
