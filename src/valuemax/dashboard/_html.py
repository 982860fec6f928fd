"""HTML pieces of the dashboard: the page frame, KPI tiles, tables, plots, forms.

Every text from the store is escaped (``html.escape``); plot specs travel as JSON in
``<script type="application/json">`` blocks that ``dashboard.js`` draws, so the pages run no
inline script (the Content-Security-Policy forbids it). Fonts fall back to the CJK fonts of
Windows, macOS and Linux so that Chinese segment names, products and countries render.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlencode

import numpy as np
import pandas as pd

#: Font stack with CJK fallbacks (Noto/Source Han, WenQuanYi, YaHei, PingFang).
FONTS = ('system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK SC", '
         '"Source Han Sans SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", '
         'sans-serif')

_CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:@FONTS@;color:#1f2933;background:#f5f7fa;font-size:15px}
header{background:#1f3a5f;color:#fff;padding:10px 24px;display:flex;gap:24px;
 align-items:center;flex-wrap:wrap}
header h1{font-size:18px;margin:0 16px 0 0}
header nav a{color:#dbe7f5;text-decoration:none;margin-right:16px}
header nav a.current{color:#fff;font-weight:600;border-bottom:2px solid #fff}
header form{margin-left:auto}
main{padding:16px 24px;max-width:1400px}
h2{font-size:17px;margin:24px 0 8px}
.filters{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin:4px 0 12px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px}
.tile{background:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 1px 2px #0002}
.tile .label{color:#52606d;font-size:13px}
.tile .value{font-size:26px;font-weight:600;margin:4px 0}
.tile .note{color:#7b8794;font-size:12px}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:12px}
.plot{background:#fff;border-radius:6px;height:380px;box-shadow:0 1px 2px #0002}
table{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px #0002;font-size:14px}
th,td{padding:5px 10px;border-bottom:1px solid #e4e7eb;text-align:left;vertical-align:top}
th{background:#eef2f7;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#52606d}
.alert{background:#fff8e1;border-left:4px solid #f0b429;padding:8px 12px;margin:8px 0}
.error{background:#fdecea;border-left:4px solid #d64545;padding:8px 12px;margin:8px 0}
.button{display:inline-block;background:#1f3a5f;color:#fff;padding:6px 12px;
 border-radius:4px;text-decoration:none}
footer{color:#7b8794;font-size:12px;padding:16px 24px}
""".replace("@FONTS@", FONTS)

#: Pages of the navigation: (path, title).
NAV: tuple[tuple[str, str], ...] = (
    ("/", "Overview"), ("/at-risk", "High value at risk"), ("/customer", "Customer lookup"),
    ("/rules", "Rules"), ("/experiments", "Experiments & targeting"))


