"""Benchmark: valuemax association rules next to mlxtend's apriori on a dense one-hot frame,
and the main job's basket step at scale next to a plain Polars group-by of the baskets.

Jobs (each in its own process, so peak RSS is that job's alone), same thresholds, same run:

1. Groceries (arules export, 9,835 baskets × 169 items), min_support 0.001,
   min_confidence 0.5, no max_len: valuemax ``read_baskets`` + ``mine_rules`` (FP-growth on
   a sparse frame, exact integer thresholds) vs mlxtend ``apriori`` + ``association_rules``
   on a dense boolean one-hot DataFrame.
2. Online Retail (standard cleaning, orders × stock codes), the thresholds
   ``choose_thresholds`` picks (stated in the output): valuemax ``build_baskets`` (in DuckDB)
   + ``mine_rules`` vs mlxtend ``apriori`` on the dense one-hot frame of the same
   (order, product) pairs. Reading and cleaning the CSV is done once beforehand (the pairs
   are written to a parquet file) and is not timed in either job.
3. With ``--lines N`` (repeatable; e.g. 100000, 1000000, 10000000): the synthetic log of
   ``benchmarks/bench_analyze.py`` (N lines, N/10 customers), read and cleaned once as
   ``analyze`` does (standard preset; cached as ``benchmarks/_data/basket_clean_N.duckdb``
   and ``.parquet``, not timed), then ``valuemax.basket.analyze_baskets`` on the stored clean
   lines (baskets, thresholds, rules, recommendations for every customer, the holdout
   evaluation, item lift and names: the main job's basket step) beside a plain Polars
   group-by of the same lines into baskets (each order's distinct products, its customer
   and first time) as the anchor. Wall, CPU (all threads) and peak RSS of each.

Usage: ``python benchmarks/bench_basket.py`` (jobs 1-2), ``python benchmarks/bench_basket.py
--lines 1000000 --lines 10000000 [--skip-rules]``. Prints a table (wall s, peak RSS MB,
itemsets, rules); the counts of both columns must agree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _dataset(name: str) -> Path:
    """A real data file by its ``../shared/datasets`` name: under ``VALUEMAX_SHARED_DATASETS``
    when that is set and holds it, else the copy in the repository (tests/data/README.md)."""
    env = os.environ.get("VALUEMAX_SHARED_DATASETS")
    if env and (Path(env) / name).is_file():
        return Path(env) / name
    if name == "online_retail/online_retail.csv.gz":
        from valuemax.datasets import path

        return path("online_retail")
    return ROOT / "tests" / "data" / Path(name).name


JOBS = {}


def job(fn):
    JOBS[fn.__name__] = fn
    return fn


def _mlxtend_rules(onehot, p: dict) -> dict:
    from mlxtend.frequent_patterns import apriori, association_rules

    fi = apriori(onehot, min_support=p["min_support"], max_len=p["max_len"], use_colnames=True)
    rules = association_rules(fi, num_itemsets=len(onehot), metric="confidence",
                              min_threshold=p["min_confidence"])
    rules = rules[rules["lift"] >= p["min_lift"]]
    return {"itemsets": len(fi), "rules": len(rules)}


def _valuemax_rules(baskets, p: dict) -> dict:
    from valuemax.basket import mine_rules

    rs = mine_rules(baskets, min_support=p["min_support"], min_confidence=p["min_confidence"],
                    min_lift=p["min_lift"], max_len=p["max_len"])
    return {"itemsets": len(rs.itemsets), "rules": len(rs.rules)}


@job
def groceries_valuemax(path: str, params: str) -> dict:
    from valuemax.basket import read_baskets

    return _valuemax_rules(read_baskets(path), json.loads(params))


@job
def groceries_mlxtend(path: str, params: str) -> dict:
    import gzip

    import pandas as pd
    from mlxtend.preprocessing import TransactionEncoder

    with gzip.open(path, "rt", encoding="utf-8") as fh:
        baskets = [sorted({x.strip() for x in line.rstrip("\n").split(",") if x.strip()})
                   for line in fh]
    enc = TransactionEncoder()
    onehot = pd.DataFrame(enc.fit(baskets).transform(baskets), columns=enc.columns_)
    return _mlxtend_rules(onehot, json.loads(params))


@job
def retail_valuemax(path: str, params: str) -> dict:
    from valuemax.basket import build_baskets
    from valuemax.engines import connect

    con = connect(None)
    return _valuemax_rules(build_baskets(con.read_parquet(path)), json.loads(params))


@job
def retail_mlxtend(path: str, params: str) -> dict:
    import pyarrow.parquet as pq

    pairs = pq.read_table(path, columns=["order_id", "product_id"]).to_pandas()
    pairs = pairs.drop_duplicates()
    onehot = (pairs.assign(v=True).pivot(index="order_id", columns="product_id", values="v")
              .notna())
    return _mlxtend_rules(onehot, json.loads(params))


@job
def analyze_baskets_valuemax(path: str, params: str) -> dict:
    import ibis

    from valuemax.basket import analyze_baskets

    con = ibis.duckdb.connect(path, read_only=True)
    res = analyze_baskets(con.table("transactions_clean"), random_state=0)
    ev = res.evaluation or {}
    return {"itemsets": len(res.rule_set.itemsets), "rules": len(res.rule_set.rules),
            "baskets": res.baskets["n_baskets"], "recommendations": len(res.recommendations),
            "evaluated": ev.get("n_customers_evaluated")}


@job
def baskets_polars(path: str, params: str) -> dict:
    import polars as pl

    got = (pl.scan_parquet(path).filter(pl.col("product_id").is_not_null())
           .group_by("order_id")
           .agg(customer=pl.col("customer_id").min(), first=pl.col("order_ts").min(),
                items=pl.col("product_id").unique())
           .collect())
    return {"itemsets": 0, "rules": 0, "baskets": got.height, "recommendations": 0,
            "evaluated": None}


def prepare_synthetic(lines: int) -> tuple[str, str]:
    """The clean lines of the synthetic log of ``lines`` lines (read and cleaned as analyze
    does), as a DuckDB file and a parquet file under benchmarks/_data (made once)."""
    sys.path.insert(0, str(HERE))
    from bench_analyze import make_synthetic

    db = HERE / "_data" / f"basket_clean_{lines}.duckdb"
    pq_path = HERE / "_data" / f"basket_clean_{lines}.parquet"
    if not (db.exists() and pq_path.exists()):
        import duckdb
        import pyarrow.parquet as pq

        from valuemax.clean import clean
        from valuemax.io import read_transactions

        tx = clean(read_transactions(str(make_synthetic(lines))), returns="net").transactions
        table = tx.to_pyarrow()
        pq.write_table(table, pq_path)
        con = duckdb.connect(str(db))
        con.register("lines", table)
        con.execute("create or replace table transactions_clean as select * from lines")
        con.close()
    return str(db), str(pq_path)


def prepare_retail(tmp: str) -> tuple[str, dict]:
    """Clean Online Retail once; write its product lines; choose the thresholds."""
    import pyarrow.parquet as pq

    from valuemax.basket import build_baskets, choose_thresholds
    from valuemax.clean import clean
    from valuemax.io import read_transactions

    ing = read_transactions(str(_dataset("online_retail/online_retail.csv.gz")))
    tx = clean(ing).transactions
    tx = tx.filter(tx.product_id.notnull()).select("customer_id", "order_id", "order_ts",
                                                    "product_id")
    path = f"{tmp}/retail_lines.parquet"
    pq.write_table(tx.to_pyarrow(), path)
    th = choose_thresholds(build_baskets(tx))
    return path, {k: th[k] for k in ("min_support", "min_confidence", "min_lift", "max_len")}


def run_job(name: str, path: str, params: dict) -> dict:
    """Run one job in a fresh interpreter; return wall time (s), peak RSS (MB) and counts."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--job", name, path, json.dumps(params)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    info["wall_s"] = wall
    return info


