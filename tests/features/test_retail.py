"""Online Retail (classically cleaned): published counts on DuckDB, and Spark == DuckDB.

Reference figures (datasets/README.md, counted on this file): the usual cleaning keeps
397,884 lines, 18,532 invoices, 4,338 customers and revenue 8,911,407.90.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from valuemax.engines import connect
from valuemax.features import calibration_holdout, customer_table

OBS_END = dt.date(2011, 12, 9)
KWARGS = {"observation_end": OBS_END, "time_unit": "W", "mode_columns": ("Country",)}


def frame(expr) -> pd.DataFrame:
    """Execute through Arrow, sorted by customer (ibis' pandas conversion warns on pandas 3)."""
    return expr.to_pyarrow().to_pandas().sort_values("customer_id", ignore_index=True)


@pytest.fixture(scope="module")
def retail_customers(retail) -> pd.DataFrame:
    return frame(customer_table(retail, **KWARGS))


def test_published_counts(retail_customers):
    out = retail_customers
    assert len(out) == 4_338
    assert int(out["n_lines"].sum()) == 397_884
    assert int(out["n_orders"].sum()) == 18_532  # each invoice belongs to one customer
    assert out["total_spend"].sum() == pytest.approx(8_911_407.90, abs=0.005)
    assert out["first_purchase"].min() == dt.date(2010, 12, 1)
    assert out["last_purchase"].max() == OBS_END
    assert (out["recency"] <= out["T"]).all()


def test_country_is_the_most_frequent_line_country(retail, retail_customers):
    lines = retail.select("customer_id", "Country").to_pyarrow().to_pandas()
    counts = lines.value_counts(["customer_id", "Country"]).rename("n").reset_index()
    counts = counts.sort_values(["customer_id", "n", "Country"], ascending=[True, False, True])
    exp = counts.drop_duplicates("customer_id").sort_values("customer_id", ignore_index=True)
    assert retail_customers["Country"].tolist() == exp["Country"].tolist()
    # 8 customers are recorded in two countries; the table still has one row each
    assert retail_customers["customer_id"].is_unique


def _assert_same(got: pd.DataFrame, exp: pd.DataFrame) -> None:
    assert got.columns.tolist() == exp.columns.tolist()
    for col in exp.columns:
        if exp[col].dtype.kind == "f":
            np.testing.assert_allclose(got[col], exp[col], rtol=1e-9, atol=0, err_msg=col)
        else:
            assert got[col].tolist() == exp[col].tolist(), col


# Third-party noise, not valuemax code: ibis 12's PySpark backend converts every result
# through pandas and reads a deprecated pandas option there (pandas 3 warns), and PySpark
# 4.0's Arrow collection leaves its local result socket to the garbage collector.
@pytest.mark.spark
@pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated:DeprecationWarning",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
)
def test_spark_matches_duckdb(spark, retail, retail_customers, cdnow):
    """The same expressions on PySpark local mode give the same tables as on DuckDB."""
    scon = connect(spark)
    spark.createDataFrame(retail.to_pyarrow()).createOrReplaceTempView("retail_clean")
    s_retail = scon.table("retail_clean")
    # Spark reports timestamps without a scale (DuckDB: scale 6); everything else is equal
    drop_scale = {
        n: (t.copy(scale=None) if t.is_timestamp() else t) for n, t in retail.schema().items()
    }
    assert dict(s_retail.schema().items()) == drop_scale

    expr = customer_table(s_retail, **KWARGS)
    assert expr.schema() == customer_table(retail, **KWARGS).schema()
    _assert_same(frame(expr), retail_customers)

    # the calibration/holdout split too, on CDNOW (NULL order_id, same-day repeat lines)
    spark.createDataFrame(cdnow.to_pyarrow()).createOrReplaceTempView("cdnow")
    split = {"calibration_end": "1997-09-30", "observation_end": "1998-06-30", "time_unit": "W"}
    got = frame(calibration_holdout(scon.table("cdnow"), **split))
    _assert_same(got, frame(calibration_holdout(cdnow, **split)))
    assert len(got) == 2_357
