"""Privacy right after reading: drop personal-data columns, pseudonymise customer ids.

:func:`protect` rewrites the raw table in the engine before anything else reads it, so the
clean log, the quarantine, the customer table, every export and the store only ever hold
what it leaves: no column found to hold personal data (unless kept on purpose), and, with a
key, keyed pseudonyms instead of customer ids.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Sequence
from typing import Any

import ibis.expr.datatypes as dt
import pyarrow as pa

from valuemax._core.exceptions import InputError
from valuemax.io._ids import IdPlan, id_expr
from valuemax.io._ingested import Ingested
from valuemax.io._sql import duck, ident
from valuemax.privacy import (
    PII_KINDS,
    PiiColumn,
    PrivacyReport,
    PseudonymKey,
    detect_pii,
    key_fingerprint,
    pseudonymize,
)

#: Rows sampled (a fixed pseudo-random set: the lowest hashes of the line numbers) to judge
#: columns by their values.
PII_SAMPLE_ROWS = 2000
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def _check_keep(keep_pii: Any, names: list[str]) -> tuple[str, ...]:
    if keep_pii is None:
        return ()
    keep = (keep_pii,) if isinstance(keep_pii, str) else tuple(keep_pii)
    if not all(isinstance(k, str) and k for k in keep):
        raise InputError(f"keep_pii= must be column names, e.g. ['email'] (CLI --keep-pii "
                         f"email); got {keep_pii!r}")
    missing = [k for k in keep if k not in names]
    if missing:
        raise InputError(
            f"keep_pii names {len(missing)} column(s) the log does not have: "
            f"{', '.join(map(repr, missing[:5]))}; its columns are "
            f"{', '.join(map(repr, names[:20]))}{' ...' if len(names) > 20 else ''}. Give "
            "the names as in the file (CLI --keep-pii COL)"
        )
    return keep


def _samples(ingested: Ingested, columns: list[str], n: int) -> dict[str, list[Any]]:
    raw = ingested.raw
    if not columns:
        return {}
    picked = raw.order_by(raw["_row_id"].hash()).limit(n).select(
        *[raw[c].cast(dt.string).name(f"c{i}") for i, c in enumerate(columns)])
    data = picked.to_pyarrow().to_pydict()
    return {c: data[f"c{i}"] for i, c in enumerate(columns)}


def _scannable(dtype: Any) -> bool:
    return bool(dtype.is_string() or dtype.is_integer())


def protect(ingested: Ingested, *, pseudonym_key: PseudonymKey | None = None,
            keep_pii: Sequence[str] | None = None,
            sample_rows: int = PII_SAMPLE_ROWS) -> Ingested:
    """Drop the columns that hold personal data and, with a key, pseudonymise customer ids.

    Runs on the raw table right after reading, in the engine, replacing it:

    1. Personal data: the extra (unmapped) columns and the customer id column are judged by
       name and by a sample of ``sample_rows`` lines (:func:`valuemax.privacy.detect_pii`).
       Extra columns found are dropped from the raw table unless named in ``keep_pii``; the
       customer id column is never dropped (it is the key of every table) but is listed,
       with a note recommending pseudonymisation when no key is given. Mapped columns
       (order, product, amounts) are not judged.
    2. Pseudonyms: the distinct customer ids (as read: trimmed, ``.0`` removed, null-like
       words missing) are few compared to lines, so they are mapped once in Python to
       ``HMAC-SHA256(key, id)`` (:func:`valuemax.privacy.pseudonymize`) and joined back in
       the engine; the raw customer column then holds the pseudonyms (text) and a missing
       id stays missing. Example ids in the reading notes are replaced by their pseudonyms.

    Exact-duplicate lines are then judged on the columns that remain (a dropped column no
    longer tells two lines apart).

    Parameters
    ----------
    ingested : Ingested
        The log as read by :func:`valuemax.io.read_transactions`.
    pseudonym_key : PseudonymKey, optional
        The key (:func:`valuemax.privacy.load_key`); None: ids are kept as they are.
    keep_pii : sequence of str, optional
        Source columns to keep even though they hold personal data (recorded).
    sample_rows : int, default PII_SAMPLE_ROWS
        Lines sampled to judge columns by their values.

    Returns
    -------
    Ingested
        The same log with the raw table rewritten, its plan and notes updated, and
        ``privacy`` set to a :class:`valuemax.privacy.PrivacyReport`.

    Raises
    ------
    InputError
        If ``keep_pii`` names a column the log does not have, or ``pseudonym_key`` is not a
        :class:`~valuemax.privacy.PseudonymKey`.
    """
    if pseudonym_key is not None and not isinstance(pseudonym_key, PseudonymKey):
        raise InputError("pseudonym_key must come from valuemax.privacy.load_key (a "
                         f"PseudonymKey), got {type(pseudonym_key).__name__}")
    raw = ingested.raw
    names = [c for c in raw.columns if c != "_row_id"]
    keep = _check_keep(keep_pii, names)
    cid = ingested.mapping["customer_id"]
    extras = list(ingested.plan.extra_names)
    schema = raw.schema()
    scan = [c for c in [cid, *extras] if _scannable(schema[c])]
    found = detect_pii(_samples(ingested, scan, sample_rows),
                       names=[c for c in extras if c not in scan])
    columns, notes = _judged(found, cid, keep, pseudonym_key)
    dropped = [c for c in columns if c.action == "dropped"]
    con = ingested.con
    table = raw.get_name()
    plan = ingested.plan
    extra_names = {k: v for k, v in plan.extra_names.items()
                   if k not in {c.column for c in dropped}}
    for c in dropped:
        duck(con).execute(f"ALTER TABLE {ident(table)} DROP COLUMN {ident(c.column)}")
    fingerprint = None
    replace: dict[str, str] = {}
    ids = dict(plan.ids)
    if pseudonym_key is not None:
        replace = _pseudonymise(con, table, cid, plan.ids["customer_id"], pseudonym_key)
        ids["customer_id"] = IdPlan("text")
        fingerprint = key_fingerprint(pseudonym_key)
        notes.append(
            f"customer_id (column {cid!r}): {len(set(replace.values())):,} customer "
            "ids replaced by keyed HMAC-SHA256 pseudonyms right after reading (key "
            f"fingerprint {fingerprint[:12]}...; the key itself is stored nowhere); the same "
            "key gives the same pseudonyms in every run")
    report = PrivacyReport(pseudonymized=pseudonym_key is not None,
                           key_fingerprint=fingerprint, pii_columns=tuple(columns),
                           keep_pii=keep, notes=tuple(notes))
    old = [_scrub(n, replace) for n in ingested.notes]
    if dropped:  # the extra-columns note lists what is kept
        old = [n for n in old if not n.startswith("extra columns kept under their own names")]
        if extra_names:
            old.append("extra columns kept under their own names: "
                       + ", ".join(repr(v) for v in extra_names.values()))
    new_plan = dataclasses.replace(plan, ids=ids, extra_names=extra_names)
    new_raw = con.table(table)
    # dropped extra columns and pseudonyms (a missing id stays missing) change no date and
    # no parse error: the usable lines per day counted at read time still hold
    counts = ingested.usable_day_counts()
    # nor any id's spelling (a pseudonym's plan is a new one, without unpadded)
    ids_raw = new_raw if ingested.ids_raw is raw else None
    return dataclasses.replace(
        ingested, raw=new_raw, plan=new_plan, notes=(*old, *notes),
        extra_columns=tuple(extra_names.values()), privacy=report,
        day_counts=None if counts is None else (new_raw, counts), ids_raw=ids_raw)


def _judged(found: Sequence[PiiColumn], cid: str, keep: Sequence[str],
            pseudonym_key: PseudonymKey | None) -> tuple[list[PiiColumn], list[str]]:
    """What :func:`protect` does with each column found to hold personal data (dropped, kept
    on purpose, the customer id kept or pseudonymised) and the notes that say so."""
    columns: list[PiiColumn] = []
    notes: list[str] = []
    for col in found:
        if col.column == cid:
            action = ("customer id: pseudonymised" if pseudonym_key is not None
                      else "customer id: kept as the key")
        elif col.column in keep:
            action = "kept (keep_pii)"
        else:
            action = "dropped"
        columns.append(dataclasses.replace(col, action=action))
    detected = {c.column for c in columns}
    for k in keep:
        if k not in detected:
            notes.append(f"personal data: keep_pii names {k!r}, which was not found to hold "
                         "personal data; it is kept as any other column")
    dropped = [c for c in columns if c.action == "dropped"]
    if dropped:
        notes.append(
            f"personal data: {len(dropped)} column(s) dropped right after reading, so they "
            f"reach no export, report or store table: "
            f"{'; '.join(_describe(c) for c in dropped)}. Keep one on purpose with "
            "keep_pii=['COL'] (CLI --keep-pii COL)")
    for c in columns:
        if c.action == "kept (keep_pii)":
            notes.append(f"personal data: {_describe(c)} kept on purpose (keep_pii); it "
                         "flows into the clean log, the quarantine and the store")
        elif c.action == "customer id: kept as the key":
            notes.append(f"personal data: the customer id column {_describe(c)}; it is the "
                         "key of every table, so it is kept: replace the ids by keyed "
                         "pseudonyms with pseudonymize=True (CLI --pseudonymize)")
    return columns, notes


def _describe(c: PiiColumn) -> str:
    what = f"{c.column!r} ({PII_KINDS[c.kind]}, by {c.found_by}"
    if c.share is not None:
        what += f": {c.share:.0%} of {c.n_sampled:,} sampled values match"
    return what + ")"


def _scrub(note: str, replace: dict[str, str]) -> str:
    """``note`` with every quoted original id replaced by its quoted pseudonym."""
    if not replace:
        return note

    def sub(m: re.Match) -> str:
        text = m.group(1) if m.group(1) is not None else m.group(2)
        return f"'{replace[text]}'" if text in replace else m.group(0)

    return _QUOTED.sub(sub, note)


def _pseudonymise(con: Any, table: str, column: str, plan: IdPlan,
                  key: PseudonymKey) -> dict[str, str]:
    """Replace ``column`` of ``table`` by pseudonyms of the ids it holds; return the map
    from every original spelling (as read, and as an id) to its pseudonym."""
    raw = con.table(table)
    norm = id_expr(raw[column], plan)
    pairs = (raw.select(__vm_src=raw[column].cast(dt.string), __vm_id=norm)
             .filter(lambda t: t.__vm_id.notnull()).distinct().to_pyarrow())
    src = pairs.column("__vm_src").to_pylist()
    orig = pairs.column("__vm_id").to_pylist()
    distinct = sorted(set(orig))
    pseudo = dict(zip(distinct, pseudonymize(distinct, key), strict=True))
    mapping = pa.table({"__vm_orig": pa.array(distinct, pa.string()),
                        "__vm_pseudo": pa.array([pseudo[i] for i in distinct], pa.string())})
    tag = uuid.uuid4().hex[:12]
    m = con.create_table(f"_vm_pseudonyms_{tag}", mapping, temp=True)
    left = raw.mutate(__vm_norm=norm)
    joined = left.left_join(m, left.__vm_norm == m.__vm_orig)
    out = joined.select(*[joined["__vm_pseudo"].name(column) if c == column else joined[c]
                          for c in raw.columns]).order_by("_row_id")
    tmp = f"_vm_raw_{tag}"
    con.create_table(tmp, out)
    db = duck(con)
    db.execute(f"DROP TABLE {ident(table)}")
    db.execute(f"ALTER TABLE {ident(tmp)} RENAME TO {ident(table)}")
    db.execute(f"DROP TABLE IF EXISTS {ident(f'_vm_pseudonyms_{tag}')}")
    replace = {s: pseudo[i] for s, i in zip(src, orig, strict=True) if s is not None}
    replace.update(pseudo)
    return replace
