"""The jobs' options objects: validated once when built, shared by analyze and the part
jobs, and filled by the flat keywords; the renamed keywords still work with a warning."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pandas as pd
import pytest

import valuemax
from valuemax.exceptions import InputError
from valuemax.pipeline import (
    CleanOptions,
    EngineOptions,
    PrivacyOptions,
    PropensityOptions,
    ReadOptions,
    SegmentOptions,
    ValueOptions,
    customer_value,
)

CDNOW_COLUMNS = ["customer_id", "customer_index", "date", "number_of_cds", "dollar_value"]


@pytest.mark.parametrize(("build", "message"), [
    (lambda: ReadOptions(decimal=";"), "decimal=';' is not a valid option"),
    (lambda: ReadOptions(columns=["a", ""]), "columns= must be non-empty names"),
    (lambda: CleanOptions(preset="strict"), "preset='strict' is not a valid option"),
    (lambda: CleanOptions(observation_end="30/06/1998"),
     "observation_end='30/06/1998' is not a date YYYY-MM-DD"),
    (lambda: SegmentOptions(clusters="dbscan"), "clusters='dbscan' is not a valid option"),
    (lambda: SegmentOptions(k_min=6, k_max=3), r"k_max=3 must be a number of clusters"),
    (lambda: ValueOptions(horizon_months=0),
     r"horizon_months=0 must be a whole number of months in 1\.\.600"),
    (lambda: ValueOptions(time_unit="M"), "time_unit='M' is not a valid option"),
    (lambda: ValueOptions(discount_rate=1.0), r"discount_rate=1\.0 must be a monthly rate"),
    (lambda: ValueOptions(margin=0), "margin=0 must be a share of revenue"),
    (lambda: ValueOptions(model="gamma"), "clv_model='gamma' is not a valid option"),
    (lambda: PropensityOptions(horizon_days=4000),
     r"horizon_days=4000 must be a whole number of days in 1\.\.3650"),
    (lambda: PropensityOptions(enabled="yes"), "propensity='yes' is not a valid option"),
    (lambda: PrivacyOptions(pseudonym_key="k" * 20), "pass pseudonymize=True as well"),
    (lambda: PrivacyOptions(keep_pii=["email", ""]), "keep_pii= must be column names"),
    (lambda: EngineOptions(table="orders"), "table= reads from another engine"),
    (lambda: EngineOptions(engine="duckdb", schema="results"), "schema='results' names"),
    (lambda: EngineOptions(spark_master="local[2]"), "it needs engine='spark'"),
])
def test_each_object_refuses_a_bad_field_when_built(build, message):
    with pytest.raises(InputError, match=message):
        build()


@pytest.mark.parametrize("returns", ["exclude", "net"])
def test_returns_with_preset_none_is_refused_as_an_option_that_does_nothing(returns):
    # --preset none --returns exclude quietly kept every return line in the clean log
    with pytest.raises(InputError, match=(
            rf"returns='{returns}' cannot be combined with preset='none': that preset has "
            r"no return rule, so return and cancellation lines stay in the clean log .*"
            r"\(preset 'none' quarantines: only lines that cannot be used at all .*\)\. To "
            r"quarantine returns use preset='classic' .* or preset='standard' with "
            r"returns='exclude'.*leave the returns option out")):
        CleanOptions(preset="none", returns=returns)
    assert CleanOptions(preset="none").returns is None  # the preset's own choice: kept
    assert CleanOptions(preset="classic", returns="exclude").returns == "exclude"


@pytest.mark.parametrize(("engine", "message"), [
    ("oracle", r"engine='oracle' is not one of \['duckdb', 'spark'\] nor a URL such as "
               r"'postgres://user:password@host:5432/database' or 'mysql://\.\.\.' "
               r"\(CLI --engine\)"),
    ("Spark", r"engine='Spark' is not one of \['duckdb', 'spark'\]"),
    ("sqlite:///shop.db", r"engine sqlite:///shop\.db: the scheme 'sqlite' is not supported; "
                          r"valuemax runs on DuckDB"),
    ("oracle://ann:s3cret@db:1521/x", r"engine oracle://ann:\*\*\*@db:1521/x: the scheme "
                                      r"'oracle' is not supported"),
])
def test_engine_options_refuse_an_unsupported_engine_when_built(tmp_path, engine, message):
    with pytest.raises(InputError, match=message) as info:
        EngineOptions(engine=engine)
    assert "s3cret" not in str(info.value)
    # analyze refuses it with the same message before reading: the missing file is not named
    missing = tmp_path / "never-read.csv"
    with pytest.raises(InputError, match=message) as info:
        valuemax.analyze(str(missing), engine=engine, out=None)
    assert "never-read" not in str(info.value)


def test_engine_options_build_a_supported_url_without_opening_it():
    # port 1 of loopback: nothing listens there; the server is reached only by the job
    url = "postgres://ann:s3cret@127.0.0.1:1/shop"
    assert EngineOptions(engine=url).engine == url
    assert EngineOptions(engine="mariadb://ann@127.0.0.1:1/shop").engine.startswith("mariadb")


def test_objects_are_frozen_and_hold_checked_values():
    clean = CleanOptions(observation_end="1998-06-30")
    assert clean.observation_end == dt.date(1998, 6, 30)  # parsed once, here
    value = ValueOptions(calibration_end=dt.datetime(1997, 9, 30))
    assert value.calibration_end == dt.date(1997, 9, 30)
    assert PrivacyOptions(keep_pii="email").keep_pii == ("email",)
    assert ReadOptions(columns="a,b").columns == ("a", "b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        clean.preset = "none"  # type: ignore[misc]
    # the key is never shown
    assert "secret" not in repr(PrivacyOptions(pseudonymize=True, pseudonym_key="secret" * 4))
    # nor a server password (the URL is kept, masked)
    shown = repr(EngineOptions(engine="postgres://ann:s3cret@db.example:5432/sales",
                               table="orders"))
    assert "s3cret" not in shown and "postgres://ann:***@db.example:5432/sales" in shown
    assert "table='orders'" in shown


def test_an_object_with_one_of_its_flat_keywords_is_refused(tmp_path):
    missing = tmp_path / "nothing-read.csv"  # refused before any reading
    with pytest.raises(TypeError, match=r"both segments= and clusters="):
        valuemax.analyze(missing, segments=SegmentOptions(), clusters="none")
    with pytest.raises(TypeError, match=r"both value= and clv_model="):
        customer_value(missing, value=ValueOptions(), clv_model="bgnbd")
    with pytest.raises(TypeError, match=r"both engine= and table="):
        valuemax.analyze(None, engine=EngineOptions(), table="orders")
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'clusterz'"):
        valuemax.analyze(missing, clusterz="none")
    # a job takes only its own groups: inspect has no value options
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'margin'"):
        valuemax.inspect(missing, margin=0.5)
    # a dict where an object is expected: the fix names the object
    with pytest.raises(TypeError, match=r"read= takes a ReadOptions \(or None\); got dict: "
                                        r"pass read=ReadOptions\(\*\*read\)"):
        valuemax.analyze(missing, read={"columns": ["a", "b"]})


@pytest.fixture(scope="module")
def sample(datasets):
    return str(datasets("cdnow/CDNOW_sample.txt"))


def test_objects_and_flat_keywords_give_the_same_run(sample):
    flat = valuemax.analyze(sample, columns=CDNOW_COLUMNS, time_unit="W", clv=False,
                            propensity=False, k_max=4, random_state=3)
    grouped = valuemax.analyze(
        sample, read=ReadOptions(columns=CDNOW_COLUMNS),
        value=ValueOptions(enabled=False, time_unit="W"),
        propensity=PropensityOptions(enabled=False), segments=SegmentOptions(k_max=4),
        random_state=3)
    pd.testing.assert_frame_equal(flat.customers, grouped.customers)
    without_clock = [{k: v for k, v in r.params.items() if k != "run_at"}
                     for r in (flat, grouped)]
    assert without_clock[0] == without_clock[1]
    assert flat.params["random_state"] == 3 and flat.params["k_max"] == 4
    assert flat.params["columns"] == CDNOW_COLUMNS  # recorded as before: a list
    assert 2 <= flat.clusters.k <= 4


def test_old_seed_warns_and_gives_the_same_clusters(sample):
    new = valuemax.analyze(sample, columns=CDNOW_COLUMNS, clv=False, propensity=False,
                           random_state=7)
    with pytest.warns(FutureWarning, match=r"seed= is renamed random_state="):
        old = valuemax.analyze(sample, columns=CDNOW_COLUMNS, clv=False, propensity=False,
                               seed=7)
    assert old.params["random_state"] == 7 and "seed" not in old.params
    pd.testing.assert_series_equal(old.customers["cluster"], new.customers["cluster"])
    with pytest.warns(FutureWarning), pytest.raises(TypeError, match="both seed= and"):
        valuemax.analyze(sample, seed=1, random_state=2)


def test_old_clv_horizon_warns_and_gives_the_same_value(sample):
    kw = {"columns": CDNOW_COLUMNS, "time_unit": "W", "clv_model": "bgnbd",
          "calibration_end": "1997-09-30"}
    new = customer_value(sample, horizon_months=6, **kw)
    with pytest.warns(FutureWarning, match=r"clv_horizon= is renamed horizon_months="):
        old = customer_value(sample, clv_horizon=6, **kw)
    assert old.horizon_months == new.horizon_months == 6
    pd.testing.assert_frame_equal(old.table, new.table)
    assert "clv_6" in old.table.columns


def _short_log(path):
    """120 days of orders: long enough for two 30-day horizons, not for two of 90 days."""
    day0 = dt.date(2024, 1, 1)
    rows = [(f"c{c:02d}", (day0 + dt.timedelta(days=(c * 7 + k * 23) % 120)).isoformat(),
             10.0 + c) for c in range(40) for k in range(1 + c % 4)]
    pd.DataFrame(rows, columns=["customer_id", "date", "amount"]).to_csv(path, index=False)
    return str(path)


def test_old_horizon_warns_and_gives_the_same_propensity(tmp_path):
    log = _short_log(tmp_path / "log.csv")
    kw = {"clv": False, "clusters": "none"}
    new = valuemax.analyze(log, horizon_days=30, **kw)
    with pytest.warns(FutureWarning, match=r"horizon= is renamed horizon_days="):
        old = valuemax.analyze(log, horizon=30, **kw)
    assert old.params["horizon_days"] == 30 and "horizon" not in old.params
    assert "p_buy_30d" in old.customers
    pd.testing.assert_series_equal(old.customers["p_buy_30d"], new.customers["p_buy_30d"])
