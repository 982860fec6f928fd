"""A Chinese shop's 城市 (city) column is the customers' geography when there is no country.

The dashboard, ``analyze``'s customer table (and K-means profiles) and the report use one
list of place columns (``valuemax._core.schema.GEOGRAPHY_COLUMNS``): countries first, then
regions and provinces, then cities.
"""

from __future__ import annotations

import html

from tests.pipeline._small_logs import small_shop_gbk

import valuemax
from valuemax._core.schema import geography_column


def test_city_is_the_geography_of_a_log_without_country(tmp_path):
    frame = small_shop_gbk(tmp_path / "shop.csv")
    res = valuemax.analyze(tmp_path / "shop.csv", out=tmp_path / "out", clusters="none",
                           clv=False, propensity=False)
    # each member has one city in this log: the customer table carries it
    expected = frame.groupby("会员号")["城市"].first()
    got = res.customers.set_index("customer_id")["城市"]
    assert got.sort_index().to_dict() == expected.sort_index().to_dict()
    page = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert html.escape("Customers by 城市") in page or "Customers by 城市" in page
    assert "No country column in the source" not in page


def test_countries_come_before_regions_and_cities():
    assert geography_column(["城市", "Country/Region", "省份"]) == "Country/Region"
    assert geography_column(["city", "省 份"]) == "省 份"
    assert geography_column(["amount", "cityname"]) is None
