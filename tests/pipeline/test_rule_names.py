"""rules.csv and recommendations.csv name the products as the report does (a new user found
the codes only in the files while the report and dashboard showed names)."""

from __future__ import annotations

import pandas as pd
import pytest

from valuemax.cli import app

NAMES = {"A1": "RED MUG", "B2": "BLUE PLATE", "C3": "GREEN CUP", "D4": "TEA TOWEL"}
BASKETS = [["A1", "B2"], ["A1", "B2", "C3"], ["C3", "D4"], ["A1", "D4"]]


def _log(path, *, named: bool) -> None:
    """120 customers, 3 invoices each of one basket pattern (customer number mod 4)."""
    rows, invoice = [], 0
    for c in range(120):
        for k in range(3):
            invoice += 1
            for code in BASKETS[c % 4] if k else BASKETS[(c + 1) % 4]:
                row = {"InvoiceNo": f"5{invoice:05d}", "StockCode": code, "Quantity": 1,
                       "InvoiceDate": f"2011-{1 + 3 * k:02d}-{1 + c % 27:02d} 10:00",
                       "UnitPrice": 2.5, "CustomerID": 10000 + c}
                if named:
                    row["Description"] = NAMES[code]
                rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)


@pytest.mark.parametrize("command", ["rules", "analyze"])
def test_rule_files_carry_product_names(cli_runner, tmp_path, command):
    _log(tmp_path / "log.csv", named=True)
    out = tmp_path / "out"
    args = [command, str(tmp_path / "log.csv"), "--out", str(out)]
    if command == "analyze":
        args += ["--no-clv", "--no-propensity"]
    result = cli_runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    rules = pd.read_csv(out / "rules.csv", dtype=str, keep_default_na=False,
                        encoding="utf-8-sig")
    assert len(rules) > 0
    for side, names in (("antecedents", "antecedent_names"), ("consequents", "consequent_names")):
        codes = rules[side].str.split(" | ", regex=False)
        assert rules[names].str.split(" | ", regex=False).tolist() == [
            [NAMES[c] for c in row] for row in codes]
    parquet = pd.read_parquet(out / "rules.parquet")
    assert [list(x) for x in parquet["consequent_names"]] == [
        [NAMES[c] for c in row] for row in parquet["consequents"]]
    recs = pd.read_csv(out / "recommendations.csv", dtype=str, encoding="utf-8-sig")
    assert len(recs) > 0
    assert recs["item_name"].tolist() == [NAMES[c] for c in recs["item"]]
    # the names sit beside the codes they name
    columns = list(recs.columns)
    assert columns.index("item_name") == columns.index("item") + 1


def test_without_names_the_files_keep_their_header_with_the_codes_as_names(cli_runner,
                                                                          tmp_path):
    """A log without a name column writes the same columns as a named one (a script reading
    rules.csv must not break from one log to the next), each name being the code itself."""
    _log(tmp_path / "named.csv", named=True)
    _log(tmp_path / "log.csv", named=False)
    headers = {}
    for stem in ("named", "log"):
        out = tmp_path / f"out_{stem}"
        result = cli_runner.invoke(app, ["rules", str(tmp_path / f"{stem}.csv"), "--out",
                                         str(out)])
        assert result.exit_code == 0, result.output
        headers[stem] = [pd.read_csv(out / f, dtype=str, encoding="utf-8-sig", nrows=0)
                         .columns.tolist() for f in ("rules.csv", "recommendations.csv")]
    assert headers["log"] == headers["named"]
    out = tmp_path / "out_log"
    rules = pd.read_csv(out / "rules.csv", dtype=str, encoding="utf-8-sig")
    assert len(rules) > 0
    assert rules["antecedent_names"].tolist() == rules["antecedents"].tolist()
    assert rules["consequent_names"].tolist() == rules["consequents"].tolist()
    recs = pd.read_csv(out / "recommendations.csv", dtype=str, encoding="utf-8-sig")
    assert recs["item_name"].tolist() == recs["item"].tolist()


@pytest.mark.parametrize("command", ["rules", "analyze"])
def test_a_code_under_two_names_is_named_once_and_noted(cli_runner, tmp_path, command):
    """B2 is sold as "BLUE PLATE" and, on a fifth of its lines, "A BLUE PLATE": the files
    name it by the first name in sort order (as the dashboard and the API do) and the run
    says so on the terminal, with each name's line count (``analyze`` said it in the report
    only, a new user found)."""
    _log(tmp_path / "log.csv", named=True)
    log = pd.read_csv(tmp_path / "log.csv")
    b2 = log.index[log["StockCode"] == "B2"]
    renamed = b2[::5]
    log.loc[renamed, "Description"] = "A BLUE PLATE"
    log.to_csv(tmp_path / "log.csv", index=False)
    out = tmp_path / "out"
    args = [command, str(tmp_path / "log.csv"), "--out", str(out)]
    if command == "analyze":
        args += ["--no-clv", "--no-propensity"]
    result = cli_runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert (f"1 product code carries several names in the log (B2: 'A BLUE PLATE' on "
            f"{len(renamed):,} lines, 'BLUE PLATE' on {len(b2) - len(renamed):,} lines)") in text
    rules = pd.read_csv(out / "rules.csv", dtype=str, encoding="utf-8-sig")
    named = [n for cell in rules["antecedent_names"].tolist() + rules["consequent_names"].tolist()
             for n in cell.split(" | ")]
    assert "A BLUE PLATE" in named and "BLUE PLATE" not in named


@pytest.mark.parametrize("items", [
    ["CUP | SAUCER", "MUG"], ["A|B", "C"], ["back\\slash", "x \\| y"], [" lead", "trail "],
    ["ONE"], ["|", "\\", " | "]])
def test_a_joined_cell_splits_back_into_exactly_its_items(items):
    from valuemax.pipeline._outputs import join_items, split_items

    cell = join_items(items)
    assert split_items(cell) == items
    # the separator is the only unescaped " | ": as many separators as items less one
    assert cell.replace("\\\\", "").replace("\\|", "").count(" | ") == len(items) - 1


def test_a_product_name_with_a_bar_stays_one_item_in_rules_csv(cli_runner, tmp_path):
    """"RED MUG" renamed "RED | WHITE MUG": rules.csv must still hold one name per code."""
    from valuemax.pipeline._outputs import split_items

    _log(tmp_path / "log.csv", named=True)
    log = pd.read_csv(tmp_path / "log.csv")
    log.loc[log["StockCode"] == "A1", "Description"] = "RED | WHITE MUG"
    log.to_csv(tmp_path / "log.csv", index=False)
    out = tmp_path / "out"
    result = cli_runner.invoke(app, ["rules", str(tmp_path / "log.csv"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rules = pd.read_csv(out / "rules.csv", dtype=str, keep_default_na=False,
                        encoding="utf-8-sig")
    names = {**NAMES, "A1": "RED | WHITE MUG"}
    assert any("A1" in split_items(c) for c in rules["antecedents"])
    for side, named in (("antecedents", "antecedent_names"), ("consequents", "consequent_names")):
        assert [split_items(c) for c in rules[named]] == [
            [names[code] for code in split_items(c)] for c in rules[side]]
