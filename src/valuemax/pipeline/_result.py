"""The object ``analyze()`` returns: the run's tables and typed stage results, in pandas."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd

from valuemax.basket import BasketResult
from valuemax.clean import QualityReport
from valuemax.pipeline._caveats import Caveat
from valuemax.pipeline._value_result import ValueResult
from valuemax.propensity import PropensityResult
from valuemax.segment import ClusterResult, HierarchicalResult, RFMScores
from valuemax.stats import ValueDrivers

#: The optional stages of the main job, in run order (keys of ``AnalysisResult.stages``;
#: ``ward`` only when asked for with ``clusters="kmeans+ward"``).
OPTIONAL_STAGES: tuple[str, ...] = ("kmeans", "ward", "value", "stats", "propensity", "basket")


@dataclass(frozen=True)
class StageStatus:
    """Whether one optional stage of a run ran, was skipped, or failed.

    Attributes
    ----------
    status : {"ran", "skipped", "failed"}
        ``"ran"``: its result is in the :class:`AnalysisResult`; ``"skipped"``: it did not
        apply to this log or was turned off (``reason`` says why, as in
        ``AnalysisResult.skipped``); ``"failed"``: its code raised (``error`` names the
        exception type, ``reason`` is ``"<type>: <message>"``, the traceback is in
        ``AnalysisResult.tracebacks``).
    reason : str or None
        Why it did not run (None when it ran).
    error : str or None
        The exception type's name when it failed, else None.

    Examples
    --------
    >>> StageStatus.from_run("stats", ran=False, skipped={"stats": "LinAlgError: Singular"},
    ...                      tracebacks={"stats": "Traceback ..."})
    StageStatus(status='failed', reason='LinAlgError: Singular', error='LinAlgError')
    >>> StageStatus.from_run("basket", ran=True, skipped={}, tracebacks={}).status
    'ran'
    """

    status: Literal["ran", "skipped", "failed"]
    reason: str | None = None
    error: str | None = None

    @classmethod
    def from_run(cls, stage: str, *, ran: bool, skipped: Mapping[str, str],
                 tracebacks: Mapping[str, str],
                 otherwise: str = "the step it runs after did not run") -> StageStatus:
        """The status of ``stage`` from what the run recorded.

        Parameters
        ----------
        stage : str
            A key of ``skipped``/``tracebacks`` (e.g. ``"value"``).
        ran : bool
            Whether the stage's result is present.
        skipped, tracebacks : mapping of str to str
            The run's skip reasons and the tracebacks of the failed stages.
        otherwise : str
            The reason when the stage neither ran nor left a reason (it was never started
            because a stage before it did not run, e.g. Ward after a skipped K-means).

        Returns
        -------
        StageStatus
            ``failed`` when a traceback was recorded (the reason starts with the exception
            type's name, as :func:`valuemax.pipeline._parts.step_failure_reason` writes it),
            ``skipped`` when a reason was, else ``ran`` or ``skipped`` by ``ran``.
        """
        if stage in tracebacks:
            reason = skipped.get(stage) or ""
            return cls("failed", reason, reason.split(":", 1)[0] or None)
        if stage in skipped:
            return cls("skipped", skipped[stage])
        return cls("ran") if ran else cls("skipped", otherwise)

    @property
    def ran(self) -> bool:
        """True when the stage ran (its result is in the run's result)."""
        return self.status == "ran"



@dataclass(frozen=True)
class AnalysisResult:
    """Everything one run of the main job produced: a frozen record of the stages' results.

    A stage that did not run leaves its field ``None`` and says why in ``stages`` (and, as
    before, in ``skipped`` and ``tracebacks``).

    Attributes
    ----------
    ingest : mapping of str to object
        How the source was read: format, encoding, header, column mapping, date formats,
        normalisation notes, row count, sha256 fingerprint.
    quality : valuemax.clean.QualityReport
        Rows in, clean and quarantined, per rule; ``rows_in == rows_clean + rows_quarantined``.
    customers : pandas.DataFrame of shape (n_customers, n_fields)
        One row per customer: marketing RFM (days, log currency), the BTYD summary in
        ``time_unit``, RFM scores, segment, cluster.
    time_unit : {"D", "W"}
        Unit of ``frequency``/``recency``/``T``.
    rfm : valuemax.segment.RFMScores or None
        Scores and the actual quintile cut points.
    segments : pandas.DataFrame or None
        One row per named RFM segment: size, revenue share, recommended action and rationale.
    clusters : valuemax.segment.ClusterResult or None
        K-means result (k chosen by silhouette), or ``None`` when not run.
    cluster_actions : pandas.DataFrame or None
        Recommended action per cluster.
    hierarchy : valuemax.segment.HierarchicalResult or None
        Ward clustering, when asked for.
    calibration : pandas.DataFrame or None
        Calibration/holdout table (one row per customer first seen by ``calibration_end``),
        when ``calibration_end`` was given.
    value : valuemax.pipeline.ValueResult or None
        The customer-value step: chosen purchase model (refitted on the whole period), the
        Gamma-Gamma spend model, the model comparison on the holdout, the tracking series
        and the per-customer CLV table; ``None`` when skipped (see ``skipped["value"]``).
    stats : valuemax.stats.ValueDrivers or None
        "What goes with value": Spearman correlations (Holm-adjusted) of the customer
        features and an OLS (HC3) of log spend, or of log1p(CLV) when CLV was estimated.
    propensity : valuemax.propensity.PropensityResult or None
        "Who buys next": the buy-again model, its holdout metrics beside the recency and
        BTYD baselines, and per-customer ``p_buy_<h>d``, ``churn_risk``,
        ``expected_next_purchase`` (also merged into ``customers``).
    basket : valuemax.basket.BasketResult or None
        "What sells together": baskets, frequent itemsets and association rules (thresholds
        chosen from the data), cross-sell recommendations and their holdout evaluation.
    stages : mapping of str to StageStatus
        Each optional stage (:data:`OPTIONAL_STAGES`; ``ward`` only when asked for) and
        ``spend`` on a log without prices: ran, skipped (with the reason) or failed (with
        the exception type).
    skipped : mapping of str to str
        Steps that did not run, with the reason: a refusal of the data (e.g. too few repeat
        buyers) or a failure of the model code, named by its exception type and message.
    tracebacks : mapping of str to str
        The formatted traceback of each step that failed with an exception (the CLI prints
        them with ``--debug``); not in ``summary.json``.
    params : mapping of str to object
        The run's parameters (JSON values).
    timings_s : mapping of str to float
        Wall time per step, seconds.
    peak_rss_mb : mapping of str to float
        Per step, the process's peak resident set size when the step ended, MiB
        (``getrusage`` ``ru_maxrss``): non-decreasing in step order, so the first step whose
        figure jumps is the one that raised the peak; it counts everything in the process
        (DuckDB's buffers, Python's arrays, and what the caller held before the run). Empty
        where the system does not report it (Windows).
    caveats : tuple of valuemax.pipeline.Caveat
        What a reader must know before acting on the figures (P(alive) that cannot rank,
        a model no better than the naive rate, CLV ranking by purchases alone, "recent"
        RFM segments reaching back far, ...): one list, built once at the end of the run
        (:func:`valuemax.pipeline._caveats.run_caveats`), that the terminal, ``summary.json``
        (``caveats``), the report, the store (``runs.caveats``) and the dashboard show.
    summary : mapping of str to object
        The content of ``summary.json`` (JSON values); empty until the run computed it.
    out : pathlib.Path or None
        The output folder, when one was written.
    version : str
        The valuemax version that produced the run.
    """

    ingest: Mapping[str, object]
    quality: QualityReport
    customers: pd.DataFrame
    time_unit: Literal["D", "W"]
    rfm: RFMScores | None = None
    segments: pd.DataFrame | None = None
    clusters: ClusterResult | None = None
    cluster_actions: pd.DataFrame | None = None
    hierarchy: HierarchicalResult | None = None
    calibration: pd.DataFrame | None = None
    value: ValueResult | None = None
    stats: ValueDrivers | None = None
    basket: BasketResult | None = None
    propensity: PropensityResult | None = None
    stages: Mapping[str, StageStatus] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)
    tracebacks: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, object] = field(default_factory=dict)
    timings_s: Mapping[str, float] = field(default_factory=dict)
    peak_rss_mb: Mapping[str, float] = field(default_factory=dict)
    caveats: tuple[Caveat, ...] = ()
    summary: Mapping[str, object] = field(default_factory=dict)
    out: Path | None = None
    version: str = ""

    def __post_init__(self) -> None:
        # the unit travels with the table (and the columns selected from it): the CLV
        # estimators refuse columns in another unit than theirs
        self.customers.attrs["time_unit"] = self.time_unit
        # the record owns its mappings: a later change to the run's dicts does not reach it
        for name in ("ingest", "stages", "skipped", "tracebacks", "params", "timings_s",
                     "peak_rss_mb", "summary"):
            object.__setattr__(self, name, dict(getattr(self, name)))

    def to_html(self, path: str | Path) -> Path:
        """Write the self-contained HTML report to ``path`` and return the path; the file is
        readable by its owner only (0600, whatever the umask), as every output is."""
        from valuemax.privacy import make_private
        from valuemax.report import write_report

        out = write_report(self, Path(path))
        make_private([out])
        return out

    def __repr__(self) -> str:
        q = self.quality
        return (
            f"AnalysisResult(rows_in={q.rows_in:,}, rows_clean={q.rows_clean:,}, "
            f"rows_quarantined={q.rows_quarantined:,}, customers={len(self.customers):,}, "
            f"observation_end={q.observation_end.isoformat()}, out={self.out})"
        )


__all__ = ["OPTIONAL_STAGES", "AnalysisResult", "StageStatus"]
