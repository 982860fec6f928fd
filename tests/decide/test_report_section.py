"""Report section "Whom to contact" (target list part): figures recomputed with pandas."""

from __future__ import annotations

import base64
import html as htmllib
import io
import re

import numpy as np
import pandas as pd
import pytest

from valuemax.decide import choose_targets, holdout_assignments
from valuemax.report import PartReport, render_report
from valuemax.report._format import TECHNICAL
from valuemax.report._plots_target import profit_line, thin

DIAG = re.compile(r'<details class="diagnostics">.*?</details>', re.S)


def _visible(html: str) -> str:
    body = DIAG.sub("", html)
    body = body[body.index("<main>"):body.index("</main>")]
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(body))


def _csv(html: str, name: str) -> pd.DataFrame:
    m = re.search(rf'download="{re.escape(name)}" href="data:text/csv;charset=utf-8;base64,'
                  r'([^"]+)"', html)
    return pd.read_csv(io.BytesIO(base64.b64decode(m.group(1))), encoding="utf-8-sig",
                       dtype={"customer_id": str})


@pytest.fixture
def campaign():
    rng = np.random.default_rng(7)
    n = 400
    scores = pd.DataFrame({"customer_id": [f"c{i:03d}" for i in range(n)],
                           "uplift": rng.uniform(-0.05, 0.2, n), "se": 0.02,
                           "clv": rng.uniform(10, 60, n)})
    res = choose_targets(scores, value="clv", margin=0.5, cost_per_contact=1.0, budget=150.0,
                         uplift_se="se")
    a = holdout_assignments(res.targets, assigned_at="2026-03-02", share=0.2, random_state=3)
    return scores, res, a


def _render(res, a) -> str:
    return render_report(PartReport(source="s", targets=res, assignments=a),
                         sections=("target",))


def test_list_summary_counts_and_profit_match_pandas(campaign):
    scores, res, a = campaign
    html = _render(res, a)
    text = _visible(html)
    assert f"chosen {len(res.targets):,}" in text
    held = int((a["arm"] == "holdout").sum())
    assert held == round(0.2 * len(res.targets))
    assert f"held out as control {held:,}" in text
    assert "must NOT be contacted" in text
    # the summary table, from its CSV: customers and expected profit per assigned arm
    got = _csv(html, "target_summary.csv").set_index("assigned")
    merged = res.targets.merge(a, on="customer_id", suffixes=("", "_assigned"))
    want = merged.groupby("arm_assigned")["expected_incremental_profit"].agg(["size", "sum"])
    assert got["customers"].to_dict() == want["size"].to_dict()
    assert got["expected_profit"].to_numpy() == pytest.approx(
        want.loc[got.index, "sum"].to_numpy())
    # the profit of the list is 0.5 * uplift * clv - 1 summed over the chosen customers
    chosen = scores.set_index("customer_id").loc[res.targets["customer_id"]]
    total = float((0.5 * chosen["uplift"] * chosen["clv"] - 1.0).sum())
    assert res.value == pytest.approx(total)
    assert "This list is the best possible under the constraints." in text  # uniform costs


def test_profit_figure_marks_the_chosen_point(campaign):
    _, res, _ = campaign
    fig = profit_line(res.curve, chosen=res.chosen, confidence=res.confidence)
    star = fig.data[-1]
    assert star.x == (len(res.targets),)
    assert star.y[0] == pytest.approx(res.targets["expected_incremental_profit"].sum())
    line = next(t for t in fig.data if t.name == "expected incremental profit")
    assert line.x[0] == 0 and line.x[-1] == res.n_customers  # both ends kept
    assert line.y[-1] == pytest.approx(res.curve["expected_profit"].iloc[-1])
    lo = next(t for t in fig.data if t.name and t.name.endswith("interval"))
    inside = np.searchsorted(res.curve["n_contacted"], lo.x)
    assert np.all(np.asarray(lo.y) <= res.curve["expected_profit"].to_numpy()[inside] + 1e-9)


def test_unequal_costs_state_the_gap_to_the_bound():
    rng = np.random.default_rng(1)
    n = 60
    scores = pd.DataFrame({"customer_id": [f"u{i}" for i in range(n)],
                           "uplift": rng.uniform(0.0, 0.2, n), "clv": rng.uniform(10, 60, n),
                           "cost": rng.uniform(0.2, 3.0, n)})
    res = choose_targets(scores, value="clv", margin=0.5, cost_per_contact="cost", budget=7.3)
    text = _visible(render_report(PartReport(source="", targets=res), sections=("target",)))
    assert not res.exact and res.gap >= 0
    assert re.search(r"At most [\d.,≈]+ of profit separates this list from the best possible",
                     text)
    assert "held out as control none drawn" in text


def test_no_machine_words_outside_the_diagnostics(campaign):
    _, res, a = campaign
    body = DIAG.sub("", _render(res, a))
    body = body[body.index("<main>"):body.index("</main>")]
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    body = re.sub(r'"[^"]*"', " ", body)
    assert not {m.group(0) for m in TECHNICAL.finditer(body)}


@pytest.mark.parametrize("n, keep, limit", [(5, None, 400), (10_001, 4_321, 400),
                                            (1_000_000, 999_999, 50), (401, 0, 400)])
def test_thinning_keeps_both_ends_and_the_chosen_point(n, keep, limit):
    idx = thin(n, keep, limit=limit)
    assert idx[0] == 0 and idx[-1] == n - 1
    assert np.all(np.diff(idx) > 0) and len(idx) <= limit + 1
    if keep is not None:
        assert keep in idx
    if n <= limit:
        assert idx.tolist() == list(range(n))


def test_section_says_what_is_missing():
    text = _visible(render_report(PartReport(source="x"), sections=("target",)))
    assert "No uplift model or target list was computed in this run" in text
    assert "Whom to contact" not in render_report(PartReport(source="x"))


@pytest.mark.browser
def test_both_sections_render_in_chromium(campaign, tmp_path, check_report_in_browser):
    """An experiment and a target list in one report: both sections, by default, in chain
    order; every plot renders offline with data."""
    from valuemax.experiment import readout
    from valuemax.report import write_report

    _, res, a = campaign
    rng = np.random.default_rng(0)
    exp = pd.DataFrame({"arm": rng.choice(["holdout", "mail"], 800),
                        "buy": rng.integers(0, 2, 800)})
    r = readout(exp, arm="arm", control="holdout", metrics=["buy"])
    path = write_report(PartReport(source="campaign", experiment=r, targets=res,
                                   assignments=a), tmp_path / "r.html")
    seen = check_report_in_browser(path)
    assert seen["n_plots"] == 2  # the lifts with intervals, the profit curve
    text = seen["text"]
    num = {t: int(re.search(rf"(\d+)\. {re.escape(t)}", text).group(1))
           for t in ("Did it work?", "Whom to contact", "Run")}
    assert num == {"Did it work?": 1, "Whom to contact": 2, "Run": 3}
    assert "What sells together" not in text  # a main-job section: not in a part report
