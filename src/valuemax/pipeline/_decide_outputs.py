"""Outputs of ``valuemax experiment | uplift | target``: files, a one-part report, store tables.

``--out DIR`` goes through :func:`valuemax.pipeline._part_outputs.part_output` (checked before
any work, written privately, published at once). Each command writes its tables, its own
``*_summary.json``, a one-part ``report.html`` ("Did it work?" or "Whom to contact") and a
``summary.json`` under one key: ``experiment``, ``uplift`` or ``targets``. The last two names
are shared with ``analyze`` and the other commands, so a folder whose ``report.html`` or
``summary.json`` another command wrote is refused (:func:`check_shared_names`): nothing is
overwritten that the user did not ask for.

``--db STORE`` receives the tables ``experiments``, ``uplift_scores`` or ``targets`` and a
``runs`` row in one DuckDB transaction (:func:`store_part`): a kill leaves the store as it
was or with the whole result. The other tables of the store are left alone.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import platform
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from valuemax import __version__
from valuemax._core._csv import write_csv
from valuemax._core.exceptions import InputError, ValuemaxError

#: The ``summary.json`` key and the store table of each command.
SUMMARY_KEYS: dict[str, str] = {"experiment": "experiment", "uplift": "uplift",
                                "target": "targets"}
STORE_TABLE: dict[str, str] = {"experiment": "experiments", "uplift": "uplift_scores",
                               "target": "targets"}
#: Files each command may write into its ``--out`` folder.
DECIDE_OUTPUTS: dict[str, tuple[str, ...]] = {
    "experiment": ("report.html", "summary.json", "experiment_summary.json",
                   *(f"experiment_{t}.{x}" for t in ("comparisons", "arms", "quarantine")
                     for x in ("csv", "parquet"))),
    "uplift": ("report.html", "summary.json", "uplift_summary.json", "uplift_scores.csv",
               "uplift_scores.parquet", "uplift_bins.csv", "uplift_models.csv"),
    "target": ("report.html", "summary.json", "target_summary.json", "targets.csv",
               "assignments.csv", "profit_curve.csv"),
}
_SHARED = ("report.html", "summary.json")


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"


def check_shared_names(out: Path | str | None, job: str) -> None:
    """Refuse ``out`` when its ``report.html`` or ``summary.json`` belong to another command.

    Raises
    ------
    InputError
        Naming the file and the command that wrote it, with the fix (another ``--out``).
    """
    from valuemax.pipeline._workspace import read_manifest

    if out is None or not Path(out).is_dir():
        return
    owners = read_manifest(Path(out))
    taken = {n: owners[n] for n in _SHARED if n in owners and owners[n] != job}
    if taken:
        which = ", ".join(f"{n} (written by valuemax {j})" for n, j in taken.items())
        raise InputError(f"--out {str(out)!r} already holds {which}; valuemax {job} writes its "
                         "own report.html and summary.json, so give it another folder "
                         f"(e.g. --out {str(Path(out) / job)!r}).")


def _write_shared(folder: Path, job: str, payload: dict[str, Any], part: Any,
                  source: str, params: dict[str, Any] | None) -> None:
    from valuemax.report import PartReport, write_report

    (folder / "summary.json").write_text(_json({SUMMARY_KEYS[job]: payload}), encoding="utf-8")
    anchor = "experiment" if job == "experiment" else "target"
    write_report(PartReport(source=source, version=__version__, params=params or {}, **part),
                 folder / "report.html", sections=(anchor,))


def write_experiment(result: Any, folder: Path, *, source: str,
                     params: dict[str, Any] | None = None) -> None:
    """``experiment_{comparisons,arms,quarantine}.csv/.parquet``, ``experiment_summary.json``,
    ``summary.json`` (key ``experiment``) and the one-part ``report.html``."""
    summary = result.to_dict()
    for name, frame in (("comparisons", result.comparisons), ("arms", result.arm_table),
                        ("quarantine", result.quarantine)):
        write_csv(frame, folder / f"experiment_{name}.csv")
        frame.to_parquet(folder / f"experiment_{name}.parquet", index=False)
    (folder / "experiment_summary.json").write_text(_json(summary), encoding="utf-8")
    _write_shared(folder, "experiment", summary, {"experiment": result}, source, params)


def write_uplift(study: Any, folder: Path, *, source: str,
                 params: dict[str, Any] | None = None) -> None:
    """``uplift_scores.csv/.parquet``, ``uplift_bins.csv``, ``uplift_models.csv``,
    ``uplift_summary.json``, ``summary.json`` (key ``uplift``) and ``report.html``."""
    summary = study.to_dict()
    write_csv(study.scores, folder / "uplift_scores.csv")
    study.scores.to_parquet(folder / "uplift_scores.parquet", index=False)
    write_csv(study.evaluation.bins, folder / "uplift_bins.csv")
    write_csv(study.evaluation.table, folder / "uplift_models.csv")
    (folder / "uplift_summary.json").write_text(_json(summary), encoding="utf-8")
    _write_shared(folder, "uplift", summary, {"uplift": study}, source, params)


def write_targets(bundle: Any, folder: Path, *, source: str,
                  params: dict[str, Any] | None = None) -> None:
    """``targets.csv`` (formula-safe, for a CRM: the customers to contact, the hold-out
    left out), ``assignments.csv`` (every target with its arm, raw ids, read back by
    ``valuemax experiment --log``), ``profit_curve.csv``, ``target_summary.json``,
    ``summary.json`` (key ``targets``) and ``report.html``.

    ``bundle`` has ``targets`` (a ``TargetResult``), ``assignments`` (DataFrame) and
    ``summary`` (dict).
    """
    res, assignments = bundle.targets, bundle.assignments
    held = assignments.loc[assignments["arm"] == "holdout", "customer_id"]
    write_csv(res.targets[~res.targets["customer_id"].isin(held)], folder / "targets.csv")
    assignments.to_csv(folder / "assignments.csv", index=False, encoding="utf-8",
                       date_format="%Y-%m-%d %H:%M:%S")
    write_csv(res.curve, folder / "profit_curve.csv")
    (folder / "target_summary.json").write_text(_json(bundle.summary), encoding="utf-8")
    _write_shared(folder, "target", bundle.summary,
                  {"targets": res, "assignments": assignments}, source, params)


# -- the store ---------------------------------------------------------------------------
def experiment_table(result: Any) -> pd.DataFrame:
    """The ``experiments`` store table: one row per (metric, treatment arm) with the design.

    The comparisons of :meth:`ExperimentResult.to_frame` plus ``arm_column``,
    ``confidence``, ``correction``, ``correction_method``, ``variance_reduction`` (CUPED,
    per metric; NULL without covariates), ``srm_chi2``, ``srm_p_value``, ``srm_alert``.
    """
    frame = result.to_frame()
    return frame.assign(
        arm_column=result.arm_column, confidence=float(result.confidence),
        correction=result.correction, correction_method=result.correction_method,
        variance_reduction=frame["metric"].map(result.variance_reduction).astype("float64"),
        srm_chi2=float(result.srm.chi2), srm_p_value=float(result.srm.p_value),
        srm_alert=bool(result.srm.alert))


def uplift_table(study: Any) -> pd.DataFrame:
    """The ``uplift_scores`` store table: ``UpliftStudy.scores`` plus ``outcome``."""
    return study.scores.assign(outcome=study.outcome)


def targets_table(result: Any, assignments: pd.DataFrame) -> pd.DataFrame:
    """The ``targets`` store table: the target list with each customer's assigned arm.

    Columns ``customer_id, arm, expected_incremental_profit, rank`` (as ``targets.csv``)
    and ``assigned_arm`` (``holdout`` for the hold-out control), ``assigned_at``, ``share``.
    """
    a = assignments.rename(columns={"arm": "assigned_arm"})
    return result.targets.merge(a, on="customer_id", how="left", validate="one_to_one")


def _runs_row(run_id: str, job: str, source: str, params: dict[str, Any], started: datetime,
              n_rows: int, outputs: dict[str, Any] | None = None) -> pd.DataFrame:
    """A ``runs`` row with the columns ``analyze`` records (log counts left empty;
    ``outputs`` names the store and table written; ``kind`` the command)."""
    from valuemax.pipeline._store import package_versions

    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        user = "unknown"
    return pd.DataFrame({
        "run_id": [run_id], "started_at": [pd.Timestamp(started)],
        "finished_at": [pd.Timestamp(datetime.now())], "user": [user],
        "host": [platform.node()], "valuemax_version": [__version__], "source": [source],
        "input_sha256": [None], "parameters": [json.dumps({"command": job, **params},
                                                          default=str, ensure_ascii=False)],
        "ingest": [json.dumps({"source": source}, ensure_ascii=False)],
        "versions": [json.dumps(package_versions())],
        "rows_in": pd.array([None], dtype="Int64"), "rows_clean": pd.array([None], "Int64"),
        "rows_quarantined": pd.array([None], "Int64"),
        "n_customers": pd.array([n_rows], dtype="Int64"), "timings_s": [json.dumps({})],
        "outputs": [json.dumps(outputs or {}, ensure_ascii=False)],
        "caveats": [json.dumps({})], "kind": [job],
    }).astype({"input_sha256": "string"})


def store_part(db: Path, job: str, table: pd.DataFrame, *, source: str,
               params: dict[str, Any], started: datetime) -> str:
    """Write ``job``'s store table and a ``runs`` row into ``db`` in one transaction.

    The table (``experiments``, ``uplift_scores`` or ``targets``) gets a ``run_id`` column
    and replaces the store's earlier one; ``runs`` gains a row (created when missing). The
    store's other tables are not touched.

    Returns
    -------
    str
        The run's ``run_id``.

    Raises
    ------
    InputError
        If ``db`` is not a DuckDB store or cannot be opened.
    ValuemaxError
        If the disk fills (the transaction is rolled back, the store unchanged).
    """
    from valuemax.engines import connect
    from valuemax.pipeline._store import write_table
    from valuemax.pipeline._workspace import append_runs, check_db_path, store_transaction

    check_db_path(db)
    name = STORE_TABLE[job]
    run_id = uuid.uuid4().hex
    con = connect(None)
    write_table(con, name, table.assign(run_id=run_id))
    write_table(con, "runs", _runs_row(run_id, job, source, params, started, len(table),
                                       {"db": str(db), "tables": [name]}))
    try:
        with store_transaction(con, db, disk_full=lambda exc: ValuemaxError(
                f"disk full: could not write table {name!r} into the store {str(db)!r}; "
                "nothing was changed. Free some space or choose another --db.")) as have:
            con.raw_sql(f'CREATE OR REPLACE TABLE vm_dst."{name}" AS SELECT * FROM main."{name}"')
            append_runs(con, have)
    finally:
        with contextlib.suppress(Exception):
            con.disconnect()
    return run_id


__all__ = ["DECIDE_OUTPUTS", "STORE_TABLE", "SUMMARY_KEYS", "check_shared_names",
           "experiment_table", "store_part", "targets_table", "uplift_table",
           "write_experiment", "write_targets", "write_uplift"]
