"""Helpers of the "never lose, never leak" tests: small seeded logs and a real CLI process."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_fault_script():
    """``benchmarks/fault_injection.py`` as a module (it is a script, not a package)."""
    spec = importlib.util.spec_from_file_location("vm_fault_injection",
                                                  ROOT / "benchmarks" / "fault_injection.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make_log(path: Path, prefix: str = "K", *, n: int = 60, seed: int = 0,
             products: bool = True) -> int:
    """A seeded log of repeat buyers (see the fault script); returns the number of lines."""
    count = load_fault_script().make_log(path, prefix, n=n, seed=seed)
    if not products:
        lines = path.read_text(encoding="utf-8").splitlines()
        path.write_text("\n".join(",".join(x for i, x in enumerate(line.split(","))
                                           if i != 4) for line in lines) + "\n",
                        encoding="utf-8")
    return count


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "src") + os.pathsep + env.get("PYTHONPATH", "")
    env["PYTHONUNBUFFERED"] = "1"
    env["COLUMNS"] = "200"
    return env


def start_cli(*args: str, cwd: Path) -> subprocess.Popen:
    """``python -m valuemax.cli ARGS`` as a real process (its own signal handlers)."""
    return subprocess.Popen([sys.executable, "-m", "valuemax.cli", *args], cwd=cwd,
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def wait_for(predicate, timeout: float = 120.0, every: float = 0.02) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(every)
    return False


@pytest.fixture
def small_log(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "orders.csv"
    path.parent.mkdir()
    make_log(path, "K", n=60, seed=3)
    return path


FAST = {"clusters": "none", "clv": False, "propensity": False}


@pytest.fixture(scope="session")
def support():
    """The helpers above, for the test modules (importlib mode has no sibling imports)."""
    from types import SimpleNamespace

    return SimpleNamespace(make_log=make_log, start_cli=start_cli, wait_for=wait_for,
                           cli_env=cli_env, fault=load_fault_script(), FAST=FAST, ROOT=ROOT)
