"""The presets on UCI Online Retail (541,909 lines), against published and recounted figures.

Published (datasets/README.md; Chen, Sain & Guo 2012 and the analyses that follow them): the
usual cleaning (CustomerID present, invoice not cancelled, Quantity > 0, UnitPrice > 0) keeps
397,884 lines, 18,532 invoices, 4,338 customers and 8,911,407.90 GBP. The file holds 135,080
lines without CustomerID and 5,268 exact duplicate lines.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import ibis
import pytest

from valuemax.clean import DEFAULT_NON_PRODUCT_CODES, clean

N_LINES = 541_909
RAW = "online_retail_raw"


def materialised(ingested, result, name: str):
    """The result with its clean table materialised, as the pipeline does (one run).

    The quarantine stays lazy: each test queries it at most once.
    """
    tx = ingested.con.create_table(f"{name}_tx", result.transactions)
    return replace(result, transactions=tx)


@pytest.fixture(scope="module")
def classic(online_retail):
    return materialised(online_retail, clean(online_retail, preset="classic"), "classic")


@pytest.fixture(scope="module")
def standard(online_retail):
    return materialised(online_retail, clean(online_retail), "standard")


@pytest.fixture(scope="module")
def net(online_retail):
    return materialised(online_retail, clean(online_retail, returns="net"), "net")


def sql_one(ingested, sql: str):
    """First value of an independent DuckDB query on the raw table."""
    return ingested.con.raw_sql(sql).fetchone()[0]


def counts_by_reason(result) -> dict[str, int]:
    q = result.quarantine
    rows = q.group_by("reason").aggregate(n=q.count()).to_pyarrow().to_pylist()
    return {r["reason"]: r["n"] for r in rows}


def test_classic_reproduces_the_literature(classic):
    tx = classic.transactions
    got = tx.aggregate(
        n=tx.count(), invoices=tx.order_id.nunique(), customers=tx.customer_id.nunique(),
        revenue=tx.amount.sum(),
    ).to_pyarrow().to_pylist()[0]
    assert got["n"] == 397_884
    assert got["invoices"] == 18_532
    assert got["customers"] == 4_338
    assert got["revenue"] == pytest.approx(8_911_407.90, abs=0.005)
    rep = classic.report
    assert rep.rows_in == N_LINES and rep.rows_clean == 397_884
    assert rep.observation_end == dt.date(2011, 12, 9)
    assert not tx.is_outlier.any().to_pyarrow().as_py()


def test_classic_counts_per_rule(online_retail, classic):
    rep = classic.report
    assert [r.code for r in rep.rules] == [
        "undecodable_text", "missing_customer_id", "missing_date", "unparseable_date", "placeholder_date",
        "missing_amount", "unparseable_amount", "implausible_date", "implausible_amount",
        "cancellation", "return", "nonpositive_quantity", "nonpositive_price",
    ]
    assert rep["missing_customer_id"] == 135_080
    assert rep["undecodable_text"] == 0  # the file is valid UTF-8
    assert rep["implausible_date"] == rep["implausible_amount"] == 0
    # recounted on the raw file: C invoices that have a customer id; negative quantities
    # outside C invoices all lack a customer id; priced <= 0 among the rest
    assert rep["cancellation"] == sql_one(
        online_retail,
        f"SELECT count(*) FROM {RAW} WHERE CustomerID IS NOT NULL AND InvoiceNo LIKE 'C%'",
    ) == 8_905
    assert rep["return"] == rep["nonpositive_quantity"] == 0
    assert rep["nonpositive_price"] == 40
    assert sum(r.count for r in rep.rules) == rep.rows_quarantined == N_LINES - 397_884
    assert counts_by_reason(classic) == {r.code: r.count for r in rep.rules if r.count}


def test_standard_accounts_for_every_line(online_retail, standard):
    rep = standard.report
    assert [r.code for r in rep.rules] == [
        "undecodable_text", "missing_customer_id", "missing_date", "unparseable_date", "placeholder_date",
        "missing_amount", "unparseable_amount", "implausible_date", "implausible_amount",
        "after_observation_end", "duplicate_line", "non_product", "cancellation", "return", "nonpositive_quantity", "negative_price",
    ]
    assert rep.rows_in == N_LINES == rep.rows_clean + rep.rows_quarantined
    assert sum(r.count for r in rep.rules) == rep.rows_quarantined
    assert standard.transactions.count().to_pyarrow().as_py() == rep.rows_clean
    assert counts_by_reason(standard) == {r.code: r.count for r in rep.rules if r.count}
    assert rep["missing_customer_id"] == 135_080
    assert rep["implausible_date"] == 0
    assert rep["after_observation_end"] == 0  # the default end is the log's last day
    assert rep.observation_end == dt.date(2011, 12, 9)
    assert rep.notes[0].startswith("observation_end 2011-12-09: the date of the log's last "
                                   "transaction (")
    # 5,268 exact duplicates in the file; those without a customer id count there
    dup_sql = f"""
        SELECT count(*) FROM (
          SELECT CustomerID, row_number() OVER (PARTITION BY InvoiceNo, StockCode,
            Description, Quantity, InvoiceDate, UnitPrice, CustomerID, Country
            ORDER BY _row_id) AS k FROM {RAW}) WHERE k > 1"""
    assert sql_one(online_retail, dup_sql) == 5_268
    assert rep["duplicate_line"] == sql_one(
        online_retail, dup_sql + " AND CustomerID IS NOT NULL") <= 5_268
    # non-product and cancellations recounted in SQL among first copies with a customer
    exact = ", ".join(f"'{c.upper()}'" for c in DEFAULT_NON_PRODUCT_CODES if c[-1] != "*")
    first = f"""
        SELECT * FROM (
          SELECT *, row_number() OVER (PARTITION BY InvoiceNo, StockCode, Description,
            Quantity, InvoiceDate, UnitPrice, CustomerID, Country ORDER BY _row_id) AS k
          FROM {RAW}) WHERE k = 1 AND CustomerID IS NOT NULL"""
    nonprod = f"(upper(trim(StockCode)) IN ({exact}) OR upper(StockCode) LIKE 'GIFT\\_%' ESCAPE '\\')"
    assert rep["non_product"] == sql_one(
        online_retail, f"SELECT count(*) FROM ({first}) WHERE {nonprod}")
    assert rep["cancellation"] == sql_one(
        online_retail,
        f"SELECT count(*) FROM ({first}) WHERE NOT {nonprod} AND InvoiceNo LIKE 'C%'",
    )
    assert rep["cancellation"] < 8_905 and rep["non_product"] > 0
    # outliers are flagged and kept
    tx = standard.transactions
    assert tx.is_outlier.sum().to_pyarrow().as_py() == rep.n_outliers > 0
    assert rep.rows_clean == sql_one(
        online_retail,
        f"SELECT count(*) FROM ({first}) WHERE NOT {nonprod} AND InvoiceNo NOT LIKE 'C%' "
        "AND CAST(Quantity AS DOUBLE) > 0 AND CAST(UnitPrice AS DOUBLE) >= 0",
    ) == 391_183
    # zero-priced lines are free purchases, kept by standard (classic drops them)
    assert rep.rows_clean - 391_150 == sql_one(
        online_retail,
        f"SELECT count(*) FROM ({first}) WHERE NOT {nonprod} AND InvoiceNo NOT LIKE 'C%' "
        "AND CAST(Quantity AS DOUBLE) > 0 AND CAST(UnitPrice AS DOUBLE) = 0",
    ) == 33


def test_net_mode_matches_exclude_mode(standard, net):
    ex, nt = standard.report, net.report
    assert nt.rows_in == N_LINES == nt.rows_clean + nt.rows_quarantined
    assert sum(r.count for r in nt.rules) == nt.rows_quarantined
    # the same lines are returns, and the same lines are purchases, in both modes
    assert nt["return_netted"] + nt["return_unmatched"] == ex["cancellation"] + ex["return"]
    assert nt.rows_clean + nt["fully_returned"] == ex.rows_clean
    for code in ("missing_customer_id", "duplicate_line", "non_product", "negative_price"):
        assert nt[code] == ex[code]
    # revenue: purchases before netting - netted == purchases after netting
    ex_tx, nt_tx = standard.transactions, net.transactions
    before = ex_tx.amount.sum().to_pyarrow().as_py()
    after = nt_tx.amount.sum().to_pyarrow().as_py()
    assert nt.netted_revenue > 0
    assert before - nt.netted_revenue == pytest.approx(after, abs=0.01)
    # never a negative spend, per line or per customer
    spend = nt_tx.group_by("customer_id").aggregate(s=nt_tx.amount.sum())
    assert spend.s.min().to_pyarrow().as_py() >= 0
    # the only zero-amount lines are the free purchases (price 0), never a line netted to 0
    zero = nt_tx.filter(nt_tx.amount == 0)
    n_zero = zero.count().to_pyarrow().as_py()
    assert n_zero == zero.filter(zero.unit_price == 0).count().to_pyarrow().as_py() > 0
    assert nt_tx.amount.min().to_pyarrow().as_py() == 0
    assert nt_tx.returned_quantity.min().to_pyarrow().as_py() == 0


def test_net_excess_beyond_the_matched_purchase_recounted(online_retail, net):
    """The units returned beyond the matched purchase line, recounted in SQL of our own on
    the raw rows: each return line (reason return_*) is matched by an ASOF JOIN to the
    customer's last earlier purchase line (clean or fully_returned) of the same StockCode
    in (InvoiceDate, row) order; per purchase line its returns are taken in that order and
    whatever of a return the earlier ones left no units for is its excess, at the return's
    own price. Which lines are returns and purchases is the rules' (tested above); the
    matching and the excess are not the code's. Per purchase line, what is deducted is the
    value of its netted units at its own price, but never more than the refunds netted
    against it (their money less their excess): recounted here too.

    Recounted on this file: 215 return lines, 5,350 units, 13,498.31 beyond the purchase;
    the new user's figure, matched refunds - deducted = 15,400.82, is that excess plus
    1,902.51 of matched units refunded above the price they were bought at (not deducted).
    Units refunded below their price (132 lines: 2,224.21 for units bought for 3,609.28)
    take their refund only: 1,385.07 less deducted than at the purchases' prices (the
    netting by units alone deducted 435,568.77, and matched - deducted was 14,015.75).
    """
    con = online_retail.con
    q = net.quarantine
    kinds = q.filter(q.reason.isin(["return_netted", "return_unmatched", "fully_returned"]))
    kinds = kinds.select("_row_id", kind=ibis.ifelse(kinds.reason == "fully_returned", "P", "R"))
    kinds = kinds.union(net.transactions.select("_row_id", kind=ibis.literal("P")))
    con.create_table("net_kinds_excess", kinds, temp=True)
    got = con.raw_sql(f"""
        WITH lines AS (
          SELECT r._row_id, k.kind, regexp_replace(trim(r.CustomerID), '\\.0$', '') AS cust,
                 r.StockCode AS item,
                 epoch(strptime(r.InvoiceDate, '%Y-%m-%d %H:%M:%S'))::BIGINT * 1000000
                   + r._row_id AS pos,
                 CAST(r.Quantity AS DOUBLE) AS qty,
                 abs(CAST(r.Quantity AS DOUBLE) * CAST(r.UnitPrice AS DOUBLE)) AS money
          FROM {RAW} r JOIN net_kinds_excess k ON k._row_id = r._row_id),
        rets AS (SELECT * FROM lines WHERE kind = 'R'),
        buys AS (SELECT * FROM lines WHERE kind = 'P'),
        m AS (SELECT r.pos, abs(r.qty) AS u, r.money, b._row_id AS pid, b.qty AS bq,
                     b.money AS bm
              FROM rets r ASOF LEFT JOIN buys b
              ON r.cust = b.cust AND r.item = b.item AND r.pos >= b.pos),
        c AS (SELECT *, sum(u) OVER (PARTITION BY pid ORDER BY pos) AS cu FROM m
              WHERE pid IS NOT NULL),
        x AS (SELECT *, u - least(greatest(bq - (cu - u), 0), u) AS xu FROM c)
        SELECT (SELECT count(*) FROM x WHERE xu > 0), (SELECT sum(xu) FROM x),
               (SELECT sum(money * xu / u) FROM x WHERE u > 0),
               (SELECT sum(money) FROM x), (SELECT sum(money) FROM m WHERE pid IS NULL),
               (SELECT count(*) FROM m WHERE pid IS NULL),
               (SELECT sum(d) FROM (SELECT least(sum(bm * (u - xu) / bq),
                                                 sum(money * (u - xu) / u)) AS d
                                    FROM x GROUP BY pid))""").fetchone()
    n_excess, units, excess, matched, unmatched, n_unmatched, deducted = got
    rep = net.report
    rec = rep.reconciliation()
    assert (n_excess, units) == (215, 5_350)  # recounted once by this query
    assert (rec["return_lines_beyond_purchase"],
            rec["units_beyond_purchase"]) == (n_excess, units)
    # the reconciliation's figures are rounded to a millionth of a pound
    assert rec["refunds_beyond_purchase"] == pytest.approx(excess, abs=1e-5)
    assert rec["refunds_unmatched"] == pytest.approx(unmatched, abs=1e-5)
    assert rec["return_lines_unmatched"] == n_unmatched == rep["return_unmatched"]
    assert rec["refunds"] == pytest.approx(matched + unmatched, abs=1e-5)
    assert rec["refunds_deducted"] == pytest.approx(deducted, abs=1e-4)
    assert matched - rec["refunds_deducted"] == pytest.approx(15_400.82, abs=0.005)
    assert rec["refunds_beyond_purchase"] + rec["refund_price_difference"] == pytest.approx(
        15_400.82, abs=0.005)
    assert rec["refund_price_difference"] == pytest.approx(1_902.51, abs=0.005)
    assert any("401 matched return lines at another unit price than their purchase: 132 "
               "return lines refunded 2,224.21 for units bought for 3,609.28" in n
               and "269 return lines refunded 5,987.59 for units bought for 4,085.08" in n
               for n in rep.notes)
    # the purchases before netting: the purchase lines' raw Quantity x UnitPrice
    before = con.raw_sql(f"""
        SELECT sum(CAST(Quantity AS DOUBLE) * CAST(UnitPrice AS DOUBLE)) FROM {RAW}
        JOIN net_kinds_excess k USING (_row_id) WHERE k.kind = 'P'""").fetchone()[0]
    clean_spend = net.transactions.amount.sum().to_pyarrow().as_py()
    assert rec["spend_before_netting"] == pytest.approx(before, abs=1e-4)  # float sum order
    assert rec["clean_spend"] == pytest.approx(clean_spend, abs=1e-4)
    assert before - rec["refunds_deducted"] == pytest.approx(clean_spend, abs=0.005)


# --- Online Retail without its product columns: returns netted by amount ----------------

@pytest.fixture(scope="module")
def no_products(online_retail):
    """Online Retail with StockCode and Description dropped from the source (an export
    without products): the same lines, order ids, customers, dates, quantities and prices."""
    con = online_retail.con
    con.raw_sql(f"CREATE OR REPLACE VIEW or_noprod AS SELECT * EXCLUDE (StockCode, "
                f"Description) FROM {RAW}")
    con.raw_sql("CREATE OR REPLACE VIEW or_noprod_std AS SELECT * REPLACE (NULL::VARCHAR AS "
                f"product_id, NULL::VARCHAR AS product_name) FROM {RAW}_std")
    return replace(online_retail, raw=con.table("or_noprod"), std=con.table("or_noprod_std"))


@pytest.fixture(scope="module")
def no_products_net(no_products):
    return materialised(no_products, clean(no_products, returns="net"), "noprod_net")


@pytest.fixture(scope="module")
def no_products_exclude(no_products):
    return materialised(no_products, clean(no_products), "noprod_ex")


def test_without_products_every_line_is_counted_by_reason(
        online_retail, no_products_net, no_products_exclude):
    rep, ex = no_products_net.report, no_products_exclude.report
    assert rep.netting == "amount"
    assert rep.rows_in == N_LINES == rep.rows_clean + rep.rows_quarantined
    assert sum(r.count for r in rep.rules) == rep.rows_quarantined
    assert counts_by_reason(no_products_net) == {r.code: r.count for r in rep.rules if r.count}
    # the same lines are refunds in both modes, and the same lines are purchases
    netted = ("return_netted_order", "return_netted_day", "return_netted_earlier")
    assert sum(rep[c] for c in (*netted, "return_unmatched")) == ex["cancellation"] + ex["return"]
    assert rep.rows_clean + rep["fully_returned"] == ex.rows_clean
    # Online Retail numbers cancellations from the invoices' own sequence: no C invoice
    # names an invoice (of anyone), so nothing is netted at order level
    assert sql_one(online_retail, f"""
        SELECT count(*) FROM {RAW} c JOIN {RAW} p ON p.InvoiceNo = substr(c.InvoiceNo, 2)
        WHERE c.InvoiceNo LIKE 'C%'""") == 0
    assert rep["return_netted_order"] == 0
    assert rep["return_netted_day"] > 0 and rep["return_netted_earlier"] > 0
    assert rep["return_unmatched"] > 0 and rep.refunds_not_netted > 0


def test_without_products_spend_is_net_and_never_negative(no_products_net, no_products_exclude):
    rep = no_products_net.report
    # every refund (|Quantity x UnitPrice| of a quarantined return line, recomputed from the
    # raw text) is either deducted from a purchase or reported as not netted
    q = no_products_net.quarantine
    ret = q.filter(q.reason.startswith("return_"))
    refunds = (ret.Quantity.cast("float64") * ret.UnitPrice.cast("float64")).abs().sum()
    assert rep.netted_revenue + rep.refunds_not_netted == pytest.approx(
        refunds.to_pyarrow().as_py(), rel=1e-12)
    before_tx, after_tx = no_products_exclude.transactions, no_products_net.transactions
    before = before_tx.amount.sum().to_pyarrow().as_py()
    after = after_tx.amount.sum().to_pyarrow().as_py()
    assert before - rep.netted_revenue == pytest.approx(after, abs=0.01)
    assert after_tx.amount.min().to_pyarrow().as_py() >= 0
    per_order = after_tx.group_by("order_id").aggregate(s=after_tx.amount.sum())
    assert per_order.s.min().to_pyarrow().as_py() >= 0
    # per customer: at most what they bought, at least what they bought minus all their
    # refunds (some refunds find nothing earlier to come off), never below zero
    b = before_tx.group_by("customer_id").aggregate(bought=before_tx.amount.sum())
    a = after_tx.group_by("customer_id").aggregate(net=after_tx.amount.sum())
    r = ret.mutate(cid=ret.CustomerID.re_replace(r"\.0$", ""))
    r = r.group_by("cid").aggregate(
        refunded=(r.Quantity.cast("float64") * r.UnitPrice.cast("float64")).abs().sum())
    a = a.rename(aid="customer_id")
    j = b.left_join(a, b.customer_id == a.aid).left_join(r, b.customer_id == r.cid)
    j = j.mutate(net=j.net.fill_null(0.0), refunded=j.refunded.fill_null(0.0))
    worst = j.aggregate(
        over=(j.net - j.bought).max(),
        under=(ibis.greatest(j.bought - j.refunded, 0.0) - j.net).max(),
        neg=j.net.min(),
    ).to_pyarrow().to_pylist()[0]
    assert worst["over"] <= 1e-6 and worst["under"] <= 1e-6 and worst["neg"] >= 0


def test_without_products_not_netted_is_excess_plus_unmatched(no_products_net):
    """By amount: the unmatched returns' refunds (raw |Quantity x UnitPrice| of the
    return_unmatched lines) plus the excess of netted returns larger than what was left
    are the refunds not netted; money is deducted as refunded (no price difference)."""
    rec = no_products_net.report.reconciliation()
    q = no_products_net.quarantine
    un = q.filter(q.reason == "return_unmatched")
    unmatched = (un.Quantity.cast("float64") * un.UnitPrice.cast("float64")).abs().sum()
    assert rec["refunds_unmatched"] == pytest.approx(unmatched.to_pyarrow().as_py(), abs=1e-4)
    assert rec["return_lines_beyond_purchase"] > 0 and rec["refunds_beyond_purchase"] > 0
    assert rec["refunds_beyond_purchase"] + rec["refunds_unmatched"] == pytest.approx(
        rec["refunds_not_netted"], abs=1e-6)
    assert rec["refund_price_difference"] == pytest.approx(0.0, abs=1e-4)
