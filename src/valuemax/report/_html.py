"""Page skeleton, CSS, escaped tables with CSV downloads, notes and figure blocks.

Everything here returns HTML strings. User text (column names, ids, file names, notes) goes
through :func:`esc`; nothing from the user is ever inserted unescaped.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from valuemax.report._format import (
    PERCENT_COLUMNS,
    esc,
    fmt_pct,
    fmt_value,
    header,
    is_missing,
    is_technical,
    plain,
)

#: Rows shown in an HTML table; the CSV download always has every row.
MAX_TABLE_ROWS = 200
#: Tables with at most this many rows are shown whole, without an inner vertical scroll.
FULL_TABLE_ROWS = 30

CSS = """
:root { --ink:#1f2933; --muted:#5f6b7a; --line:#e3e8ee; --bg:#f7f9fb; --accent:#2b6cb0;
        --warn-bg:#fff7e6; --warn:#b7791f; --note-bg:#eef5fc; }
* { box-sizing: border-box; }
html { scroll-behavior: smooth; }
body { margin:0; color:var(--ink); background:var(--bg); line-height:1.5;
       font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       "Noto Sans", "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
header.top { background:#102a43; color:#fff; padding:20px 32px; }
header.top h1 { margin:0 0 12px; font-size:1.5rem; font-weight:600; }
header.top h1 small { font-weight:400; color:#bcccdc; font-size:.95rem; margin-left:8px; }
.facts { display:flex; flex-wrap:wrap; gap:10px; }
.fact { background:rgba(255,255,255,.08); border-radius:6px; padding:6px 12px; min-width:120px; }
.fact b { display:block; font-size:.72rem; text-transform:uppercase; letter-spacing:.04em;
          color:#9fb3c8; font-weight:600; }
.fact span { font-size:.95rem; word-break:break-all; }
.layout { display:flex; align-items:flex-start; max-width:1480px; margin:0 auto; }
nav.toc { position:sticky; top:0; flex:0 0 220px; max-height:100vh; overflow-y:auto;
          padding:20px 12px 20px 24px; font-size:.88rem; }
nav.toc b { display:block; color:var(--muted); text-transform:uppercase; font-size:.72rem;
            letter-spacing:.06em; margin-bottom:6px; }
nav.toc ol { margin:0; padding-left:0; list-style:none; }
nav.toc ol ol { padding-left:14px; font-size:.82rem; margin-bottom:6px; }
nav.toc li { margin:3px 0; }
nav.toc a { color:var(--ink); text-decoration:none; }
nav.toc a:hover { color:var(--accent); text-decoration:underline; }
main { flex:1 1 auto; min-width:0; padding:12px 32px 48px 16px; }
section.chain { background:#fff; border:1px solid var(--line); border-radius:8px;
                padding:8px 24px 20px; margin:16px 0; }
section.chain h2 { font-size:1.3rem; border-bottom:2px solid var(--accent);
                   padding-bottom:4px; margin:14px 0 8px; }
h3 { font-size:1.05rem; margin:22px 0 6px; color:#243b53; }
p.lead { color:var(--muted); margin:4px 0 12px; }
.note { background:var(--note-bg); border-left:4px solid var(--accent); padding:8px 12px;
        border-radius:4px; margin:10px 0; }
.note.warn { background:var(--warn-bg); border-left-color:var(--warn); }
.accounting { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
              font-size:.95rem; }
ul.notes { margin:6px 0; padding-left:20px; color:#334e68; font-size:.92rem; }
.tbl { margin:8px 0 14px; }
.tbl .scroll { overflow-x:auto; border:1px solid var(--line); border-radius:6px; }
.tbl .scroll.tall { max-height:560px; overflow-y:auto; }
table { border-collapse:collapse; width:100%; font-size:.86rem; }
th, td { padding:5px 10px; border-bottom:1px solid var(--line); text-align:left;
         vertical-align:top; }
th { background:#f0f4f8; position:sticky; top:0; font-weight:600; vertical-align:bottom;
     line-height:1.25; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
td.num { white-space:nowrap; }
td.text { min-width:18em; }
td.name { min-width:13em; }
td.short { white-space:nowrap; }
table.flat > tbody > tr:nth-child(even) > td { background:#fafbfc; }
table.rec > tbody:nth-of-type(even) > tr > td { background:#fafbfc; }
table.rec > tbody > tr.main > td { border-bottom:none; padding-bottom:2px; }
table.rec > tbody > tr.detail > td { color:#334e68; font-size:.84rem; padding-top:0; }
tr.detail div { margin:1px 0 2px; }
tr.detail b { color:var(--muted); font-weight:600; }
.tblfoot { display:flex; justify-content:space-between; align-items:flex-start; gap:12px;
           font-size:.8rem; color:var(--muted); margin-top:4px; }
.tblfoot small { display:block; font-size:.75rem; }
a.dl { color:var(--accent); text-decoration:none; border:1px solid var(--accent);
       border-radius:4px; padding:1px 8px; white-space:nowrap; }
a.dl:hover { background:var(--accent); color:#fff; }
.alert { background:#fff1f0; border:1px solid #f5b7b1; border-left:6px solid #c53030;
         border-radius:6px; padding:10px 14px; margin:12px 0; }
.alert b { color:#9b2c2c; display:block; margin-bottom:2px; }
figure.plot { margin:10px 0 18px; border:1px solid var(--line); border-radius:6px;
              padding:6px 6px 0; background:#fff; min-width:0; }
figure.plot figcaption { font-size:.86rem; color:var(--muted); padding:4px 8px 10px; }
.grid2 { display:grid; grid-template-columns:repeat(2, minmax(0, 1fr)); gap:14px; }
dl.kv { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; margin:8px 0;
        font-size:.9rem; }
dl.kv dt { color:var(--muted); }
dl.kv dd { margin:0; overflow-wrap:anywhere; }
details.diagnostics { margin:16px 0 4px; border:1px dashed var(--line); border-radius:6px;
                      padding:4px 12px; background:#fbfcfd; }
details.diagnostics > summary { cursor:pointer; color:var(--muted); font-size:.88rem;
                                font-weight:600; padding:4px 0; }
details.diagnostics[open] > summary { margin-bottom:6px; }
code { background:#f0f4f8; padding:0 4px; border-radius:3px; font-size:.88em; }
footer { text-align:center; color:var(--muted); font-size:.8rem; padding:12px 0 28px; }
@media (max-width: 900px) {
  .layout { display:block; }
  nav.toc { position:static; max-height:none; padding:12px 20px; }
  main { padding:8px 12px 32px; }
  .grid2 { grid-template-columns:1fr; }
}
@media print {
  body { background:#fff; }
  .layout { display:block; max-width:none; }
  nav.toc { display:none; }
  main { padding:0; }
  section.chain { border:none; padding:0; }
  .tbl .scroll, .tbl .scroll.tall { max-height:none; overflow:visible; }
  th { position:static; }
  table, table.rec > tbody > tr.detail > td { font-size:.72rem; }
  th, td { padding:3px 5px; }
  td.name { min-width:8em; }
  td.short { white-space:normal; }
  tr, tbody, figure.plot, .note, .alert { break-inside:avoid; }
  a.dl { display:none; }
  details.diagnostics { display:none; }
}
"""


#: Plots drawn inside a closed "Model diagnostics" part get their size when it is opened.
_RESIZE_ON_OPEN = (
    "document.querySelectorAll('details.diagnostics').forEach(function (d) {"
    " d.addEventListener('toggle', function () { if (!d.open) return;"
    " d.querySelectorAll('.plotly-graph-div').forEach(function (g) {"
    " Plotly.Plots.resize(g); }); }); });"
)


def _csv_href(df: pd.DataFrame) -> str:
    """A data: URI holding ``df`` as formula-safe CSV, UTF-8 with BOM (so Excel reads Chinese
    text); cells that a spreadsheet would run as formulas are escaped by
    :func:`valuemax._core._csv.csv_text`."""
    from valuemax._core._csv import csv_text

    plain = df.copy()
    for col in plain.columns:
        if plain[col].dtype == object:
            plain[col] = plain[col].map(
                lambda v: fmt_value(v) if isinstance(v, list | tuple | dict | np.ndarray) else v
            )
    data = csv_text(plain).encode("utf-8-sig")
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(data).decode("ascii")


def _kind(col: pd.Series) -> str:
    """CSS class of a column: "num" (right-aligned), "text" (long prose, wide), "short"."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return "num"
    lengths = col.dropna().astype(str).str.len()
    if not len(lengths):
        return ""
    return "text" if lengths.mean() > 18 else "short" if lengths.max() <= 20 else ""


def _renamed(columns: Sequence[Any], labels: dict[str, str]) -> list[str]:
    """The machine names the CSV keeps where the page shows a readable header."""
    return [str(c) for c in columns if header(c, labels) != str(c)]


def table(
    df: pd.DataFrame,
    *,
    csv_name: str,
    show: Sequence[str] | None = None,
    detail: Sequence[str] = (),
    percent: Iterable[str] = (),
    labels: dict[str, str] | None = None,
    caption: str | None = None,
    max_rows: int = MAX_TABLE_ROWS,
    extra: dict[str, Sequence[Any]] | None = None,
    terms: Iterable[str] = (),
) -> str:
    """Render ``df`` as an escaped HTML table with a "Download CSV" link.

    Headers are readable (:func:`~valuemax.report._format.header`); the CSV keeps the
    machine names and says so in a small caption. A table of at most ``FULL_TABLE_ROWS``
    rows is shown whole; a longer one scrolls inside its box.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; the CSV download holds it unformatted, every row and column.
    csv_name : str
        File name offered for the download (``.csv`` appended when missing).
    show : sequence of str, optional
        The columns shown as table columns, in order; default every column not in
        ``detail``.
    detail : sequence of str, default ()
        Long-text columns (e.g. an action and its rationale) shown on a wrapped line under
        each row instead of as columns, so the table never needs a horizontal scroll.
    percent : iterable of str, default ()
        Columns holding fractions in [0, 1], shown as percentages, besides the usual share
        columns (``share_customers``, ``revenue_share``, ``share``).
    labels : dict of str to str, optional
        Display header for some columns, overriding the readable defaults.
    caption : str, optional
        A line under the table saying what it shows.
    max_rows : int, default 200
        Rows shown in the page; the CSV always has every row of ``df``.
    extra : dict of str to sequence, optional
        Display-only columns (one value per row of ``df``), e.g. three short columns merged
        into one; name them in ``show``. They are not in the CSV.
    terms : iterable of str, default ()
        Columns holding machine names (features, fields, model keys) shown in plain words
        (:func:`~valuemax.report._format.plain`); the CSV keeps the names.

    Returns
    -------
    str
        HTML of a ``<div class="tbl">`` block.
    """
    percent = set(percent) | PERCENT_COLUMNS
    labels = labels or {}
    if not csv_name.endswith(".csv"):
        csv_name += ".csv"
    detail = [c for c in detail if c in df.columns]
    shown = df.iloc[:max_rows]
    if extra:
        shown = shown.assign(**{k: list(v)[:max_rows] for k, v in extra.items()})
    cols = [c for c in (show if show is not None else df.columns)
            if c in shown.columns and c not in detail]
    kind = {c: _kind(shown[c]) for c in cols}
    if detail:  # the first text column names the row: keep it readable
        first = next((c for c in cols if kind[c] != "num"), None)
        if first is not None:
            kind[first] = (kind[first] + " name").strip()
    attr = {c: f' class="{kind[c]}"' if kind[c] else "" for c in cols}
    head = "".join(f"<th{attr[c]}>{esc(header(c, labels))}</th>" for c in cols)

    terms = set(terms)

    def cells(c: Any) -> list[str]:
        fmt = fmt_pct if c in percent else fmt_value
        out = [fmt(v) for v in shown[c].tolist()]
        return [plain(v) for v in out] if c in terms else out

    values = {c: cells(c) for c in [*cols, *detail]}
    rows = [
        "<tr{}>".format(' class="main"' if detail else "") + "".join(
            f"<td{attr[c]}>{esc(values[c][i])}</td>" for c in cols) + "</tr>"
        for i in range(len(shown))
    ]
    if detail:
        rows = [
            f"<tbody>{row}<tr class=\"detail\"><td colspan=\"{len(cols)}\">" + "".join(
                f"<div><b>{esc(header(c, labels))}:</b> {esc(values[c][i])}</div>"
                for c in detail if values[c][i].strip() not in ("", "—"))
            + "</td></tr></tbody>"
            for i, row in enumerate(rows)
        ]
        body, klass = "".join(rows), "rec"
    else:
        body, klass = f"<tbody>{''.join(rows)}</tbody>", "flat"
    foot = [caption or ""]
    n_cols = len([c for c in [*cols, *detail] if c in df.columns])
    cut = []
    if len(df) > len(shown):
        cut.append(f"first {len(shown):,} of {len(df):,} rows")
    if not extra and n_cols < len(df.columns):
        cut.append(f"{n_cols:,} of {len(df.columns):,} columns")
    if cut:
        foot.append(f"{' and '.join(cut).capitalize()} shown; the CSV has them all.")
    renamed = _renamed([c for c in [*cols, *detail] if c in df.columns], labels)
    small = ("The CSV keeps the column names of the exports (hover for them)." if renamed
             else "")
    scroll = "scroll tall" if len(shown) > FULL_TABLE_ROWS else "scroll"
    return (
        f'<div class="tbl"><div class="{scroll}"><table class="{klass}"><thead><tr>{head}'
        f"</tr></thead>{body}</table></div>"
        f'<div class="tblfoot"><span>{esc(" ".join(f for f in foot if f))}'
        + (f'<small title="{esc(", ".join(renamed))}">{esc(small)}</small>' if small else "")
        + "</span>"
        f'<a class="dl" download="{esc(csv_name)}" href="{_csv_href(df)}">Download CSV</a>'
        f"</div></div>"
    )


def alert(title: str, text: str) -> str:
    """A highlighted box for something the reader must not miss (both escaped)."""
    return f'<div class="alert" role="alert"><b>{esc(title)}</b>{esc(text)}</div>'


def note(text: str, *, warn: bool = False) -> str:
    """A visible note (escaped) explaining why something is absent or needs attention."""
    return f'<p class="note{" warn" if warn else ""}">{esc(text)}</p>'


def notes_list(items: Iterable[Any], *, title: str | None = None) -> str:
    """An escaped bullet list of notes; empty string when there are none."""
    items = [str(i) for i in items if not is_missing(i) and str(i).strip()]
    if not items:
        return ""
    head = f"<h3>{esc(title)}</h3>" if title else ""
    return head + '<ul class="notes">' + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


def kv(pairs: Sequence[tuple[str, Any]]) -> str:
    """A definition list of label -> value (both escaped)."""
    return '<dl class="kv">' + "".join(
        f"<dt>{esc(k)}</dt><dd>{esc(fmt_value(v))}</dd>" for k, v in pairs
    ) + "</dl>"


def figure(fig: Any, caption: str) -> str:
    """Embed a plotly figure (no plotly.js: the page head holds it once) with its caption."""
    div = fig.to_html(
        full_html=False, include_plotlyjs=False,
        config={"displaylogo": False, "responsive": True},
    )
    return f'<figure class="plot">{div}<figcaption>{esc(caption)}</figcaption></figure>'


def grid2(*blocks: str) -> str:
    """Place blocks side by side (one column on narrow screens)."""
    return '<div class="grid2">' + "".join(f"<div>{b}</div>" for b in blocks) + "</div>"


def section(anchor: str, title: str, lead: str, body: str) -> str:
    """A top-level report section with its anchor for the table of contents."""
    return (
        f'<section class="chain" id="{esc(anchor)}"><h2>{esc(title)}</h2>'
        f'<p class="lead">{esc(lead)}</p>{body}</section>'
    )


def sub(anchor: str, title: str) -> str:
    """A sub-section heading with an anchor."""
    return f'<h3 id="{esc(anchor)}">{esc(title)}</h3>'


def page(
    *,
    title: str,
    plotlyjs: str,
    facts: Sequence[tuple[str, Any]],
    toc: Sequence[tuple[str, str, Sequence[tuple[str, str]]]],
    sections: Sequence[str],
    footer: str,
) -> str:
    """Assemble the whole page: head (CSS, plotly.js once), header, sticky TOC, sections.

    Parameters
    ----------
    toc : sequence of (anchor, title, [(sub_anchor, sub_title), ...])
        The table of contents.
    """
    fact_html = "".join(
        f'<div class="fact"><b>{esc(k)}</b><span>{esc(fmt_value(v))}</span></div>'
        for k, v in facts
    )
    toc_html = "".join(
        f'<li><a href="#{esc(a)}">{esc(t)}</a>'
        + ("<ol>" + "".join(f'<li><a href="#{esc(sa)}">{esc(st)}</a></li>' for sa, st in subs)
           + "</ol>" if subs else "")
        + "</li>"
        for a, t, subs in toc
    )
    # plotly.js never contains "</script" (checked in the tests); guard anyway
    js = plotlyjs.replace("</script", "<\\/script")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n"
        f'<script type="text/javascript">{js}</script>\n</head>\n<body>\n'
        f'<header class="top"><h1>valuemax report<small>{esc(title)}</small></h1>'
        f'<div class="facts">{fact_html}</div></header>\n'
        f'<div class="layout"><nav class="toc"><b>Contents</b><ol>{toc_html}</ol></nav>\n'
        f"<main>{''.join(sections)}</main></div>\n"
        f"<footer>{esc(footer)}</footer>\n<script>{_RESIZE_ON_OPEN}</script>\n</body>\n"
        "</html>\n"
    )


#: An option named for both the CLI and the API ("--horizon-months (horizon_months=)"):
#: the report keeps the flag.
_API_NAME = re.compile(r" \([a-z_]+=\)")
_PARENS = re.compile(r"\s*\([^()]*\)")


def caveats_block(caveats: Iterable[Any], step: str, *, fallback: str = "",
                  shown_apart: tuple[str, ...] = ()) -> tuple[str, str]:
    """The run's caveats of ``step`` (items with ``step`` and ``text``: the list every
    surface shows, :attr:`valuemax.pipeline.AnalysisResult.caveats`) as an alert box, and
    those written in technical terms for the diagnostics.

    Each text is shown in plain words (:func:`~valuemax.report._format.plain`, an option's
    API name left out); a text that is still technical loses its technical brackets, and if
    that is not enough it is shown as ``fallback`` (or said to be in the diagnostics), its
    full text going to the diagnostics. Caveats whose ``code`` is in ``shown_apart`` are
    left out (the section shows them in a box of their own).

    Returns
    -------
    (str, str)
        The box (empty without caveats) and the technical texts' list (may be empty).
    """
    shown, raw = [], []
    for c in caveats:
        if getattr(c, "step", None) != step or getattr(c, "code", None) in shown_apart:
            continue
        text = plain(_API_NAME.sub("", str(c.text)))
        if is_technical(text):
            raw.append(str(c.text))
            text = _PARENS.sub(lambda m: "" if is_technical(m.group(0)) else m.group(0), text)
        if is_technical(text):
            text = fallback or "a caveat in technical terms: see Model diagnostics below."
        shown.append(text[:1].upper() + text[1:])
    if not shown:
        return "", ""
    box = (f'<div class="alert" role="alert" data-caveats="{esc(step)}"><b>Caveats</b>'
           '<ul class="notes">' + "".join(f"<li>{esc(t)}</li>" for t in shown) + "</ul></div>")
    return box, notes_list(raw, title="Caveats in full")


def split_notes(items: Iterable[Any]) -> tuple[list[str], list[str]]:
    """Split notes into plain ones (shown, machine names put in words) and technical ones.

    A note is technical when it still holds a machine identifier, an optimiser flag, a
    scientific-notation float or a parameter vector after
    :func:`~valuemax.report._format.plain`; those go to the "Model diagnostics" part.

    Parameters
    ----------
    items : iterable
        Notes (anything with a string form); missing and blank ones are dropped.

    Returns
    -------
    tuple of (list of str, list of str)
        The plain notes (already in plain words) and the technical ones (as written).

    Examples
    --------
    >>> split_notes(["3 customers bought once", "ABNORMAL: line search", None])
    (['3 customers bought once'], ['ABNORMAL: line search'])
    """
    shown, technical = [], []
    for item in items:
        if is_missing(item) or not str(item).strip():
            continue
        text = str(item)
        if is_technical(text):
            technical.append(text)
        else:
            shown.append(plain(text))
    return shown, technical


def diagnostics(blocks: Iterable[str], *, what: str = "") -> str:
    """A collapsed "Model diagnostics" part holding technical details (HTML blocks).

    Parameters
    ----------
    blocks : iterable of str
        HTML blocks (already escaped); empty ones are dropped.
    what : str, default ""
        What the part holds, shown after the title (escaped).

    Returns
    -------
    str
        A ``<details class="diagnostics">`` element (closed), or "" when nothing is left.
    """
    body = "".join(b for b in blocks if b)
    if not body:
        return ""
    tail = f" — {esc(what)}" if what else ""
    return (f'<details class="diagnostics"><summary>Model diagnostics{tail}</summary>'
            f"{body}</details>")


def plain_text(text: Any, *, fallback: str) -> tuple[str, str]:
    """``text`` for the page when it is plain, else ``fallback`` and the text for diagnostics.

    Returns ``(visible, technical)``; ``technical`` is "" when ``text`` is plain.
    """
    raw = "" if is_missing(text) else str(text)
    if raw and not is_technical(raw):
        return plain(raw), ""
    return fallback, raw
