"""The store is one transaction with documented tables only; every CSV is formula-safe."""

from __future__ import annotations

import base64
import csv
import io
import re

import duckdb
import pandas as pd
import pytest

import valuemax
from valuemax._core._csv import FORMULA_START, csv_safe, csv_text
from valuemax.pipeline._workspace import STORE_TABLES

EVIL_ID = '=HYPERLINK("http://evil.example","x")'
EVIL_COUNTRY = "=cmd|' /C calc'!A0"
EVIL_SKU = "=1+2"


def _tables(db):
    with duckdb.connect(str(db), read_only=True) as con:
        return {r[0] for r in con.sql(
            "SELECT table_name FROM information_schema.tables").fetchall()}


def test_the_store_gets_only_documented_tables(tmp_path, small_log, support):
    db = tmp_path / "store.duckdb"
    log = pd.read_csv(small_log, dtype=str)
    log["email"] = "someone@example.com"  # PII: dropped, or kept on purpose in the log tables
    src = tmp_path / "pii.csv"
    log.to_csv(src, index=False)
    holding = []
    for keep in (None, ["email"]):
        valuemax.analyze(str(src), db=db, keep_pii=keep, **support.FAST)
        names = _tables(db)
        assert names <= {*STORE_TABLES, "runs"}
        assert not [n for n in names if n.startswith("_vm")]
        with duckdb.connect(str(db), read_only=True) as con:
            holding.append({r[0] for r in con.sql(
                "SELECT table_name FROM information_schema.columns WHERE column_name = 'email'"
            ).fetchall()})
    # dropped by default (privacy by default); kept on purpose, only in the log tables
    assert holding == [set(), {"transactions_raw", "transactions_clean", "quarantine"}]


def test_every_table_of_a_full_run_is_documented(tmp_path, support):
    # a table added to the store must be added to STORE_TABLES, or --db stores miss it
    src = tmp_path / "log.csv"
    support.make_log(src, "A", n=150, seed=0)
    out = tmp_path / "out"
    valuemax.analyze(str(src), out=out, calibration_end="2012-01-31")
    names = _tables(out / "valuemax.duckdb")
    assert names - {*STORE_TABLES, "runs"} == set()
    assert {"customers", "clv", "propensity_scores", "rules", "calibration_holdout"} <= names


