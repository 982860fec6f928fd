"""Fixtures for the report tests: a realistic fake AnalysisResult, real runs of analyze
(Online Retail, CDNOW_master, a small Chinese log; one per session) and ``page_facts``, what
a reader sees of a report in headless chromium.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

XSS = "<script>alert(1)</script>"

_RULES = [
    ("missing_customer_id", "customer id empty", 37),
    ("missing_date", "order date empty", 0),
    ("unparseable_date", "order date not a date in the detected format", 4),
    ("missing_amount", "no amount and no quantity × unit_price", 0),
    ("unparseable_amount", "amount not a number", 2),
    ("after_observation_end", "dated after the observation end", 11),
    ("duplicate_line", "exact repeat of an earlier line", 23),
    ("cancellation", "order id starts with C", 58),
    ("nonpositive_quantity", "quantity <= 0", 6),
    ("nonpositive_price", "unit price <= 0", 3),
    ("non_product", "postage, fees and adjustments", 9),
]
SEGMENT_NAMES = ["Champions", "Loyal", "Potential loyalists", "New customers", "Promising",
                 "Need attention", "About to sleep", "At risk", "Cannot lose them", "Hibernating",
                 "Lost"]


def _quality(rows_clean: int) -> SimpleNamespace:
    frame = pd.DataFrame(_RULES, columns=["rule", "description", "rows"])
    quarantined = int(frame["rows"].sum())
    rows_in = rows_clean + quarantined
    frame["share"] = frame["rows"] / rows_in
    return SimpleNamespace(
        rows_in=rows_in, rows_clean=rows_clean, rows_quarantined=quarantined,
        observation_end=dt.date(2011, 12, 9), preset="standard", returns="exclude",
        n_outliers=7, notes=("observation end = day of the last clean transaction",),
        to_frame=lambda: frame.copy(),
    )


def _customers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    n_orders = 1 + rng.geometric(0.35, n) - 1 + (rng.random(n) < 0.05) * rng.integers(5, 60, n)
    aov = rng.lognormal(3.2, 0.7, n)
    total = np.round(n_orders * aov, 2)
    tenure = rng.integers(0, 374, n)
    recency_days = np.where(n_orders == 1, tenure, (tenure * rng.random(n)).astype(int))
    frequency = np.minimum(n_orders - 1, np.maximum(0, tenure - recency_days))
    ids = np.array([f"C{12346 + i}" for i in range(n)], dtype=object)
    ids[3], ids[4] = XSS, "客户甲"
    countries = rng.choice(["United Kingdom", "Germany", "France", "EIRE", "中国", XSS], n,
                           p=[0.7, 0.1, 0.08, 0.05, 0.05, 0.02])
    cust = pd.DataFrame({
        "customer_id": ids,
        "first_purchase": pd.Timestamp("2011-12-09") - pd.to_timedelta(tenure, unit="D"),
        "last_purchase": pd.Timestamp("2011-12-09") - pd.to_timedelta(recency_days, unit="D"),
        "n_orders": n_orders.astype("int64"),
        "n_lines": (n_orders * rng.integers(1, 20, n)).astype("int64"),
        "total_spend": total,
        "avg_order_value": np.round(total / n_orders, 2),
        "recency_days": recency_days.astype("int64"),
        "tenure_days": tenure.astype("int64"),
        "frequency": frequency.astype("int64"),
        "recency": (tenure - recency_days).astype(float),
        "T": tenure.astype(float),
        "monetary_value": np.where(frequency > 0, np.round(aov * rng.uniform(0.8, 1.2, n), 2), 0),
        "Country": countries,
    })
    cust["r_score"] = pd.qcut(-cust["recency_days"].rank(method="first"), 5, labels=False) + 1
    cust["f_score"] = pd.qcut(cust["n_orders"].rank(method="first"), 5, labels=False) + 1
    cust["m_score"] = pd.qcut(cust["total_spend"].rank(method="first"), 5, labels=False) + 1
    cust["rfm_cell"] = (cust["r_score"].astype(str) + cust["f_score"].astype(str)
                        + cust["m_score"].astype(str))
    cust["segment"] = np.array(SEGMENT_NAMES)[
        (15 - cust["r_score"] - cust["f_score"] - cust["m_score"]).clip(0, 10).to_numpy()]
    return cust


def _segments(cust: pd.DataFrame) -> pd.DataFrame:
    g = cust.groupby("segment", sort=False)
    seg = pd.DataFrame({
        "n_customers": g.size(), "revenue": g["total_spend"].sum(),
        "mean_recency_days": g["recency_days"].mean(), "mean_n_orders": g["n_orders"].mean(),
        "mean_total_spend": g["total_spend"].mean(),
    }).reset_index()
    seg.insert(2, "share_customers", seg["n_customers"] / len(cust))
    seg.insert(4, "revenue_share", seg["revenue"] / cust["total_spend"].sum())
    seg["action"] = "Reward & ask for reviews"
    seg["rationale"] = "Recent, frequent, high spenders: keep them engaged."
    return seg


def _clusters(rng: np.random.Generator, cust: pd.DataFrame) -> tuple[Any, pd.DataFrame]:
    k = 4
    names = {0: "VIP", 1: "Regulars", 2: "Occasional", 3: f"Lapsed {XSS}"}
    labels = rng.integers(0, k, len(cust))
    centers = np.array([[2.5, 0.5], [0.8, -0.6], [-0.5, 0.9], [-1.6, -0.4]])
    pts = centers[labels] + rng.normal(0, 0.45, (len(cust), 2))
    g = cust.assign(cluster=labels).groupby("cluster")
    profile = pd.DataFrame({
        "cluster": np.arange(k), "name": [names[i] for i in range(k)],
        "n_customers": g.size().to_numpy(),
        "share_customers": g.size().to_numpy() / len(cust),
        "revenue": g["total_spend"].sum().to_numpy(),
        "revenue_share": g["total_spend"].sum().to_numpy() / cust["total_spend"].sum(),
        "mean_recency_days": g["recency_days"].mean().to_numpy(),
        "mean_n_orders": g["n_orders"].mean().to_numpy(),
        "mean_total_spend": g["total_spend"].mean().to_numpy(),
        "top_countries": [("United Kingdom", "中国")] * k,
    })
    ks = np.arange(2, 9)
    km = SimpleNamespace(
        method="kmeans", k=k, labels=labels, names=names, profile=profile,
        selection=pd.DataFrame({"k": ks, "silhouette": [0.41, 0.44, 0.47, 0.43, 0.40, 0.38,
                                                        0.37],
                                "inertia": 900.0 / ks ** 0.8}),
        projection=pd.DataFrame({"pc1": pts[:, 0], "pc2": pts[:, 1], "cluster": labels}),
        centers_projection=pd.DataFrame({"cluster": np.arange(k), "pc1": centers[:, 0],
                                         "pc2": centers[:, 1]}),
        features=("log_recency_days", "log_n_orders", "log_total_spend"),
        criterion="k = 4 maximises the mean silhouette over k = 2..8 (seeded sample of 300).",
        notes=("fitted on all 300 customers",), skipped=None,
    )
    actions = pd.DataFrame({"cluster": np.arange(k), "action": ["Retain", "Upsell", "Nurture",
                                                                 "Win back"],
                            "rationale": ["highest value", "frequent", "occasional", "lapsed"]})
    return km, actions


def _hierarchy(rng: np.random.Generator, profile: pd.DataFrame) -> Any:
    from scipy.cluster.hierarchy import dendrogram, linkage

    x = rng.normal(size=(60, 3))
    link = linkage(x, method="ward")
    dend = dendrogram(link, no_plot=True, truncate_mode="lastp", p=12)
    return SimpleNamespace(k=4, labels=rng.integers(0, 4, 300), linkage=link,
                           dendrogram={k: dend[k] for k in ("icoord", "dcoord", "ivl")},
                           profile=profile.drop(columns=["top_countries"]), n_used=60,
                           notes=("Ward fitted on a seeded sample of 60 customers",),
                           skipped=None, method="ward",
                           selection=pd.DataFrame({"k": [2, 3, 4, 5, 6], "n_clusters": [2, 3, 4, 5, 6],
                                                   "silhouette": [0.30, 0.33, 0.36, 0.31, 0.29]}),
                           criterion="k = 4 has the highest mean silhouette among k = 2..6.")


def make_result(n: int = 300, seed: int = 42) -> SimpleNamespace:
    """A fake AnalysisResult with every attribute of the report contract."""
    rng = np.random.default_rng(seed)
    cust = _customers(rng, n)
    km, actions = _clusters(rng, cust)
    cust["cluster"] = pd.array(km.labels, dtype="Int64")
    cust["cluster_name"] = cust["cluster"].map(km.names)
    rfm = SimpleNamespace(
        cut_points={"recency": (18.0, 50.0, 112.0, 242.0), "frequency": (1.0, 2.0, 4.0),
                    "monetary": (98.5, 210.0, 420.25, 1020.0)},
        columns={"recency": "recency_days", "frequency": "n_orders", "monetary": "total_spend"},
        notes=("frequency: 5 bins collapsed to 4 (tied n_orders = 1 for 41% of customers)",),
        to_frame=lambda: cust[["r_score", "f_score", "m_score", "rfm_cell"]],
    )
    return SimpleNamespace(
        ingest={"source": "/data/订单 2011 <b>.csv", "format": "csv", "encoding": "utf-8",
                "header": True,
                "mapping": {"customer_id": XSS, "order_id": "订单号", "order_ts": "InvoiceDate",
                            "quantity": "Quantity", "unit_price": "UnitPrice",
                            "product_id": "StockCode", "product_name": "商品名称"},
                "date_formats": ["%m/%d/%Y %H:%M"], "notes": ["thousands separator ',' removed "
                                                              "from 12 amounts"],
                "n_rows": 5153, "fingerprint": "9f2c" + "0" * 60, "extra_columns": ["Country"]},
        quality=_quality(rows_clean=5000), customers=cust, time_unit="D", rfm=rfm,
        segments=_segments(cust), clusters=km, cluster_actions=actions,
        hierarchy=_hierarchy(rng, km.profile), skipped={},
        params={"preset": "standard", "observation_end": "2011-12-09", "time_unit": "D",
                "seed": 0, "clusters": "kmeans+ward", "run_at": "2026-11-20 10:00:00+00:00"},
        timings_s={"read": 0.41, "clean": 0.22, "customers": 0.08, "segments": 0.03,
                   "clusters": 1.2, "store": 0.05},
        calibration=None, summary={}, version="0.1.0",
    )


@pytest.fixture
def make_fake_result() -> Callable[..., SimpleNamespace]:
    """The factory ``make_result(n=300, seed=42)`` of fake AnalysisResults."""
    return make_result


@pytest.fixture
def fake_result() -> SimpleNamespace:
    """A realistic fake AnalysisResult for 300 synthetic customers (seeded)."""
    return make_result()


# --- layout facts of a rendered report, measured in headless Debian chromium -------------

_FACTS_JS = """() => {
  const outside = el => !el.closest('details.diagnostics');
  const clone = document.body.cloneNode(true);
  clone.querySelectorAll('details.diagnostics, script, style, .plotly-graph-div')
       .forEach(e => e.remove());
  document.body.appendChild(clone); clone.style.position = 'absolute';
  const text = clone.innerText; clone.remove();
  const svgText = [...document.querySelectorAll('.plotly-graph-div text')]
      .filter(outside).map(t => t.textContent).filter(t => t.trim());
  const tables = [...document.querySelectorAll('.tbl .scroll')].filter(outside).map(el => ({
      csv: (el.parentElement.querySelector('a.dl') || {}).download || '',
      scrollWidth: el.scrollWidth, clientWidth: el.clientWidth}));
  const emptyHeaders = [...document.querySelectorAll('.tbl th')].filter(outside)
      .filter(th => !th.innerText.trim()).map(th =>
        (th.closest('.tbl').querySelector('a.dl') || {}).download || '');
  const rect = el => { const r = el.getBoundingClientRect();
                       return {x: r.left, y: r.top, w: r.width, h: r.height}; };
  const plots = [...document.querySelectorAll('.plotly-graph-div')].filter(outside).map(gd => {
    const fl = gd._fullLayout; const axes = [];
    for (const k of Object.keys(fl)) {
      if (!/^[xy]axis\\d*$/.test(k) || !fl[k].visible) continue;
      axes.push({axis: k, title: ((fl[k].title || {}).text || '').trim()});
    }
    const shown = (gd._fullData || []).filter(t => t.showlegend && fl.showlegend);
    const legend = gd.querySelector('g.legend');
    const modebar = gd.querySelector('.modebar');
    const caption = (gd.closest('figure') || gd).querySelector('figcaption');
    return {caption: caption ? caption.innerText.slice(0, 60) : gd.id, axes,
            legendNames: shown.map(t => String(t.name || '').trim()),
            legend: legend && shown.length ? rect(legend) : null,
            modebar: modebar ? rect(modebar) : null};
  });
  return {text, svgText, tables, emptyHeaders, plots};
}"""



def _root_conftest(config: pytest.Config) -> Any:
    """tests/conftest.py as loaded by pytest (its CHROMIUM path and CHROMIUM_ARGS)."""
    for plugin in config.pluginmanager.get_plugins():
        if hasattr(plugin, "CHROMIUM_ARGS") and hasattr(plugin, "CHROMIUM"):
            return plugin
    raise RuntimeError("tests/conftest.py (CHROMIUM, CHROMIUM_ARGS) is not loaded")


@pytest.fixture(scope="session")
def page_facts(pytestconfig: pytest.Config) -> Callable[..., dict[str, Any]]:
    """``page_facts(path, *, screenshot=None, width=1400)``: what a reader sees of a report.

    Opens ``path`` offline in headless Debian chromium (fails when it is missing) and
    returns ``text`` (visible page text outside the collapsed "Model diagnostics" parts and
    outside plots), ``svgText`` (text drawn in the plots outside those parts), ``tables``
    (``csv``, ``scrollWidth``, ``clientWidth`` of each table box), ``emptyHeaders`` (CSV names
    of tables with an empty header cell) and ``plots`` (per plot: ``caption``, ``axes`` with
    their ``title``, ``legendNames``, and the ``legend`` and ``modebar`` boxes).
    """
    root = _root_conftest(pytestconfig)

    def facts(path: Path, *, screenshot: Path | None = None,
              width: int = 1400) -> dict[str, Any]:
        if not root.CHROMIUM.exists():
            pytest.fail(f"{root.CHROMIUM} is missing: run `make test` or "
                        "`bash scripts/install-browser.sh`")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(root.CHROMIUM),
                                        args=root.CHROMIUM_ARGS)
            try:
                page = browser.new_context(viewport={"width": width, "height": 900},
                                           offline=True).new_page()
                page.goto(Path(path).resolve().as_uri(), wait_until="load", timeout=60_000)
                page.wait_for_function(
                    "() => [...document.querySelectorAll('.plotly-graph-div')]"
                    ".every(gd => gd.querySelector('.main-svg'))", timeout=60_000)
                out = page.evaluate(_FACTS_JS)
                if screenshot is not None:
                    page.screenshot(path=str(screenshot), full_page=True)
            finally:
                browser.close()
        return out

    return facts


# --- real runs of analyze, one per data set, shared by the report tests -------------------

#: Products of the small Chinese shop: (code, name, unit price in CNY).
CHINESE_PRODUCTS = (
    ("P1001", "绿茶礼盒", 88.0), ("P1002", "乌龙茶", 45.0), ("P1003", "紫砂茶壶", 268.0),
    ("P1004", "青花瓷茶杯", 35.0), ("P1005", "普洱茶饼", 120.0), ("P1006", "竹制茶盘", 150.0),
    ("P1007", "茉莉花茶", 39.0), ("P1008", "红茶罐装", 56.0), ("P1009", "茶叶收纳罐", 29.0),
    ("P1010", "玻璃公道杯", 42.0),
)


def write_chinese_log(path: Path, *, seed: int = 1, n_customers: int = 40) -> pd.DataFrame:
    """A small tea shop's log: 40 members over 8 months of 2024, Chinese headers, GBK.

    Columns 订单号, 会员号, 下单时间, 商品编码, 商品名称, 数量, 单价; each member's first order
    falls in the first 200 days, then 1 + Poisson(2.5) orders in all (same-day orders
    merged), each of 1 + Poisson(1.2) distinct products, 1-3 of each. Seeded.
    """
    rng = np.random.default_rng(seed)
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-08-31")
    rows, order = [], 100_000
    for c in range(n_customers):
        first = start + pd.Timedelta(days=int(rng.integers(0, 200)))
        n = 1 + rng.poisson(2.5)
        days = sorted({0, *rng.integers(0, max(1, (end - first).days), n - 1).tolist()})
        for d in days:
            order += 1
            ts = first + pd.Timedelta(days=int(d), minutes=int(rng.integers(8 * 60, 22 * 60)))
            k = min(1 + rng.poisson(1.2), len(CHINESE_PRODUCTS))
            for j in rng.choice(len(CHINESE_PRODUCTS), size=k, replace=False):
                code, name, price = CHINESE_PRODUCTS[j]
                rows.append({"订单号": f"DD{order}", "会员号": f"会员{c + 1:03d}",
                             "下单时间": ts.strftime("%Y-%m-%d %H:%M:%S"), "商品编码": code,
                             "商品名称": name, "数量": int(rng.integers(1, 4)), "单价": price})
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False, encoding="gbk")
    return frame


def _run(source: Path, out: Path) -> tuple[Any, Path]:
    import valuemax

    result = valuemax.analyze(str(source), out=out, seed=0)
    return result, out / "report.html"


@pytest.fixture(scope="session")
def retail_run(datasets: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """``analyze`` on the shared UCI Online Retail log (slow: minutes): (result, report)."""
    src = datasets("online_retail/online_retail.csv.gz")
    return _run(src, tmp_path_factory.mktemp("report_retail") / "out")


@pytest.fixture(scope="session")
def cdnow_run(datasets: Callable[[str], Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """``analyze`` on the shared CDNOW_master log: (result, report)."""
    return _run(datasets("cdnow/CDNOW_master.txt"),
                tmp_path_factory.mktemp("report_cdnow") / "out")


@pytest.fixture(scope="session")
def chinese_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """``analyze`` on the small Chinese tea-shop log (:func:`write_chinese_log`)."""
    where = tmp_path_factory.mktemp("report_chinese")
    src = where / "茶叶订单.csv"
    write_chinese_log(src)
    return _run(src, where / "out")
