"""Benchmark: the value step (BTYD fits) at the no-heterogeneity / no-drop-out boundary.

The synthetic logs of ``bench_analyze.py`` give every customer the same purchase rate and
no drop-out, so the BTYD fits run to the boundary (r, alpha -> inf, s -> 0), the hardest
place for the Pareto/NBD likelihood (see docs/performance.md). Jobs, each in its own
process (peak RSS is that job's alone):

1. ``pareto N``: ``ParetoNBDModel(time_unit="W").fit`` on N customers drawn from that
   boundary (Poisson rate 0.3 a week for 20-78 weeks, no drop-out; seeded), beside
   ``BetaGeoModel`` on the same rows as the anchor (its likelihood has no special function).
2. ``value LINES``: the value step alone (model choice among BG/NBD, MBG/NBD and Pareto/NBD
   on a calibration/holdout split, then Gamma-Gamma and CLV) on the customer table of the
   ``bench_analyze`` synthetic log of LINES lines (LINES/10 customers), time unit W.

Usage::

    python benchmarks/bench_value_step.py [--customers 5000 --customers 20000]
        [--lines 1000000]

Prints CPU seconds (the work done: the machine may be shared), wall seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _boundary_rows(n: int, seed: int = 1):
    import numpy as np

    rng = np.random.default_rng(seed)
    T = rng.uniform(20, 78, n)
    x = rng.poisson(0.3 * T)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)
    return x, t_x, T


def job_pareto(n: int) -> dict:
    from valuemax.clv import BetaGeoModel, ParetoNBDModel

    x, t_x, T = _boundary_rows(n)
    out = {}
    for name, cls in (("pareto", ParetoNBDModel), ("bg_anchor", BetaGeoModel)):
        t0 = time.process_time()
        m = cls(time_unit="W").fit(x, t_x, T)
        out[name] = {"cpu_s": time.process_time() - t0, "params": m.params_}
    return out


def job_value(lines: int) -> dict:
    sys.path.insert(0, str(HERE))
    from bench_analyze import make_synthetic

    from valuemax.clean import clean
    from valuemax.engines import connect
    from valuemax.features import customer_table
    from valuemax.io import read_transactions
    from valuemax.pipeline._value import _run_value

    con = connect(None)
    cleaned = clean(read_transactions(str(make_synthetic(lines)), con=con))
    tx = con.create_table("tx", cleaned.transactions.to_pyarrow())
    cust = customer_table(tx, observation_end=cleaned.observation_end,
                          time_unit="W").to_pyarrow().to_pandas()
    t0 = time.process_time()
    res, skipped = _run_value(con, tx, cust, obs_end=cleaned.observation_end, time_unit="W")
    return {"cpu_s": time.process_time() - t0, "customers": len(cust),
            "distinct_rows": len(cust[["frequency", "recency", "T"]].drop_duplicates()),
            "chosen": None if res is None else res.model_name, "skipped": skipped}


def run(kind: str, size: int) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--job", kind, str(size)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} {size} failed:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    info["wall_s"] = time.perf_counter() - t0
    return info


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, action="append")
    ap.add_argument("--lines", type=int, action="append")
    ap.add_argument("--job", nargs=2)
    args = ap.parse_args()
    if args.job:
        warnings.simplefilter("ignore")  # boundary fits warn by design
        kind, size = args.job[0], int(args.job[1])
        info = job_pareto(size) if kind == "pareto" else job_value(size)
        info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(info, default=float))
        return
    for n in args.customers or [5000, 20000]:
        i = run("pareto", n)
        print(f"Pareto/NBD boundary fit, {n:,} customers: {i['pareto']['cpu_s']:.1f} s CPU "
              f"(BG/NBD anchor {i['bg_anchor']['cpu_s']:.1f} s), job wall {i['wall_s']:.1f} s, "
              f"peak RSS {i['peak_rss_mb']:.0f} MB")
    for lines in args.lines or [1_000_000]:
        i = run("value", lines)
        print(f"value step, {lines:,}-line synthetic ({i['customers']:,} customers, "
              f"{i['distinct_rows']:,} distinct rows): {i['cpu_s']:.1f} s CPU, chosen "
              f"{i['chosen']}; job wall {i['wall_s']:.1f} s (with read/clean/customers), "
              f"peak RSS {i['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
