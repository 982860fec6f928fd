"""valuemax.report for a first-time reader: readable headers, data-driven captions, Ward kept
apart from K-means, customers lost to the quarantine, the calibration split, timings."""

from __future__ import annotations

import base64
import dataclasses
import io
import json
import re
from html import escape

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


def test_profile_tables_put_numbers_first_and_text_under_the_row(small_run):
    html = render_report(small_run)
    seg = _table_block(html, "segments.csv")
    assert _headers(seg) == ["segment", "customers", "share of customers",
                             "revenue (currency)", "share of revenue", "mean days since last purchase",
                             "mean orders", "mean spend (currency)"]
    # every segment shown, no inner scroll; action and rationale on a line under each row
    assert '<div class="scroll">' in seg and "scroll tall" not in seg
    assert seg.count('<tr class="main">') == len(small_run.segments)
    assert seg.count("<b>action:</b>") == seg.count("<b>why:</b>") == len(small_run.segments)
    assert 'title="n_customers, share_customers' in seg  # machine names on hover only
    prof = _table_block(html, "cluster_profiles.csv")
    assert _headers(prof)[:4] == ["cluster", "name", "customers", "share of customers"]
    first = escape(small_run.cluster_actions["action"].iloc[0], quote=True)
    assert f"<b>action:</b> {first}" in prof and "<b>top countries:</b>" in prof
    # the download keeps the machine names and every column
    csv = _csv(html, "cluster_profiles.csv")
    assert {"n_customers", "share_customers", "mean_n_orders", "action", "rationale"} <= set(
        csv.columns)


def test_no_raw_machine_name_is_a_displayed_header(small_run):
    html = render_report(small_run)
    heads = set(re.findall(r"<th[^>]*>([^<]*)</th>", html))
    for raw in ("n_customers", "share_customers", "revenue_share", "mean_n_orders",
                "mean_recency_days", "mean_total_spend", "r_level", "f_level", "m_level",
                "customer_id", "n_orders", "total_spend", "recency_days", "cluster_name",
                "share of rows_in"):
        assert raw not in heads, raw
    levels = small_run.clusters.profile[["r_level", "f_level", "m_level"]].iloc[0]
    assert "level (R/F/M)" in heads and " / ".join(levels) in html
    assert {"customers", "share of customers", "share of revenue", "mean orders"} <= heads


def test_ward_hint_gives_the_cli_flag(small_run):
    # a run with clusters="kmeans" (the default): no Ward result, no "ward" stage
    res = dataclasses.replace(small_run, hierarchy=None, stages={
        k: v for k, v in small_run.stages.items() if k != "ward"})
    html = render_report(res, sections=("clusters",))
    assert ("Ward clustering was not run: not requested; to add it, run with --clusters "
            "kmeans+ward (Python: clusters=&#x27;kmeans+ward&#x27;).") in html


def test_orders_caption_states_the_share_of_one_time_buyers(small_run):
    res = small_run
    orders = res.customers["n_orders"]
    one = int((orders == 1).sum())
    assert one > 0
    html = render_report(res, sections=("customers",))
    pct = f"{100 * one / len(orders):.1f}%"
    assert f"The first bar is the {one:,} one-time buyers (one order), {pct} of customers." \
        in html

    # nobody bought exactly once
    res = dataclasses.replace(res, customers=res.customers.assign(n_orders=orders + 1))
    html = render_report(res, sections=("customers",))
    assert "one-time buyers (one order), " not in html
    assert ("No customer bought exactly once (0% one-time buyers): every customer has at "
            "least 2 orders, so the first bar is 2 orders.") in html


def test_ward_groups_are_labelled_apart_from_kmeans(small_run):
    # Ward fitted on a sample of 60 (it samples above max_customers), so no Ward label on
    # the customers
    res = dataclasses.replace(
        small_run, hierarchy=dataclasses.replace(small_run.hierarchy, n_used=60),
        customers=small_run.customers.drop(columns=["ward_cluster"]))
    html = render_report(res, sections=("clusters",))
    ward = _table_block(html, "ward_profiles.csv")
    prof = res.hierarchy.profile
    for c, name in zip(prof["cluster"], prof["name"], strict=True):
        assert f"Ward {c} — {escape(name, quote=True)}" in ward
        assert re.search(rf"<td[^>]*>{re.escape(escape(name, quote=True))}</td>", ward) is None
    assert "Ward and K-means are separate partitions of the same customers" in html
    sizes = " / ".join(f"{v:,}" for v in res.clusters.profile["n_customers"])
    assert f"K-means: {sizes} customers" in html
    assert "60 of 300 customers (a sample)" in html
    assert "kmeans_vs_ward.csv" not in html  # no ward_cluster column on the customers


