"""Benchmark: the propensity step's permutation importance on a real log, two ways.

Runs ``valuemax.analyze`` on the log (Online Retail by default; CDNOW master with
``--cdnow``) with the permutation table's inputs captured (the fitted model, the holdout
rows and labels), then times :func:`valuemax.propensity._metrics.permutation_table` on them
``--repeats`` times each way, in the same process and interleaved:

- ``columnwise``: the default (each fitted preprocessing applied to the holdout rows once,
  the permuted copies assembled from its output, ``_columnwise.py``);
- ``through the model``: every stacked permuted copy sent through the whole model (the
  path before, still taken for a model whose preprocessing is not known to be column-wise).

Prints the CPU seconds (process user + system) of each call and whether the two tables are
equal bit for bit.

Usage: ``PYTHONPATH=src python benchmarks/bench_permutation.py [--cdnow] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _captured(path: str) -> tuple:
    import valuemax
    import valuemax.propensity._fit as fit

    seen: list[tuple] = []
    table = fit.permutation_table

    def keep(model, x, y, **kw):
        seen.append((model, x, y, kw))
        return table(model, x, y, **kw)

    with mock.patch.object(fit, "permutation_table", keep), \
            tempfile.TemporaryDirectory() as tmp:
        valuemax.analyze(path, out=f"{tmp}/out", random_state=0)
    if not seen:
        raise SystemExit("the propensity step did not run: nothing to time")
    return seen[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cdnow", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    if args.cdnow:
        from valuemax.datasets import path as dataset_path

        path = str(dataset_path("cdnow_master"))
    else:
        # the shared data sets sit beside the project (../shared/datasets)
        path = str(HERE.parent.parent / "shared" / "datasets" / "online_retail"
                   / "online_retail.csv.gz")
    import valuemax.propensity._columnwise as columnwise
    from valuemax.propensity._metrics import permutation_table

    model, x, y, kw = _captured(path)
    print(f"{Path(path).name}: model {type(model).__name__}, holdout {len(x):,} rows x "
          f"{x.shape[1]} features")
    times: dict[str, list[float]] = {"columnwise": [], "through the model": []}
    tables = {}
    for _ in range(args.repeats):
        for name in times:
            off = mock.patch.object(columnwise, "columnwise_scorer", lambda *a: None)
            if name == "through the model":
                off.start()
            try:
                t0 = _cpu()
                tables[name], _ = permutation_table(model, x, y, **kw)
                times[name].append(_cpu() - t0)
            finally:
                if name == "through the model":
                    off.stop()
    for name, cpu in times.items():
        print(f"{name:<20} CPU s: " + ", ".join(f"{c:.2f}" for c in cpu)
              + f"  (median {sorted(cpu)[len(cpu) // 2]:.2f})")
    same = tables["columnwise"].equals(tables["through the model"])
    print(f"tables equal bit for bit: {same}")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
