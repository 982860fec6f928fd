"""The main job: ``analyze()`` composes ingest -> clean -> customers -> segments -> value ->
report; ``customer_value()``, ``buy_propensity()`` and ``association_rules()`` run one
part, ``inspect()`` only read and clean, ``update()`` appends new lines to a store and
re-scores it.

Their options come grouped in frozen, validated objects shared by every job and the CLI:
``ReadOptions``, ``CleanOptions``, ``SegmentOptions``, ``ValueOptions``,
``PropensityOptions``, ``PrivacyOptions``, ``EngineOptions`` (the jobs' flat keywords fill
them). ``drop_leftover_tables()`` drops the working tables (``valuemax_tmp_*``) that killed
``analyze(engine=...)`` runs left in an engine.

Every stage is also usable on its own (``valuemax.io``, ``valuemax.clean``,
``valuemax.features``, ``valuemax.segment``, ``valuemax.clv``, ``valuemax.decide``,
``valuemax.report``).
"""

from valuemax.pipeline._analyze import analyze
from valuemax.pipeline._caveats import Caveat
from valuemax.pipeline._engine_tables import drop_leftover_tables
from valuemax.pipeline._jobs import association_rules, buy_propensity, customer_value
from valuemax.pipeline._options import (
    CleanOptions,
    EngineOptions,
    PrivacyOptions,
    PropensityOptions,
    ReadOptions,
    SegmentOptions,
    ValueOptions,
)
from valuemax.pipeline._prepare import inspect
from valuemax.pipeline._result import AnalysisResult, StageStatus
from valuemax.pipeline._update import UpdateResult, update
from valuemax.pipeline._value_result import ValueResult

__all__ = ["AnalysisResult", "Caveat", "CleanOptions", "EngineOptions", "PrivacyOptions",
           "PropensityOptions", "ReadOptions", "SegmentOptions", "StageStatus", "UpdateResult",
           "ValueOptions", "ValueResult", "analyze", "association_rules", "buy_propensity",
           "customer_value", "drop_leftover_tables", "inspect", "update"]
