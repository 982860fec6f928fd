"""The readout's engine expressions give the same numbers on PySpark local mode as on DuckDB."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from valuemax.engines import connect
from valuemax.experiment import readout


# Third-party noise (as in tests/features/test_retail.py): ibis 12's PySpark backend reads a
# deprecated pandas option, and PySpark 4.0 leaves its result socket to the collector.
@pytest.mark.spark
@pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated:DeprecationWarning",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
)
def test_spark_matches_duckdb(spark):
    rng = np.random.default_rng(7)
    n = 3_000
    df = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                       "arm": rng.choice(["A", "B", "C"], n),
                       "buy": (rng.random(n) < 0.1).astype(np.int64),
                       "spend": rng.gamma(1.0, 20.0, n), "pre": rng.gamma(2.0, 10.0, n)})
    df = pd.concat([df, df.iloc[[0, 1]].assign(arm="C")], ignore_index=True)  # two arms
    kw = {"arm": "arm", "control": "A", "metrics": ["buy", "spend"], "covariates": ["pre"],
          "id_column": "customer_id"}
    duck = readout(df, **kw)
    spark.createDataFrame(pa.Table.from_pandas(df, preserve_index=False)) \
        .createOrReplaceTempView("experiment")
    on_spark = readout(connect(spark).table("experiment"), **kw)
    pd.testing.assert_frame_equal(on_spark.to_frame(), duck.to_frame(), rtol=1e-9)
    pd.testing.assert_frame_equal(on_spark.arm_table, duck.arm_table, rtol=1e-9)
    assert len(on_spark.quarantine) == len(duck.quarantine) == 4
