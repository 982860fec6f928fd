"""Compare two ``valuemax analyze`` output folders: are the results identical?

A change meant to save time or memory must not change a result. This compares, between two
output folders of the same log and options (e.g. one from main, one from a branch):

- every ``*.parquet`` export present in either folder (``customers``, ``rules``,
  ``recommendations``, ``quarantine``, ...): same columns, same rows in the same order, and
  the same values exactly (floats bit for bit; NaN equal to NaN);
- ``summary.json``: every figure, except those that describe the run rather than the
  result (``timings_s``, ``peak_rss_mb``, ``params.run_at``, ``source``).

Usage::

    python benchmarks/compare_outputs.py BEFORE_DIR AFTER_DIR

Prints one line per file (``same`` or what differs) and exits with 1 when anything differs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: summary.json keys that describe the run (its clock, memory, time, paths), not its result.
RUN_KEYS = ("timings_s", "peak_rss_mb", "source")


def _frames(before: Path, after: Path, name: str) -> str:
    import pyarrow.parquet as pq

    a, b = pq.read_table(before / name), pq.read_table(after / name)
    if a.schema != b.schema:
        return f"schemas differ:\n  {a.schema}\n  {b.schema}"
    if a.num_rows != b.num_rows:
        return f"{a.num_rows:,} rows before, {b.num_rows:,} after"
    if a.equals(b):
        return "same"
    import pandas as pd

    da, db = a.to_pandas(), b.to_pandas()
    diffs = []
    for col in da.columns:
        try:
            pd.testing.assert_series_equal(da[col], db[col], check_exact=True)
        except AssertionError:
            x, y = da[col], db[col]
            if x.dtype == object:  # list columns (rules' antecedents): compare as tuples
                x, y = (s.map(lambda v: tuple(v) if hasattr(v, "__len__")
                              and not isinstance(v, str) else v) for s in (x, y))
            ne = ~((x == y) | (x.isna() & y.isna()))
            diffs.append(f"{col} ({int(ne.sum()):,} rows, first at {int(ne.to_numpy().argmax())})")
    return "same" if not diffs else "values differ in " + ", ".join(diffs)


def _walk(a: Any, b: Any, where: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in a and k in b:
                _walk(a[k], b[k], f"{where}.{k}", out)
            else:
                out.append(f"{where}.{k} only {'before' if k in a else 'after'}")
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _walk(x, y, f"{where}[{i}]", out)
    elif a != b and not (a != a and b != b):  # NaN == NaN here
        out.append(f"{where}: {a!r} -> {b!r}")


def _summary(before: Path, after: Path) -> str:
    a, b = (json.loads((p / "summary.json").read_text(encoding="utf-8"))
            for p in (before, after))
    for d in (a, b):
        for k in RUN_KEYS:
            d.pop(k, None)
        d.get("params", {}).pop("run_at", None)
    out: list[str] = []
    _walk(a, b, "summary", out)
    return "same" if not out else f"{len(out)} differences: " + "; ".join(out[:20])


def main(before: str, after: str) -> int:
    b, a = Path(before), Path(after)
    names = sorted({p.name for p in b.glob("*.parquet")} | {p.name for p in a.glob("*.parquet")})
    bad = 0
    for name in names:
        if not (b / name).exists() or not (a / name).exists():
            verdict = "only in " + ("after" if not (b / name).exists() else "before")
        else:
            verdict = _frames(b, a, name)
        bad += verdict != "same"
        print(f"{name:<32} {verdict}")
    verdict = _summary(b, a)
    bad += verdict != "same"
    print(f"{'summary.json':<32} {verdict}")
    return int(bad > 0)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
