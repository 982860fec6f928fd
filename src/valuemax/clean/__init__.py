"""Cleaning: split a transaction log into clean lines and a quarantine, every line accounted for.

``clean(ingested, preset=...)`` applies named, ordered rules (see :data:`PRESETS`); each line
gets the reason code of the first rule it fails. The :class:`QualityReport` gives the count
per rule, with ``rows_in == rows_clean + rows_quarantined``.
"""

from valuemax.clean._clean import CleanResult, clean
from valuemax.clean._report import QualityReport, RuleCount
from valuemax.clean._rules import (
    DEFAULT_NON_PRODUCT_CODES,
    DEFAULT_NON_PRODUCT_WORDS,
    PRESETS,
    RULE_ORDER,
    Preset,
)

__all__ = [
    "DEFAULT_NON_PRODUCT_CODES",
    "DEFAULT_NON_PRODUCT_WORDS",
    "PRESETS",
    "RULE_ORDER",
    "CleanResult",
    "Preset",
    "QualityReport",
    "RuleCount",
    "clean",
]
