"""Kills, signals and full disks on real processes end in one clear line and leave one run."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest

import valuemax
from valuemax.exceptions import ValuemaxError


def _big_log(path: Path, n: int = 150_000) -> None:
    """A log large enough that reading and cleaning take a moment (seeded)."""
    rng = np.random.default_rng(5)
    cust = rng.integers(0, 3000, n)
    day = np.datetime64("2011-01-01") + rng.integers(0, 700, n)
    amount = rng.gamma(3, 10, n).round(2)
    lines = ["order_id,customer_id,order_date,amount"]
    lines += [f"R{i},U{c},{d},{a}" for i, (c, d, a) in enumerate(zip(cust, day, amount,
                                                                     strict=True))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".partial-" in p.name)


@pytest.mark.parametrize("sig, code, delay", [(signal.SIGINT, 130, 0.3),
                                              (signal.SIGTERM, 143, 2.5)])
def test_a_signal_ends_in_one_line_and_leaves_nothing(tmp_path, support, sig, code, delay):
    src = tmp_path / "big.csv"
    _big_log(src)
    proc = support.start_cli("analyze", str(src), "--out", str(tmp_path / "out"),
                             "--no-clv", "--no-propensity", "--clusters", "none",
                             cwd=tmp_path)
    # the run's private folder appears right before reading starts
    assert support.wait_for(lambda: _partials(tmp_path), timeout=120)
    import time

    time.sleep(delay)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == code, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("stopped:"), err
    assert signal.Signals(sig).name in lines[0]
    assert "Traceback" not in err + out and "could not be read" not in err
    assert not (tmp_path / "out").exists() and not _partials(tmp_path)


def test_sigterm_during_propensity_out_leaves_no_file(tmp_path, support):
    src = tmp_path / "log.csv"
    # 1,500 customers: the job runs ~8 s after its private folder appears on an idle
    # machine (150 customers finished within the 3 s this test used to wait, once the
    # propensity step got faster), so the signal lands well inside the run
    support.make_log(src, "A", n=1500, seed=0)
    out = tmp_path / "prop"
    proc = support.start_cli("propensity", str(src), "--out", str(out), cwd=tmp_path)
    assert support.wait_for(lambda: _partials(tmp_path), timeout=120)
    import time

    time.sleep(1.5)  # reading and cleaning under way or done: before the results are written
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert not out.exists() and not _partials(tmp_path)


@pytest.mark.parametrize("job", ["clv", "rules", "propensity"])
def test_part_commands_check_out_before_working(tmp_path, support, job, cli_runner,
                                                monkeypatch):
    import valuemax.pipeline as pipeline
    from valuemax.cli import app

    def never(*a, **k):  # the check must come before any computation
        raise AssertionError("computed before checking --out")

    for name in ("customer_value", "association_rules", "buy_propensity"):
        monkeypatch.setattr(pipeline, name, never)
    src = tmp_path / "log.csv"
    support.make_log(src, "A", n=20, seed=0)
    taken = tmp_path / "taken"
    taken.write_text("a file named like the folder", encoding="utf-8")
    for where, why in ((taken, "not a folder"), ("/proc/valuemax-nope", "/proc")):
        res = cli_runner.invoke(app, [job, str(src), "--out", str(where)])
        assert res.exit_code == 2, res.output
        assert why in res.output and "Traceback" not in res.output
        assert len(res.output.strip().splitlines()) == 1


def _cli():
    import sys

    return [sys.executable, "-m", "valuemax.cli"]


@contextlib.contextmanager
def _tiny_disk(tmp_path: Path, size: str):
    """A tmpfs of ``size`` (root and mount allowed), else None: the test injects ENOSPC."""
    mnt = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    mnt.mkdir()
    ok = os.geteuid() == 0 and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
        capture_output=True).returncode == 0
    try:
        yield mnt if ok else None
    finally:
        if ok:
            subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_while_writing_out_names_the_file(tmp_path, small_log, support, monkeypatch):
    with _tiny_disk(tmp_path, "600k") as disk:
        if disk is None:  # no tmpfs here: the writer fails as a full disk would
            import valuemax.pipeline._analyze as an

            def full(*a, **k):
                raise OSError(errno.ENOSPC, "No space left on device")
            monkeypatch.setattr(an, "write_exports", full)
            disk = tmp_path
        out = disk / "out"
        with pytest.raises(ValuemaxError, match=r"disk full: could not write '.*out/[\w.]+'"
                           r".*MB free.*had written .*MB") as info:
            valuemax.analyze(str(small_log), out=out, clusters="none", clv=False,
                             propensity=False)
        assert isinstance(info.value.__cause__, OSError | Exception)
        assert not out.exists() and not _partials(disk)


def test_disk_full_in_the_store_names_the_store_and_keeps_it(tmp_path, small_log, support):
    with _tiny_disk(tmp_path, "6m") as disk:
        if disk is None:
            pytest.skip("needs root and tmpfs to fill a DuckDB WAL; the out case injects it")
        db = disk / "store.duckdb"
        valuemax.analyze(str(small_log), db=db, **support.FAST)
        big = tmp_path / "big.csv"
        _big_log(big)
        with pytest.raises(ValuemaxError, match=r"disk full: could not write '.*store\.duckdb"):
            valuemax.analyze(str(big), db=db, **support.FAST)
        import duckdb

        with duckdb.connect(str(db)) as con:  # still the first run, whole
            assert con.sql("SELECT count(*) FROM runs").fetchone()[0] == 1
            assert con.sql("SELECT count(DISTINCT left(customer_id, 1)) FROM customers"
                           ).fetchone()[0] == 1


def test_disk_full_on_the_cli_is_one_line_exit_1(tmp_path, small_log, support):
    with _tiny_disk(tmp_path, "600k") as disk:
        if disk is None:
            pytest.skip("needs root and tmpfs for a real full disk under a subprocess")
        res = subprocess.run([*_cli(), "analyze", str(small_log), "--out", str(disk / "o"),
                              "--no-clv", "--no-propensity", "--clusters", "none"],
                             cwd=tmp_path, env=support.cli_env(), capture_output=True,
                             text=True, timeout=300)
        assert res.returncode == 1, res.stderr
        assert res.stderr.startswith("error: disk full: could not write")
        assert "Traceback" not in res.stderr and "--out" in res.stderr
        assert not (disk / "o").exists()


def test_sigkill_at_the_dangerous_points_leaves_one_whole_run(tmp_path, support):
    # the full ten-point run: PYTHONPATH=src python benchmarks/fault_injection.py
    got = support.fault.run_points(["store-copy", "publish-before-swap",
                                    "publish-after-swap"], fast=True, work=tmp_path,
                                   log=lambda *a: None)
    assert got == {"store-copy": "out=A store=A",
                   "publish-before-swap": "out=A store=B",
                   "publish-after-swap": "out=B store=B"}
