"""CLI messages in the CLI's words, each naming every problem once (breaker, new user):
no "finite number in [0, inf]", no "or None", every missing required option in one line,
an absurd --start refused, inspect's notes naming --map."""

from __future__ import annotations

import pytest

from valuemax.cli import app

SCORES = "customer_id,uplift\n" + "".join(f"c{i},{(i % 7) / 20:.2f}\n" for i in range(60))
TARGET = ["--margin", "0.3", "--cost-per-contact", "0.1", "--value", "20"]


def _line(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def scores(tmp_path):
    path = tmp_path / "scores.csv"
    path.write_text(SCORES, encoding="utf-8")
    return path


@pytest.mark.parametrize("args, said", [
    (["--margin", "0.3", "--cost-per-contact", "0.1", "--value", "inf"],
     "--value inf must be a finite number >= 0; costs and margins are never negative."),
    ([*TARGET, "--cost-per-redemption", "-1"],
     "--cost-per-redemption -1.0 must be a finite number >= 0;"),
    ([*TARGET, "--budget", "-4"], "--budget -4.0 must be a finite amount > 0 (currency of "
                                  "the contact costs); for no budget, leave it out."),
    ([*TARGET, "--max-contacts", "0"], "--max-contacts 0 must be a whole number >= 1; for "
                                       "no cap on the contacts, leave it out."),
])
def test_target_bounds_are_said_without_inf_or_none(cli_runner, scores, tmp_path, args, said):
    result = cli_runner.invoke(app, ["target", str(scores), *args, "--out",
                                     str(tmp_path / "o")])
    assert result.exit_code == 2
    text = _line(result)
    assert said in text
    assert "inf]" not in text and "None" not in text
    assert not (tmp_path / "o").exists()


def test_every_missing_required_option_in_one_message(cli_runner, scores):
    result = cli_runner.invoke(app, ["target", str(scores)])
    assert result.exit_code == 2
    assert ("error: Missing options '--margin', '--cost-per-contact'; 'valuemax target "
            "--help' lists the options") in _line(result)
    result = cli_runner.invoke(app, ["target", "--margin", "0.2"])
    assert result.exit_code == 2
    assert "Missing argument 'SCORES' and option '--cost-per-contact';" in _line(result)
    # one missing: click's own message, unchanged
    result = cli_runner.invoke(app, ["target", str(scores), "--margin", "0.2"])
    assert result.exit_code == 2
    assert "error: Missing option '--cost-per-contact';" in _line(result)


@pytest.mark.parametrize("start, side", [("0001-01-01", "before 1900-01-01"),
                                         ("2201-03-02", "after 2100-01-01")])
def test_target_refuses_an_absurd_start(cli_runner, scores, tmp_path, start, side):
    result = cli_runner.invoke(app, ["target", str(scores), *TARGET, "--start", start,
                                     "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert f"error: --start {start} is {side}: not a campaign start" in _line(result)
    assert not (tmp_path / "o").exists()
    ok = cli_runner.invoke(app, ["target", str(scores), *TARGET, "--start", "2026-03-02",
                                 "--out", str(tmp_path / "ok")])
    assert ok.exit_code == 0, ok.output
    assert "2026-03-02" in (tmp_path / "ok" / "assignments.csv").read_text(encoding="utf-8-sig")


def test_inspect_notes_name_the_map_option(cli_runner, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("who,when,what\na,2024-01-01,3\nb,2024-01-02,4\n", encoding="utf-8")
    result = cli_runner.invoke(app, ["inspect", str(path), "--map", "customer_id=who",
                                     "--map", "order_ts=when", "--map", "amount=what"])
    assert result.exit_code == 0, result.output
    text = _line(result)
    assert "note: customer_id <- 'who' (--map)" in text
    assert "mapping=" not in text
