"""Kill ``analyze`` with SIGKILL at many points and check that nothing is lost, mixed or leaked.

Usage::

    PYTHONPATH=src python benchmarks/fault_injection.py [--points read,value,...] [--fast]

Set-up, in a temporary folder: a log ``A`` (customer ids ``A*``) is analysed into ``out/``
and ``store.duckdb``; the user also keeps ``out/notes.txt`` and ``out/mine/data.csv`` there.
Then, for each kill point, ``analyze`` of a different log ``B`` (ids ``B*``) into the same
``out`` and store runs in a child process and is SIGKILLed at that point; afterwards:

- ``out`` holds exactly one complete run (its manifest's files all present, no other
  valuemax file, ``summary.json`` and ``customers.csv`` from the same log, A or B);
- the store's tables all belong to one run (every id-bearing table holds only A or only B
  ids, ``quality`` and the last ``runs`` row agree, and the tables are that run's set);
- the user's files (the logs, ``notes.txt``, ``mine/data.csv``) are byte-identical, with the
  same modification time;
- a following successful run cleans every ``.partial`` folder a dead run left.

Kill points: the steps ``read``, ``clean``, ``customers``, ``clusters``, ``value``,
``propensity``, ``basket``, ``report`` (killed shortly after the step starts, announced by
``analyze(on_step=...)``), ``store-copy`` (inside the store's transaction, after its first
table), ``publish-before-swap`` and ``publish-after-swap`` (around the folder swap). The last
three pause the child at that exact place by wrapping valuemax functions in the child only
(this script's ``--child`` mode); valuemax itself has no test hook.

Exit status 0 when every point passes; a line per point either way.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STEP_POINTS = ("read", "clean", "customers", "clusters", "value", "propensity", "basket",
               "report")
PAUSE_POINTS = ("store-copy", "publish-before-swap", "publish-after-swap")
ALL_POINTS = (*STEP_POINTS, *PAUSE_POINTS)
#: seconds after a step starts before the kill (inside the step on this log)
_STEP_DELAY = {"read": 0.05, "clean": 0.2, "customers": 0.05, "clusters": 0.2, "value": 0.5,
               "propensity": 1.0, "basket": 0.1, "report": 0.3}
ID_TABLES = ("transactions_raw", "transactions_clean", "customers", "segments", "clv",
             "propensity_scores")


def make_log(path: Path, prefix: str, *, n: int = 150, seed: int = 0, days: int = 540) -> int:
    """A seeded log of repeat buyers (Poisson purchases, geometric dropout); returns lines."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2011-01-01")
    rows, oid = ["order_id,customer_id,order_date,amount,sku,Country"], 0
    for c in range(n):
        lam, p, t = rng.gamma(0.8, 1 / 25), rng.beta(1, 6), int(rng.integers(0, 90))
        while t < days:
            for _ in range(int(rng.integers(1, 3))):
                rows.append(f"{prefix}{oid},{prefix}{c},{start + int(t)},"
                            f"{rng.gamma(4, 6):.2f},P{rng.integers(0, 8)},"
                            f"{'UK' if c % 3 else 'FR'}")
            oid += 1
            if rng.random() < p:
                break
            t += int(rng.exponential(1 / lam)) + 1
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return len(rows) - 1


# -- the child: one analyze run, announcing steps and pausing at a chosen place ----------------
def child(src: str, out: str, db: str, pause: str | None, fast: bool) -> None:
    import valuemax.pipeline._workspace as wsmod
    from valuemax.pipeline import analyze

    def say(what: str) -> None:
        print(f"STEP {what}", flush=True)

    def hold(what: str) -> None:
        say(what)
        time.sleep(120)  # the parent kills us here

    if pause == "store-copy":
        real_copy = wsmod.Workspace.copy_store_to_db

        def copy(self, con, tables=()):
            real_sql, n = con.raw_sql, [0]

            def raw_sql(q, *a, **k):
                res = real_sql(q, *a, **k)
                if str(q).startswith("CREATE OR REPLACE TABLE vm_dst"):
                    n[0] += 1
                    if n[0] == 3:
                        hold("store-copy")
                return res
            con.raw_sql = raw_sql
            try:
                return real_copy(self, con, tables)
            finally:
                con.raw_sql = real_sql
        wsmod.Workspace.copy_store_to_db = copy
    elif pause in ("publish-before-swap", "publish-after-swap"):
        real_exchange = wsmod._exchange

        def exchange(a, b):
            if pause == "publish-before-swap":
                hold(pause)
            done = real_exchange(a, b)
            if pause == "publish-after-swap":
                hold(pause)
            return done
        wsmod._exchange = exchange
    kw = {"clusters": "none", "propensity": False} if fast else {}
    analyze(src, out=out, db=db, on_step=say, random_state=0, **kw)
    say("done")


# -- the parent ------------------------------------------------------------------------------
def _fingerprint(paths: list[Path]) -> dict[str, tuple[str, int]]:
    return {str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in paths}


def _run_child(work: Path, src: Path, point: str | None, fast: bool,
               env: dict[str, str]) -> tuple[bool, str]:
    """Run analyze of ``src`` in a child; SIGKILL it at ``point``. (killed?, output)."""
    pause = point if point in PAUSE_POINTS else None
    cmd = [sys.executable, __file__, "--child", str(src), str(work / "out"),
           str(work / "store.duckdb"), pause or "", "fast" if fast else "full"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env, cwd=work)
    lines, killed = [], False
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if point is not None and line.strip() == f"STEP {point}":
            time.sleep(_STEP_DELAY.get(point, 0.0))
            proc.send_signal(signal.SIGKILL)
            killed = True
            break
    proc.wait(timeout=600)
    rest = proc.stdout.read() if not killed else ""
    proc.stdout.close()
    return killed, "".join(lines) + rest


