"""Page skeleton, CSS, escaped tables with CSV downloads, notes and figure blocks.

Everything here returns HTML strings. User text (column names, ids, file names, notes) goes
through :func:`esc`; nothing from the user is ever inserted unescaped.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Rows shown in an HTML table; the CSV download always has every row.
MAX_TABLE_ROWS = 200

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
.tbl .scroll { overflow-x:auto; max-height:520px; overflow-y:auto;
               border:1px solid var(--line); border-radius:6px; }
table { border-collapse:collapse; width:100%; font-size:.86rem; }
th, td { padding:5px 10px; border-bottom:1px solid var(--line); text-align:left;
         vertical-align:top; }
th { background:#f0f4f8; position:sticky; top:0; font-weight:600; vertical-align:bottom; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
td.num { white-space:nowrap; }
td.text { min-width:18em; }
tbody tr:nth-child(even) td { background:#fafbfc; }
.tblfoot { display:flex; justify-content:space-between; align-items:center; gap:12px;
           font-size:.8rem; color:var(--muted); margin-top:4px; }
a.dl { color:var(--accent); text-decoration:none; border:1px solid var(--accent);
       border-radius:4px; padding:1px 8px; white-space:nowrap; }
a.dl:hover { background:var(--accent); color:#fff; }
figure.plot { margin:10px 0 18px; border:1px solid var(--line); border-radius:6px;
              padding:6px 6px 0; background:#fff; min-width:0; }
figure.plot figcaption { font-size:.86rem; color:var(--muted); padding:4px 8px 10px; }
.grid2 { display:grid; grid-template-columns:repeat(2, minmax(0, 1fr)); gap:14px; }
dl.kv { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; margin:8px 0;
        font-size:.9rem; }
dl.kv dt { color:var(--muted); }
dl.kv dd { margin:0; word-break:break-all; }
code { background:#f0f4f8; padding:0 4px; border-radius:3px; font-size:.88em; }
footer { text-align:center; color:var(--muted); font-size:.8rem; padding:12px 0 28px; }
@media (max-width: 900px) {
  .layout { display:block; }
  nav.toc { position:static; max-height:none; padding:12px 20px; }
  main { padding:8px 12px 32px; }
  .grid2 { grid-template-columns:1fr; }
}
"""


def esc(value: Any) -> str:
    """Escape any value for HTML text or attribute context.

    >>> esc('<script>alert("1")</script>')
    '&lt;script&gt;alert(&quot;1&quot;)&lt;/script&gt;'
    """
    return html.escape(str(value), quote=True)


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT and pandas NA."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_int(value: Any) -> str:
    """Integer with thousands separators; '—' when missing.

    >>> fmt_int(1234567)
    '1,234,567'
    """
    return "—" if is_missing(value) else f"{int(value):,}"


def fmt_num(value: Any) -> str:
    """A float with precision that suits its size; '—' when missing.

    >>> fmt_num(1234.5678), fmt_num(12.345), fmt_num(0.123456)
    ('1,235', '12.3', '0.123')
    """
    if is_missing(value):
        return "—"
    v = float(value)
    if not math.isfinite(v):
        return str(v)
    if v != 0 and v == round(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:,.1f}"
    if a >= 1:
        return f"{v:,.2f}"
    return f"{v:.3g}"


def fmt_pct(value: Any) -> str:
    """A fraction in [0, 1] as a percentage.

    >>> fmt_pct(0.1234), fmt_pct(0.0), fmt_pct(0.00004)
    ('12.3%', '0%', '<0.1%')
    """
    if is_missing(value):
        return "—"
    v = float(value)
    if v == 0:
        return "0%"
    if 0 < abs(v) < 0.001:
        return "<0.1%" if v > 0 else ">-0.1%"
    return f"{100.0 * v:.1f}%"


def fmt_value(value: Any) -> str:
    """Any cell value as display text (not yet escaped)."""
    if is_missing(value):
        return "—"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, int | np.integer):
        return fmt_int(value)
    if isinstance(value, float | np.floating):
        return fmt_num(value)
    if isinstance(value, dict | list | tuple) and len(value) == 0:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt_value(v)}" for k, v in value.items())
    if isinstance(value, list | tuple | np.ndarray):
        return ", ".join(fmt_value(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _csv_href(df: pd.DataFrame) -> str:
    """A data: URI holding ``df`` as CSV, UTF-8 with BOM (so Excel reads Chinese text)."""
    plain = df.copy()
    for col in plain.columns:
        if plain[col].dtype == object:
            plain[col] = plain[col].map(
                lambda v: fmt_value(v) if isinstance(v, list | tuple | dict | np.ndarray) else v
            )
    data = plain.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(data).decode("ascii")


def _kind(col: pd.Series) -> str:
    """CSS class of a column: "num" (right-aligned), "text" (long prose, wide) or ""."""
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        return "num"
    lengths = col.dropna().astype(str).str.len()
    return "text" if len(lengths) and lengths.mean() > 18 else ""


def table(
    df: pd.DataFrame,
    *,
    csv_name: str,
    percent: Iterable[str] = (),
    labels: dict[str, str] | None = None,
    caption: str | None = None,
) -> str:
    """Render ``df`` as an escaped HTML table with a "Download CSV" link.

    Parameters
    ----------
    df : pandas.DataFrame
        The table; the CSV download holds it unformatted, every row.
    csv_name : str
        File name offered for the download (``.csv`` appended when missing).
    percent : iterable of str
        Columns holding fractions in [0, 1], shown as percentages.
    labels : dict of str to str, optional
        Display header for some columns (e.g. with the unit).
    caption : str, optional
        A line under the table saying what it shows.

    Returns
    -------
    str
        HTML of a ``<div class="tbl">`` block.
    """
    percent = set(percent)
    labels = labels or {}
    if not csv_name.endswith(".csv"):
        csv_name += ".csv"
    shown = df.iloc[:MAX_TABLE_ROWS]
    kind = {c: _kind(shown[c]) for c in df.columns}
    attr = {c: f' class="{kind[c]}"' if kind[c] else "" for c in df.columns}
    head = "".join(f"<th{attr[c]}>{esc(labels.get(str(c), c))}</th>" for c in df.columns)
    cols = []
    for c in df.columns:
        fmt = fmt_pct if c in percent else fmt_value
        cols.append([fmt(v) for v in shown[c].tolist()])
    body = "".join(
        "<tr>" + "".join(
            f"<td{attr[c]}>{esc(cells[i])}</td>"
            for c, cells in zip(df.columns, cols, strict=True)
        ) + "</tr>"
        for i in range(len(shown))
    )
    more = (f"first {MAX_TABLE_ROWS:,} of {len(df):,} rows shown; the CSV has all. "
            if len(df) > MAX_TABLE_ROWS else "")
    cap = esc(caption) if caption else ""
    return (
        f'<div class="tbl"><div class="scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
        f'<div class="tblfoot"><span>{cap} {esc(more)}</span>'
        f'<a class="dl" download="{esc(csv_name)}" href="{_csv_href(df)}">Download CSV</a>'
        f"</div></div>"
    )


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
        f"<footer>{esc(footer)}</footer>\n</body>\n</html>\n"
    )
