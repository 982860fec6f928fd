"""Writes to the DuckDB store: the run's tables and the ``runs`` audit trail (DESIGN.md §3)."""

from __future__ import annotations

import getpass
import json
import platform
import uuid
from datetime import datetime
from importlib import metadata
from typing import Any

import pandas as pd
import pyarrow as pa

from valuemax import __version__

#: Packages whose versions are recorded with every run.
_RECORDED = ("ibis-framework", "duckdb", "sqlglot", "pandas", "numpy", "scikit-learn", "scipy",
             "pyarrow", "plotly", "statsmodels")


def write_table(con, name: str, obj: Any) -> None:
    """Materialise ``obj`` (an Ibis expression or a pandas frame) as table ``name``, replacing it.

    Pandas categoricals are stored as their string labels.
    """
    if isinstance(obj, pd.DataFrame):
        frame = obj.copy(deep=False)  # columns replaced, never written into (copy on write)
        for col in frame.columns:
            if isinstance(frame[col].dtype, pd.CategoricalDtype):
                frame[col] = frame[col].astype("string")
        if frame.empty:  # no values to infer object columns from: store them as text
            for col in frame.columns:
                if frame[col].dtype == object:
                    frame[col] = frame[col].astype("string")
        # via Arrow: ibis 12's pandas path warns under pandas 3 (future.infer_string)
        obj = pa.Table.from_pandas(frame, preserve_index=False)
    con.create_table(name, obj, overwrite=True)


def write_value_tables(con, value: Any) -> None:
    """Store the value step: ``clv`` (per customer), ``clv_params``, ``clv_models``,
    ``clv_tracking`` and ``clv_holdout_by_frequency`` (the last three when a holdout ran)."""
    write_table(con, "clv", value.table)
    params = value.model.summary().to_frame().reset_index(names="parameter")
    params.insert(0, "model", value.model_name)
    if value.spend_model is not None:
        spend = value.spend_model.summary().to_frame().reset_index(names="parameter")
        spend.insert(0, "model", "Gamma-Gamma")
        params = pd.concat([params, spend], ignore_index=True)
    write_table(con, "clv_params", params)
    if value.comparison is not None:
        write_table(con, "clv_models", value.comparison.table)
        write_table(con, "clv_holdout_by_frequency", value.validation.by_frequency)
    if value.tracking is not None:
        write_table(con, "clv_tracking", value.tracking)


def write_segments(con, customers: pd.DataFrame, summary: pd.DataFrame) -> None:
    """Store ``segments`` (per customer: RFM scores and cell, segment, clusters) and
    ``segment_summary``."""
    cols = [c for c in ("customer_id", "r_score", "f_score", "m_score", "rfm_cell", "segment",
                        "cluster", "cluster_name", "cluster_mixed", "ward_cluster")
            if c in customers]
    write_table(con, "segments", customers[cols])
    write_table(con, "segment_summary", summary)


def write_step_tables(con, *, value: Any, propensity: Any, basket: Any) -> None:
    """Store what the model steps that ran produced (None: the step was skipped).

    ``value`` -> :func:`write_value_tables`; ``propensity`` -> ``propensity_scores`` and
    ``propensity_metrics``; ``basket`` -> ``rules`` and ``recommendations``.
    """
    if value is not None:
        write_value_tables(con, value)
    if propensity is not None:
        write_table(con, "propensity_scores", propensity.scores)
        write_table(con, "propensity_metrics", propensity.metrics)
    if basket is not None:
        write_table(con, "rules", basket.rule_set.rules)
        write_table(con, "recommendations", basket.recommendations)


def package_versions() -> dict[str, str]:
    """Versions of valuemax and the packages that shape its numbers."""
    out = {"valuemax": __version__, "python": platform.python_version()}
    for name in _RECORDED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[name] = "not installed"
    return out


def record_run(con, *, started: datetime, params: dict, ingest: dict, quality: Any,
               n_customers: int, timings: dict[str, float],
               outputs: dict[str, Any] | None = None,
               caveats: dict[str, list[str]] | None = None,
               run_id: str | None = None) -> str:
    """Append one row to the ``runs`` table (created on first use) and return its ``run_id``.

    ``outputs`` (JSON column ``outputs``) names what the run wrote: the output folder, its
    files and the store; a ``runs`` table of an earlier version gains the column.
    ``caveats`` (JSON column ``caveats``, e.g. ``{"value": [...]}``) holds the warnings a
    reader of the stored numbers must see beside them (the dashboard's CLV tile and the
    API's value block show the ``value`` ones). ``kind`` is ``'analyze'`` (``update`` and the
    decide commands write their own: the same columns whatever wrote the store). ``run_id``
    (32 hex digits): the id an engine
    run's tables carry (:class:`valuemax.pipeline._engine_tables.RunTables`); default a
    fresh one.
    """
    run_id = uuid.uuid4().hex if run_id is None else run_id
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        user = "unknown"
    row = pd.DataFrame(
        {
            "run_id": [run_id],
            "started_at": [pd.Timestamp(started)],
            "finished_at": [pd.Timestamp(datetime.now())],
            "user": [user],
            "host": [platform.node()],
            "valuemax_version": [__version__],
            "source": [str(ingest.get("source"))],
            "input_sha256": [str(ingest.get("fingerprint"))],
            "parameters": [json.dumps(params, default=str, ensure_ascii=False)],
            "ingest": [json.dumps(ingest, default=str, ensure_ascii=False)],
            "versions": [json.dumps(package_versions())],
            "rows_in": [int(quality.rows_in)],
            "rows_clean": [int(quality.rows_clean)],
            "rows_quarantined": [int(quality.rows_quarantined)],
            "n_customers": [int(n_customers)],
            "timings_s": [json.dumps(timings)],
            "outputs": [json.dumps(outputs or {}, ensure_ascii=False)],
            "caveats": [json.dumps(caveats or {}, ensure_ascii=False)],
            "kind": ["analyze"],
        }
    )
    row = pa.Table.from_pandas(row, preserve_index=False)
    if "runs" in con.list_tables():
        have = set(con.table("runs").columns)
        for name in row.column_names:
            if name not in have:  # a store written before this column existed
                con.raw_sql(f'ALTER TABLE runs ADD COLUMN "{name}" VARCHAR')
        if "kind" not in have:
            fill_run_kinds(con, "runs")
        con.insert("runs", row)
    else:
        con.create_table("runs", row)
    return run_id


def fill_run_kinds(con, table: str) -> None:
    """The migration of a ``runs`` table that has just gained its ``kind`` column: each
    earlier row gets the command that wrote it, ``parameters.command`` for the decide
    commands (``experiment``, ``uplift``, ``target``), else ``'analyze'`` (the only other
    writer of a store without the column; ``update`` adds the column before its row)."""
    con.raw_sql(f"UPDATE {table} SET kind = coalesce(json_extract_string(parameters, "
                "'$.command'), 'analyze') WHERE kind IS NULL")

