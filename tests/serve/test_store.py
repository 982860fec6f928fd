"""The store as the service reads it: ids as text, refused stores, the reload rules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

import duckdb
import pytest
from tests.serve.conftest import python_env

from valuemax.exceptions import InputError
from valuemax.serve import StoreReader, load_snapshot


def _copy(cdnow_store, tmp_path):
    store = tmp_path / "store.duckdb"
    shutil.copyfile(cdnow_store, store)
    return store


def test_numeric_ids_are_looked_up_as_text(cdnow_store, tmp_path):
    store = _copy(cdnow_store, tmp_path)
    con = duckdb.connect(str(store))
    for table in ("customers", "segments", "clv", "propensity_scores"):
        con.execute(f"ALTER TABLE {table} ALTER customer_id TYPE BIGINT")
    p_alive = con.execute("SELECT p_alive FROM clv WHERE customer_id = 4").fetchone()[0]
    con.close()
    snap = load_snapshot(store)
    assert all(isinstance(k, str) for k in list(snap.index)[:10])
    row = snap.profile("4")
    assert row is not None and row["v.p_alive"] == p_alive
    assert snap.profile("00004") is None  # the text of the stored number, nothing else
    assert len(snap.index) == 2357


def test_a_file_without_runs_is_refused(cdnow_store, tmp_path):
    store = _copy(cdnow_store, tmp_path)
    with duckdb.connect(str(store)) as con:
        con.execute("DROP TABLE runs")
    with pytest.raises(InputError, match=r"is not a valuemax store: no table runs \(found: "
                                         r"calibration_holdout|clv"):
        StoreReader(store)


def test_duplicate_customer_rows_are_refused(cdnow_store, tmp_path):
    store = _copy(cdnow_store, tmp_path)
    with duckdb.connect(str(store)) as con:
        con.execute("INSERT INTO clv SELECT * FROM clv WHERE customer_id IN ('00004', '00018')")
    with pytest.raises(InputError, match="2 customer ids appear more than once"):
        load_snapshot(store)


def test_a_store_held_by_a_writer_is_refused_at_start(cdnow_store, tmp_path):
    store = _copy(cdnow_store, tmp_path)
    hold = ("import sys, duckdb; con = duckdb.connect(sys.argv[1]); print('open', flush=True); "
            "sys.stdin.readline()")
    with subprocess.Popen([sys.executable, "-c", hold, str(store)], env=python_env(),
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as writer:
        assert writer.stdout.readline().strip() == "open"
        with pytest.raises(InputError, match="holds it open for writing; start the service "
                                             "when that run has finished"):
            StoreReader(store)
        writer.stdin.write("\n")
        writer.stdin.flush()


def test_an_unreadable_new_store_keeps_the_loaded_run(cdnow_store, tmp_path):
    store = _copy(cdnow_store, tmp_path)
    reader = StoreReader(store, retry_seconds=0.0)
    run_id = reader.current().run["run_id"]
    with duckdb.connect(str(store)) as con:
        con.execute("DROP TABLE customers")
    reader.current()  # starts the background reload
    for _ in range(300):
        if reader.reload_error:
            break
        time.sleep(0.05)
    assert "no table customers" in reader.reload_error
    assert "the loaded run is served" in reader.reload_error
    assert reader.current().run["run_id"] == run_id
    assert reader.current().profile("00004") is not None


def test_recommendations_come_best_first_per_customer(cdnow_store, tmp_path):
    from valuemax.serve._app import customer_scores

    store = _copy(cdnow_store, tmp_path)
    with duckdb.connect(str(store)) as con:  # as the basket step writes them (ranks 1..n)
        con.execute("CREATE TABLE recommendations (customer_id VARCHAR, rank BIGINT, "
                    "item VARCHAR, score DOUBLE, source VARCHAR)")
        con.execute("INSERT INTO recommendations VALUES ('00018', 1, 'JAZZ', 0.4, 'rule'), "
                    "('00004', 2, 'POP', 0.2, 'co-occurrence'), ('00004', 1, 'ROCK', 0.9, "
                    "'rule'), ('00021', 1, 'BLUES', 0.3, 'rule')")
    snap = load_snapshot(store)
    got = customer_scores(snap, "00004")
    assert [(p.rank, p.item, p.source) for p in got.next_best_products] == [
        (1, "ROCK", "rule"), (2, "POP", "co-occurrence")]
    assert "next_best_products" not in got.missing
    assert [p.item for p in customer_scores(snap, "00018").next_best_products] == ["JAZZ"]
    other = sorted(set(snap.index) - {"00004", "00018", "00021"})[0]
    none = customer_scores(snap, other)
    assert none.next_best_products == []
    assert "no product suggestion for this customer" in none.missing["next_best_products"]


def test_public_surface_is_all():
    """STYLE.md b.5: ``__all__`` is exactly the public names of ``valuemax.serve``."""
    import types

    import valuemax.serve as serve

    public = {name for name, value in vars(serve).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)
              and name != "annotations"}
    assert public == set(serve.__all__) == {
        "MAX_BODY_BYTES", "MAX_TRANSACTIONS", "TOKEN_ENV", "Snapshot", "StoreReader",
        "check_listen", "create_app", "is_loopback", "load_snapshot", "read_token", "serve"}


def test_skipped_steps_are_null_with_their_reason(cdnow_store, tmp_path):
    """A run with --no-clv and --no-propensity stores no value or churn tables: the answers
    say null and why, with the run's id; /score says it cannot value without a model."""
    import json

    from valuemax.serve._app import customer_scores, score_request
    from valuemax.serve._schemas import ScoreRequest

    store = _copy(cdnow_store, tmp_path)
    with duckdb.connect(str(store)) as con:
        for table in ("clv", "clv_params", "clv_models", "clv_tracking",
                      "clv_holdout_by_frequency", "propensity_scores", "propensity_metrics"):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        params = json.loads(con.execute("SELECT parameters FROM runs").fetchone()[0])
        params |= {"clv": False, "propensity": False}
        con.execute("UPDATE runs SET parameters = ?", [json.dumps(params)])
        run_id = con.execute("SELECT run_id FROM runs").fetchone()[0]
    snap = load_snapshot(store)
    got = customer_scores(snap, "00004")
    assert got.value is None and got.churn is None
    assert got.missing["value"] == (f"customer value was turned off (--no-clv, clv=False) in "
                                    f"run {run_id}")
    assert got.missing["churn"] == ("the buy-again model was turned off (--no-propensity, "
                                    f"propensity=False) in run {run_id}")
    assert got.segment.name is not None and got.rfm.n_orders == 4  # what was stored is given
    scored = score_request(snap, ScoreRequest.model_validate(
        {"transactions": [{"date": "1997-01-01", "amount": 10.0}]}))
    assert scored.value is None and "--no-clv" in scored.missing["value"]
    assert scored.btyd.frequency == 0


