"""The dashboard end to end: real stores from ``analyze``, a real uvicorn server on loopback,
Debian's chromium through Playwright. Every page loads with no console error, no failed or
outside request and no empty plot; the numbers shown equal DuckDB queries on the store made
here; screenshots go to each test's tmp_path."""

from __future__ import annotations

import io
import math
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest

from .conftest import live_server

pytestmark = pytest.mark.browser


def _sql(db, query, params=()):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(query, list(params)).fetchall()
    finally:
        con.close()


def _number(text: str) -> float:
    return float(text.replace(",", "").rstrip("%"))


def _has_churn_risk(db) -> bool:
    """Whether the store holds churn-risk levels (left out when the buy-again scores are
    not informative)."""
    return bool(_sql(db, "SELECT count(*) FROM information_schema.columns WHERE "
                         "table_name = 'propensity_scores' AND column_name = 'churn_risk'")
                [0][0])


def _at_risk_sql(db) -> str:
    """The share at risk's count and base: churn risk High, else P(alive) < 0.5."""
    return ("count(*) FILTER (WHERE p.churn_risk = 'High'), count(p.churn_risk)"
            if _has_churn_risk(db) else
            "count(*) FILTER (WHERE v.p_alive < 0.5), count(v.p_alive)")


def _check_tiles(v, db, where: str = "", params=()):
    """KPI tiles against independent queries on the store (joins written here)."""
    base = ("FROM customers c LEFT JOIN segments s USING (customer_id) "
            "LEFT JOIN clv v USING (customer_id) "
            f"LEFT JOIN propensity_scores p USING (customer_id) {where}")
    n, revenue, clv, high, scored = _sql(
        db, "SELECT count(*), sum(c.total_spend), sum(v.clv_12), "
            f"{_at_risk_sql(db)} " + base,
        params)[0]
    k = v.kpis()
    assert k["customers"][0] == n and _number(k["customers"][1]) == n
    assert k["revenue"][0] == pytest.approx(revenue, rel=1e-12)
    assert abs(_number(k["revenue"][1]) - revenue) <= 0.5  # shown rounded to units
    assert k["clv_total"][0] == pytest.approx(clv, rel=1e-12)
    assert abs(_number(k["clv_total"][1]) - clv) <= 0.5
    assert k["at_risk_share"][0] == pytest.approx(high / scored, rel=1e-12)
    assert abs(_number(k["at_risk_share"][1]) - 100 * high / scored) <= 0.05
    return n, revenue


def test_every_page_loads_offline_with_plots_and_the_store_s_numbers(cdnow_url, cdnow_store,
                                                                      visit):
    v = visit(cdnow_url)
    home = v.open("/", "overview")
    ids = [p["id"] for p in home["plots"]]
    churn = ["plot-churn"] if _has_churn_risk(cdnow_store) else []
    assert ids == ["plot-clv", "plot-p-alive", *churn, "plot-p-buy", "plot-segments"]
    # new user: the tool bar covered every title and long segment names were cut off
    boxes = v.page.evaluate("""() => [...document.querySelectorAll('div.plotly-graph-div')]
        .map(el => {
          const r = x => { const b = x.getBoundingClientRect();
                           return [b.left, b.top, b.right, b.bottom]; };
          const bar = el.querySelector('.modebar'), title = el.querySelector('.gtitle');
          return {id: el.id, box: r(el), bar: bar && r(bar), title: title && r(title),
                  ticks: [...el.querySelectorAll('.xtick text, .ytick text')].map(r)};
        })""")
    for b in boxes:
        assert b["bar"] is not None and b["title"] is not None, b["id"]
        bar, title = b["bar"], b["title"]
        overlap = not (bar[2] <= title[0] or title[2] <= bar[0] or bar[3] <= title[1]
                       or title[3] <= bar[1])
        assert not overlap, (b["id"], bar, title)
        left, _top, right, bottom = b["box"]
        for t in b["ticks"]:
            assert left - 0.5 <= t[0] and t[2] <= right + 0.5 and t[3] <= bottom + 0.5, (
                b["id"], t, b["box"])
    n, revenue = _check_tiles(v, cdnow_store)
    assert n == 2357  # the CDNOW 1/10 sample's customers (shared/datasets/README.md)
    # the segments table: sizes and revenue shares as grouped here
    seg = dict(_sql(cdnow_store, "SELECT segment, count(*) FROM segments GROUP BY segment"))
    shown = dict(zip(v.column("segments", "segment"),
                     map(_number, v.column("segments", "n_customers")), strict=True))
    assert shown == seg
    spend = dict(_sql(cdnow_store, "SELECT s.segment, sum(c.total_spend) FROM customers c "
                                   "JOIN segments s USING (customer_id) GROUP BY 1"))
    shares = v.column("segments", "revenue_share")
    for name, share in zip(v.column("segments", "segment"), shares, strict=True):
        assert abs(_number(share) - 100 * spend[name] / revenue) <= 0.05
    # the CLV histogram counts every customer with a CLV once
    total = v.page.evaluate("() => document.getElementById('plot-clv').data[0].y"
                            ".reduce((a, b) => a + b, 0)")
    assert total == _sql(cdnow_store, "SELECT count(clv_12) FROM clv")[0][0]
    for path in ("/at-risk", "/customer", "/rules"):
        v.open(path)
    # no experiments table in an analyze store: no link, and the page says so (404)
    assert "Experiments" not in home["text"]
    assert "no experiments" in v.open("/experiments", status=404)["text"]
    assert "no rules table" in v.open("/rules")["text"]  # CDNOW has no product column
    assert sorted(p.name for p in v.shots.glob("*.png")) == [
        "at_risk.png", "customer.png", "experiments.png", "overview.png", "rules.png"]


