"""The README's ``valuemax target`` example runs as written (its bash block is not run by
tests/test_readme.py, which runs the Python blocks), and shows ``--start``."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pandas as pd

from valuemax.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def _bash_commands(program: str) -> list[list[str]]:
    """The README's bash lines running ``program`` (continuations joined, comments off)."""
    text = README.read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"^```bash\n(.*?)^```", text, re.S | re.M):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith(program + " "):
                found.append(shlex.split(line))
    return found


def test_readme_target_example_runs_and_writes_its_start_date(cli_runner, tmp_path,
                                                              monkeypatch):
    commands = _bash_commands("valuemax target")
    assert len(commands) == 1, commands
    args = commands[0][1:]
    assert "--start" in args  # the assignment date is documented, not only in --help
    start = args[args.index("--start") + 1]
    rng = np.random.default_rng(4)
    pd.DataFrame({"customer_id": [f"c{i:03d}" for i in range(300)],
                  "uplift": rng.uniform(0.0, 0.2, 300),
                  "expected_avg_value": rng.uniform(10, 60, 300)}).to_csv(
        tmp_path / "scores.csv", index=False)
    monkeypatch.chdir(tmp_path)  # the example names scores.csv, campaign/, valuemax.duckdb
    res = cli_runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assignments = pd.read_csv(tmp_path / "campaign" / "assignments.csv")
    assert len(assignments) > 0
    assert set(pd.to_datetime(assignments["assigned_at"])) == {pd.Timestamp(start)}
    held = (assignments["arm"] == "holdout").mean()  # --holdout 0.1, by rank decile
    assert abs(held - float(args[args.index("--holdout") + 1])) < 0.02