def test_lines_beyond_every_stored_history_are_said_to_extrapolate(cdnow_store):
    """New user: the README's 1997 lines scored against a 2011 store came back with T of
    5,457 days and no note; the stored customers' histories reach at most their longest T."""
    import datetime as dt

    from valuemax.serve._app import score_request
    from valuemax.serve._schemas import ScoreRequest

    snap = load_snapshot(cdnow_store)
    with duckdb.connect(str(cdnow_store), read_only=True) as con:
        longest = con.execute("SELECT max(T) FROM customers").fetchone()[0]
    unit = 7.0 if snap.time_unit == "W" else 1.0
    first = snap.observation_end - dt.timedelta(days=int(longest * unit) + 400)
    far = score_request(snap, ScoreRequest.model_validate(
        {"transactions": [{"date": first.isoformat(), "amount": 10.0}]}))
    said = [n for n in far.notes if "extrapolate" in n]
    assert longest < far.btyd.T and len(said) == 1
    assert (f"first seen {far.btyd.T * unit:,.0f} days before the observation end, longer "
            f"than any stored customer's history ({longest * unit:,.0f} days)") in said[0]
    near = score_request(snap, ScoreRequest.model_validate(
        {"transactions": [{"date": (snap.observation_end - dt.timedelta(days=30)).isoformat(),
                           "amount": 10.0}]}))
    assert not any("extrapolate" in n for n in near.notes)


def test_a_customer_without_the_runs_buy_again_score_is_told_why(cdnow_store, tmp_path):
    """New user: a customer added by `valuemax update` had null churn (and cluster) fields
    with no reason under `missing` (buy-again scores and clusters stay from the last fit)."""
    from valuemax.serve._app import customer_scores

    store = _copy(cdnow_store, tmp_path)
    with duckdb.connect(str(store)) as con:
        con.execute("DELETE FROM propensity_scores WHERE customer_id = '00004'")
        scored = con.execute("SELECT count(*) FROM propensity_scores").fetchone()[0]
    assert scored > 0  # the others keep theirs
    snap = load_snapshot(store)
    got = customer_scores(snap, "00004")
    assert got.churn is not None and got.churn.p_buy is None
    assert got.missing["churn"].startswith("this customer has no buy-again scores while the "
                                           "store's other customers have")
    assert "valuemax update --refit" in got.missing["churn"]
    other = customer_scores(snap, "00018")
    assert other.churn.p_buy is not None and "churn" not in other.missing
    # clustering was off in this run: no customer has a cluster, so none is said missing
    assert got.segment.cluster is None and "cluster" not in got.missing
