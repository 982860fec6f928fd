"""``analyze`` on a matrix of small and odd logs (issue 9, point 2): every log it can read
exits 0 with every row accounted for, the skipped steps stated in summary.json and the
report, and a report that parses; a log with no usable row exits 2.

Each log runs once (module-scoped fixtures). The generated logs use ``clv_model="bgnbd"``:
with ``auto`` the Pareto/NBD likelihood series alone takes minutes on 40 customers today
(``_pareto_likelihood._log_series_1_b_c``); the realistic shop runs with the defaults
through the CLI, as a user would.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import valuemax
from valuemax.cli import app
from valuemax.clv import MIN_REPEAT_BUYERS
from valuemax.pipeline._analyze import MIN_CUSTOMERS_TO_CLUSTER
from valuemax.pipeline._parts import MIN_CUSTOMERS_FOR_PROPENSITY

from ._small_logs import make_log, n_repeat_buyers, small_shop_gbk, span_days

TS_FMT = "%Y-%m-%d %H:%M:%S"
SHOP_FMT = "%Y/%m/%d %H:%M"
#: name -> keywords of make_log (8 months = 245 days, 3 weeks = 21 days)
CASES = {
    "1_customer": {"n_customers": 1, "days": 245},
    "2_customers": {"n_customers": 2, "days": 245},
    "5_customers": {"n_customers": 5, "days": 245},
    "40_customers": {"n_customers": 40, "days": 245},
    "200_customers": {"n_customers": 200, "days": 245},
    "3_weeks": {"n_customers": 40, "days": 21},
    "everyone_once": {"n_customers": 40, "days": 245, "once": True},
    "everyone_one_day": {"n_customers": 40, "days": 245, "one_day": True},
    "one_product": {"n_customers": 40, "days": 245, "n_products": 1},
}


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> dict[str, tuple[Path, pd.DataFrame]]:
    folder = tmp_path_factory.mktemp("small_logs")
    out = {}
    for name, kw in CASES.items():
        frame = make_log(**kw)
        frame.to_csv(folder / f"{name}.csv", index=False)
        out[name] = (folder / f"{name}.csv", frame)
    shop = folder / "small_shop_gbk.csv"
    out["small_shop_gbk"] = (shop, small_shop_gbk(shop))
    return out


@pytest.fixture(scope="module", params=list(CASES))
def api_run(request, logs, tmp_path_factory):
    path, frame = logs[request.param]
    out = tmp_path_factory.mktemp(request.param) / "out"
    result = valuemax.analyze(str(path), out=out, clv_model="bgnbd", random_state=0)
    return request.param, frame, result


class _Report(HTMLParser):
    """Collects the visible text and checks that every opened element is closed."""

    VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                      "meta", "source", "track", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []
        self.title = ""

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        assert tag in self.stack, f"</{tag}> closes nothing"
        while self.stack.pop() != tag:  # implicitly closed elements (p, li, td ...)
            pass

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "title":
            self.title += data
        if not self.stack or self.stack[-1] not in ("script", "style"):
            self.text.append(data)


def _parse_report(path: Path) -> _Report:
    parser = _Report()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    assert parser.stack in ([], ["html"]), f"unclosed elements: {parser.stack[-5:]}"
    return parser


def _check_outputs(out: Path, frame: pd.DataFrame, customer: str) -> dict:
    """Checks shared by API and CLI runs; returns summary.json."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    # every line of the file is accounted for (counted in pandas, not by valuemax)
    assert summary["rows_in"] == len(frame)
    assert summary["rows_in"] == summary["rows_clean"] + summary["rows_quarantined"]
    assert sum(summary["quarantine_by_reason"].values()) == summary["rows_quarantined"]
    quarantine = pd.read_parquet(out / "quarantine.parquet")
    assert len(quarantine) == summary["rows_quarantined"]
    customers = pd.read_parquet(out / "customers.parquet")
    assert len(customers) == summary["n_customers"]
    assert customers["customer_id"].is_unique
    assert set(customers["customer_id"]) <= set(frame[customer].dropna().astype(str))
    # summary.json and the skipped steps agree: a skipped part has no result, and vice versa
    skipped = summary["skipped"]
    for step, key in (("value", "clv"), ("stats", "stats"), ("propensity", "propensity"),
                      ("basket", "basket")):
        assert (step in skipped) == (summary[key] is None), (step, skipped.get(step))
    assert ("kmeans" in skipped) == (summary["kmeans"]["k"] is None)
    for reason in skipped.values():
        assert isinstance(reason, str) and reason.strip()
    # the report parses, and shows every skipped step with its reason
    report = _parse_report(out / "report.html")
    text = " ".join(" ".join(report.text).split())
    for step, reason in skipped.items():
        assert " ".join(reason.split())[:60] in text, (step, reason)
    return summary


