"""Fixtures for the report tests: real runs of analyze (a small synthetic shop log, Online
Retail, CDNOW_master, a small Chinese log; one per session) and ``page_facts``, what a reader
sees of a report in headless chromium.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.report._small_run import XSS, small_result

__all__ = ["XSS"]


@pytest.fixture(scope="session")
def small_run() -> Any:
    """The real ``AnalysisResult`` of the small synthetic shop log (built once per process:
    :func:`tests.report._small_run.small_result`). Frozen: derive variants with
    ``dataclasses.replace``."""
    return small_result()


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

    ``page_facts.many([(path, screenshot), ...])`` -> the same facts of each report, in
    order, from one browser launch (each report in its own fresh context).
    """
    root = _root_conftest(pytestconfig)

    def _on(browser: Any, path: Path, screenshot: Path | None, width: int) -> dict[str, Any]:
        context = browser.new_context(viewport={"width": width, "height": 900}, offline=True)
        try:
            page = context.new_page()
            page.goto(Path(path).resolve().as_uri(), wait_until="load", timeout=60_000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('.plotly-graph-div')]"
                ".every(gd => gd.querySelector('.main-svg'))", timeout=60_000)
            out = page.evaluate(_FACTS_JS)
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            context.close()
        return out

    def many(pages: list[tuple[Path, Path | None]], *, width: int = 1400,
             ) -> list[dict[str, Any]]:
        if not root.CHROMIUM.exists():
            pytest.fail(f"{root.CHROMIUM} is missing: run `make test` or "
                        "`bash scripts/install-browser.sh`")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(root.CHROMIUM),
                                        args=root.CHROMIUM_ARGS)
            try:
                return [_on(browser, path, shot, width) for path, shot in pages]
            finally:
                browser.close()

    def facts(path: Path, *, screenshot: Path | None = None,
              width: int = 1400) -> dict[str, Any]:
        return many([(path, screenshot)], width=width)[0]

    facts.many = many
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

    result = valuemax.analyze(str(source), out=out, random_state=0)
    return result, out / "report.html"


@pytest.fixture(scope="session")
def retail_run(retail_analysis: Any) -> tuple[Any, Path]:
    """``analyze`` on the shared UCI Online Retail log (slow: minutes): (result, report).
    The session's one run with the default options (``retail_analysis``, tests/conftest.py)."""
    return retail_analysis, retail_analysis.out / "report.html"


@pytest.fixture(scope="session")
def cdnow_run(cdnow_master_analysis: Any) -> tuple[Any, Path]:
    """``analyze`` on the shared CDNOW_master log: (result, report); the session's one run
    (``cdnow_master_analysis``, tests/conftest.py)."""
    return cdnow_master_analysis, cdnow_master_analysis.out / "report.html"


@pytest.fixture(scope="session")
def chinese_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """``analyze`` on the small Chinese tea-shop log (:func:`write_chinese_log`)."""
    where = tmp_path_factory.mktemp("report_chinese")
    src = where / "茶叶订单.csv"
    write_chinese_log(src)
    return _run(src, where / "out")
