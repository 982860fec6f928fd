"""valuemax.report for a first-time reader: readable headers, data-driven captions, Ward kept
apart from K-means, customers lost to the quarantine, the calibration split, timings."""

from __future__ import annotations

import base64
import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from valuemax.report import render_report

LINK = re.compile(r'<a class="dl" download="([^"]+)" href="data:text/csv;charset=utf-8;base64,'
                  r'([A-Za-z0-9+/=]+)">Download CSV</a>')
LOST = ("customers lost to the quarantine: 48 of 4,372 customer ids have no clean line (e.g. "
        "12346, <b>x</b>); they are not in the customer table.")


def _csv(html: str, name: str) -> pd.DataFrame:
    data = dict(LINK.findall(html))[name]
    return pd.read_csv(io.BytesIO(base64.b64decode(data)), encoding="utf-8-sig")


def _table_block(html: str, csv_name: str) -> str:
    """The HTML of the table whose download is ``csv_name``."""
    end = html.index(f'download="{csv_name}"')
    return html[html.rindex('<div class="tbl">', 0, end):end]


def _headers(block: str) -> list[str]:
    head = block[block.index("<thead>"):block.index("</thead>")]
    return re.findall(r"<th[^>]*>([^<]*)</th>", head)


def _n_rows(block: str) -> int:
    """Body rows of a table block."""
    return block[block.index("</thead>"):].count("<tr")


def _layouts(html: str) -> list[dict]:
    dec = json.JSONDecoder()
    out = []
    for m in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', html):
        _, end = dec.raw_decode(html, m.end())
        layout, _ = dec.raw_decode(html, html.index("{", end))
        out.append(layout)
    return out


def test_profile_tables_put_numbers_first_and_text_under_the_row(fake_result):
    html = render_report(fake_result)
    seg = _table_block(html, "segments.csv")
    assert _headers(seg) == ["segment", "customers", "share of customers",
                             "revenue (currency)", "share of revenue", "mean days since last purchase",
                             "mean orders", "mean spend (currency)"]
    # every segment shown, no inner scroll; action and rationale on a line under each row
    assert '<div class="scroll">' in seg and "scroll tall" not in seg
    assert seg.count('<tr class="main">') == len(fake_result.segments)
    assert seg.count("<b>action:</b>") == seg.count("<b>why:</b>") == len(fake_result.segments)
    assert 'title="n_customers, share_customers' in seg  # machine names on hover only
    prof = _table_block(html, "cluster_profiles.csv")
    assert _headers(prof)[:4] == ["cluster", "name", "customers", "share of customers"]
    assert "<b>action:</b> Retain" in prof and "<b>top countries:</b>" in prof
    # the download keeps the machine names and every column
    csv = _csv(html, "cluster_profiles.csv")
    assert {"n_customers", "share_customers", "mean_n_orders", "action", "rationale"} <= set(
        csv.columns)


def test_no_raw_machine_name_is_a_displayed_header(make_fake_result):
    res = make_fake_result()
    for prof in (res.clusters.profile, res.hierarchy.profile):
        prof["r_level"], prof["f_level"], prof["m_level"] = "high", "low", "mid"
    html = render_report(res)
    heads = set(re.findall(r"<th[^>]*>([^<]*)</th>", html))
    for raw in ("n_customers", "share_customers", "revenue_share", "mean_n_orders",
                "mean_recency_days", "mean_total_spend", "r_level", "f_level", "m_level",
                "customer_id", "n_orders", "total_spend", "recency_days", "cluster_name",
                "share of rows_in"):
        assert raw not in heads, raw
    assert "level (R/F/M)" in heads and "high / low / mid" in html
    assert {"customers", "share of customers", "share of revenue", "mean orders"} <= heads


def test_ward_hint_gives_the_cli_flag(make_fake_result):
    res = make_fake_result()
    res.hierarchy = None
    html = render_report(res)
    assert ("Ward clustering was not run: not requested; to add it, run with --clusters "
            "kmeans+ward (Python: clusters=&#x27;kmeans+ward&#x27;).") in html


def test_orders_caption_states_the_share_of_one_time_buyers(make_fake_result):
    res = make_fake_result()
    orders = res.customers["n_orders"]
    one = int((orders == 1).sum())
    assert one > 0
    html = render_report(res)
    pct = f"{100 * one / len(orders):.1f}%"
    assert f"The first bar is the {one:,} one-time buyers (one order), {pct} of customers." \
        in html

    res.customers["n_orders"] = orders + 1  # nobody bought exactly once
    html = render_report(res)
    assert "one-time buyers (one order), " not in html
    assert ("No customer bought exactly once (0% one-time buyers): every customer has at "
            "least 2 orders, so the first bar is 2 orders.") in html


def test_ward_groups_are_labelled_apart_from_kmeans(make_fake_result):
    res = make_fake_result()
    html = render_report(res)
    ward = _table_block(html, "ward_profiles.csv")
    assert "Ward 0 — VIP" in ward and "Ward 3 — Lapsed &lt;script&gt;" in ward
    assert re.search(r"<td[^>]*>VIP</td>", ward) is None
    assert "Ward and K-means are separate partitions of the same customers" in html
    sizes = " / ".join(f"{v:,}" for v in res.clusters.profile["n_customers"])
    assert f"K-means: {sizes} customers" in html
    assert "60 of 300 customers (a sample)" in html  # Ward fitted on a sample here
    assert "kmeans_vs_ward.csv" not in html  # no ward_cluster column on the customers


