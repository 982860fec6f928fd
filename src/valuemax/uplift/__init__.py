"""Uplift: whom does the campaign change? Models, their held-out evaluation, and checks.

Importing this package loads scikit-learn (the models are scikit-learn estimators).
"""

from valuemax.uplift._class_transformation import ClassTransformationUplift
from valuemax.uplift._crossfit import cross_fit_predict
from valuemax.uplift._curves import Curve, auuc, qini_coefficient, qini_curve, uplift_curve
from valuemax.uplift._dr_learner import DRLearnerUplift
from valuemax.uplift._overlap import OverlapCheck, propensity_overlap
from valuemax.uplift._slices import UpliftAtK, uplift_at_k, uplift_by_bin
from valuemax.uplift._two_model import TwoModelUplift
from valuemax.uplift._validation import treatment_indicator

__all__ = ["ClassTransformationUplift", "Curve", "DRLearnerUplift", "OverlapCheck",
           "TwoModelUplift", "UpliftAtK", "auuc", "cross_fit_predict", "propensity_overlap",
           "qini_coefficient", "qini_curve", "treatment_indicator", "uplift_at_k",
           "uplift_by_bin", "uplift_curve"]
