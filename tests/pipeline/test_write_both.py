"""The recommendations' files written from one Arrow conversion (``_write_both``) are the
files ``to_parquet`` and ``write_csv`` write from the frame itself, byte for byte."""

from __future__ import annotations

import numpy as np
import pandas as pd

from valuemax._core._csv import write_csv
from valuemax.pipeline._outputs import _write_both


def test_one_conversion_writes_the_files_pandas_and_write_csv_write(tmp_path):
    ids = np.array(["c1", "=cmd|' /C calc'!A0", "c,3", 'say "hi"', "été", "-2", "c7"],
                   dtype=object)
    frame = pd.DataFrame({
        "customer_id": pd.Series(ids[[0, 0, 1, 2, 3, 4, 5, 6]], dtype=object),
        "rank": np.array([1, 2, 1, 1, 1, 1, 1, 1], dtype=np.int64),
        "item": pd.Series(["p1", "p2", "+p3", "p4", "p\n5", "p6", "p7", "p8"], dtype=object),
        "item_name": pd.Series(["MUG", "CUP | SAUCER", "x", "y", "z", "w", "v", "u"],
                               dtype=str),
        "score": [0.5, 0.25, 1.0, 1 / 3, 2.0, 0.1, 3.0, 0.0],
        "source": pd.Series(["rule", "co-occurrence"] * 4, dtype=object)})
    _write_both(frame, tmp_path / "a.parquet", tmp_path / "a.csv")
    frame.to_parquet(tmp_path / "b.parquet", index=False)
    write_csv(frame, tmp_path / "b.csv")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    text = (tmp_path / "a.csv").read_bytes()
    assert text == (tmp_path / "b.csv").read_bytes()
    assert b"'=cmd" in text and b'"c,3"' in text  # escaped and quoted as write_csv does
