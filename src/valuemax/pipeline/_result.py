"""The object ``analyze()`` returns: the run's tables and results, in pandas."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass
class AnalysisResult:
    """Everything one run of the main job produced.

    Attributes
    ----------
    ingest : dict
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
    skipped : dict of str to str
        Steps that did not run, with the reason: a refusal of the data (e.g. too few repeat
        buyers) or a failure of the model code, named by its exception type and message.
    tracebacks : dict of str to str
        The formatted traceback of each step that failed with an exception (the CLI prints
        them with ``--debug``); not in ``summary.json``.
    params : dict
        The run's parameters.
    timings_s : dict of str to float
        Wall time per step, seconds.
    summary : dict
        The content of ``summary.json``.
    out : pathlib.Path or None
        The output folder, when one was written.
    """

    ingest: dict[str, Any]
    quality: Any
    customers: pd.DataFrame
    time_unit: str
    rfm: Any = None
    segments: pd.DataFrame | None = None
    clusters: Any = None
    cluster_actions: pd.DataFrame | None = None
    hierarchy: Any = None
    calibration: pd.DataFrame | None = None
    value: Any = None
    stats: Any = None
    basket: Any = None
    propensity: Any = None
    skipped: dict[str, str] = field(default_factory=dict)
    tracebacks: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    timings_s: dict[str, float] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    out: Path | None = None
    version: str = ""

    def __post_init__(self) -> None:
        # the unit travels with the table (and the columns selected from it): the CLV
        # estimators refuse columns in another unit than theirs
        self.customers.attrs["time_unit"] = self.time_unit

    def to_html(self, path: str | Path) -> Path:
        """Write the self-contained HTML report to ``path`` and return the path."""
        from valuemax.report import write_report

        return write_report(self, Path(path))

    def __repr__(self) -> str:
        q = self.quality
        return (
            f"AnalysisResult(rows_in={q.rows_in:,}, rows_clean={q.rows_clean:,}, "
            f"rows_quarantined={q.rows_quarantined:,}, customers={len(self.customers):,}, "
            f"observation_end={q.observation_end.isoformat()}, out={self.out})"
        )
