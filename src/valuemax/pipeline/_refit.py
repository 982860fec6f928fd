"""``update(..., refit=True)``: the model steps of ``analyze`` on the updated store.

The steps after the customer table (RFM segments, clusters, customer value, propensity,
baskets) run as :func:`valuemax.pipeline.analyze` runs them, with the options the store
recorded (``random_state`` included), on the updated clean log and customer table; so the store after
an update with refit holds what ``analyze`` of the whole log writes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from valuemax.decide import segment_actions
from valuemax.features import calibration_holdout
from valuemax.pipeline._analyze import NO_MONEY, _cluster, label_clusters
from valuemax.pipeline._parts import run_basket, run_propensity, run_step
from valuemax.pipeline._store import write_segments, write_step_tables, write_table
from valuemax.pipeline._value import run_value
from valuemax.segment import assign_segments, rfm_scores, segment_summary

#: Store tables the model steps write (a refit replaces them all; those it does not
#: produce this time are dropped, as ``analyze`` does).
MODEL_TABLES: tuple[str, ...] = (
    "calibration_holdout", "segments", "segment_summary", "clv", "clv_params", "clv_models",
    "clv_tracking", "clv_holdout_by_frequency", "propensity_scores", "propensity_metrics",
    "rules", "recommendations",
)


def rfm_segments(customers: pd.DataFrame, money: bool) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """RFM scores and named segments of ``customers`` (``analyze``'s segments step).

    Returns
    -------
    (DataFrame, DataFrame, RFMScores)
        The customers with ``r_score``... ``segment`` joined, the segment summary with
        actions, and the scores object.
    """
    monetary = "total_spend" if money else None
    rfm = rfm_scores(customers, monetary=monetary)
    customers = customers.join(rfm.scores)
    customers["segment"] = assign_segments(rfm).astype(str)
    summary = segment_summary(customers, customers["segment"], monetary=monetary).merge(
        segment_actions(), on="segment", how="left")
    return customers, summary, rfm


def refit(con: Any, tx: Any, customers: pd.DataFrame, p: dict[str, Any], *, end: dt.date,
          money: bool, country: str | None, mapping: dict[str, str]) -> tuple[
              pd.DataFrame, dict[str, str], Any]:
    """Run the model steps; write their tables into ``con``'s default catalog.

    Parameters
    ----------
    con : ibis DuckDB backend
        Working connection (tables are written to its default catalog).
    tx : ibis.Table
        The updated clean log.
    customers : pandas.DataFrame
        The updated customer table, ordered by ``customer_id``.
    p : dict
        The recorded options (``analyze``'s keywords, under their current names:
        :func:`valuemax.pipeline._recorded.current_names`).
    end : datetime.date
        The updated observation end.
    money, country, mapping
        Whether the log has prices, its country column, its mapping.

    Returns
    -------
    (DataFrame, dict, ValueResult or None)
        Customers with every score, the steps skipped with their reasons, the value result.
    """
    skipped: dict[str, str] = {}
    tracebacks: dict[str, str] = {}
    random_state, time_unit = int(p["random_state"]), p["time_unit"]
    calibration = None
    if p.get("calibration_end") is not None:
        write_table(con, "calibration_holdout", calibration_holdout(
            tx, calibration_end=p["calibration_end"], observation_end=end,
            time_unit=time_unit, money=money))
        calibration = con.table("calibration_holdout").order_by("customer_id").to_pyarrow() \
            .to_pandas()
    customers, summary, _ = rfm_segments(customers, money)
    km = ward = actions = None
    if not money:
        skipped["kmeans"] = "the clusters are built on recency, frequency and spend: " + NO_MONEY
    else:
        km, actions, ward = run_step(
            "kmeans", skipped, tracebacks, _cluster, customers, p.get("clusters", "kmeans"),
            p.get("k_min", 2), p.get("k_max", 10), random_state, country, skipped, tracebacks,
        ) or (None, None, None)
    label_clusters(customers, km, ward, actions)
    value = None
    if p.get("clv", True):
        value, reason = run_step(
            "value", skipped, tracebacks, run_value, con, tx, customers, obs_end=end,
            time_unit=time_unit, calibration_end=p.get("calibration_end"),
            calibration=calibration, horizon_months=p.get("horizon_months", 12),
            discount_rate=p.get("discount_rate", 0.01), margin=p.get("margin", 1.0),
            model=p.get("clv_model", "auto"), random_state=random_state, money=money,
        ) or (None, skipped.get("value"))
        if value is None:
            skipped["value"] = reason
        else:
            customers = customers.merge(value.table, on="customer_id", how="left",
                                        validate="one_to_one")
    prop = None
    if p.get("propensity", True):
        prop = run_step("propensity", skipped, tracebacks, run_propensity, tx, customers,
                        skipped, observation_end=end, horizon_days=p.get("horizon_days", 90),
                        random_state=random_state, money=money)
        if prop is not None:
            customers = customers.merge(prop.scores, on="customer_id", how="left",
                                        validate="one_to_one")
    basket = run_step("basket", skipped, tracebacks, run_basket, tx, mapping, skipped,
                      random_state=random_state)
    write_segments(con, customers, summary)
    write_step_tables(con, value=value, propensity=prop, basket=basket)
    return customers, skipped, value



__all__ = ["MODEL_TABLES", "refit", "rfm_segments"]
