"""One real ``analyze`` run of a small synthetic shop log, shared by the report-section tests.

The log is built here (seeded) so the tests know what it holds independently of valuemax:
300 customers over 2011 (observation end 2011-12-09), buying BG/NBD-like (a gamma rate,
a beta drop-out chance after each purchase), an online shop with product codes,
Chinese product names, a country per customer, a customer id column whose header is an XSS
string, one customer id that is an XSS string and one in Chinese; plus 37 lines without a
customer id and 58 cancelled lines, which cleaning must quarantine.

:func:`small_result` runs ``analyze`` once per process (``functools.cache``): the session
fixtures of tests/report, tests/stats, tests/basket and tests/propensity all return it, so
the suite pays for one run (about 15 s on 2 cores).
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

XSS = "<script>alert(1)</script>"
#: Lines of the log (written by :func:`small_log`): good lines, then the two bad kinds.
N_CUSTOMERS = 300
N_MISSING_ID = 37
N_CANCELLED = 58
OBS_END = pd.Timestamp("2011-12-09")
#: (code, Chinese name, unit price)
PRODUCTS = (
    ("85123A", "白色挂灯", 2.55), ("71053", "金属灯笼", 3.39), ("84406B", "奶油衣架", 2.75),
    ("84029G", "热水袋", 3.39), ("84029E", "红色热水袋", 3.39), ("22752", "娃娃套装", 7.65),
    ("21730", "玻璃星灯", 4.25), ("22633", "暖手宝", 1.85), ("22632", "圆点暖手宝", 1.85),
    ("84879", "小鸟装饰", 1.69), ("22745", "木制相框", 2.10), ("22748", "兔子挂饰", 2.10),
)
COUNTRIES = ("United Kingdom", "Germany", "France", "EIRE", "中国", XSS)
#: The source columns, as the shop's export names them (the customer id column is XSS).
COLUMNS = {"order_id": "订单号", "customer_id": XSS, "order_ts": "InvoiceDate",
           "product_id": "StockCode", "product_name": "商品名称", "quantity": "Quantity",
           "unit_price": "UnitPrice"}


def small_log(seed: int = 42) -> pd.DataFrame:
    """The log as a table of the shop's export (one row per line, in the order written)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{12346 + i}" for i in range(N_CUSTOMERS)], dtype=object)
    ids[3], ids[4] = XSS, "客户甲"
    country = rng.choice(COUNTRIES, N_CUSTOMERS, p=[0.7, 0.1, 0.08, 0.05, 0.05, 0.02])
    rows: list[dict[str, Any]] = []
    order = 536_000
    for c in range(N_CUSTOMERS):
        tenure = int(rng.integers(0, 374))
        first = OBS_END - pd.Timedelta(days=tenure)
        # BG/NBD-like: purchases at a customer's own rate until they drop out
        rate, drop = rng.gamma(0.8, 1 / 20), rng.beta(1.0, 3.0)
        days, t = [0], 0.0
        while rng.random() > drop:
            t += rng.exponential(1 / rate)
            if t > tenure:
                break
            days.append(int(t))
        days = sorted(set(days))
        for d in days:
            order += 1
            ts = first + pd.Timedelta(days=d, minutes=int(rng.integers(8 * 60, 18 * 60)))
            for j in rng.choice(len(PRODUCTS), size=int(rng.integers(1, 4)), replace=False):
                code, name, price = PRODUCTS[j]
                rows.append({"订单号": str(order), XSS: ids[c], "InvoiceDate": ts,
                             "StockCode": code, "商品名称": name,
                             "Quantity": int(rng.integers(1, 6)), "UnitPrice": price,
                             "Country": country[c]})
    # the observation end is the day of the last line: one line on 2011-12-09
    rows.append({**rows[0], "订单号": str(order + 1),
                 "InvoiceDate": OBS_END + pd.Timedelta(hours=12)})
    good = pd.DataFrame(rows)
    missing = good.sample(N_MISSING_ID, random_state=seed).assign(**{XSS: None})
    cancelled = good.sample(N_CANCELLED, random_state=seed + 1)
    cancelled = cancelled.assign(订单号="C" + cancelled["订单号"],
                                 Quantity=-cancelled["Quantity"])
    log = pd.concat([good, missing, cancelled], ignore_index=True)
    log["InvoiceDate"] = log["InvoiceDate"].dt.strftime("%m/%d/%Y %H:%M")
    return log


@functools.cache
def small_result() -> Any:
    """``valuemax.analyze`` of :func:`small_log` (CSV named ``订单 2011 <b>.csv``), with Ward,
    a calibration split and the customer value step; nothing written (``out=None``)."""
    import valuemax

    # the report shows the source path: a folder named by the process id, not mkdtemp's
    # random suffix (e.g. "a01_l1rs", which the plain-language tests take for a machine name)
    folder = Path(tempfile.gettempdir()) / f"valuemax-small-run-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)  # a dead process's folder with the same id
    folder.mkdir(mode=0o700)
    path = folder / "订单 2011 <b>.csv"
    small_log().to_csv(path, index=False, encoding="utf-8")
    return valuemax.analyze(str(path), mapping=COLUMNS, clusters="kmeans+ward", random_state=0,
                            time_unit="W", returns="exclude")
