"""render_report / write_report: the self-contained HTML report of one run."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from valuemax._core.exceptions import InputError
from valuemax.report._format import fmt_int
from valuemax.report._html import page
from valuemax.report._part import PART_SECTIONS, PartReport
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

if TYPE_CHECKING:  # type only: the report renders the pipeline's record, never imports it
    from valuemax.pipeline import AnalysisResult

Subs = list[tuple[str, str]]


def _part(result: AnalysisResult | PartReport) -> PartReport:
    """The part-job results of ``result`` (none for the main job's result)."""
    if isinstance(result, PartReport):
        return result
    return PartReport(source=str(result.ingest.get("source") or ""), version=result.version,
                      propensity=result.propensity)


#: Sections in chain order (data -> information -> knowledge -> insight -> decision), each
#: ``(anchor, title, build(result, numbered_title) -> (html, subs))``; "Run" closes the page.
#: The main job's sections take its ``AnalysisResult``; "Did it work?" and "Whom to contact"
#: take the results of the part jobs (a :class:`PartReport`).
_SECTIONS: tuple[tuple[str, str, Callable[[Any, str], tuple[str, Subs]]], ...] = (
    ("data", "Data", lambda r, t: data_section(r, title=t)),
    ("customers", "Customers", lambda r, t: customers_section(r, title=t)),
    ("segments", "Segments (RFM)", lambda r, t: segments_section(r, title=t)),
    ("clusters", "Clusters", lambda r, t: clusters_section(r, title=t)),
    ("value", "Customer value", lambda r, t: value_section(r, title=t)),
    ("stats", "What goes with value", lambda r, t: stats_section(r, title=t)),
    ("propensity", "Who buys next", lambda r, t: propensity_section(r, title=t)),
    ("basket", "What sells together", lambda r, t: basket_section(r, title=t)),
    ("experiment", "Did it work?", lambda r, t: experiment_section(_part(r), title=t)),
    ("target", "Whom to contact", lambda r, t: target_section(_part(r), title=t)),
)
#: Sections of the part jobs: in a main job's report only when named in ``sections``.
_ON_DEMAND = ("experiment", "target")


def _present(result: PartReport, anchor: str) -> bool:
    """Whether a one-part report holds the results of section ``anchor``."""
    if anchor == "propensity":
        return result.propensity is not None
    if anchor == "experiment":
        return result.experiment is not None
    return result.uplift is not None or result.targets is not None


def _run_date(result: AnalysisResult | PartReport) -> str:
    """The run's start (``params["run_at"]``); now for a one-part report."""
    if not isinstance(result, PartReport) and result.params.get("run_at"):
        return str(result.params["run_at"])
    return dt.datetime.now().astimezone().isoformat(sep=" ", timespec="seconds")


def render_report(result: AnalysisResult | PartReport, *,
                  sections: tuple[str, ...] | None = None) -> str:
    """Render the run's report as one self-contained HTML page.

    Sections follow the chain data -> customers -> segments -> clusters -> customer value
    -> what goes with value -> who buys next -> what sells together -> did it work? -> whom
    to contact -> run (DESIGN.md §4). plotly.js is embedded once in the page head, so the
    page opens offline; every figure has a caption and every table a "Download CSV" link
    (UTF-8 with BOM). A stage that did not run (``result.stages``: clustering skipped, no
    customer value, ...) and missing pieces (no Ward tree, no country column) give a visible
    note with the reason instead of a figure. The visible text is for a marketer: plain
    words for features and models, no raw floats; optimiser messages, parameter tables,
    machine names and technical notes go to a collapsed "Model diagnostics" part in each
    section.

    Parameters
    ----------
    result : valuemax.AnalysisResult or PartReport
        The main job's result (every section; "Did it work?" and "Whom to contact" only
        when named in ``sections``, and then they say no experiment or target list was
        computed), or the results of part jobs (:class:`PartReport`: the sections
        ``propensity``, ``experiment`` and ``target``, by default those it holds).
    sections : tuple of str, optional
        Anchors of the sections to include (``"data"``, ``"customers"``, ``"segments"``,
        ``"clusters"``, ``"value"``, ``"stats"``, ``"propensity"``, ``"basket"``,
        ``"experiment"``, ``"target"``); default as said above. The "Run" section always
        closes the page.

    Returns
    -------
    str
        The HTML document (UTF-8 text, ``<meta charset="utf-8">``); about 4.9 MB, nearly
        all of it plotly.js.

    Raises
    ------
    InputError
        If ``result`` is neither an ``AnalysisResult`` nor a ``PartReport``, a section is
        unknown, or a ``PartReport`` is asked for a section of the main job.

    Examples
    --------
    >>> html = render_report(PartReport(source="orders.csv"), sections=("experiment",))
    >>> html.startswith("<!DOCTYPE html>") and "No experiment readout" in html
    True
    """
    known = [a for a, _, _ in _SECTIONS]
    if sections is not None and not set(sections) <= set(known):
        raise InputError(f"sections={sections!r}: unknown {sorted(set(sections) - set(known))}; "
                         f"known: {known}")
    part = isinstance(result, PartReport)
    # the pipeline's class is not imported here (it sits above the report): named instead
    if not part and type(result).__name__ != "AnalysisResult":
        raise InputError(
            "write_report needs the result of valuemax.analyze() (an AnalysisResult) or a "
            f"valuemax.report.PartReport; got {type(result).__name__}. Pass the object "
            "analyze() returned."
        )
    if part and sections is not None and not set(sections) <= set(PART_SECTIONS):
        raise InputError(
            f"sections={sections!r}: a PartReport holds results of part jobs only "
            f"({', '.join(PART_SECTIONS)}); the other sections need the AnalysisResult of "
            "valuemax.analyze()."
        )
    import plotly.offline

    built, titles, anchors = [], [], []
    for anchor, title, build in _SECTIONS:
        if sections is not None:
            if anchor not in sections:
                continue
        elif isinstance(result, PartReport):
            if anchor not in PART_SECTIONS or not _present(result, anchor):
                continue
        elif anchor in _ON_DEMAND:
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

    version = result.version or "—"
    if isinstance(result, PartReport):
        source = result.source or "—"
        seen: tuple[Any, str, str] = ("—", "—", "—")
    else:
        q = result.quality
        source = str(result.ingest.get("source") or "—")
        seen = (q.observation_end,
                " / ".join(fmt_int(n) for n in (q.rows_in, q.rows_clean, q.rows_quarantined)),
                fmt_int(len(result.customers)))
    facts = [
        ("source", source),
        ("run date", run_date),
        ("valuemax", version),
        ("observation end", seen[0]),
        ("rows in / clean / quarantined", seen[1]),
        ("customers", seen[2]),
    ]
    return page(
        title=Path(source).name if source != "—" else "report",
        plotlyjs=plotly.offline.get_plotlyjs(),
        facts=facts, toc=toc, sections=[html for html, _ in built],
        footer=f"valuemax {version} · generated {run_date} · opens offline, no network used",
    )


def write_report(result: AnalysisResult | PartReport, path: str | Path, *,
                 sections: tuple[str, ...] | None = None) -> Path:
    """Write the self-contained HTML report of ``result`` to ``path``.

    Parameters
    ----------
    result : valuemax.AnalysisResult or PartReport
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
        If ``result`` is neither an analysis result nor a ``PartReport``, or a section
        does not fit it (see :func:`render_report`).
    """
    out = Path(path)
    if out.is_dir():
        out = out / "report.html"
    text = render_report(result, sections=sections)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8", newline="\n")
    return out
