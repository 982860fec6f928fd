"""Fixtures for the propensity tests: the real logs read and cleaned once, a synthetic log."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from valuemax.clean import clean
from valuemax.engines import connect
from valuemax.io import read_transactions


@pytest.fixture(scope="session")
def con():
    """One in-memory DuckDB (Ibis backend) for the propensity tests."""
    c = connect(None)
    yield c
    c.disconnect()


@pytest.fixture(scope="session")
def retail_clean(con, datasets):
    """Online Retail through the standard cleaning with returns netted (keeps Country)."""
    ing = read_transactions(str(datasets("online_retail/online_retail.csv.gz")), con=con,
                            table_name="retail_raw")
    return clean(ing, returns="net")


@pytest.fixture(scope="session")
def cdnow_clean(con, datasets):
    """CDNOW_master (23,570 customers, 1997-01-01 to 1998-06-30) through the cleaning."""
    ing = read_transactions(str(datasets("cdnow/CDNOW_master.txt")), con=con,
                            table_name="cdnow_raw")
    return clean(ing)


def synthetic_log(n_customers: int = 400, *, seed: int = 0, days: int = 540) -> pd.DataFrame:
    """A seeded log: each customer buys at a Poisson rate until an exponential drop-out."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2022-01-01", "D")
    rows = []
    for i in range(n_customers):
        first = int(rng.integers(0, days // 3))
        rate = rng.gamma(1.0, 1 / 30)              # purchases per day
        death = first + rng.exponential(300.0)
        t, n = float(first), 0
        country = ["UK", "FR", "DE"][i % 3]
        while t < min(death, days) and n < 200:
            rows.append((f"c{i:04d}", f"o{i}-{n}", start + int(t), float(rng.lognormal(3, 1)),
                         f"p{int(rng.integers(0, 20))}", country))
            n += 1
            t += rng.exponential(1 / rate) + 1
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "order_ts", "amount",
                                       "product_id", "Country"]).assign(
        order_ts=lambda d: pd.to_datetime(d["order_ts"]).astype("datetime64[us]"))


@pytest.fixture
def to_table(con) -> Callable[[pd.DataFrame], object]:
    """Register a pandas log in DuckDB through Arrow (never ibis' pandas path)."""
    def make(df: pd.DataFrame):
        return con.create_table(f"t_{uuid.uuid4().hex}", pa.Table.from_pandas(df,
                                                                              preserve_index=False))
    return make


@pytest.fixture(scope="session")
def make_synthetic() -> Callable[..., pd.DataFrame]:
    """:func:`synthetic_log` itself, for tests that need another size or seed."""
    return synthetic_log


@pytest.fixture(scope="session")
def synth() -> pd.DataFrame:
    """The default :func:`synthetic_log` (400 customers, 2022-01-01 to 2023-06-24)."""
    return synthetic_log()


@pytest.fixture(scope="session")
def synth_fit(con, synth):
    """(table, fit_propensity result) on :func:`synth` with H = 90 days, seed 0."""
    from valuemax.propensity import fit_propensity

    t = con.create_table("synth_fit", pa.Table.from_pandas(synth, preserve_index=False))
    return t, fit_propensity(t, horizon_days=90, random_state=0)


@pytest.fixture(scope="session")
def small_run():
    """The real ``AnalysisResult`` of the small synthetic shop log of the report tests
    (:func:`tests.report._small_run.small_result`, built once per process): the report
    section tests set this folder's stage result on it with ``dataclasses.replace``."""
    from tests.report._small_run import small_result

    return small_result()