def esc(value: Any) -> str:
    """``value`` as escaped HTML text ("—" for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    if value is pd.NaT:
        return "—"
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        value = value.date()  # a date stored as a timestamp: no 00:00:00
    return html.escape(str(value), quote=True)


def fmt_int(x: Any) -> str:
    """``1234`` -> ``"1,234"``."""
    return "—" if not _finite(x) else f"{round(float(x)):,}"


def fmt_num(x: Any, digits: int = 2) -> str:
    """``1234.5`` -> ``"1,234.50"``."""
    return "—" if not _finite(x) else f"{float(x):,.{digits}f}"


def fmt_pct(x: Any, digits: int = 1) -> str:
    """``0.1234`` -> ``"12.3%"``."""
    return "—" if not _finite(x) else f"{100 * float(x):.{digits}f}%"


def _finite(x: Any) -> bool:
    try:
        return x is not None and not isinstance(x, bool) and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def url(path: str, **params: Any) -> str:
    """``path`` with the non-empty ``params`` as an escaped query string."""
    query = {k: v for k, v in params.items() if v is not None and v != ""}
    return path + ("?" + urlencode(query) if query else "")


def tile(key: str, label: str, value: Any, text: str, note: str = "") -> str:
    """A KPI tile; ``data-value`` holds the exact number (``text`` is the rounded view)."""
    data = "" if not _finite(value) else repr(float(value))
    return (f'<div class="tile" data-kpi="{esc(key)}"><div class="label">{esc(label)}</div>'
            f'<div class="value" data-value="{data}">{esc(text)}</div>'
            f'<div class="note">{esc(note)}</div></div>')


def table(frame: pd.DataFrame, *, formats: dict[str, str] | None = None,
          labels: dict[str, str] | None = None, links: dict[str, str] | None = None,
          table_id: str = "", max_rows: int | None = None,
          link_params: dict[str, str] | None = None) -> str:
    """``frame`` as an HTML table; numbers right-aligned with ``data-value`` exact.

    ``formats`` maps a column to ``int``, ``num``, ``num4`` or ``pct``; ``links`` maps a
    column to a path taking the cell as its ``id``/``segment`` query (``"/customer?id"``),
    with ``link_params`` (e.g. the other filters) added to every link.
    """
    formats, labels, links = formats or {}, labels or {}, links or {}
    rows = frame if max_rows is None else frame.head(max_rows)
    head = "".join(f'<th data-col="{esc(c)}">{esc(labels.get(c, c))}</th>' for c in rows.columns)
    body = []
    for rec in rows.itertuples(index=False, name=None):
        cells = []
        for col, value in zip(rows.columns, rec, strict=True):
            kind = formats.get(col)
            if kind is None and isinstance(value, (int, float, np.integer, np.floating)) \
                    and not isinstance(value, bool):
                kind = "int" if isinstance(value, (int, np.integer)) else "num"
            if kind is not None:
                text = {"int": fmt_int, "num": fmt_num, "pct": fmt_pct,
                        "num4": lambda v: fmt_num(v, 4)}[kind](value)
                data = repr(float(value)) if _finite(value) else ""
                cells.append(f'<td class="num" data-col="{esc(col)}" data-value="{data}">'
                             f"{esc(text)}</td>")
                continue
            text = esc(value)
            if col in links and text != "—":
                path, key = links[col].split("?")
                query = {**(link_params or {}), key: str(value)}
                text = f'<a href="{esc(url(path, **query))}">{text}</a>'
            cells.append(f'<td data-col="{esc(col)}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    ident = f' id="{esc(table_id)}"' if table_id else ""
    return (f"<table{ident}><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table>")


def _json_for_html(obj: Any) -> str:
    text = json.dumps(obj, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def plot(plot_id: str, figure: dict[str, Any]) -> str:
    """A Plotly figure ``{"data": [...], "layout": {...}}`` drawn by ``dashboard.js``."""
    layout = {"font": {"family": FONTS}, "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
              "paper_bgcolor": "#fff", "plot_bgcolor": "#fff", **figure.get("layout", {})}
    spec = {"data": figure["data"], "layout": layout}
    return (f'<div class="plot plotly-graph-div" id="{esc(plot_id)}" '
            f'data-spec="{esc(plot_id)}-spec"></div>'
            f'<script type="application/json" id="{esc(plot_id)}-spec">'
            f"{_json_for_html(spec)}</script>")


def select(name: str, label: str, options: Sequence[tuple[str, str]],
           current: str | None) -> str:
    """A ``<select>`` with an "all" option; ``options`` are ``(value, text)``."""
    opts = ['<option value="">all</option>'] + [
        f'<option value="{esc(v)}"{" selected" if v == current else ""}>{esc(t)}</option>'
        for v, t in options]
    return (f'<label>{esc(label)} <select name="{esc(name)}" class="autosubmit">'
            f'{"".join(opts)}</select></label>')


def page(*, title: str, current: str, body: Iterable[str], store: str,
         run: dict[str, Any], nav_query: dict[str, str], show_experiments: bool,
         search: str = "") -> str:
    """The whole page: header (title, navigation, lookup box), content, footer."""
    links = []
    for path, name in NAV:
        if path == "/experiments" and not show_experiments:
            continue
        query = nav_query if path in ("/", "/at-risk", "/experiments") else {}
        cls = ' class="current"' if path == current else ""
        links.append(f'<a href="{esc(url(path, **query))}"{cls}>{esc(name)}</a>')
    lookup = (f'<form action="/customer" method="get" role="search">'
              f'<input name="id" placeholder="customer id" value="{esc(search)}" '
              f'aria-label="customer id"> <button type="submit">Look up</button></form>')
    facts = [f"store {store}"]
    if run.get("source"):
        facts.append(f"last run: {run['source']}")
    if run.get("finished_at") is not None:
        facts.append(f"finished {run['finished_at']}")
    if run.get("valuemax_version"):
        facts.append(f"valuemax {run['valuemax_version']}")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">'
        f"<title>{esc(title)} · valuemax dashboard</title><style>{_CSS}</style>"
        '<script src="/static/plotly.min.js" defer></script>'
        '<script src="/static/dashboard.js" defer></script></head><body>'
        f'<header><h1>valuemax dashboard</h1><nav>{"".join(links)}</nav>{lookup}</header>'
        f'<main><h2 style="margin-top:4px">{esc(title)}</h2>{"".join(body)}</main>'
        f'<footer>{esc(" · ".join(facts))} · read-only · offline (no network used)'
        "</footer></body></html>")


def note(text: str) -> str:
    """A grey explanatory paragraph."""
    return f'<p class="note">{esc(text)}</p>'


def alert(text: str, kind: str = "alert") -> str:
    """A highlighted box (``kind`` "alert" or "error")."""
    return f'<div class="{esc(kind)}">{esc(text)}</div>'
