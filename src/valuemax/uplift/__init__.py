"""Uplift: whom does the campaign change? Models, their held-out evaluation, and checks.

Importing this package loads scikit-learn (the models are scikit-learn estimators).
"""

from valuemax.uplift._class_transformation import ClassTransformationUplift
from valuemax.uplift._crossfit import cross_fit_predict
from valuemax.uplift._curves import Curve, auuc, qini_coefficient, qini_curve, uplift_curve
from valuemax.uplift._dr_learner import DRLearnerUplift
from valuemax.uplift._evaluate import UpliftEvaluation, bootstrap_areas, evaluate_uplift
from valuemax.uplift._overlap import OverlapCheck, propensity_overlap
from valuemax.uplift._slices import UpliftAtK, uplift_at_k, uplift_by_bin
from valuemax.uplift._study import MODELS, UpliftStudy, uplift_study
from valuemax.uplift._two_model import TwoModelUplift
from valuemax.uplift._validation import treatment_indicator

__all__ = [
           "MODELS",
           "ClassTransformationUplift",
           "Curve",
           "DRLearnerUplift",
           "OverlapCheck",
           "TwoModelUplift",
           "UpliftAtK",
           "UpliftEvaluation",
           "UpliftStudy",
           "auuc",
           "bootstrap_areas",
           "cross_fit_predict",
           "evaluate_uplift",
           "propensity_overlap",
           "qini_coefficient",
           "qini_curve",
           "treatment_indicator",
           "uplift_at_k",
           "uplift_by_bin",
           "uplift_curve",
           "uplift_study",
]
