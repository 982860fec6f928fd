"""A real store (``analyze`` on the CDNOW sample) and a real server (``valuemax serve`` in a
subprocess, uvicorn on a free loopback port) for the service's tests."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-token-5b0f6c1e9d2a4e7f8a3c"  # >= 16 characters, as the service requires
CDNOW_COLUMNS = ["customer_id", "customer_index", "date", "number_of_cds", "dollar_value"]


def python_env(**extra: str) -> dict[str, str]:
    """The environment for a child interpreter: this tree's ``src`` first, no stray token."""
    env = {k: v for k, v in os.environ.items() if k != "VALUEMAX_API_TOKEN"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_server(store: Path, *, token: str | None, tmp: Path) -> Iterator[str]:
    """``valuemax serve --db STORE`` in a subprocess; yields its base URL, stops it after."""
    port = free_port()
    env = python_env(**({"VALUEMAX_API_TOKEN": token} if token else {}))
    log = (tmp / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "valuemax.cli", "serve", "--db", str(store), "--port", str(port)],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # up to 60 s on a loaded machine: imports and the store load
            if proc.poll() is not None:
                raise RuntimeError(f"valuemax serve exited with {proc.returncode}: "
                                   f"{(tmp / f'serve-{port}.log').read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/openapi.json", timeout=1.0).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("valuemax serve did not answer within 60 s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="session")
def cdnow_store(datasets, tmp_path_factory) -> Path:
    """A store from a real ``analyze`` run on the CDNOW sample (weeks, BG/NBD, seed 0).

    ``out=None`` skips the report and exports (the store is what the service reads);
    clustering is off to keep the session quick (the segment's cluster is then None).
    """
    import valuemax

    db = tmp_path_factory.mktemp("serve-store") / "store.duckdb"
    valuemax.analyze(str(datasets("cdnow/CDNOW_sample.txt")), out=None, db=db,
                     columns=CDNOW_COLUMNS, time_unit="W", clv_model="bgnbd",
                     clusters="none", random_state=0)
    return db


@pytest.fixture(scope="session")
def server(cdnow_store, tmp_path_factory) -> Iterator[str]:
    """Base URL of ``valuemax serve`` over :func:`cdnow_store`, with :data:`TOKEN`."""
    with running_server(cdnow_store, token=TOKEN,
                        tmp=tmp_path_factory.mktemp("serve-logs")) as base:
        yield base


@pytest.fixture(scope="session")
def client(server) -> Iterator[httpx.Client]:
    """An HTTP client for :func:`server` that sends the token."""
    with httpx.Client(base_url=server, headers={"Authorization": f"Bearer {TOKEN}"},
                      timeout=30.0) as c:
        yield c


@pytest.fixture(scope="session")
def store_tables(cdnow_store):
    """The store's tables as pandas frames, read once (the file is closed after)."""
    import duckdb

    con = duckdb.connect(str(cdnow_store), read_only=True)
    try:
        names = ("customers", "segments", "segment_summary", "clv", "clv_params",
                 "propensity_scores", "runs", "transactions_clean")
        return {n: con.sql(f"SELECT * FROM {n}").df() for n in names}
    finally:
        con.close()
