"""A store written before the options were renamed (``seed``, ``clv_horizon``, ``horizon``
in its recorded parameters) is still updated: the old keys are read as the new ones."""

from __future__ import annotations

import json
import shutil

import duckdb

from valuemax.pipeline import update
from valuemax.pipeline._recorded import current_names

from ._stores import table


def _rewrite_to_old_keys(store, **old):
    """Rename the new keys of every recorded run to the old ones, with the values ``old``."""
    con = duckdb.connect(str(store))
    try:
        for run_id, params in con.execute("SELECT run_id, parameters FROM runs").fetchall():
            p = json.loads(params)
            for new in ("random_state", "horizon_months", "horizon_days"):
                p.pop(new)
            p.update(old)
            con.execute("UPDATE runs SET parameters = ? WHERE run_id = ?",
                        [json.dumps(p), run_id])
    finally:
        con.close()


def test_update_reads_a_store_recorded_with_the_old_names(cdnow_stores, cdnow_split,
                                                          tmp_path):
    store = tmp_path / "old.duckdb"
    shutil.copy2(cdnow_stores["first"], store)
    # a 6-month CLV horizon and a 45-day buy-again horizon, under the old names only
    _rewrite_to_old_keys(store, seed=0, clv_horizon=6, horizon=45)
    result = update(store, cdnow_split["second"], refit=True)
    assert result.applied and result.mode == "refit"
    clv = table(store, "clv", "customer_id")
    # the refit valued 6 months: the old clv_horizon was read, not the default 12
    assert {"clv_6", "expected_purchases_6"} <= set(clv.columns)
    assert not {"clv_12", "expected_purchases_12"} & set(clv.columns)
    assert len(clv) == 2357
    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT parameters FROM runs ORDER BY started_at").fetchall()
    finally:
        con.close()
    last = json.loads(rows[-1][0])
    # the update's own run row is written with the new names only
    assert (last["random_state"], last["horizon_months"], last["horizon_days"]) == (0, 6, 45)
    assert not {"seed", "clv_horizon", "horizon"} & set(last)


def test_current_names_keeps_a_new_key_over_its_old_one():
    # a row holding both (never written by valuemax) keeps the new key's value
    assert current_names({"seed": 1, "random_state": 2}) == {"random_state": 2}
    assert current_names({"horizon": 30, "preset": "none"}) == {"preset": "none",
                                                                "horizon_days": 30}