def test_ward_on_every_customer_says_all_and_crosses_kmeans(make_fake_result):
    res = make_fake_result()
    n = len(res.customers)
    res.hierarchy.n_used = n
    res.hierarchy.criterion = (f"k = 4 has the highest mean silhouette (0.36) among k = 2..6 "
                               f"on the {n:,} sampled customers.")
    rng = np.random.default_rng(0)
    res.customers["ward_cluster"] = pd.array(rng.integers(0, 4, n), dtype="Int64")
    html = render_report(res)
    assert "sampled customers" not in html
    assert f"among k = 2..6 on all {n:,} customers." in html
    assert f"all {n:,} customers</dd>" in html
    cross = _csv(html, "kmeans_vs_ward.csv")
    assert cross["total"].sum() == n
    assert list(cross.columns) == ["K-means cluster", "Ward 0", "Ward 1", "Ward 2", "Ward 3",
                                   "total"]
    assert cross["K-means cluster"].iloc[0] == "0 — VIP"


def test_customers_lost_to_the_quarantine_are_highlighted(make_fake_result):
    res = make_fake_result()
    res.quality.notes = (*res.quality.notes, LOST)
    html = render_report(res)
    box = re.search(r'<div class="alert" role="alert"><b>Customers lost to the quarantine</b>'
                    r"([^<]*)</div>", html)
    assert box is not None
    assert box.group(1).startswith("48 of 4,372 customer ids have no clean line")
    assert "&lt;b&gt;x&lt;/b&gt;" in box.group(1)  # escaped
    # shown once, in the box, right after the accounting line (not in the notes list)
    assert html.count("48 of 4,372 customer ids") == 1
    assert html.index("accounting") < box.start() < html.index("Cleaning notes")
    assert 'class="alert"' not in render_report(make_fake_result())


def test_calibration_holdout_subsection(make_fake_result):
    res = make_fake_result()
    assert "Calibration / holdout" not in render_report(res)
    n = 1_500
    rng = np.random.default_rng(1)
    freq = rng.integers(0, 5, n)
    res.calibration = pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)], "frequency": freq,
        "recency": rng.uniform(0, 200, n).round(1), "T": rng.uniform(200, 300, n).round(1),
        "monetary_value": rng.uniform(0, 500, n).round(2), "n_lines": rng.integers(1, 9, n),
        "frequency_holdout": rng.integers(0, 4, n), "monetary_holdout": rng.uniform(0, 90, n),
        "duration_holdout": 99.0,
    })
    res.params["calibration_end"] = "2011-09-01"
    html = render_report(res)
    assert ">Calibration / holdout split</h3>" in html and 'href="#cust-calibration"' in html
    assert "<dd>1,500</dd>" in html and "2011-09-01" in html
    rep = int((freq > 0).sum())
    assert f"<dd>{rep:,} ({100 * rep / n:.1f}%)</dd>" in html
    mean_fh = res.calibration["frequency_holdout"].mean()
    assert f"<dd>{mean_fh:.2f}</dd>" in html
    assert "The CSV holds the first 1,000 of the 1,500 customers" in html
    cal = _csv(html, "calibration_holdout.csv")
    assert len(cal) == 1_000 and "frequency_holdout" in cal.columns and "n_lines" in cal.columns
    block = _table_block(html, "calibration_holdout.csv")
    assert _n_rows(block) == 20 and "holdout purchases" in _headers(block)


def test_timings_say_the_report_step_is_excluded(make_fake_result):
    res = make_fake_result()
    html = render_report(res)
    assert "total of the 6 steps measured: 1.99 s" in html
    assert "The report step is excluded: the report is written after this table" in html
    res.timings_s["report"] = 0.0  # not measured yet
    assert "<td>report</td>" not in _table_block(render_report(res), "run_timings.csv")
    res.timings_s["report"] = 1.4  # a later re-render knows it
    html = render_report(res)
    assert re.search(r"<td[^>]*>report</td>", _table_block(html, "run_timings.csv"))
    assert "The report step is excluded" not in html


def test_tiny_shares_and_thousands(make_fake_result):
    res = make_fake_result()
    seg = res.segments
    seg.loc[0, "n_customers"] = 1_000_000  # the others become tiny shares
    html = render_report(res)
    block = _table_block(html, "segments.csv")
    assert "<td class=\"num\">1,000,000</td>" in block
    assert '<td class="num">&lt;0.1%</td>' in block
    assert ">0.0%<" not in html
    # the segment bars carry the same text as the table (escaped for plotly)
    assert '"&lt;0.1%"' in html


def test_projection_legend_sits_below_the_plot(fake_result):
    html = render_report(fake_result)
    layouts = [lay for lay in _layouts(html)
               if "principal component 1" in json.dumps(lay.get("xaxis", {}))]
    assert len(layouts) == 1
    legend = layouts[0]["legend"]
    # at the bottom of the figure (container coordinates), under the x axis title
    assert legend["orientation"] == "h" and legend["yref"] == "container"
    assert legend["yanchor"] == "bottom" and legend["y"] < 0.05


@pytest.mark.parametrize("n_rows", [31, 250])
def test_long_tables_scroll_inside_their_box(make_fake_result, n_rows):
    res = make_fake_result()
    res.params = {f"p{i:03d}": i for i in range(n_rows)}
    block = _table_block(render_report(res), "run_parameters.csv")
    assert '<div class="scroll tall">' in block
    assert _n_rows(block) == min(n_rows, 200)