def test_segment_filter_changes_the_counts(cdnow_url, cdnow_store, visit):
    v = visit(cdnow_url)
    v.open("/")
    with v.page.expect_navigation():
        v.page.select_option("select[name=segment]", "Champions")
    v.settle("overview_champions")
    assert "segment=Champions" in v.page.url
    n, _ = _check_tiles(v, cdnow_store, "WHERE s.segment = ?", ["Champions"])
    assert n == _sql(cdnow_store, "SELECT n_customers FROM segment_summary "
                                  "WHERE segment = 'Champions'")[0][0]
    assert v.column("segments", "segment") == ["Champions"]
    # the at-risk link keeps the filter: only Champions among the high-value-at-risk
    with v.page.expect_navigation():
        v.page.click("nav >> text=High value at risk")
    v.settle("at_risk_champions")
    segments = set(v.column("at-risk", "segment"))
    assert segments == {"Champions"}


def _at_risk_ids(db, segment=None):
    """High value at risk computed here: top 20% of past spend (ceil(0.2 n), ties at the
    threshold included) with P(alive) < 0.5, by past spend descending."""
    spend = np.array(sorted((r[0] for r in _sql(db, "SELECT total_spend FROM customers")),
                            reverse=True))
    threshold = spend[math.ceil(0.2 * len(spend)) - 1]
    rows = _sql(db, "SELECT c.customer_id FROM customers c JOIN clv v USING (customer_id) "
                    "JOIN segments s USING (customer_id) WHERE c.total_spend >= ? "
                    "AND v.p_alive < 0.5" + (" AND s.segment = ?" if segment else "")
                    + " ORDER BY c.total_spend DESC, c.customer_id",
                [float(threshold)] + ([segment] if segment else []))
    return [r[0] for r in rows]


