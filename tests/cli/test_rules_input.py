"""``valuemax rules`` recognises a one-basket-per-line file, or says to pass --input baskets
(issue 9, point 7)."""

from __future__ import annotations

import gzip
import json

import pytest

from valuemax.cli import app
from valuemax.pipeline._jobs import looks_like_baskets

BASKETS = ["citrus fruit,semi-finished bread,margarine,ready soups", "tropical fruit,yogurt,coffee",
           "whole milk", "pip fruit,yogurt,cream cheese,meat spreads",
           "other vegetables,whole milk,condensed milk", "whole milk,butter,yogurt,rice",
           "rolls/buns", "yogurt,whole milk", "coffee,yogurt"]


@pytest.fixture
def basket_file(tmp_path):
    path = tmp_path / "baskets.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(BASKETS * 30) + "\n")
    return path


def test_groceries_baskets_are_recognised(datasets):
    why = looks_like_baskets(datasets("groceries/groceries_baskets.csv.gz"))
    # the arules Groceries export: 1 to 32 items per basket (counted on the first 200 lines)
    assert why is not None and why.startswith("no header, lines of 1 to ")


@pytest.mark.parametrize("path", ["groceries/groceries.csv.gz",  # long format, with dates
                                  "cdnow/CDNOW_sample.txt",  # whitespace table of numbers
                                  "online_retail/online_retail.csv.gz"])  # a log
def test_tables_are_not_baskets(datasets, path):
    assert looks_like_baskets(datasets(path)) is None


def test_rules_reads_a_basket_file_without_options(cli_runner, basket_file):
    result = cli_runner.invoke(app, ["rules", str(basket_file), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["n_baskets"] == len(BASKETS) * 30
    assert summary["n_items"] == len({i for b in BASKETS for i in b.split(",")})
    plain = cli_runner.invoke(app, ["rules", str(basket_file)])
    assert plain.exit_code == 0, plain.output
    assert "read as one basket per line" in " ".join(plain.output.split())


def test_rules_as_transactions_says_to_pass_input_baskets(cli_runner, basket_file):
    result = cli_runner.invoke(app, ["rules", str(basket_file), "--input", "transactions"])
    assert result.exit_code == 2
    assert "--input baskets" in " ".join(result.output.split())


def test_long_lines_without_key_or_item_are_counted_on_the_terminal(cli_runner, tmp_path):
    """The breaker's longbad.csv: of 5 lines, one has no date, one no member, one no item;
    "2 baskets" were reported with no word on the 3 lines left out."""
    path = tmp_path / "long.csv"
    path.write_text("Member_number,Date,itemDescription\n"
                    "1,2024-01-01,milk\n1,2024-01-01,bread\n2,,milk\n,2024-01-02,jam\n"
                    "3,2024-01-03,\n", encoding="utf-8")
    res = cli_runner.invoke(app, ["rules", str(path), "--input", "long"])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert text.startswith("1 baskets, 2 items;")
    assert ("note: 3 of 5 lines have no item or no basket key (Member_number, Date): left "
            "out.") in text
    assert ("thresholds: chosen from the data (min_support, min_confidence, min_lift, "
            "max_len): min_support 1 = about 1 of 1 baskets") in text
    summary = json.loads(cli_runner.invoke(app, ["rules", str(path), "--input", "long",
                                                 "--json"]).output)
    assert summary["notes"] == ["3 of 5 lines have no item or no basket key (Member_number, "
                                "Date): left out."]


def test_no_rule_prints_the_advice_and_no_empty_table(cli_runner, basket_file):
    result = cli_runner.invoke(app, ["rules", str(basket_file), "--min-support", "0.9"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "0 rules" in text and "no rule passes these thresholds" in text
    assert "Top rules by lift" not in text
    with_rules = cli_runner.invoke(app, ["rules", str(basket_file)])
    assert "Top rules by lift" in with_rules.output


def test_too_many_itemsets_keeps_the_diagnosis_on_the_cli(cli_runner, tmp_path):
    """The breaker's 300-item basket: the CLI dropped the sentence with the bound and the
    limit (it named the API-only max_itemsets) and kept only the advice."""
    path = tmp_path / "huge.txt"
    path.write_text(",".join(str(i) for i in range(1, 301)) + "\n" + "1,2\n" * 30,
                    encoding="utf-8")
    result = cli_runner.invoke(app, ["rules", str(path), "--input", "baskets", "--max-len", "10",
                                     "--min-support", "0.01"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "frequent itemsets at --min-support 0.01 (>= 1 of 31 baskets) and --max-len 10" in text
    assert "limit of 2,000,000 itemsets" in text and "now 10" in text
    assert "max_itemsets" not in text


def test_rules_on_a_log_says_what_cleaning_dropped(cli_runner, tmp_path):
    """``valuemax rules`` on a transaction log names the lines the cleaning quarantined
    (count per reason) and the clean lines the rules come from."""
    lines = ["InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID"]
    for k in range(20):  # 20 orders of two products, every other one with a third: 50 lines
        day = f"2024-01-{k + 1:02d} 10:00:00"
        lines += [f"{1000 + k},A1,MUG,1,{day},2.5,{100 + k % 7}",
                  f"{1000 + k},B2,SPOON,1,{day},1.0,{100 + k % 7}"]
        if k % 2:
            lines.append(f"{1000 + k},C3,PLATE,1,{day},4.0,{100 + k % 7}")
    lines += ["2000,A1,MUG,1,2024-01-05 10:00:00,2.5,",  # no customer id
              # customer 101 cancels the one mug of order 1001 (2 Jan): netted (standard
              # nets returns), and that purchase line, netted to zero, is fully_returned
              "C2001,A1,MUG,-1,2024-01-06 10:00:00,2.5,101",
              lines[1]]  # an exact copy of the first line
    path = tmp_path / "orders.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli_runner.invoke(app, ["rules", str(path), "--input", "transactions"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert ("cleaning (preset standard): 53 lines read, 4 quarantined (duplicate_line 1, "
            "fully_returned 1, missing_customer_id 1, return_netted 1); baskets and rules "
            "come from the 49 clean lines") in text
    # every customer bought all three products (each has an order with the plate): the mug
    # and the spoon were bought together, so "no two products in one basket" would be false
    assert ("no recommendation: every product bought together with a customer's products "
            "is one they already bought (20 baskets, 3 products)") in text
    assert "no two products were ever bought in one basket" not in text
    summary = json.loads(cli_runner.invoke(
        app, ["rules", str(path), "--input", "transactions", "--json"]).output)
    assert any(n.startswith("cleaning (preset standard): 53 lines read, 4 quarantined")
               for n in summary["notes"])
    # the classic preset keeps the copy and quarantines the cancellation as such
    text = " ".join(cli_runner.invoke(app, ["rules", str(path), "--input", "transactions",
                                            "--preset", "classic"]).output.split())
    assert ("53 lines read, 2 quarantined (cancellation 1, missing_customer_id 1); baskets "
            "and rules come from the 51 clean lines") in text