def test_api_run_accounts_for_every_row(api_run):
    _, frame, result = api_run
    q = result.quality
    assert q.rows_in == q.rows_clean + q.rows_quarantined == len(frame)
    summary = _check_outputs(result.out, frame, "customer_id")
    assert summary["skipped"] == result.skipped
    assert summary["n_customers"] == frame["customer_id"].nunique()  # nothing quarantined


def test_api_run_skips_exactly_what_the_data_cannot_support(api_run):
    _, frame, result = api_run
    n_customers = frame["customer_id"].nunique()
    repeat = n_repeat_buyers(frame, "customer_id", "order_ts", TS_FMT)
    span = span_days(frame, "order_ts", TS_FMT)
    skipped = result.skipped
    assert ("kmeans" in skipped) == (n_customers < MIN_CUSTOMERS_TO_CLUSTER)
    if repeat < MIN_REPEAT_BUYERS:
        assert f"only {repeat:,} repeat buyers" in skipped["value"]
    if n_customers < MIN_CUSTOMERS_FOR_PROPENSITY:  # whatever the span (one rule for all)
        assert skipped["propensity"].startswith(f"only {n_customers:,} customers: a buy-again "
                                                f"model needs at least "
                                                f"{MIN_CUSTOMERS_FOR_PROPENSITY}")
    elif span < 2 * 90:
        assert "fewer than two horizons" in skipped["propensity"]
    if "value" not in skipped:
        cust = result.customers
        assert cust["p_alive"].between(0, 1).all() and (cust["clv_12"] >= 0).all()
    if "propensity" not in skipped:
        assert result.customers["p_buy_90d"].between(0, 1).all()
    # a step that failed (not a refusal) keeps its traceback, and only those do
    assert set(result.tracebacks) <= set(skipped)
    for step, trace in result.tracebacks.items():
        assert trace.startswith("Traceback") and skipped[step].split(":")[0] in trace


@pytest.fixture(scope="module")
def shop_run(logs, tmp_path_factory):
    from typer.testing import CliRunner

    path, frame = logs["small_shop_gbk"]
    out = tmp_path_factory.mktemp("shop") / "out"
    result = CliRunner().invoke(app, ["analyze", str(path), "--out", str(out)])
    return result, out, frame


def test_cli_small_chinese_shop_exits_0_with_the_models_skipped_or_run(shop_run):
    result, out, frame = shop_run
    assert result.exit_code == 0, result.output
    assert len(frame) == 292 and frame["会员号"].nunique() == 40
    summary = _check_outputs(out, frame, "会员号")
    assert summary["encoding"] in ("gb18030", "gbk")
    assert summary["mapping"]["customer_id"] == "会员号"
    assert summary["n_customers"] == 40
    # the terminal lists each skipped step; no message names an option the CLI lacks
    for step in summary["skipped"]:
        assert f"skipped {step}:" in result.output
    _only_real_options(result.output, "analyze")


def _cli_options(command: str) -> set[str]:
    from typer.main import get_command

    cmd = get_command(app).commands[command]
    return {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"--help"}


def _only_real_options(text: str, command: str) -> None:
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))
    assert named <= _cli_options(command), named - _cli_options(command)
    assert "penalizer" not in text


@pytest.mark.browser
def test_small_chinese_shop_report_opens_in_chromium(shop_run, check_report_in_browser):
    result, out, _ = shop_run
    assert result.exit_code == 0, result.output
    page = check_report_in_browser(out / "report.html")
    assert page["n_plots"] > 0
    assert "会员号" in page["text"] or "VIP10" in page["text"]


