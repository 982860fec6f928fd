"""Bearer-token auth, the loopback rule, the token's sources, and the optional extra."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from tests.serve.conftest import TOKEN, python_env

PROTECTED = [("GET", "/customers/00004"), ("GET", "/segments"), ("GET", "/health"),
             ("POST", "/score")]
BODY = {"transactions": [{"date": "1997-03-01", "amount": 5}]}


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_no_token_is_401(server, method, path):
    r = httpx.request(method, server + path, json=BODY if method == "POST" else None)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "Authorization: Bearer" in r.json()["detail"]


@pytest.mark.parametrize("header", [f"Bearer {TOKEN[:-1]}", f"Bearer {TOKEN}x", f"Basic {TOKEN}",
                                    TOKEN, f"Bearer {TOKEN.upper()}"])
def test_wrong_token_is_401(server, header):
    r = httpx.get(server + "/health", headers={"Authorization": header})
    assert r.status_code == 401


def test_right_token_is_200(server):
    r = httpx.get(server + "/health", headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 200


@pytest.mark.parametrize("query", [f"access_token={TOKEN}", f"token={TOKEN}", "api_key=x",
                                   f"q={TOKEN}"])
def test_token_in_the_query_string_is_refused(server, query):
    # refused even with a valid header: the token must not sit in URLs (logs, histories)
    r = httpx.get(f"{server}/customers/00004?{query}",
                  headers={"Authorization": f"Bearer {TOKEN}"})
    assert r.status_code == 400
    assert "query string are refused" in r.json()["detail"]
    assert "Authorization: Bearer" in r.json()["detail"]
    r = httpx.get(f"{server}/customers/00004?{query}")
    assert r.status_code == 400
    # on every path, the open schema and unknown paths included
    for path in ("/openapi.json", "/nowhere"):
        assert httpx.get(f"{server}{path}?{query}").status_code == 400


def test_schema_is_open(server):
    assert httpx.get(server + "/openapi.json").status_code == 200


def _serve(cli_runner, args: list[str], token: str | None = None):
    """``valuemax serve ...`` in this process (each case ends before the server would start)."""
    from valuemax.cli import app

    return cli_runner.invoke(app, ["serve", *args], env={"VALUEMAX_API_TOKEN": token})


def _one_line(result) -> str:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "example.org"])
def test_no_token_beyond_loopback_exits_2(cli_runner, cdnow_store, host):
    line = _one_line(_serve(cli_runner, ["--db", str(cdnow_store), "--host", host]))
    assert f"refusing to listen on {host} without a token" in line
    assert "VALUEMAX_API_TOKEN" in line and "--token-file" in line


def test_token_file_must_be_private(cli_runner, cdnow_store, tmp_path):
    f = tmp_path / "token"
    f.write_text(TOKEN + "\n")
    f.chmod(0o644)
    line = _one_line(_serve(cli_runner, ["--db", str(cdnow_store), "--host", "0.0.0.0",
                                         "--token-file", str(f)]))
    assert "readable by others (mode 644)" in line and "chmod 600" in line


@pytest.mark.parametrize(("token", "expected"), [
    ("short", "a token of 5 characters; at least 16"),
    ("has a space inside the token", "spaces or control characters"),
])
def test_weak_tokens_exit_2(cli_runner, cdnow_store, token, expected):
    line = _one_line(_serve(cli_runner, ["--db", str(cdnow_store)], token=token))
    assert expected in line and "secrets.token_urlsafe" in line


@pytest.mark.parametrize("port", ["0", "70000"])
def test_bad_port_exits_2(cli_runner, cdnow_store, port):
    line = _one_line(_serve(cli_runner, ["--db", str(cdnow_store), "--port", port]))
    assert "must be a port number in 1..65535" in line


def test_not_a_store_exits_2(cli_runner, tmp_path):
    f = tmp_path / "orders.csv"
    f.write_text("customer_id,date,amount\n1,2024-01-01,5\n")
    assert "is not a DuckDB database" in _one_line(_serve(cli_runner, ["--db", str(f)]))


def test_importing_valuemax_and_its_cli_loads_no_fastapi():
    code = ("import sys, valuemax, valuemax.cli; "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'pydantic') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], env=python_env(), capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_missing_extra_names_the_install(cdnow_store, tmp_path):
    # a fastapi that cannot be imported, first on the path: as if the extra were absent
    (tmp_path / "fastapi").mkdir()
    (tmp_path / "fastapi" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'fastapi'\", name='fastapi')\n")
    env = python_env()
    env["PYTHONPATH"] = f"{tmp_path}:{env['PYTHONPATH']}"
    done = subprocess.run([sys.executable, "-m", "valuemax.cli", "serve", "--db",
                           str(cdnow_store)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "pip install 'valuemax[serve]'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_port_in_use_exits_2_before_announcing(cli_runner, cdnow_store):
    """A taken port is one clear line (exit 2), not uvicorn's log and exit 3 after 'serving'."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _serve(cli_runner, ["--db", str(cdnow_store), "--port", str(port)])
    line = _one_line(result)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "--port" in line
    assert "serving" not in result.stderr