def test_at_risk_list_and_its_csv_export(cdnow_url, cdnow_store, visit):
    v = visit(cdnow_url)
    v.open("/at-risk")
    shown = v.column("at-risk", "customer_id")
    expected = _at_risk_ids(cdnow_store)
    assert len(shown) == len(expected) > 0
    assert set(shown) == set(expected)  # order: by past spend (ties in any order)
    spend = list(map(_number, v.column("at-risk", "total_spend")))
    assert spend == sorted(spend, reverse=True)
    with v.page.expect_download() as info:
        v.page.click("#export-at-risk")
    path = v.shots / "high_value_at_risk.csv"
    info.value.save_as(path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for spreadsheets
    csv = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", dtype={"customer_id": str})
    assert csv["customer_id"].tolist() == shown
    stored = dict(_sql(cdnow_store, "SELECT customer_id, total_spend FROM customers"))
    assert np.allclose(csv["total_spend"], [stored[c] for c in shown], rtol=1e-12)
    assert set(csv["action"]) and csv["action"].str.startswith("Win back").all()


def test_customer_lookup_shows_the_stored_clv(cdnow_url, cdnow_store, visit):
    cid, clv, p_alive, segment = _sql(
        cdnow_store, "SELECT customer_id, clv_12, p_alive, segment FROM clv "
                     "JOIN segments USING (customer_id) ORDER BY clv_12 DESC LIMIT 1")[0]
    v = visit(cdnow_url)
    v.open("/")
    v.page.fill("input[name=id]", cid)
    with v.page.expect_navigation():
        v.page.press("input[name=id]", "Enter")
    facts = v.settle("customer")
    cell = v.page.locator("tr[data-field=clv_12] td")
    assert float(cell.get_attribute("data-value")) == pytest.approx(clv, rel=1e-12)
    assert cell.inner_text() == f"{clv:,.2f}"
    p_cell = v.page.locator("tr[data-field=p_alive] td")
    assert float(p_cell.get_attribute("data-value")) == pytest.approx(p_alive, rel=1e-12)
    assert v.page.locator("tr[data-field=segment] td").inner_text() == segment
    assert f"Customer {cid}" in facts["text"]
    # an unknown id: 404 with the reason, no traceback
    text = v.open("/customer?id=no-such-customer", "customer_unknown", status=404)["text"]
    assert "'no-such-customer' is not in this store (2,357 customers" in text


def test_chinese_store_renders_chinese_rules_countries_and_filters(tea_url, tea_store, visit):
    db, log = tea_store
    v = visit(tea_url)
    home = v.open("/", "tea_overview")
    assert len(home["plots"]) >= 4
    options = v.page.eval_on_selector_all("select[name=country] option",
                                          "os => os.map(o => o.value)")
    # each member's country as counted in the log written by the test
    per_member = log.groupby("会员号")["国家"].agg(lambda s: s.value_counts().idxmax())
    counts = per_member.value_counts()
    assert options == ["", *counts.index]  # "all", then by customers
    assert "国家" in v.page.inner_text("form.filters")
    with v.page.expect_navigation():
        v.page.select_option("select[name=country]", "新加坡")
    v.settle("tea_overview_singapore")
    k = v.kpis()
    assert k["customers"][0] == counts["新加坡"]
    members = per_member.index[per_member == "新加坡"]
    spend = (log.loc[log["会员号"].isin(members), "数量"]
             * log.loc[log["会员号"].isin(members), "单价"].astype(float)).sum()
    assert k["revenue"][0] == pytest.approx(spend, rel=1e-9)
    # a segment's link keeps the country: both filters, counted here from the store
    first = v.column("segments", "segment")[0]
    with v.page.expect_navigation():
        v.page.click(f"#segments a >> text={first}")
    v.settle("tea_overview_singapore_segment")
    seg = dict(_sql(db, "SELECT customer_id, segment FROM segments"))
    both = sum(1 for m in members if seg[m] == first)
    assert v.kpis()["customers"][0] == both > 0
    assert "country=" in v.page.url and "segment=" in v.page.url
    # rules with Chinese items, as mined and stored
    rules = v.open("/rules", "tea_rules")
    assert len(rules["plots"]) == 1
    stored = _sql(db, "SELECT antecedents, consequents FROM rules ORDER BY lift DESC")
    assert len(stored) > 0
    shown = list(zip(v.column("rules", "antecedents"), v.column("rules", "consequents"),
                     strict=True))
    assert sorted(shown) == sorted((", ".join(a), ", ".join(c)) for a, c in stored)
    assert ("西湖龙井", "玻璃茶杯") in shown
    # a member's page: Chinese id, country and recommended teas
    member = members[0]
    page = v.open(f"/customer?id={member}", "tea_customer")
    assert v.page.locator("tr[data-field=country] td").inner_text() == "新加坡"
    items = v.column("recommendations", "item")
    assert items == [r[0] for r in _sql(db, "SELECT item FROM recommendations WHERE "
                                            "customer_id = ? ORDER BY rank", [member])]
    assert f"Customer {member}" in page["text"]
    v.open("/at-risk?country=%E4%B8%AD%E5%9B%BD", "tea_at_risk_china")


def test_experiment_and_targeting_tables_are_shown_when_present(cdnow_store, tmp_path, visit):
    db = tmp_path / "with_targets.duckdb"
    shutil.copy(cdnow_store, db)
    con = duckdb.connect(str(db))
    ids = [r[0] for r in con.execute(
        "SELECT customer_id FROM clv ORDER BY clv_12 DESC, customer_id LIMIT 300").fetchall()]
    rng = np.random.default_rng(5)
    profit = np.sort(rng.gamma(2.0, 3.0, len(ids)))[::-1]
    arms = np.where(np.arange(len(ids)) % 3 == 0, "短信优惠券", "邮件")
    # the columns `valuemax target --db` and `valuemax uplift --db` write (pipeline's
    # targets_table and uplift_table)
    held = rng.random(len(ids)) < 0.1
    targets = pd.DataFrame({"customer_id": ids, "arm": arms,
                            "expected_incremental_profit": profit,
                            "rank": np.arange(1, len(ids) + 1),
                            "assigned_arm": np.where(held, "holdout", arms),
                            "assigned_at": pd.Timestamp("2026-12-01"), "share": 0.3,
                            "run_id": "r1"})
    uplift = pd.DataFrame({"row": np.arange(len(ids)), "customer_id": ids, "arm": arms,
                           "treatment": (arms == "邮件").astype(int), "split": "train",
                           "uplift_t": rng.normal(0.02, 0.05, len(ids)),
                           "uplift_dr": rng.normal(0.01, 0.04, len(ids)),
                           "outcome": "visit", "run_id": "r2"})
    readout = pd.DataFrame({"metric": ["visit", "visit"], "arm": ["短信优惠券", "邮件"],
                            "n": [1000, 1000], "lift": [0.021, 0.013],
                            "p_value": [0.003, 0.04]})
    for name, frame in (("targets", targets), ("uplift_scores", uplift),
                        ("experiments", readout)):
        con.register("frame", frame)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
        con.unregister("frame")
    con.close()
    with live_server(db) as url:
        v = visit(url)
        home = v.open("/", "exp_overview")
        assert "Experiments & targeting" in home["text"]
        with v.page.expect_navigation():
            v.page.click("nav >> text=Experiments & targeting")
        page = v.settle("experiments")
        assert [p["id"] for p in page["plots"]] == ["plot-uplift", "plot-uplift-1",
                                                    "plot-profit", "plot-arms"]
        k = v.kpis()
        assert k["targets"][0] == len(targets)
        assert f"{int(held.sum()):,} of them held out" in v.page.inner_text("[data-kpi=targets]")
        assert k["target_profit"][0] == pytest.approx(profit.sum(), rel=1e-12)
        assert v.column("targets", "customer_id") == ids
        assert "短信优惠券" in v.column("experiments", "arm")
        with v.page.expect_download() as info:
            v.page.click("#export-targets")
        got = pd.read_csv(info.value.path(), encoding="utf-8-sig", dtype={"customer_id": str})
        assert got["customer_id"].tolist() == ids
        assert np.allclose(got["expected_incremental_profit"], profit, rtol=1e-12)
        # the segment filter narrows the targets to that segment's customers
        seg = dict(_sql(db, "SELECT customer_id, segment FROM segments"))
        champions = [c for c in ids if seg[c] == "Champions"]
        v.open("/experiments?segment=Champions", "experiments_champions")
        assert v.column("targets", "customer_id") == champions


def test_a_log_without_prices_still_gets_every_page(tea_noprice_store, visit):
    db, log = tea_noprice_store
    with live_server(db) as url:
        v = visit(url)
        home = v.open("/", "noprice_overview")
        k = v.kpis()
        assert k["customers"][0] == log["会员号"].nunique() == 60
        assert k["revenue"] == (None, "—") and k["clv_total"] == (None, "—")
        high, scored = _sql(db, f"SELECT {_at_risk_sql(db)} FROM customers c "
                                "LEFT JOIN clv v USING (customer_id) "
                                "LEFT JOIN propensity_scores p USING (customer_id)")[0]
        assert k["at_risk_share"][0] == pytest.approx(high / scored, rel=1e-12)
        ids = [p["id"] for p in home["plots"]]
        assert "plot-clv" not in ids and "plot-p-alive" in ids
        assert "segment" in v.page.inner_text("#segments thead")
        assert "no past spend" in v.open("/at-risk", "noprice_at_risk")["text"]
        member = log["会员号"].iloc[0]
        v.open(f"/customer?id={member}", "noprice_customer")
        assert v.page.locator("tr[data-field=p_alive] td").get_attribute("data-value")
        v.open("/rules", "noprice_rules")
