"""What the terminal says about the baskets (new-user findings): a log without order ids
forms customer-day baskets and the run says so, with the number of baskets a plain pandas
count gives."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from valuemax.cli import app


def _log(path) -> pd.DataFrame:
    """30 customers, 1 to 4 visits each, 2-3 products a visit, no order column."""
    rng = np.random.default_rng(7)
    products = ["APPLE", "BREAD", "MILK", "EGGS", "JAM", "TEA"]
    rows = []
    for c in range(30):
        for d in rng.choice(60, size=1 + c % 4, replace=False):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(d))
            for p in rng.choice(products, size=2 + c % 2, replace=False):
                rows.append({"customer_id": f"C{c:02d}", "date": f"{day:%Y-%m-%d} 10:{c:02d}",
                             "product": p, "amount": 2.5})
    frame = pd.DataFrame(rows)
    frame.to_csv(path, index=False)
    return frame


def test_a_log_without_order_ids_says_its_baskets_are_customer_days(cli_runner, tmp_path):
    frame = _log(tmp_path / "log.csv")
    out = tmp_path / "out"
    result = cli_runner.invoke(app, ["analyze", str(tmp_path / "log.csv"), "--out", str(out),
                                     "--no-clv", "--no-propensity"])
    assert result.exit_code == 0, result.output
    n_baskets = frame.assign(day=frame["date"].str[:10]).groupby(["customer_id", "day"]).ngroups
    text = " ".join(result.output.split())
    assert f"from {n_baskets:,} customer-day baskets" in text
    assert (f"note: the log has no order ids: its {len(frame):,} lines form customer-day "
            "baskets") in text
    assert "--map order_id=COLUMN" in text
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["basket"]["basket_kind"] == "customer-day"
    assert summary["basket"]["n_baskets"] == n_baskets


def test_product_names_with_trailing_blanks_are_one_product(cli_runner, tmp_path):
    """A names-only export that wrote "WHITE MUG" on some lines and "WHITE MUG " on others
    (a new user's log): one product in the rules and baskets, and no customer is recommended
    a product they bought under the other spelling."""
    frame = _log(tmp_path / "log.csv")
    frame = frame.rename(columns={"product": "Description"})
    frame.loc[frame.index % 2 == 1, "Description"] += " "
    frame.loc[frame.index % 5 == 0, "Description"] = "  " + frame["Description"]
    frame.to_csv(tmp_path / "log.csv", index=False)
    out = tmp_path / "out"
    result = cli_runner.invoke(app, ["rules", str(tmp_path / "log.csv"), "--out", str(out),
                                     "--min-lift", "0.5", "--min-confidence", "0.1"])
    assert result.exit_code == 0, result.output
    names = frame["Description"].str.strip()
    summary_items = sorted(names.unique())
    rules = pd.read_csv(out / "rules.csv", dtype=str, encoding="utf-8-sig")
    assert len(rules) > 0
    seen = {i for cell in pd.concat([rules["antecedents"], rules["consequents"]])
            for i in cell.split(" | ")}
    assert seen <= set(summary_items)
    recs = pd.read_csv(out / "recommendations.csv", dtype=str, encoding="utf-8-sig")
    bought = set(zip(frame["customer_id"], names, strict=True))
    assert len(recs) > 0
    assert not any((c, i) in bought for c, i in zip(recs["customer_id"], recs["item"],
                                                    strict=True))
    assert f"{len(summary_items)} items" in " ".join(result.output.split())
