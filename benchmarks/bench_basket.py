"""Benchmark: valuemax association rules next to mlxtend's apriori on a dense one-hot frame.

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

Usage: ``python benchmarks/bench_basket.py``. Prints a table (wall s, peak RSS MB, itemsets,
rules); the counts of both columns must agree.
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


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--job":
        import resource

        name, path, params = sys.argv[2:]
        info = JOBS[name](path, params)
        info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(info))
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
