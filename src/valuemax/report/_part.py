"""``PartReport``: what a one-part report renders (``valuemax propensity | experiment |
uplift | target``), beside the main job's ``AnalysisResult``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the models load scikit-learn: not at ``import valuemax.report``
    import pandas as pd

    from valuemax.decide import TargetResult
    from valuemax.experiment import ExperimentResult
    from valuemax.propensity import PropensityResult
    from valuemax.uplift import UpliftStudy

#: The sections a one-part report can hold (anchors of :func:`render_report`).
PART_SECTIONS: tuple[str, ...] = ("propensity", "experiment", "target")


@dataclass(frozen=True)
class PartReport:
    """The results of one part job, for a report of the sections that show them.

    Attributes
    ----------
    source : str
        The input the part read (a path, or a description such as ``"duckdb table t"``).
    version : str
        The valuemax version that produced the results ("" when not stated: shown as —).
    propensity : valuemax.propensity.PropensityResult or None
        "Who buys next" (section ``propensity``).
    experiment : valuemax.experiment.ExperimentResult or None
        "Did it work?" (section ``experiment``).
    uplift : valuemax.uplift.UpliftStudy or None
        The uplift models and their Qini/AUUC (section ``target``).
    targets : valuemax.decide.TargetResult or None
        The target list under a budget (section ``target``).
    assignments : pandas.DataFrame or None
        The hold-out draw of the target list (``customer_id``, ``arm``, ...; from
        :func:`valuemax.decide.holdout_assignments`).
    params : mapping of str to object
        The options the command ran with (shown in the report's Parameters part; the same
        as the store's ``runs.parameters`` with ``--db``).

    Examples
    --------
    >>> PartReport(source="orders.csv").propensity is None
    True
    """

    source: str
    version: str = ""
    propensity: PropensityResult | None = None
    experiment: ExperimentResult | None = None
    uplift: UpliftStudy | None = None
    targets: TargetResult | None = None
    assignments: pd.DataFrame | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


__all__ = ["PART_SECTIONS", "PartReport"]
