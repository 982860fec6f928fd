"""Read-only access to a store written by ``valuemax analyze --db``: the dashboard's queries.

The store is opened read-only for each request (a DuckDB read-only connection takes a shared
lock: ``analyze --db`` or ``update`` can replace the store between two page views, and a page
always reads one whole run). Tables are those of
:data:`valuemax.pipeline._workspace.STORE_TABLES` plus ``runs``; the experiment/targeting
tables (``experiments``, ``uplift_scores``, ``targets``) are read when present. Every table
but ``customers`` is optional: a page says what is missing instead of failing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.exceptions import InputError, ValuemaxError
from valuemax._core.runs import newest_caveats
from valuemax._core.schema import GEOGRAPHY_COLUMNS, geography_column

#: Columns read as the customer's country, region or city (matched ignoring case, spaces and
#: punctuation; first found wins): the package's one list, shared with ``analyze`` and the
#: report (see ``StoreSession._country_column`` for the tables searched).
COUNTRY_COLUMNS: tuple[str, ...] = GEOGRAPHY_COLUMNS
#: Tables of experiments and targeting, shown when present.
EXPERIMENT_TABLES: tuple[str, ...] = ("experiments", "uplift_scores", "targets")
#: The share of customers ranked "high past spend" and the P(alive) cut of "at risk"
#: (the report's rule, :func:`valuemax.decide.high_value_at_risk`).
TOP_SHARE, P_ALIVE_BELOW = 0.2, 0.5
#: P(alive) spread (5th to 95th percentile) below which it cannot rank customers, and the
#: widest 95% interval (upper / lower) of an identified parameter: valuemax.pipeline's check.
_MIN_SPREAD, _MAX_SPAN = 0.05, float(np.exp(2 * 1.96 * 2.0))
#: How the value step's P(alive) warning starts (``valuemax.pipeline._value.P_ALIVE_HEAD``;
#: the older wording too, for stores written before it).
_P_ALIVE_HEADS = ("P(alive) cannot rank customers in this log: ",
                  "P(alive) is not informative here: ")

_DUCKDB_MAGIC = b"DUCK"


class StoreBusyError(ValuemaxError):
    """The store is locked by a writer (``analyze --db``/``update`` running): retry later."""


@dataclass(frozen=True)
class Filters:
    """The customers a page shows: one RFM segment and/or one country (None = all)."""

    segment: str | None = None
    country: str | None = None

    def query(self) -> dict[str, str]:
        """The filters as URL query parameters (empty ones left out)."""
        return {k: v for k, v in (("segment", self.segment), ("country", self.country))
                if v is not None}


def _q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


class StoreView:
    """A DuckDB store written by ``valuemax analyze --db``, opened read-only per request.

    Parameters
    ----------
    path : str or pathlib.Path
        The store file (``--db`` of ``analyze``, or ``OUT/valuemax.duckdb``).

    Raises
    ------
    InputError
        If ``path`` does not exist, is not a DuckDB file, or has no ``customers`` table
        (not written by ``valuemax analyze``).
    StoreBusyError
        If another process holds the store open for writing.

    Examples
    --------
    >>> StoreView("/nonexistent/valuemax.duckdb")
    Traceback (most recent call last):
    ...
    valuemax._core.exceptions.InputError: db/--db '/nonexistent/valuemax.duckdb' does not exist; ...
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"db/--db {str(self.path)!r} does not exist; give the store "
                             "written by `valuemax analyze --db FILE` (or OUT/valuemax.duckdb)")
        with self.path.open("rb") as fh:
            head = fh.read(12)
        if head[8:12] != _DUCKDB_MAGIC:
            raise InputError(f"db/--db {str(self.path)!r} is not a DuckDB database; give the "
                             "store written by `valuemax analyze --db FILE`")
        with self.session() as s:
            if not s.has("customers"):
                raise InputError(
                    f"db/--db {str(self.path)!r} has no customers table (tables: "
                    f"{', '.join(sorted(s.columns)) or 'none'}); it was not written by "
                    "`valuemax analyze`. Run `valuemax analyze LOG --db FILE` first")

    @contextlib.contextmanager
    def session(self) -> Iterator[StoreSession]:
        """A read-only connection for one request; closed on exit.

        Raises
        ------
        StoreBusyError
            If a writer holds the store's lock.
        """
        import duckdb

        try:
            con = duckdb.connect(str(self.path), read_only=True)
        except duckdb.IOException as exc:
            raise StoreBusyError(
                f"the store {str(self.path)!r} is open for writing by another process "
                f"(e.g. `valuemax analyze --db` or `update`): reload in a moment ({exc})"
            ) from exc
        try:
            yield StoreSession(con)
        finally:
            con.close()


