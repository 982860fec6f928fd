"""The canonical transaction schema (DESIGN.md §1) and the names it is mapped from.

Canonical columns, their logical types and units:

============== =========== ==========================================================
column         type        meaning
============== =========== ==========================================================
customer_id    string      who bought
order_id       string      the order (invoice); a line without one is its own order
order_ts       timestamp   when, naive local time as written in the log
amount         float64     line revenue in the log's currency (quantity * unit_price
                           when those are given and no amount column is)
quantity       float64     units on the line (optional)
unit_price     float64     price per unit in the log's currency (optional)
product_id     string      stock code / SKU (optional)
product_name   string      description (optional)
============== =========== ==========================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Literal

CANONICAL_COLUMNS: Final[tuple[str, ...]] = (
    "customer_id",
    "order_id",
    "order_ts",
    "amount",
    "quantity",
    "unit_price",
    "product_id",
    "product_name",
)

#: Columns without which no customer table can be built. ``amount`` may instead be derived
#: from ``quantity`` and ``unit_price``.
REQUIRED_COLUMNS: Final[tuple[str, ...]] = ("customer_id", "order_ts")

TimeUnit = Literal["D", "W"]
#: Days per unit: durations are measured in days and expressed in the unit (W = days / 7).
TIME_UNITS: Final[dict[str, int]] = {"D": 1, "W": 7}

#: Source names recognised for each canonical column, compared after lower-casing and
#: removing spaces, underscores, hyphens and dots. English and Chinese names seen in
#: real exports (e-commerce platforms, ERPs, POS systems).
COLUMN_ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "customer_id": (
        "customerid", "customer", "customerno", "customernumber", "custid", "clientid",
        "userid", "user", "memberid", "membernumber", "member", "buyerid", "accountid",
        "客户id", "客户编号", "客户号", "客户", "用户id", "用户编号", "用户", "会员号",
        "会员id", "会员编号", "会员", "买家id", "买家", "顾客id", "顾客编号",
        "买家会员名", "买家会员id", "会员名",
    ),
    "order_id": (
        "orderid", "invoiceno", "invoice", "invoiceid", "invoicenumber", "orderno",
        "ordernumber", "transactionid", "receiptno", "billno",
        "订单号", "订单id", "订单编号", "单号", "交易号", "交易id", "发票号", "流水号",
    ),
    "order_ts": (
        "ordertimestamp", "orderts", "orderdate", "invoicedate", "date", "datetime",
        "timestamp", "orderdatetime", "ordertime", "purchasedate", "transactiondate",
        "transactiontime", "createdat", "time",
        "下单时间", "订单日期", "订单时间", "交易时间", "交易日期", "日期", "时间", "购买时间",
        "购买日期", "付款时间", "支付时间", "成交时间", "订单创建时间", "创建时间",
        "订单付款时间",
    ),
    "amount": (
        "amount", "revenue", "sales", "total", "totalprice", "lineamount", "linetotal",
        "value", "dollarvalue", "sales_amount", "salesamount", "payment", "paidamount",
        "金额", "实付金额", "买家实际支付金额", "实际支付金额", "订单金额", "销售额", "销售金额", "支付金额", "付款金额", "成交金额",
        "总金额", "总价", "实收金额",
    ),
    "quantity": (
        "quantity", "qty", "units", "numberofcds", "count", "itemcount",
        "数量", "购买数量", "商品数量", "件数", "销量",
    ),
    "unit_price": (
        "unitprice", "price", "itemprice", "priceeach",
        "单价", "价格", "商品单价", "售价",
    ),
    "product_id": (
        "productid", "stockcode", "sku", "itemid", "productcode", "itemcode", "article",
        "商品id", "商品编号", "商品编码", "产品id", "产品编号", "货号", "sku编码",
    ),
    "product_name": (
        "productname", "description", "itemdescription", "itemname", "product", "item",
        "商品名称", "商品名", "产品名称", "品名", "商品", "宝贝标题", "宝贝名称", "商品标题",
    ),
}


#: Extra columns read as the customer's place, matched ignoring case, spaces and punctuation
#: (``Country/Region``, ``国家/地区``); the first
#: of this order that a log has wins: countries, then regions and provinces, then cities
#: (a Chinese shop's export often has 省份 or 城市 and no country).
GEOGRAPHY_COLUMNS: tuple[str, ...] = ("country", "country/region", "国家", "国家/地区", "地区",
                                      "region", "省份", "城市", "city")


def geography_column(columns: Sequence[str]) -> str | None:
    """The column of ``columns`` holding the customer's place (:data:`GEOGRAPHY_COLUMNS`).

    Examples
    --------
    >>> geography_column(["金额", "城市", "省份"])
    '省份'
    >>> geography_column(["Country", "city"]), geography_column(["amount"])
    ('Country', None)
    """
    def key(name: str) -> str:
        return "".join(ch for ch in name.lower() if ch.isalnum())

    have: dict[str, str] = {}
    for c in columns:
        have.setdefault(key(str(c)), str(c))
    return next((have[k] for k in map(key, GEOGRAPHY_COLUMNS) if k in have), None)


def normalise_name(name: str) -> str:
    """Return ``name`` lower-cased without spaces, ``_``, ``-``, ``.`` or a BOM.

    Examples
    --------
    >>> normalise_name(" Customer_ID ")
    'customerid'
    >>> normalise_name("客户 ID")
    '客户id'
    """
    out = name.replace("\ufeff", "").strip().lower()
    for ch in (" ", "_", "-", ".", "\u3000"):
        out = out.replace(ch, "")
    return out
