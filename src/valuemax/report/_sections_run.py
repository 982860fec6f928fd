"""Report section 5 (Run: provenance, parameters, timings, skipped steps)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from valuemax.report._format import fmt_num, fmt_value
from valuemax.report._html import diagnostics, kv, note, plain_text, section, sub, table
from valuemax.report._part import PartReport

if TYPE_CHECKING:  # type only: the report renders the pipeline's record, never imports it
    from valuemax.pipeline import AnalysisResult

Subs = list[tuple[str, str]]

#: The step that writes the report: its time is not known while the report is written.
REPORT_STEP = "report"

def run_section(result: AnalysisResult | PartReport, run_date: str, *,
                title: str = "Run") -> tuple[str, Subs]:
    """Last section: parameters, timings, skipped steps, version and input fingerprint.

    A one-part report (:class:`PartReport`) records its source and version only.
    """
    ing: Mapping[str, Any]
    params: Mapping[str, Any]
    timings: Mapping[str, float]
    skipped: Mapping[str, str]
    if isinstance(result, PartReport):
        ing, params, timings, skipped = {"source": result.source}, result.params, {}, {}
    else:
        ing, params = result.ingest, result.params
        timings, skipped = result.timings_s, result.skipped
    parts = [sub("run-id", "Provenance"), kv([
        ("valuemax version", result.version or "—"),
        ("run date", run_date),
        ("input fingerprint (sha256)", ing.get("fingerprint") or "—"),
        ("source", ing.get("source") or "—"),
    ])]
    parts.append(sub("run-params", "Parameters"))
    diag: list[str] = []
    if params:
        frame = pd.DataFrame({"parameter": [str(k) for k in params],
                              "value": [fmt_value(v) for v in params.values()]})
        parts.append(note(
            f"The {len(frame):,} options this command ran with are in the Model diagnostics "
            "part below." if isinstance(result, PartReport) else
            f"The {len(frame):,} parameters of this run (the keywords of valuemax.analyze) "
            "are in the Model diagnostics part below; summary.json in the output folder has "
            "them too."))
        diag.append(table(frame, csv_name="run_parameters"))
    else:
        parts.append(note("No parameters were recorded."))
    parts.append(sub("run-timings", "Timings"))
    if timings:
        diag.append(_timings(timings))
        parts.append(note("Wall time per step is in the Model diagnostics part below."))
    else:
        parts.append(note("No timings were recorded."))
    parts.append(sub("run-skipped", "Skipped steps"))
    if skipped:
        reasons = [plain_text(v, fallback="the models could not be fitted reliably on this "
                              "log (details in the Model diagnostics part)") for v in
                   skipped.values()]
        frame = pd.DataFrame({"step": [str(k) for k in skipped],
                              "reason": [str(v) for v in skipped.values()]})
        parts.append(table(frame, csv_name="skipped_steps", show=["step", "why"],
                           extra={"why": [shown for shown, _ in reasons]},
                           labels={"why": "reason"}))
        diag.append(table(frame, csv_name="skipped_steps_raw", caption=(
            "The reasons word for word.")))
    else:
        parts.append(note("No step was skipped."))
    parts.append(diagnostics(diag, what="parameters, timings, raw reasons"))
    subs = [("run-id", "Provenance"), ("run-params", "Parameters"),
            ("run-timings", "Timings"), ("run-skipped", "Skipped steps")]
    lead = "What was run, with which parameters and how long each step took, to re-run it."
    return section("run", title, lead, "".join(parts)), subs


def _timings(timings: Mapping[str, float]) -> str:
    """Wall time per measured step; the report step is excluded until it has been measured."""
    secs = pd.Series({str(k): float(v) for k, v in timings.items()}, dtype=float)
    excluded = REPORT_STEP not in secs.index or not secs.get(REPORT_STEP, 0.0) > 0
    if excluded:
        secs = secs.drop(REPORT_STEP, errors="ignore")
    total = float(secs.sum())
    frame = pd.DataFrame({"step": secs.index, "seconds": secs.to_numpy(),
                          "share": (secs / total).to_numpy() if total > 0 else np.nan})
    cap = f"Wall time per step; total of the {len(secs):,} steps measured: {fmt_num(total)} s."
    if excluded:
        cap += (" The report step is excluded: the report is written after this table, so "
                "its own time is not known yet (summary.json in the output folder has it).")
    return table(frame, csv_name="run_timings", labels={"share": "share of total"},
                 caption=cap)

