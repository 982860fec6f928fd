"""Report section "Whom to contact" (uplift part): verdicts and curves from the evaluation."""

from __future__ import annotations

import html as htmllib
import re

import numpy as np
import pandas as pd
import pytest

from valuemax.report import PartReport, render_report
from valuemax.report._format import TECHNICAL
from valuemax.report._plots_target import uplift_lines
from valuemax.uplift import qini_coefficient, uplift_study

DIAG = re.compile(r'<details class="diagnostics">.*?</details>', re.S)


def _visible(html: str) -> str:
    body = DIAG.sub("", html)
    body = body[body.index("<main>"):body.index("</main>")]
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(body))


@pytest.fixture(scope="module")
def data():
    """3,000 customers: the treatment raises the response by 0.3 when x > 0, else nothing."""
    rng = np.random.default_rng(11)
    n = 3000
    x = rng.normal(size=n)
    noise = rng.normal(size=n)
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.2 + 0.3 * t * (x > 0)).astype(int)
    frame = pd.DataFrame({"cid": [f"c{i}" for i in range(n)],
                          "arm": np.where(t == 1, "mail", "none"), "y": y, "x": x,
                          "noise": noise})
    found = uplift_study(frame, treatment="arm", treated="mail", control="none", outcome="y",
                         features=["x", "noise"], models=("t", "ct"), id_column="cid",
                         n_bootstrap=100, random_state=0)
    return found, t, y


@pytest.fixture(scope="module")
def study(data):
    return data[0]


def _render(study) -> str:
    return render_report(PartReport(source="t.csv", uplift=study), sections=("target",))


def test_verdicts_follow_the_bootstrap_intervals(study):
    text = _visible(_render(study))
    ev = study.evaluation.table.set_index("model")
    for code, name in (("t", "two-model"), ("ct", "class transformation")):
        row = ev.loc[code]
        assert row["qini_ci_low"] > 0  # the effect depends on x: both models find it
        assert re.search(rf"{name}: ranking by it gains \+[\d.]+ extra 'y' responses per "
                         r"customer over random targeting .*?95% interval \+[\d.]+ to "
                         r"\+[\d.]+: it ranks customers better than random\.", text)
    assert "No target list was chosen here" in text
    assert f"customers: training / held out {study.n_train:,} / {study.n_holdout:,}" in text


def test_qini_in_the_table_is_the_public_coefficient_on_the_holdout(data):
    study, t, y = data
    held = study.scores[study.scores["split"] == "holdout"]
    assert len(held) == study.n_holdout
    rows = held["row"].to_numpy()
    q = qini_coefficient(held["uplift_t"].to_numpy(), t[rows], y[rows])
    assert study.evaluation.table.set_index("model").loc["t", "qini"] == pytest.approx(q)


def test_curves_are_drawn_to_their_end_beside_random(study):
    ev = study.evaluation
    fig = uplift_lines(ev.curves, kind="qini", names={"t": "two-model"}, unit="extra y")
    by_name = {tr.name: tr for tr in fig.data}
    curve = ev.curves["t"]["qini"]
    drawn = by_name["two-model"]
    assert drawn.x[0] == 0.0 and drawn.x[-1] == pytest.approx(1.0)
    assert drawn.y[-1] == pytest.approx(curve.value[-1])
    assert len(drawn.x) <= 401 < len(curve.value) or len(drawn.x) == len(curve.value)
    rand = by_name["random targeting"]
    assert rand.x == (0.0, 1.0) and rand.y[1] == pytest.approx(curve.value[-1])


def test_without_bootstrap_the_page_says_it_is_not_known(study):
    from dataclasses import replace

    table = study.evaluation.table.assign(qini_ci_low=None, qini_ci_high=None)
    bare = replace(study, evaluation=replace(study.evaluation, table=table, n_bootstrap=0))
    text = _visible(_render(bare))
    assert "no bootstrap interval was drawn, so whether it beats random is not known" in text


def test_no_machine_words_outside_the_diagnostics(study):
    body = DIAG.sub("", _render(study))
    body = body[body.index("<main>"):body.index("</main>")]
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    body = re.sub(r'"[^"]*"', " ", body)
    assert not {m.group(0) for m in TECHNICAL.finditer(body)}
