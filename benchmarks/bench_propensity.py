"""Benchmark: propensity feature building + fitting + scoring on a synthetic log.

Reuses the seeded generator of ``bench_analyze.py`` (N lines, N/10 customers, uniform over
730 days; cached in ``benchmarks/_data``). Each job runs in its own process so its peak RSS
is its own:

1. ``frame``: :func:`valuemax.propensity.build_training_frame` at one cutoff (the lines
   reduced once to one row per customer-day, then one group-by for features + label);
2. ``fit``: :func:`valuemax.propensity.fit_propensity` end to end (3 rolling origins +
   holdout + scoring feature queries, both models tuned and calibrated on at most 100,000
   training rows, BG/NBD baseline, permutation importance, scores for every customer).

Each job reports wall seconds, CPU seconds (user + system of the job's process, all its
threads: the figure to compare on a shared, loaded machine) and peak RSS. Each job gets
its own temporary folder (``TMPDIR``) so that DuckDB's spill files of two benchmarks
running at once cannot collide.

Usage: ``python benchmarks/bench_propensity.py [--customers 1000000]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_analyze import _canonical_parquet, make_synthetic  # noqa: E402


def _job(name: str, path: str) -> dict:
    from valuemax.engines import connect
    from valuemax.propensity import build_training_frame, fit_propensity

    con = connect(None)
    tx = _canonical_parquet(con, path).select(
        "customer_id", "order_id", "order_ts", "amount", "quantity")
    if name == "frame":
        df = build_training_frame(tx, cutoffs=["2023-09-01"], horizon_days=90, categorical=())
        return {"customers": len(df), "rows": len(df)}
    res = fit_propensity(tx, horizon_days=90, random_state=0, categorical=())
    d = res.to_dict()
    return {"customers": len(res.scores), "rows": res.n_train + res.n_holdout,
            "auc": d["auc"], "recency_auc": d["baseline_auc"]["recency"],
            "chosen": d["chosen_model"]}


def run_job(name: str, path: str) -> dict:
    """Run one job in a fresh interpreter; return wall and CPU time (s), peak RSS (MB) and
    output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-prop-") as tmp:
        proc = subprocess.run([sys.executable, __file__, "--job", name, path],
                              capture_output=True, text=True, env={**os.environ, "TMPDIR": tmp})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    info["wall_s"] = wall
    info["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return info


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--job", nargs=2)
    args = ap.parse_args()
    if args.job:
        info = _job(*args.job)
        info["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(info))
        return
    path = str(make_synthetic(args.customers * 10))
    print(f"synthetic log: {args.customers * 10:,} lines, {args.customers:,} customers")
    print(f"{'job':<44} {'wall s':>8} {'CPU s':>8} {'peak RSS MB':>12} {'rows':>10}")
    for name, label in (("frame", "build_training_frame, one cutoff"),
                        ("fit", "fit_propensity (features+fit+scores)")):
        info = run_job(name, path)
        print(f"{label:<44} {info['wall_s']:>8.1f} {info['cpu_s']:>8.1f} "
              f"{info['peak_rss_mb']:>12.0f} "
              f"{info['rows']:>10,}")
        if name == "fit":
            print(f"holdout AUC {info['auc']:.4f} ({info['chosen']}), recency alone "
                  f"{info['recency_auc']:.4f}; scored {info['customers']:,} customers")


if __name__ == "__main__":
    main()
