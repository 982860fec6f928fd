"""Fixtures for the stats tests: the Online Retail customer table, built by the real stages."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def retail_customers(datasets) -> pd.DataFrame:
    """Online Retail, classic cleaning, one row per customer (4,338 rows, with Country)."""
    from valuemax.clean import clean
    from valuemax.features import customer_table
    from valuemax.io import read_transactions

    ingested = read_transactions(datasets("online_retail/online_retail.csv.gz"))
    try:
        cleaned = clean(ingested, preset="classic")
        expr = customer_table(cleaned.transactions, observation_end=cleaned.observation_end,
                              mode_columns=("Country",))
        return expr.to_pyarrow().to_pandas()
    finally:
        ingested.con.disconnect()


@pytest.fixture(scope="session")
def small_run():
    """The real ``AnalysisResult`` of the small synthetic shop log of the report tests
    (:func:`tests.report._small_run.small_result`, built once per process): the report
    section tests set this folder's stage result on it with ``dataclasses.replace``."""
    from tests.report._small_run import small_result

    return small_result()
