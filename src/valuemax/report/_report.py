"""render_report / write_report: the self-contained HTML report of one run."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from valuemax._core.exceptions import InputError
from valuemax.report._format import fmt_int
from valuemax.report._html import page
from valuemax.report._sections_basket import basket_section
from valuemax.report._sections_clusters import clusters_section
from valuemax.report._sections_customers import customers_section
from valuemax.report._sections_data import data_section
from valuemax.report._sections_experiment import experiment_section
from valuemax.report._sections_propensity import propensity_section
from valuemax.report._sections_run import run_section
from valuemax.report._sections_segments import segments_section
from valuemax.report._sections_stats import stats_section
from valuemax.report._sections_target import target_section
from valuemax.report._sections_value import value_section

#: Sections in chain order (data -> information -> knowledge -> insight -> decision), each
#: ``(anchor, title, build(result, numbered_title) -> (html, subs))``; "Run" closes the page.
_SECTIONS = (
    ("data", "Data", lambda r, t: data_section(r, title=t)),
    ("customers", "Customers", lambda r, t: customers_section(r, title=t)),
    ("segments", "Segments (RFM)", lambda r, t: segments_section(r, title=t)),
    ("clusters", "Clusters", lambda r, t: clusters_section(r, title=t)),
    ("value", "Customer value", lambda r, t: value_section(r, title=t)),
    ("stats", "What goes with value", lambda r, t: stats_section(r, title=t)),
    ("propensity", "Who buys next", lambda r, t: propensity_section(r, title=t)),
    ("basket", "What sells together", lambda r, t: basket_section(r, title=t)),
    ("experiment", "Did it work?", lambda r, t: experiment_section(r, title=t)),
    ("target", "Whom to contact", lambda r, t: target_section(r, title=t)),
)
#: Sections included by default only when the result holds one of these attributes (an
#: experiment read out, uplift models or a target list), so a run without them is unchanged.
_ON_DEMAND = {"experiment": ("experiment",), "target": ("uplift", "targets")}

_RUN_DATE_KEYS = ("run_at", "run_date", "started_at", "started", "created_at")
_EXPECTED = ("ingest", "quality", "customers")


def _run_date(result: Any) -> str:
    for holder in (getattr(result, "params", None), getattr(result, "summary", None)):
        if isinstance(holder, dict):
            for key in _RUN_DATE_KEYS:
                if holder.get(key):
                    value = holder[key]
                    return value.isoformat(sep=" ", timespec="seconds") if isinstance(
                        value, dt.datetime) else str(value)
    return dt.datetime.now().astimezone().isoformat(sep=" ", timespec="seconds")


def render_report(result: Any, *, sections: tuple[str, ...] | None = None) -> str:
    """Render the run's report as one self-contained HTML page.

    Sections follow the chain data -> customers -> segments -> clusters -> customer value
    -> what goes with value -> who buys next -> what sells together -> did it work? -> whom
    to contact -> run (DESIGN.md §4; the last two only when the result holds an
    ``experiment``, or ``uplift``/``targets``, unless named in ``sections``). plotly.js is embedded once in the page head, so the page opens offline; every
    figure has a caption and every table a "Download CSV" link (UTF-8 with BOM). Missing
    pieces (no RFM, no segments, clustering skipped, no Ward tree, no country column) give a
    visible note instead of a figure. The visible text is for a marketer: plain words for
    features and models, no raw floats; optimiser messages, parameter tables, machine names
    and technical notes go to a collapsed "Model diagnostics" part in each section.

    Parameters
    ----------
    result : AnalysisResult or any object with the same attributes
        Duck-typed: ``ingest`` (dict), ``quality`` (QualityReport), ``customers``
        (DataFrame, one row per customer), ``time_unit`` ("D" or "W"), ``rfm``,
        ``segments``, ``clusters``, ``cluster_actions``, ``hierarchy``, ``value``,
        ``stats``, ``propensity``, ``basket``, ``experiment``, ``uplift``, ``targets``,
        ``assignments``, ``skipped``,
        ``params``, ``timings_s``, ``summary``, ``version``. Absent attributes are treated
        as not computed.

    sections : tuple of str, optional
        Anchors of the sections to include (``"data"``, ``"customers"``, ``"segments"``,
        ``"clusters"``, ``"value"``, ``"stats"``, ``"propensity"``, ``"basket"``,
        ``"experiment"``, ``"target"``); default all (the last two when present). The "Run"
        section always closes the page.

    Returns
    -------
    str
        The HTML document (UTF-8 text, ``<meta charset="utf-8">``); about 4.9 MB, nearly
        all of it plotly.js.

    Raises
    ------
    InputError
        If ``result`` has none of ``ingest``, ``quality``, ``customers``.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> html = render_report(SimpleNamespace(ingest={"source": "orders.csv"}))
    >>> html.startswith("<!DOCTYPE html>") and "Clustering was skipped" in html
    True
    """
    known = [a for a, _, _ in _SECTIONS]
    if sections is not None and not set(sections) <= set(known):
        raise InputError(f"sections={sections!r}: unknown {sorted(set(sections) - set(known))}; "
                         f"known: {known}")
    wanted = [a for s in (sections or ()) for a in _ON_DEMAND.get(s, (s,))]
    if result is None or not any(hasattr(result, a) for a in (*_EXPECTED, *wanted)):
        raise InputError(
            f"write_report needs the result of valuemax.analyze() (an AnalysisResult); got "
            f"{type(result).__name__} without any of the attributes {', '.join(_EXPECTED)}. "
            "Pass the object analyze() returned."
        )
    import plotly.offline

    built, titles, anchors = [], [], []
    for anchor, title, build in _SECTIONS:
        if sections is not None and anchor not in sections:
            continue
        if sections is None and anchor in _ON_DEMAND and not any(
                getattr(result, a, None) is not None for a in _ON_DEMAND[anchor]):
            continue
        number = f"{len(built) + 1}. {title}"
        built.append(build(result, number))
        titles.append(number)
        anchors.append(anchor)
    run_date = _run_date(result)
    titles.append(f"{len(built) + 1}. Run")
    built.append(run_section(result, run_date, title=titles[-1]))
    anchors.append("run")
    toc = [(a, t, subs) for a, t, (_, subs) in zip(anchors, titles, built, strict=True)]

    ing = getattr(result, "ingest", None) or {}
    q = getattr(result, "quality", None)
    cust = getattr(result, "customers", None)
    source = str(ing.get("source") or "—")
    version = getattr(result, "version", None) or "—"
    facts = [
        ("source", source),
        ("run date", run_date),
        ("valuemax", version),
        ("observation end", getattr(q, "observation_end", None) or "—"),
        ("rows in / clean / quarantined",
         " / ".join(fmt_int(getattr(q, a, None)) for a in
                    ("rows_in", "rows_clean", "rows_quarantined")) if q is not None else "—"),
        ("customers", fmt_int(len(cust)) if cust is not None else "—"),
    ]
    return page(
        title=Path(source).name if source != "—" else "report",
        plotlyjs=plotly.offline.get_plotlyjs(),
        facts=facts, toc=toc, sections=[html for html, _ in built],
        footer=f"valuemax {version} · generated {run_date} · opens offline, no network used",
    )


def write_report(result: Any, path: str | Path, *,
                 sections: tuple[str, ...] | None = None) -> Path:
    """Write the self-contained HTML report of ``result`` to ``path``.

    Parameters
    ----------
    result : AnalysisResult or any object with the same attributes
        See :func:`render_report`.
    sections : tuple of str, optional
        See :func:`render_report`.
    path : str or pathlib.Path
        The file to write (parent folders are created); an existing folder gets
        ``report.html`` inside it.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InputError
        If ``result`` is not an analysis result (see :func:`render_report`).
    """
    out = Path(path)
    if out.is_dir():
        out = out / "report.html"
    text = render_report(result, sections=sections)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8", newline="\n")
    return out
