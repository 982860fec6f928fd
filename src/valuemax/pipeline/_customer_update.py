"""The customer table after an update, without rescanning the stored log.

Two kinds of customers:

- *active* ones, who appear in the new lines: their row is rebuilt with
  :func:`valuemax.features.customer_table` from their clean lines, which the cleaning step has
  already gathered (their stored lines plus the new ones; see
  ``valuemax.pipeline._incremental``). This is exact where a purely additive update is not:
  a new return may net a stored purchase to zero (one purchase day fewer), an order may
  continue across the split (counted once), and the most frequent country needs the counts;
- every *other* customer keeps its counts, spend and first/last purchase: only the columns
  measured from the observation end move, computed by the same expressions as the customer
  table: ``recency_days = end - last_purchase``, ``tenure_days = end - first_purchase`` and
  ``T = (end - first_purchase) / days per unit``.

The work is proportional to the active customers' lines plus one pass over the customer table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import ibis

from valuemax.clean import CleanResult
from valuemax.features import customer_table
from valuemax.features._validation import days_per_unit, purchase_day
from valuemax.pipeline._incremental import IDS, U_CLEAN

#: The updated customer table (in memory).
CUSTOMERS = "_vm_upd_customers"


def update_customers(con: Any, catalog: str, cleaned: CleanResult, *, time_unit: str,
                     money: bool, country: str | None) -> Any:
    """Materialise the updated customer table as :data:`CUSTOMERS`; return it (Ibis).

    Parameters
    ----------
    con : ibis DuckDB backend
        Working connection holding the union's clean lines and the ids of the active
        customers; the store attached as ``catalog``.
    catalog : str
        The attached store.
    cleaned : CleanResult
        The union's cleaning (its lines are :data:`U_CLEAN`): the updated observation end
        and the guarantees of its rules, so the active customers' lines are not re-scanned.
    time_unit : {"D", "W"}
        The store's unit of ``recency`` and ``T``.
    money : bool
        Whether the log has prices.
    country : str or None
        The country column summarised by its most frequent value, if any.
    """
    stored = con.table("customers", database=(catalog, "main"))
    ids = con.table(IDS)
    end = cleaned.observation_end
    union = dataclasses.replace(cleaned, transactions=con.table(U_CLEAN))  # materialised
    active = customer_table(union, time_unit=time_unit,
                            mode_columns=(country,) if country else (), money=money)
    end_day = ibis.date(end)
    age = end_day.delta(stored.first_purchase, unit="day")
    others = stored.anti_join(ids, "customer_id").mutate(
        recency_days=end_day.delta(stored.last_purchase, unit="day").cast("int64"),
        tenure_days=age.cast("int64"),
        T=age.cast("float64") / float(days_per_unit(time_unit)),
    )
    cols = list(stored.columns)
    both = others.select(*cols).union(active.select(*cols))
    con.create_table(CUSTOMERS, both.order_by("customer_id"), temp=True, overwrite=True)
    return con.table(CUSTOMERS)


def new_purchase_days(con: Any, after: dt.date) -> dict[str, int]:
    """Purchase days after ``after`` per customer, in the union's clean lines."""
    t = con.table(U_CLEAN)
    day = purchase_day(t)
    lines = t.select(customer_id=t.customer_id, day=day)
    lines = lines.filter(lines.day > ibis.literal(after))
    per = lines.group_by("customer_id").aggregate(n=lines.day.nunique())
    rows = per.to_pyarrow().to_pylist()
    return {r["customer_id"]: int(r["n"]) for r in rows}


__all__ = ["CUSTOMERS", "new_purchase_days", "update_customers"]
