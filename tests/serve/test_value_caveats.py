"""The warnings the report prints beside CLV reach the API's value blocks and the dashboard.

A shop whose customers never leave (each buys at their own Poisson rate up to the end of
the log) drives the purchase model to its no-drop-out limit: P(alive) is ~1 by the model's
construction, which the report says next to its CLV figures. The store records the run's
value warnings (``runs.caveats``); ``valuemax serve`` (a real server on loopback) returns
them in every value block and the dashboard (a real uvicorn server) shows them above its
CLV tile's figures. A store without warnings shows none.
"""

from __future__ import annotations

import html
import json

import duckdb
import httpx
import numpy as np
import pandas as pd
import pytest
from tests.dashboard.conftest import live_server
from tests.serve.conftest import running_server

import valuemax


def _no_dropout_log(n: int = 300, days: int = 540) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    start = pd.Timestamp("2023-01-01")
    for c in range(n):
        rate = rng.gamma(2.0, 1 / 40)  # purchases per day, for ever
        t = float(rng.integers(0, 60))
        while t < days:
            rows.append({"customer_id": f"K{c:03d}", "order_id": f"{c}-{len(rows)}",
                         "order_ts": start + pd.Timedelta(days=int(t)),
                         "amount": round(float(rng.gamma(3.0, 10.0)), 2)})
            t += rng.exponential(1 / rate)
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def no_dropout_store(tmp_path_factory):
    db = tmp_path_factory.mktemp("caveats") / "store.duckdb"
    result = valuemax.analyze(_no_dropout_log(), out=None, db=db, clusters="none",
                              propensity=False, clv_model="bgnbd")
    return db, result


def test_the_run_records_its_value_warnings(no_dropout_store):
    """The store records the run's caveat list (the one the terminal, summary.json and the
    report show), per step: the P(alive) warning among the value ones."""
    from valuemax.pipeline._caveats import caveats_by_step

    db, result = no_dropout_store
    warning = result.value.p_alive_warning
    assert warning is not None and "no-drop-out limit" in warning  # the premise
    with duckdb.connect(str(db), read_only=True) as con:
        stored = json.loads(con.execute("SELECT caveats FROM runs").fetchone()[0])
    assert stored == caveats_by_step(result.caveats)
    assert stored["value"][0] == warning
    assert [c.text for c in result.caveats if c.step == "value"] == stored["value"]


def test_the_api_value_block_carries_them(no_dropout_store, tmp_path):
    db, result = no_dropout_store
    expected = [c.text for c in result.caveats if c.step == "value"]
    assert result.value.p_alive_warning in expected
    with running_server(db, token=None, tmp=tmp_path) as base:
        stored = httpx.get(f"{base}/customers/K007", timeout=30).json()
        posted = httpx.post(f"{base}/score", timeout=30, json={
            "customer_id": "new", "transactions": [
                {"date": "2024-05-01", "amount": 20.0}, {"date": "2024-05-20", "amount": 30.0}]
        }).json()
    assert stored["value"]["caveats"] == expected
    assert posted["value"]["caveats"] == expected
    assert stored["value"]["p_alive"] > 0.99  # what the caveat is about


def test_the_dashboard_shows_them_above_the_clv(no_dropout_store):
    """Every value caveat of the run, the holdout verdict among them (review: the dashboard
    showed only P(alive)'s warning, not "read CLV as a rough ranking, not as an amount to
    budget on"): this log's model is no better than the naive rate on the holdout, checked
    here from the run's validation."""
    db, result = no_dropout_store
    v = result.value.validation
    assert not v.mae < v.naive_mae  # the premise
    with live_server(db) as url:
        page = httpx.get(url + "/", timeout=30).text
    block = page[page.index('data-caveat="value"'):]
    block = block[:block.index("</div>")]
    for c in result.caveats:
        if c.step == "value":
            assert html.escape(c.text, quote=True) in block, c.code
    assert ("does not predict the holdout better than each customer's past purchase rate "
            f"(average error {v.mae:.3f} against {v.naive_mae:.3f} purchases per customer): "
            "read CLV as a rough ranking, not as an amount to budget on") in html.unescape(block)
    assert page.index('data-kpi="clv_total"') < page.index('data-caveat="value"')


def test_a_store_without_warnings_shows_none(cdnow_store, tmp_path):
    """A run that recorded no value caveat: the dashboard shows no value box (the CDNOW
    sample's own run records some, e.g. its one-day high spenders valued at the mean, so
    a copy of its store has its caveats emptied)."""
    import shutil

    db = tmp_path / "no_caveats.duckdb"
    shutil.copy(cdnow_store, db)
    with duckdb.connect(str(db)) as con:
        recorded = json.loads(con.execute("SELECT caveats FROM runs").fetchone()[0])
        assert "p_alive" not in json.dumps(recorded)  # BG/NBD with real drop-out on CDNOW
        con.execute("UPDATE runs SET caveats = '{}'")
    with live_server(db) as url:
        assert 'data-caveat="value"' not in httpx.get(url + "/", timeout=30).text
