"""Placeholder dates, pandas Periods, wide files and CLI words (issue 10, "Silently wrong")."""

from __future__ import annotations

import datetime as dt

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from valuemax.clean import clean
from valuemax.features import customer_table
from valuemax.io import read_transactions
from valuemax.propensity._frame import MAX_CATEGORICAL, choose_categorical


def _log(n_customers=30, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_customers):
        for d in np.sort(rng.choice(np.arange(365), size=int(rng.integers(2, 8)),
                                    replace=False)):
            rows.append((f"c{c}", dt.datetime(2011, 1, 1) + dt.timedelta(days=int(d)),
                         float(rng.integers(5, 50))))
    return pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])


def _customers(frame, **kw):
    cleaned = clean(read_transactions(frame), **kw)
    return (customer_table(cleaned.transactions, observation_end=cleaned.observation_end)
            .to_pyarrow().to_pandas().sort_values("customer_id").reset_index(drop=True),
            cleaned.report)


def test_placeholder_and_far_early_dates_are_quarantined_not_purchases():
    log = _log()
    bad = pd.DataFrame({"customer_id": ["c1", "c2", "c3"],
                        "order_date": pd.to_datetime(["1970-01-01", "1900-01-01",
                                                      "1985-06-01"]),
                        "amount": [5.0, 5.0, 5.0]})
    got, report = _customers(pd.concat([log, bad], ignore_index=True))
    want, _ = _customers(log)  # the same log without those lines, computed independently
    assert report["placeholder_date"] == 3
    assert report.rows_in == len(log) + 3 == report.rows_clean + report.rows_quarantined
    cols = ["customer_id", "tenure_days", "recency_days", "frequency", "recency", "T",
            "n_orders", "total_spend"]
    pd.testing.assert_frame_equal(got[cols], want[cols])


def test_a_log_that_really_spans_1970_keeps_its_1970_lines():
    days = pd.date_range("1969-06-01", "1970-06-30", freq="3D")
    log = pd.DataFrame({"customer_id": [f"c{i % 7}" for i in range(len(days))],
                        "order_date": days, "amount": 10.0})
    log.loc[len(log)] = ["c1", pd.Timestamp("1970-01-01"), 10.0]
    _, report = _customers(log)
    assert report["placeholder_date"] == 0 and report.rows_quarantined == 0


def test_many_early_lines_are_history_not_a_typo():
    # 40 lines a year before the rest are a real first year, not "a handful": kept
    log = _log()
    early = pd.DataFrame({"customer_id": [f"c{i % 30}" for i in range(40)],
                          "order_date": pd.Timestamp("2009-03-01"), "amount": 9.0})
    _, report = _customers(pd.concat([log, early], ignore_index=True))
    assert report["placeholder_date"] == 0


def test_pandas_period_dates_are_read_as_their_start_not_serial_numbers():
    log = _log()
    as_periods = log.assign(order_date=log["order_date"].dt.to_period("D"))
    ing = read_transactions(as_periods)
    assert any("pandas Periods (freq D)" in n for n in ing.notes)
    got = ing.standardized().order_ts.to_pyarrow().to_pylist()
    assert got == [t.to_pydatetime() for t in log["order_date"]]
    assert str(as_periods["order_date"].dtype) == "period[D]"  # the input is unchanged
    months = log.assign(order_date=log["order_date"].dt.to_period("M"))
    first = read_transactions(months).standardized().order_ts.to_pyarrow().to_pylist()
    assert first == [dt.datetime(t.year, t.month, 1) for t in log["order_date"]]


def test_a_wide_log_gets_a_few_chosen_categorical_features():
    # 586 lines padded with 300 low-cardinality text columns (the reproduction)
    rng = np.random.default_rng(1)
    n = 586
    cols = {"customer_id": [f"c{i % 60}" for i in range(n)],
            "order_ts": [dt.datetime(2011, 1, 1) + dt.timedelta(days=int(d))
                         for d in rng.integers(0, 500, n)],
            "amount": rng.gamma(3, 10, n),
            "Country": [("UK", "FR", "DE")[i % 60 % 3] for i in range(n)]}
    cols |= {f"pad{k:03d}": rng.choice(["x", "y", "z"], n).tolist() for k in range(300)}
    t = ibis.memtable(pa.table(cols))
    chosen, note = choose_categorical(t, "auto")
    assert len(chosen) == MAX_CATEGORICAL == 5
    assert chosen[0] == "Country"  # constant per customer: ranked first
    assert note.startswith("categorical features: Country, ")
    assert "296 other extra text column(s) not used" in note
    few, _ = choose_categorical(t.select("customer_id", "order_ts", "amount", "Country",
                                         "pad000"), "auto")
    assert few == ("Country", "pad000")  # under the cap: every candidate, as before


def test_extra_columns_named_like_customer_table_columns_are_not_features():
    """A CRM export's text column 'total_spend' (or 'frequency') clashed with the customer
    table the propensity features are built on, and the step was skipped with a message
    about mode_columns; it is left out of the automatic choice, and the note says so."""
    from valuemax.features._validation import CUSTOMER_COLUMNS

    n = 40
    cols = {"customer_id": [f"c{i % 10}" for i in range(n)],
            "order_ts": [dt.datetime(2011, 1, 1) + dt.timedelta(days=i) for i in range(n)],
            "amount": [10.0] * n, "channel": [("web", "shop")[i % 2] for i in range(n)],
            "total_spend": ["5"] * n, "frequency": ["high"] * n, "segment": ["VIP"] * n}
    assert {"total_spend", "frequency"} <= set(CUSTOMER_COLUMNS)
    chosen, note = choose_categorical(ibis.memtable(pa.table(cols)), "auto")
    assert chosen == ("channel", "segment")
    assert note == ("categorical features: channel, segment; extra column(s) 'total_spend', "
                    "'frequency' not used as categorical features: named like a column of "
                    "the customer table (rename them in the source, or pass "
                    "categorical=[...])")


@pytest.mark.parametrize("args, kw, want, api", [
    (["--date-format", "%d/%m/%Y"], {"date_format": "%d/%m/%Y"}, "--date-format '%d/%m/%Y'",
     "date_format=('%d/%m/%Y',)"),
    (["--map", "order_ts=nope"], {"mapping": {"order_ts": "nope"}}, "--map order_ts=nope",
     "mapping['order_ts'] = 'nope'"),
])
def test_cli_messages_name_options_and_the_api_keywords(tmp_path, cli_runner, args, kw, want,
                                                        api):
    from valuemax.cli import app
    from valuemax.cli._options import cli_words
    from valuemax.exceptions import InputError
    from valuemax.pipeline import inspect

    src = tmp_path / "log.csv"
    src.write_text("customer_id,order_date,amount\n" + "".join(
        f"c{i % 5},2011-01-{1 + i % 28:02d},{i + 1}\n" for i in range(40)), encoding="utf-8")
    res = cli_runner.invoke(app, ["inspect", str(src), *args])
    assert res.exit_code == 2
    assert want in res.output and api not in res.output
    with pytest.raises(InputError) as info:  # the same mistake in Python names the keyword
        inspect(str(src), **kw)
    assert api in str(info.value)
    assert cli_words("use returns='exclude'") == "use --returns exclude"
