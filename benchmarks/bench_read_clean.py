"""Time the read and clean steps of ``analyze`` alone, and fingerprint their results.

Runs what ``valuemax.pipeline._analyze._read_and_clean`` runs, on a DuckDB store in a
temporary folder: ``read_source`` (read + protect), ``clean``, the two store writes
(``transactions_clean``, ``quarantine``) and the lost-customers note. Prints wall and CPU
seconds per part and the process's peak RSS (sampled every 50 ms). With ``--fingerprint
out.json`` it writes the quality counts, the notes and, per stored table, its columns, its
row count and two order-independent sums of DuckDB row hashes (with and without
``_row_id``): two runs agree on these when they store the same rows.

Usage::

    PYTHONPATH=src python benchmarks/bench_read_clean.py \
        benchmarks/_data/synthetic_1000000.parquet [--preset standard] [--fingerprint f.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time

import psutil

from valuemax.clean import clean
from valuemax.engines import connect
from valuemax.pipeline._analyze import _with_lost_customers
from valuemax.pipeline._options import ReadOptions
from valuemax.pipeline._prepare import default_returns, read_source
from valuemax.pipeline._store import write_table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("source")
    ap.add_argument("--preset", default="standard")
    ap.add_argument("--fingerprint", help="write counts and table hashes to this JSON file")
    args = ap.parse_args()

    proc, peak, done = psutil.Process(), [0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    con = connect(os.path.join(tempfile.mkdtemp(), "store.duckdb"))
    marks = [(time.perf_counter(), time.process_time())]
    ing = read_source(ReadOptions(), args.source, con)
    marks.append((time.perf_counter(), time.process_time()))
    peak_read = peak[0]
    res = clean(ing, preset=args.preset, returns=default_returns(None, args.preset, ing))
    marks.append((time.perf_counter(), time.process_time()))
    write_table(con, "transactions_clean", res.transactions)
    write_table(con, "quarantine", res.quarantine)
    marks.append((time.perf_counter(), time.process_time()))
    quality = _with_lost_customers(res, ing, con)
    marks.append((time.perf_counter(), time.process_time()))
    done.set()
    parts = ("read", "clean()", "writes", "lost customers")
    print(" | ".join(f"{name} {b[0] - a[0]:.1f} s wall, {b[1] - a[1]:.1f} s CPU"
                     for name, a, b in zip(parts, marks[:-1], marks[1:], strict=True)))
    print(f"peak RSS: read {peak_read / 1e9:.2f} GB, read+clean {peak[0] / 1e9:.2f} GB")
    if args.fingerprint:
        r = res.report
        out = {"rows": [r.rows_in, r.rows_clean, r.rows_quarantined],
               "rules": [(x.code, x.count) for x in r.rules],
               "observation_end": str(res.observation_end), "money": res.money,
               "notes": list(quality.notes)}
        for name in ("transactions_clean", "quarantine"):
            cols = con.table(name).columns
            listed = ", ".join('"' + c + '"' for c in cols)
            row = con.con.execute(
                f"SELECT count(*), sum(hash({listed})::HUGEINT), "
                f"sum(hash(_row_id, {listed})::HUGEINT) FROM \"{name}\"").fetchone()
            out[name] = [cols, [str(x) for x in row]]
        with open(args.fingerprint, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=1, default=str)


if __name__ == "__main__":
    main()
