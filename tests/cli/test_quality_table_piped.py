"""The terminal quality table, piped (CliRunner's output is not a terminal): descriptions
are wrapped in their column, never cut."""

from __future__ import annotations

import re

import valuemax
from valuemax.cli import app

LOG = ("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID\n"
       "1,A,Mug,2,2024-01-05 10:00,2.50,c1\n"
       "1,A,Mug,2,2024-01-05 10:00,2.50,c1\n"
       "2,B,Bowl,1,2024-01-06 11:00,3.00,\n"
       "C3,A,Mug,-1,2024-01-07 12:00,2.50,c1\n"
       "4,B,Bowl,1,2024-01-08 09:00,-3.00,c2\n"
       "5,B,Bowl,1,soon,3.00,c2\n")


def _description_column(output: str) -> dict[str, str]:
    """rule -> its description, the wrapped lines of each table row joined with spaces."""
    rows: dict[str, str] = {}
    rule = None
    for line in output.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃|]", line)[1:-1]]
        if len(cells) != 4 or cells[0] == "rule":
            continue
        rule = cells[0] or rule
        if rule and cells[1]:
            rows[rule] = f"{rows.get(rule, '')} {cells[1]}".strip()
    return rows


def test_piped_quality_table_keeps_every_description_whole(cli_runner, tmp_path):
    src = tmp_path / "log.csv"
    src.write_text(LOG, encoding="utf-8")
    result = cli_runner.invoke(app, ["inspect", str(src)])
    assert result.exit_code == 0, result.output
    assert "…" not in result.output
    quality = valuemax.inspect(str(src)).quality  # the descriptions, from the API
    frame = quality.to_frame()
    assert len(frame) >= 3 and frame.description.str.len().max() > 60  # wider than its column
    shown = _description_column(result.output)
    for rule, description in zip(frame.rule, frame.description, strict=True):
        assert re.sub(r"\s+", "", shown[rule]) == re.sub(r"\s+", "", description), rule