def test_cli_one_customer_exits_0(logs, cli_runner, tmp_path):
    path, frame = logs["1_customer"]
    out = tmp_path / "out"
    result = cli_runner.invoke(app, ["analyze", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = _check_outputs(out, frame, "customer_id")
    assert summary["n_customers"] == 1
    assert {"kmeans", "value", "propensity"} <= set(summary["skipped"])
    _only_real_options(result.output, "analyze")


def test_cli_no_usable_row_exits_2_with_the_reason(logs, cli_runner, tmp_path):
    _, frame = logs["5_customers"]
    src = tmp_path / "no_customer.csv"
    frame.assign(customer_id="").to_csv(src, index=False)
    out = tmp_path / "out"
    result = cli_runner.invoke(app, ["analyze", str(src), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "customer" in result.output.lower() and "Traceback" not in result.output
    assert not out.exists()


@pytest.fixture(scope="module")
def no_prices_run(tmp_path_factory):
    from typer.testing import CliRunner

    folder = tmp_path_factory.mktemp("no_prices")
    frame = make_log(40, 245, prices=False)
    frame.to_csv(folder / "no_prices.csv", index=False)
    out = folder / "out"
    result = CliRunner().invoke(app, ["analyze", str(folder / "no_prices.csv"), "--out",
                                      str(out)])
    return result, out, frame


def test_cli_no_prices_runs_what_needs_no_money(no_prices_run):
    # a log without amount or unit price: what needs no money runs (RFM recency/frequency,
    # purchase models, rules); the spend steps are skipped naming the column and the fix
    result, out, frame = no_prices_run
    assert result.exit_code == 0, result.output
    assert "amount" not in frame and "unit_price" not in frame
    summary = _check_outputs(out, frame, "customer_id")
    assert summary["rows_quarantined"] == 0
    skipped = summary["skipped"]
    assert {"spend", "kmeans", "stats"} <= set(skipped)
    for step in ("spend", "kmeans", "stats"):
        assert "no amount column, nor quantity and unit_price" in skipped[step], step
        assert "--map amount=COL" in skipped[step], step
        assert f"skipped {step}:" in result.output
    assert "value" not in skipped and "basket" not in skipped
    # buying again needs no price: propensity follows the span rule alone, without the
    # spend features
    if span_days(frame, "order_ts", TS_FMT) < 2 * 90:
        assert "fewer than two horizons" in skipped["propensity"]
    else:
        assert "propensity" not in skipped, skipped.get("propensity")
        prop = summary["propensity"]
        assert prop["features"] and not {"total_spend", "avg_order_value", "monetary_value",
                                         "spend_last_90d", "spend_prev_90d",
                                         "spend_trend"} & set(prop["features"])
        assert any(n.startswith("spend features left out (the log has no prices)")
                   for n in prop["notes"])
    _only_real_options(result.output, "analyze")

    customers = pd.read_parquet(out / "customers.parquet")
    assert not {"total_spend", "avg_order_value", "monetary_value", "m_score", "clv_12",
                "expected_avg_value"} & set(customers.columns)
    # frequency (repeat purchase days) counted in pandas from the log
    days = pd.to_datetime(frame["order_ts"], format=TS_FMT).dt.normalize()
    n_days = days.groupby(frame["customer_id"]).nunique()
    got = customers.set_index("customer_id")
    assert (got["frequency"] == (n_days - 1).reindex(got.index)).all()
    assert (got["recency"] <= got["T"]).all() and (got["recency"] >= 0).all()
    assert got["p_alive"].between(0, 1).all()
    assert (got["expected_purchases_12"] > 0).all() and got["expected_purchases_12"].notna().all()
    # the rfm cell has two digits (R, F): no M score
    assert got["rfm_cell"].str.fullmatch(r"[1-5]{2}").all()
    if "propensity" not in skipped:
        assert got["p_buy_90d"].notna().all() and got["p_buy_90d"].between(0, 1).all()
    # segments: no revenue columns in the summary, every customer in one segment
    assert all(s["revenue_share"] is None for s in summary["segments"])
    assert sum(s["n_customers"] for s in summary["segments"]) == 40
    clv = summary["clv"]
    assert clv["spend_model"] is None and clv["total_clv"] is None
    assert any("Gamma-Gamma and CLV not computed: the log has no prices" in n
               for n in clv["notes"])

    text = " ".join(" ".join(_parse_report(out / "report.html").text).split())
    assert "spend needs a price or amount column" in text
    assert "no prices: spend, monetary value, CLV in money are not computed" in text
    assert "Gamma-Gamma and CLV not computed: the log has no prices" in text


def test_no_prices_clv_shows_only_why_it_was_not_computed(no_prices_run):
    """CLV not computed (no prices; 245 days of history for a 12-month horizon): the report
    and the terminal give the reason, not the CLV formula nor the caveat on reading CLV
    over a horizon longer than the history (found by the new user)."""
    result, out, _ = no_prices_run
    text = " ".join(" ".join(_parse_report(out / "report.html").text).split())
    assert "CLV not computed: the log has no prices" in text
    assert "CLV = margin" not in text and "CLV looks 12 months ahead" not in text
    cli = " ".join(result.output.split())
    assert "CLV not computed: the log has no prices (no amount column" in cli
    assert "12-month CLV horizon is" not in cli and "read CLV" not in cli


def test_cli_no_prices_with_quantity_alone_is_not_priced(tmp_path, cli_runner):
    # quantity without unit price values nothing: the same money-free run, and the
    # quantity column does not make lines "unparseable_amount"
    src = tmp_path / "qty.csv"
    frame = make_log(5, 245, prices=False)
    frame["quantity"] = frame["quantity"].astype(str)
    frame.loc[0, "quantity"] = "lots"
    frame.to_csv(src, index=False)
    out = tmp_path / "out"
    result = cli_runner.invoke(app, ["analyze", str(src), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = _check_outputs(out, frame, "customer_id")
    assert summary["quarantine_by_reason"].get("unparseable_amount", 0) == 0
    assert "spend" in summary["skipped"]


def test_free_purchases_only_skip_the_spend_step_with_its_reason(tmp_path):
    """Every price zero (free items, a loyalty log): the lines are clean purchases, the
    purchase models run, and Gamma-Gamma cannot: ``spend`` is a skipped step with the count
    of repeat buyers with a positive spend (0) and why, in the API, summary.json and the
    report, and customers have no CLV column (it was only a note inside the value result).
    Segments, clusters and stats take the no-spend path of a log without prices."""
    frame = make_log(60, 400, seed=11)
    frame["unit_price"] = 0.0
    frame.to_csv(tmp_path / "free.csv", index=False)
    result = valuemax.analyze(tmp_path / "free.csv", out=tmp_path / "out")
    repeat = n_repeat_buyers(frame, "customer_id", "order_ts", TS_FMT)
    assert repeat >= MIN_REPEAT_BUYERS and "value" not in result.skipped
    assert result.skipped["spend"] == (
        "CLV not computed: no spend model: 0 repeat buyers with a positive average spend "
        "(every repeat buyer's purchases are free: the log's prices are zero), at least "
        f"{MIN_REPEAT_BUYERS} needed; P(alive) and expected purchases are given")
    assert "clv_12" not in result.customers and result.customers["p_alive"].notna().all()
    # no spend to score, cluster or explain: R and F scores only (every customer's M would
    # be 1 and R5F5 customers 'Potential Loyalist'), K-means and stats skipped with why
    from valuemax.pipeline._analyze import FREE_ONLY

    assert result.customers["rfm_cell"].str.fullmatch(r"[1-5]{2}").all()
    assert result.skipped["kmeans"].endswith(FREE_ONLY)
    assert result.skipped["stats"].endswith(FREE_ONLY)
    best = result.customers["rfm_cell"] == "55"
    assert best.any() and (result.customers.loc[best, "segment"] == "Champions").all()
    summary = _check_outputs(result.out, frame, "customer_id")
    assert summary["skipped"]["spend"] == result.skipped["spend"]
