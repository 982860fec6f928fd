"""Each package's ``__all__`` is exactly its public surface (STYLE.md b.5)."""

from __future__ import annotations

import importlib
import types

import pytest

EXPECTED = {
    "valuemax.io": ["Ingested", "ParsePlan", "normalise_encoding", "protect",
                    "read_customer_table", "read_transactions", "table_encoding"],
    "valuemax.privacy": ["KEY_ENV", "MIN_KEY_BYTES", "PII_KINDS", "PRIVATE_DIR", "PRIVATE_FILE",
                         "VALUE_SHARE", "PiiColumn", "PrivacyReport", "PseudonymKey",
                         "cn_id_check_char", "cn_id_valid", "detect_pii", "iban_valid",
                         "key_fingerprint", "load_key", "luhn_valid", "make_private",
                         "name_kind", "pseudonymize", "value_kind"],
    "valuemax.clean": ["CleanResult", "DEFAULT_NON_PRODUCT_CODES", "DEFAULT_NON_PRODUCT_WORDS",
                       "PRESETS", "Preset",
                       "QualityReport", "RULE_ORDER", "RuleCount", "clean"],
    "valuemax.features": ["calibration_holdout", "customer_table", "repeat_purchase_days"],
    "valuemax.segment": ["ClusterResult", "HierarchicalResult", "RFMScores", "RFM_SEGMENT_RULES",
                         "SEGMENT_NAMES", "SegmentRule", "assign_segments", "kmeans_segments",
                         "rfm_scores", "segment_summary", "ward_segments"],
    "valuemax.clv": ["MIN_REPEAT_BUYERS", "MODEL_OPTIONS", "ModelChoice", "choose_model",
                     "BetaGeoModel", "FitSummary", "GammaGammaModel", "ModifiedBetaGeoModel",
                     "ParetoNBDModel", "BetaGeoBetaBinomModel", "ShiftedBetaGeoModel",
                     "HoldoutValidation", "ModelComparison", "clv_table", "compare_models",
                     "customer_lifetime_value", "holdout_validation", "loglik_ties",
                     "spend_independence", "ONE_RATE", "limit_effect", "same_expected_spend",
                     "tracking_curve"],
    "valuemax.propensity": ["CHURN_THRESHOLDS", "PropensityResult", "SeparationWarning",
                            "build_training_frame", "can_run", "fit_propensity"],
    "valuemax.decide": ["AT_RISK_ACTION", "AT_RISK_SEGMENTS", "HOLDOUT_ARM", "HoldoutCurve", "PROFIT_FORMULA",
                        "SEGMENT_ACTIONS", "TARGET_COLUMNS", "TargetResult", "choose_targets",
                        "cluster_actions", "high_value_at_risk", "holdout_assignments", "holdout_profit_curve",
                        "segment_actions", "value_at_risk_summary"],
    "valuemax.report": ["PartReport", "render_report", "write_report"],
    "valuemax.engines": ["add_key", "append_arrow", "connect", "connect_url", "is_inf",
                         "is_nan", "load_arrow", "median_table", "re_replace", "redact",
                         "refresh_statistics", "spark_checkpoint", "spark_drop_columns",
                         "spark_number_rows", "spark_session", "to_arrow",
                         "to_arrow_batches"],
    "valuemax._core": ["CANONICAL_COLUMNS", "ConvergenceError", "ConvergenceWarning",
                       "DataLossWarning", "InputError", "InsufficientData", "NotFittedError",
                       "REQUIRED_COLUMNS",
                       "StepNotApplicable", "TIME_UNITS", "ValuemaxError"],
    "valuemax.exceptions": ["ConvergenceError", "ConvergenceWarning", "DataLossWarning",
                            "InputError", "InsufficientData", "NotFittedError",
                            "StepNotApplicable",
                            "ValuemaxError"],
    "valuemax.pipeline": ["AnalysisResult", "Caveat", "CleanOptions", "EngineOptions", "PrivacyOptions",
                          "PropensityOptions", "ReadOptions", "SegmentOptions", "StageStatus",
                          "UpdateResult", "ValueOptions", "ValueResult", "analyze",
                          "association_rules", "buy_propensity", "customer_value",
                          "drop_leftover_tables", "inspect", "update"],
    "valuemax.cli": ["app", "main"],
    "valuemax.datasets": ["load_cdnow", "load_donations", "load_hillstrom", "load_online_retail",
                          "load_retention", "online_retail_path", "path"],
    "valuemax.basket": ["BasketResult", "Baskets", "RuleSet", "analyze_baskets",
                        "baskets_from_long", "build_baskets", "choose_thresholds",
                        "evaluate_recommendations", "mine_rules", "read_baskets", "recommend"],
    "valuemax.stats": ["CVResult", "CorrelationMatrix", "CorrelationTest", "LogitResult",
                       "OLSResult", "ValueDrivers", "correlation", "correlation_matrix",
                       "cross_validate", "logit", "ols", "value_drivers"],
    "valuemax.experiment": ["Adjusted", "ArmStatistics", "Comparison", "ExperimentResult",
                            "Outcomes", "PowerPlan", "SRMTest", "arm_statistics",
                            "compare_means", "compare_proportions", "cuped",
                            "outcomes_from_log", "plan", "readout", "readout_from_log",
                            "srm_test"],
    "valuemax.uplift": ["MODELS", "ClassTransformationUplift", "Curve", "DRLearnerUplift",
                        "OverlapCheck", "TwoModelUplift", "UpliftAtK", "UpliftEvaluation",
                        "UpliftStudy", "auuc", "bootstrap_areas", "cross_fit_predict",
                        "evaluate_uplift", "propensity_overlap", "qini_coefficient",
                        "qini_curve", "treatment_indicator", "uplift_at_k", "uplift_by_bin",
                        "uplift_curve", "uplift_study"],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_all_is_exactly_the_public_surface(name):
    module = importlib.import_module(name)
    assert sorted(module.__all__) == sorted(EXPECTED[name])
    public = {
        attr for attr, value in vars(module).items()
        if not attr.startswith("_") and not isinstance(value, types.ModuleType)
        and attr != "annotations"
    }
    assert public == set(module.__all__), f"{name}: public but not in __all__: {public - set(module.__all__)}"


def test_error_tree():
    from valuemax.exceptions import ConvergenceError, InputError, NotFittedError, ValuemaxError

    assert issubclass(InputError, ValuemaxError) and issubclass(InputError, ValueError)
    assert issubclass(NotFittedError, AttributeError) and issubclass(NotFittedError, ValuemaxError)
    assert issubclass(ConvergenceError, ValuemaxError)
