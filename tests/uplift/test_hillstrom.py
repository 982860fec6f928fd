"""Hillstrom (MineThatData 2008): Womens vs No E-Mail on visit, Mens vs No E-Mail on spend.

Whether each model beats random is *stated* (the bootstrap interval excludes 0 or not); the
tests assert the interval is computed as documented and the conclusion matches it, not that a
model must win. Arm counts are from ../shared/datasets/README.md.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from valuemax.uplift import qini_coefficient, uplift_study

FEATURES = ["recency", "history", "mens", "womens", "zip_code", "newbie", "channel"]
N_BOOT = 50


@pytest.fixture(scope="module")
def hillstrom(datasets) -> pd.DataFrame:
    return pd.read_csv(datasets("hillstrom/hillstrom.csv.gz"))


def _check(study, frame, treated, outcome, n_arms, n_other):
    ev = study.evaluation
    assert study.n_train + study.n_holdout == n_arms
    assert study.n_other_arms == n_other
    hold = study.scores[study.scores.split == "holdout"]
    y = frame[outcome].to_numpy()[hold["row"].to_numpy()]
    t = hold["treatment"].to_numpy()
    assert (hold["arm"] == treated).to_numpy().tolist() == (t == 1).tolist()
    ate = y[t == 1].mean() - y[t == 0].mean()
    for name in study.models:
        # the uplift curve ends at the holdout's average effect, whatever the model
        assert ev.curves[name]["uplift"].value[-1] == pytest.approx(ate)
        row = ev.table.set_index("model").loc[name]
        assert row.qini == pytest.approx(qini_coefficient(hold[f"uplift_{name}"], t, y))
        stated = "excludes 0" if row.qini_excludes_zero else "includes 0"
        assert row.qini_excludes_zero == bool(row.qini_ci_low > 0 or row.qini_ci_high < 0)
        assert stated in row.conclusion
    # the first model's Qini interval, recomputed from the documented stratified draws
    s = hold[f"uplift_{study.models[0]}"].to_numpy()
    g = np.random.default_rng(0)
    tr, co = np.flatnonzero(t == 1), np.flatnonzero(t == 0)
    q = []
    for _ in range(N_BOOT):
        idx = np.r_[tr[g.integers(0, tr.size, tr.size)], co[g.integers(0, co.size, co.size)]]
        q.append(qini_coefficient(s[idx], t[idx], y[idx]))
    row = ev.table.iloc[0]
    assert (row.qini_ci_low, row.qini_ci_high) == pytest.approx(
        (np.quantile(q, 0.025), np.quantile(q, 0.975)))


def test_womens_email_on_visit(hillstrom):
    study = uplift_study(hillstrom, treatment="segment", treated="Womens E-Mail",
                         control="No E-Mail", outcome="visit", features=FEATURES,
                         models=("t", "dr", "ct"), n_bootstrap=N_BOOT, random_state=0)
    assert study.evaluation.outcome_kind == "binary"
    _check(study, hillstrom, "Womens E-Mail", "visit", 21_387 + 21_306, 21_307)
    assert study.evaluation.bins["interval"].eq("newcombe").all()


def test_mens_email_on_spend(hillstrom):
    study = uplift_study(hillstrom, treatment="segment", treated="Mens E-Mail",
                         control="No E-Mail", outcome="spend", features=FEATURES,
                         models=("t", "dr"), n_bootstrap=N_BOOT, random_state=0)
    assert study.evaluation.outcome_kind == "continuous"
    _check(study, hillstrom, "Mens E-Mail", "spend", 21_307 + 21_306, 21_387)
    assert study.evaluation.bins["interval"].eq("welch").all()