def test_ward_on_every_customer_says_all_and_crosses_kmeans(small_run):
    res = small_run  # 300 customers: Ward used them all and labelled every one
    n = len(res.customers)
    assert res.hierarchy.n_used == n and f"the {n:,} sampled customers" in res.hierarchy.criterion
    html = render_report(res, sections=("clusters",))
    assert "sampled customers" not in html
    assert f"on all {n:,} customers." in html
    assert f"all {n:,} customers</dd>" in html
    cross = _csv(html, "kmeans_vs_ward.csv")
    assert cross["total"].sum() == n
    wards = sorted(res.customers["ward_cluster"].unique())
    assert list(cross.columns) == ["K-means cluster", *[f"Ward {w}" for w in wards], "total"]
    first = int(res.customers["cluster"].min())
    assert cross["K-means cluster"].iloc[0] == f"{first} — {res.clusters.names[first]}"
    # the cross-tabulation counted here
    counts = pd.crosstab(res.customers["cluster"], res.customers["ward_cluster"])
    assert cross.drop(columns=["K-means cluster", "total"]).to_numpy().tolist() == \
        counts.to_numpy().tolist()


def test_customers_lost_to_the_quarantine_are_highlighted(small_run):
    res = dataclasses.replace(small_run, quality=dataclasses.replace(
        small_run.quality, notes=(*small_run.quality.notes, LOST)))
    html = render_report(res, sections=("data",))
    box = re.search(r'<div class="alert" role="alert"><b>Customers lost to the quarantine</b>'
                    r"([^<]*)</div>", html)
    assert box is not None
    assert box.group(1).startswith("48 of 4,372 customer ids have no clean line")
    assert "&lt;b&gt;x&lt;/b&gt;" in box.group(1)  # escaped
    # shown once, in the box, right after the accounting line (not in the notes list)
    assert html.count("48 of 4,372 customer ids") == 1
    assert html.index("accounting") < box.start() < html.index("Cleaning notes")
    assert "Customers lost to the quarantine" not in render_report(small_run, sections=("data",))


def test_calibration_holdout_subsection(small_run):
    assert "Calibration / holdout" not in render_report(small_run, sections=("customers",))
    n = 1_500
    rng = np.random.default_rng(1)
    freq = rng.integers(0, 5, n)
    calibration = pd.DataFrame({
        "customer_id": [f"C{i:05d}" for i in range(n)], "frequency": freq,
        "recency": rng.uniform(0, 200, n).round(1), "T": rng.uniform(200, 300, n).round(1),
        "monetary_value": rng.uniform(0, 500, n).round(2), "n_lines": rng.integers(1, 9, n),
        "frequency_holdout": rng.integers(0, 4, n), "monetary_holdout": rng.uniform(0, 90, n),
        "duration_holdout": 99.0,
    })
    res = dataclasses.replace(small_run, calibration=calibration,
                              params={**small_run.params, "calibration_end": "2011-09-01"})
    html = render_report(res, sections=("customers",))
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


def test_timings_say_the_report_step_is_excluded(small_run):
    timings = {"read": 0.41, "clean": 0.22, "customers": 0.08, "segments": 0.03,
               "clusters": 1.2, "store": 0.05}
    res = dataclasses.replace(small_run, timings_s=timings)
    html = render_report(res, sections=("data",))
    assert "total of the 6 steps measured: 1.99 s" in html
    assert "The report step is excluded: the report is written after this table" in html
    res = dataclasses.replace(res, timings_s={**timings, "report": 0.0})  # not measured yet
    assert "<td>report</td>" not in _table_block(render_report(res, sections=("data",)), "run_timings.csv")
    # a later re-render knows it
    html = render_report(dataclasses.replace(res, timings_s={**timings, "report": 1.4}), sections=("data",))
    assert re.search(r"<td[^>]*>report</td>", _table_block(html, "run_timings.csv"))
    assert "The report step is excluded" not in html


def test_tiny_shares_and_thousands(small_run):
    seg = small_run.segments.copy()
    seg.loc[0, "n_customers"] = 1_000_000  # the others become tiny shares
    html = render_report(dataclasses.replace(small_run, segments=seg), sections=("segments",))
    block = _table_block(html, "segments.csv")
    assert "<td class=\"num\">1,000,000</td>" in block
    assert '<td class="num">&lt;0.1%</td>' in block
    assert ">0.0%<" not in html
    # the segment bars carry the same text as the table (escaped for plotly)
    assert '"&lt;0.1%"' in html


def test_projection_legend_sits_below_the_plot(small_run):
    html = render_report(small_run, sections=("clusters",))
    layouts = [lay for lay in _layouts(html)
               if "principal component 1" in json.dumps(lay.get("xaxis", {}))]
    assert len(layouts) == 1
    legend = layouts[0]["legend"]
    # at the bottom of the figure (container coordinates), under the x axis title
    assert legend["orientation"] == "h" and legend["yref"] == "container"
    assert legend["yanchor"] == "bottom" and legend["y"] < 0.05


@pytest.mark.parametrize("n_rows", [31, 250])
def test_long_tables_scroll_inside_their_box(small_run, n_rows):
    res = dataclasses.replace(small_run, params={f"p{i:03d}": i for i in range(n_rows)})
    block = _table_block(render_report(res, sections=("data",)), "run_parameters.csv")
    assert '<div class="scroll tall">' in block
    assert _n_rows(block) == min(n_rows, 200)
