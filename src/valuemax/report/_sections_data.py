"""Report section 1 (Data: source, column mapping, quality accounting)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from valuemax._core.schema import CANONICAL_COLUMNS
from valuemax.report import _plots as plots
from valuemax.report._format import fmt_int, fmt_pct
from valuemax.report._html import alert, figure, kv, note, notes_list, section, sub, table

Subs = list[tuple[str, str]]

#: Start of the cleaning note counting customer ids with no clean line (pipeline stage).
LOST_CUSTOMERS = "customers lost to the quarantine:"


def skip_reason(result: Any, *steps: str, default: str) -> str:
    """The recorded reason why one of ``steps`` did not run, else ``default``."""
    skipped = getattr(result, "skipped", None) or {}
    for step in steps:
        if skipped.get(step):
            return f"{step}: {skipped[step]}"
    return default


def _ingest(result: Any) -> dict[str, Any]:
    ing = getattr(result, "ingest", None)
    return dict(ing) if isinstance(ing, dict) else {}


def _mapping_frame(ing: dict[str, Any]) -> pd.DataFrame:
    mapping = dict(ing.get("mapping") or {})
    canon = list(CANONICAL_COLUMNS) + [c for c in mapping if c not in CANONICAL_COLUMNS]
    source = [mapping.get(c) for c in canon]
    how = []
    for c, s in zip(canon, source, strict=True):
        if s is not None:
            how.append("mapped")
        elif c == "amount" and mapping.get("quantity") and mapping.get("unit_price"):
            how.append("derived: quantity × unit_price")
        else:
            how.append("not in the source (left empty)")
    return pd.DataFrame({"canonical": canon, "source column": source, "how": how})


def data_section(result: Any, *, title: str = "Data") -> tuple[str, Subs]:
    """Section 1: how the file was read, the column mapping, the quality accounting."""
    ing = _ingest(result)
    parts: list[str] = [sub("data-source", "Source")]
    if ing:
        header = ing.get("header")
        parts.append(kv([
            ("source", ing.get("source", "—")),
            ("format", ing.get("format", "—")),
            ("encoding", ing.get("encoding") or "— (binary format)"),
            ("header row", "—" if header is None else ("yes" if header else "no")),
            ("date formats", ", ".join(ing.get("date_formats") or ()) or "—"),
            ("rows read", fmt_int(ing.get("n_rows"))),
            ("extra columns kept", ", ".join(ing.get("extra_columns") or ()) or "none"),
        ]))
        parts.append(sub("data-mapping", "Column mapping"))
        parts.append(table(_mapping_frame(ing), csv_name="column_mapping",
                           caption="Canonical column -> the source column it was read from."))
        parts.append(notes_list(ing.get("notes") or (), title="Normalisation notes"))
        if not ing.get("notes"):
            parts.append(note("No normalisation was needed: values were used as written."))
    else:
        parts.append(note("No ingest description was recorded for this run.", warn=True))
        parts.append(sub("data-mapping", "Column mapping"))
        parts.append(note("Column mapping unavailable."))

    parts.append(sub("data-quality", "Data quality"))
    parts.append(_quality(getattr(result, "quality", None)))
    subs = [("data-source", "Source"), ("data-mapping", "Column mapping"),
            ("data-quality", "Data quality")]
    lead = ("How the log was read and cleaned. Cleaning never deletes: every input row is "
            "either in the clean log or in the quarantine with a reason code.")
    return section("data", title, lead, "".join(parts)), subs


def _quality(q: Any) -> str:
    if q is None:
        return note("No quality report was recorded (cleaning did not run).", warn=True)
    rows_in, clean, quar = int(q.rows_in), int(q.rows_clean), int(q.rows_quarantined)
    ok = rows_in == clean + quar
    parts = [
        f'<p class="note{"" if ok else " warn"} accounting">rows_in = rows_clean + '
        f"rows_quarantined: {fmt_int(rows_in)} = {fmt_int(clean)} + {fmt_int(quar)} "
        f'{"✓" if ok else "✗ (accounting does not balance)"}</p>',
    ]
    notes = [str(n) for n in (getattr(q, "notes", ()) or ()) if n is not None]
    lost = [n for n in notes if n.strip().lower().startswith(LOST_CUSTOMERS)]
    for text in lost:
        body = text.strip()[len(LOST_CUSTOMERS):].strip()
        parts.append(alert("Customers lost to the quarantine", body[:1].upper() + body[1:]))
    facts = [("preset", getattr(q, "preset", "—")), ("returns", getattr(q, "returns", "—")),
             ("observation end", getattr(q, "observation_end", "—"))]
    parts.append(kv(facts))
    frame = q.to_frame() if hasattr(q, "to_frame") else pd.DataFrame()
    if len(frame) and {"rule", "rows"} <= set(frame.columns):
        frame = frame.copy()
        frame["share"] = frame["rows"].astype(float) / rows_in if rows_in else np.nan
        cols = [c for c in ("rule", "description", "rows", "share") if c in frame.columns]
        parts.append(table(frame[cols], csv_name="quality_rules", percent=("share",),
                           labels={"share": "share of input rows"},
                           caption="Rows quarantined by each rule, in rule order."))
        hit = frame[frame["rows"] > 0].sort_values("rows", ascending=False)
        fig = plots.hbar(hit["rule"].tolist(), {"rows quarantined": hit["rows"].tolist()},
                         x_title="rows quarantined (count)")
        if fig is not None:
            parts.append(figure(fig, "Quarantined rows by reason code. The longest bar is the "
                                     "rule that removed most rows; check it matches what you "
                                     "expect of this log (e.g. cancellations, missing ids)."))
        else:
            parts.append(note("No row was quarantined: every input row is in the clean log."))
    else:
        parts.append(note("The quality report has no per-rule counts."))
    n_out = getattr(q, "n_outliers", None)
    if getattr(q, "outliers", None) == "off":
        parts.append(note("Outlier flagging was off (outliers='off'): no row is marked."))
    elif n_out is not None:
        share = fmt_pct(n_out / clean) if clean else "—"
        parts.append(note(
            f"Outliers flagged: {fmt_int(n_out)} clean rows ({share} of rows_clean) are "
            "marked is_outlier = true. They stay in the clean log and in every figure; "
            "filter on is_outlier in the exports to see them."))
    parts.append(notes_list([n for n in notes if n not in lost], title="Cleaning notes"))
    return "".join(parts)