def test_the_store_copy_is_one_transaction(tmp_path, small_log, support, monkeypatch):
    import valuemax.pipeline._workspace as wsmod

    db = tmp_path / "store.duckdb"
    valuemax.analyze(str(small_log), db=db, **support.FAST)
    with duckdb.connect(str(db), read_only=True) as con:
        before = {t: con.sql(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _tables(db)}
    other = tmp_path / "other.csv"
    support.make_log(other, "Q", n=30, seed=9)
    real = wsmod.Workspace.copy_store_to_db

    def failing_copy(self, con, tables=()):
        real_sql, n = con.raw_sql, [0]

        def raw_sql(q, *a, **k):
            if str(q).startswith("CREATE OR REPLACE TABLE vm_dst"):
                n[0] += 1
                if n[0] == 4:
                    raise OSError(5, "simulated failure in the middle of the copy")
            return real_sql(q, *a, **k)
        con.raw_sql = raw_sql
        return real(self, con, tables)

    monkeypatch.setattr(wsmod.Workspace, "copy_store_to_db", failing_copy)
    with pytest.raises(OSError, match="simulated"):
        valuemax.analyze(str(other), db=db, **support.FAST)
    with duckdb.connect(str(db), read_only=True) as con:
        after = {t: con.sql(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _tables(db)}
        ids = {r[0] for r in con.sql("SELECT DISTINCT left(customer_id, 1) FROM customers"
                                     ).fetchall()}
    assert after == before and ids == {"K"}


def test_a_table_the_new_run_does_not_make_is_dropped_from_the_store(tmp_path, support):
    with_sku, no_sku = tmp_path / "a.csv", tmp_path / "b.csv"
    support.make_log(with_sku, "A", n=60, seed=1)
    support.make_log(no_sku, "B", n=40, seed=2, products=False)
    db = tmp_path / "s.duckdb"
    valuemax.analyze(str(with_sku), db=db, **support.FAST)
    assert {"rules", "recommendations"} <= _tables(db)
    valuemax.analyze(str(no_sku), db=db, **support.FAST)
    assert not {"rules", "recommendations"} & _tables(db)


# -- formula-safe CSVs ------------------------------------------------------------------------
def _live_formulas(text: str) -> list[str]:
    """Cells a spreadsheet would evaluate: text starting with = + - @ tab CR, not a number."""
    bad = []
    for row in csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")):
        for cell in row:
            if cell.startswith(FORMULA_START):
                try:
                    float(cell)
                except ValueError:
                    bad.append(cell)
    return bad


@pytest.mark.parametrize("cell", ["=1+2", "+1", "-x", "@SUM(A1)", "\tx", "\rx", EVIL_ID,
                                  EVIL_COUNTRY])
def test_every_owasp_trigger_is_escaped_and_numbers_stay_numbers(cell):
    frame = pd.DataFrame({"t": [cell, "ok"], "n": [-1.5, 2.0],
                          "mixed": pd.Series([-3, cell], dtype=object),
                          "cat": pd.Categorical([cell, "ok"]),
                          cell: [1, 2]})
    text = csv_text(frame)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["t", "n", "mixed", "cat", "'" + cell]
    assert rows[1] == ["'" + cell, "-1.5", "-3", "'" + cell, "1"]
    assert rows[2] == ["ok", "2.0", "'" + cell, "ok", "2"]
    assert frame["t"].iloc[0] == cell  # the input is not modified


def test_plain_text_and_missing_values_are_written_as_they_are():
    frame = pd.DataFrame({"a": ["x=1", " =1", None, "naïve"], "b": [1, None, 3, 4]})
    assert csv_safe(frame)["a"].tolist() == frame["a"].tolist()


def _hostile_log(path, support):
    support.make_log(path, "H", n=60, seed=4)
    log = pd.read_csv(path, dtype=str)
    log.loc[log.customer_id == "H1", "customer_id"] = EVIL_ID
    log.loc[log.Country == "FR", "Country"] = EVIL_COUNTRY
    log.loc[log.sku == "P1", "sku"] = EVIL_SKU
    log.to_csv(path, index=False)


def test_analyze_csvs_and_report_downloads_hold_no_live_formula(tmp_path, support):
    src = tmp_path / "hostile.csv"
    _hostile_log(src, support)
    out = tmp_path / "out"
    valuemax.analyze(str(src), out=out, clusters="kmeans", clv=False, propensity=False)
    customers = (out / "customers.csv").read_text(encoding="utf-8-sig")
    assert "'" + EVIL_ID.replace('"', '""') in customers and not _live_formulas(customers)
    for name in ("rules.csv", "recommendations.csv"):
        assert not _live_formulas((out / name).read_text(encoding="utf-8-sig"))
    html = (out / "report.html").read_text(encoding="utf-8")
    links = re.findall(r'href="data:text/csv;charset=utf-8;base64,([A-Za-z0-9+/=]+)"', html)
    assert len(links) >= 5
    texts = [base64.b64decode(b).decode("utf-8-sig") for b in links]
    escaped = ["'" + v.replace('"', '""') for v in (EVIL_ID, EVIL_COUNTRY, EVIL_SKU)]
    assert any(e in t for t in texts for e in escaped)  # hostile cells are downloadable
    assert [c for t in texts for c in _live_formulas(t)] == []
    # Parquet keeps the original value
    assert EVIL_ID in set(pd.read_parquet(out / "customers.parquet")["customer_id"])


def test_rules_and_clv_out_csvs_hold_no_live_formula(tmp_path, support, cli_runner):
    from valuemax.cli import app

    src = tmp_path / "hostile.csv"
    _hostile_log(src, support)
    out = tmp_path / "parts"
    res = cli_runner.invoke(app, ["rules", str(src), "--out", str(out), "--min-support",
                                  "0.01", "--min-confidence", "0", "--min-lift", "0"])
    assert res.exit_code == 0, res.output
    rules = (out / "rules.csv").read_text(encoding="utf-8-sig")
    assert "'" + EVIL_SKU in rules and not _live_formulas(rules)
    assert not _live_formulas((out / "recommendations.csv").read_text(encoding="utf-8-sig"))
    res = cli_runner.invoke(app, ["clv", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    clv = (out / "clv.csv").read_text(encoding="utf-8-sig")
    assert "'" + EVIL_ID.replace('"', '""') in clv and not _live_formulas(clv)
    assert {"rules.csv", "clv.csv", "clv_summary.json", "rules_summary.json"} <= {
        p.name for p in out.iterdir()}
