"""The main job: ``analyze()`` composes ingest -> clean -> customers -> segments -> report.

Every stage is also usable on its own (``valuemax.io``, ``valuemax.clean``,
``valuemax.features``, ``valuemax.segment``, ``valuemax.decide``, ``valuemax.report``).
"""

from valuemax.pipeline._analyze import analyze, inspect
from valuemax.pipeline._result import AnalysisResult

__all__ = ["AnalysisResult", "analyze", "inspect"]
