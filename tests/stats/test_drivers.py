"""value_drivers(): the main job's statistics on Online Retail, target choice, no identities."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from valuemax.exceptions import InputError
from valuemax.stats import value_drivers


@pytest.fixture(scope="module")
def drivers(retail_customers):
    return value_drivers(retail_customers)


def test_spend_regression_equals_lstsq_without_identities(drivers, retail_customers):
    c = retail_customers
    assert drivers.target == "log(total_spend)" and drivers.target_column == "total_spend"
    assert drivers.predictors == ("recency_days", "tenure_days", "log_n_orders",
                                  "log_lines_per_order")
    assert "avg_order_value" in drivers.excluded and "identity" in drivers.excluded[
        "avg_order_value"]
    X = np.column_stack([np.ones(len(c)), c["recency_days"], c["tenure_days"],
                         np.log(c["n_orders"]), np.log(c["n_lines"] / c["n_orders"])])
    y = np.log(c["total_spend"].to_numpy())
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    reg = drivers.regression
    np.testing.assert_allclose(reg.coefficients["coef"], beta, rtol=1e-9, atol=1e-12)
    assert reg.robust == "HC3" and reg.n == 4_338
    # measured on the shared data: far from the R² = 1 of the identity
    assert 0.6 < reg.r_squared < 0.8
    assert any("log(n_lines / n_orders)" in n for n in drivers.notes)


def test_correlations_are_holm_adjusted_spearman(drivers, retail_customers):
    cm = drivers.correlations
    assert cm.method == "spearman" and cm.adjust == "holm"
    assert cm.columns == ["recency_days", "tenure_days", "n_orders", "n_lines", "frequency",
                          "total_spend", "avg_order_value", "monetary_value"]
    ref = stats.spearmanr(retail_customers["n_orders"], retail_customers["total_spend"])
    assert cm.r.loc["n_orders", "total_spend"] == pytest.approx(ref.statistic, abs=1e-9)
    top = drivers.top_correlations(3)
    assert ((top["x"] == "total_spend") | (top["y"] == "total_spend")).all()
    assert top["r"].abs().is_monotonic_decreasing


def test_to_dict_is_json(drivers):
    d = drivers.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert back["target"] == "log(total_spend)" and back["n"] == 4_338
    assert back["r_squared"] == pytest.approx(drivers.regression.r_squared)
    assert len(back["top_correlations"]) == 5
    assert {"x", "y", "r", "n", "p_adjusted"} <= set(back["top_correlations"][0])


def test_clv_column_becomes_the_target(retail_customers):
    c = retail_customers.copy()
    rng = np.random.default_rng(0)
    c["p_alive"] = rng.uniform(0, 1, len(c))
    c["clv_12"] = c["total_spend"] * c["p_alive"]
    c.loc[c.index[:10], "clv_12"] = 0.0
    vd = value_drivers(c)
    assert vd.target == "log1p(clv_12)" and vd.target_column == "clv_12"
    assert "log_avg_order_value" in vd.predictors
    assert "total_spend" in vd.excluded and "p_alive" in vd.excluded
    assert "clv_12" in vd.correlations.columns and "p_alive" in vd.correlations.columns
    assert any("model forecast" in n for n in vd.notes)
    assert vd.regression.y == "log1p_clv_12"


def test_explicit_target_and_unusable_columns(retail_customers):
    c = retail_customers.assign(flat=1.0, gone=np.nan)
    vd = value_drivers(c, features=["n_orders", "total_spend", "recency_days", "flat", "gone"])
    assert set(vd.correlations.dropped) == {"flat", "gone"}
    assert any("flat left out" in n for n in vd.notes)


def test_negative_spend_is_left_out_with_a_note(retail_customers):
    c = retail_customers.copy()
    c.loc[c.index[:3], "total_spend"] = -5.0
    vd = value_drivers(c)
    assert vd.regression.n == len(c) - 3
    assert any("3 customers with negative total_spend" in n for n in vd.notes)


def test_no_value_column():
    with pytest.raises(InputError, match="total_spend"):
        value_drivers(pd.DataFrame({"n_orders": [1, 2, 3], "recency_days": [1, 2, 3]}))
    with pytest.raises(InputError, match="DataFrame"):
        value_drivers(None)
