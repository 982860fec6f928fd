"""Ids holding '/', the hint on a pseudonymised store, a store of another minor version
(the ASGI app in process through httpx's ASGI transport, which decodes %2F in the path
before routing as uvicorn does)."""

from __future__ import annotations

import asyncio
import json
import shutil

import duckdb
import httpx
import pytest

from valuemax import __version__
from valuemax.serve import create_app

_TABLES = ("customers", "segments", "clv", "propensity_scores")


@pytest.fixture()
def edited_store(cdnow_store, tmp_path):
    """A copy of the CDNOW store whose customer '00004' is renamed 'CN/0001' everywhere."""
    store = tmp_path / "store.duckdb"
    shutil.copyfile(cdnow_store, store)
    with duckdb.connect(str(store)) as con:
        for t in _TABLES:
            con.execute(f"UPDATE {t} SET customer_id = 'CN/0001' WHERE customer_id = '00004'")
        p_alive = con.execute("SELECT p_alive FROM clv WHERE customer_id = 'CN/0001'"
                              ).fetchone()[0]
    return store, p_alive


class InProcess:
    """GETs on the app, in process (no lifespan: the app needs none)."""

    def __init__(self, app):
        self.app = app

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def request(self, method: str, path: str, **kwargs) -> httpx.Response:
        async def go() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
                return await c.request(method, path, **kwargs)

        return asyncio.run(go())


def _set_run(store, **params):
    with duckdb.connect(str(store)) as con:
        run_id, text, version = con.execute(
            "SELECT run_id, parameters, valuemax_version FROM runs ORDER BY finished_at DESC "
            "LIMIT 1").fetchone()
        merged = {**json.loads(text), **{k: v for k, v in params.items() if k != "version"}}
        con.execute("UPDATE runs SET parameters = ?, valuemax_version = ? WHERE run_id = ?",
                    [json.dumps(merged), params.get("version", version), run_id])


def test_an_id_with_a_slash_is_found(edited_store):
    store, p_alive = edited_store
    with InProcess(create_app(store)) as client:
        r = client.get("/customers/CN%2F0001")
        assert r.status_code == 200, r.text
        assert r.json()["customer_id"] == "CN/0001"
        assert r.json()["value"]["p_alive"] == p_alive
        assert client.get("/customers/CN/0001").json()["customer_id"] == "CN/0001"
        missing = client.get("/customers/CN%2F0002")
        assert missing.status_code == 404
        assert "'CN/0002' is not in the store" in missing.json()["detail"]
        assert "pseudonym" not in missing.json()["detail"]
        assert client.get("/health").json()["warning"] is None


def test_a_pseudonymised_store_says_how_to_look_an_id_up(edited_store):
    store, _ = edited_store
    _set_run(store, pseudonymize=True, pseudonym_key_fingerprint="ab" * 32)
    with InProcess(create_app(store)) as client:
        detail = client.get("/customers/RAWID").json()["detail"]
        assert "'RAWID' is not in the store" in detail
        assert "HMAC-SHA256 pseudonyms" in detail and "key fingerprint abababababab" in detail
        assert "pseudonymize(['ID'], load_key())" in detail and "VALUEMAX_PSEUDONYM_KEY" in detail
        # an id that already is a pseudonym gets the plain advice
        assert "HMAC" not in client.get("/customers/" + "0" * 64).json()["detail"]


def test_a_store_of_another_minor_version_is_served_with_a_warning(edited_store):
    store, _ = edited_store
    major, minor = __version__.split(".")[:2]
    other = f"{major}.{int(minor) + 1}.0"
    _set_run(store, version=other)
    with InProcess(create_app(store)) as client:
        warning = client.get("/health").json()["warning"]
    assert f"written by valuemax {other}" in warning and __version__ in warning
    assert "valuemax analyze LOG --db STORE" in warning
    # the same minor version, another patch: no warning
    _set_run(store, version=f"{major}.{minor}.999")
    with InProcess(create_app(store)) as client:
        assert client.get("/health").json()["warning"] is None


