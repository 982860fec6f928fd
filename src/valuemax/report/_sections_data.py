"""Report section 1 (Data: source, column mapping, quality accounting)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from valuemax._core.schema import CANONICAL_COLUMNS
from valuemax.report import _plots as plots
from valuemax.report._format import fmt_int, fmt_pct, plain
from valuemax.report._html import (
    alert,
    diagnostics,
    figure,
    kv,
    note,
    notes_list,
    plain_text,
    section,
    split_notes,
    sub,
    table,
)

if TYPE_CHECKING:  # type only: the report renders the pipeline's record, never imports it
    from valuemax.clean import QualityReport
    from valuemax.pipeline import AnalysisResult, StageStatus

Subs = list[tuple[str, str]]

#: Start of the cleaning note counting customer ids with no clean line (pipeline stage).
LOST_CUSTOMERS = "customers lost to the quarantine:"


def skip_reason(status: StageStatus | None, *steps: str, default: str) -> str:
    """The recorded reason why a stage did not run (its ``status``), else ``default``.

    ``status`` is the stage's entry of ``AnalysisResult.stages`` (None: the result records
    no such stage, e.g. a one-part report). The reason is shown as a plain sentence: a
    leading internal step key (``steps``, "value: ", "kmeans: ") is removed
    (:func:`strip_step`), the key itself is never shown.

    >>> from valuemax.pipeline import StageStatus
    >>> skip_reason(StageStatus("skipped", "value: only 10 repeat buyers."), "value",
    ...             default="-")
    'only 10 repeat buyers.'
    >>> skip_reason(None, "value", default="-")
    '-'
    """
    if status is None or not status.reason:
        return default
    return strip_step(status.reason, *steps)


def strip_step(reason: Any, *steps: str) -> str:
    """``reason`` without a leading internal step key such as ``"kmeans: "``.

    >>> strip_step("kmeans: only 15 customers", "kmeans", "clusters")
    'only 15 customers'
    >>> strip_step("only 15 customers: too few", "kmeans")
    'only 15 customers: too few'
    """
    text = str(reason).strip()
    keys = {*steps, "value", "kmeans", "clusters", "propensity", "basket", "rules", "stats",
            "rfm", "segments", "hierarchy", "ward", "features"}
    changed = True
    while changed:
        changed = False
        for key in keys:
            if text.lower().startswith(key + ":"):
                text = text[len(key) + 1:].lstrip()
                changed = True
    return text


def skip_note(status: StageStatus | None, *steps: str, what: str, default: str) -> str:
    """A visible note saying ``what`` did not run and why, in plain words.

    A technical reason (an optimiser message, a parameter vector, an exception name) is
    replaced by a plain sentence in the page and kept word for word in a collapsed "Model
    diagnostics" part under the note.
    """
    reason = skip_reason(status, *steps, default=default)
    shown, raw = plain_text(reason, fallback=(
        "the models could not be fitted reliably on this log (typical of a short or small "
        "log); the rest of the report does not depend on this step"))
    return (note(f"{what}: {shown}", warn=True)
            + diagnostics([note(raw)] if raw else [], what="why this step was skipped"))


def _mapping_frame(ing: Mapping[str, Any]) -> pd.DataFrame:
    mapping = dict(ing.get("mapping") or {})
    canon = list(CANONICAL_COLUMNS) + [c for c in mapping if c not in CANONICAL_COLUMNS]
    source = [mapping.get(c) for c in canon]
    how = []
    for c, s in zip(canon, source, strict=True):
        if s is not None:
            how.append("mapped")
        elif c == "amount" and mapping.get("quantity") and mapping.get("unit_price"):
            how.append("derived: quantity × unit price")
        else:
            how.append("not in the source (left empty)")
    return pd.DataFrame({"canonical": canon, "source column": source, "how": how})


#: Plain names of the canonical columns (the mapping table shows these).
CANONICAL_NAMES = {"customer_id": "customer", "order_id": "order number",
                   "order_ts": "order date", "amount": "amount", "quantity": "quantity",
                   "unit_price": "unit price", "product_id": "product code",
                   "product_name": "product name"}


def data_section(result: AnalysisResult, *, title: str = "Data") -> tuple[str, Subs]:
    """Section 1: how the file was read, the column mapping, the quality accounting."""
    ing: Mapping[str, Any] = result.ingest
    parts: list[str] = [sub("data-source", "Source")]
    diag: list[str] = []
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
    privacy = _privacy(ing.get("privacy"))
    if privacy:
        parts += [sub("data-privacy", "Personal data"), privacy]
    parts.append(sub("data-mapping", "Column mapping"))
    mapping = _mapping_frame(ing)
    parts.append(table(mapping, csv_name="column_mapping", show=["field", "source column",
                                                                 "how"],
                       extra={"field": [CANONICAL_NAMES.get(c, plain(c))
                                        for c in mapping["canonical"]]},
                       caption="What valuemax needs -> the column of your file it was "
                               "read from."))
    shown, technical = split_notes(ing.get("notes") or ())
    parts.append(notes_list(shown, title="Normalisation notes"))
    if not ing.get("notes"):
        parts.append(note("No normalisation was needed: values were used as written."))
    elif technical:
        parts.append(note(f"{len(technical)} technical note(s) on how the file was read "
                          "are in the Model diagnostics part below."))
    diag.append(notes_list(technical, title="How the file was read"))

    parts.append(sub("data-quality", "Data quality"))
    parts.append(_quality(result.quality, diag))
    parts.append(diagnostics(diag, what="how the file was read and cleaned"))
    subs = [("data-source", "Source"),
            *([("data-privacy", "Personal data")] if _privacy(ing.get("privacy")) else []),
            ("data-mapping", "Column mapping"), ("data-quality", "Data quality")]
    lead = ("How the log was read and cleaned. Cleaning never deletes: every input row is "
            "either in the clean log or in the quarantine with a reason code.")
    return section("data", title, lead, "".join(parts)), subs


def _privacy(found: Any) -> str:
    """The personal-data part: pseudonymised ids, and each column found with its action."""
    if not isinstance(found, dict):
        return ""
    parts = []
    if found.get("pseudonymized"):
        fp = str(found.get("key_fingerprint") or "")
        parts.append(note(
            "Customer ids are keyed pseudonyms (HMAC-SHA256), replaced right after reading: "
            "no table, export or this report holds the original ids. The key is stored "
            f"nowhere; its fingerprint {fp[:12]}… tells whether two runs used the same key "
            "(the same key gives the same pseudonyms)."))
    else:
        parts.append(note("Customer ids are shown as they are in the file (run with "
                          "--pseudonymize to replace them by keyed pseudonyms)."))
    cols = list(found.get("pii_columns") or [])
    if not cols:
        parts.append(note("No column was found to hold personal data (judged by its name, "
                          "English or Chinese, and by value patterns on a sample of lines)."))
        return "".join(parts)
    frame = pd.DataFrame(cols)
    actions = {"dropped": "dropped right after reading: in no export, report or store table",
               "kept (keep_pii)": "kept on purpose (--keep-pii)",
               "customer id: pseudonymised": "customer id: replaced by pseudonyms",
               "customer id: kept as the key": "customer id: kept (it is the key); "
                                                "--pseudonymize recommended"}
    frame["action"] = [actions.get(a, a) for a in frame["action"]]
    parts.append(table(
        frame[["column", "what", "found_by", "share_matching", "action"]],
        csv_name="personal_data_columns", percent=("share_matching",),
        labels={"what": "holds", "found_by": "found by", "share_matching":
                "sampled values matching"},
        caption="Columns found to hold personal data, by their name or by the share of "
                "sampled values matching a pattern (e-mail, phone, national id with its check "
                "character, card number passing Luhn, IBAN), and what was done with each."))
    if found.get("keep_pii"):
        parts.append(note("Kept on purpose with --keep-pii: "
                          + ", ".join(map(str, found["keep_pii"])) + ".", warn=True))
    return "".join(parts)


def _quality(q: QualityReport, diag: list[str]) -> str:
    rows_in, clean, quar = int(q.rows_in), int(q.rows_clean), int(q.rows_quarantined)
    ok = rows_in == clean + quar
    parts = [
        f'<p class="note{"" if ok else " warn"} accounting">rows in = clean rows + '
        f"quarantined rows: {fmt_int(rows_in)} = {fmt_int(clean)} + {fmt_int(quar)} "
        f'{"✓" if ok else "✗ (accounting does not balance)"}</p>',
    ]
    notes = [str(n) for n in q.notes if n is not None]
    lost = [n for n in notes if n.strip().lower().startswith(LOST_CUSTOMERS)]
    for text in lost:
        body = text.strip()[len(LOST_CUSTOMERS):].strip()
        parts.append(alert("Customers lost to the quarantine", body[:1].upper() + body[1:]))
    facts = [("preset", q.preset), ("returns", q.returns),
             ("observation end", q.observation_end)]
    parts.append(kv(facts))
    frame = q.to_frame()
    if len(frame):
        frame = frame.copy()
        frame["share"] = frame["rows"].astype(float) / rows_in if rows_in else np.nan
        cols = [c for c in ("rule", "description", "rows", "share") if c in frame.columns]
        show = [c for c in ("reason", "description", "rows", "share") if c != "description"
                or "description" in frame.columns]
        parts.append(table(frame[cols], csv_name="quality_rules", percent=("share",),
                           show=show, terms=("description",),
                           extra={"reason": [_rule_name(r) for r in frame["rule"]]},
                           labels={"share": "share of input rows", "rows": "rows quarantined",
                                   "description": "what it means"},
                           caption="Rows quarantined by each cleaning rule, in rule order "
                                   "(the CSV and quarantine.parquet carry the reason codes)."))
        hit = frame[frame["rows"] > 0].sort_values("rows", ascending=False)
        fig = plots.hbar([_rule_name(r) for r in hit["rule"]],
                         {"rows quarantined": hit["rows"].tolist()},
                         x_title="rows quarantined (count)", y_title="cleaning rule")
        if fig is not None:
            parts.append(figure(fig, "Quarantined rows by reason code. The longest bar is the "
                                     "rule that removed most rows; check it matches what you "
                                     "expect of this log (e.g. cancellations, missing ids)."))
        else:
            parts.append(note("No row was quarantined: every input row is in the clean log."))
    else:
        parts.append(note("The quality report has no per-rule counts."))
    # where the purchases' and the refunds' money went (returns netted): each line adds up
    parts.append(notes_list((line[:1].upper() + line[1:] for line in q.reconciliation_lines()),
                            title="Money of the returns netted"))
    n_out = q.n_outliers
    if q.outliers == "off":
        parts.append(note("Outlier flagging was off (outliers='off'): no row is marked."))
    else:
        share = fmt_pct(n_out / clean) if clean else "—"
        parts.append(note(
            f"Outliers flagged: {fmt_int(n_out)} clean rows ({share} of the clean rows) are "
            "marked as outliers. They stay in the clean log and in every figure; the store "
            "(valuemax.duckdb) keeps the flag on each clean line, to pick them out."))
    shown, technical = split_notes(n for n in notes if n not in lost)
    parts.append(notes_list(shown, title="Cleaning notes"))
    diag.append(notes_list(technical, title="Cleaning rules in detail"))
    return "".join(parts)


def _rule_name(rule: Any) -> str:
    """A cleaning rule's reason code in words ("missing_customer_id" -> "missing customer id")."""
    return plain(str(rule)).replace("_", " ")