class StoreSession:
    """The queries of one request over one read-only connection (see :class:`StoreView`)."""

    def __init__(self, con: Any):
        self.con = con
        rows = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = 'main' "
            "ORDER BY table_name, ordinal_position").fetchall()
        self.columns: dict[str, list[str]] = {}
        for table, column in rows:
            self.columns.setdefault(table, []).append(column)
        self.clv_column = self._clv_column()
        self.country_column = self._country_column()
        self._view: list[str] | None = None

    @property
    def view_columns(self) -> list[str]:
        """Columns of ``vm_customers``, the request's customer table (built on first use)."""
        if self._view is None:
            self._view = self._create_view() if "customers" in self.columns else []
        return self._view

    # -- what the store has -----------------------------------------------------------
    def has(self, table: str, *columns: str) -> bool:
        """True if ``table`` exists with every column of ``columns``."""
        return table in self.columns and set(columns) <= set(self.columns[table])

    def _clv_column(self) -> str | None:
        for col in self.columns.get("clv", []):
            if col.startswith("clv_") and col[4:].isdigit():
                return col
        return None

    def _country_column(self) -> str | None:
        """The customer's place (:data:`valuemax._core.schema.GEOGRAPHY_COLUMNS`, first found
        wins): the ``customers`` column ``analyze`` summarises (each customer's most frequent
        value), else one of ``transactions_clean``, where valuemax keeps a log's extra
        columns under their own names, summarised the same way (ties: the smaller value)."""
        for table in ("customers", "transactions_clean"):
            found = geography_column([c for c in self.columns.get(table, [])
                                      if c != "customer_id"])
            if found is not None:
                self._country_table = table
                return found
        self._country_table = None
        return None

    @property
    def horizon_months(self) -> int | None:
        """The CLV horizon of the store's ``clv_<months>`` column."""
        return int(self.clv_column[4:]) if self.clv_column else None

    def _create_view(self) -> list[str]:
        """``vm_customers``: one row per customer, every stored score joined on its id (a
        temporary table of this connection); returns its columns."""
        own = self.country_column if self._country_table == "customers" else None
        cust = [c for c in self.columns["customers"] if c != own]
        select = [f"c.{_q(c)}" for c in cust]
        if own is not None:
            select.append(f"CAST(c.{_q(own)} AS VARCHAR) AS country")
        joins, taken = [], {c.lower() for c in cust} | {"country"}
        for table, alias in (("segments", "s"), ("clv", "v"), ("propensity_scores", "p")):
            if not self.has(table, "customer_id"):
                continue
            have = [w for w in self.columns[table] if w.lower() not in taken]
            if have:
                select += [f"{alias}.{_q(w)}" for w in have]
                taken |= {w.lower() for w in have}
                joins.append(f"LEFT JOIN {_q(table)} {alias} USING (customer_id)")
        if self.country_column is not None and own is None:
            col = _q(self.country_column)
            joins.append(
                "LEFT JOIN (SELECT customer_id, country FROM ("
                f"SELECT customer_id, CAST({col} AS VARCHAR) AS country, row_number() OVER "
                f"(PARTITION BY customer_id ORDER BY count(*) DESC, CAST({col} AS VARCHAR)) "
                f"AS k FROM transactions_clean WHERE {col} IS NOT NULL "
                f"GROUP BY customer_id, {col}) WHERE k = 1) g USING (customer_id)")
            select.append("g.country")
        self.con.execute(f"CREATE TEMP TABLE vm_customers AS SELECT {', '.join(select)} "
                         f"FROM customers c {' '.join(joins)}")
        return [r[0] for r in self.con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'vm_customers' ORDER BY ordinal_position").fetchall()]

    # -- filters ----------------------------------------------------------------------
    def segment_names(self) -> list[str]:
        """RFM segments by number of customers (descending), then name."""
        if "segment" not in self.view_columns:
            return []
        return [r[0] for r in self.con.execute(
            "SELECT segment FROM vm_customers WHERE segment IS NOT NULL GROUP BY segment "
            "ORDER BY count(*) DESC, segment").fetchall()]

    def countries(self) -> list[tuple[str, int]]:
        """``(country, customers)`` by customers (descending), then name."""
        if self.country_column is None or "country" not in self.view_columns:
            return []
        return [(r[0], int(r[1])) for r in self.con.execute(
            "SELECT country, count(*) FROM vm_customers WHERE country IS NOT NULL "
            "GROUP BY country ORDER BY count(*) DESC, country").fetchall()]

    def check(self, filters: Filters) -> None:
        """Raise InputError for a segment or country the store does not have."""
        if filters.segment is not None:
            names = self.segment_names()
            if filters.segment not in names:
                raise InputError(
                    f"segment {filters.segment!r} is not in this store"
                    + (f"; its segments: {', '.join(names)}" if names else
                       " (it has no segments table)") + ". Pick one from the list")
        if filters.country is not None:
            if self.country_column is None:
                raise InputError(
                    f"country {filters.country!r}: this store has no country column (looked "
                    f"for {', '.join(COUNTRY_COLUMNS)} in transactions_clean); remove the "
                    "country filter")
            known = [c for c, _ in self.countries()]
            if filters.country not in known:
                raise InputError(
                    f"country {filters.country!r} is not in column {self.country_column!r} "
                    f"of this store; first of {len(known):,}: {', '.join(known[:10])}")

    def _where(self, filters: Filters, alias: str = "") -> tuple[str, list[Any]]:
        conds, params = [], []
        if filters.segment is not None:
            conds.append(f"{alias}segment = ?")
            params.append(filters.segment)
        if filters.country is not None:
            conds.append(f"{alias}country = ?")
            params.append(filters.country)
        return (" WHERE " + " AND ".join(conds)) if conds else "", params

    def frame(self, filters: Filters, columns: list[str] | None = None) -> pd.DataFrame:
        """The customers passing ``filters`` (all columns, or those of ``columns`` present)."""
        cols = self.view_columns if columns is None else \
            [c for c in columns if c in self.view_columns]
        where, params = self._where(filters)
        return self.con.execute(
            f"SELECT {', '.join(_q(c) for c in cols)} FROM vm_customers{where} "
            "ORDER BY customer_id", params).df()

    # -- overview -----------------------------------------------------------------------
    def kpis(self, filters: Filters) -> dict[str, Any]:
        """Customers, revenue (sum of past spend), total CLV and the share at risk.

        At risk = churn risk "High" (``propensity_scores``: P(buy within the horizon) below
        :data:`valuemax.propensity.CHURN_THRESHOLDS` ``high_below``) among the customers
        scored; without propensity scores, P(alive) < 0.5 among those with a P(alive).
        """
        where, params = self._where(filters)
        clv = f"sum({_q(self.clv_column)})" if self.clv_column in self.view_columns \
            else "NULL"
        if "churn_risk" in self.view_columns:
            risk = ("count(*) FILTER (WHERE churn_risk = 'High')",
                    "count(churn_risk)")
            from valuemax.propensity import CHURN_THRESHOLDS

            rule = (f"churn risk High: P(buy again within the horizon) < "
                    f"{CHURN_THRESHOLDS['high_below']:g}")
        elif "p_alive" in self.view_columns:
            risk = (f"count(*) FILTER (WHERE p_alive < {P_ALIVE_BELOW})", "count(p_alive)")
            rule = f"P(alive) < {P_ALIVE_BELOW:g}"
        else:
            risk, rule = ("NULL", "NULL"), None
        spend = "sum(total_spend)" if "total_spend" in self.view_columns else "NULL"
        n, revenue, clv_total, n_risk, n_scored = self.con.execute(
            f"SELECT count(*), {spend}, {clv}, {risk[0]}, {risk[1]} "
            f"FROM vm_customers{where}", params).fetchone()
        share = (n_risk / n_scored) if n_scored else None
        if revenue is None and spend != "NULL":
            revenue = 0.0  # no customer passes the filters
        return {"n_customers": int(n),
                "revenue": None if revenue is None else float(revenue),
                "clv_total": None if clv_total is None else float(clv_total),
                "n_at_risk": None if n_risk is None else int(n_risk),
                "at_risk_share": share, "at_risk_rule": rule}

    def segments(self, filters: Filters) -> pd.DataFrame:
        """Per RFM segment: customers, their share, revenue, revenue share and the action."""
        if "segment" not in self.view_columns:
            return pd.DataFrame()
        where, params = self._where(filters, "c.")
        action = (", any_value(s.action) AS action"
                  if self.has("segment_summary", "segment", "action") else "")
        join = ("LEFT JOIN segment_summary s ON s.segment = c.segment" if action else "")
        spend = "total_spend" in self.view_columns
        revenue = ", sum(c.total_spend) AS revenue" if spend else ""
        out = self.con.execute(
            f"SELECT c.segment, count(*) AS n_customers{revenue}"
            f"{action} FROM vm_customers c {join}{where} GROUP BY c.segment "
            f"ORDER BY {'revenue' if spend else 'n_customers'} DESC, c.segment", params).df()
        if len(out):
            out.insert(2, "share_customers", out["n_customers"] / out["n_customers"].sum())
            if spend:
                total = out["revenue"].sum()
                out.insert(4, "revenue_share", out["revenue"] / total if total else np.nan)
        return out

    def values(self, filters: Filters, column: str) -> np.ndarray:
        """Non-missing values of ``column`` for the filtered customers (float)."""
        if column not in self.view_columns:
            return np.array([], dtype=float)
        where, params = self._where(filters)
        extra = " AND " if where else " WHERE "
        rows = self.con.execute(
            f"SELECT {_q(column)} FROM vm_customers{where}{extra}{_q(column)} IS NOT NULL",
            params).fetchnumpy()
        return np.asarray(rows[column], dtype=float)

    def churn_counts(self, filters: Filters) -> pd.DataFrame:
        """Customers per churn-risk level (Low, Medium, High order)."""
        if "churn_risk" not in self.view_columns:
            return pd.DataFrame()
        where, params = self._where(filters)
        out = self.con.execute(
            f"SELECT churn_risk, count(*) AS n FROM vm_customers{where} GROUP BY churn_risk",
            params).df().dropna()
        order = {"Low": 0, "Medium": 1, "High": 2}
        return out.sort_values("churn_risk", key=lambda s: s.map(order).fillna(3)) \
            .reset_index(drop=True)

    # -- high value at risk -------------------------------------------------------------
    def p_alive_informative(self) -> tuple[bool, str | None]:
        """Whether P(alive) can rank customers, read from the store; and why not.

        The store's view of ``valuemax.pipeline``'s check (the report's "P(alive) cannot
        rank customers"): P(alive) nearly the same for everyone (5th to 95th percentile
        within 0.05; said as the report says it, "it reads 1.00 for 98.5% of customers" when
        both ends round alike, with the share that rounds to that value), else the run's
        own verdict: its P(alive) warning in ``runs.caveats``. A store written before runs
        recorded caveats falls back on the chosen purchase model's parameters
        (``clv_params``, Gamma-Gamma aside): one without a finite standard error or with a
        95% interval spanning a factor over e^(2 x 1.96 x 2) ~ 2,500.
        """
        if "p_alive" not in self.view_columns:
            return False, "no P(alive) in the store"
        lo, hi = self.con.execute("SELECT quantile_cont(p_alive, 0.05), "
                                  "quantile_cont(p_alive, 0.95) FROM vm_customers").fetchone()
        if lo is not None and hi - lo < _MIN_SPREAD:
            if f"{lo:.2f}" != f"{hi:.2f}":
                return False, (f"P(alive) is between {lo:.2f} and {hi:.2f} for 90% of "
                               "customers, so it cannot rank them")
            share = self.con.execute("SELECT avg(CASE WHEN round(p_alive, 2) = ? THEN 1.0 "
                                     "ELSE 0.0 END) FROM vm_customers WHERE p_alive IS NOT "
                                     "NULL", [round(float(lo), 2)]).fetchone()[0]
            return False, (f"P(alive) does not vary (it reads {lo:.2f} for {share:.1%} of "
                           "customers), so it cannot rank them")
        recorded = self._run_caveats()
        if recorded is not None:  # the run decided (its P(alive) warning, if any, is stored)
            said = [str(t) for t in recorded.get("value", []) or []
                    if str(t).startswith(_P_ALIVE_HEADS)]
            return (False, said[0].split(": ", 1)[1]) if said else (True, None)
        # a store written before runs recorded their caveats: the parameters' intervals
        if self.has("clv_params", "model", "parameter", "std_error", "lower", "upper") and \
                self.has("clv_models", "model", "chosen"):
            rows = self.con.execute(
                "SELECT parameter, std_error, lower, upper FROM clv_params WHERE model IN "
                "(SELECT model FROM clv_models WHERE chosen)").fetchall()
            wide = [name for name, se, lower, upper in rows
                    if se is None or not np.isfinite(se) or lower is None or upper is None
                    or not lower > 0 or upper / lower > _MAX_SPAN]
            if wide:
                return False, (f"the data do not pin down {', '.join(wide)} of the purchase "
                               "model (no standard error, or a 95% interval over a factor "
                               "of 2,500)")
        return True, None

    def at_risk(self, filters: Filters) -> tuple[pd.DataFrame, dict[str, Any]]:
        """High past spend and at risk (:func:`valuemax.decide.high_value_at_risk`).

        "High past spend" is ranked over all customers of the store (the report's list);
        the filters then keep those of one segment/country. Without an informative P(alive)
        (:meth:`p_alive_informative`, as the report decides) the RFM segments
        :data:`valuemax.decide.AT_RISK_SEGMENTS` are read as at risk.

        Returns
        -------
        (pandas.DataFrame, dict)
            The customers by past spend descending (id, segment, country, spend, orders,
            days since the last purchase, P(alive), CLV, churn risk, action), and the rule:
            ``{"rule", "spend_threshold", "n_high_value", "action", "rationale"}``.
        """
        from valuemax.decide import AT_RISK_SEGMENTS, high_value_at_risk

        if "total_spend" not in self.view_columns:
            return pd.DataFrame(), {"rule": None}
        informative, why = self.p_alive_informative()
        if informative:
            segments, rule = None, f"P(alive) < {P_ALIVE_BELOW:g}"
        elif "segment" in self.view_columns:
            segments = AT_RISK_SEGMENTS
            rule = (f"RFM segment {' or '.join(AT_RISK_SEGMENTS)} (P(alive) cannot rank "
                    f"customers here: {why})")
        else:
            return pd.DataFrame(), {"rule": None}
        show = ["customer_id", "segment", "country", "total_spend", "n_orders",
                "recency_days", "p_alive", self.clv_column or "", "churn_risk"]
        everyone = self.frame(Filters(), show)
        risk = high_value_at_risk(everyone, top_share=TOP_SHARE, p_alive_below=P_ALIVE_BELOW,
                                  segments=segments)
        info = {"rule": rule, "spend_threshold": risk.attrs.get("spend_threshold"),
                "n_high_value": risk.attrs.get("n_high_value"),
                "top_share": TOP_SHARE}
        if len(risk):
            info["action"], info["rationale"] = risk["action"].iloc[0], \
                risk["rationale"].iloc[0]
        if filters.segment is not None:
            risk = risk[risk["segment"] == filters.segment]
        if filters.country is not None:
            risk = risk[risk["country"] == filters.country]
        cols = [c for c in (*show, "action") if c in risk.columns]
        return risk[cols].reset_index(drop=True), info

    # -- one customer -------------------------------------------------------------------
    def customer(self, customer_id: str) -> dict[str, Any] | None:
        """Every stored field of one customer, or None if the id is not in the store."""
        if not self.view_columns:
            return None
        rows = self.con.execute("SELECT * FROM vm_customers WHERE customer_id = ?",
                                [customer_id]).df()
        if rows.empty:
            return None
        record = rows.iloc[0].to_dict()
        if record.get("segment") is not None and self.has("segment_summary", "action"):
            hit = self.con.execute("SELECT action FROM segment_summary WHERE segment = ?",
                                   [record["segment"]]).fetchone()
            record["action"] = hit[0] if hit else None
        return record

    def ids_like(self, text: str, limit: int = 10) -> list[str]:
        """Up to ``limit`` stored ids that start with ``text`` (or contain it)."""
        return [r[0] for r in self.con.execute(
            "SELECT customer_id FROM customers WHERE contains(customer_id, ?) "
            "ORDER BY NOT starts_with(customer_id, ?), customer_id LIMIT ?",
            [text, text, limit]).fetchall()]

    def example_ids(self, limit: int = 3) -> list[str]:
        """The ids of the customers with the highest past spend, else the most orders."""
        by = "total_spend" if self.has("customers", "total_spend") else "n_orders"
        return [r[0] for r in self.con.execute(
            f"SELECT customer_id FROM customers ORDER BY {by} DESC, customer_id "
            "LIMIT ?", [limit]).fetchall()]

    def recommendations(self, customer_id: str) -> pd.DataFrame:
        """The customer's next-best products (rank, item, score, source), by rank."""
        if not self.has("recommendations", "customer_id"):
            return pd.DataFrame()
        return self.con.execute("SELECT * EXCLUDE (customer_id) FROM recommendations "
                                "WHERE customer_id = ? ORDER BY 1", [customer_id]).df()

    # -- rules, experiments, run --------------------------------------------------------
    def rules(self, limit: int = 200) -> tuple[pd.DataFrame, int] | None:
        """The ``limit`` rules of highest lift and the number stored (None: no rules table)."""
        if not self.has("rules"):
            return None
        n = int(self.con.execute("SELECT count(*) FROM rules").fetchone()[0])
        order = "lift DESC, confidence DESC" if self.has("rules", "lift", "confidence") \
            else "1"
        return self.con.execute(f"SELECT * FROM rules ORDER BY {order} LIMIT ?",
                                [limit]).df(), n

    def item_names(self, items: set[str]) -> dict[str, str]:
        """Product code -> name for ``items``: the first name (in sort order) each code has
        in the clean log, as the report names them ({} when the log has no names)."""
        if not items or not self.has("transactions_clean", "product_id", "product_name"):
            return {}
        rows = self.con.execute(
            "SELECT CAST(product_id AS VARCHAR), min(CAST(product_name AS VARCHAR)) FROM "
            "transactions_clean WHERE CAST(product_id AS VARCHAR) IN (SELECT unnest(?)) "
            "GROUP BY 1", [sorted(items)]).fetchall()
        return {code: name for code, name in rows if name is not None}

    def table(self, name: str, filters: Filters | None = None, order: str | None = None,
              limit: int | None = None) -> pd.DataFrame | None:
        """A whole table (None if absent); with ``filters`` only the filtered customers'
        rows (the table needs a ``customer_id``)."""
        if not self.has(name):
            return None
        sql, params = f"SELECT t.* FROM {_q(name)} t", []
        if filters is not None and filters.query() and self.has(name, "customer_id") \
                and self.view_columns:
            where, params = self._where(filters)
            sql += f" WHERE t.customer_id IN (SELECT customer_id FROM vm_customers{where})"
        if order is not None and order in self.columns[name]:
            sql += f" ORDER BY t.{_q(order)}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self.con.execute(sql, params).df()

    def count(self, name: str) -> int:
        """Rows of table ``name`` (0 when absent)."""
        if not self.has(name):
            return 0
        return int(self.con.execute(f"SELECT count(*) FROM {_q(name)}").fetchone()[0])

    def value_caveats(self) -> list[str]:
        """The value warnings of the newest run that recorded them (``runs.caveats``, JSON
        ``{"value": [...]}``; an update records its own), or [] (none, or a store written
        before the column existed)."""
        return self.caveats("value")

    def caveats(self, step: str) -> list[str]:
        """The warnings on ``step``'s scores (``"value"``, ``"propensity"``) of the newest
        run that recorded any (``runs.caveats``, JSON ``{step: [...]}``), or []."""
        found = self._run_caveats() or {}
        value = found.get(step, [])
        return [str(v) for v in value] if isinstance(value, list) else []

    def _run_caveats(self) -> dict[str, Any] | None:
        """``runs.caveats`` of the newest run of the log that recorded them (``{step:
        [text, ...]}``), or None when none did (a store written before the column)."""
        if not self.has("runs", "caveats", "finished_at", "ingest"):
            return None
        # the newest run of the log that recorded caveats: a campaign's target or
        # experiment run written to the store later (--db) records none of the scores'
        rows = self.con.execute("SELECT caveats, ingest FROM runs WHERE caveats IS NOT NULL "
                                "ORDER BY finished_at DESC NULLS LAST").fetchall()
        return newest_caveats(rows) or None

    def last_run(self) -> dict[str, Any]:
        """The newest row of ``runs`` (source, finished_at, version), or {}."""
        if not self.has("runs", "finished_at"):
            return {}
        cols = [c for c in ("source", "finished_at", "valuemax_version", "n_customers")
                if c in self.columns["runs"]]
        row = self.con.execute(f"SELECT {', '.join(_q(c) for c in cols)} FROM runs "
                               "ORDER BY finished_at DESC NULLS LAST LIMIT 1").fetchone()
        return {} if row is None else dict(zip(cols, row, strict=True))

