"""valuemax.report: the HTML file itself (self-contained, escaped, complete, downloadable)."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
import subprocess
import sys

import pandas as pd
import pytest
from tests.report._small_run import N_CANCELLED, N_CUSTOMERS, N_MISSING_ID, XSS, small_log

import valuemax
from valuemax.clean import QualityReport, RuleCount
from valuemax.exceptions import InputError
from valuemax.pipeline import AnalysisResult, StageStatus
from valuemax.report import PartReport, render_report, write_report

SECTIONS = ("1. Data", "2. Customers", "3. Segments (RFM)", "4. Clusters", "5. Customer value",
           "6. What goes with value", "7. Who buys next", "8. What sells together", "9. Run")
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"
LINK = re.compile(r'<a class="dl" download="([^"]+)" href="data:text/csv;charset=utf-8;base64,'
                  r'([A-Za-z0-9+/=]+)">Download CSV</a>')


@pytest.fixture(scope="module")
def html(small_run: AnalysisResult, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = write_report(small_run, tmp_path_factory.mktemp("html") / "out" / "report.html")
    return path.read_text(encoding="utf-8")


def _top_spender(result: AnalysisResult, customer_id: str) -> AnalysisResult:
    """``result`` with ``customer_id`` made the biggest spender (into the top-10 table)."""
    cust = result.customers.copy()
    cust.loc[cust["customer_id"] == customer_id, "total_spend"] = 1e7
    return dataclasses.replace(result, customers=cust)


def _csvs(html: str) -> dict[str, bytes]:
    found = LINK.findall(html)
    names = [n for n, _ in found]
    assert len(names) == len(set(names)), f"duplicate CSV names: {names}"
    return {n: base64.b64decode(b) for n, b in found}


def _figures(html: str) -> list[list[dict]]:
    """The trace lists passed to Plotly.newPlot, parsed from the page."""
    dec = json.JSONDecoder()
    out = []
    for m in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', html):
        data, _ = dec.raw_decode(html, m.end())
        out.append(data)
    return out


def test_import_does_not_load_plotly():
    code = ("import sys, valuemax.report; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'plotly'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_file_is_written_and_self_contained(small_run, html, tmp_path):
    import plotly.offline

    path = write_report(small_run, tmp_path / "a" / "b" / "report.html", sections=("data",))
    assert path == tmp_path / "a" / "b" / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert html.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in html
    # no external script, stylesheet, image or frame
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=", html, re.I)
    markup = re.sub(r"<script\b[^>]*>.*?</script>", "", html, flags=re.S | re.I)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", markup, re.I)
    assert not re.search(r"@import|url\(", markup, re.I)
    # plotly.js inline exactly once, in the head
    js = plotly.offline.get_plotlyjs()
    assert "</script" not in js
    assert html.count(js[:200]) == 1
    assert html.index(js[:200]) < html.index("</head>")
    n_div = html.count('class="plotly-graph-div"')
    # one figure per drawing call; every stage ran, so every section has its figures
    assert n_div == html.count("Plotly.newPlot(") >= 20


def test_every_figure_has_data(html):
    figures = _figures(html)
    assert len(figures) == html.count('class="plotly-graph-div"')
    for traces in figures:
        assert traces, "a figure without traces"
        assert any(len(t.get(k) or ()) for t in traces for k in ("x", "y", "z", "values"))


def test_sections_and_contents(html):
    for title in SECTIONS:
        assert f"<h2>{title.replace('&', '&amp;')}</h2>" in html
    for sub in ("Source", "Column mapping", "Data quality", "Distributions",
                "Summary statistics", "RFM cut points", "Named segments", "Choosing k",
                "Projection", "Cluster profiles and actions", "Hierarchical (Ward)",
                "Parameters", "Timings", "Skipped steps"):
        assert f">{sub}</h3>" in html, sub
    # the table of contents links every section
    for anchor in ("data", "customers", "segments", "clusters", "run"):
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html
    # header facts and the accounting identity with the numbers the log was built with
    rows_in, bad = len(small_log()), N_MISSING_ID + N_CANCELLED
    assert f"{rows_in:,} = {rows_in - bad:,} + {bad:,} ✓" in html
    assert "2011-12-09" in html and valuemax.__version__ in html
    # criterion sentences (K-means and Ward), the RFM tie note, outliers
    assert html.count("How k was chosen: k = ") == 2
    assert "has the highest mean silhouette" in html
    assert "are never assigned because of ties" in html  # frequency: half bought once
    assert "Outliers flagged: " in html
    # every figure has a caption
    assert html.count("<figcaption>") == html.count('class="plotly-graph-div"')


def test_user_text_is_escaped(small_run, tmp_path):
    res = _top_spender(small_run, XSS)
    html = write_report(res, tmp_path / "r.html", sections=("data", "customers", "clusters")
                        ).read_text(encoding="utf-8")
    assert "<script>alert" not in html.lower()
    assert "<b>.csv" not in html
    assert "订单 2011 &lt;b&gt;.csv" in html
    # column name (mapping table), customer id (top customers) and country (its chart)
    assert html.count(f"<td>{ESCAPED_XSS}</td>") >= 2
    assert html.count(ESCAPED_XSS) >= 3


def test_chinese_text_round_trips(small_run, tmp_path):
    path = write_report(_top_spender(small_run, "客户甲"), tmp_path / "r.html",
                        sections=("data", "customers", "clusters"))
    html = path.read_bytes().decode("utf-8")  # strict: the file is valid UTF-8
    for text in ("订单号", "商品名称", "客户甲", "订单 2011", "中国"):
        assert text in html, text
    mapping = _csvs(html)["column_mapping.csv"]
    assert mapping.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads it as UTF-8
    frame = pd.read_csv(io.BytesIO(mapping), encoding="utf-8-sig")
    assert frame.set_index("canonical").loc["order_id", "source column"] == "订单号"
    assert frame.set_index("canonical").loc["customer_id", "source column"] == XSS


def test_csv_downloads_decode_to_the_tables(small_run, html):
    csvs = _csvs(html)
    frames = {n: pd.read_csv(io.BytesIO(b), encoding="utf-8-sig", keep_default_na=False)
              for n, b in csvs.items()}
    assert all(b.startswith(b"\xef\xbb\xbf") for b in csvs.values())
    log = small_log()
    good = log[log[XSS].notna() & ~log["订单号"].str.startswith("C")]
    # the log, computed here from its lines: spend per customer
    spend = (good["Quantity"] * good["UnitPrice"]).groupby(good[XSS]).sum()
    n_orders = good.groupby(XSS)["订单号"].nunique()
    expected = {
        "column_mapping.csv": 8, "quality_rules.csv": len(small_run.quality.rules),
        "customer_summary_statistics.csv": 9, "top_customers.csv": 10,
        "rfm_cut_points.csv": 3, "segments.csv": len(small_run.segments),
        "cluster_profiles.csv": small_run.clusters.k, "ward_profiles.csv": small_run.hierarchy.k,
        "run_parameters.csv": len(small_run.params), "run_timings.csv": 10,  # report: unknown
    }
    assert {n: len(frames[n]) for n in expected} == expected
    q = frames["quality_rules.csv"].set_index("rule")
    assert q["rows"].sum() == N_MISSING_ID + N_CANCELLED
    assert q.loc["missing_customer_id", "rows"] == N_MISSING_ID
    assert q.loc["cancellation", "rows"] == N_CANCELLED
    assert q["share"].sum() == pytest.approx((N_MISSING_ID + N_CANCELLED) / len(log))
    assert frames["segments.csv"]["n_customers"].sum() == N_CUSTOMERS
    assert frames["segments.csv"]["revenue"].sum() == pytest.approx(spend.sum())
    stats = frames["customer_summary_statistics.csv"].set_index("field")
    assert stats.loc["n_orders", "median"] == n_orders.median()
    assert stats.loc["total_spend", "p90"] == pytest.approx(spend.quantile(0.9))
    top = frames["top_customers.csv"]
    assert top["total_spend"].tolist() == pytest.approx(
        sorted(spend, reverse=True)[:10])
    prof = frames["cluster_profiles.csv"]
    assert prof["action"].tolist() == small_run.cluster_actions["action"].tolist()


def _no_clusters(result: AnalysisResult, reason: str) -> AnalysisResult:
    """``result`` as the pipeline records a K-means step that did not apply (no Ward)."""
    stages = {k: v for k, v in result.stages.items() if k != "ward"}
    return dataclasses.replace(
        result, clusters=None, cluster_actions=None, hierarchy=None,
        stages={**stages, "kmeans": StageStatus("skipped", reason)},
        skipped={"kmeans": reason})


def test_missing_pieces_give_notes(small_run, tmp_path):
    res = _no_clusters(small_run, "only 1 distinct customer profile")
    res = dataclasses.replace(res, customers=res.customers.drop(
        columns=["Country", "r_score", "f_score", "cluster", "cluster_name", "ward_cluster"]))
    html = write_report(res, tmp_path / "r.html", sections=("customers", "segments", "clusters")
                        ).read_text(encoding="utf-8")
    for text in ("Clustering was skipped: only 1 distinct customer profile",
                 "Ward clustering was not run", "No country column in the source",
                 "No R × F heat map"):
        assert text in html, text
    assert re.search(r"<td[^>]*>kmeans</td><td[^>]*>only 1 distinct customer profile</td>", html)
    assert "Choosing k" not in html and "kmeans_vs_ward.csv" not in html
    # the remaining figures each have data
    assert all(any(len(t.get(k) or ()) for t in f for k in ("x", "y", "z", "values"))
               for f in _figures(html))


def test_skipped_clusters_and_hierarchy(small_run, tmp_path):
    why_km, why_ward = "k_min=2 exceeds the 1 distinct point", "Ward needs at least 3 customers"
    res = dataclasses.replace(
        small_run, clusters=dataclasses.replace(small_run.clusters, skipped=why_km),
        hierarchy=dataclasses.replace(small_run.hierarchy, skipped=why_ward),
        stages={**small_run.stages, "kmeans": StageStatus("skipped", why_km),
                "ward": StageStatus("skipped", why_ward)},
        skipped={"kmeans": why_km, "ward": why_ward})
    skipped = write_report(res, tmp_path / "r.html", sections=("clusters",)
                           ).read_text(encoding="utf-8")
    assert f"Clustering was skipped: {why_km}" in skipped
    assert f"Ward clustering was skipped: {why_ward}" in skipped
    # gone: K-means' silhouette and elbow, its projection, Ward's silhouette and dendrogram
    assert "Choosing k" not in skipped
    ran = render_report(small_run, sections=("clusters",))
    assert len(_figures(skipped)) == len(_figures(ran)) - 5


def test_no_quarantine_and_empty_result(small_run):
    q = small_run.quality
    clean_only = dataclasses.replace(
        q, rows_in=q.rows_clean, rows_quarantined=0,
        rules=tuple(RuleCount(r.code, r.description, 0) for r in q.rules))
    html = render_report(dataclasses.replace(small_run, quality=clean_only), sections=("data",))
    assert "No row was quarantined" in html
    assert f"{q.rows_clean:,} = {q.rows_clean:,} + 0 ✓" in html
    assert f"Outliers flagged: {q.n_outliers:,} clean rows" in html
    off = dataclasses.replace(small_run, quality=dataclasses.replace(q, outliers="off"))
    assert "Outlier flagging was off" in render_report(off, sections=("data",))
    assert isinstance(clean_only, QualityReport)

    bare = render_report(PartReport(source="x.csv"))
    assert "<h2>1. Run</h2>" in bare and "Plotly.newPlot(" not in bare
    with pytest.raises(InputError, match="holds results of part jobs only"):
        render_report(PartReport(source="x.csv"), sections=("data",))


def test_bad_result_raises(tmp_path):
    with pytest.raises(InputError, match=r"needs the result of valuemax\.analyze\(\)"):
        write_report(None, tmp_path / "r.html")
    with pytest.raises(InputError, match="got int"):
        write_report(3, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_directory_path_gets_report_html(small_run, tmp_path):
    assert write_report(small_run, tmp_path, sections=("data",)) == tmp_path / "report.html"


def test_large_tables_stay_out_of_the_page(small_run):
    import plotly.offline

    # the real run's customers (and K-means projection) 200 times over, as 60,000 customers
    copies = 200
    cust = pd.concat([small_run.customers.assign(customer_id=small_run.customers[
        "customer_id"] + f"-{i}") for i in range(copies)], ignore_index=True)
    km = small_run.clusters
    km = dataclasses.replace(km, projection=pd.concat([km.projection] * copies,
                                                      ignore_index=True))
    res = dataclasses.replace(small_run, customers=cust, clusters=km)
    html = render_report(res)
    extra = len(html) - len(plotly.offline.get_plotlyjs())
    assert extra < 900_000, f"{extra:,} characters besides plotly.js"
    figures = _figures(html)
    # the projection draws a seeded sample of 5,000 of the 60,000 customers
    scatter = [t for f in _figures(render_report(res, sections=("clusters",))) for t in f
               if t.get("mode") == "markers" and t.get("name") != "centroids"]
    assert sum(len(t["x"]) for t in scatter) == 5000
    # histograms are pre-binned: no trace holds one value per customer
    assert max(len(t.get("x") or ()) for f in figures for t in f) <= 5000
    assert "60,000" in html


def test_a_part_report_holds_only_the_asked_sections(small_run):
    html = render_report(small_run, sections=("segments",))
    assert "3. Segments (RFM)" not in html and "1. Segments (RFM)" in html
    assert "<h2>2. Run</h2>" in html and 'id="clusters"' not in html
    with pytest.raises(InputError, match=r"unknown \['churn'\]"):
        render_report(small_run, sections=("churn",))


def test_to_html_writes_an_owner_only_file_whatever_the_umask(small_run, tmp_path):
    """New user: result.to_html('report.html') wrote 0644 though the README says every
    output is 0600."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        out = small_run.to_html(tmp_path / "report.html")
    finally:
        os.umask(old)
    assert out == tmp_path / "report.html"
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
