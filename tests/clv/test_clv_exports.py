"""``valuemax.clv.__all__`` is exactly its public surface (STYLE.md b.5)."""

from __future__ import annotations

import types

import valuemax.clv as clv

EXPECTED = sorted(["BetaGeoModel", "FitSummary", "GammaGammaModel", "ModifiedBetaGeoModel",
                   "ParetoNBDModel", "BetaGeoBetaBinomModel", "ShiftedBetaGeoModel",
                   "HoldoutValidation", "ModelComparison", "clv_table", "compare_models", "loglik_ties",
                   "customer_lifetime_value", "holdout_validation", "spend_independence",
                   "tracking_curve", "MIN_REPEAT_BUYERS", "MODEL_OPTIONS", "ModelChoice",
                   "choose_model", "ONE_RATE", "limit_effect", "same_expected_spend"])


def test_all_is_exactly_the_public_surface():
    assert sorted(clv.__all__) == EXPECTED
    public = {name for name, value in vars(clv).items()
              if not name.startswith("_") and not isinstance(value, types.ModuleType)}
    assert public == set(EXPECTED)
