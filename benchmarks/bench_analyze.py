"""Benchmark: wall time and peak RSS of valuemax next to a plain Polars group-by, same run.

Jobs (each in its own process, so peak RSS is that job's alone):

1. ``analyze`` end to end on UCI Online Retail (541,909 lines), as the CLI runs it.
2. For each ``--lines`` N (default 10M): the customer table on a synthetic log of N lines /
   N/10 customers / 4,000 products, drawn from a seeded generator: valuemax (Ibis on DuckDB,
   result to Arrow) vs Polars (lazy scan + group-by computing the same columns);
3. ``analyze`` end to end on the same synthetic log, with the time of every step
   (``summary.json`` ``timings_s``), its CPU seconds and its own peak RSS, DuckDB's and
   Python's shares of the RSS at the step's highest sample (:class:`StepMemory`), the
   process CPU time and the peak RSS.

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


def synthetic_chunks(lines: int, seed: int = 0, chunk: int = 2_000_000):
    """The seeded synthetic log of ``lines`` lines and ``lines // 10`` customers, as Arrow
    tables of ``chunk`` lines each (the same rows whatever is done with them)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    def text(ints):  # Arrow's cast: numpy's astype(str) digits, several times faster
        return pc.cast(pa.array(ints), pa.string())

    rng = np.random.default_rng(seed)
    n_cust = max(lines // 10, 1)
    start = np.datetime64("2022-01-01T00:00:00", "s")
    for lo in range(0, lines, chunk):
        n = min(chunk, lines - lo)
        cust = rng.integers(0, n_cust, n)
        secs = rng.integers(0, 730 * 86400, n)
        ts = start + secs.astype("timedelta64[s]")
        qty = rng.integers(1, 6, n).astype("float64")
        price = np.round(rng.lognormal(1.5, 0.8, n), 2)
        order = cust.astype(np.int64) * 1000 + (secs // 86400) % 1000
        yield pa.table({
            "InvoiceNo": text(order),
            "StockCode": text(rng.integers(10000, 14000, n)),
            "Quantity": qty,
            "InvoiceDate": pa.array(ts.astype("datetime64[us]")),
            "UnitPrice": price,
            "CustomerID": pc.binary_join_element_wise("C", text(cust), ""),
        })


def make_synthetic(lines: int, seed: int = 0) -> Path:
    """Write a seeded synthetic log (parquet) of ``lines`` lines and ``lines // 10`` customers."""
    import pyarrow.parquet as pq

    path = DATA / f"synthetic_{lines}.parquet"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    writer = None
    for table in synthetic_chunks(lines, seed):
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()
    return path


JOBS = {}


def job(fn):
    JOBS[fn.__name__] = fn
    return fn


class StepMemory:
    """Peak memory of each step of one ``analyze`` in this process (Linux ``/proc``).

    At each step's start (``on_step``) the process's RSS high-water mark ``VmHWM`` is read
    (the peak of the step that just ended) and reset by writing ``5`` to
    ``/proc/self/clear_refs`` (Linux >= 4.0), so each figure is that step's own peak, not the
    process's peak so far; when the reset is refused the figures are the running peak
    (monotone) and ``reset`` says so. A thread samples every ``interval`` s the RSS and
    DuckDB's own memory (``duckdb_memory()`` of the store's database: its buffer manager,
    within ``memory_limit``), and keeps, per step, DuckDB's share at the step's highest
    sampled RSS: Python's share (numpy, pandas, scikit-learn, Arrow) is the rest. The
    samples can miss a peak shorter than ``interval``; ``VmHWM`` does not."""

    def __init__(self, interval: float = 0.2):
        import threading

        self.interval, self.step, self.con = interval, None, None
        self.peak_mb: dict[str, float] = {}
        self.sampled: dict[str, tuple[float, float]] = {}  # step -> (rss MB, duckdb MB)
        self.reset = self._reset()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _status(key: str) -> float:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {key} in /proc/self/status")

    @staticmethod
    def _reset() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
            return True
        except OSError:
            return False

    def on_step(self, step: str) -> None:
        self._close_step()
        self.step = step

    def _close_step(self) -> None:
        if self.step is not None:
            self.peak_mb[self.step] = round(self._status("VmHWM"))
            self._reset()

    def _duckdb_mb(self) -> float:
        if self.con is None:
            return 0.0
        cur = self.con.cursor()
        try:
            return cur.execute("select sum(memory_usage_bytes) from duckdb_memory()"
                               ).fetchone()[0] / 2**20
        except Exception:  # the store closed at the end of the run
            return 0.0
        finally:
            cur.close()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            step = self.step
            if step is None:
                continue
            rss = self._status("VmRSS")
            if rss > self.sampled.get(step, (0.0, 0.0))[0]:
                self.sampled[step] = (round(rss), round(self._duckdb_mb()))

    def stop(self) -> None:
        self._close_step()
        self._stop.set()
        self._thread.join()


@job
def analyze_file(path: str, out: str) -> dict:
    import itertools
    import resource

    import valuemax
    import valuemax.pipeline._analyze as pipeline

    stamps: list[tuple[str, float]] = []
    mem = StepMemory()
    connect = pipeline.connect

    def connect_and_keep(*args, **kwargs):  # the store's connection, for duckdb_memory()
        backend = connect(*args, **kwargs)
        mem.con = backend.con
        return backend

    pipeline.connect = connect_and_keep

    def stamp(step: str) -> None:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        stamps.append((step, ru.ru_utime + ru.ru_stime))
        mem.on_step(step)

    res = valuemax.analyze(path, out=out, random_state=0, on_step=stamp)
    stamp("end")
    mem.stop()
    # per step: process CPU seconds it used, and its own peak RSS (StepMemory)
    steps_cpu = {a[0]: round(b[1] - a[1], 2) for a, b in itertools.pairwise(stamps)}
    return {"customers": len(res.customers), "rows_in": res.quality.rows_in,
            "timings_s": dict(res.timings_s), "steps_cpu_s": steps_cpu,
            "steps_peak_rss_mb": {k: v for k, v in mem.peak_mb.items() if k != "end"},
            "steps_peak_reset": mem.reset,
            "steps_sampled_rss_duckdb_mb": {k: v for k, v in mem.sampled.items()
                                            if k != "end"},
            "skipped": dict(res.skipped)}


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
def customers_polars(path: str, out: str, engine: str = "auto") -> dict:
    """The customer table by a plain Polars lazy group-by (``engine``: Polars' collect
    engine, ``"streaming"`` for a log larger than memory)."""
    import polars as pl

    lf = pl.scan_parquet(path).with_columns(
        amount=pl.col("Quantity") * pl.col("UnitPrice"), day=pl.col("InvoiceDate").dt.date()
    )
    obs = lf.select(pl.col("day").max()).collect(engine=engine).item()
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
    ).collect(engine=engine)
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
        # StepMemory resets the high-water mark between steps: the peak is the steps' highest
        info["peak_rss_mb"] = max([ru.ru_maxrss / 1024,
                                   *(info.get("steps_peak_rss_mb") or {}).values()])
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
        what = ("its own peak RSS MB" if info.get("steps_peak_reset")
                else "the process's peak RSS MB at its end")
        print(f"  steps in run order (CPU s / {what}): " + ", ".join(
            f"{k} {cpu[k]:.1f}/{peak.get(k, 0):,.0f}" for k in cpu))
    sampled = info.get("steps_sampled_rss_duckdb_mb") or {}
    if sampled:
        print("  at each step's highest sampled RSS, MB (RSS = DuckDB + Python): " + ", ".join(
            f"{k} {r:,.0f} = {d:,.0f} + {r - d:,.0f}" for k, (r, d) in sampled.items()))
    if info.get("skipped"):
        print("  skipped: " + "; ".join(f"{k}: {v[:80]}" for k, v in info["skipped"].items()))


if __name__ == "__main__":
    main()
