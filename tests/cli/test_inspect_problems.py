"""``inspect`` never stops at the first problem (issue 9, point 7): it shows the mapping, the
formats found and every problem, then exits 2."""

from __future__ import annotations

import json

import pytest

from valuemax.cli import app
from valuemax.exceptions import InputError
from valuemax.pipeline import inspect

# two independent problems: day/month order unknowable (no day above 12), mixed currencies
TWO_PROBLEMS = ("customer_id,order_date,amount\nA1,01/02/2024,$1\nA2,03/04/2024,€2\n"
                "A3,05/06/2024,$3\nA4,07/08/2024,$4\n")


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "two_problems.csv"
    path.write_text(TWO_PROBLEMS, encoding="utf-8")
    return path


def test_api_lists_every_problem_and_what_was_found(log):
    with pytest.raises(InputError, match=r"^2 problems in .*\(1\) order_ts .*ambiguous.*"
                                         r"\(2\) amount .*mixes currencies") as info:
        inspect(str(log))
    found = info.value.inspection
    assert found.quality is None and len(found.problems) == 2
    assert found.ingest["mapping"] == {"customer_id": "customer_id", "order_ts": "order_date",
                                       "amount": "amount"}
    assert found.ingest["format"] == "csv" and found.ingest["encoding"] == "utf-8"


def test_cli_shows_the_mapping_then_every_problem_and_exits_2(cli_runner, log):
    result = cli_runner.invoke(app, ["inspect", str(log)])
    assert result.exit_code == 2
    out = " ".join(result.stdout.split())
    assert "Column mapping" in out and "order_date" in out and "encoding utf-8" in out
    err = " ".join(result.stderr.split())
    assert "2 problems:" in err
    assert "1. order_ts (column 'order_date'): the day/month order is ambiguous" in err
    assert "--date-format" in err
    assert "2. amount (column 'amount') mixes currencies" in err
    as_json = cli_runner.invoke(app, ["inspect", str(log), "--json"])
    assert as_json.exit_code == 2
    payload = json.loads(as_json.stdout)
    assert payload["quality"] is None and len(payload["problems"]) == 2
    assert payload["ingest"]["mapping"]["order_ts"] == "order_date"


def test_fixing_one_problem_leaves_the_other(cli_runner, log):
    result = cli_runner.invoke(app, ["inspect", str(log), "--date-format", "%d/%m/%Y"])
    assert result.exit_code == 2
    err = " ".join(result.stderr.split())
    assert "1 problem:" in err and "mixes currencies" in err and "ambiguous" not in err


def test_a_file_that_cannot_be_loaded_has_one_problem(cli_runner, tmp_path):
    src = tmp_path / "empty.csv"
    src.write_bytes(b"")
    result = cli_runner.invoke(app, ["inspect", str(src)])
    assert result.exit_code == 2
    assert "could not be loaded as a table" in " ".join(result.stdout.split())
    assert "1 problem:" in result.stderr and "empty" in result.stderr