def scale(sizes: list[int]) -> None:
    """Job 3: analyze_baskets beside the Polars baskets at each size, one table."""
    rows = []
    for lines in sizes:
        db, pq_path = prepare_synthetic(lines)
        rows.append((lines, "Polars group-by of baskets", run_job("baskets_polars", pq_path,
                                                                   {})))
        rows.append((lines, "valuemax analyze_baskets", run_job("analyze_baskets_valuemax",
                                                                db, {})))
    print(f"{'lines':>11} {'job':<28} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} "
          f"{'baskets':>11} {'recs':>9} {'evaluated':>10}")
    for lines, label, info in rows:
        print(f"{lines:>11,} {label:<28} {info['wall_s']:>8.1f} {info['cpu_s']:>8.1f} "
              f"{info['peak_rss_mb']:>12.0f} {info['baskets']:>11,} "
              f"{info['recommendations']:>9,} {info['evaluated'] or 0:>10,}")
    for lines in sizes:
        p, v = (info for n, _, info in rows if n == lines)
        print(f"{lines:,} lines: analyze_baskets / Polars baskets = wall "
              f"{v['wall_s'] / p['wall_s']:.1f}x, CPU {v['cpu_s'] / p['cpu_s']:.1f}x")


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--job":
        import resource

        name, path, params = sys.argv[2:]
        info = JOBS[name](path, params)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        info["peak_rss_mb"] = usage.ru_maxrss / 1024
        info["cpu_s"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(info))
        return
    if "--lines" in sys.argv:
        sizes = [int(sys.argv[i + 1]) for i, a in enumerate(sys.argv) if a == "--lines"]
        scale(sizes)
        if "--skip-rules" in sys.argv:
            return
    rows = []
    groceries = str(_dataset("groceries/groceries_baskets.csv.gz"))
    gp = {"min_support": 0.001, "min_confidence": 0.5, "min_lift": 0.0, "max_len": None}
    with tempfile.TemporaryDirectory() as tmp:
        rows.append(("Groceries, valuemax FP-growth (sparse)",
                     run_job("groceries_valuemax", groceries, gp)))
        rows.append(("Groceries, mlxtend apriori (dense)",
                     run_job("groceries_mlxtend", groceries, gp)))
        retail, rp = prepare_retail(tmp)
        rows.append(("Online Retail, valuemax (DuckDB + FP-growth)",
                     run_job("retail_valuemax", retail, rp)))
        rows.append(("Online Retail, mlxtend apriori (dense)",
                     run_job("retail_mlxtend", retail, rp)))
    print(f"Groceries thresholds: {gp}")
    print(f"Online Retail thresholds (choose_thresholds): {rp}")
    print(f"{'job':<46} {'wall s':>8} {'peak RSS MB':>12} {'itemsets':>9} {'rules':>7}")
    for label, info in rows:
        print(f"{label:<46} {info['wall_s']:>8.1f} {info['peak_rss_mb']:>12.0f} "
              f"{info['itemsets']:>9,} {info['rules']:>7,}")


if __name__ == "__main__":
    main()
