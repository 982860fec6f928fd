"""The main job's analysis steps after the customer table, each skipped with a reason."""

from __future__ import annotations

import warnings
from typing import Any

import pandas as pd

from valuemax._core.exceptions import InputError
from valuemax.basket import analyze_baskets
from valuemax.propensity import SeparationWarning, can_run, fit_propensity
from valuemax.stats import value_drivers


def run_stats(customers: pd.DataFrame, skipped: dict[str, str]) -> Any:
    """"What goes with value" (:func:`valuemax.stats.value_drivers`), or None with a reason.

    The target is log1p(CLV) when the value step added a ``clv_*`` column, else log spend.
    """
    behaviour = ("recency_days", "tenure_days", "n_orders", "n_lines", "frequency",
                 "total_spend", "avg_order_value", "monetary_value")
    # correlations among behaviour and the value target; the model's other outputs
    # (P(alive), expected purchases) are functions of the same history: circular pairs
    features = [c for c in customers.columns
                if c in behaviour or (isinstance(c, str) and c.startswith("clv_"))]
    try:
        return value_drivers(customers, features=features)
    except InputError as exc:
        skipped["stats"] = str(exc)
        return None


def run_basket(tx: Any, mapping: dict[str, Any], skipped: dict[str, str], *,
               seed: int) -> Any:
    """"What sells together" (:func:`valuemax.basket.analyze_baskets`) on the clean lines.

    Runs when the log has a product column, with thresholds chosen from the data (stated in
    the result); otherwise, or on a refusal (e.g. the blow-up guard), None with the reason.
    """
    if not {"product_id", "product_name"} & set(mapping):
        skipped["basket"] = ("the log has no product column (product_id or product_name): "
                             "nothing to find in baskets")
        return None
    try:
        return analyze_baskets(tx, random_state=seed)
    except InputError as exc:
        skipped["basket"] = str(exc)
        return None


def run_propensity(tx: Any, customers: pd.DataFrame, skipped: dict[str, str], *,
                   observation_end: Any, horizon_days: int, seed: int) -> Any:
    """"Who buys next" (:func:`valuemax.propensity.fit_propensity`), or None with a reason.

    Runs when the log spans at least two horizons (:func:`valuemax.propensity.can_run`).
    """
    first = pd.Timestamp(customers["first_purchase"].min()).date()
    ok, why = can_run(first, observation_end, horizon_days)
    if not ok:
        skipped["propensity"] = why
        return None
    try:
        with warnings.catch_warnings():
            # the result's notes carry it; the report and summary show it
            warnings.simplefilter("ignore", SeparationWarning)
            return fit_propensity(tx, horizon_days=horizon_days,
                                  observation_end=observation_end, random_state=seed)
    except InputError as exc:
        skipped["propensity"] = str(exc)
        return None
