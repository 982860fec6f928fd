"""``--schema``: the ``valuemax_*`` result tables go into a schema of the engine (PostgreSQL
schema, MariaDB database, Spark database), created when missing, none into the default one;
a schema the user may not create or write to stops the run with one line (exit 2).
``--spark-master``: the session's master, checked before anything starts."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid

import pyarrow.parquet as pq
import pytest

from valuemax._core.exceptions import InputError
from valuemax.cli import app
from valuemax.engines._connect import check_spark_master
from valuemax.pipeline import analyze
from valuemax.pipeline._engine import drop_engine_tables, open_engine, write_engine_table

pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'future.infer_string' option is deprecated",
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning",
)

FAST = ["--clusters", "none", "--no-clv", "--no-propensity"]
SERVERS = [pytest.param("postgres", marks=pytest.mark.postgres),
           pytest.param("mariadb", marks=pytest.mark.mariadb)]
#: What a run with --calibration-end leaves in the engine (the working copy of the
#: normalised log, valuemax_transactions_std, is dropped at the end).
RESULT_TABLES = ["valuemax_calibration_holdout", "valuemax_customers", "valuemax_quarantine",
                 "valuemax_runs", "valuemax_transactions_clean", "valuemax_transactions_raw"]


def _password(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]


def _one_line_exit_2(res) -> str:
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1, res.output
    return lines[0]


@pytest.fixture
def loaded(request, cdnow_typed, table_name):
    """``load(which) -> (url, backend, table)``: the CDNOW sample as a fresh table there;
    the table and every schema named in ``schemas`` are dropped afterwards."""
    made = []

    def load(which):
        url = request.getfixturevalue(f"{which}_url")
        con = request.getfixturevalue(which)
        write_engine_table(con, table_name, cdnow_typed)
        made.append(con)
        return url, con, table_name

    load.schemas = []
    yield load
    for con in made:
        con.drop_table(table_name, force=True)
        for schema in load.schemas:
            if schema in con.list_databases():
                if con.name == "postgres":
                    con.drop_database(schema, cascade=True)
                else:
                    con.drop_database(schema, force=True)


@pytest.mark.parametrize("which", SERVERS)
def test_results_go_into_the_schema(which, loaded, cli_runner, tmp_path, cdnow_typed):
    url, con, table = loaded(which)
    # leftovers of earlier runs in the default schema (other tests write there on purpose)
    drop_engine_tables(con, tuple(t for t in con.list_tables() if t.startswith("valuemax_")))
    schema = f"vm_schema_{uuid.uuid4().hex[:8]}"  # MariaDB: the test user may create vm_schema_*
    loaded.schemas.append(schema)
    assert schema not in con.list_databases()
    res = cli_runner.invoke(app, ["analyze", "--engine", url, "--table", table,
                                  "--schema", schema, "--calibration-end", "1997-09-30",
                                  "--out", str(tmp_path / "out"), *FAST])
    assert res.exit_code == 0, res.output
    assert schema in con.list_databases()  # created
    assert sorted(con.list_tables(database=schema)) == RESULT_TABLES
    assert not [t for t in con.list_tables() if t.startswith("valuemax_")]
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["params"]["schema"] == schema
    assert _password(url) not in json.dumps(summary)
    # the engine's tables are the run's: the customer table there equals the export, and
    # its spend equals a direct group-by of the loaded log
    there = con.table("valuemax_customers", database=schema).to_pyarrow()
    out = pq.read_table(tmp_path / "out" / "customers.parquet")
    assert sorted(there.column("customer_id").to_pylist()) == \
        sorted(out.column("customer_id").to_pylist())
    spend = dict(zip(there.column("customer_id").to_pylist(),
                     there.column("total_spend").to_pylist(), strict=True))
    direct = cdnow_typed.to_pandas().groupby("customer_id")["amount"].sum()
    assert len(spend) == len(direct) == 2_357
    assert max(abs(spend[k] - v) / v for k, v in direct.items() if v) < 1e-12
    rows = {name: con.table(name, database=schema).count().to_pyarrow().as_py()
            for name in ("valuemax_transactions_raw", "valuemax_transactions_clean",
                         "valuemax_quarantine")}
    assert rows == {"valuemax_transactions_raw": 6_919,
                    "valuemax_transactions_clean": summary["rows_clean"],
                    "valuemax_quarantine": summary["rows_in"] - summary["rows_clean"]}
    # a second run into the existing schema replaces the tables (no error, same rows)
    again = analyze(None, engine=url, table=table, schema=schema, clusters="none",
                    clv=False, propensity=False)
    assert len(again.customers) == 2_357
    assert con.table("valuemax_customers", database=schema).count().to_pyarrow().as_py() \
        == 2_357
    # ... and appends its row to the runs there
    assert con.table("valuemax_runs", database=schema).count().to_pyarrow().as_py() == 2


@pytest.mark.parametrize(("which", "schema", "expected"), [
    # the test user may create databases named vm_schema_* only (scripts/test-servers.sh)
    pytest.param("mariadb", "shop_results",
                 "cannot create the database 'shop_results' on mysql://", marks=pytest.mark.mariadb),
    # exists, but nobody but the superuser creates tables there
    pytest.param("postgres", "pg_catalog",
                 "cannot create tables in the schema 'pg_catalog' on postgres://",
                 marks=pytest.mark.postgres),
    # a name PostgreSQL reserves for system schemas
    pytest.param("postgres", "pg_valuemax",
                 "cannot create the schema 'pg_valuemax' on postgres://",
                 marks=pytest.mark.postgres),
])
def test_schema_that_may_not_be_created_exits_2(which, schema, expected, loaded, cli_runner,
                                               tmp_path):
    url, con, table = loaded(which)
    before = set(con.list_databases())
    res = cli_runner.invoke(app, ["analyze", "--engine", url, "--table", table,
                                  "--schema", schema, "--out", str(tmp_path / "x"), *FAST])
    line = _one_line_exit_2(res)
    assert line.startswith(f"error: {expected}") and ":***@127.0.0.1" in line
    assert "--schema" in line and "schema=" not in line
    assert _password(url) not in res.output
    assert not (tmp_path / "x").exists()
    assert set(con.list_databases()) == before
    # stopped before any work: nothing was copied to the server
    assert not [t for t in con.list_tables() if t.startswith("valuemax_probe_")]


def test_schema_needs_another_engine(cli_runner, tmp_path, datasets):
    res = cli_runner.invoke(app, ["analyze", str(datasets("cdnow/CDNOW_sample.txt")),
                                  "--schema", "results", "--out", str(tmp_path / "x")])
    line = _one_line_exit_2(res)
    assert "--schema results names where the results go in another engine" in line
    assert "--engine" in line and "--db" in line


@pytest.mark.parametrize("schema", ["1results", "sales.results", "results; DROP TABLE x", "",
                                    "x" * 64, "r\u00e9sultats"])
def test_schema_must_be_a_plain_name(schema):
    with pytest.raises(InputError, match=r"is not a plain name: use letters, digits and "
                                         r"underscores.*\(CLI --schema\)"):
        analyze(None, engine="postgres://ann:s3cret@127.0.0.1:1/shop", table="orders",
                schema=schema)


@pytest.mark.parametrize("master", ["local", "local[1]", "local[*]", "local[4,2]", "local[*, 3]",
                                    "local-cluster[2,1,1024]", "spark://10.0.0.5:7077",
                                    "spark://m1.example:7077,m2.example:7077", "yarn",
                                    "k8s://https://10.0.0.9:6443", "k8s://api.example"])
def test_spark_master_forms_are_accepted(master):
    assert check_spark_master(master) == master


@pytest.mark.parametrize("master", ["locale[2]", "local[0]", "local[-1]", "local[two]",
                                    "spark://10.0.0.5", "spark:/host:7077", "http://host:7077",
                                    "mesos://host:5050", "", " ", 4, None])
def test_malformed_spark_master_is_refused(master):
    with pytest.raises(InputError, match=r"is not a Spark master URL; expected local\[\*\], "
                                         r"local\[N\].*spark://HOST:PORT.*yarn.*k8s://"):
        open_engine("spark", spark_master="" if master is None else master)


def test_spark_master_needs_engine_spark(cli_runner, tmp_path, datasets):
    res = cli_runner.invoke(app, ["analyze", str(datasets("cdnow/CDNOW_sample.txt")),
                                  "--spark-master", "local[1]", "--out", str(tmp_path / "x")])
    line = _one_line_exit_2(res)
    assert ("--spark-master 'local[1]' starts a Spark session: it needs --engine spark, but "
            "no engine was given;") in line
    assert "NoneType" not in line


@pytest.mark.spark
def test_spark_master_other_than_the_running_session_is_refused(spark):
    """Spark allows one session per process: asking for another master says so instead of
    silently running on the session already there."""
    running = spark.sparkContext.master
    other = "local[1]" if running != "local[1]" else "local[2]"
    with pytest.raises(InputError, match=rf"master '{__import__('re').escape(running)}' "
                                         r"already runs in this process.*pass that session"):
        open_engine("spark", spark_master=other)
    econ, label = open_engine("spark", spark_master=running)
    assert label == f"spark ({running})" and econ._session is spark
    # a running session passed as engine= is used as is, with its own master
    given, _ = open_engine(spark)
    assert given._session is spark
    with pytest.raises(InputError, match=r"spark_master='local\[1\]' starts a Spark session: "
                                         r"it needs engine='spark'.*got engine=SparkSession"):
        open_engine(spark, spark_master="local[1]")


@pytest.mark.spark
def test_spark_local_1_writes_the_schema_into_its_warehouse(tmp_path, datasets):
    """``--engine spark --spark-master local[1] --schema S`` in a fresh process: the session
    runs one thread, the result tables are Parquet tables of database S in the session's
    own warehouse (under the temp directory, here tmp_path), none in the default database,
    and they hold what the exports hold."""
    data = datasets("cdnow/CDNOW_sample.txt").read_bytes()
    if data[:2] == b"\x1f\x8b":  # the repository's bundled copy is gzipped
        data = gzip.decompress(data)
    lines = data.decode("ascii").splitlines()[:1500]
    log = tmp_path / "cdnow_head.txt"
    log.write_text("\n".join(lines) + "\n")
    code = (
        "import sys\n"
        "from valuemax.cli import main\n"
        "from pyspark.sql import SparkSession\n"
        "sys.argv = sys.argv[1:]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "sc = SparkSession.getActiveSession().sparkContext\n"
        "print('MASTER', sc.master, sc.defaultParallelism)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path), "PYSPARK_PYTHON": sys.executable}
    res = subprocess.run(
        [sys.executable, "-c", code, "valuemax", "analyze", str(log), "--columns",
         "customer_id,customer_index,date,quantity,amount", "--engine", "spark",
         "--spark-master", "local[1]", "--schema", "vm_results", "--calibration-end",
         "1997-09-30", "--out", str(tmp_path / "out"), *FAST],
        capture_output=True, text=True, timeout=600, check=False, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "MASTER local[1] 1" in res.stdout
    summary = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert summary["params"]["engine"] == "spark (local[1])"
    assert summary["params"]["schema"] == "vm_results"
    (warehouse,) = tmp_path.glob("valuemax-spark-warehouse-*")
    database = warehouse / "vm_results.db"
    assert sorted(p.name for p in database.iterdir()) == RESULT_TABLES
    # the default database's tables would sit at the warehouse root
    assert sorted(p.name for p in warehouse.iterdir()) == ["vm_results.db"]
    there = pq.read_table(database / "valuemax_customers")
    out = pq.read_table(tmp_path / "out" / "customers.parquet")
    assert there.num_rows == out.num_rows == summary["n_customers"]
    assert sorted(there.column("customer_id").to_pylist()) == \
        sorted(out.column("customer_id").to_pylist())
    assert pq.read_table(database / "valuemax_transactions_raw").num_rows == 1_500
