"""Uplift: whom does the campaign change? Models, their held-out evaluation, and checks.

- Models (scikit-learn estimators, ``fit(X, treatment, y)`` / ``predict(X)`` -> uplift):
  :class:`TwoModelUplift` (T-learner), :class:`DRLearnerUplift` (doubly robust, cross-fitted),
  :class:`ClassTransformationUplift` (Jaskowski & Jaroszewicz 2012, 0/1 outcomes);
  :func:`cross_fit_predict` for out-of-fold scores.
- Evaluation: :func:`qini_curve`, :func:`uplift_curve`, :func:`qini_coefficient`,
  :func:`auuc` (formulas and normalisation in their docstrings), :func:`uplift_at_k`,
  :func:`uplift_by_bin` (Newcombe / Welch intervals), :func:`evaluate_uplift` for several
  models with seeded bootstrap intervals (:func:`bootstrap_areas`).
- Checks: one arm only -> ``InputError``; :func:`propensity_overlap` for observational data.
- :func:`uplift_study`: a customer table in, held-out scores and evaluation out (the
  ``valuemax uplift`` command).

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