def check_state(work: Path, logs: dict[str, int], user: dict[str, tuple[str, int]],
                expect_tables: dict[str, set[str]]) -> str:
    """Which run ("A" or "B") ``out`` and the store hold; AssertionError when mixed."""
    import duckdb
    import pandas as pd

    out = work / "out"
    manifest = json.loads((out / ".valuemax-manifest.json").read_text(encoding="utf-8"))
    files = set(manifest["files"])
    present = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    missing = files - present
    assert not missing, f"manifest files missing from out: {sorted(missing)}"
    extra = present - files - {"notes.txt", "mine"}
    assert not extra, f"files in out that no manifest claims: {sorted(extra)}"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    run = next(k for k, n in logs.items() if summary["rows_in"] == n)
    ids = pd.read_csv(out / "customers.csv", dtype=str)["customer_id"]
    assert ids.str.startswith(run).all(), "customers.csv and summary.json are from two runs"
    assert Path(summary["source"]).name == f"{run.lower()}.csv"

    with duckdb.connect(str(work / "store.duckdb")) as con:
        tables = {r[0] for r in con.sql(
            "SELECT table_name FROM information_schema.tables").fetchall()}
        db_run = None
        for t in ID_TABLES:
            if t not in tables:
                continue
            prefixes = {r[0] for r in con.sql(
                f'SELECT DISTINCT left(CAST(customer_id AS VARCHAR), 1) FROM "{t}"').fetchall()}
            assert len(prefixes) == 1, f"store table {t} mixes runs: {prefixes}"
            (p,) = prefixes
            assert db_run in (None, p), f"store table {t} is from run {p}, others from {db_run}"
            db_run = p
        last = con.sql("SELECT rows_in FROM runs ORDER BY finished_at DESC LIMIT 1").fetchone()
        assert last[0] == logs[db_run], "runs' last row is not the run of the tables"
        n_raw = con.sql("SELECT count(*) FROM transactions_raw").fetchone()[0]
        assert n_raw == logs[db_run], "transactions_raw is from another run"
        leaked = sorted(t for t in tables if t.startswith(("_vm", "ibis_cache")))
        assert not leaked, f"private tables in the store: {leaked}"
        assert tables == expect_tables[db_run], (
            f"store tables of run {db_run} differ: {sorted(tables ^ expect_tables[db_run])}")
    now = _fingerprint([Path(p) for p in user])
    assert now == user, "a user file was changed"
    return f"out={run} store={db_run}"


def setup(work: Path, env: dict[str, str], fast: bool) -> tuple[dict, dict, dict]:
    """Logs A and B, the user's files, a first run of A; returns (logs, user, tables)."""
    logs = {"A": make_log(work / "a.csv", "A", seed=0),
            "B": make_log(work / "b.csv", "B", n=120, seed=1)}
    out = work / "out"
    out.mkdir()
    (out / "notes.txt").write_text("my notes\n", encoding="utf-8")
    (out / "mine").mkdir()
    (out / "mine" / "data.csv").write_text("=1+2,keep\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(work / "a.csv"), str(out),
         str(work / "store.duckdb"), "", "fast" if fast else "full"],
        capture_output=True, text=True, env=env, cwd=work, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import duckdb

    with duckdb.connect(str(work / "store.duckdb"), read_only=True) as con:
        names = {r[0] for r in con.sql(
            "SELECT table_name FROM information_schema.tables").fetchall()}
    tables = {"A": names, "B": names}  # both logs reach every step
    user = _fingerprint([work / "a.csv", work / "b.csv", out / "notes.txt",
                         out / "mine" / "data.csv"])
    return logs, user, tables


def run_points(points: list[str], *, fast: bool = False, work: Path | None = None,
               log=print) -> dict[str, str]:
    """Run the kill points; returns ``{point: "out=A store=A"}``; raises on a failure."""
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(work or tmp)
        logs, user, tables = setup(work, env, fast)
        results = {}
        for point in points:
            killed, output = _run_child(work, work / "b.csv", point, fast, env)
            assert killed, f"{point}: the run ended before the kill point:\n{output[-2000:]}"
            results[point] = check_state(work, logs, user, tables)
            log(f"{point:22s} killed; {results[point]}")
        # the next run finishes, replaces run A everywhere, and cleans the dead runs' folders
        killed, output = _run_child(work, work / "b.csv", None, fast, env)
        assert "STEP done" in output, output[-2000:]
        assert check_state(work, logs, user, tables) == "out=B store=B"
        left = sorted(p.name for p in work.iterdir() if ".partial-" in p.name
                      or ".old-" in p.name)
        assert not left, f"leftover folders of dead runs: {left}"
        log("final run             out=B store=B; no leftover partial folders")
        return results


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, src, out, db, pause, mode = sys.argv
        child(src, out, db, pause or None, mode == "fast")
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", default=",".join(ALL_POINTS))
    ap.add_argument("--fast", action="store_true",
                    help="no clustering or propensity (the 'clusters'/'propensity' points "
                         "then do not occur)")
    args = ap.parse_args()
    run_points([p for p in args.points.split(",") if p], fast=args.fast)
    return 0


if __name__ == "__main__":
    sys.exit(main())
