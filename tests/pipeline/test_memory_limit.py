"""The store's DuckDB memory limit (issue 12): given with ``memory_limit=`` / ``--memory-limit``
and recorded, refused when it is not a size, grown with the customers in the propensity step
(and set back), and named in the skip reason of a step DuckDB ran out of it in."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pytest

from valuemax import analyze
from valuemax.cli import app
from valuemax.engines import connect
from valuemax.exceptions import InputError
from valuemax.pipeline import EngineOptions
from valuemax.pipeline._parts import _limit_for_customers, run_step, step_failure_reason

from ._small_logs import make_log


@pytest.mark.parametrize("bad", ["lots", "10MB", "", 4, "4 parsecs"])
def test_a_limit_that_is_not_a_size_of_100mb_or_more_is_refused(bad):
    with pytest.raises(InputError, match=r"memory_limit must be a memory size of at least "
                                         r"100MB, such as '4GB'"):
        EngineOptions(memory_limit=bad)
    assert EngineOptions(memory_limit="8GiB").memory_limit == "8GiB"


def _oom() -> duckdb.OutOfMemoryException:
    con = duckdb.connect(config={"memory_limit": "20MB"})
    try:
        con.execute("SELECT list(range) FROM range(20000000)").fetchall()
    except duckdb.OutOfMemoryException as exc:
        return exc
    finally:
        con.close()
    raise AssertionError("DuckDB did not run out of 20 MB")


def test_an_out_of_memory_skip_says_how_to_give_more():
    exc = _oom()
    reason = step_failure_reason(exc)
    assert reason.startswith("DuckDB ran out of the store's memory limit in this step")
    assert "--memory-limit 4GB (memory_limit='4GB')" in reason
    assert reason.endswith(" ".join(str(exc).split("Possible solutions:")[0].split()))
    assert "Out of Memory Error" in reason and "Possible solutions" not in reason

    def step():
        raise exc

    skipped: dict[str, str] = {}
    tracebacks: dict[str, str] = {}
    assert run_step("basket", skipped, tracebacks, step) is None
    assert skipped["basket"] == reason and "OutOfMemoryException" in tracebacks["basket"]


def test_the_limit_grows_with_customers_for_the_block_and_is_set_back():
    con = connect(None, memory_limit="200MB")
    t = con.create_table("limit_lines", pa.table({"customer_id": ["a"]}))

    def setting() -> str:
        return con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]

    before = setting()
    notes: list[str] = []
    with _limit_for_customers(t, 1_000, notes, "200MB"):  # 1 MB wanted: below the limit
        assert setting() == before
    with _limit_for_customers(t, 600_000, notes, None):  # a limit the user gave: kept
        assert setting() == before
    assert notes == []
    with _limit_for_customers(t, 600_000, notes, "200MB"):  # 600 MB wanted
        assert setting() == "572.2 MiB"
    assert setting() == before
    assert notes == ["the store's DuckDB memory limit was raised from 200MB to 0.6GB for "
                     "this step (1 GB per million customers: 600,000 customers)."]
    con.disconnect()


def test_the_given_limit_is_the_store_s_and_recorded(tmp_path):
    log = make_log(30, 200)
    res = analyze(pa.Table.from_pandas(log), out=tmp_path / "o", memory_limit="300MB",
                  clusters="none", clv=False, propensity=False)
    assert res.params["memory_limit"] == "300MB"
    assert res.summary["params"]["memory_limit"] == "300MB"


def test_the_cli_refuses_a_bad_limit(cli_runner, tmp_path):
    src = tmp_path / "log.csv"
    make_log(10, 100).to_csv(src, index=False)
    out = tmp_path / "o"
    result = cli_runner.invoke(app, ["analyze", str(src), "--out", str(out),
                                     "--memory-limit", "lots"])
    assert result.exit_code == 2, result.output
    assert "at least 100MB, such as '4GB'" in result.output
    assert not out.exists()


def test_out_of_memory_in_read_or_clean_is_one_line_with_the_fix(cli_runner, tmp_path,
                                                                 monkeypatch):
    """DuckDB running out of the limit while cleaning (a new user's --memory-limit 100MB on
    Online Retail: a traceback, exit 1) stops the job with exit 2, one line naming the limit
    and --memory-limit, and nothing written. The clean step raises a real DuckDB
    out-of-memory error here (made by DuckDB under a 20 MB limit)."""
    import valuemax.pipeline._analyze as pipeline_analyze

    def clean_out_of_memory(*args, **kwargs):
        raise _oom()

    monkeypatch.setattr(pipeline_analyze, "clean_log_lines", clean_out_of_memory)
    src = tmp_path / "log.csv"
    make_log(10, 100).to_csv(src, index=False)
    out = tmp_path / "o"
    result = cli_runner.invoke(app, ["analyze", str(src), "--out", str(out),
                                     "--memory-limit", "150MB"])
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert ("error: DuckDB ran out of the store's memory limit (150MB) while reading and "
            "cleaning the log, which every other step needs, so nothing was written; run "
            "again with a larger limit, e.g. --memory-limit 4GB") in text
    assert "Possible solutions" not in text and "Traceback" not in text
    assert not out.exists()
