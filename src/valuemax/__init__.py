"""valuemax: from a raw transaction log to accounted-for customers, segments and decisions.

The whole job is one call::

    import valuemax
    result = valuemax.analyze("orders.csv", out="results/")

with its options grouped in frozen objects (``valuemax.ValueOptions(horizon_months=6)``, ...).

and every stage is usable on its own: :mod:`valuemax.io`, :mod:`valuemax.clean`,
:mod:`valuemax.features`, :mod:`valuemax.segment`, :mod:`valuemax.decide`,
:mod:`valuemax.report`. Heavy dependencies (plotly, scikit-learn, pyspark) load lazily.
The errors and warnings valuemax raises are :mod:`valuemax.exceptions`.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

#: The options objects of the jobs (:mod:`valuemax.pipeline`).
_OPTIONS = ("CleanOptions", "EngineOptions", "PrivacyOptions", "PropensityOptions",
            "ReadOptions", "SegmentOptions", "ValueOptions")

__all__ = ["AnalysisResult", "CleanOptions", "EngineOptions", "PrivacyOptions",
           "PropensityOptions", "ReadOptions", "SegmentOptions", "ValueOptions", "__version__",
           "analyze", "inspect", "read_transactions"]

_LAZY = {
    **dict.fromkeys(_OPTIONS, "valuemax.pipeline"),
    "analyze": "valuemax.pipeline",
    "inspect": "valuemax.pipeline",
    "AnalysisResult": "valuemax.pipeline",
    "read_transactions": "valuemax.io",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'valuemax' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
