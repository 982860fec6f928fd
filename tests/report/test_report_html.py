"""valuemax.report: the HTML file itself (self-contained, escaped, complete, downloadable)."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from valuemax.exceptions import InputError
from valuemax.report import render_report, write_report

XSS = "<script>alert(1)</script>"  # as in conftest.py
SECTIONS = ("1. Data", "2. Customers", "3. Segments (RFM)", "4. Clusters", "5. Customer value",
           "6. What goes with value", "7. Who buys next", "8. What sells together", "9. Run")
ESCAPED_XSS = "&lt;script&gt;alert(1)&lt;/script&gt;"
LINK = re.compile(r'<a class="dl" download="([^"]+)" href="data:text/csv;charset=utf-8;base64,'
                  r'([A-Za-z0-9+/=]+)">Download CSV</a>')


@pytest.fixture
def html(fake_result: SimpleNamespace, tmp_path: Path) -> str:
    path = write_report(fake_result, tmp_path / "out" / "report.html")
    return path.read_text(encoding="utf-8")


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


def test_file_is_written_and_self_contained(fake_result, tmp_path):
    import plotly.offline

    path = write_report(fake_result, tmp_path / "a" / "b" / "report.html")
    assert path == tmp_path / "a" / "b" / "report.html"
    html = path.read_text(encoding="utf-8")
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
    assert n_div == html.count("Plotly.newPlot(") == 13


def test_every_figure_has_data(html):
    figures = _figures(html)
    assert len(figures) == 13
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
    # header facts and the accounting identity with the numbers
    assert "5,153 = 5,000 + 153 ✓" in html
    assert "2011-12-09" in html and "0.1.0" in html
    # criterion sentence, rule notes, outliers
    assert "k = 4 maximises the mean silhouette" in html
    assert "k = 4 has the highest mean silhouette among k = 2..6." in html  # Ward
    assert "5 bins collapsed to 4" in html
    assert "Outliers flagged: 7 clean rows" in html
    # every figure has a caption
    assert html.count("<figcaption>") == html.count('class="plotly-graph-div"')


def test_user_text_is_escaped(fake_result, tmp_path):
    cust = fake_result.customers
    cust.loc[cust["customer_id"] == XSS, "total_spend"] = 1e6  # into the top-10 table
    html = write_report(fake_result, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script>alert" not in html.lower()
    assert "<b>.csv" not in html
    assert "订单 2011 &lt;b&gt;.csv" in html
    # column name (mapping table), customer id (top customers), country and cluster name
    assert html.count(f"<td>{ESCAPED_XSS}</td>") >= 2
    assert f"Lapsed {ESCAPED_XSS}" in html  # in the plotly legend and the profile table


def test_chinese_text_round_trips(fake_result, tmp_path):
    cust = fake_result.customers
    cust.loc[cust["customer_id"] == "客户甲", "total_spend"] = 2e6
    path = write_report(fake_result, tmp_path / "r.html")
    html = path.read_bytes().decode("utf-8")  # strict: the file is valid UTF-8
    for text in ("订单号", "商品名称", "客户甲", "/data/订单 2011"):
        assert text in html, text
    mapping = _csvs(html)["column_mapping.csv"]
    assert mapping.startswith(b"\xef\xbb\xbf")  # BOM, so Excel reads it as UTF-8
    frame = pd.read_csv(io.BytesIO(mapping), encoding="utf-8-sig")
    assert frame.set_index("canonical").loc["order_id", "source column"] == "订单号"
    assert frame.set_index("canonical").loc["customer_id", "source column"] == XSS


def test_csv_downloads_decode_to_the_tables(fake_result, html):
    csvs = _csvs(html)
    frames = {n: pd.read_csv(io.BytesIO(b), encoding="utf-8-sig", keep_default_na=False)
              for n, b in csvs.items()}
    assert all(b.startswith(b"\xef\xbb\xbf") for b in csvs.values())
    expected = {
        "column_mapping.csv": 8, "quality_rules.csv": 11, "customer_summary_statistics.csv": 9,
        "top_customers.csv": 10, "rfm_cut_points.csv": 3,
        "segments.csv": len(fake_result.segments), "cluster_profiles.csv": 4,
        "ward_profiles.csv": 4, "run_parameters.csv": 6, "run_timings.csv": 6,
    }
    assert {n: len(f) for n, f in frames.items()} == expected
    q = frames["quality_rules.csv"]
    assert q["rows"].sum() == fake_result.quality.rows_quarantined == 153
    assert q["share"].sum() == pytest.approx(153 / 5153)
    assert frames["segments.csv"]["n_customers"].sum() == 300
    assert frames["segments.csv"]["revenue"].sum() == pytest.approx(
        fake_result.customers["total_spend"].sum())
    stats = frames["customer_summary_statistics.csv"].set_index("field")
    assert stats.loc["n_orders", "median"] == fake_result.customers["n_orders"].median()
    assert stats.loc["total_spend", "p90"] == pytest.approx(
        fake_result.customers["total_spend"].quantile(0.9))
    top = frames["top_customers.csv"]
    assert top["total_spend"].tolist() == sorted(
        fake_result.customers["total_spend"], reverse=True)[:10]
    prof = frames["cluster_profiles.csv"]
    assert prof["action"].tolist() == ["Retain", "Upsell", "Nurture", "Win back"]


def test_missing_pieces_give_notes(make_fake_result, tmp_path):
    res = make_fake_result()
    res.customers = res.customers.drop(
        columns=["Country", "r_score", "f_score", "m_score", "rfm_cell", "segment", "cluster",
                 "cluster_name"])
    res.rfm = res.segments = res.clusters = res.cluster_actions = res.hierarchy = None
    res.skipped = {"kmeans": "only 1 distinct customer profile"}
    html = write_report(res, tmp_path / "r.html").read_text(encoding="utf-8")
    for text in ("RFM scoring did not run", "No segment table",
                 "Clustering was skipped: only 1 distinct customer profile",
                 "Ward clustering was not run", "No country column in the source",
                 "No R × F heat map"):
        assert text in html, text
    assert re.search(r"<td[^>]*>kmeans</td><td[^>]*>only 1 distinct customer profile</td>", html)
    # only the data and customer figures remain, each with data
    figures = _figures(html)
    assert len(figures) == 5
    assert all(any(len(t.get("x") or ()) for t in f) for f in figures)


def test_skipped_clusters_and_hierarchy(make_fake_result, tmp_path):
    res = make_fake_result()
    res.clusters.skipped = "k_min=2 exceeds the 1 distinct point"
    res.hierarchy.skipped = "Ward needs at least 3 customers"
    html = write_report(res, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Clustering was skipped: k_min=2 exceeds the 1 distinct point" in html
    assert "Ward clustering was skipped: Ward needs at least 3 customers" in html
    assert "Choosing k" not in html and len(_figures(html)) == 8


def test_no_quarantine_and_empty_result(make_fake_result, tmp_path):
    res = make_fake_result()
    frame = res.quality.to_frame().assign(rows=0, share=0.0)
    res.quality.to_frame = lambda: frame
    res.quality.rows_quarantined, res.quality.rows_in = 0, res.quality.rows_clean
    html = render_report(res)
    assert "No row was quarantined" in html and "5,000 = 5,000 + 0 ✓" in html
    assert "Outliers flagged: 7 clean rows" in html
    res.quality.outliers = "off"
    assert "Outlier flagging was off" in render_report(res)

    bare = render_report(SimpleNamespace(ingest={"source": "x.csv"}, customers=None))
    assert "No customer table" in bare and "No quality report" in bare
    assert "Plotly.newPlot(" not in bare


def test_bad_result_raises(tmp_path):
    with pytest.raises(InputError, match=r"needs the result of valuemax\.analyze\(\)"):
        write_report(None, tmp_path / "r.html")
    with pytest.raises(InputError, match="got int without any of the attributes"):
        write_report(3, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_directory_path_gets_report_html(fake_result, tmp_path):
    assert write_report(fake_result, tmp_path) == tmp_path / "report.html"


def test_large_tables_stay_out_of_the_page(make_fake_result):
    import plotly.offline

    res = make_fake_result(n=60_000, seed=1)
    html = render_report(res)
    extra = len(html) - len(plotly.offline.get_plotlyjs())
    assert extra < 900_000, f"{extra:,} characters besides plotly.js"
    figures = _figures(html)
    scatter = [t for f in figures for t in f if t.get("mode") == "markers"
               and t.get("name") != "centroids"]
    assert sum(len(t["x"]) for t in scatter) == 5000
    # histograms are pre-binned: no trace holds one value per customer
    assert max(len(t.get("x") or ()) for f in figures for t in f) <= 5000
    assert "60,000" in html


def test_a_part_report_holds_only_the_asked_sections(fake_result):
    html = render_report(fake_result, sections=("segments",))
    assert "3. Segments (RFM)" not in html and "1. Segments (RFM)" in html
    assert "<h2>2. Run</h2>" in html and 'id="clusters"' not in html
    with pytest.raises(InputError, match=r"unknown \['churn'\]"):
        render_report(fake_result, sections=("churn",))
