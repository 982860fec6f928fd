"""Outputs are all-or-nothing: a failed run leaves no folder, no store, no partial files."""

from __future__ import annotations

import duckdb
import pytest

import valuemax
from valuemax.exceptions import InputError
from valuemax.pipeline._outputs import csv_safe


def _log(path, n=30):
    path.write_text(
        "order_id,customer_id,order_date,amount,sku\n"
        + "".join(f"{i},{100 + i % 7},2011-0{1 + i % 6}-{1 + i % 27:02d},{5 + i % 4}.5,P{i % 3}\n"
                  for i in range(n)),
        encoding="utf-8",
    )
    return path


def test_failed_run_leaves_no_store_even_with_db_inside_out(tmp_path):
    src = tmp_path / "empty.csv"
    src.write_bytes(b"")
    out = tmp_path / "o5"
    with pytest.raises(InputError):
        valuemax.analyze(str(src), out=out, db=out / "valuemax.duckdb")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]


def test_db_is_written_only_on_success_and_runs_accumulate(tmp_path):
    src = _log(tmp_path / "log.csv")
    db = tmp_path / "store" / "vm.duckdb"
    valuemax.analyze(str(src), db=db, clusters="none")
    valuemax.analyze(str(src), db=db, clusters="none")
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("select count(*) from runs").fetchone()[0] == 2
        assert con.sql("select count(*) from transactions_raw").fetchone()[0] == 30
        assert con.sql("select count(*) from customers").fetchone()[0] == 7
    assert sorted(p.name for p in (tmp_path / "store").iterdir()) == ["vm.duckdb"]


def test_db_that_is_not_a_duckdb_file_is_refused(tmp_path):
    src = _log(tmp_path / "log.csv")
    with pytest.raises(InputError, match="not a DuckDB database"):
        valuemax.analyze(str(src), db=src)
    assert src.read_text(encoding="utf-8").startswith("order_id")


def test_out_that_is_a_file_is_refused(tmp_path):
    src = _log(tmp_path / "log.csv")
    with pytest.raises(InputError, match="not a folder"):
        valuemax.analyze(str(src), out=src)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5])
def test_seed_range(tmp_path, seed):
    src = _log(tmp_path / "log.csv")
    with pytest.raises(InputError, match=r"random_state=.* must be an integer seed in "
                                         r"0\.\.4294967295"):
        valuemax.analyze(str(src), random_state=seed)


def test_csv_export_cannot_run_formulas():
    import pandas as pd

    frame = pd.DataFrame({"customer_id": ["=cmd|' /C calc'!A0", "+SUM(1)", "ok", "@x"],
                          "total_spend": [-2.0, 1.0, 3.0, 4.0]})
    safe = csv_safe(frame)
    assert safe["customer_id"].tolist() == ["'=cmd|' /C calc'!A0", "'+SUM(1)", "ok", "'@x"]
    assert safe["total_spend"].tolist() == [-2.0, 1.0, 3.0, 4.0]
    assert frame["customer_id"].iloc[0] == "=cmd|' /C calc'!A0"  # input unchanged


def test_db_inside_a_new_out_folder(tmp_path):
    src = _log(tmp_path / "log.csv")
    out = tmp_path / "X"
    valuemax.analyze(str(src), out=out, db=out / "store.duckdb", clusters="none")
    valuemax.analyze(str(src), out=out, db=out / "store.duckdb", clusters="none")
    with duckdb.connect(str(out / "store.duckdb"), read_only=True) as con:
        assert con.sql("select count(*) from runs").fetchone()[0] == 2
    assert not (out / "valuemax.duckdb").exists()
    assert not list(tmp_path.glob(".X.partial-*"))


def test_db_in_an_unwritable_place_is_refused_before_the_run(tmp_path):
    src = _log(tmp_path / "log.csv")
    with pytest.raises(InputError, match="db/--db"):
        valuemax.analyze(str(src), db="/proc/nope/x.duckdb")
