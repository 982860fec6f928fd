"""The caveats an update records in its ``runs`` row, for what it changed.

The API's value blocks and the dashboard show the caveats of the store's newest run. An
update that recorded none left them showing the last ``analyze``'s, e.g. its count of
customers whose CLV is only the population's prior, while the store's ``clv`` table had
been re-scored with another count (a new user's report). So an update records:

* with a rescore (the stored models kept): the value caveats that count customers,
  recomputed from the re-scored table (:func:`~valuemax.pipeline._caveats.customer_value_caveats`,
  the function ``analyze`` uses); the last fit's other value caveats, which describe the
  stored models; the RFM recency caveat of the recomputed segments; the clusters' and the
  buy-again caveats of the last fit (both kept as they were);
* with ``--refit``: the value caveats of the new fit (those of the other steps are not
  recomputed by the refit's path and are not carried over: they described the old fit).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from valuemax._core.runs import newest_caveats
from valuemax.pipeline._caveats import (
    caveats_by_step,
    counts_customers,
    customer_value_caveats,
    segment_caveats,
    value_caveats,
)


def last_caveats(con: Any, catalog: str) -> dict[str, list[str]]:
    """The newest recorded ``runs.caveats`` of a run of the log (``{step: [text]}``; a
    campaign's run, whose ingest has no reading mapping, is skipped; {} when none)."""
    cols = {r[0] for r in con.raw_sql(
        "SELECT column_name FROM information_schema.columns "
        f"WHERE table_catalog = '{catalog}' AND table_name = 'runs'").fetchall()}
    if "caveats" not in cols:
        return {}
    order = "finished_at" if "finished_at" in cols else "rowid"
    ingest = "ingest" if "ingest" in cols else "NULL"
    rows = con.raw_sql(f"SELECT caveats, {ingest} FROM {catalog}.main.runs "
                       f"WHERE caveats IS NOT NULL ORDER BY {order} DESC").fetchall()
    return newest_caveats(rows)


def update_caveats(last: dict[str, list[str]], scored: pd.DataFrame, p: dict[str, Any], *,
                   refit: bool, fitted: Any, end: dt.date) -> dict[str, list[str]]:
    """The update's ``runs.caveats`` (module docstring).

    Parameters
    ----------
    last : dict of str to list of str
        The store's newest recorded caveats (:func:`last_caveats`).
    scored : pandas.DataFrame
        The updated customers with their scores (``frequency``, ``T``, ``clv_<h>``, ...).
    p : dict
        The store's recorded parameters (``time_unit``, ``horizon_months``).
    refit : bool
        Every model refitted (``fitted`` is then the value result, or None when the value
        step was skipped); else a rescore (``fitted`` is the RFM result of the segments).
    end : datetime.date
        The updated observation end.

    Returns
    -------
    dict of str to list of str
        ``{step: [text, ...]}``, steps with none left out.
    """
    if refit:
        if fitted is None:
            return {}
        return caveats_by_step(value_caveats(fitted, scored, end))
    col = f"clv_{int(p.get('horizon_months', 12))}"
    value = [t for t in last.get("value", []) if not counts_customers(t)]
    if col in scored:
        value += [c.text for c in customer_value_caveats(scored, p.get("time_unit", "D"), col)]
    out = {"segments": [c.text for c in segment_caveats(scored, fitted)] if fitted is not None
           else [], "clusters": list(last.get("clusters", [])), "value": value,
           "propensity": list(last.get("propensity", []))}
    return {k: v for k, v in out.items() if v}


__all__ = ["last_caveats", "update_caveats"]
