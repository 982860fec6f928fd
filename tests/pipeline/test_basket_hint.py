"""The basket step skipped for want of a product column names a kept column that looks like
one (new user: a Taobao export's 宝贝标题 was kept as an extra column, unmentioned)."""

from __future__ import annotations

import pandas as pd
import pytest

from valuemax._core.exceptions import StepNotApplicable
from valuemax.clean import clean
from valuemax.io import read_transactions
from valuemax.pipeline._parts import run_basket


def _cleaned(extra: dict[str, list[str]]):
    log = pd.DataFrame({"customer_id": ["a", "b", "a"], "order_id": ["1", "2", "3"],
                        "order_ts": ["2024-01-02", "2024-01-03", "2024-02-01"],
                        "amount": [10.0, 20.0, 5.0], **extra})
    ing = read_transactions(log)
    return clean(ing), ing.mapping


def test_a_product_like_column_is_named_with_the_option_to_map_it():
    res, mapping = _cleaned({"Item Title": ["tea", "cup", "tea"], "Region": ["N", "S", "N"]})
    assert "product_name" not in mapping and "product_id" not in mapping
    with pytest.raises(StepNotApplicable) as err:
        run_basket(res, mapping, {}, random_state=0)
    assert str(err.value) == (
        "the log has no product column (product_id or product_name): nothing to find in "
        "baskets; the column 'Item Title' looks like one: name it with --map "
        "\"product_name=Item Title\", or --map \"product_id=Item Title\" for codes")


def test_without_such_a_column_the_reason_stands_alone():
    res, mapping = _cleaned({"Region": ["N", "S", "N"]})
    with pytest.raises(StepNotApplicable) as err:
        run_basket(res, mapping, {}, random_state=0)
    assert str(err.value) == ("the log has no product column (product_id or product_name): "
                              "nothing to find in baskets")
