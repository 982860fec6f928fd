"""valuemax.report: the self-contained HTML report of a run (plotly, imported lazily)."""

from valuemax.report._part import PartReport
from valuemax.report._report import render_report, write_report

__all__ = ["PartReport", "render_report", "write_report"]
