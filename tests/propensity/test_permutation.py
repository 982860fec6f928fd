"""The batched permutation importance equals scikit-learn's ``permutation_importance``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV
from sklearn.inspection import permutation_importance

from valuemax.propensity._metrics import permutation_table
from valuemax.propensity._models import make_model


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"recency_days": rng.integers(0, 300, n),
                      "frequency": rng.poisson(2.0, n),
                      "ipt_mean": np.where(rng.random(n) < 0.3, np.nan, rng.gamma(2, 20, n)),
                      "noise": rng.normal(size=n),
                      "Country": rng.choice(["UK", "FR", "DE"], n)})
    logit = 1.0 - x["recency_days"] / 100 + 0.4 * x["frequency"] + (x["Country"] == "UK")
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


@pytest.mark.parametrize("kind", ["logit", "hgb"])
def test_batched_permutations_equal_sklearn(kind):
    """Same seed, same rows: every feature's mean and SD of the ROC AUC drop equal those of
    sklearn.inspection.permutation_importance (which scores each permutation separately),
    for a bare pipeline (decision_function) and a calibrated one (predict_proba)."""
    x, y = _frame(900, 3)
    x_ho, y_ho = _frame(900, 4)
    num, cat = ["recency_days", "frequency", "ipt_mean", "noise"], ["Country"]
    model = make_model(kind, {"C": 1.0} if kind == "logit" else
                       {"learning_rate": 0.1, "max_leaf_nodes": 15}, num, cat, 0)
    if kind == "hgb":
        model = CalibratedClassifierCV(model, method="sigmoid", cv=3)
    model.fit(x, y)
    got, note = permutation_table(model, x_ho, y_ho, random_state=7, max_rows=len(x_ho))
    want = permutation_importance(model, x_ho, y_ho, scoring="roc_auc", n_repeats=5,
                                  random_state=7)
    want = pd.DataFrame({"feature": x.columns, "mean": want.importances_mean,
                         "sd": want.importances_std}).set_index("feature")
    got = got.set_index("feature").loc[want.index]
    assert note == ""
    np.testing.assert_allclose(got["importance_mean"], want["mean"], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["importance_sd"], want["sd"], rtol=0, atol=1e-12)
    # on fresh rows the signal is found: recency first, the pure-noise column near zero
    assert got["importance_mean"].idxmax() == "recency_days"
    assert abs(got.loc["noise", "importance_mean"]) < 0.02


def test_chunks_do_not_change_the_scores(monkeypatch):
    """Scoring the stacked permutations in many small chunks gives the same table."""
    import valuemax.propensity._metrics as metrics

    x, y = _frame(600, 5)
    model = make_model("logit", {"C": 1.0}, ["recency_days", "frequency", "ipt_mean",
                                            "noise"], ["Country"], 0).fit(x, y)
    whole, _ = permutation_table(model, x, y, random_state=0, max_rows=len(x))
    monkeypatch.setattr(metrics, "PERMUTATION_CHUNK_ROWS", 1_000)
    chunked, _ = permutation_table(model, x, y, random_state=0, max_rows=len(x))
    pd.testing.assert_frame_equal(whole, chunked, check_exact=False, atol=1e-12, rtol=0)


@pytest.mark.parametrize("order", ["C", "F"])
def test_signed_log_is_the_formula_to_the_bit(order):
    """The logit's numeric transform (computed in place) is ``sign(x) * log1p(|x|)`` bit for
    bit, on heavy-tailed values with zeros and -0.0, C- or F-ordered (the imputer's output)
    and on integers; it leaves its input unchanged."""
    from valuemax.propensity._models import _signed_log

    rng = np.random.default_rng(7)
    x = np.asarray(rng.standard_cauchy((500, 6)) * 1e3, order=order)
    x[::4] = 0.0
    x[1, 1] = -0.0
    before = x.copy()
    for arr in (x, np.rint(x).astype(np.int64)):
        expected = np.sign(arr) * np.log1p(np.abs(arr))
        got = _signed_log(arr)
        assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()
    assert x.tobytes() == before.tobytes()
    np.testing.assert_allclose(_signed_log(np.array([1 - np.e, 0.0, np.e - 1])), [-1, 0, 1],
                               rtol=1e-15)


@pytest.mark.parametrize(("kind", "calibrated"), [("logit", False), ("logit", True),
                                                   ("hgb", True)])
def test_columnwise_scoring_equals_the_pipeline_bit_for_bit(kind, calibrated, monkeypatch):
    """The permuted copies assembled from one preprocessing of the rows get the responses
    the whole model gives on the copies themselves, to the bit (with NaN, a missing
    indicator, a category absent from the holdout and one level only seen there), and the
    importance table is the same table."""
    import valuemax.propensity._columnwise as columnwise
    from valuemax.propensity._columnwise import columnwise_scorer
    from valuemax.propensity._metrics import _response

    x, y = _frame(700, 8)
    x_ho, y_ho = _frame(400, 9)
    x_ho.loc[x_ho.index[:3], "Country"] = "NL"  # unseen in training
    x_ho.loc[x_ho["Country"] == "DE", "Country"] = "FR"
    num, cat = ["recency_days", "frequency", "ipt_mean", "noise"], ["Country"]
    model = make_model(kind, {"C": 1.0} if kind == "logit" else
                       {"learning_rate": 0.1, "max_leaf_nodes": 15}, num, cat, 0)
    if kind == "hgb":  # a few trees show the same as 150 (the scoring is what is tested)
        model.set_params(clf__max_iter=10)
    if calibrated:
        model = CalibratedClassifierCV(model, method="isotonic", cv=3)
    model.fit(x, y)
    score = columnwise_scorer(model, x_ho)
    assert score is not None
    rng = np.random.default_rng(1)
    jobs = [(j, rng.permutation(len(x_ho))) for j in range(x_ho.shape[1])]
    copies = []
    for j, order in jobs:
        c = x_ho.copy()
        c[x_ho.columns[j]] = x_ho[x_ho.columns[j]].to_numpy()[order]
        copies.append(c)
    want = _response(model, pd.concat(copies, ignore_index=True))
    got = score(jobs)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    fast, _ = permutation_table(model, x_ho, y_ho, random_state=2, max_rows=len(x_ho))
    monkeypatch.setattr(columnwise, "columnwise_scorer", lambda *a: None)
    slow, _ = permutation_table(model, x_ho, y_ho, random_state=2, max_rows=len(x_ho))
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


def test_columnwise_scoring_refuses_a_mixing_step():
    """A preprocessing step that mixes columns (PCA) is not column-wise: no shortcut."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from valuemax.propensity._columnwise import columnwise_scorer

    x, y = _frame(300, 10)
    x = x.drop(columns=["Country", "ipt_mean"])
    model = make_pipeline(PCA(n_components=2), LogisticRegression()).fit(x, y)
    assert columnwise_scorer(model, x) is None
