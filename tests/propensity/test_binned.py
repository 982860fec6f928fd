"""Gradient boosting scored on its bins gives the model's own probabilities, to the bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.calibration import CalibratedClassifierCV

from valuemax.propensity._binned import binned_members, predict_positive
from valuemax.propensity._models import make_model

NUM = ["recency_days", "frequency", "ipt_mean", "spend"]


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"recency_days": rng.integers(0, 300, n),
                      "frequency": rng.poisson(2.0, n),
                      "ipt_mean": np.where(rng.random(n) < 0.3, np.nan, rng.gamma(2, 20, n)),
                      "spend": rng.lognormal(3, 1, n),
                      "Country": rng.choice(["UK", "FR", "DE"], n)})
    logit = 1.0 - x["recency_days"] / 100 + 0.4 * x["frequency"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return x, y


def _hgb(cat: list[str], method: str = "isotonic") -> CalibratedClassifierCV:
    x, y = _frame(800, 1)
    model = make_model("hgb", {"learning_rate": 0.1, "max_leaf_nodes": 15}, NUM, cat, 0)
    model.set_params(clf__max_iter=15)  # a few trees walk as 150 do
    return CalibratedClassifierCV(model, method=method, cv=3).fit(x[NUM + cat], y)


def _hard_rows(model: CalibratedClassifierCV) -> pd.DataFrame:
    """Fresh rows plus rows on every split edge of every copy, NaN where training had
    none, and values beyond the training range (the cases where a bin could differ)."""
    x, _ = _frame(500, 2)
    x = x[NUM].astype("float64")
    edges = []
    for cal in model.calibrated_classifiers_:
        for f, thr in enumerate(cal.estimator[-1]._bin_mapper.bin_thresholds_):
            block = x.iloc[np.arange(len(thr)) % len(x)].copy()
            block.iloc[:, f] = thr
            edges.append(block)
    odd = x.iloc[:4].copy()
    odd["recency_days"] = [np.nan, -1e9, 1e9, np.inf]
    odd["spend"] = [-np.inf, 0.0, -0.0, np.nan]
    return pd.concat([x, *edges, odd], ignore_index=True)


@pytest.mark.parametrize("method", ["isotonic", "sigmoid"])
def test_binned_scores_equal_the_model_to_the_bit(method):
    """On fresh rows, every split edge, NaN and values beyond the training range, the trees
    walked on the bins give ``predict_proba``'s numbers exactly."""
    model = _hgb([], method)
    x = _hard_rows(model)
    members = binned_members(model, x)
    assert members is not None
    want = model.predict_proba(x)[:, 1]
    got = predict_positive(model, x, members)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    assert np.unique(got).size > 5  # the probabilities vary: a real comparison


def test_binned_path_is_refused_where_it_does_not_apply():
    """Categorical splits, a logit and a bare pipeline keep the plain path (None), and
    ``predict_positive`` without members is ``predict_proba``."""
    x, y = _frame(300, 3)
    assert binned_members(_hgb(["Country"]), x[[*NUM, "Country"]]) is None
    logit = CalibratedClassifierCV(make_model("logit", {"C": 1.0}, NUM, [], 0), cv=3)
    logit.fit(x[NUM], y)
    assert binned_members(logit, x[NUM]) is None
    bare = make_model("hgb", {"learning_rate": 0.1, "max_leaf_nodes": 15}, NUM, [], 0)
    bare.set_params(clf__max_iter=5).fit(x[NUM], y)
    assert binned_members(bare, x[NUM]) is None
    np.testing.assert_array_equal(predict_positive(logit, x[NUM]),
                                  logit.predict_proba(x[NUM])[:, 1])


def test_permuted_copies_on_bins_equal_the_model(monkeypatch):
    """The permutation importance's copies, assembled from the bins of one preprocessing,
    get the model's responses on the copies themselves to the bit, and the importance
    table is the one of the plain path."""
    import valuemax.propensity._columnwise as columnwise
    from valuemax.propensity._columnwise import columnwise_scorer
    from valuemax.propensity._metrics import _response, permutation_table

    model = _hgb([])
    x, y = _frame(300, 4)
    x = x[NUM]
    score = columnwise_scorer(model, x)
    assert score is not None and binned_members(model, x) is not None
    rng = np.random.default_rng(5)
    jobs = [(j, rng.permutation(len(x))) for j in range(x.shape[1])]
    copies = []
    for j, order in jobs:
        c = x.copy()
        c[x.columns[j]] = x[x.columns[j]].to_numpy()[order]
        copies.append(c)
    want = _response(model, pd.concat(copies, ignore_index=True))
    got = score(jobs)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    fast, _ = permutation_table(model, x, y, random_state=2, max_rows=len(x))
    monkeypatch.setattr(columnwise, "binned_members", lambda *a: None)
    slow, _ = permutation_table(model, x, y, random_state=2, max_rows=len(x))
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


def test_tree_skipping_reuses_unread_trees_to_the_bit():
    """For each permuted copy, the trees that read none of the permuted feature's bins are
    taken from the unpermuted rows (some are, on this model: trees of 4 leaves over 8
    features) and the calibrated copy's probabilities are those of walking every tree on
    the copies, bit for bit."""
    from valuemax.propensity._binned import tree_skipping

    rng = np.random.default_rng(9)
    x, y = _frame(800, 1)
    cols = [*NUM, "n1", "n2", "n3", "n4"]
    for c in cols[len(NUM):]:
        x[c] = rng.normal(size=len(x))
    model = make_model("hgb", {"learning_rate": 0.1, "max_leaf_nodes": 4}, cols, [], 0)
    model.set_params(clf__max_iter=15)
    model = CalibratedClassifierCV(model, method="isotonic", cv=3).fit(x[cols], y)
    x = x[cols].iloc[:300]
    members = binned_members(model, x)
    assert members is not None
    jobs = [(j, rng.permutation(len(x))) for j in range(len(cols)) for _ in range(2)]
    skipped = 0
    for pre, mapper, head in members:
        z = mapper.transform(pre.transform(x))
        fed = [np.array([j]) for j in range(len(cols))]  # passthrough: input j feeds bin j
        stacked = np.concatenate([np.where(np.arange(len(cols)) == j, z[order], z)
                                  for j, order in jobs])
        trees = [p for it in head.estimator._predictors for p in it]
        skipped += sum(j not in set(p.nodes["feature_idx"][p.nodes["is_leaf"] == 0].tolist())
                       for p in trees for j, _ in jobs)
        skipping = tree_skipping(head, z, fed, jobs, len(x))
        assert skipping is not None
        want = head.predict_proba(stacked)
        got = skipping.predict_proba(stacked)
        assert got.tobytes() == want.tobytes()
    assert skipped > 0