def test_serve_warns_at_start_and_its_sigterm_line_says_it_wrote_nothing(edited_store, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    from tests.serve.conftest import free_port, python_env

    store, _ = edited_store
    major, minor = __version__.split(".")[:2]
    _set_run(store, version=f"{major}.{int(minor) + 1}.0")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "valuemax.cli", "serve", "--db", str(store), "--port",
         str(port)], env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(600):  # up to 60 s on a loaded machine
            if proc.poll() is not None:
                break
            try:
                if httpx.get(f"http://127.0.0.1:{port}/customers/CN%2F0001",
                             timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            raise AssertionError("valuemax serve did not answer within 60 s")
        # the real server (uvicorn) finds the id holding '/'
        assert httpx.get(f"http://127.0.0.1:{port}/customers/CN%2F0001").json()[
            "customer_id"] == "CN/0001"
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    text = " ".join(out.decode("utf-8", "replace").split())
    assert "warning: the store was written by valuemax" in text
    assert "half-written" not in text and "the output folder" not in text


def test_the_signal_line_of_serve_says_it_wrote_nothing(cli_runner, monkeypatch, tmp_path):
    """uvicorn re-raises a SIGTERM it caught once it has stopped; the CLI's handler then
    ends the command (as here, called directly) and ``serve`` says what a read-only
    service may say."""
    import signal
    import types

    from valuemax.cli import _serve
    from valuemax.cli._app import _terminate
    from valuemax.cli._options import Terminated

    def stopped(*args, **kwargs):
        _terminate(signal.SIGTERM, None)

    fake = types.SimpleNamespace(read_token=lambda *a: None, check_listen=lambda *a: None,
                                 serve=stopped)
    monkeypatch.setattr(_serve, "_load_serve", lambda: fake)
    monkeypatch.setattr(Terminated, "signum", None)
    from valuemax.cli import app

    result = cli_runner.invoke(app, ["serve", "--db", str(tmp_path / "store.duckdb")])
    text = " ".join(result.output.split())
    assert result.exit_code == 128 + signal.SIGTERM, text
    assert ("stopped: SIGTERM received; the service stopped; it only reads the store, so "
            "nothing was written") in text
    assert "half-written" not in text


def test_a_json_body_sent_as_text_is_told_to_send_application_json(cdnow_store):
    body = json.dumps({"transactions": [{"date": "1997-03-01", "amount": 5}]})
    with InProcess(create_app(cdnow_store)) as client:
        r = client.request("POST", "/score", content=body.encode(),
                           headers={"Content-Type": "text/plain"})
        assert r.status_code == 422
        detail = r.json()["detail"]
        assert "sent as 'text/plain'" in detail
        assert "header 'Content-Type: application/json'" in detail
        ok = client.request("POST", "/score", content=body.encode(),
                            headers={"Content-Type": "application/json"})
        assert ok.status_code == 200, ok.text
        # a JSON body with a wrong shape gets no such hint
        wrong = client.request("POST", "/score", json=[1, 2])
        assert wrong.status_code == 422 and "Content-Type" not in wrong.json()["detail"]


def test_a_campaign_run_written_later_is_not_the_served_run(edited_store):
    """Review: after `valuemax experiment readout --db STORE`, /health and every reply named
    the experiment's run (which scored nobody) as the store's run. The served run is the
    newest run of the log; the experiment's row still counts among the store's runs."""
    import datetime as dt

    import pandas as pd

    from valuemax.pipeline._decide_outputs import store_part

    store, _ = edited_store
    with duckdb.connect(str(store), read_only=True) as con:
        scored, n_before = con.execute(
            "SELECT run_id, count(*) OVER () FROM runs ORDER BY finished_at DESC LIMIT 1"
        ).fetchone()
    exp_id = store_part(store, "experiment", pd.DataFrame({"arm": ["A", "B"], "n": [5, 6]}),
                        source="exp.csv", params={"command": "experiment"},
                        started=dt.datetime(2030, 1, 1))
    with duckdb.connect(str(store), read_only=True) as con:
        newest = con.execute("SELECT run_id FROM runs ORDER BY finished_at DESC LIMIT 1"
                             ).fetchone()[0]
    assert newest == exp_id != scored  # the experiment's row is the newest in the table
    with InProcess(create_app(store)) as client:
        assert client.get("/health").json()["run_id"] == scored
    from valuemax.serve._store import load_snapshot

    snap = load_snapshot(store)
    assert snap.run["run_id"] == scored and snap.run["n_runs"] == n_before + 1
