"""The daily update's drift check allows for noise (review: with a fixed ±20% on the demo
log, Online Retail, most single trading days read "drifted").

The stored BG/NBD of the session's Online Retail run forecasts each of the log's last 60
trading days from the customers as of the day before, as a daily update would; the noise
allowance (1.96 x sqrt(dispersion x predicted), the dispersion measured on the log's own
daily repeat purchases) leaves most days unflagged, while half of the purchases removed
over consecutive daily updates is flagged within a week and a half of trading days."""

from __future__ import annotations

import itertools

import duckdb
import ibis
import numpy as np
import pandas as pd
import pytest

from valuemax.clv import BetaGeoModel
from valuemax.pipeline._rescore import StoredModels, daily_dispersion, drift_check


@pytest.fixture(scope="module")
def retail_days(retail_analysis):
    """The store, its BG/NBD and its purchase days ``(customer_id, day)``."""
    store = retail_analysis.out / "valuemax.duckdb"
    with duckdb.connect(str(store), read_only=True) as con:
        days = con.sql("SELECT DISTINCT customer_id, CAST(order_ts AS DATE) AS day FROM "
                       "transactions_clean").df()
        params = dict(con.sql("SELECT parameter, estimate FROM clv_params "
                              "WHERE model = 'BG/NBD'").fetchall())
    days["day"] = pd.to_datetime(days["day"])
    model = BetaGeoModel.from_params(**params, time_unit="D")
    return store, StoredModels("BG/NBD", model, None, {"BG/NBD": params}), days


def _repeat_per_day(days: pd.DataFrame) -> pd.Series:
    """Repeat purchase days (a customer's days after their first) per calendar day."""
    first = days.groupby("customer_id")["day"].transform("min")
    per = days.loc[days["day"] > first].groupby("day").size()
    return per.asfreq("D", fill_value=0).astype(float)


def _dispersion(per: pd.Series, end: pd.Timestamp) -> float:
    win = per[(per.index > end - pd.Timedelta(days=56)) & (per.index <= end)]
    return max(1.0, float(win.var(ddof=1) / win.mean()))


def _update_day(models, days, old, new, since, phi, drop=None):
    """The drift check of a daily update from ``old`` to ``new`` (``drop``: lines left out)."""
    past = days[days["day"] <= old].groupby("customer_id")["day"].agg(["min", "max", "count"])
    before = pd.DataFrame({"customer_id": past.index, "frequency": past["count"] - 1,
                           "recency": (past["max"] - past["min"]).dt.days.astype(float),
                           "T": (old - past["min"]).dt.days.astype(float)})
    fresh = days[(days["day"] > old) & (days["day"] <= new)]
    if drop is not None:
        fresh = fresh.loc[~drop(fresh)]
    new_days = fresh.groupby("customer_id").size().astype(float)
    return drift_check(models, before, new_days, old.date(), new.date(), since, "D",
                       dispersion=phi)


def test_single_days_are_mostly_not_flagged(retail_days):
    store, models, days = retail_days
    per = _repeat_per_day(days)
    trading = np.sort(days["day"].unique())[-61:]
    # the dispersion the update measures equals the one counted here
    con = ibis.duckdb.connect(str(store), read_only=True)
    try:
        phi, n = daily_dispersion(con.table("transactions_clean"),
                                  pd.Timestamp(trading[0]).date())
    finally:
        con.disconnect()
    assert n == 56 and phi == pytest.approx(_dispersion(per, pd.Timestamp(trading[0])))
    assert phi > 5  # real days vary by weekday far beyond Poisson noise
    checks = [_update_day(models, days, pd.Timestamp(o), pd.Timestamp(w), (0.0, 0.0),
                          _dispersion(per, pd.Timestamp(o)))
              for o, w in itertools.pairwise(trading)]
    rel = np.array([c.relative_error for c in checks])
    assert (np.abs(rel) > 0.20).sum() >= 40  # the fixed ±20% called most days drifted
    flagged = sum(c.refit_advised for c in checks)
    assert flagged <= 8, flagged  # measured: 6 of 60 (November peaks twice the forecast)
    for c in checks:
        gap = abs(c.actual - c.predicted)
        assert c.refit_advised == (gap > max(0.2 * c.predicted, c.allowance))
        assert c.allowance == pytest.approx(1.96 * np.sqrt(c.dispersion * c.predicted))
        assert f"noise allowance ±{c.allowance:,.1f} purchases" in c.message


def test_half_the_purchases_removed_is_flagged_within_days(retail_days):
    _, models, days = retail_days
    per = _repeat_per_day(days)
    trading = np.sort(days["day"].unique())[-61:-50]  # early October 2011: ten updates
    rng = np.random.default_rng(0)

    def run(drop):
        since, out = (0.0, 0.0), []
        for o, w in itertools.pairwise(trading):
            old = pd.Timestamp(o)
            c = _update_day(models, days, old, pd.Timestamp(w), since,
                            _dispersion(per, old), drop)
            since = (c.predicted_since_fit, c.actual_since_fit)
            out.append(c)
        return out

    kept = run(None)
    assert not any(c.refit_advised for c in kept)
    halved = run(lambda f: rng.random(len(f)) < 0.5)
    advised = [c.refit_advised for c in halved]
    assert any(advised), [round(c.relative_error, 3) for c in halved]
    first = advised.index(True)
    assert halved[first].relative_error < -0.2
    assert "the data have drifted from the model" in halved[first].message


def test_an_allowance_above_the_prediction_says_the_days_cannot_tell(retail_days):
    """One trading day of Online Retail predicts fewer repeat purchases than its noise
    allowance (a new user's update: ±57.1 against 51.4): the sentence says those days
    cannot tell drift from noise, and after how many days since the fit the allowance falls
    below 20 % of the prediction: 1.96 x √(φ x r x d) < 0.2 x r x d, d > (1.96/0.2)² φ / r
    at r predicted repeat purchases a day."""
    _, models, days = retail_days
    per = _repeat_per_day(days)
    trading = np.sort(days["day"].unique())[-61:]
    checks = [_update_day(models, days, pd.Timestamp(o), pd.Timestamp(w), (0.0, 0.0),
                          _dispersion(per, pd.Timestamp(o)))
              for o, w in itertools.pairwise(trading)]
    noisy = [c for c in checks if c.allowance > c.predicted_since_fit and not c.refit_advised]
    assert len(noisy) >= 5, len(noisy)  # measured on the log's last 60 trading days
    for c in noisy:
        rate = c.predicted_since_fit / c.period_days  # the fit is the stored end here
        need = (1.96 / 0.2) ** 2 * c.dispersion / rate
        assert c.days_needed == pytest.approx(need)
        assert 1.96 * np.sqrt(c.dispersion * rate * need) == pytest.approx(0.2 * rate * need)
        span = f"{c.period_days} {'day' if c.period_days == 1 else 'days'}"
        assert (f"the allowance is larger than the prediction itself: the {span} since the "
                "fit cannot tell drift from noise in this log, no judgement either way: the "
                f"allowance falls below 20% of the prediction after about {need:,.0f} days "
                f"since the fit (at {rate:,.1f} predicted repeat purchases a day, "
                f"{need - c.period_days:,.0f} days more)") in c.message
        assert "no refit needed" not in c.message
    for c in checks:
        if c.allowance <= c.predicted_since_fit and not c.refit_advised:
            assert c.message.endswith(": no refit needed")
