"""Benchmark: wall time and peak RSS of valuemax next to a plain Polars group-by, same run.

Jobs (each in its own process, so peak RSS is that job's alone):

1. ``analyze`` end to end on UCI Online Retail (541,909 lines), as the CLI runs it.
2. The customer table on a synthetic log of N lines / N/10 customers (default 10M / 1M),
   drawn from a seeded generator: valuemax (Ibis on DuckDB, result to Arrow) vs Polars
   (lazy scan + group-by computing the same columns).
3. ``analyze`` end to end on the same synthetic log.

Usage: ``python benchmarks/bench_analyze.py [--lines 10000000] [--skip-analyze-synthetic]``.
Prints a table; targets (issue 2): Online Retail end to end <= 30 s; customer table within
1.5x of Polars and <= 1.5 GB peak at 10M lines.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
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


def make_synthetic(lines: int, seed: int = 0) -> Path:
    """Write a seeded synthetic log (parquet) of ``lines`` lines and ``lines // 10`` customers."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = DATA / f"synthetic_{lines}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_cust = max(lines // 10, 1)
    chunk = 2_000_000
    writer = None
    start = np.datetime64("2022-01-01T00:00:00", "s")
    for lo in range(0, lines, chunk):
        n = min(chunk, lines - lo)
        cust = rng.integers(0, n_cust, n)
        secs = rng.integers(0, 730 * 86400, n)
        ts = start + secs.astype("timedelta64[s]")
        qty = rng.integers(1, 6, n).astype("float64")
        price = np.round(rng.lognormal(1.5, 0.8, n), 2)
        order = (cust.astype(np.int64) * 1000 + (secs // 86400) % 1000).astype(str)
        table = pa.table({
            "InvoiceNo": pa.array(order),
            "StockCode": pa.array(rng.integers(10000, 14000, n).astype(str)),
            "Quantity": qty,
            "InvoiceDate": pa.array(ts.astype("datetime64[us]")),
            "UnitPrice": price,
            "CustomerID": pa.array(np.char.add("C", cust.astype(str))),
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()
    return path


JOBS = {}


def job(fn):
    JOBS[fn.__name__] = fn
    return fn


@job
def analyze_file(path: str, out: str) -> dict:
    import valuemax

    res = valuemax.analyze(path, out=out, seed=0)
    return {"customers": len(res.customers), "rows_in": res.quality.rows_in}


def _canonical_parquet(con, path: str):
    t = con.read_parquet(path)
    return t.mutate(
        customer_id=t.CustomerID, order_id=t.InvoiceNo, order_ts=t.InvoiceDate,
        amount=t.Quantity * t.UnitPrice, quantity=t.Quantity, unit_price=t.UnitPrice,
    )


@job
def customers_valuemax(path: str, out: str) -> dict:
    from datetime import date

    from valuemax.engines import connect
    from valuemax.features import customer_table

    con = connect(None)
    tx = _canonical_parquet(con, path)
    obs = tx.order_ts.max().execute().date()
    table = customer_table(tx, observation_end=date.fromisoformat(str(obs)), time_unit="D")
    arrow = table.to_pyarrow()
    return {"customers": arrow.num_rows}


@job
def customers_polars(path: str, out: str) -> dict:
    import polars as pl

    lf = pl.scan_parquet(path).with_columns(
        amount=pl.col("Quantity") * pl.col("UnitPrice"), day=pl.col("InvoiceDate").dt.date()
    )
    obs = lf.select(pl.col("day").max()).collect().item()
    days = lf.group_by("CustomerID", "day").agg(spend=pl.col("amount").sum())
    per_day = days.group_by("CustomerID").agg(
        first=pl.col("day").min(), last=pl.col("day").max(), n_days=pl.len(),
        first_spend=pl.col("spend").sort_by("day").first(), day_total=pl.col("spend").sum(),
    )
    lines = lf.group_by("CustomerID").agg(
        n_orders=pl.col("InvoiceNo").n_unique(), n_lines=pl.len(), total_spend=pl.col("amount").sum()
    )
    out_df = per_day.join(lines, on="CustomerID").with_columns(
        frequency=pl.col("n_days") - 1,
        recency=(pl.col("last") - pl.col("first")).dt.total_days().cast(pl.Float64),
        T=(pl.lit(obs) - pl.col("first")).dt.total_days().cast(pl.Float64),
        recency_days=(pl.lit(obs) - pl.col("last")).dt.total_days(),
        tenure_days=(pl.lit(obs) - pl.col("first")).dt.total_days(),
        avg_order_value=pl.col("total_spend") / pl.col("n_orders"),
        monetary_value=pl.when(pl.col("n_days") > 1)
        .then((pl.col("day_total") - pl.col("first_spend")) / (pl.col("n_days") - 1))
        .otherwise(0.0),
    ).collect()
    return {"customers": out_df.height}


def run_job(name: str, path: str, out: str) -> dict:
    """Run one job in a fresh interpreter; return wall time (s), peak RSS (MB) and its output."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--job", name, path, out], capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    info["wall_s"] = wall
    return info


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=10_000_000)
    ap.add_argument("--skip-analyze-synthetic", action="store_true")
    ap.add_argument("--job", nargs=3)
    args = ap.parse_args()
    if args.job:
        import resource

        name, path, out = args.job
        info = JOBS[name](path, out)
        info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(info))
        return
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        retail = str(_dataset("online_retail/online_retail.csv.gz"))
        rows.append(("analyze, Online Retail (541,909 lines)", run_job("analyze_file", retail, f"{tmp}/or")))
        synth = str(make_synthetic(args.lines))
        label = f"{args.lines:,} lines"
        rows.append((f"customer table, valuemax/DuckDB, {label}", run_job("customers_valuemax", synth, tmp)))
        rows.append((f"customer table, Polars group-by, {label}", run_job("customers_polars", synth, tmp)))
        if not args.skip_analyze_synthetic:
            rows.append((f"analyze, synthetic {label}", run_job("analyze_file", synth, f"{tmp}/syn")))
    print(f"{'job':<52} {'wall s':>8} {'peak RSS MB':>12} {'customers':>10}")
    for label, info in rows:
        print(f"{label:<52} {info['wall_s']:>8.1f} {info['peak_rss_mb']:>12.0f} {info['customers']:>10,}")
    v = next(i for lbl, i in rows if "valuemax/DuckDB" in lbl)
    p = next(i for lbl, i in rows if "Polars" in lbl)
    print(f"customer table: valuemax / Polars wall = {v['wall_s'] / p['wall_s']:.2f}x "
          f"(target <= 1.5x), peak {v['peak_rss_mb']:.0f} MB (target <= 1536 MB)")


if __name__ == "__main__":
    main()
