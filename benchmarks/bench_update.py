"""Benchmark: ``valuemax update`` of one day's lines against a full ``analyze``, Online Retail.

The UCI Online Retail log (541,909 lines, 2010-12-01 .. 2011-12-09) is split by date: every
line before the last day, and the last day's lines (2011-12-09). Each job runs in its own
process (whole-process wall time and peak RSS):

1. ``analyze`` of the log without its last day, into a store (the set-up, timed too);
2. ``update`` of that store with the last day's lines (re-score with the stored models);
3. ``update --refit`` of a copy of the same store;
4. ``analyze`` of the whole log (what a daily run without ``update`` costs).

Usage: ``python benchmarks/bench_update.py [--keep DIR]``. Prints a table.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_analyze import _dataset  # noqa: E402

LAST_DAY = "2011-12-09"
_JOB = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import valuemax
from valuemax.pipeline import update
kind, a, b = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "analyze":
    valuemax.analyze(a, db=b, random_state=0)
    extra = {}
else:
    r = update(b, a, refit=kind == "refit")
    extra = {"message": r.message, "timings_s": r.timings_s,
             "drift": None if r.drift is None else r.drift.message}
print(json.dumps({"wall_s": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  **extra}))
"""


def split(folder: Path) -> tuple[Path, Path, Path]:
    """Write ``before.csv`` (lines before the last day), ``day.csv`` (the last day) and
    ``whole.csv`` (the two one after the other)."""
    src = _dataset("online_retail/online_retail.csv.gz")
    with gzip.open(src, "rt", encoding="utf-8", newline="") as fh:
        header, *lines = fh.read().splitlines(keepends=True)
    date_col = header.rstrip("\r\n").split(",").index("InvoiceDate")

    def day(line: str) -> str:  # InvoiceDate holds no comma; Description may: count from the end
        cells = line.rstrip("\r\n").split(",")
        return cells[date_col - len(header.split(","))][:10]

    before = [ln for ln in lines if day(ln) < LAST_DAY]
    last = [ln for ln in lines if day(ln) >= LAST_DAY]
    out = (folder / "before.csv", folder / "day.csv", folder / "whole.csv")
    out[0].write_text(header + "".join(before), encoding="utf-8")
    out[1].write_text(header + "".join(last), encoding="utf-8")
    out[2].write_text(header + "".join(before + last), encoding="utf-8")
    print(f"split: {len(before):,} lines before {LAST_DAY}, {len(last):,} on it")
    return out


def job(kind: str, a: Path, b: Path) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _JOB, kind, str(a), str(b)],
                          capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_s"] = time.perf_counter() - t0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the files and stores in this folder")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="vm-bench-update-"))
    folder.mkdir(parents=True, exist_ok=True)
    before, day, whole = split(folder)
    store = folder / "store.duckdb"
    rows = [("analyze (log without its last day)", job("analyze", before, store))]
    shutil.copy2(store, folder / "store-refit.duckdb")
    rows.append(("update, re-score (last day)", job("rescore", day, store)))
    rows.append(("update --refit (last day)", job("refit", day, folder / "store-refit.duckdb")))
    rows.append(("analyze (whole log)", job("analyze", whole, folder / "whole.duckdb")))
    print(f"{'job':<38}{'process s':>10}{'peak MB':>10}")
    for name, r in rows:
        print(f"{name:<38}{r['process_s']:>10.1f}{r['peak_mb']:>10.0f}")
    for name, r in rows[1:3]:
        print(f"{name}: {r['message']}\n  steps: {r['timings_s']}\n  drift: {r['drift']}")
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
