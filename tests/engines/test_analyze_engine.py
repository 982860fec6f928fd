"""``analyze --engine URL --table/--query``: the source read from a real server, the Ibis row
steps run there; and every way it can go wrong, each with one clear line (exit 2)."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from valuemax.cli import app
from valuemax.pipeline._engine import write_engine_table

# Third-party noise: ibis 12's MySQL backend fetches through pandas and reads a pandas option
# that pandas 3 deprecates.
pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated")

FAST = ["--clusters", "none", "--no-clv", "--no-propensity"]
SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres),
           pytest.param("mariadb", marks=pytest.mark.mariadb)]


@pytest.fixture(scope="module")
def on_server(request, cdnow_typed):
    """``{engine: (url, backend)}`` with the CDNOW sample loaded as table ``cdnow_orders``."""
    loaded = {}

    def load(which):
        if which not in loaded:
            url = request.getfixturevalue(f"{which}_url")
            con = request.getfixturevalue(which)
            write_engine_table(con, "cdnow_orders", cdnow_typed)
            loaded[which] = (url, con)
        return loaded[which]

    yield load
    for _, con in loaded.values():
        con.drop_table("cdnow_orders", force=True)


def _summary(out):
    return json.loads((out / "summary.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("which", SERVERS)
def test_table_on_server_gives_the_file_result(which, on_server, cli_runner, tmp_path,
                                               datasets, cdnow_typed):
    url, con = on_server(which)
    res = cli_runner.invoke(app, ["analyze", "--engine", url, "--table", "cdnow_orders",
                                  "--out", str(tmp_path / "eng"), *FAST])
    assert res.exit_code == 0, res.output
    got = _summary(tmp_path / "eng")
    password = url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
    assert password not in json.dumps(got)  # the run record names the engine without it
    assert got["rows_in"] == 6_919 and got["rows_clean"] == 6_919
    assert got["source"].endswith("table cdnow_orders")
    customers = pq.read_table(tmp_path / "eng" / "customers.parquet")
    ids = sorted(set(cdnow_typed.column("customer_id").to_pylist()))
    assert sorted(customers.column("customer_id").to_pylist()) == ids  # 2,357, zeros kept
    # the customer table was built on the server and written back there
    assert con.table("valuemax_customers").count().to_pyarrow().as_py() == 2_357
    assert "valuemax_transactions_std" not in con.list_tables()  # working copy dropped
    spend = dict(zip(customers.column("customer_id").to_pylist(),
                     customers.column("total_spend").to_pylist(), strict=True))
    frame = cdnow_typed.to_pandas().groupby("customer_id")["amount"].sum()
    assert max(abs(spend[k] - v) / v for k, v in frame.items() if v) < 1e-12


@pytest.mark.parametrize("which", SERVERS)
def test_query_on_server(which, on_server, tmp_path, cdnow_typed):
    from valuemax.pipeline import analyze

    url, _ = on_server(which)
    res = analyze(None, engine=url, query="SELECT * FROM cdnow_orders WHERE quantity > 1",
                  clusters="none", clv=False, propensity=False)
    frame = cdnow_typed.to_pandas()
    kept = frame[frame.quantity > 1]
    assert res.quality.rows_in == len(kept)
    assert sorted(res.customers.customer_id) == sorted(kept.customer_id.unique())
    assert res.params["engine"].endswith("/valuemax_test") and ":***@" in res.params["engine"]


def _one_line_exit_2(res):
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1, res.output
    return lines[0]


@pytest.mark.parametrize("which", SERVERS)
def test_wrong_password_exits_2_without_echoing_it(which, request, cli_runner, tmp_path):
    url = request.getfixturevalue(f"{which}_url")
    head, rest = url.split("://", 1)
    creds, host = rest.split("@", 1)
    user, password = creds.split(":", 1)
    bad = f"{head}://{user}:wrong{password}@{host}"
    res = cli_runner.invoke(app, ["analyze", "--engine", bad, "--table", "cdnow_orders",
                                  "--out", str(tmp_path / "x")])
    line = _one_line_exit_2(res)
    assert line.startswith("error: cannot connect to ") and ":***@127.0.0.1" in line
    assert password not in res.output
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("which", SERVERS)
def test_missing_table_lists_the_tables(which, on_server, cli_runner, tmp_path):
    url, _ = on_server(which)
    res = cli_runner.invoke(app, ["analyze", "--engine", url, "--table", "no_such_orders",
                                  "--out", str(tmp_path / "x")])
    line = _one_line_exit_2(res)
    assert "has no table 'no_such_orders'" in line and "cdnow_orders" in line
    assert "--table" in line


@pytest.mark.parametrize("which", SERVERS)
def test_failing_query_exits_2(which, on_server, cli_runner, tmp_path):
    url, _ = on_server(which)
    res = cli_runner.invoke(app, ["analyze", "--engine", url, "--query",
                                  "SELECT no_such_column FROM cdnow_orders",
                                  "--out", str(tmp_path / "x")])
    line = _one_line_exit_2(res)
    assert line.startswith("error: the query failed on ") and "no_such_column" in line
    assert "--query" in line


def test_table_needs_an_engine(cli_runner, tmp_path):
    res = cli_runner.invoke(app, ["analyze", "--table", "orders", "--out", str(tmp_path / "x")])
    line = _one_line_exit_2(res)
    assert "--table reads from another engine" in line and "--engine" in line


def test_unknown_engine_name(cli_runner, tmp_path, datasets):
    res = cli_runner.invoke(app, ["analyze", str(datasets("cdnow/CDNOW_sample.txt")),
                                  "--engine", "oracle", "--out", str(tmp_path / "x")])
    line = _one_line_exit_2(res)
    assert "--engine oracle is not one of ['duckdb', 'spark'] nor a URL" in line


@pytest.mark.parametrize(("driver", "url", "extra"), [
    ("psycopg", "postgres://ann:s3cret@127.0.0.1:1/shop", "postgres"),
    ("MySQLdb", "mysql://ann:s3cret@127.0.0.1:1/shop", "mysql"),
])
def test_missing_driver_names_the_extra(driver, url, extra, tmp_path):
    """A Python without the driver (import blocked in a fresh interpreter) gets the fix."""
    code = (f"import sys; sys.modules[{driver!r}] = None\n"
            "from valuemax.cli import main\n"
            f"sys.argv = ['valuemax', 'analyze', '--engine', {url!r}, '--table', 'orders',"
            f" '--out', {str(tmp_path / 'x')!r}]\n"
            "main()\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=False)
    assert res.returncode == 2, res.stderr
    lines = [line for line in (res.stdout + res.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert f"pip install 'valuemax[{extra}]'" in lines[0]
    assert "s3cret" not in lines[0] and "ann:***@" in lines[0]
