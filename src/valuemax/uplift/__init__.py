"""Uplift: whom does the campaign change? (work in progress)."""

from valuemax.uplift._curves import Curve, auuc, qini_coefficient, qini_curve, uplift_curve

__all__ = ["Curve", "auuc", "qini_coefficient", "qini_curve", "uplift_curve"]
