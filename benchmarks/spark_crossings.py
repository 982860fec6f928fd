"""Where the rows of a Spark ``--table`` run cross to the driver (issue 14), step by step.

Runs the row-level part of ``analyze --engine spark --table T`` as
``bench_engines.py --engine spark --source table`` does (read, normalise, clean,
customers, calibration), in this process, with every PySpark call that brings rows to the
driver wrapped (``DataFrame.toPandas``, ``toArrow``, ``collect``, ``toLocalIterator``):
each call is listed with the step it ran in, its rows and its bytes (pandas: deep memory
usage; Arrow: ``nbytes``; Row lists: not sized, counted).

With ``--analyze``, the whole ``analyze(engine=spark, table=T, out=DIR)`` runs instead
(every step, the report included; the step named by its ``on_step`` calls), and the job's
CPU seconds (this process and the Spark JVM) and the peak of their summed resident memory
(sampled every 0.1 s) are printed.

Usage::

    PYTHONPATH=$PWD/src python benchmarks/spark_crossings.py --lines 300000 [--analyze] \
        [--json F]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_engines as be  # noqa: E402
from bench_analyze import make_synthetic  # noqa: E402

_STAGE: list[str] = ["connect"]
CROSSINGS: list[dict] = []


def _watch_stages() -> None:
    original = be._stage_peaks

    def patched(first):
        stage, peaks, done = original(first)
        _STAGE[:] = [stage]  # the list the job writes its step name into
        return stage, peaks, done

    be._stage_peaks = patched


def _record(call: str, rows: int, nbytes: int | None) -> None:
    step = _STAGE[0][0] if isinstance(_STAGE[0], list) else _STAGE[0]
    CROSSINGS.append({"step": step, "call": call, "rows": rows, "bytes": nbytes})


def _wrap_pyspark() -> None:
    try:  # PySpark 4: the session's frames are the classic subclass, which overrides these
        from pyspark.sql.classic.dataframe import DataFrame
    except ImportError:
        from pyspark.sql import DataFrame

    to_pandas, collect = DataFrame.toPandas, DataFrame.collect
    to_arrow, local_iter = getattr(DataFrame, "toArrow", None), DataFrame.toLocalIterator

    def w_pandas(self, *a, **k):
        out = to_pandas(self, *a, **k)
        _record("toPandas", len(out), int(out.memory_usage(deep=True).sum()))
        return out

    def w_collect(self, *a, **k):
        out = collect(self, *a, **k)
        _record("collect", len(out), None)
        return out

    def w_arrow(self, *a, **k):
        out = to_arrow(self, *a, **k)
        _record("toArrow", out.num_rows, int(out.nbytes))
        return out

    def w_iter(self, *a, **k):
        n = 0
        for row in local_iter(self, *a, **k):
            n += 1
            yield row
        _record("toLocalIterator", n, None)

    DataFrame.toPandas, DataFrame.collect, DataFrame.toLocalIterator = (
        w_pandas, w_collect, w_iter)
    if to_arrow is not None:
        DataFrame.toArrow = w_arrow
    _wrap_streamed()


def _wrap_streamed() -> None:
    """valuemax's own partition-by-partition reader, where it exists."""
    try:
        from valuemax.engines import _spark_fetch
    except ImportError:
        return
    import pyarrow as pa

    original = _spark_fetch.spark_arrow_batches

    def wrapped(backend, table):
        reader = original(backend, table)
        if reader is None:
            return None
        seen = {"rows": 0, "bytes": 0, "max": 0}

        def batches():
            for batch in reader:
                seen["rows"] += batch.num_rows
                seen["bytes"] += batch.nbytes
                seen["max"] = max(seen["max"], batch.nbytes)
                yield batch
            _record("arrow batches", seen["rows"], seen["bytes"])

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    _spark_fetch.spark_arrow_batches = wrapped


def summary(crossings: list[dict]) -> list[dict]:
    """One row per (step, call): calls, rows and bytes summed."""
    out: dict = defaultdict(lambda: {"calls": 0, "rows": 0, "bytes": 0})
    for c in crossings:
        row = out[(c["step"], c["call"])]
        row["calls"] += 1
        row["rows"] += c["rows"]
        row["bytes"] += c["bytes"] or 0
    return [{"step": s, "call": k, **v} for (s, k), v in out.items()]


def _tree_sampler():
    """Start sampling this process tree's summed RSS; returns ``(peak holder, stop, cpu)``."""
    import threading

    import psutil

    me, peak, stop = psutil.Process(), [0], threading.Event()

    def tree():
        return [me, *me.children(recursive=True)]

    def sample():
        while not stop.wait(0.1):
            total = 0
            for p in tree():
                with contextlib.suppress(psutil.Error):
                    total += p.memory_info().rss
            peak[0] = max(peak[0], total)

    def cpu():
        total = 0.0
        for p in tree():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    threading.Thread(target=sample, daemon=True).start()
    return peak, stop, cpu


def run_analyze(synth: str, tmp: str, memory: str) -> dict:
    """``analyze(engine=spark, table="vm_bench_orders")`` on the synthetic log; returns its
    wall time, steps, the job's CPU s (Python and JVM) and peak tree RSS."""
    import time

    from valuemax.engines import spark_session
    from valuemax.pipeline import analyze

    peak, stop, cpu = _tree_sampler()
    t0 = time.perf_counter()
    session = spark_session(memory=memory)
    session.read.parquet(synth).createOrReplaceTempView("vm_bench_orders")

    def on_step(name):
        _STAGE[:] = [name]

    result = analyze(None, engine=session, table="vm_bench_orders",
                     out=str(Path(tmp) / "out"), on_step=on_step)
    wall = time.perf_counter() - t0
    used = cpu()
    stop.set()
    return {"wall_s": wall, "cpu_s": used, "peak_tree_rss_mb": round(peak[0] / 2**20),
            "timings_s": dict(result.timings_s), "n_customers": len(result.customers),
            "out": str(Path(tmp) / "out")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=300_000)
    ap.add_argument("--spark-memory", default="4g")
    ap.add_argument("--json")
    ap.add_argument("--analyze", action="store_true", help="the whole analyze run")
    ap.add_argument("--keep-out", help="copy analyze's output folder here (--analyze)")
    args = ap.parse_args()
    synth = str(make_synthetic(args.lines))
    _watch_stages()
    _wrap_pyspark()
    with tempfile.TemporaryDirectory() as tmp:
        if args.analyze:
            info = run_analyze(synth, tmp, args.spark_memory)
            print(f"wall {info['wall_s']:.1f} s, CPU {info['cpu_s']:.1f} s (Python + JVM), "
                  f"peak tree RSS {info['peak_tree_rss_mb']:,} MB")
            if args.keep_out:
                import shutil

                shutil.copytree(info["out"], args.keep_out, dirs_exist_ok=True)
        else:
            info = be.rows_on_engine(synth, tmp, "spark", "", args.spark_memory,
                                     "vm_bench_orders")
    rows = summary(CROSSINGS)
    print(f"{args.lines:,} lines; steps (s): "
          + ", ".join(f"{k} {v:.1f}" for k, v in info["timings_s"].items()))
    print(f"{'step':<12} {'call':<16} {'calls':>6} {'rows':>12} {'MB':>10}")
    for r in rows:
        print(f"{r['step']:<12} {r['call']:<16} {r['calls']:>6} {r['rows']:>12,} "
              f"{r['bytes'] / 2**20:>10.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "crossings": CROSSINGS,
                                               "summary": rows}, indent=2, default=str))


if __name__ == "__main__":
    main()
