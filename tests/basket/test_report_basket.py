"""The report section "What sells together" renders from a BasketResult (and without one)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from valuemax.basket import analyze_baskets
from valuemax.pipeline import StageStatus
from valuemax.report._sections_basket import basket_section

XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def small_result(small_run):
    rng = np.random.default_rng(7)
    rows = []
    start = dt.datetime(2024, 1, 1)
    for c in range(80):
        for k in range(int(rng.integers(2, 6))):
            day = start + dt.timedelta(days=int(rng.integers(0, 90)))
            basket = {"P1"} if rng.random() < 0.5 else {"P3"}
            if "P1" in basket:
                basket.add("P2")  # P1 -> P2 with confidence 1
            basket |= {f"P{j}" for j in rng.choice(range(3, 12), int(rng.integers(0, 3)),
                                                    replace=False)}
            for p in sorted(basket):
                rows.append((f"c{c}", f"o{c}-{k}", day, p, XSS if p == "P5" else f"name {p}"))
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "product_id",
                                     "product_name"])
    res = analyze_baskets(ibis.memtable(pa.Table.from_pandas(df)), min_support=0.1,
                          min_confidence=0.3, min_lift=1.0, max_len=3)
    customers = pd.DataFrame({"customer_id": [f"c{c}" for c in range(80)],
                              "segment": np.where(np.arange(80) < 40, "Champions", XSS)})
    # the real run, holding this basket result and these customers' segments
    return dataclasses.replace(small_run, basket=res, customers=customers)


def test_section_renders_every_part(small_result):
    html, subs = basket_section(small_result)
    assert [a for a, _ in subs] == ["bsk-overview", "bsk-rules", "bsk-assoc", "bsk-segments",
                                    "bsk-eval"]
    rules = small_result.basket.rule_set.rules
    assert (rules.set_index("rule").loc["P1 → P2", "conviction"]) == np.inf
    # the page names products (the CSV keeps the codes)
    assert "∞" in html and "name P1 → name P2" in html
    # the rules' "Download CSV" writes no infinity: an empty conviction cell, as rules.csv
    import base64
    import io
    import re

    links = re.findall(r'download="rules[^"]*"|href="data:text/csv;charset=utf-8;base64,'
                       r'([A-Za-z0-9+/=]+)"', html)
    csvs = [base64.b64decode(b).decode("utf-8-sig") for b in links if b]
    got = [pd.read_csv(io.StringIO(t), keep_default_na=False) for t in csvs
           if t.startswith("rule,") or "conviction" in t.splitlines()[0]]
    assert got and all("inf" not in t for t in csvs if "conviction" in t.splitlines()[0])
    row = got[0].set_index("rule").loc["P1 → P2"]
    assert row["conviction"] == "" and float(row["confidence"]) == 1.0
    assert XSS not in html and "&lt;script&gt;" in html
    assert html.count('class="plotly-graph-div"') == 2  # lift heat map, holdout bars
    assert "Champions" in html and "popularity (baseline)" in html
    ev = small_result.basket.evaluation
    assert ev is not None and f"{ev['n_customers_evaluated']:,}" in html


def test_section_without_result_shows_the_reason(small_run):
    why = "no product column"
    html, subs = basket_section(dataclasses.replace(
        small_run, basket=None, skipped={"basket": why},
        stages={**small_run.stages, "basket": StageStatus("skipped", why)}))
    assert subs == [] and "no product column" in html and 'class="note warn"' in html


@pytest.mark.browser
def test_section_opens_in_a_browser(small_result, tmp_path, check_report_in_browser):
    import plotly.offline

    from valuemax.report._html import page

    html, subs = basket_section(small_result)
    doc = page(title="basket", plotlyjs=plotly.offline.get_plotlyjs(), facts=[],
               toc=[("basket", "What sells together", subs)], sections=[html], footer="")
    path = tmp_path / "report.html"
    path.write_text(doc, encoding="utf-8")
    out = check_report_in_browser(path)
    assert out["n_plots"] == 2 and "What sells together" in out["text"]


def test_no_rule_note_names_the_command_that_takes_thresholds(small_result):
    """New user: the report said to lower the thresholds with --min-support, an option
    analyze does not have; the note names `valuemax rules`, which has them."""
    res = small_result.basket
    empty = dataclasses.replace(res, rule_set=dataclasses.replace(
        res.rule_set, rules=res.rule_set.rules.iloc[:0]))
    html, _ = basket_section(dataclasses.replace(small_result, basket=empty))
    assert ("To see rules, mine the same log with lower thresholds: valuemax rules LOG "
            "--min-support S --min-confidence C (analyze chooses them from the data") in html


def test_one_item_baskets_say_there_is_nothing_to_recommend():
    """Breaker: with one item in every basket, no recommendation was made, yet the notes
    said they "come from co-occurrence"."""
    df = pd.DataFrame({"customer_id": [f"c{i % 30}" for i in range(120)],
                       "order_id": [f"o{i}" for i in range(120)],
                       "order_ts": [dt.datetime(2024, 1, 1) + dt.timedelta(days=i % 90)
                                    for i in range(120)],
                       "product_id": [f"P{i % 4}" for i in range(120)]})
    res = analyze_baskets(ibis.memtable(pa.Table.from_pandas(df)))
    assert len(res.recommendations) == 0
    assert any(n.startswith("no recommendation: no two products were ever bought in one "
                            "basket (120 baskets)") for n in res.notes)
    assert not any("come from co-occurrence" in n for n in res.notes)
