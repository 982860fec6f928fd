"""Report section 5 (Run: provenance, parameters, timings, skipped steps)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuemax.report._format import fmt_num, fmt_value
from valuemax.report._html import diagnostics, kv, note, plain_text, section, sub, table

Subs = list[tuple[str, str]]

#: The step that writes the report: its time is not known while the report is written.
REPORT_STEP = "report"

def run_section(result: Any, run_date: str, *, title: str = "Run") -> tuple[str, Subs]:
    """Last section: parameters, timings, skipped steps, version and input fingerprint."""
    ing = getattr(result, "ingest", None) or {}
    parts = [sub("run-id", "Provenance"), kv([
        ("valuemax version", getattr(result, "version", None) or "—"),
        ("run date", run_date),
        ("input fingerprint (sha256)", ing.get("fingerprint") or "—"),
        ("source", ing.get("source") or "—"),
    ])]
    parts.append(sub("run-params", "Parameters"))
    params = getattr(result, "params", None) or {}
    diag: list[str] = []
    if params:
        frame = pd.DataFrame({"parameter": [str(k) for k in params],
                              "value": [fmt_value(v) for v in params.values()]})
        parts.append(note(f"The {len(frame):,} parameters of this run (the keywords of "
                          "valuemax.analyze) are in the Model diagnostics part below; "
                          "summary.json in the output folder has them too."))
        diag.append(table(frame, csv_name="run_parameters"))
    else:
        parts.append(note("No parameters were recorded."))
    parts.append(sub("run-timings", "Timings"))
    timings = getattr(result, "timings_s", None) or {}
    if timings:
        diag.append(_timings(timings))
        parts.append(note("Wall time per step is in the Model diagnostics part below."))
    else:
        parts.append(note("No timings were recorded."))
    parts.append(sub("run-skipped", "Skipped steps"))
    skipped = getattr(result, "skipped", None) or {}
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


def _timings(timings: dict[Any, Any]) -> str:
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

