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
3. ``--real``: every BTYD fit the value step makes on the real data (CDNOW sample in weeks
   with the papers' 39-week calibration, CDNOW master and Online Retail in days and weeks):
   optimiser runs (starts and resumptions), log-likelihood to 12 digits and CPU seconds of
   each fit, to compare two trees (``PYTHONPATH=<tree>/src``) fit by fit.

Usage::

    python benchmarks/bench_value_step.py [--customers 5000 --customers 20000]
        [--lines 1000000] [--real]

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


REAL = {  # name -> (bundled data set, customer_value options)
    "cdnow_sample_W": ("cdnow_sample", {
        "columns": ["customer_id", "customer_index", "date", "quantity", "amount"],
        "calibration_end": "1997-09-30", "time_unit": "W"}),
    "cdnow_master_D": ("cdnow_master", {}),
    "retail_D": ("online_retail", {}),
    "retail_W": ("online_retail", {"time_unit": "W"}),
}


def job_real(name: str) -> dict:
    """The BTYD fits of ``customer_value`` on one real data set, refitted one by one."""
    import numpy as np

    import valuemax.clv._base as base
    from valuemax.clv import _btyd
    from valuemax.datasets import path as bundled
    from valuemax.pipeline import customer_value

    data, options = REAL[name]
    calls, runs = [], [0]
    fit, minimize = _btyd.RepeatPurchaseModel.fit, base.minimize

    def capture(self, frequency, recency, T, weights=None, **kw):
        calls.append((type(self), self.get_params(), np.asarray(frequency, float),
                      np.asarray(recency, float), np.asarray(T, float), weights, kw))
        return fit(self, frequency, recency, T, weights, **kw)

    def counting(*args, **kwargs):
        runs[0] += 1
        return minimize(*args, **kwargs)

    _btyd.RepeatPurchaseModel.fit = capture
    customer_value(str(bundled(data)), **options)
    _btyd.RepeatPurchaseModel.fit = fit
    base.minimize = counting
    fits = []
    for cls, params, x, t_x, T, w, kw in calls:
        runs[0] = 0
        t0 = time.process_time()
        m = cls(**params).fit(x, t_x, T, w, **kw)  # with the start the step handed on
        fits.append({"model": cls.__name__, "customers": len(x), "runs": runs[0],
                     "cpu_s": time.process_time() - t0, "loglik": m.loglik_, "params": m.params_,
                     "boundary": list(m.boundary_)})
    return {"fits": fits}


def run(kind: str, size: int | str) -> dict:
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
    ap.add_argument("--real", action="store_true")
    ap.add_argument("--job", nargs=2)
    args = ap.parse_args()
    if args.job:
        warnings.simplefilter("ignore")  # boundary fits warn by design
        kind, size = args.job
        info = (job_pareto(int(size)) if kind == "pareto" else job_real(size)
                if kind == "real" else job_value(int(size)))
        info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(info, default=float))
        return
    if args.real:
        for name in REAL:
            for f in run("real", name)["fits"]:
                print(f"{name} {f['model']} ({f['customers']:,} customers): {f['runs']} "
                      f"optimiser run(s), loglik {f['loglik']:.12g}, {f['cpu_s']:.2f} s CPU, "
                      f"{json.dumps({k: float(f'{v:.6g}') for k, v in f['params'].items()})}"
                      f"{', at ' + '; '.join(f['boundary']) if f['boundary'] else ''}")
        if not (args.customers or args.lines):
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
