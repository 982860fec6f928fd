"""Benchmark: wall time and peak RSS of valuemax next to a plain Polars group-by, same run.

Jobs (each in its own process, so peak RSS is that job's alone):

1. ``analyze`` end to end on UCI Online Retail (541,909 lines), as the CLI runs it.
2. For each ``--lines`` N (default 10M): the customer table on a synthetic log of N lines /
   N/10 customers / 4,000 products, drawn from a seeded generator: valuemax (Ibis on DuckDB,
   result to Arrow) vs Polars (lazy scan + group-by computing the same columns);
3. ``analyze`` end to end on the same synthetic log, with the time of every step
   (``summary.json`` ``timings_s``), the process CPU time and the peak RSS.

Usage::

    python benchmarks/bench_analyze.py --lines 1000000 --lines 10000000 [--lines 30000000]
        [--skip-analyze-synthetic] [--skip-retail] [--json out.json]

A size above 10M lines runs only when the analyze of the largest smaller size peaked under
8 GB (issue 12). Prints one table per size and the ratios to Polars in the same run; targets
(issue 12): 10M lines end to end <= 8x the Polars customer table and <= 4 GB peak, 30M
under 8 GB. Wall times on a shared machine depend on its load: the CPU seconds beside them
say how much work each job did.
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
    import itertools
    import resource

    import valuemax

    stamps: list[tuple[str, float, float]] = []

    def stamp(step: str) -> None:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        stamps.append((step, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024))

    res = valuemax.analyze(path, out=out, random_state=0, on_step=stamp)
    stamp("end")
    # per step: process CPU seconds it used, and the process's peak RSS when it ended
    # (ru_maxrss only grows: a step that raised the peak shows it first)
    steps_cpu = {a[0]: round(b[1] - a[1], 2) for a, b in itertools.pairwise(stamps)}
    steps_peak = {a[0]: round(b[2]) for a, b in itertools.pairwise(stamps)}
    return {"customers": len(res.customers), "rows_in": res.quality.rows_in,
            "timings_s": dict(res.timings_s), "steps_cpu_s": steps_cpu,
            "steps_peak_rss_mb": steps_peak, "skipped": dict(res.skipped)}


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
    """Run one job in a fresh interpreter; return wall time (s), CPU (s), peak RSS (MB) and
    its output."""
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


def _row(label: str, info: dict) -> str:
    return (f"{label:<52} {info['wall_s']:>8.1f} {info['cpu_s']:>8.1f} "
            f"{info['peak_rss_mb']:>12.0f} {info['customers']:>10,}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, action="append")
    ap.add_argument("--skip-analyze-synthetic", action="store_true")
    ap.add_argument("--skip-retail", action="store_true")
    ap.add_argument("--json", help="write every measurement to this file")
    ap.add_argument("--job", nargs=3)
    args = ap.parse_args()
    if args.job:
        import resource

        name, path, out = args.job
        info = JOBS[name](path, out)
        ru = resource.getrusage(resource.RUSAGE_SELF)
        info["peak_rss_mb"] = ru.ru_maxrss / 1024
        info["cpu_s"] = ru.ru_utime + ru.ru_stime
        print(json.dumps(info))
        return
    import tempfile

    sizes = sorted(args.lines or [10_000_000])
    results: dict = {"sizes": {}}
    header = f"{'job':<52} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} {'customers':>10}"
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_retail:
            retail = str(_dataset("online_retail/online_retail.csv.gz"))
            info = run_job("analyze_file", retail, f"{tmp}/or")
            results["online_retail"] = info
            print(header)
            print(_row("analyze, Online Retail (541,909 lines)", info))
            _steps(info)
        peak_before = 0.0
        for lines in sizes:
            if lines > 10_000_000 and peak_before >= 8 * 1024:
                print(f"{lines:,} lines skipped: the smaller run peaked at {peak_before:,.0f} "
                      "MB (>= 8 GB)")
                continue
            synth = str(make_synthetic(lines))
            label = f"{lines:,} lines"
            rows = {"valuemax": run_job("customers_valuemax", synth, tmp),
                    "polars": run_job("customers_polars", synth, tmp)}
            if not args.skip_analyze_synthetic:
                rows["analyze"] = run_job("analyze_file", synth, f"{tmp}/syn{lines}")
                peak_before = rows["analyze"]["peak_rss_mb"]
            results["sizes"][lines] = rows
            print(f"\n{label}")
            print(header)
            print(_row("customer table, valuemax/DuckDB", rows["valuemax"]))
            print(_row("customer table, Polars group-by", rows["polars"]))
            p = rows["polars"]
            v = rows["valuemax"]
            print(f"customer table: valuemax / Polars wall = {v['wall_s'] / p['wall_s']:.2f}x")
            if "analyze" in rows:
                a = rows["analyze"]
                print(_row("analyze end to end", a))
                print(f"analyze / Polars customer table: wall {a['wall_s'] / p['wall_s']:.1f}x "
                      f"(target <= 8x at 10M), CPU {a['cpu_s'] / p['cpu_s']:.1f}x; peak "
                      f"{a['peak_rss_mb']:,.0f} MB (target <= 4096 MB at 10M)")
                _steps(a)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))


def _steps(info: dict) -> None:
    steps = info.get("timings_s") or {}
    if steps:
        print("  steps (s): " + ", ".join(f"{k} {v:.1f}" for k, v in
                                         sorted(steps.items(), key=lambda kv: -kv[1])))
    cpu, peak = info.get("steps_cpu_s") or {}, info.get("steps_peak_rss_mb") or {}
    if cpu:
        print("  steps in run order (CPU s / peak RSS MB at its end): " + ", ".join(
            f"{k} {cpu[k]:.1f}/{peak[k]:,}" for k in cpu))
    if info.get("skipped"):
        print("  skipped: " + "; ".join(f"{k}: {v[:80]}" for k, v in info["skipped"].items()))


if __name__ == "__main__":
    main()
