"""``--out`` of the one-part commands (``clv``, ``rules``, ``propensity``), published like
``analyze``'s: the folder is checked before any work, files are written into a private folder
and swapped in at once on success (:class:`valuemax.pipeline._workspace.Workspace`), and every
CSV is formula-safe (:func:`valuemax._core._csv.write_csv`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from valuemax._core._csv import write_csv
from valuemax.pipeline._decide_outputs import (
    DECIDE_OUTPUTS,
    write_experiment,
    write_targets,
    write_uplift,
)
from valuemax.pipeline._outputs import write_rule_files
from valuemax.pipeline._workspace import Workspace

#: Files each command may write into its ``--out`` folder.
PART_OUTPUTS: dict[str, tuple[str, ...]] = {
    "clv": ("clv.parquet", "clv.csv", "clv_summary.json"),
    "rules": ("rules.parquet", "rules.csv", "recommendations.parquet", "recommendations.csv",
              "rules_summary.json"),
    "propensity": ("propensity.html", "propensity_scores.csv", "propensity_metrics.csv",
                   "propensity_gains.csv", "propensity_calibration.csv",
                   "propensity_importance.csv", "propensity_scores.parquet",
                   "propensity_summary.json"),
    **DECIDE_OUTPUTS,  # experiment, uplift, target
}


def _json(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"


def write_clv(value: Any, folder: Path) -> None:
    """``clv.parquet``/``.csv`` (per customer) and ``clv_summary.json``."""
    value.table.to_parquet(folder / "clv.parquet", index=False)
    write_csv(value.table, folder / "clv.csv")
    (folder / "clv_summary.json").write_text(_json(value.to_dict()), encoding="utf-8")


def write_rules(found: Any, folder: Path) -> None:
    """``rules.parquet``/``.csv``, the recommendations when the input was a transaction log
    (both with product names when the log has them: :func:`write_rule_files`), and
    ``rules_summary.json``."""
    write_rule_files(getattr(found, "rule_set", found).rules,
                     getattr(found, "recommendations", None), folder,
                     names=getattr(found, "item_names", None) or {})
    (folder / "rules_summary.json").write_text(_json(found.to_dict()), encoding="utf-8")


def write_propensity(found: Any, folder: Path, *, source: str,
                     params: dict[str, Any] | None = None) -> None:
    """``propensity_<table>.csv``, ``propensity_scores.parquet``, ``propensity_summary.json``
    and the one-section report ``propensity.html``."""
    from valuemax.report import PartReport, write_report

    for name in ("scores", "metrics", "gains", "calibration", "importance"):
        write_csv(getattr(found, name), folder / f"propensity_{name}.csv")
    found.scores.to_parquet(folder / "propensity_scores.parquet", index=False)
    (folder / "propensity_summary.json").write_text(_json(found.to_dict()), encoding="utf-8")
    write_report(PartReport(source=source, propensity=found, params=params or {}),
                 folder / "propensity.html", sections=("propensity",))


WRITERS: dict[str, Callable[..., None]] = {
    "clv": write_clv, "rules": write_rules, "propensity": write_propensity,
    "experiment": write_experiment, "uplift": write_uplift, "target": write_targets,
}


@contextlib.contextmanager
def part_output(out: Path | str | None, job: str) -> Iterator[Callable[..., Path | None]]:
    """Check ``out`` now; yield ``save(found, **kw)``, which writes ``job``'s files privately;
    publish them on a clean exit, discard them on any error or signal.

    Parameters
    ----------
    out : path or None
        The ``--out`` folder; None: ``save`` writes nothing and returns None.
    job : {"clv", "rules", "propensity", "experiment", "uplift", "target"}
        The command.

    Yields
    ------
    callable
        ``save(found, **kw)`` -> the final folder (or None).

    Raises
    ------
    InputError
        Before any work, if ``out`` is a file, cannot be written, or holds a user's file
        named like one of the command's outputs.
    ValuemaxError
        If the disk fills while writing (the file and the space are named).
    """
    if out is None:
        yield lambda found, **kw: None
        return
    ws = Workspace(Path(out), None, outputs=PART_OUTPUTS[job], job=job)
    saved: list[bool] = []

    def save(found: Any, **kw: Any) -> Path | None:
        WRITERS[job](found, ws.tmp, **kw)
        saved.append(True)
        return ws.out

    try:
        yield save
        if saved:
            ws.publish()
    except Exception as exc:
        err = ws.disk_full(exc)
        if err is not None:
            raise err from exc
        raise
    finally:
        ws.discard()


__all__ = ["PART_OUTPUTS", "part_output", "write_clv", "write_propensity", "write_rules"]
